/* SPDX-License-Identifier: MIT */
/*
 * One verifier, shared by threads without locks (docs/tokens.md, "memory and
 * threads"): two (and more) threads verify valid and invalid tokens of
 * every algorithm concurrently and must all get the single-threaded
 * verdicts. Run under ThreadSanitizer by scripts/test (ctest label
 * "threads").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/token.h"
#include "testsupport.h"

#define NTOK 5
#define NTHREADS 4

static ag_verifier *verifier;
static char tokens[NTOK][2][AG_TOKEN_MAX_LEN + 1]; /* [alg][valid, tampered] */

static void *worker(void *arg)
{
    long bad = 0;
    ag_claims *c = malloc(sizeof(*c));
    if (c != NULL)
        *c = (ag_claims)AG_INIT(ag_claims);
    int iters = *(int *)arg;
    for (int i = 0; i < iters; i++) {
        for (int t = 0; t < NTOK; t++) {
            if (ag_verify(verifier, (const uint8_t *)tokens[t][0], strlen(tokens[t][0]),
                          AG_TEST_SCRATCH(c), c) != AG_OK)
                bad++;
            else if (c->sub.len != 5 || memcmp(c->sub.ptr, "alice", 5) != 0)
                bad++;
            if (ag_verify(verifier, (const uint8_t *)tokens[t][1], strlen(tokens[t][1]),
                          AG_TEST_SCRATCH(c), c) != AG_ERR_SIGNATURE)
                bad++;
        }
    }
    free(c);
    ag_thread_cleanup();
    return (void *)bad;
}

START_TEST(threads_share_one_verifier)
{
    static const ag_alg algs[NTOK] = {AG_ALG_HS256, AG_ALG_ES256, AG_ALG_EDDSA, AG_ALG_RS256,
                                      AG_ALG_PS256};
    ag_keyring *ring = NULL;
    ck_assert_int_eq(ag_keyring_new(NULL, &ring), AG_OK);
    for (int i = 0; i < NTOK; i++) {
        ag_key *k = NULL;
        char kid[8];
        snprintf(kid, sizeof(kid), "k%d", i);
        ck_assert_int_eq(ag_key_generate(algs[i], kid, &k), AG_OK);
        ck_assert_int_eq(ag_keyring_add(ring, k), AG_OK);
        ag_issuer_config ic = AG_INIT(ag_issuer_config);
        ic.key = k;
        ic.kind = AG_TOKEN_ACCESS;
        ic.issuer = "iss";
        ic.audience = "aud";
        ic.ttl = 600;
        ag_issuer *is = NULL;
        ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
        ag_issue_params p = AG_INIT(ag_issue_params);
        p.sub = "alice";
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(ag_issue(is, &p, tokens[i][0], sizeof(tokens[i][0]), &info), AG_OK);
        memcpy(tokens[i][1], tokens[i][0], info.len + 1);
        tokens[i][1][info.len - 3] = tokens[i][1][info.len - 3] == 'A' ? 'B' : 'A';
        ag_issuer_free(is);
        ag_key_free(k);
    }
    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = ring;
    vc.kind = AG_TOKEN_ACCESS;
    vc.issuer = "iss";
    vc.audience = "aud";
    vc.leeway = -1;
    ck_assert_int_eq(ag_verifier_new(&vc, &verifier), AG_OK);
    ag_keyring_free(ring); /* the verifier holds its own reference */

    int iters = getenv("AG_UNDER_SANITIZER") ? 20 : 200;
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &iters), 0);
    long bad = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    ck_assert_int_eq(bad, 0);
    ag_verifier_free(verifier);
    ag_thread_cleanup();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("verify");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, threads_share_one_verifier);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

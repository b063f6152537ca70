/* SPDX-License-Identifier: MIT */
/*
 * Hot key swap (lib/token/swap.c, ag_verifier_set_keys, ag_issuer_set_keys):
 * what a swap changes for the next verify (keys that left stop verifying,
 * also through the header memo and the verified-token cache), which key an
 * issuer signs with, and a swap under load: 8 threads verify while the
 * keyring is replaced 10,000 times, each old ring freed by the swap (so
 * ASan sees any use after free, TSan any race; ctest label "threads").
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/token.h"
#include "testsupport.h"
#include "token/token_int.h"

static ag_key *key_a, *key_b, *key_c, *key_a2; /* HS256; key_a2 reuses kid "a" */

static void setup(void)
{
    uint8_t s[4][32];
    for (int i = 0; i < 4; i++)
        memset(s[i], 0x41 + i, sizeof(s[i]));
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s[0], 32, "a", &key_a));
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s[1], 32, "b", &key_b));
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s[2], 32, "c", &key_c));
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s[3], 32, "a", &key_a2));
}

static void teardown(void)
{
    ag_key_free(key_a);
    ag_key_free(key_b);
    ag_key_free(key_c);
    ag_key_free(key_a2);
}

/* Rings are made through a counting allocator, so a test can see when the
 * last reference to one is gone (two blocks per non-empty ring). */
static atomic_long ring_blocks;
static void *cnt_malloc(size_t n, void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&ring_blocks, 1);
    return malloc(n);
}
static void *cnt_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    if (p == NULL)
        atomic_fetch_add(&ring_blocks, 1);
    return realloc(p, n);
}
static void cnt_free(void *p, void *ctx)
{
    (void)ctx;
    if (p != NULL)
        atomic_fetch_sub(&ring_blocks, 1);
    free(p);
}
static const ag_allocator counting = {cnt_malloc, cnt_realloc, cnt_free, NULL};

/* A ring of the given keys (NULL-terminated). */
static ag_keyring *ring_of(ag_key *k0, ...)
{
    ag_keyring *r = NULL;
    if (ag_keyring_new(&counting, &r) != AG_OK)
        abort();
    va_list ap;
    va_start(ap, k0);
    for (ag_key *k = k0; k != NULL; k = va_arg(ap, ag_key *))
        if (ag_keyring_add(r, k) != AG_OK)
            abort();
    va_end(ap);
    return r;
}

static void issue_with(ag_key *k, char *out, size_t cap)
{
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
    ck_assert_int_eq(ag_issue(is, &p, out, cap, NULL), AG_OK);
    ag_issuer_free(is);
}

static ag_verifier *verifier_for(ag_keyring *r, size_t cache)
{
    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = r;
    vc.kind = AG_TOKEN_ACCESS;
    vc.issuer = "iss";
    vc.audience = "aud";
    vc.leeway = -1;
    vc.cache_entries = cache;
    ag_verifier *v = NULL;
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_OK);
    return v;
}

static ag_err vfy(const ag_verifier *v, const char *tok)
{
    static ag_claims c = AG_INIT(ag_claims);
    return ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&c), &c);
}

static char tok_a[AG_TOKEN_MAX_LEN + 1], tok_b[AG_TOKEN_MAX_LEN + 1], tok_c[AG_TOKEN_MAX_LEN + 1];

/* With and without the cache: a key that left the ring stops verifying at
 * once (memo and cache included), a key that comes back verifies again,
 * and a different key under an old kid never inherits the old key's
 * tokens. */
static void swap_semantics(size_t cache)
{
    issue_with(key_a, tok_a, sizeof(tok_a));
    issue_with(key_b, tok_b, sizeof(tok_b));
    issue_with(key_c, tok_c, sizeof(tok_c));
    ag_keyring *r1 = ring_of(key_a, key_b, NULL);
    ag_verifier *v = verifier_for(r1, cache);
    ag_keyring_free(r1);
    for (int i = 0; i < 3; i++) { /* fills the memo (and the cache) */
        ck_assert_int_eq(vfy(v, tok_a), AG_OK);
        ck_assert_int_eq(vfy(v, tok_b), AG_OK);
        ck_assert_int_eq(vfy(v, tok_c), AG_ERR_KEY);
    }
    ck_assert_uint_eq(ag__verifier_memo_count(v), 2);

    ag_keyring *r2 = ring_of(key_b, key_c, NULL);
    long before = atomic_load(&ring_blocks);
    ck_assert_int_eq(ag_verifier_set_keys(v, r2), AG_OK);
    ag_keyring_free(r2);
    /* no verify was running: r1, whose last holder was v, is gone already */
    ck_assert_int_eq(atomic_load(&ring_blocks), before - 2);
    ck_assert_uint_eq(ag__verifier_memo_count(v), 0); /* the memo starts over */
    ck_assert_int_eq(vfy(v, tok_a), AG_ERR_KEY);      /* key a left */
    ck_assert_int_eq(vfy(v, tok_b), AG_OK);           /* b stayed */
    ck_assert_int_eq(vfy(v, tok_c), AG_OK);           /* c came */

    /* kid "a" again, but another secret: a's tokens must not verify */
    ag_keyring *r3 = ring_of(key_a2, key_b, NULL);
    ck_assert_int_eq(ag_verifier_set_keys(v, r3), AG_OK);
    ag_keyring_free(r3);
    ck_assert_int_eq(vfy(v, tok_a), AG_ERR_SIGNATURE);
    ck_assert_int_eq(vfy(v, tok_c), AG_ERR_KEY);

    /* key a itself back: its tokens verify again */
    ag_keyring *r4 = ring_of(key_a, NULL);
    ck_assert_int_eq(ag_verifier_set_keys(v, r4), AG_OK);
    ck_assert_int_eq(vfy(v, tok_a), AG_OK);
    ck_assert_int_eq(vfy(v, tok_b), AG_ERR_KEY);
    /* the verifier froze r4 */
    ck_assert_int_eq(ag_keyring_add(r4, key_c), AG_ERR_STATE);
    ag_keyring_free(r4);

    ck_assert_int_eq(ag_verifier_set_keys(v, NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_verifier_set_keys(NULL, r4), AG_ERR_INVALID_ARGUMENT);
    ag_verifier_free(v);
    ck_assert_int_eq(atomic_load(&ring_blocks), 0);
}

START_TEST(swap_without_cache)
{
    swap_semantics(0);
}
END_TEST

START_TEST(swap_with_cache)
{
    swap_semantics(64);
}
END_TEST

/* The issuer signs with the last private key added; a swap moves it on. */
START_TEST(issuer_newest_key)
{
    ag_key *pub = NULL, *ec = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_ES256, "ec", &ec), AG_OK);
    char *jwk = NULL;
    ck_assert_int_eq(ag_key_to_jwk(ec, false, &jwk), AG_OK);
    ck_assert_int_eq(ag_key_from_jwk(jwk, strlen(jwk), 0, &pub, NULL, 0), AG_OK);
    ag_free(jwk);

    ag_keyring *r = ring_of(key_a, key_b, NULL);
    ck_assert_ptr_eq(ag_keyring_newest_signer(r), key_b);
    ag_keyring *rp = ring_of(key_a, pub, NULL); /* a public key after it is skipped */
    ck_assert_ptr_eq(ag_keyring_newest_signer(rp), key_a);
    ag_keyring *only_pub = ring_of(pub, NULL);
    ck_assert_ptr_null(ag_keyring_newest_signer(only_pub));
    ck_assert_ptr_null(ag_keyring_newest_signer(NULL));

    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.keys = r;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = "iss";
    ic.audience = "aud";
    ic.ttl = 600;
    ag_issuer *is = NULL;
    ic.key = key_a; /* both: refused */
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_INVALID_ARGUMENT);
    ic.key = NULL;
    ic.keys = only_pub;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_STATE);
    ic.keys = r;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    ck_assert_int_eq(ag_keyring_add(r, key_c), AG_ERR_STATE); /* frozen */
    char kid[AG_KID_MAX_LEN + 1];
    ck_assert_int_eq(ag_issuer_kid(is, kid, sizeof(kid)), AG_OK);
    ck_assert_str_eq(kid, "b");
    ck_assert_int_eq(ag_issuer_kid(is, kid, 1), AG_ERR_BUFFER);

    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = "alice";
    char tok[AG_TOKEN_MAX_LEN + 1];
    ag_keyring *vr = ring_of(key_a, key_b, key_c, NULL);
    ag_verifier *v = verifier_for(vr, 0);
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_OK);
    ag_claims *c = malloc(sizeof(*c));
    if (c != NULL)
        *c = (ag_claims)AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(c), c), AG_OK);
    ck_assert_mem_eq(c->kid.ptr, "b", 1);

    ag_keyring *r2 = ring_of(key_b, key_c, NULL);
    ck_assert_int_eq(ag_issuer_set_keys(is, only_pub), AG_ERR_STATE); /* nothing changes */
    ck_assert_int_eq(ag_issuer_set_keys(is, r2), AG_OK);
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_OK);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(c), c), AG_OK);
    ck_assert_mem_eq(c->kid.ptr, "c", 1);
    ck_assert_int_eq(ag_issuer_kid(is, kid, sizeof(kid)), AG_OK);
    ck_assert_str_eq(kid, "c");
    /* an asymmetric key: the header (alg) follows the key */
    ag_keyring *r3 = ring_of(key_c, ec, NULL);
    ck_assert_int_eq(ag_issuer_set_keys(is, r3), AG_OK);
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_OK);
    ag_keyring *vr2 = ring_of(ec, NULL);
    ck_assert_int_eq(ag_verifier_set_keys(v, vr2), AG_OK);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(c), c), AG_OK);
    ck_assert_int_eq(c->alg, AG_ALG_ES256);

    free(c);
    ag_verifier_free(v);
    ag_issuer_free(is);
    ag_keyring_free(r);
    ag_keyring_free(r2);
    ag_keyring_free(r3);
    ag_keyring_free(rp);
    ag_keyring_free(vr);
    ag_keyring_free(vr2);
    ag_keyring_free(only_pub);
    ag_key_free(pub);
    ag_key_free(ec);
}
END_TEST

/* ---- swap under load -------------------------------------------------- */

#define LOAD_THREADS 8
#define LOAD_SWAPS 10000

static ag_verifier *load_v;
static ag_issuer *load_is;
static atomic_bool load_done;
static atomic_int load_started;
static atomic_long load_rounds;

/* tok_a verifies under every ring; tok_b only under the odd ones, tok_c
 * only under the even ones: each verdict must be one of those two. */
static void *load_worker(void *arg)
{
    (void)arg;
    long bad = 0, ok_b = 0, ok_c = 0, rounds = 0;
    ag_claims *c = malloc(sizeof(*c));
    if (c != NULL)
        *c = (ag_claims)AG_INIT(ag_claims);
    char tok[AG_TOKEN_MAX_LEN + 1];
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = "bob";
    atomic_fetch_add(&load_started, 1);
    while (!atomic_load(&load_done) && rounds < 10000000) {
        rounds++;
        if (ag_verify(load_v, (const uint8_t *)tok_a, strlen(tok_a), AG_TEST_SCRATCH(c), c) !=
                AG_OK ||
            c->sub.len != 5 || memcmp(c->sub.ptr, "alice", 5) != 0)
            bad++;
        ag_err eb = ag_verify(load_v, (const uint8_t *)tok_b, strlen(tok_b), AG_TEST_SCRATCH(c), c);
        ag_err ec = ag_verify(load_v, (const uint8_t *)tok_c, strlen(tok_c), AG_TEST_SCRATCH(c), c);
        ok_b += eb == AG_OK;
        ok_c += ec == AG_OK;
        if ((eb != AG_OK && eb != AG_ERR_KEY) || (ec != AG_OK && ec != AG_ERR_KEY))
            bad++;
        if ((rounds & 15) == 0) { /* the issuer swaps too */
            if (ag_issue(load_is, &p, tok, sizeof(tok), NULL) != AG_OK)
                bad++;
            else {
                /* signed with a ring's newest key (b or c), which the
                 * verifier may have dropped since */
                ag_err e =
                    ag_verify(load_v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(c), c);
                if (e != AG_OK && e != AG_ERR_KEY)
                    bad++;
            }
        }
    }
    free(c);
    ag_thread_cleanup();
    atomic_fetch_add(&load_rounds, rounds);
    (void)ok_b;
    (void)ok_c;
    return (void *)(intptr_t)bad;
}

START_TEST(swap_under_load)
{
    issue_with(key_a, tok_a, sizeof(tok_a));
    issue_with(key_b, tok_b, sizeof(tok_b));
    issue_with(key_c, tok_c, sizeof(tok_c));
    ag_keyring *r0 = ring_of(key_a, key_c, NULL);
    load_v = verifier_for(r0, 256);
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.keys = r0;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = "iss";
    ic.audience = "aud";
    ic.ttl = 600;
    ck_assert_int_eq(ag_issuer_new(&ic, &load_is), AG_OK);
    ag_keyring_free(r0);
    atomic_store(&load_done, false);

    pthread_t th[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, load_worker, NULL), 0);
    while (atomic_load(&load_started) < LOAD_THREADS)
        sched_yield();
    long peak = 0;
    for (int i = 1; i <= LOAD_SWAPS; i++) {
        /* a fresh ring each time, whose only long-lived holder is the
         * verifier: every swap frees the previous ring */
        ag_keyring *r = (i & 1) ? ring_of(key_a, key_b, NULL) : ring_of(key_a, key_c, NULL);
        ck_assert_int_eq(ag_verifier_set_keys(load_v, r), AG_OK);
        if ((i & 63) == 0)
            ck_assert_int_eq(ag_issuer_set_keys(load_is, r), AG_OK);
        ag_keyring_free(r);
        long live = atomic_load(&ring_blocks);
        peak = live > peak ? live : peak;
    }
    atomic_store(&load_done, true);
    long bad = 0;
    for (int i = 0; i < LOAD_THREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    ck_assert_int_eq(bad, 0);
    /* the last ring was even (a, c) */
    ck_assert_int_eq(vfy(load_v, tok_c), AG_OK);
    ck_assert_int_eq(vfy(load_v, tok_b), AG_ERR_KEY);
    ag_verifier_free(load_v);
    ag_issuer_free(load_is);
    ag_thread_cleanup();
    /* every ring was freed, and the threads verified meanwhile */
    ck_assert_int_eq(atomic_load(&ring_blocks), 0);
    ck_assert_int_gt(atomic_load(&load_rounds), 0);
    fprintf(stderr, "swap_under_load: %ld verify rounds, at most %ld ring blocks alive\n",
            atomic_load(&load_rounds), peak);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("swap");
    TCase *tc = tcase_create("swap");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, swap_without_cache);
    tcase_add_test(tc, swap_with_cache);
    tcase_add_test(tc, issuer_newest_key);
    tcase_add_test(tc, swap_under_load);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

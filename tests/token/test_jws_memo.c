/* SPDX-License-Identifier: MIT */
/*
 * Tests for the verifier's header memo (lib/token/jws.c): a remembered
 * header segment must give exactly what parsing it gives, must only be
 * remembered after its token's signature verified, must stay bound to its
 * key, and must be safe to fill from many threads at once (label threads:
 * also run under TSan). Rule IDs refer to docs/security.md.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/token.h"
#include "testsupport.h"
#include "token/token_int.h"

#define ISS "https://issuer.example"
#define AUD "api.example"
#define T0 AG_TEST_T0 /* ag_test_clock, never moved here */
#define NHDR 12       /* more distinct headers than the memo has slots */

static ag_key *k1, *k2, *kes;
static ag_keyring *ring;

static void setup(void)
{
    static const uint8_t s1[32] = "0123456789abcdef0123456789abcdef";
    static const uint8_t s2[32] = "fedcba9876543210fedcba9876543210";
    if (ring != NULL)
        return;
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s1, 32, "k1", &k1));
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s2, 32, "k2", &k2));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_ES256, "es", &kes));
    AG_TEST_SETUP_OK(ag_keyring_new(NULL, &ring));
    AG_TEST_SETUP_OK(ag_keyring_add(ring, k1));
    AG_TEST_SETUP_OK(ag_keyring_add(ring, k2));
    AG_TEST_SETUP_OK(ag_keyring_add(ring, kes));
}

static ag_verifier *new_verifier(ag_token_kind kind)
{
    ag_verifier_config c = AG_INIT(ag_verifier_config);
    c.keys = ring;
    c.issuer = ISS;
    c.audience = AUD;
    c.leeway = -1;
    c.clock = ag_test_clock;
    c.kind = kind;
    ag_verifier *v = NULL;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_OK);
    return v;
}

/* b64(hdr).b64(payload).b64(sig by key) */
static size_t mk_token(const ag_key *key, const char *hdr, const char *payload, char *out,
                       size_t cap)
{
    size_t n = ag_test_jws(key, hdr, payload, out, cap);
    ck_assert_uint_gt(n, 0);
    return n;
}

static const char *payload(const char *jti, int64_t exp)
{
    static char buf[256];
    snprintf(buf, sizeof(buf),
             "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD
             "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"%s\"}",
             (long long)exp, (long long)T0, jti);
    return buf;
}

/* Header i of NHDR distinct, valid headers (kid k1 or k2; escapes, member
 * order, typ spellings and unknown members vary the bytes). */
static const char *header(int i, const ag_key **key)
{
    static char buf[160];
    *key = (i % 2) ? k2 : k1;
    const char *kid = (i % 2) ? "k2" : "k1";
    switch (i % 6) {
    case 0:
        snprintf(buf, sizeof(buf), "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"n\":%d}",
                 kid, i);
        break;
    case 1:
        snprintf(buf, sizeof(buf), "{\"typ\":\"at+jwt\",\"kid\":\"%s\",\"alg\":\"HS256\",\"n\":%d}",
                 kid, i);
        break;
    case 2: /* escaped member name and value */
        snprintf(buf, sizeof(buf),
                 "{\"alg\":\"HS256\",\"k\\u0069d\":\"%s\",\"typ\":\"a\\u0074+jwt\",\"n\":%d}", kid,
                 i);
        break;
    case 3:
        snprintf(buf, sizeof(buf),
                 "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"application/AT+JWT\",\"n\":%d}", kid,
                 i);
        break;
    case 4:
        snprintf(buf, sizeof(buf),
                 "{ \"alg\" : \"HS256\" , \"kid\":\"%s\",\"typ\":\"at+jwt\",\"x\":[%d] }", kid, i);
        break;
    default:
        snprintf(buf, sizeof(buf),
                 "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"pad\":\"%0*d\"}", kid,
                 20 + i, i);
        break;
    }
    return buf;
}

static bool span_is(ag_span s, const char *z)
{
    return s.len == strlen(z) && memcmp(s.ptr, z, s.len) == 0;
}

/* The memo gives what parsing gives: every field of the claims of a token
 * verified through a remembered header equals a cold verifier's. */
START_TEST(memo_matches_parsing)
{
    setup();
    ag_verifier *warm = new_verifier(AG_TOKEN_ACCESS);
    static char tok[1024];
    static ag_claims a = AG_INIT(ag_claims), b = AG_INIT(ag_claims);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NHDR; i++) {
            const ag_key *key = NULL;
            const char *h = header(i, &key);
            char jti[16];
            snprintf(jti, sizeof(jti), "j%d-%d", i, round);
            size_t n = mk_token(key, h, payload(jti, T0 + 600), tok, sizeof(tok));
            ag_verifier *cold = new_verifier(AG_TOKEN_ACCESS);
            ck_assert_int_eq(ag_verify(cold, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&a), &a),
                             AG_OK);
            ck_assert_int_eq(ag_verify(warm, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&b), &b),
                             AG_OK);
            ag_verifier_free(cold);
            ck_assert_int_eq(a.alg, b.alg);
            ck_assert_int_eq(a.kind, b.kind);
            ck_assert_int_eq(b.kind, AG_TOKEN_ACCESS);
            ck_assert(span_is(b.kid, (i % 2) ? "k2" : "k1"));
            ck_assert_uint_eq(a.typ.len, b.typ.len);
            ck_assert(memcmp(a.typ.ptr, b.typ.ptr, a.typ.len) == 0);
            ck_assert(span_is(b.jti, jti));
        }
    }
    ck_assert_uint_eq(ag__verifier_memo_count(warm), 8);
    ag_verifier_free(warm);
}
END_TEST

/* Only a header whose token's signature verified is remembered (V-11):
 * a forged token never fills a slot; a good one fills one, once. */
START_TEST(memo_only_after_signature)
{
    setup();
    ag_verifier *v = new_verifier(AG_TOKEN_ACCESS);
    static char tok[1024];
    const ag_key *key = NULL;
    const char *h = header(0, &key);
    size_t n = mk_token(k2, h, payload("f", T0 + 600), tok, sizeof(tok)); /* kid k1, signed by k2 */
    static ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c),
                     AG_ERR_SIGNATURE);
    ck_assert_uint_eq(ag__verifier_memo_count(v), 0);
    /* a token failing its claims after a good signature: the header is
     * genuine, so remembering it is fine, and the failure is unchanged */
    n = mk_token(key, h, payload("e", T0 - 600), tok, sizeof(tok));
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c),
                     AG_ERR_EXPIRED);
    ck_assert_uint_eq(ag__verifier_memo_count(v), 1);
    n = mk_token(key, h, payload("g", T0 + 600), tok, sizeof(tok));
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c), AG_OK);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c), AG_OK);
    ck_assert_uint_eq(ag__verifier_memo_count(v), 1);
    ag_verifier_free(v);
}
END_TEST

/* A remembered header stays bound to its key (V-01, V-02, V-08): the same
 * header bytes over a token signed by another key, a tampered payload, a
 * tampered or short signature and a bad payload encoding all fail as they
 * do without the memo. */
START_TEST(memo_keeps_every_check)
{
    setup();
    ag_verifier *v = new_verifier(AG_TOKEN_ACCESS);
    static char tok[1024], bad[1024];
    static ag_claims c = AG_INIT(ag_claims);
    const ag_key *key = NULL;
    const char *h = header(0, &key);
    size_t n = mk_token(key, h, payload("a", T0 + 600), tok, sizeof(tok));
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c), AG_OK);
    ck_assert_uint_eq(ag__verifier_memo_count(v), 1);

    struct {
        const char *what;
        ag_err want;
    } cases[] = {{"other key", AG_ERR_SIGNATURE},
                 {"payload bit", AG_ERR_SIGNATURE},
                 {"signature bit", AG_ERR_SIGNATURE},
                 {"short signature", AG_ERR_SIGNATURE},
                 {"payload not base64url", AG_ERR_MALFORMED},
                 {"ES256 key's kid", AG_ERR_SIGNATURE}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        size_t m = n;
        memcpy(bad, tok, n + 1);
        char *p1 = strchr(bad, '.'), *p2 = strrchr(bad, '.');
        switch (k) {
        case 0:
            m = mk_token(k2, h, payload("a", T0 + 600), bad, sizeof(bad));
            break;
        case 1:
            p1[3] = p1[3] == 'A' ? 'B' : 'A';
            break;
        case 2:
            p2[5] = p2[5] == 'A' ? 'B' : 'A';
            break;
        case 3:
            m -= 3; /* 40 characters: 30 bytes, not 32 */
            bad[m] = '\0';
            break;
        case 4:
            p1[2] = '*';
            break;
        default: /* the HS256 header's bytes, signed with the ES256 key */
            m = mk_token(kes, h, payload("a", T0 + 600), bad, sizeof(bad));
            break;
        }
        ag_verifier *cold = new_verifier(AG_TOKEN_ACCESS);
        ag_err e_cold = ag_verify(cold, (const uint8_t *)bad, m, AG_TEST_SCRATCH(&c), &c);
        ag_err e_warm = ag_verify(v, (const uint8_t *)bad, m, AG_TEST_SCRATCH(&c), &c);
        ag_verifier_free(cold);
        ck_assert_msg(e_warm == cases[k].want && e_cold == e_warm, "%s: warm %s cold %s",
                      cases[k].what, ag_err_name(e_warm), ag_err_name(e_cold));
    }
    ck_assert_uint_eq(ag__verifier_memo_count(v), 1);

    /* a refresh verifier remembering an at+jwt header still refuses the
     * kind (V-12) */
    ag_verifier *vr = new_verifier(AG_TOKEN_REFRESH);
    ck_assert_int_eq(ag_verify(vr, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c),
                     AG_ERR_WRONG_TYPE);
    ck_assert_int_eq(ag_verify(vr, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c),
                     AG_ERR_WRONG_TYPE);
    ag_verifier_free(vr);
    ag_verifier_free(v);
}
END_TEST

/* A remembered header gives the same spans as parsing it, also for an
 * empty typ (present: a pointer, length 0) and an absent one (NULL). */
START_TEST(memo_spans_like_parsing)
{
    setup();
    static const char *const hdrs[] = {"{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"\"}",
                                       "{\"alg\":\"HS256\",\"kid\":\"k1\"}"};
    static char tok[1024];
    static ag_claims a = AG_INIT(ag_claims), b = AG_INIT(ag_claims);
    for (size_t i = 0; i < 2; i++) {
        ag_verifier *v = new_verifier(AG_TOKEN_ANY);
        size_t n = mk_token(k1, hdrs[i], payload("s", T0 + 600), tok, sizeof(tok));
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&a), &a), AG_OK);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&b), &b), AG_OK);
        ck_assert_uint_eq(ag__verifier_memo_count(v), 1);
        ck_assert_uint_eq(a.typ.len, 0);
        ck_assert_uint_eq(b.typ.len, 0);
        ck_assert_int_eq(a.typ.ptr == NULL, i == 1);
        ck_assert_int_eq(b.typ.ptr == NULL, i == 1);
        ck_assert(span_is(b.kid, "k1"));
        ag_verifier_free(v);
    }
}
END_TEST

/* Many threads filling and reading the slots of one verifier at once. */
typedef struct worker {
    const ag_verifier *v;
    int id;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char tok[1024];
    ag_claims *c = malloc(sizeof(*c));
    if (c != NULL)
        *c = (ag_claims)AG_INIT(ag_claims);
    if (c == NULL) {
        w->failures++;
        return NULL;
    }
    for (int r = 0; r < 200; r++) {
        int i = (r + w->id) % NHDR;
        const ag_key *key = (i % 2) ? k2 : k1;
        char hdr[160];
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"at+jwt\",\"n\":%d}",
                 (i % 2) ? "k2" : "k1", i);
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD
                 "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"t%d\"}",
                 (long long)(T0 + 600), (long long)T0, w->id);
        size_t n = ag_test_jws(key, hdr, body, tok, sizeof(tok));
        if (n == 0)
            w->failures++;
        if (ag_verify(w->v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(c), c) != AG_OK ||
            !span_is(c->kid, (i % 2) ? "k2" : "k1"))
            w->failures++;
    }
    free(c);
    return NULL;
}

START_TEST(memo_threads)
{
    setup();
    ag_verifier *v = new_verifier(AG_TOKEN_ACCESS);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){v, i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(w[i].failures, 0);
    }
    ck_assert_uint_eq(ag__verifier_memo_count(v), 8);
    ag_verifier_free(v);
}
END_TEST

int main(void)
{
    setup();
    Suite *s = suite_create("jws_memo");
    TCase *tc = tcase_create("memo");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, memo_matches_parsing);
    tcase_add_test(tc, memo_only_after_signature);
    tcase_add_test(tc, memo_keeps_every_check);
    tcase_add_test(tc, memo_spans_like_parsing);
    tcase_add_test(tc, memo_threads);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * Tests for lib/token/jws.c: the verify pipeline, issuing, round trips for
 * every algorithm, the V-rule adversarial table, and the zero-allocation
 * HS256 path. Rule IDs refer to docs/security.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authgate/token.h"
#include "testsupport.h"
#include "token/token_int.h"

#define ISS "https://issuer.example"
#define AUD "api.example"
#define T0 AG_TEST_T0

/* ---- fixtures ------------------------------------------------------------ */

static const uint8_t hs_secret[32] = "0123456789abcdef0123456789abcdef";
static ag_key *k_hs, *k_es, *k_rs, *k_ps, *k_ed, *k_es384, *k_hs512, *k_ed2, *k_es2;
static ag_keyring *ring;
static ag_verifier *v_access, *v_refresh, *v_any;

static void setup_keys(void)
{
    if (k_hs != NULL)
        return;
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, hs_secret, 32, "k1", &k_hs));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_ES256, "es", &k_es));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_RS256, "rs", &k_rs));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_PS256, "ps", &k_ps));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_EDDSA, "ed", &k_ed));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_ES384, "es384", &k_es384));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_HS512, "hs512", &k_hs512));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_EDDSA, "ed2", &k_ed2));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_ES256, "es2", &k_es2));
    AG_TEST_SETUP_OK(ag_keyring_new(NULL, &ring));
    ag_key *all[] = {k_hs, k_es, k_rs, k_ps, k_ed, k_es384, k_hs512, k_ed2, k_es2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        AG_TEST_SETUP_OK(ag_keyring_add(ring, all[i]));

    ag_verifier_config c = AG_INIT(ag_verifier_config);
    c.keys = ring;
    c.issuer = ISS;
    c.audience = AUD;
    c.leeway = -1;
    c.clock = ag_test_clock;
    c.kind = AG_TOKEN_ACCESS;
    AG_TEST_SETUP_OK(ag_verifier_new(&c, &v_access));
    c.kind = AG_TOKEN_REFRESH;
    AG_TEST_SETUP_OK(ag_verifier_new(&c, &v_refresh));
    c.kind = AG_TOKEN_ANY;
    AG_TEST_SETUP_OK(ag_verifier_new(&c, &v_any));
}

/* Builds b64(hdr).b64(payload).b64(sig) signed with key (or with sig_override). */
static size_t mk_token(const ag_key *key, const char *hdr, const char *payload, char *out,
                       size_t cap)
{
    size_t n = ag_test_jws(key, hdr, payload, out, cap);
    ck_assert_uint_gt(n, 0);
    return n;
}

static char good_payload[512];
static const char *payload_ok(void)
{
    snprintf(good_payload, sizeof(good_payload),
             "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD
             "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j1\"}",
             (long long)(T0 + 600), (long long)T0);
    return good_payload;
}

static ag_err verify_str(const ag_verifier *v, const char *tok)
{
    static ag_claims c = AG_INIT(ag_claims);
    return ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&c), &c);
}

/* ---- issue → verify round trips ------------------------------------------ */

static ag_err issue(const ag_key *key, ag_token_kind kind, const char *sid, char *buf, size_t cap,
                    ag_issued *info)
{
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = key;
    ic.kind = kind;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 600;
    ic.clock = ag_test_clock;
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = "alice";
    p.sid = sid;
    ag_err err = ag_issue(is, &p, buf, cap, info);
    ag_issuer_free(is);
    return err;
}

START_TEST(roundtrip_every_alg)
{
    setup_keys();
    ag_test_clock_set(T0);
    ag_key *keys[] = {k_hs, k_es, k_rs, k_ps, k_ed, k_es384, k_hs512};
    static const ag_alg want[] = {AG_ALG_HS256, AG_ALG_ES256, AG_ALG_RS256, AG_ALG_PS256,
                                  AG_ALG_EDDSA, AG_ALG_ES384, AG_ALG_HS512};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char tok[AG_TOKEN_MAX_LEN + 1];
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(issue(keys[i], AG_TOKEN_ACCESS, "fam", tok, sizeof(tok), &info), AG_OK);
        ck_assert_uint_eq(info.len, strlen(tok));
        ck_assert_uint_eq(strlen(info.jti), AG_JTI_LEN);
        ag_claims c = AG_INIT(ag_claims);
        ck_assert_int_eq(
            ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c), AG_OK);
        ck_assert_int_eq(c.alg, want[i]);
        ck_assert_int_eq(c.kind, AG_TOKEN_ACCESS);
        ck_assert(ag__span_eq_str(c.sub, "alice"));
        ck_assert(ag__span_eq_str(c.iss, ISS));
        ck_assert(ag__span_eq_str(c.aud, AUD));
        ck_assert(ag__span_eq_str(c.sid, "fam"));
        ck_assert(ag__span_eq_str(c.jti, info.jti));
        ck_assert(ag__span_eq_str(c.kid, ag_key_kid(keys[i])));
        ck_assert_int_eq(c.exp, T0 + 600);
        ck_assert_int_eq(c.iat, T0);
        /* explicit typing (V-12): the refresh verifier refuses it */
        ck_assert_int_eq(
            ag_verify(v_refresh, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c),
            AG_ERR_WRONG_TYPE);
        ck_assert_int_eq(ag_verify(v_any, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c),
                         AG_OK);
    }
}
END_TEST

START_TEST(refresh_requires_sid)
{
    setup_keys();
    ag_test_clock_set(T0);
    char tok[AG_TOKEN_MAX_LEN + 1];
    ck_assert_int_eq(issue(k_es, AG_TOKEN_REFRESH, NULL, tok, sizeof(tok), NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(issue(k_es, AG_TOKEN_REFRESH, "s1", tok, sizeof(tok), NULL), AG_OK);
    ck_assert_int_eq(verify_str(v_refresh, tok), AG_OK);
    ck_assert_int_eq(verify_str(v_access, tok), AG_ERR_WRONG_TYPE);
    /* a refresh-typed token without sid, signed by us: V-12 / V-13 */
    char t2[1024];
    mk_token(k_hs, "{\"alg\":\"HS256\",\"typ\":\"rt+jwt\",\"kid\":\"k1\"}", payload_ok(), t2,
             sizeof(t2));
    ck_assert_int_eq(verify_str(v_refresh, t2), AG_ERR_CLAIM);
}
END_TEST

/* Every single-byte change of a valid token is rejected. */
START_TEST(every_byte_flipped)
{
    setup_keys();
    ag_test_clock_set(T0);
    ag_key *keys[] = {k_hs, k_es, k_ed};
    for (size_t k = 0; k < 3; k++) {
        char tok[AG_TOKEN_MAX_LEN + 1];
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(issue(keys[k], AG_TOKEN_ACCESS, NULL, tok, sizeof(tok), &info), AG_OK);
        for (size_t i = 0; i < info.len; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                tok[i] = (char)(tok[i] ^ (1 << bit));
                ag_claims c = AG_INIT(ag_claims);
                ag_err e =
                    ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c);
                if (e == AG_OK)
                    ck_abort_msg("flip at %zu bit %d accepted", i, bit);
                tok[i] = (char)(tok[i] ^ (1 << bit));
            }
        }
        ck_assert_int_eq(verify_str(v_access, tok), AG_OK);
    }
}
END_TEST

/* ---- the adversarial table ----------------------------------------------- */

typedef struct row {
    const char *rule;
    const char *hdr;     /* NULL → the standard HS256 access header */
    const char *payload; /* NULL → a valid payload; "%E" placeholders not used */
    ag_err want;
} row;

#define H(x) "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"" x "}"
#define P(x) "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\",\"jti\":\"j1\"" x "}"
#define TIMES ",\"exp\":1700000600,\"iat\":1700000000"

static const row table[] = {
    /* positive controls */
    {"control", H(""), P(TIMES), AG_OK},
    {"V-07 unknown non-critical parameter ignored", H(",\"foo\":{\"bar\":[1]}"), P(TIMES), AG_OK},
    {"V-12 application/ prefix",
     "{\"alg\":\"HS256\",\"typ\":\"application/at+jwt\",\"kid\":\"k1\"}", P(TIMES), AG_OK},
    {"V-12 typ case-insensitive", "{\"alg\":\"HS256\",\"typ\":\"AT+JWT\",\"kid\":\"k1\"}", P(TIMES),
     AG_OK},
    {"V-14 non-integer NumericDate", H(""), P(",\"exp\":1700000600.5,\"iat\":1700000000.25"),
     AG_OK},
    {"V-16 aud array containing ours", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[\"x\",\"" AUD "\"],\"jti\":\"j\"" TIMES "}",
     AG_OK},
    {"V-16 escaped aud equal after unescaping", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"\\u0061pi.example\",\"jti\":\"j\"" TIMES "}",
     AG_OK},
    {"escaped member name is the same claim", H(""),
     "{\"\\u0069ss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES "}", AG_OK},
    {"nbf in the past", H(""), P(TIMES ",\"nbf\":1699999000"), AG_OK},
    /* V-01 alg none in every spelling, with a signature present */
    {"V-01 none", "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES), AG_ERR_ALG},
    {"V-01 None", "{\"alg\":\"None\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES), AG_ERR_ALG},
    {"V-01 NONE", "{\"alg\":\"NONE\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES), AG_ERR_ALG},
    {"V-01 nOnE", "{\"alg\":\"nOnE\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES), AG_ERR_ALG},
    {"V-01 hs256 lower case", "{\"alg\":\"hs256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES),
     AG_ERR_ALG},
    {"V-01 HS512 with an HS256 key", "{\"alg\":\"HS512\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
     P(TIMES), AG_ERR_ALG},
    {"V-01 RS256 header on the HS key", "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
     P(TIMES), AG_ERR_ALG},
    {"V-01 ES512 (unsupported)", "{\"alg\":\"ES512\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES),
     AG_ERR_ALG},
    {"V-07 alg missing", "{\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES), AG_ERR_ALG},
    {"V-07 alg not a string", "{\"alg\":256,\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES),
     AG_ERR_MALFORMED},
    {"V-07 alg with trailing NUL escape",
     "{\"alg\":\"HS256\\u0000\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES), AG_ERR_MALFORMED},
    /* V-07 header policy */
    {"V-07 crit with a name", H(",\"crit\":[\"exp\"],\"exp\":1"), P(TIMES), AG_ERR_HEADER},
    {"V-07 crit empty", H(",\"crit\":[]"), P(TIMES), AG_ERR_HEADER},
    {"V-07 crit not an array", H(",\"crit\":\"b64\""), P(TIMES), AG_ERR_HEADER},
    {"V-07 crit naming an absent parameter", H(",\"crit\":[\"zz\"]"), P(TIMES), AG_ERR_HEADER},
    {"V-07 crit naming a registered parameter", H(",\"crit\":[\"alg\"]"), P(TIMES), AG_ERR_HEADER},
    {"V-07 b64 false", H(",\"b64\":false,\"crit\":[\"b64\"]"), P(TIMES), AG_ERR_HEADER},
    {"V-07 b64 true", H(",\"b64\":true"), P(TIMES), AG_ERR_HEADER},
    {"V-07 cty JWT", H(",\"cty\":\"JWT\""), P(TIMES), AG_ERR_HEADER},
    {"V-07 jku", H(",\"jku\":\"https://evil.example/jwks\""), P(TIMES), AG_ERR_HEADER},
    {"V-07 jwk", H(",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}"), P(TIMES), AG_ERR_HEADER},
    {"V-07 x5u", H(",\"x5u\":\"https://evil.example/c\""), P(TIMES), AG_ERR_HEADER},
    {"V-07 x5c", H(",\"x5c\":[\"MIIB\"]"), P(TIMES), AG_ERR_HEADER},
    {"V-07 x5t", H(",\"x5t\":\"abc\""), P(TIMES), AG_ERR_HEADER},
    {"V-07 x5t#S256", H(",\"x5t#S256\":\"abc\""), P(TIMES), AG_ERR_HEADER},
    {"V-07 escaped jku name", H(",\"\\u006aku\":\"x\""), P(TIMES), AG_ERR_HEADER},
    /* V-06 strict JSON */
    {"V-06 duplicate alg",
     "{\"alg\":\"HS256\",\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES),
     AG_ERR_MALFORMED},
    {"V-06 duplicate via escape",
     "{\"alg\":\"HS256\",\"\\u0061lg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", P(TIMES),
     AG_ERR_MALFORMED},
    {"V-06 duplicate claim", H(""), P(TIMES ",\"sub\":\"mallory\""), AG_ERR_MALFORMED},
    {"V-06 header not an object", "[\"HS256\"]", P(TIMES), AG_ERR_MALFORMED},
    {"V-06 payload not an object", H(""), "[1,2]", AG_ERR_MALFORMED},
    {"V-06 payload trailing garbage", H(""), P(TIMES) "x", AG_ERR_MALFORMED},
    {"V-06 payload two objects", H(""), P(TIMES) "{}", AG_ERR_MALFORMED},
    {"V-06 payload bad UTF-8", H(""), P(TIMES ",\"n\":\"\xc3\x28\""), AG_ERR_MALFORMED},
    {"V-06 payload overlong UTF-8", H(""), P(TIMES ",\"n\":\"\xc0\xaf\""), AG_ERR_MALFORMED},
    {"V-06 payload lone surrogate", H(""), P(TIMES ",\"n\":\"\\ud800\""), AG_ERR_MALFORMED},
    {"V-06 payload NUL escape", H(""), P(TIMES ",\"n\":\"a\\u0000b\""), AG_ERR_MALFORMED},
    {"V-06 payload BOM", H(""), "\xef\xbb\xbf" P(TIMES), AG_ERR_MALFORMED},
    {"V-06 header empty", "", P(TIMES), AG_ERR_MALFORMED},
    /* V-08 kid */
    {"V-08 kid missing", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", P(TIMES), AG_ERR_KEY},
    {"V-08 kid unknown", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k2\"}", P(TIMES),
     AG_ERR_KEY},
    {"V-08 kid prefix", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k\"}", P(TIMES),
     AG_ERR_KEY},
    {"V-08 kid extension", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k11\"}", P(TIMES),
     AG_ERR_KEY},
    {"V-08 kid case", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"K1\"}", P(TIMES),
     AG_ERR_KEY},
    {"V-08 kid path traversal", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"../../dev/null\"}",
     P(TIMES), AG_ERR_KEY},
    {"V-08 kid SQL", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"x' UNION SELECT '1';--\"}",
     P(TIMES), AG_ERR_KEY},
    {"V-08 kid shell", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"|sleep 10\"}", P(TIMES),
     AG_ERR_KEY},
    {"V-08 kid empty", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"\"}", P(TIMES), AG_ERR_KEY},
    {"V-08 kid not a string", "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":1}", P(TIMES),
     AG_ERR_MALFORMED},
    {"V-08 kid too long",
     "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":"
     "\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk1\"}",
     P(TIMES), AG_ERR_KEY},
    /* V-12 typ */
    {"V-12 typ missing", "{\"alg\":\"HS256\",\"kid\":\"k1\"}", P(TIMES), AG_ERR_WRONG_TYPE},
    {"V-12 typ JWT", "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", P(TIMES),
     AG_ERR_WRONG_TYPE},
    {"V-12 typ rt+jwt on the access verifier",
     "{\"alg\":\"HS256\",\"typ\":\"rt+jwt\",\"kid\":\"k1\"}", P(TIMES ",\"sid\":\"s\""),
     AG_ERR_WRONG_TYPE},
    {"V-12 typ at+jwtx", "{\"alg\":\"HS256\",\"typ\":\"at+jwtx\",\"kid\":\"k1\"}", P(TIMES),
     AG_ERR_WRONG_TYPE},
    {"V-12 typ application/ only", "{\"alg\":\"HS256\",\"typ\":\"application/\",\"kid\":\"k1\"}",
     P(TIMES), AG_ERR_WRONG_TYPE},
    {"V-12 typ not a string", "{\"alg\":\"HS256\",\"typ\":1,\"kid\":\"k1\"}", P(TIMES),
     AG_ERR_MALFORMED},
    /* V-13 required claims */
    {"V-13 exp missing", H(""), P(",\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-13 iat missing", H(""), P(",\"exp\":1700000600"), AG_ERR_CLAIM},
    {"V-13 iss missing", H(""), "{\"sub\":\"a\",\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-13 sub missing", H(""), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-13 jti missing", H(""), "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD "\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-13 aud missing", H(""), "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    /* V-14 NumericDate */
    {"V-14 exp string", H(""), P(",\"exp\":\"1700000600\",\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-14 exp true", H(""), P(",\"exp\":true,\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-14 exp null", H(""), P(",\"exp\":null,\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-14 exp array", H(""), P(",\"exp\":[1700000600],\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-14 exp object", H(""), P(",\"exp\":{},\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-14 exp negative", H(""), P(",\"exp\":-1,\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-14 exp beyond 9999", H(""), P(",\"exp\":253402300800,\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-14 exp 1e300", H(""), P(",\"exp\":1e300,\"iat\":1700000000"), AG_ERR_CLAIM},
    {"V-14 exp beyond int64 (jansson: too big integer)", H(""),
     P(",\"exp\":99999999999999999999,\"iat\":1700000000"), AG_ERR_MALFORMED},
    {"V-14 exp real overflow", H(""), P(",\"exp\":1e999,\"iat\":1700000000"), AG_ERR_MALFORMED},
    {"V-14 iat string", H(""), P(",\"exp\":1700000600,\"iat\":\"x\""), AG_ERR_CLAIM},
    {"V-14 nbf null", H(""), P(TIMES ",\"nbf\":null"), AG_ERR_CLAIM},
    /* V-15 time */
    {"V-15 expired beyond leeway", H(""), P(",\"exp\":1699999970,\"iat\":1699999000"),
     AG_ERR_EXPIRED},
    {"V-15 nbf in the future", H(""), P(TIMES ",\"nbf\":1700000031"), AG_ERR_NOT_YET_VALID},
    {"V-15 iat in the future", H(""), P(",\"exp\":1700000600,\"iat\":1700000031"),
     AG_ERR_NOT_YET_VALID},
    {"V-15 lifetime cap", H(""), P(",\"exp\":1700100000,\"iat\":1700000000"), AG_ERR_CLAIM},
    /* V-16 iss / aud / sub games */
    {"V-16 iss prefix", H(""),
     "{\"iss\":\"https://issuer.exampl\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-16 iss extension", H(""),
     "{\"iss\":\"" ISS ".evil\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-16 iss case", H(""),
     "{\"iss\":\"HTTPS://issuer.example\",\"sub\":\"a\",\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES
     "}",
     AG_ERR_CLAIM},
    {"V-16 iss not a string", H(""),
     "{\"iss\":[\"" ISS "\"],\"sub\":\"a\",\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-16 aud prefix", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"api.exampl\",\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-16 aud extension", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"api.example.evil\",\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-16 aud empty string", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"\",\"jti\":\"j\"" TIMES "}", AG_ERR_CLAIM},
    {"V-16 aud empty array", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[],\"jti\":\"j\"" TIMES "}", AG_ERR_CLAIM},
    {"V-16 aud array without ours", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[\"x\",\"y\"],\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-16 aud array with a number", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[\"" AUD "\",1],\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-16 aud array with an empty string", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":[\"" AUD "\",\"\"],\"jti\":\"j\"" TIMES "}",
     AG_ERR_CLAIM},
    {"V-16 aud number", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":1,\"jti\":\"j\"" TIMES "}", AG_ERR_CLAIM},
    {"V-16 sub empty", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":\"\",\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES "}", AG_ERR_CLAIM},
    {"V-16 sub number", H(""),
     "{\"iss\":\"" ISS "\",\"sub\":7,\"aud\":\"" AUD "\",\"jti\":\"j\"" TIMES "}", AG_ERR_CLAIM},
};

START_TEST(adversarial_table)
{
    setup_keys();
    ag_test_clock_set(T0);
    const row *r = &table[_i];
    char tok[AG_TOKEN_MAX_LEN + 1];
    mk_token(k_hs, r->hdr, r->payload, tok, sizeof(tok));
    ag_err got = verify_str(v_access, tok);
    if (got != r->want)
        ck_abort_msg("%s: got %s, want %s", r->rule, ag_err_name(got), ag_err_name(r->want));
}
END_TEST

/* ---- token-shape attacks that need hand-made strings -------------------- */

START_TEST(shape_attacks)
{
    setup_keys();
    ag_test_clock_set(T0);
    char tok[AG_TOKEN_MAX_LEN + 1], bad[AG_TOKEN_MAX_LEN + 64];
    size_t n = mk_token(k_hs, H(""), P(TIMES), tok, sizeof(tok));
    ck_assert_int_eq(verify_str(v_access, tok), AG_OK);
    const char *dot1 = strchr(tok, '.');
    const char *dot2 = strrchr(tok, '.');

    /* V-03 segment counts */
    ck_assert_int_eq(verify_str(v_access, ""), AG_ERR_MALFORMED);
    ck_assert_int_eq(verify_str(v_access, ".."), AG_ERR_MALFORMED);
    ck_assert_int_eq(verify_str(v_access, "..."), AG_ERR_MALFORMED);
    snprintf(bad, sizeof(bad), "%.*s", (int)(dot2 - tok), tok); /* two segments */
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    snprintf(bad, sizeof(bad), "%s.", tok); /* four segments, last empty */
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    snprintf(bad, sizeof(bad), "%s.%s", tok, "AAAA"); /* four segments */
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    snprintf(bad, sizeof(bad), "%.*s.AAAA.AAAA.%s", (int)(dot1 - tok), tok, dot1 + 1); /* 5 = JWE */
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    ck_assert_int_eq(verify_str(v_access, "{\"payload\":\"e30\",\"signatures\":[]}"),
                     AG_ERR_MALFORMED);
    /* alg none with the empty signature that such tokens carry (V-01, V-03) */
    snprintf(bad, sizeof(bad), "%.*s", (int)(dot2 - tok + 1), tok);
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);

    /* V-05 non-canonical base64url */
    snprintf(bad, sizeof(bad), "%s=", tok);
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    snprintf(bad, sizeof(bad), "%s\n", tok);
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    snprintf(bad, sizeof(bad), " %s", tok);
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    memcpy(bad, tok, n + 1);
    bad[dot1 - tok - 1] = '+'; /* standard-alphabet character in the header */
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    memcpy(bad, tok, n + 1);
    bad[n - 3] = '/';
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    /* HS256 signature: 43 chars, the last carries 2 unused bits; set one */
    memcpy(bad, tok, n + 1);
    {
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *pos = strchr(alphabet, bad[n - 1]);
        ck_assert_ptr_nonnull(pos);
        bad[n - 1] = alphabet[(pos - alphabet) ^ 1];
        ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_MALFORMED);
    }
    /* a NUL inside the token is data, and invalid */
    memcpy(bad, tok, n + 1);
    bad[5] = '\0';
    {
        ag_claims c = AG_INIT(ag_claims);
        ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)bad, n, AG_TEST_SCRATCH(&c), &c),
                         AG_ERR_MALFORMED);
    }

    /* V-09 signature lengths: one byte short, one byte long */
    snprintf(bad, sizeof(bad), "%.*sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
             (int)(dot2 - tok + 1), tok); /* 42 chars = 31 bytes */
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_SIGNATURE);
    snprintf(bad, sizeof(bad), "%.*sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
             (int)(dot2 - tok + 1), tok); /* 44 chars = 33 bytes */
    ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_SIGNATURE);
    /* a huge signature segment is a signature error, not an overflow */
    {
        size_t m = (size_t)(dot2 - tok + 1);
        memcpy(bad, tok, m);
        memset(bad + m, 'A', 2000);
        bad[m + 2000] = '\0';
        ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_SIGNATURE);
    }

    /* V-04 size cap before any work */
    {
        static char big[AG_TOKEN_MAX_LEN + 2];
        memset(big, 'A', sizeof(big) - 1);
        ag_claims c = AG_INIT(ag_claims);
        ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)big, AG_TOKEN_MAX_LEN + 1,
                                   AG_TEST_SCRATCH(&c), &c),
                         AG_ERR_TOO_LARGE);
    }
}
END_TEST

/* V-02: an HS256 token whose HMAC key is the RSA/EC public key in any
 * encoding, naming the asymmetric key's kid, never verifies. */
START_TEST(key_confusion)
{
    setup_keys();
    ag_test_clock_set(T0);
    ag_key *asym[] = {k_rs, k_es, k_ed};
    for (size_t i = 0; i < 3; i++) {
        char *jwk = NULL;
        ck_assert_int_eq(ag_key_to_jwk(asym[i], false, &jwk), AG_OK);
        unsigned char *der = NULL;
        int der_len = i2d_PUBKEY(asym[i]->pkey, &der);
        ck_assert_int_gt(der_len, 0);
        const uint8_t *secrets[] = {(const uint8_t *)jwk, der, (const uint8_t *)""};
        size_t lens[] = {strlen(jwk), (size_t)der_len, 0};
        for (size_t s = 0; s < 3; s++) {
            /* Forge: HMAC with the public material as the secret. Use a raw
             * HMAC key object so the test can sign; the verifier must still
             * refuse because the kid names an asymmetric key. */
            uint8_t padded[64] = {0};
            size_t take = lens[s] < 64 ? lens[s] : 64;
            if (take > 0)
                memcpy(padded, secrets[s], take);
            ag_key *forger = NULL;
            ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, padded, 64, "forger", &forger),
                             AG_OK);
            char hdr[128], tok[AG_TOKEN_MAX_LEN + 1];
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
                     ag_key_kid(asym[i]));
            mk_token(forger, hdr, P(TIMES), tok, sizeof(tok));
            ck_assert_int_eq(verify_str(v_access, tok), AG_ERR_ALG);
            ag_key_free(forger);
        }
        OPENSSL_free(der);
        ag_free(jwk);
    }
    /* V-01 same family: RS256 key, RS512 / PS256 header */
    char tok[AG_TOKEN_MAX_LEN + 1];
    mk_token(k_rs, "{\"alg\":\"RS512\",\"typ\":\"at+jwt\",\"kid\":\"rs\"}", P(TIMES), tok,
             sizeof(tok));
    ck_assert_int_eq(verify_str(v_access, tok), AG_ERR_ALG);
    mk_token(k_rs, "{\"alg\":\"PS256\",\"typ\":\"at+jwt\",\"kid\":\"rs\"}", P(TIMES), tok,
             sizeof(tok));
    ck_assert_int_eq(verify_str(v_access, tok), AG_ERR_ALG);
    /* a token signed by another key of the same algorithm under our kid */
    ag_key *other = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_ES256, "es", &other), AG_OK);
    mk_token(other, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"es\"}", P(TIMES), tok,
             sizeof(tok));
    ck_assert_int_eq(verify_str(v_access, tok), AG_ERR_SIGNATURE);
    ag_key_free(other);
}
END_TEST

/* V-10: ECDSA r = s = 0 ("psychic signature") and r, s ≥ n fail. */
START_TEST(ecdsa_special_signatures)
{
    setup_keys();
    ag_test_clock_set(T0);
    char tok[AG_TOKEN_MAX_LEN + 1], bad[AG_TOKEN_MAX_LEN + 1];
    mk_token(k_es, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"es\"}", P(TIMES), tok,
             sizeof(tok));
    ck_assert_int_eq(verify_str(v_access, tok), AG_OK);
    const char *dot2 = strrchr(tok, '.');
    size_t m = (size_t)(dot2 - tok + 1);
    uint8_t sig[64];
    size_t w;
    const uint8_t fills[] = {0x00, 0xff};
    for (size_t f = 0; f < 2; f++) {
        memset(sig, fills[f], sizeof(sig));
        memcpy(bad, tok, m);
        ck_assert_int_eq(ag_base64url_encode(sig, 64, bad + m, sizeof(bad) - m, &w), AG_OK);
        ck_assert_int_eq(verify_str(v_access, bad), AG_ERR_SIGNATURE);
    }
    /* high-S form of a valid signature still verifies (docs/security.md 8.8
     * amendment: accept high-S on verify), and we sign low-S */
    uint8_t s[64];
    size_t sl;
    ck_assert_int_eq(ag_base64url_decode((const uint8_t *)dot2 + 1, strlen(dot2 + 1), s, 64, &sl),
                     AG_OK);
    static const uint8_t n256[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                     0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    ck_assert_int_lt(s[32], 0x80); /* low-S: s ≤ n/2 < 2^255 */
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = n256[i] - s[32 + i] - borrow;
        borrow = d < 0;
        s[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    memcpy(bad, tok, m);
    ck_assert_int_eq(ag_base64url_encode(s, 64, bad + m, sizeof(bad) - m, &w), AG_OK);
    ck_assert_int_eq(verify_str(v_access, bad), AG_OK);
}
END_TEST

/* Regression: per-thread signature contexts are per key. A thread that
 * verified with one EdDSA (or ECDSA) key must not verify another key's
 * kid with it: OpenSSL 3.0 keeps the first key of a re-initialised
 * EVP_MD_CTX, which once let key A's token verify under key B's kid. */
START_TEST(contexts_are_per_key)
{
    ag_test_clock_set(T0);
    struct {
        ag_key *a, *b;
        const char *alg;
    } pairs[] = {{k_ed, k_ed2, "EdDSA"}, {k_es, k_es2, "ES256"}};
    for (size_t i = 0; i < 2; i++) {
        char ta[AG_TOKEN_MAX_LEN + 1], tb[AG_TOKEN_MAX_LEN + 1], forged[AG_TOKEN_MAX_LEN + 1];
        char ha[128], hb[128];
        snprintf(ha, sizeof(ha), "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", pairs[i].alg,
                 ag_key_kid(pairs[i].a));
        snprintf(hb, sizeof(hb), "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", pairs[i].alg,
                 ag_key_kid(pairs[i].b));
        mk_token(pairs[i].a, ha, P(TIMES), ta, sizeof(ta));
        mk_token(pairs[i].b, hb, P(TIMES), tb, sizeof(tb));
        mk_token(pairs[i].a, hb, P(TIMES), forged, sizeof(forged)); /* A's signature, B's kid */
        for (int round = 0; round < 3; round++) {
            ck_assert_int_eq(verify_str(v_access, ta), AG_OK);
            ck_assert_int_eq(verify_str(v_access, forged), AG_ERR_SIGNATURE);
            ck_assert_int_eq(verify_str(v_access, tb), AG_OK);
            ck_assert_int_eq(verify_str(v_access, forged), AG_ERR_SIGNATURE);
        }
    }
}
END_TEST

/* The direct payload writer (no custom claims) escapes like a JSON encoder
 * must: every awkward string comes back unchanged through jansson and
 * through our own verifier, and non-UTF-8 is refused. */
START_TEST(payload_writer_escapes)
{
    ag_test_clock_set(T0);
    static const char *const subs[] = {"plain",
                                       "quote\"q",
                                       "back\\slash",
                                       "new\nline\ttab\r",
                                       "\x01\x1f\x7f ctl",
                                       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                       "</script>",
                                       "\\u0000 literal"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        ag_issuer_config ic = AG_INIT(ag_issuer_config);
        ic.key = k_hs;
        ic.kind = AG_TOKEN_REFRESH;
        ic.issuer = "iss \"x\"";
        ic.audience = AUD;
        ic.ttl = 60;
        ic.clock = ag_test_clock;
        ag_issuer *is = NULL;
        ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
        ag_issue_params p = AG_INIT(ag_issue_params);
        p.sub = subs[i];
        p.sid = subs[i];
        char tok[AG_TOKEN_MAX_LEN + 1];
        ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_OK);
        uint8_t hdr[256], pl[1024];
        size_t hl, plen;
        ck_assert_int_eq(ag_token_decode_unverified((const uint8_t *)tok, strlen(tok), hdr,
                                                    sizeof(hdr), &hl, pl, sizeof(pl), &plen),
                         AG_OK);
        json_error_t e;
        json_t *o = json_loadb((const char *)pl, plen, JSON_REJECT_DUPLICATES, &e);
        ck_assert_msg(o != NULL, "payload not JSON: %s", e.text);
        ck_assert_str_eq(json_string_value(json_object_get(o, "sub")), subs[i]);
        ck_assert_str_eq(json_string_value(json_object_get(o, "sid")), subs[i]);
        ck_assert_str_eq(json_string_value(json_object_get(o, "iss")), "iss \"x\"");
        ck_assert_int_eq(json_integer_value(json_object_get(o, "exp")), T0 + 60);
        ck_assert_int_eq((int)json_object_size(o), 7);
        json_decref(o);
        ag_issuer_free(is);
    }
    /* not UTF-8: refused, for sub and for sid */
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = k_hs;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 60;
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    static const char *const bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x82",
                                      "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ag_issue_params p = AG_INIT(ag_issue_params);
        char tok[AG_TOKEN_MAX_LEN + 1];
        p.sub = bad[i];
        ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
        p.sub = "ok";
        p.sid = bad[i];
        ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    }
    ag_issuer_free(is);
}
END_TEST

/* EdDSA: whichever backend the build uses (libsodium when found) gives
 * OpenSSL's verdict on valid signatures, every single-bit change, S + L
 * (non-canonical), all-zero and all-ones signatures, and the RFC 8037
 * A.4 example. */
START_TEST(eddsa_backends_agree)
{
    static const uint8_t L[32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10}; /* the group order,
                                                                        little-endian */
    uint8_t msg[100], sig[64], bad[64];
    size_t sl;
    int agree = 0;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof(msg); i++)
            msg[i] = (uint8_t)(i * 7 + round);
        ck_assert_int_eq(ag__sign(k_ed, msg, sizeof(msg), sig, sizeof(sig), &sl), AG_OK);
        ck_assert_int_eq(ag__verify_sig(k_ed, msg, sizeof(msg), sig, 64), AG_OK);
        ck_assert_int_eq(ag__verify_ed25519_openssl(k_ed, msg, sizeof(msg), sig, 64), AG_OK);
        ck_assert_int_eq(ag__verify_sig(k_ed2, msg, sizeof(msg), sig, 64), AG_ERR_SIGNATURE);
        for (int bit = round; bit < 512; bit += 20) {
            memcpy(bad, sig, 64);
            bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            ag_err a = ag__verify_sig(k_ed, msg, sizeof(msg), bad, 64);
            ag_err b = ag__verify_ed25519_openssl(k_ed, msg, sizeof(msg), bad, 64);
            ck_assert_int_eq(a, b);
            agree++;
        }
        /* S + L: the same signature in a non-canonical spelling */
        memcpy(bad, sig, 64);
        unsigned carry = 0;
        for (int i = 0; i < 32; i++) {
            unsigned v = bad[32 + i] + L[i] + carry;
            bad[32 + i] = (uint8_t)v;
            carry = v >> 8;
        }
        ck_assert_int_eq(ag__verify_sig(k_ed, msg, sizeof(msg), bad, 64), AG_ERR_SIGNATURE);
        ck_assert_int_eq(ag__verify_ed25519_openssl(k_ed, msg, sizeof(msg), bad, 64),
                         AG_ERR_SIGNATURE);
    }
    memset(bad, 0, 64);
    ck_assert_int_eq(ag__verify_sig(k_ed, msg, sizeof(msg), bad, 64), AG_ERR_SIGNATURE);
    memset(bad, 0xff, 64);
    ck_assert_int_eq(ag__verify_sig(k_ed, msg, sizeof(msg), bad, 64), AG_ERR_SIGNATURE);
    ck_assert_int_gt(agree, 400);

    /* RFC 8037 Appendix A.4 */
    static const char jwk[] =
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"kid\":\"rfc8037\","
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
    static const char jws[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
                              "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVs"
                              "Pt9g7sVvpAr_MuM0KAg";
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_jwk(jwk, sizeof(jwk) - 1, 0, &k, NULL, 0), AG_OK);
    const char *d2 = strrchr(jws, '.');
    uint8_t s8037[64];
    ck_assert_int_eq(ag_base64url_decode((const uint8_t *)d2 + 1, strlen(d2 + 1), s8037, 64, &sl),
                     AG_OK);
    size_t in_len = (size_t)(d2 - jws);
    ck_assert_int_eq(ag__verify_sig(k, (const uint8_t *)jws, in_len, s8037, 64), AG_OK);
    ck_assert_int_eq(ag__verify_ed25519_openssl(k, (const uint8_t *)jws, in_len, s8037, 64), AG_OK);
    s8037[0] ^= 1;
    ck_assert_int_eq(ag__verify_sig(k, (const uint8_t *)jws, in_len, s8037, 64), AG_ERR_SIGNATURE);
    ag_key_free(k);
}
END_TEST

/* The opt-in verified-token cache: a hit skips only the signature; the
 * claims and times are checked again on every call, a changed byte misses,
 * and a hit allocates nothing even for ES256. */
START_TEST(verified_token_cache)
{
    ag_test_clock_set(T0);
    ag_verifier *v = NULL;
    ag_verifier_config c = AG_INIT(ag_verifier_config);
    c.keys = ring;
    c.kind = AG_TOKEN_ACCESS;
    c.issuer = ISS;
    c.audience = AUD;
    c.leeway = 0;
    c.clock = ag_test_clock;
    c.cache_entries = 64;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_OK);
    ag_key *keys[] = {k_es, k_ed, k_hs};
    for (size_t k = 0; k < 3; k++) {
        char tok[AG_TOKEN_MAX_LEN + 1];
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(issue(keys[k], AG_TOKEN_ACCESS, "fam", tok, sizeof(tok), &info), AG_OK);
        static ag_claims a = AG_INIT(ag_claims), b = AG_INIT(ag_claims);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&a), &a),
                         AG_OK); /* miss */
        ag_test_alloc_reset();
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_OK); /* hit */
        if (keys[k] != k_hs)
            ck_assert_int_eq(ag_test_alloc_count(), 0);
        ck_assert_int_eq(a.alg, b.alg);
        ck_assert(ag__span_eq_str(b.sub, "alice") && ag__span_eq_str(b.sid, "fam"));
        ck_assert(b.kid.len == a.kid.len && memcmp(b.kid.ptr, a.kid.ptr, a.kid.len) == 0);
        ck_assert(ag__span_eq_str(b.jti, info.jti));
        ck_assert_int_eq(b.exp, a.exp);
        /* a cached token still expires on time (V-15) */
        ag_test_clock_set(info.exp);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_ERR_EXPIRED);
        ag_test_clock_set(T0);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_OK);
        /* one changed byte is another token: a miss, and a bad signature */
        tok[info.len - 2] = tok[info.len - 2] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_ERR_SIGNATURE);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_ERR_SIGNATURE);
    }
    /* a verifier for refresh tokens with its own cache: kind is re-checked */
    char tok[AG_TOKEN_MAX_LEN + 1];
    ck_assert_int_eq(issue(k_es, AG_TOKEN_REFRESH, "s", tok, sizeof(tok), NULL), AG_OK);
    static ag_claims r = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&r), &r),
                     AG_ERR_WRONG_TYPE);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&r), &r),
                     AG_ERR_WRONG_TYPE);
    ag_verifier_free(v);
}
END_TEST

/* jtis come from a per-thread pool of CSPRNG bytes: all distinct, and a
 * forked child never hands out the bytes its parent will (I-02). */
START_TEST(jti_pool_distinct_and_fork_safe)
{
    ag_test_clock_set(T0);
    char tok[AG_TOKEN_MAX_LEN + 1];
    static char seen[200][AG_JTI_LEN + 1];
    for (int i = 0; i < 200; i++) { /* crosses several pool refills */
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(issue(k_hs, AG_TOKEN_ACCESS, NULL, tok, sizeof(tok), &info), AG_OK);
        memcpy(seen[i], info.jti, sizeof(seen[i]));
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
    }
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ag_issued info = AG_INIT(ag_issued);
        ssize_t w = -1;
        if (issue(k_hs, AG_TOKEN_ACCESS, NULL, tok, sizeof(tok), &info) == AG_OK)
            w = write(fds[1], info.jti, AG_JTI_LEN);
        _exit(w == AG_JTI_LEN ? 0 : 1);
    }
    char child_jti[AG_JTI_LEN + 1] = {0};
    ck_assert_int_eq((int)read(fds[0], child_jti, AG_JTI_LEN), AG_JTI_LEN);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ag_issued mine = AG_INIT(ag_issued);
    ck_assert_int_eq(issue(k_hs, AG_TOKEN_ACCESS, NULL, tok, sizeof(tok), &mine), AG_OK);
    ck_assert_str_ne(child_jti, mine.jti);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

START_TEST(time_edges)
{
    setup_keys();
    char tok[AG_TOKEN_MAX_LEN + 1];
    mk_token(k_hs, H(""), P(",\"exp\":1700000600,\"iat\":1700000000,\"nbf\":1700000100"), tok,
             sizeof(tok));
    ag_test_clock_set(T0 + 600 + 29);
    ck_assert_int_eq(verify_str(v_access, tok), AG_OK); /* within leeway */
    ag_test_clock_set(T0 + 600 + 30);
    ck_assert_int_eq(verify_str(v_access, tok), AG_ERR_EXPIRED);
    ag_test_clock_set(T0 + 100 - 30);
    ck_assert_int_eq(verify_str(v_access, tok), AG_OK);
    ag_test_clock_set(T0 + 100 - 31);
    ck_assert_int_eq(verify_str(v_access, tok), AG_ERR_NOT_YET_VALID);
    ag_test_clock_set(T0);
}
END_TEST

/* Registered string claims come back decoded: escaped ones through the
 * decoder, plain ones as views on the payload (V-06, V-13). */
START_TEST(escaped_claims_decoded)
{
    setup_keys();
    ag_test_clock_set(T0);
    static char tok[2048];
    static char body[512];
    snprintf(body, sizeof(body),
             "{\"iss\":\"https:\\/\\/issuer.example\",\"sub\":\"al\\u0069ce \\\"A\\\"\","
             "\"aud\":\"" AUD "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\\n1\"}",
             (long long)(T0 + 600), (long long)T0);
    size_t n = mk_token(k_hs, "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}", body, tok,
                        sizeof(tok));
    static ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c), AG_OK);
    ck_assert_uint_eq(c.iss.len, strlen(ISS));
    ck_assert(memcmp(c.iss.ptr, ISS, c.iss.len) == 0);
    ck_assert_uint_eq(c.sub.len, 9);
    ck_assert(memcmp(c.sub.ptr, "alice \"A\"", 9) == 0);
    ck_assert_uint_eq(c.jti.len, 3);
    ck_assert(memcmp(c.jti.ptr, "j\n1", 3) == 0);
    ck_assert_uint_eq(c.aud.len, strlen(AUD));
    ck_assert(memcmp(c.aud.ptr, AUD, c.aud.len) == 0);
}
END_TEST

START_TEST(custom_claims)
{
    setup_keys();
    ag_test_clock_set(T0);
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = k_es;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 300;
    ic.clock = ag_test_clock;
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    ag_custom_claim cc[4] = {{"role", AG_CLAIM_STRING, "admin \"x\" \xc3\xa9", 0, false},
                             {"n", AG_CLAIM_INT, NULL, -42, false},
                             {"ok", AG_CLAIM_BOOL, NULL, 0, true},
                             {"obj", AG_CLAIM_JSON, "{\"a\":[1,2]}", 0, false}};
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = "bob";
    p.claims = cc;
    p.nclaims = 4;
    char tok[AG_TOKEN_MAX_LEN + 1];
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_OK);
    ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(
        ag_verify(v_access, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&c), &c), AG_OK);
    char buf[64];
    size_t len;
    ck_assert_int_eq(ag_claims_get_string(&c, "role", buf, sizeof(buf), &len), AG_OK);
    ck_assert_str_eq(buf, "admin \"x\" \xc3\xa9");
    ck_assert_int_eq(ag_claims_get_string(&c, "role", buf, 4, &len), AG_ERR_BUFFER);
    int64_t i;
    ck_assert_int_eq(ag_claims_get_int(&c, "n", &i), AG_OK);
    ck_assert_int_eq(i, -42);
    bool b;
    ck_assert_int_eq(ag_claims_get_bool(&c, "ok", &b), AG_OK);
    ck_assert(b);
    ag_span js;
    ck_assert_int_eq(ag_claims_get_json(&c, "obj", &js), AG_OK);
    ck_assert_int_eq((int)js.len, 11);
    ck_assert(memcmp(js.ptr, "{\"a\":[1,2]}", 11) == 0);
    ck_assert_int_eq(ag_claims_get_json(&c, "role", &js), AG_OK);
    ck_assert_int_eq(js.ptr[0], '"');
    ck_assert_int_eq(ag_claims_get_int(&c, "missing", &i), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(ag_claims_get_int(&c, "role", &i), AG_ERR_CLAIM);
    ck_assert_int_eq(ag_claims_get_bool(&c, "n", &b), AG_ERR_CLAIM);

    /* registered, duplicate, invalid custom claims are refused */
    ag_custom_claim bad1 = {"exp", AG_CLAIM_INT, NULL, 1, false};
    ag_custom_claim bad2[2] = {{"x", AG_CLAIM_INT, NULL, 1, false},
                               {"x", AG_CLAIM_INT, NULL, 2, false}};
    ag_custom_claim bad3 = {"j", AG_CLAIM_JSON, "{\"a\":1,\"a\":2}", 0, false};
    ag_custom_claim bad4 = {"s", AG_CLAIM_STRING, "\xc3\x28", 0, false};
    p.claims = &bad1;
    p.nclaims = 1;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    p.claims = bad2;
    p.nclaims = 2;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    p.claims = &bad3;
    p.nclaims = 1;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    p.claims = &bad4;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    /* too small a buffer, too large a token */
    p.claims = NULL;
    p.nclaims = 0;
    ck_assert_int_eq(ag_issue(is, &p, tok, 100, NULL), AG_ERR_BUFFER);
    static char huge[7000];
    memset(huge, 'x', sizeof(huge) - 1);
    ag_custom_claim big = {"big", AG_CLAIM_STRING, huge, 0, false};
    p.claims = &big;
    p.nclaims = 1;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_TOO_LARGE);
    /* a given jti is used as is; a bad one refused */
    p.claims = NULL;
    p.nclaims = 0;
    p.jti = "abc_DEF-123";
    ag_issued info = AG_INIT(ag_issued);
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), &info), AG_OK);
    ck_assert_str_eq(info.jti, "abc_DEF-123");
    p.jti = "a.b";
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    ag_issuer_free(is);
}
END_TEST

START_TEST(config_errors)
{
    setup_keys();
    ag_verifier *v = NULL;
    ag_verifier_config c = AG_INIT(ag_verifier_config);
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT);
    c.keys = ring;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT); /* no kind */
    c.kind = AG_TOKEN_ACCESS;
    c.leeway = AG_LEEWAY_MAX + 1;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT);
    c.leeway = 0;
    c.max_token_len = AG_TOKEN_MAX_LEN + 1;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT);
    c.max_token_len = 0;
    c.issuer = "";
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT);
    /* the ring is frozen by the verifiers made in setup */
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS256, "late", &k), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, k), AG_ERR_STATE);
    ag_key_free(k);
    /* an issuer needs a private key */
    char *jwk = NULL;
    ck_assert_int_eq(ag_key_to_jwk(k_es, false, &jwk), AG_OK);
    ag_key *pub = NULL;
    ck_assert_int_eq(ag_key_from_jwk(jwk, strlen(jwk), 0, &pub, NULL, 0), AG_OK);
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = pub;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 60;
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_STATE);
    ic.key = k_es;
    ic.ttl = 0;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_INVALID_ARGUMENT);
    /* iss/aud must be UTF-8: refused up front, not as "out of memory" later */
    ic.ttl = 60;
    ic.issuer = "\xc0\xaf";
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_INVALID_ARGUMENT);
    ic.issuer = ISS;
    ic.audience = "\xff";
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_INVALID_ARGUMENT);
    /* a custom claim name that is not UTF-8 (and no leak on that path) */
    ic.audience = AUD;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    ag_custom_claim cc = {"\xc3\x28", AG_CLAIM_INT, NULL, 1, false};
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = "a";
    p.claims = &cc;
    p.nclaims = 1;
    char tok[AG_TOKEN_MAX_LEN + 1];
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    p.nclaims = 0;
    p.sub = "\xc3\x28";
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    ag_issuer_free(is);
    ag_key_free(pub);
    ag_free(jwk);
    ag_verifier_free(NULL);
    ag_issuer_free(NULL);
}
END_TEST

/* The scratch contract: AG_VERIFY_SCRATCH_LEN(len) suffices exactly (the
 * buffer ends at a PROT_NONE page), one byte less is AG_ERR_BUFFER before
 * any byte is written, the size cap comes first, and the claims point into
 * the scratch, not into the token. */
START_TEST(verify_scratch_contract)
{
    setup_keys();
    ag_test_clock_set(T0);
    char payload[512], tok[2048];
    /* escaped strings take the scratch's string room, not views */
    snprintf(payload, sizeof payload,
             "{\"iss\":\"" ISS "\",\"sub\":\"\\u0061lice\",\"aud\":\"" AUD
             "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\\u0031\"}",
             (long long)(T0 + 600), (long long)T0);
    size_t n = mk_token(k_hs, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", payload, tok,
                        sizeof tok);
    size_t need = AG_VERIFY_SCRATCH_LEN(n);
    ck_assert_uint_le(need, AG_VERIFY_SCRATCH_MAX);
    uint8_t *fill = malloc(need);
    ck_assert_ptr_nonnull(fill);
    memset(fill, 0xa5, need);
    ag_test_guard g = {0};
    uint8_t *scr = ag_test_guard_place(&g, fill, need);
    ck_assert_ptr_nonnull(scr);
    ag_claims c = AG_INIT(ag_claims);

    /* one byte short: refused before anything is written */
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, n, scr + 1, need - 1, &c),
                     AG_ERR_BUFFER);
    ck_assert_int_eq(memcmp(scr, fill, need), 0);
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, n, NULL, need, &c),
                     AG_ERR_INVALID_ARGUMENT);
    /* the size cap before the scratch */
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, AG_TOKEN_MAX_LEN + 1, scr, 1, &c),
                     AG_ERR_TOO_LARGE);

    /* exactly enough: verifies, and the claims live in the scratch */
    char copy[2048];
    memcpy(copy, tok, n);
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)copy, n, scr, need, &c), AG_OK);
    memset(copy, 0, sizeof copy);
    ck_assert_uint_eq(c.sub.len, 5);
    ck_assert_int_eq(memcmp(c.sub.ptr, "alice", 5), 0);
    ck_assert_int_eq(memcmp(c.jti.ptr, "j1", 2), 0);
    ck_assert(c.sub.ptr >= scr && c.sub.ptr + c.sub.len <= scr + need);
    ck_assert(c.iss.ptr >= scr && c.iss.ptr + c.iss.len <= scr + need);
    ag_span pl = ag_claims_payload(&c);
    ck_assert(pl.ptr >= scr && pl.ptr + pl.len <= scr + need);
    ck_assert_uint_eq(pl.len, strlen(payload));
    ag_test_guard_release(&g);
    free(fill);
}
END_TEST

/* The HS256 verify path allocates nothing, not even in OpenSSL (docs/tokens.md). */
START_TEST(hs256_verify_allocates_nothing)
{
    setup_keys();
    ag_test_clock_set(T0);
    char tok[AG_TOKEN_MAX_LEN + 1];
    ag_issued info = AG_INIT(ag_issued);
    ck_assert_int_eq(issue(k_hs, AG_TOKEN_ACCESS, "s", tok, sizeof(tok), &info), AG_OK);
    static ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c),
                     AG_OK); /* warm */
    ag_test_alloc_reset();
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(
            ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c), AG_OK);
    tok[info.len - 2] ^= 1; /* the failure path too */
    for (int i = 0; i < 100; i++)
        ck_assert_int_ne(
            ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c), AG_OK);
    ck_assert_int_eq(ag_test_alloc_count(), 0);
    /* the hooks really count: issuing allocates (jansson) */
    ag_test_alloc_reset();
    ck_assert_int_eq(issue(k_hs, AG_TOKEN_ACCESS, "s", tok, sizeof(tok), &info), AG_OK);
    ck_assert_int_gt(ag_test_alloc_count(), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jws");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, roundtrip_every_alg);
    tcase_add_test(tc, refresh_requires_sid);
    tcase_add_test(tc, every_byte_flipped);
    tcase_add_loop_test(tc, adversarial_table, 0, (int)(sizeof(table) / sizeof(table[0])));
    tcase_add_test(tc, shape_attacks);
    tcase_add_test(tc, key_confusion);
    tcase_add_test(tc, ecdsa_special_signatures);
    tcase_add_test(tc, contexts_are_per_key);
    tcase_add_test(tc, payload_writer_escapes);
    tcase_add_test(tc, eddsa_backends_agree);
    tcase_add_test(tc, verified_token_cache);
    tcase_add_test(tc, jti_pool_distinct_and_fork_safe);
    tcase_add_test(tc, time_edges);
    tcase_add_test(tc, escaped_claims_decoded);
    tcase_add_test(tc, custom_claims);
    tcase_add_test(tc, config_errors);
    tcase_add_test(tc, hs256_verify_allocates_nothing);
    tcase_add_test(tc, verify_scratch_contract);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ag_test_alloc_hooks_install();
    setup_keys(); /* once, before Check forks per test: RSA generation is slow */
    return ag_test_run(suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * The verdicts of lib/token/jws.c's verify pipeline: the V-rule adversarial
 * table, token-shape attacks, key confusion, special ECDSA signatures and
 * the time edges with leeway. Rule IDs refer to docs/security.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authgate/token.h"
#include "jws_fixture.h"
#include "testsupport.h"
#include "token/token_int.h"

/* ---- the adversarial table ----------------------------------------------- */

typedef struct row {
    const char *rule;
    const char *hdr;     /* NULL → the standard HS256 access header */
    const char *payload; /* NULL → a valid payload; "%E" placeholders not used */
    ag_err want;
} row;

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

static Suite *suite(void)
{
    Suite *s = suite_create("jws_rules");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, adversarial_table, 0, (int)(sizeof(table) / sizeof(table[0])));
    tcase_add_test(tc, shape_attacks);
    tcase_add_test(tc, key_confusion);
    tcase_add_test(tc, ecdsa_special_signatures);
    tcase_add_test(tc, time_edges);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return jws_test_main(suite);
}

/* SPDX-License-Identifier: MIT */
/*
 * Tests for lib/token/jwk.c: strict JWK/JWKS import (RFC 7517, 7518 §6,
 * 8037), algorithm binding (V-01, V-02; libjwt GHSA-q843-6q5f-w55g),
 * kid rules (V-08), strict JSON (V-06), weak keys (V-17), exports that
 * never leak private members, and RFC 7638 thumbprints.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>

#include "testsupport.h"
#include "token/token_int.h"

/* Fixtures made once in main(); the forked tests inherit them. */
static char *rsa_priv;  /* RS256, 2048-bit, with CRT */
static char *rsa2_priv; /* another 2048-bit key */
static char *p256_priv; /* ES256 */
static char *p384_priv; /* ES384 */
static char *ed_priv;   /* EdDSA */
static char *oct_priv;  /* HS256 */
static EVP_PKEY *secp256k1, *p521, *x25519, *ed448;
static char why[256];

/* RFC 7517 A.1 / RFC 7638 §3.1 example key and its thumbprint. */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC"
    "PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvz"
    "qY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu"
    "0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

/* ---- helpers ------------------------------------------------------ */

static json_t *parse_any(const char *s);

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);
    ck_assert_msg(j != NULL, "%s", e.text);
    return j;
}

static ag_err import_json(json_t *o, ag_alg def, ag_key **out)
{
    char *s = json_dumps(o, JSON_COMPACT);
    ck_assert_ptr_nonnull(s);
    why[0] = '\0';
    ag_err e = ag_key_from_jwk(s, strlen(s), def, out, why, sizeof(why));
    free(s);
    return e;
}

/* Imports and frees; returns the verdict. */
static ag_err verdict(json_t *o, ag_alg def)
{
    ag_key *k = NULL;
    ag_err e = import_json(o, def, &k);
    if (e != AG_OK)
        ck_assert_ptr_null(k);
    else
        ck_assert_ptr_nonnull(k);
    ag_key_free(k);
    return e;
}

static ag_err verdict_str(const char *s, size_t len, ag_alg def)
{
    ag_key *k = NULL;
    why[0] = '\0';
    ag_err e = ag_key_from_jwk(s, len, def, &k, why, sizeof(why));
    ag_key_free(k);
    return e;
}

/* A copy of a fixture with members changed: pairs of (name, value) where
 * value NULL deletes the member and a value starting with '#' is raw JSON. */
static json_t *mutate(const char *base, const char *const *kv, size_t n)
{
    json_t *o = parse(base);
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (kv[i + 1] == NULL)
            json_object_del(o, kv[i]);
        else if (kv[i + 1][0] == '#')
            json_object_set_new(o, kv[i], parse_any(kv[i + 1] + 1));
        else
            json_object_set_new(o, kv[i], json_string(kv[i + 1]));
    }
    return o;
}
#define MUT(base, ...)                                                                             \
    mutate(base, (const char *const[]){__VA_ARGS__},                                               \
           sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static char *b64(const uint8_t *p, size_t n)
{
    size_t cap = AG_B64URL_ENCODED_LEN(n) + 1, len;
    char *t = malloc(cap);
    ck_assert_int_eq(ag_base64url_encode(p, n, t, cap, &len), AG_OK);
    return t;
}

static char *b64_bn(const EVP_PKEY *pk, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, param, &bn), 1);
    uint8_t buf[128];
    ck_assert_int_eq(BN_bn2binpad(bn, buf, (int)pad), (int)pad);
    BN_free(bn);
    return b64(buf, pad);
}

/* A public EC JWK for any curve (the test's own encoder). */
static json_t *ec_public_jwk(const EVP_PKEY *pk, const char *crv, const char *alg)
{
    size_t flen = ((size_t)EVP_PKEY_get_bits(pk) + 7) / 8;
    char *x = b64_bn(pk, OSSL_PKEY_PARAM_EC_PUB_X, flen);
    char *y = b64_bn(pk, OSSL_PKEY_PARAM_EC_PUB_Y, flen);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", crv, "x", x, "y", y,
                          "kid", "k", "alg", alg);
    free(x);
    free(y);
    return o;
}

static json_t *okp_public_jwk(const EVP_PKEY *pk, const char *crv)
{
    uint8_t raw[64];
    size_t n = sizeof(raw);
    ck_assert_int_eq(EVP_PKEY_get_raw_public_key(pk, raw, &n), 1);
    char *x = b64(raw, n);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "OKP", "crv", crv, "x", x, "kid", "k",
                          "alg", "EdDSA");
    free(x);
    return o;
}

static json_t *parse_any(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    ck_assert_msg(j != NULL, "%s", e.text);
    return j;
}

static char *public_of(const char *priv)
{
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_jwk(priv, strlen(priv), 0, &k, NULL, 0), AG_OK);
    char *pub = NULL;
    ck_assert_int_eq(ag_key_to_jwk(k, false, &pub), AG_OK);
    ag_key_free(k);
    return pub;
}

/* ---- algorithm binding (V-01, V-02) -------------------------------- */

static const char *const alg_names[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                                        "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"};

/* Every kty against every alg, through "alg" and through default_alg:
 * only the fitting pairs import; an RSA or EC JWK never becomes HMAC. */
START_TEST(test_kty_alg_matrix_V02)
{
    char *rsa_pub = public_of(rsa_priv);
    uint8_t raw[64];
    memset(raw, 0x5a, sizeof(raw));
    char *k64 = b64(raw, sizeof(raw));
    json_t *oj = MUT(oct_priv, "k", k64);
    char *oct64 = json_dumps(oj, JSON_COMPACT); /* long enough for every HS alg */
    json_decref(oj);
    free(k64);
    struct {
        const char *jwk;
        int lo, hi; /* fitting alg range */
    } fx[] = {{oct64, AG_ALG_HS256, AG_ALG_HS512},     {rsa_priv, AG_ALG_RS256, AG_ALG_PS512},
              {rsa_pub, AG_ALG_RS256, AG_ALG_PS512},   {p256_priv, AG_ALG_ES256, AG_ALG_ES256},
              {p384_priv, AG_ALG_ES384, AG_ALG_ES384}, {ed_priv, AG_ALG_EDDSA, AG_ALG_EDDSA}};
    for (size_t f = 0; f < AG__ARRAY_LEN(fx); f++) {
        for (int a = AG_ALG_HS256; a <= AG_ALG_EDDSA; a++) {
            bool fits = a >= fx[f].lo && a <= fx[f].hi;
            /* "alg" in the JWK */
            json_t *o = MUT(fx[f].jwk, "alg", alg_names[a - 1]);
            ag_err e = verdict(o, 0);
            ck_assert_msg(e == (fits ? AG_OK : AG_ERR_ALG), "fixture %zu alg %s: %s (%s)", f,
                          alg_names[a - 1], ag_err_name(e), why);
            json_decref(o);
            /* no "alg", the caller's default */
            o = MUT(fx[f].jwk, "alg", NULL);
            e = verdict(o, (ag_alg)a);
            ck_assert_msg(e == (fits ? AG_OK : AG_ERR_ALG), "fixture %zu default %s: %s", f,
                          alg_names[a - 1], ag_err_name(e));
            json_decref(o);
        }
    }
    free(rsa_pub);
    free(oct64);
}
END_TEST

/* libjwt GHSA-q843-6q5f-w55g: a JWK without "alg" and no default is
 * refused, never guessed. */
START_TEST(test_no_alg_no_default_refused_V02)
{
    char *rsa_pub = public_of(rsa_priv);
    const char *fx[] = {oct_priv, rsa_pub, p256_priv, ed_priv};
    for (size_t i = 0; i < AG__ARRAY_LEN(fx); i++) {
        json_t *o = MUT(fx[i], "alg", NULL);
        ck_assert_int_eq(verdict(o, 0), AG_ERR_ALG);
        ck_assert_ptr_nonnull(strstr(why, "guess"));
        json_decref(o);
    }
    free(rsa_pub);
}
END_TEST

START_TEST(test_alg_names_and_default_V01)
{
    static const char *const bad[] = {"none",    "None",   "NONE",   "nOnE",    "hs256",
                                      "HS256 ",  "",       "ES521",  "ES224",   "RSA1_5",
                                      "A256GCM", "A256KW", "ES256K", "Ed25519", "HS1"};
    for (size_t i = 0; i < AG__ARRAY_LEN(bad); i++) {
        json_t *o = MUT(oct_priv, "alg", bad[i]);
        ck_assert_msg(verdict(o, 0) == AG_ERR_ALG, "%s", bad[i]);
        ck_assert_msg(verdict(o, AG_ALG_HS256) == AG_ERR_ALG, "%s", bad[i]);
        json_decref(o);
    }
    /* "alg" and default_alg must agree, even within one family (V-01) */
    json_t *o = parse(rsa_priv);
    ck_assert_int_eq(verdict(o, AG_ALG_RS256), AG_OK);
    ck_assert_int_eq(verdict(o, AG_ALG_RS512), AG_ERR_ALG);
    ck_assert_int_eq(verdict(o, AG_ALG_PS256), AG_ERR_ALG);
    ck_assert_int_eq(verdict(o, (ag_alg)99), AG_ERR_ALG);
    ck_assert_int_eq(verdict(o, (ag_alg)-1), AG_ERR_ALG);
    json_decref(o);
    o = MUT(oct_priv, "alg", "#1");
    ck_assert_int_eq(verdict(o, 0), AG_ERR_KEY_FORMAT);
    json_decref(o);
    o = MUT(oct_priv, "alg", "#[\"HS256\"]");
    ck_assert_int_eq(verdict(o, 0), AG_ERR_KEY_FORMAT);
    json_decref(o);
}
END_TEST

/* ---- kid, use, key_ops --------------------------------------------- */

START_TEST(test_kid_required_and_bounded_V08)
{
    char k128[AG_KID_MAX_LEN + 2];
    memset(k128, 'k', sizeof(k128));
    k128[AG_KID_MAX_LEN] = '\0';
    json_t *o = MUT(oct_priv, "kid", k128);
    ck_assert_int_eq(verdict(o, 0), AG_OK);
    json_decref(o);
    k128[AG_KID_MAX_LEN] = 'k';
    k128[AG_KID_MAX_LEN + 1] = '\0';
    static const char *const nul_kid = "#\"a\\u0000b\"";
    const char *bad[] = {NULL,          "",   k128,    "a b",      "tab\there", "nl\n", "\x7f",
                         "caf\xc3\xa9", "#1", "#null", "#[\"a\"]", nul_kid};
    for (size_t i = 0; i < AG__ARRAY_LEN(bad); i++) {
        if (bad[i] == nul_kid) {
            /* jansson refuses \u0000 outright: still KEY_FORMAT */
            static const char s[] =
                "{\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":\"a\\u0000b\",\"k\":"
                "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}";
            ck_assert_int_eq(verdict_str(s, sizeof(s) - 1, 0), AG_ERR_KEY_FORMAT);
            continue;
        }
        o = MUT(oct_priv, "kid", bad[i]);
        ck_assert_msg(verdict(o, 0) == AG_ERR_KEY_FORMAT, "kid #%zu", i);
        json_decref(o);
    }
    /* a kid that looks like a path is only a string, never opened */
    o = MUT(oct_priv, "kid", "../../dev/null");
    ag_key *k = NULL;
    ck_assert_int_eq(import_json(o, 0, &k), AG_OK);
    ck_assert_str_eq(ag_key_kid(k), "../../dev/null");
    ag_key_free(k);
    json_decref(o);
}
END_TEST

START_TEST(test_use_and_key_ops)
{
    static const struct {
        const char *use, *ops;
        ag_err want;
    } t[] = {
        {"sig", NULL, AG_OK},
        {"enc", NULL, AG_ERR_KEY_FORMAT},
        {"SIG", NULL, AG_ERR_KEY_FORMAT},
        {"#1", NULL, AG_ERR_KEY_FORMAT},
        {NULL, "#[\"verify\"]", AG_OK},
        {NULL, "#[\"sign\"]", AG_OK},
        {NULL, "#[\"sign\",\"verify\"]", AG_OK},
        {"sig", "#[\"verify\"]", AG_OK},
        {NULL, "#[\"encrypt\"]", AG_ERR_KEY_FORMAT},
        {NULL, "#[\"encrypt\",\"decrypt\"]", AG_ERR_KEY_FORMAT},
        {NULL, "#[]", AG_ERR_KEY_FORMAT},
        {NULL, "#\"verify\"", AG_ERR_KEY_FORMAT},
        {NULL, "#[1]", AG_ERR_KEY_FORMAT},
        {NULL, "#[\"verify\",\"verify\"]", AG_ERR_KEY_FORMAT},
        {NULL, "#[\"sign, verify\"]", AG_ERR_KEY_FORMAT}, /* one string, not two */
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(t); i++) {
        json_t *o = MUT(p256_priv, "use", t[i].use, "key_ops", t[i].ops);
        ag_err e = verdict(o, 0);
        ck_assert_msg(e == t[i].want, "case %zu: %s (%s)", i, ag_err_name(e), why);
        json_decref(o);
    }
}
END_TEST

/* ---- strict JSON (V-06) -------------------------------------------- */

START_TEST(test_strict_json_V06)
{
    static const char *const bad[] = {
        "",
        "[]",
        "\"x\"",
        "{\"kty\":\"oct\",\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":\"a\","
        "\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
        "{\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":\"a\","
        "\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"} x",
        "{\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":\"a\","
        "\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}{}",
        "\xef\xbb\xbf{\"kty\":\"oct\"}",
        "{\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":\"\xc0\xaf\","
        "\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
        "{'kty':'oct'}",
        "{\"kty\":\"oct\",}",
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(bad); i++)
        ck_assert_msg(verdict_str(bad[i], strlen(bad[i]), 0) == AG_ERR_KEY_FORMAT, "case %zu", i);
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_jwk(NULL, 0, 0, &k, why, sizeof(why)), AG_ERR_KEY_FORMAT);
    ck_assert_int_eq(ag_key_from_jwk(oct_priv, strlen(oct_priv), 0, NULL, NULL, 0),
                     AG_ERR_INVALID_ARGUMENT);

    /* not NUL-terminated: only len bytes are read */
    size_t n = strlen(oct_priv);
    char *buf = malloc(n + 8);
    memcpy(buf, oct_priv, n);
    memcpy(buf + n, "garbage!", 8);
    ck_assert_int_eq(ag_key_from_jwk(buf, n, 0, &k, NULL, 0), AG_OK);
    ag_key_free(k);
    k = NULL;
    /* a NUL inside the text is data, and not JSON */
    char *nul = malloc(n + 1);
    memcpy(nul, oct_priv, n);
    nul[n] = '\0';
    ck_assert_int_eq(ag_key_from_jwk(nul, n + 1, 0, &k, NULL, 0), AG_ERR_KEY_FORMAT);
    free(nul);
    free(buf);

    /* the size cap comes before parsing */
    size_t big = 70 * 1024;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, oct_priv, n);
    ck_assert_int_eq(ag_key_from_jwk(huge, big, 0, &k, why, sizeof(why)), AG_ERR_KEY_FORMAT);
    ck_assert_ptr_nonnull(strstr(why, "too large"));
    free(huge);
}
END_TEST

START_TEST(test_member_types_and_base64url_V05)
{
    static const struct {
        const char *name, *value;
        ag_err want;
    } t[] = {
        {"kty", "#1", AG_ERR_KEY_FORMAT},
        {"kty", NULL, AG_ERR_KEY_FORMAT},
        {"kty", "OCT", AG_ERR_KEY_FORMAT},
        {"kty", "foo", AG_ERR_KEY_FORMAT},
        {"k", "#123", AG_ERR_KEY_FORMAT},
        {"k", "#null", AG_ERR_KEY_FORMAT},
        {"k", NULL, AG_ERR_KEY_FORMAT},
        {"k", "", AG_ERR_WEAK_KEY},
        {"k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", AG_ERR_KEY_FORMAT},
        {"k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", AG_ERR_KEY_FORMAT},
        {"k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/", AG_ERR_KEY_FORMAT},
        {"k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", AG_ERR_KEY_FORMAT}, /* stray bits */
        {"k", "AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA", AG_ERR_KEY_FORMAT},
        {"k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", AG_ERR_WEAK_KEY}, /* 31 bytes */
        {"k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", AG_OK},          /* 32 bytes */
        {"x5c", "#[\"ignored\"]", AG_OK}, /* unknown members are ignored (RFC 7517 §4) */
        {"ext", "#true", AG_OK},
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(t); i++) {
        json_t *o = MUT(oct_priv, t[i].name, t[i].value);
        ag_err e = verdict(o, 0);
        ck_assert_msg(e == t[i].want, "case %zu: %s (%s)", i, ag_err_name(e), why);
        json_decref(o);
    }
}
END_TEST

/* ---- weak and malformed keys (V-17) --------------------------------- */

START_TEST(test_hmac_short_secrets_V17)
{
    static const struct {
        const char *alg;
        size_t min;
    } t[] = {{"HS256", 32}, {"HS384", 48}, {"HS512", 64}};
    uint8_t raw[64] = {0};
    for (size_t i = 0; i < 3; i++) {
        for (size_t n = t[i].min - 1; n <= t[i].min; n++) {
            char *k = b64(raw, n);
            json_t *o = MUT(oct_priv, "alg", t[i].alg, "k", k);
            ck_assert_int_eq(verdict(o, 0), n < t[i].min ? AG_ERR_WEAK_KEY : AG_OK);
            json_decref(o);
            free(k);
        }
    }
}
END_TEST

START_TEST(test_rsa_rules_V17)
{
    json_t *base = parse(rsa_priv);
    json_t *other = parse(rsa2_priv);
    const char *d2 = json_string_value(json_object_get(other, "d"));
    const char *q = json_string_value(json_object_get(base, "q"));
    char *pub = public_of(rsa_priv);
    static const struct {
        const char *k1, *v1, *k2, *v2;
        int pubbase;
        ag_err want;
    } t[] = {
        {"e", "AQ", NULL, NULL, 1, AG_ERR_WEAK_KEY},       /* e = 1 */
        {"e", "Ag", NULL, NULL, 1, AG_ERR_WEAK_KEY},       /* e = 2 */
        {"e", "AQAA", NULL, NULL, 1, AG_ERR_WEAK_KEY},     /* e = 65536 */
        {"e", "Aw", NULL, NULL, 1, AG_OK},                 /* e = 3: allowed */
        {"e", "AAEAAQ", NULL, NULL, 1, AG_ERR_KEY_FORMAT}, /* not minimal */
        {"e", "", NULL, NULL, 1, AG_ERR_WEAK_KEY},
        {"n", "", NULL, NULL, 1, AG_ERR_WEAK_KEY},
        {"n", NULL, NULL, NULL, 1, AG_ERR_KEY_FORMAT},
        {"e", NULL, NULL, NULL, 1, AG_ERR_KEY_FORMAT},
        {"qi", NULL, NULL, NULL, 0, AG_ERR_KEY_FORMAT},   /* partial CRT */
        {"p", NULL, "q", NULL, 0, AG_ERR_KEY_FORMAT},     /* partial CRT */
        {"d", NULL, NULL, NULL, 0, AG_ERR_KEY_FORMAT},    /* CRT without d */
        {"oth", "#[]", NULL, NULL, 0, AG_ERR_KEY_FORMAT}, /* multi-prime */
        {"d", "AQ", NULL, NULL, 0, AG_ERR_KEY_FORMAT},    /* inconsistent */
        {"p", "#Q", NULL, NULL, 0, AG_ERR_KEY_FORMAT},    /* p := q */
        {"d", "#D2", NULL, NULL, 0, AG_ERR_KEY_FORMAT},   /* d of another key */
        {"dp", "AQ", NULL, NULL, 0, AG_ERR_KEY_FORMAT},   /* wrong CRT exponent */
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(t); i++) {
        json_t *o = parse(t[i].pubbase ? pub : rsa_priv);
        const char *k[2] = {t[i].k1, t[i].k2}, *v[2] = {t[i].v1, t[i].v2};
        for (int j = 0; j < 2; j++) {
            if (k[j] == NULL)
                continue;
            if (v[j] == NULL)
                json_object_del(o, k[j]);
            else if (strcmp(v[j], "#Q") == 0)
                json_object_set_new(o, k[j], json_string(q));
            else if (strcmp(v[j], "#D2") == 0)
                json_object_set_new(o, k[j], json_string(d2));
            else if (v[j][0] == '#')
                json_object_set_new(o, k[j], parse_any(v[j] + 1));
            else
                json_object_set_new(o, k[j], json_string(v[j]));
        }
        ag_err e = verdict(o, 0);
        ck_assert_msg(e == t[i].want, "case %zu: %s (%s)", i, ag_err_name(e), why);
        json_decref(o);
    }
    /* n with a leading zero octet: not minimal (RFC 7518 §2) */
    json_t *o = parse(pub);
    const char *n64 = json_string_value(json_object_get(o, "n"));
    uint8_t nb[600];
    size_t nl = 0;
    ck_assert_int_eq(
        ag_base64url_decode((const uint8_t *)n64, strlen(n64), nb + 1, sizeof(nb) - 1, &nl), AG_OK);
    nb[0] = 0;
    char *nz = b64(nb, nl + 1);
    json_object_set_new(o, "n", json_string(nz));
    ck_assert_int_eq(verdict(o, 0), AG_ERR_KEY_FORMAT);
    /* a modulus that is even: OpenSSL's public check refuses it */
    nb[nl] &= 0xfe;
    free(nz);
    nz = b64(nb + 1, nl);
    json_object_set_new(o, "n", json_string(nz));
    ck_assert_int_eq(verdict(o, 0), AG_ERR_KEY_FORMAT);
    free(nz);
    json_decref(o);

    /* private without CRT (n, e, d): accepted, and exported without CRT */
    o = parse(rsa_priv);
    static const char *const crt[] = {"p", "q", "dp", "dq", "qi"};
    for (size_t i = 0; i < 5; i++)
        json_object_del(o, crt[i]);
    ag_key *key = NULL;
    ck_assert_int_eq(import_json(o, 0, &key), AG_OK);
    ck_assert(ag_key_is_private(key));
    char *out = NULL;
    ck_assert_int_eq(ag_key_to_jwk(key, true, &out), AG_OK);
    json_t *back = parse(out);
    ck_assert_ptr_nonnull(json_object_get(back, "d"));
    ck_assert_ptr_null(json_object_get(back, "p"));
    ck_assert_ptr_null(json_object_get(back, "qi"));
    json_decref(back);
    ag_free(out);
    ag_key_free(key);
    /* ... but its d must still fit n and e: another key's d is refused */
    json_object_set_new(o, "d", json_string(d2));
    ck_assert_int_eq(verdict(o, 0), AG_ERR_KEY_FORMAT);
    json_decref(o);

    json_decref(base);
    json_decref(other);
    free(pub);
}
END_TEST

START_TEST(test_rsa_1024_refused_V17)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    ck_assert_ptr_nonnull(pk);
    char *n = b64_bn(pk, OSSL_PKEY_PARAM_RSA_N, 128);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "alg", "RS256", "kid", "k", "n", n,
                          "e", "AQAB");
    ck_assert_int_eq(verdict(o, 0), AG_ERR_WEAK_KEY);
    json_decref(o);
    free(n);
    EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_ec_rules)
{
    json_t *base = parse(p256_priv);
    const char *x = json_string_value(json_object_get(base, "x"));
    const char *y = json_string_value(json_object_get(base, "y"));
    uint8_t yb[33];
    size_t yl = 0;
    ck_assert_int_eq(ag_base64url_decode((const uint8_t *)y, strlen(y), yb, sizeof(yb), &yl),
                     AG_OK);
    yb[31] ^= 1; /* off the curve */
    char *yoff = b64(yb, 32);
    char *y31 = b64(yb, 31);
    uint8_t pad[33] = {0};
    memcpy(pad + 1, yb, 32);
    char *y33 = b64(pad, 33);
    uint8_t zero[32] = {0};
    char *d0 = b64(zero, 32);
    /* the group order n of P-256: d = n is out of range */
    static const uint8_t order[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00,
                                      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                      0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84,
                                      0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
    char *dn = b64(order, 32);
    json_t *other = parse(p384_priv);
    json_t *p256b = NULL;
    ag_key *fresh = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_ES256, "f", &fresh), AG_OK);
    char *fresh_jwk = NULL;
    ck_assert_int_eq(ag_key_to_jwk(fresh, true, &fresh_jwk), AG_OK);
    p256b = parse(fresh_jwk);
    const char *dother = json_string_value(json_object_get(p256b, "d"));
    const struct {
        const char *k, *v;
        ag_err want;
    } t[] = {
        {"y", yoff, AG_ERR_KEY_FORMAT}, /* not on the curve */
        {"y", y31, AG_ERR_KEY_FORMAT},  /* short coordinate */
        {"y", y33, AG_ERR_KEY_FORMAT},  /* long coordinate */
        {"x", NULL, AG_ERR_KEY_FORMAT},   {"y", NULL, AG_ERR_KEY_FORMAT},
        {"crv", NULL, AG_ERR_KEY_FORMAT}, {"crv", "#1", AG_ERR_KEY_FORMAT},
        {"crv", "P-384", AG_ERR_ALG},     {"crv", "P-521", AG_ERR_ALG},
        {"crv", "secp256k1", AG_ERR_ALG}, {"crv", "p-256", AG_ERR_ALG},
        {"d", d0, AG_ERR_KEY_FORMAT},     /* zero */
        {"d", dn, AG_ERR_KEY_FORMAT},     /* = order */
        {"d", dother, AG_ERR_KEY_FORMAT}, /* another key's d */
        {"d", y31, AG_ERR_KEY_FORMAT},    /* short */
        {"d", "", AG_ERR_WEAK_KEY},       {"x", x, AG_OK},
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(t); i++) {
        json_t *o = parse(p256_priv);
        if (t[i].v == NULL)
            json_object_del(o, t[i].k);
        else if (t[i].v[0] == '#')
            json_object_set_new(o, t[i].k, parse_any(t[i].v + 1));
        else
            json_object_set_new(o, t[i].k, json_string(t[i].v));
        ag_err e = verdict(o, 0);
        ck_assert_msg(e == t[i].want, "case %zu: %s (%s)", i, ag_err_name(e), why);
        /* the same without d (public key), where d is not the subject */
        if (strcmp(t[i].k, "d") != 0) {
            json_object_del(o, "d");
            e = verdict(o, 0);
            ck_assert_msg(e == t[i].want, "public case %zu: %s (%s)", i, ag_err_name(e), why);
        }
        json_decref(o);
    }
    /* other curves, well-formed, pinned to our algorithms */
    json_t *o = ec_public_jwk(p521, "P-521", "ES256");
    ck_assert_int_eq(verdict(o, 0), AG_ERR_ALG);
    json_object_set_new(o, "alg", json_string("ES521"));
    ck_assert_int_eq(verdict(o, 0), AG_ERR_ALG);
    json_decref(o);
    o = ec_public_jwk(secp256k1, "secp256k1", "ES256");
    ck_assert_int_eq(verdict(o, 0), AG_ERR_ALG);
    json_object_set_new(o, "crv", json_string("P-256")); /* lying about the curve */
    ck_assert_int_eq(verdict(o, 0), AG_ERR_KEY_FORMAT);
    json_decref(o);

    ag_free(fresh_jwk);
    ag_key_free(fresh);
    json_decref(p256b);
    json_decref(other);
    json_decref(base);
    free(yoff);
    free(y31);
    free(y33);
    free(d0);
    free(dn);
}
END_TEST

START_TEST(test_okp_rules)
{
    json_t *o = okp_public_jwk(x25519, "X25519");
    ck_assert_int_eq(verdict(o, 0), AG_ERR_ALG);
    json_object_set_new(o, "alg", json_string("ECDH-ES"));
    ck_assert_int_eq(verdict(o, 0), AG_ERR_ALG);
    json_decref(o);
    o = okp_public_jwk(ed448, "Ed448");
    ck_assert_int_eq(verdict(o, 0), AG_ERR_ALG);
    json_object_set_new(o, "crv", json_string("Ed25519")); /* 57-byte x */
    ck_assert_int_eq(verdict(o, 0), AG_ERR_KEY_FORMAT);
    json_decref(o);

    ag_key *other = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_EDDSA, "o", &other), AG_OK);
    char *ojwk = NULL;
    ck_assert_int_eq(ag_key_to_jwk(other, true, &ojwk), AG_OK);
    json_t *oj = parse(ojwk);
    const char *dother = json_string_value(json_object_get(oj, "d"));
    uint8_t raw[33] = {0};
    char *s31 = b64(raw, 31), *s33 = b64(raw, 33);
    const struct {
        const char *k, *v;
        ag_err want;
    } t[] = {
        {"x", s31, AG_ERR_KEY_FORMAT},  {"x", s33, AG_ERR_KEY_FORMAT},
        {"d", s31, AG_ERR_KEY_FORMAT},  {"d", dother, AG_ERR_KEY_FORMAT},
        {"x", NULL, AG_ERR_KEY_FORMAT}, {"crv", NULL, AG_ERR_KEY_FORMAT},
        {"crv", "X25519", AG_ERR_ALG},  {"crv", "ed25519", AG_ERR_ALG},
        {"kty", "EC", AG_ERR_ALG},
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(t); i++) {
        json_t *j = parse(ed_priv);
        if (t[i].v == NULL)
            json_object_del(j, t[i].k);
        else
            json_object_set_new(j, t[i].k, json_string(t[i].v));
        ag_err e = verdict(j, 0);
        ck_assert_msg(e == t[i].want, "case %zu: %s (%s)", i, ag_err_name(e), why);
        json_decref(j);
    }
    free(s31);
    free(s33);
    json_decref(oj);
    ag_free(ojwk);
    ag_key_free(other);
}
END_TEST

/* ---- export --------------------------------------------------------- */

static void assert_public_only(const char *text, const char *kty, const char *alg, const char *kid)
{
    json_t *o = parse(text);
    static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"};
    for (size_t i = 0; i < AG__ARRAY_LEN(priv); i++)
        ck_assert_msg(json_object_get(o, priv[i]) == NULL, "public JWK has \"%s\"", priv[i]);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kty")), kty);
    ck_assert_str_eq(json_string_value(json_object_get(o, "alg")), alg);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kid")), kid);
    ck_assert_str_eq(json_string_value(json_object_get(o, "use")), "sig");
    json_decref(o);
}

START_TEST(test_public_export_has_no_private_members)
{
    struct {
        const char *jwk, *kty, *alg;
    } fx[] = {{rsa_priv, "RSA", "RS256"},
              {p256_priv, "EC", "ES256"},
              {p384_priv, "EC", "ES384"},
              {ed_priv, "OKP", "EdDSA"}};
    for (size_t i = 0; i < AG__ARRAY_LEN(fx); i++) {
        ag_key *k = NULL;
        ck_assert_int_eq(ag_key_from_jwk(fx[i].jwk, strlen(fx[i].jwk), 0, &k, NULL, 0), AG_OK);
        char *pub = NULL;
        ck_assert_int_eq(ag_key_to_jwk(k, false, &pub), AG_OK);
        assert_public_only(pub, fx[i].kty, fx[i].alg, ag_key_kid(k));
        /* the private export has them, and nothing is lost */
        char *priv = NULL;
        ck_assert_int_eq(ag_key_to_jwk(k, true, &priv), AG_OK);
        json_t *a = parse(priv), *b = parse(fx[i].jwk);
        ck_assert_ptr_nonnull(json_object_get(a, "d"));
        const char *name;
        json_t *v;
        json_object_foreach(b, name, v)
        {
            ck_assert_msg(json_equal(v, json_object_get(a, name)), "member %s", name);
        }
        json_decref(a);
        json_decref(b);
        ag_free(pub);
        ag_free(priv);
        ag_key_free(k);
    }
    /* HMAC has no public form */
    ag_key *h = NULL;
    ck_assert_int_eq(ag_key_from_jwk(oct_priv, strlen(oct_priv), 0, &h, NULL, 0), AG_OK);
    char *out = (char *)1;
    ck_assert_int_eq(ag_key_to_jwk(h, false, &out), AG_ERR_KEY_FORMAT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(ag_key_to_jwk(NULL, false, &out), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_key_to_jwk(h, false, NULL), AG_ERR_INVALID_ARGUMENT);
    ag_key_free(h);
}
END_TEST

/* Output is compact with sorted members: deterministic text. */
START_TEST(test_export_is_canonical)
{
    static const char jwk[] = "{\"use\":\"sig\",\"kid\":\"h1\",\"k\":"
                              "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
                              "\"alg\":\"HS256\",\"kty\":\"oct\"}";
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_jwk(jwk, sizeof(jwk) - 1, 0, &k, NULL, 0), AG_OK);
    char *out = NULL;
    ck_assert_int_eq(ag_key_to_jwk(k, true, &out), AG_OK);
    ck_assert_str_eq(out,
                     "{\"alg\":\"HS256\",\"k\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
                     "\"kid\":\"h1\",\"kty\":\"oct\",\"use\":\"sig\"}");
    ag_free(out);
    ag_key_free(k);
}
END_TEST

/* ---- thumbprints (RFC 7638, RFC 8037 A.3) --------------------------- */

START_TEST(test_thumbprints_rfc7638_rfc8037)
{
    char jwk[600];
    snprintf(
        jwk, sizeof(jwk),
        "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}",
        rfc7638_n);
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_jwk(jwk, strlen(jwk), 0, &k, why, sizeof(why)), AG_OK);
    char tp[AG_JTI_LEN + 1];
    ck_assert_int_eq(ag__key_thumbprint(k, tp), AG_OK);
    ck_assert_str_eq(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    ck_assert_uint_eq(k->sig_len, 256);
    ag_key_free(k);

    static const char ed[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                             "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
                             "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
                             "\"kid\":\"rfc8037\",\"alg\":\"EdDSA\"}";
    ck_assert_int_eq(ag_key_from_jwk(ed, sizeof(ed) - 1, 0, &k, why, sizeof(why)), AG_OK);
    ck_assert(ag_key_is_private(k));
    ck_assert_int_eq(ag__key_thumbprint(k, tp), AG_OK);
    ck_assert_str_eq(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    ag_key_free(k);
}
END_TEST

/* ---- JWKS ----------------------------------------------------------- */

static char *jwks_of(const char *const *jwks, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, parse(jwks[i]));
    json_t *top = json_pack("{s:o}", "keys", arr);
    char *s = json_dumps(top, JSON_COMPACT);
    json_decref(top);
    return s;
}

START_TEST(test_jwks_rules)
{
    char *rsa_pub = public_of(rsa_priv);
    char *p256_pub = public_of(p256_priv);
    char *ed_pub = public_of(ed_priv);
    ag_keyring *ring = NULL;

    const char *ok[] = {rsa_pub, p256_pub, ed_pub};
    char *s = jwks_of(ok, 3);
    ck_assert_int_eq(ag_keyring_from_jwks(s, strlen(s), 0, &ring, why, sizeof(why)), AG_OK);
    ck_assert_uint_eq(ag_keyring_count(ring), 3);
    json_t *j = parse(p256_pub);
    const char *kid = json_string_value(json_object_get(j, "kid"));
    const ag_key *k = ag_keyring_find(ring, kid, strlen(kid));
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(ag_key_alg(k), AG_ALG_ES256);
    json_decref(j);
    char *out = NULL;
    ck_assert_int_eq(ag_keyring_to_jwks(ring, &out), AG_OK);
    ag_keyring *again = NULL;
    ck_assert_int_eq(ag_keyring_from_jwks(out, strlen(out), 0, &again, NULL, 0), AG_OK);
    char *out2 = NULL;
    ck_assert_int_eq(ag_keyring_to_jwks(again, &out2), AG_OK);
    ck_assert_str_eq(out, out2);
    ag_free(out);
    ag_free(out2);
    ag_keyring_free(again);
    ag_keyring_free(ring);
    ring = NULL;
    free(s);

    /* all-private sets are fine */
    const char *privs[] = {rsa_priv, p256_priv, oct_priv};
    s = jwks_of(privs, 3);
    ck_assert_int_eq(ag_keyring_from_jwks(s, strlen(s), 0, &ring, why, sizeof(why)), AG_OK);
    ag_keyring_free(ring);
    ring = NULL;
    free(s);

    /* duplicate kids (Wycheproof DuplicateKid) */
    const char *dup[] = {p256_pub, p256_pub};
    s = jwks_of(dup, 2);
    ck_assert_int_eq(ag_keyring_from_jwks(s, strlen(s), 0, &ring, why, sizeof(why)), AG_ERR_EXISTS);
    ck_assert_ptr_null(ring);
    ck_assert_ptr_nonnull(strstr(why, "keys[1]"));
    free(s);

    /* mixed secret/private and public (Wycheproof MixedKeySet) */
    const char *mixed[] = {oct_priv, p256_pub};
    s = jwks_of(mixed, 2);
    ck_assert_int_eq(ag_keyring_from_jwks(s, strlen(s), 0, &ring, why, sizeof(why)),
                     AG_ERR_KEY_FORMAT);
    ck_assert_ptr_null(ring);
    free(s);

    /* one bad key fails the whole set, with its index */
    json_t *bad = MUT(ed_pub, "alg", NULL);
    char *bads = json_dumps(bad, JSON_COMPACT);
    const char *withbad[] = {rsa_pub, bads};
    s = jwks_of(withbad, 2);
    ck_assert_int_eq(ag_keyring_from_jwks(s, strlen(s), 0, &ring, why, sizeof(why)), AG_ERR_ALG);
    ck_assert_ptr_nonnull(strstr(why, "keys[1]"));
    ck_assert_ptr_null(ring);
    /* ... and with a default that fits only the RSA key: still refused */
    ck_assert_int_eq(ag_keyring_from_jwks(s, strlen(s), AG_ALG_RS256, &ring, NULL, 0), AG_ERR_ALG);
    free(s);
    free(bads);
    json_decref(bad);

    static const char *const shapes[] = {"{}",
                                         "{\"keys\":{}}",
                                         "{\"keys\":\"x\"}",
                                         "{\"keys\":[1]}",
                                         "{\"keys\":[[]]}",
                                         "[]",
                                         "{\"keys\":[],\"keys\":[]}"};
    for (size_t i = 0; i < AG__ARRAY_LEN(shapes); i++)
        ck_assert_msg(ag_keyring_from_jwks(shapes[i], strlen(shapes[i]), 0, &ring, NULL, 0) ==
                          AG_ERR_KEY_FORMAT,
                      "shape %zu", i);
    ck_assert_int_eq(ag_keyring_from_jwks("{\"keys\":[]}", 11, 0, &ring, NULL, 0), AG_OK);
    ck_assert_uint_eq(ag_keyring_count(ring), 0);
    ag_keyring_free(ring);
    ring = NULL;
    ck_assert_int_eq(ag_keyring_from_jwks("{\"keys\":[]}", 11, 0, NULL, NULL, 0),
                     AG_ERR_INVALID_ARGUMENT);

    free(rsa_pub);
    free(p256_pub);
    free(ed_pub);
}
END_TEST

/* errbuf: one line, truncated safely, never key material. */
START_TEST(test_errbuf_never_leaks_key_material)
{
    json_t *o = parse(rsa_priv);
    json_object_set_new(o, "d", json_string("AQ"));
    const char *p = json_string_value(json_object_get(o, "p"));
    char prefix[17];
    memcpy(prefix, p, 16);
    prefix[16] = '\0';
    ck_assert_int_eq(verdict(o, 0), AG_ERR_KEY_FORMAT);
    ck_assert_uint_gt(strlen(why), 0);
    ck_assert_ptr_null(strchr(why, '\n'));
    ck_assert_ptr_null(strstr(why, prefix));
    char small[8];
    memset(small, 'z', sizeof(small));
    char *s = json_dumps(o, JSON_COMPACT);
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_jwk(s, strlen(s), 0, &k, small, sizeof(small)), AG_ERR_KEY_FORMAT);
    ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
    ck_assert_int_eq(ag_key_from_jwk(s, strlen(s), 0, &k, small, 0), AG_ERR_KEY_FORMAT);
    free(s);
    json_decref(o);
    /* success clears errbuf */
    ck_assert_int_eq(ag_key_from_jwk(oct_priv, strlen(oct_priv), 0, &k, small, sizeof(small)),
                     AG_OK);
    ck_assert_str_eq(small, "");
    ag_key_free(k);
}
END_TEST

/* ---- fixtures and main --------------------------------------------- */

static char *priv_jwk_from_pkey(EVP_PKEY *pk, ag_alg alg, const char *kid)
{
    /* through the library's own PEM path, which is tested in test_keys */
    OSSL_ENCODER_CTX *ctx =
        OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    unsigned char *der = NULL;
    size_t n = 0;
    if (ctx == NULL || OSSL_ENCODER_to_data(ctx, &der, &n) != 1)
        abort();
    OSSL_ENCODER_CTX_free(ctx);
    ag_key *k = NULL;
    if (ag_key_from_pem(alg, der, n, kid, &k) != AG_OK)
        abort();
    OPENSSL_free(der);
    char *out = NULL;
    if (ag_key_to_jwk(k, true, &out) != AG_OK)
        abort();
    ag_key_free(k);
    return out;
}

static char *generated(ag_alg alg, const char *kid)
{
    ag_key *k = NULL;
    char *out = NULL;
    if (ag_key_generate(alg, kid, &k) != AG_OK || ag_key_to_jwk(k, true, &out) != AG_OK)
        abort();
    ag_key_free(k);
    return out;
}

static Suite *suite(void)
{
    Suite *s = suite_create("jwk");
    TCase *t = tcase_create("jwk");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_kty_alg_matrix_V02);
    tcase_add_test(t, test_no_alg_no_default_refused_V02);
    tcase_add_test(t, test_alg_names_and_default_V01);
    tcase_add_test(t, test_kid_required_and_bounded_V08);
    tcase_add_test(t, test_use_and_key_ops);
    tcase_add_test(t, test_strict_json_V06);
    tcase_add_test(t, test_member_types_and_base64url_V05);
    tcase_add_test(t, test_hmac_short_secrets_V17);
    tcase_add_test(t, test_rsa_rules_V17);
    tcase_add_test(t, test_rsa_1024_refused_V17);
    tcase_add_test(t, test_ec_rules);
    tcase_add_test(t, test_okp_rules);
    tcase_add_test(t, test_public_export_has_no_private_members);
    tcase_add_test(t, test_export_is_canonical);
    tcase_add_test(t, test_thumbprints_rfc7638_rfc8037);
    tcase_add_test(t, test_jwks_rules);
    tcase_add_test(t, test_errbuf_never_leaks_key_material);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    EVP_PKEY *r1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *r2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (r1 == NULL || r2 == NULL)
        abort();
    rsa_priv = priv_jwk_from_pkey(r1, AG_ALG_RS256, "rsa-1");
    rsa2_priv = priv_jwk_from_pkey(r2, AG_ALG_RS256, "rsa-2");
    EVP_PKEY_free(r1);
    EVP_PKEY_free(r2);
    p256_priv = generated(AG_ALG_ES256, "p256");
    p384_priv = generated(AG_ALG_ES384, "p384");
    ed_priv = generated(AG_ALG_EDDSA, "ed");
    oct_priv = generated(AG_ALG_HS256, "oct");
    secp256k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    if (secp256k1 == NULL || p521 == NULL || x25519 == NULL || ed448 == NULL)
        abort();
    int rc = ag_test_run(suite());
    char *fx[] = {rsa_priv, rsa2_priv, p256_priv, p384_priv, ed_priv, oct_priv};
    for (size_t i = 0; i < AG__ARRAY_LEN(fx); i++) {
        OPENSSL_cleanse(fx[i], strlen(fx[i]));
        ag_free(fx[i]);
    }
    EVP_PKEY_free(secp256k1);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(x25519);
    EVP_PKEY_free(ed448);
    return rc;
}

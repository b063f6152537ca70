/* SPDX-License-Identifier: MIT */
/*
 * Strict JWK import in lib/token/jwk.c (RFC 7517, 7518 §6, 8037): algorithm
 * binding (V-01, V-02; libjwt GHSA-q843-6q5f-w55g), kid rules (V-08), use
 * and key_ops, strict JSON (V-06), member types and base64url (V-05), and
 * an error text that never carries key material (V-18).
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "jwk_fixture.h"
#include "testsupport.h"
#include "token/token_int.h"

static ag_err verdict_str(const char *s, size_t len, ag_alg def)
{
    ag_key *k = NULL;
    why[0] = '\0';
    ag_err e = ag_key_from_jwk(s, len, def, &k, why, sizeof(why));
    ag_key_free(k);
    return e;
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
static Suite *suite(void)
{
    Suite *s = suite_create("jwk_import");
    TCase *t = tcase_create("jwk");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_kty_alg_matrix_V02);
    tcase_add_test(t, test_no_alg_no_default_refused_V02);
    tcase_add_test(t, test_alg_names_and_default_V01);
    tcase_add_test(t, test_kid_required_and_bounded_V08);
    tcase_add_test(t, test_use_and_key_ops);
    tcase_add_test(t, test_strict_json_V06);
    tcase_add_test(t, test_member_types_and_base64url_V05);
    tcase_add_test(t, test_errbuf_never_leaks_key_material);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return jwk_test_main(suite);
}

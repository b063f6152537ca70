/* SPDX-License-Identifier: MIT */
/*
 * Exports of lib/token/jwk_export.c and JWKS sets: public exports never
 * carry private members, canonical text, RFC 7638 / RFC 8037 thumbprints,
 * and JWKS import rules (duplicate kids, mixed sets, one bad key).
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

/* RFC 7517 A.1 / RFC 7638 §3.1 example key and its thumbprint. */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC"
    "PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvz"
    "qY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu"
    "0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

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
static Suite *suite(void)
{
    Suite *s = suite_create("jwk_export");
    TCase *t = tcase_create("jwk");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_public_export_has_no_private_members);
    tcase_add_test(t, test_export_is_canonical);
    tcase_add_test(t, test_thumbprints_rfc7638_rfc8037);
    tcase_add_test(t, test_jwks_rules);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return jwk_test_main(suite);
}

/* SPDX-License-Identifier: MIT */
/*
 * Weak and malformed keys refused by lib/token/jwk.c (V-17): short HMAC
 * secrets, RSA exponents, moduli, CRT members and 1024-bit keys, EC points
 * off the curve and other curves, OKP keys other than Ed25519.
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
static Suite *suite(void)
{
    Suite *s = suite_create("jwk_key_rules");
    TCase *t = tcase_create("jwk");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_hmac_short_secrets_V17);
    tcase_add_test(t, test_rsa_rules_V17);
    tcase_add_test(t, test_rsa_1024_refused_V17);
    tcase_add_test(t, test_ec_rules);
    tcase_add_test(t, test_okp_rules);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return jwk_test_main(suite);
}

/* SPDX-License-Identifier: MIT */
/*
 * The fixtures and helpers the lib/token/jwk.c tests share (jwk_fixture.h):
 * private JWKs of every key type made once in main(), before Check forks
 * per test, and the import verdict with its error text.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>

#include "jwk_fixture.h"
#include "testsupport.h"
#include "token/token_int.h"

/* Fixtures made once in main(); the forked tests inherit them. */
char *rsa_priv;  /* RS256, 2048-bit, with CRT */
char *rsa2_priv; /* another 2048-bit key */
char *p256_priv; /* ES256 */
char *p384_priv; /* ES384 */
char *ed_priv;   /* EdDSA */
char *oct_priv;  /* HS256 */
EVP_PKEY *secp256k1, *p521, *x25519, *ed448;
char why[256];

json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);
    ck_assert_msg(j != NULL, "%s", e.text);
    return j;
}

ag_err import_json(json_t *o, ag_alg def, ag_key **out)
{
    char *s = json_dumps(o, JSON_COMPACT);
    ck_assert_ptr_nonnull(s);
    why[0] = '\0';
    ag_err e = ag_key_from_jwk(s, strlen(s), def, out, why, sizeof(why));
    free(s);
    return e;
}

/* Imports and frees; returns the verdict. */
ag_err verdict(json_t *o, ag_alg def)
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

/* A copy of a fixture with members changed: pairs of (name, value) where
 * value NULL deletes the member and a value starting with '#' is raw JSON. */
json_t *mutate(const char *base, const char *const *kv, size_t n)
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

char *b64(const uint8_t *p, size_t n)
{
    size_t cap = AG_B64URL_ENCODED_LEN(n) + 1, len;
    char *t = malloc(cap);
    ck_assert_int_eq(ag_base64url_encode(p, n, t, cap, &len), AG_OK);
    return t;
}

json_t *parse_any(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    ck_assert_msg(j != NULL, "%s", e.text);
    return j;
}

char *public_of(const char *priv)
{
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_jwk(priv, strlen(priv), 0, &k, NULL, 0), AG_OK);
    char *pub = NULL;
    ck_assert_int_eq(ag_key_to_jwk(k, false, &pub), AG_OK);
    ag_key_free(k);
    return pub;
}

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

int jwk_test_main(Suite *(*make)(void))
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
    int rc = ag_test_run(make());
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

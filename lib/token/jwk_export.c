/* SPDX-License-Identifier: MIT */
/*
 * authgate — JWK and JWKS export and RFC 7638 thumbprints (import: jwk.c).
 * Output is sorted and compact, so deterministic; a public export never
 * contains a private member (docs/tokens.md, "What loading a key checks").
 *
 * @test tests/token/test_jwk_export.c
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "jwk_int.h"
#include "token_int.h"

typedef enum jwk_mode { MODE_PUBLIC, MODE_PRIVATE, MODE_THUMBPRINT } jwk_mode;

static ag_err put_b64(json_t *o, const char *name, const uint8_t *p, size_t n)
{
    size_t cap = AG_B64URL_ENCODED_LEN(n) + 1;
    char *t = OPENSSL_malloc(cap);
    if (t == NULL)
        return AG_ERR_NOMEM;
    size_t tl = 0;
    ag_err err = ag_base64url_encode(p, n, t, cap, &tl);
    if (err == AG_OK && json_object_set_new(o, name, json_stringn(t, tl)) != 0)
        err = AG_ERR_NOMEM;
    OPENSSL_clear_free(t, cap);
    return err;
}

/* A big-number parameter as Base64urlUInt (minimal, or padded to pad). */
static ag_err put_bn(json_t *o, const char *name, const EVP_PKEY *pkey, const char *param,
                     size_t pad, bool *absent)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        ERR_clear_error();
        if (absent != NULL) {
            *absent = true;
            return AG_OK;
        }
        return AG_ERR_KEY_FORMAT;
    }
    size_t n = (size_t)BN_num_bytes(bn);
    if (pad != 0 && n > pad) {
        BN_clear_free(bn);
        return AG_ERR_KEY_FORMAT;
    }
    size_t len = pad != 0 ? pad : (n > 0 ? n : 1);
    uint8_t *buf = OPENSSL_malloc(len);
    ag_err err = AG_ERR_NOMEM;
    if (buf != NULL) {
        err = BN_bn2binpad(bn, buf, (int)len) == (int)len ? put_b64(o, name, buf, len)
                                                          : AG_ERR_CRYPTO;
        OPENSSL_clear_free(buf, len);
    }
    BN_clear_free(bn);
    return err;
}

static ag_err put_str(json_t *o, const char *name, const char *v)
{
    return json_object_set_new(o, name, json_string(v)) == 0 ? AG_OK : AG_ERR_NOMEM;
}

static ag_err jwk_object(const ag_key *key, jwk_mode mode, json_t **out)
{
    *out = NULL;
    json_t *o = json_object();
    if (o == NULL)
        return AG_ERR_NOMEM;
    bool priv = mode == MODE_PRIVATE;
    ag_err err = AG_OK;
    const char *kty = NULL;
    switch (key->info->family) {
    case AG__FAM_HMAC:
        kty = "oct";
        break;
    case AG__FAM_RSA_PKCS1:
    case AG__FAM_RSA_PSS:
        kty = "RSA";
        break;
    case AG__FAM_ECDSA:
        kty = "EC";
        break;
    case AG__FAM_EDDSA:
        kty = "OKP";
        break;
    }
    if (kty == NULL) {
        json_decref(o);
        return AG_ERR_KEY_FORMAT;
    }
    err = put_str(o, "kty", kty);
    if (err == AG_OK && mode != MODE_THUMBPRINT) {
        err = put_str(o, "kid", key->kid);
        if (err == AG_OK)
            err = put_str(o, "alg", key->info->name);
        if (err == AG_OK)
            err = put_str(o, "use", "sig");
    }
    if (err != AG_OK)
        goto done;

    switch (key->info->family) {
    case AG__FAM_HMAC:
        if (mode != MODE_PUBLIC)
            err = put_b64(o, "k", key->secret, key->secret_len);
        break;
    case AG__FAM_RSA_PKCS1:
    case AG__FAM_RSA_PSS: {
        err = put_bn(o, "n", key->pkey, OSSL_PKEY_PARAM_RSA_N, 0, NULL);
        if (err == AG_OK)
            err = put_bn(o, "e", key->pkey, OSSL_PKEY_PARAM_RSA_E, 0, NULL);
        if (err == AG_OK && priv)
            err = put_bn(o, "d", key->pkey, OSSL_PKEY_PARAM_RSA_D, 0, NULL);
        if (err == AG_OK && priv) {
            static const char *const names[5] = {"p", "q", "dp", "dq", "qi"};
            static const char *const params[5] = {
                OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
            bool absent = false;
            for (int i = 0; i < 5 && err == AG_OK && !absent; i++)
                err = put_bn(o, names[i], key->pkey, params[i], 0, &absent);
            /* All or none: a key imported without CRT exports without it. */
            if (err == AG_OK && absent)
                for (int i = 0; i < 5; i++)
                    (void)json_object_del(o, names[i]);
        }
        break;
    }
    case AG__FAM_ECDSA: {
        size_t flen = key->alg == AG_ALG_ES256 ? 32 : 48;
        err = put_str(o, "crv", key->info->curve);
        if (err == AG_OK)
            err = put_bn(o, "x", key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, flen, NULL);
        if (err == AG_OK)
            err = put_bn(o, "y", key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, flen, NULL);
        if (err == AG_OK && priv)
            err = put_bn(o, "d", key->pkey, OSSL_PKEY_PARAM_PRIV_KEY, flen, NULL);
        break;
    }
    case AG__FAM_EDDSA: {
        uint8_t raw[32];
        size_t n = sizeof(raw);
        err = put_str(o, "crv", "Ed25519");
        if (err == AG_OK)
            err = EVP_PKEY_get_raw_public_key(key->pkey, raw, &n) == 1 && n == 32
                      ? put_b64(o, "x", raw, n)
                      : AG_ERR_CRYPTO;
        if (err == AG_OK && priv) {
            n = sizeof(raw);
            err = EVP_PKEY_get_raw_private_key(key->pkey, raw, &n) == 1 && n == 32
                      ? put_b64(o, "d", raw, n)
                      : AG_ERR_CRYPTO;
        }
        OPENSSL_cleanse(raw, sizeof(raw));
        break;
    }
    }
done:
    ERR_clear_error();
    if (err != AG_OK) {
        ag__json_wipe_decref(o);
        return err;
    }
    *out = o;
    return AG_OK;
}

#define AG__JSON_OUT_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

/* Serialises into a malloc'd NUL-terminated string (ag_free() frees it),
 * independent of jansson's allocator. *len gets the length. */
static ag_err dump_malloc(const json_t *o, char **out, size_t *len)
{
    size_t n = json_dumpb(o, NULL, 0, AG__JSON_OUT_FLAGS);
    if (n == 0)
        return AG_ERR_NOMEM;
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return AG_ERR_NOMEM;
    if (json_dumpb(o, buf, n, AG__JSON_OUT_FLAGS) != n) {
        OPENSSL_cleanse(buf, n);
        free(buf);
        return AG_ERR_NOMEM;
    }
    buf[n] = '\0';
    *out = buf;
    if (len != NULL)
        *len = n;
    return AG_OK;
}

ag_err ag_key_to_jwk(const ag_key *key, bool private_too, char **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (key == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (private_too && !key->is_private)
        return AG_ERR_STATE;
    if (!private_too && key->info->family == AG__FAM_HMAC)
        return AG_ERR_KEY_FORMAT; /* a secret has no public form */
    json_t *o;
    ag_err err = jwk_object(key, private_too ? MODE_PRIVATE : MODE_PUBLIC, &o);
    if (err != AG_OK)
        return err;
    err = dump_malloc(o, out, NULL);
    ag__json_wipe_decref(o);
    return err;
}

ag_err ag_keyring_to_jwks(const ag_keyring *ring, char **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (ring == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    json_t *arr = json_array();
    json_t *top = json_object();
    ag_err err = AG_OK;
    if (arr == NULL || top == NULL || json_object_set(top, "keys", arr) != 0) {
        err = AG_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < ring->count && err == AG_OK; i++) {
        const ag_key *k = ring->keys[i];
        if (k->info->family == AG__FAM_HMAC)
            continue; /* no public form */
        json_t *o;
        err = jwk_object(k, MODE_PUBLIC, &o);
        if (err == AG_OK && json_array_append_new(arr, o) != 0)
            err = AG_ERR_NOMEM;
    }
    if (err == AG_OK)
        err = dump_malloc(top, out, NULL);
done:
    json_decref(arr);
    json_decref(top);
    return err;
}

/* RFC 7638: SHA-256 over the required members, sorted, no whitespace —
 * exactly jansson's JSON_COMPACT | JSON_SORT_KEYS output, since every value
 * is ASCII base64url or a fixed name. */
ag_err ag__key_thumbprint(const ag_key *key, char out[AG_JTI_LEN + 1])
{
    if (key == NULL || out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    json_t *o;
    ag_err err = jwk_object(key, MODE_THUMBPRINT, &o);
    if (err != AG_OK)
        return err;
    char *text = NULL;
    size_t n = 0;
    err = dump_malloc(o, &text, &n);
    ag__json_wipe_decref(o);
    if (err != AG_OK)
        return err;
    uint8_t md[32];
    unsigned int mdlen = 0;
    EVP_MD *sha = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    int ok = sha != NULL && EVP_Digest(text, n, md, &mdlen, sha, NULL) == 1 && mdlen == 32;
    EVP_MD_free(sha);
    OPENSSL_cleanse(text, n);
    free(text);
    if (!ok) {
        ERR_clear_error();
        return AG_ERR_CRYPTO;
    }
    size_t tl = 0;
    return ag_base64url_encode(md, sizeof(md), out, AG_JTI_LEN + 1, &tl);
}

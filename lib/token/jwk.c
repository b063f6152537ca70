/* SPDX-License-Identifier: MIT */
/*
 * authgate — JWK and JWKS import (RFC 7517, RFC 7518 §6, RFC 8037); export
 * and RFC 7638 thumbprints are in jwk_export.c. Import is strict (no
 * duplicates, every member with its JSON type, the algorithm never
 * guessed from the key type: V-02), and private members are wiped from
 * OpenSSL and jansson buffers. The rules and error classes: docs/tokens.md,
 * "What loading a key checks".
 *
 * @test tests/token/test_jwk_import.c, tests/token/test_jwk_key_rules.c,
 * tests/token/test_jwk_export.c, tests/token/test_wycheproof_jwk.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "jwk_int.h"
#include "token_int.h"

#define AG__JWK_MAX_LEN (64u * 1024u)
#define AG__JWKS_MAX_LEN (1024u * 1024u)

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

typedef struct jctx {
    char *errbuf;
    size_t errlen;
} jctx;

static ag_err fail(const jctx *c, ag_err err, const char *why)
{
    if (c->errbuf != NULL && c->errlen > 0)
        (void)snprintf(c->errbuf, c->errlen, "%s", why);
    return err;
}

/* Overwrites every string value in a jansson tree (private members). */
static void json_wipe(json_t *j)
{
    if (j == NULL)
        return;
    if (json_is_string(j)) {
        size_t n = json_string_length(j);
        if (n > 0)
            OPENSSL_cleanse((void *)(uintptr_t)json_string_value(j), n);
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) json_wipe(v);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) json_wipe(v);
    }
}

void ag__json_wipe_decref(json_t *j)
{
    json_wipe(j);
    json_decref(j);
}

/* An optional string member: *s NULL when absent; KEY_FORMAT when present
 * with another JSON type. */
static ag_err get_str(const jctx *c, json_t *o, const char *name, const char **s, size_t *len)
{
    json_t *v = json_object_get(o, name);
    *s = NULL;
    *len = 0;
    if (v == NULL)
        return AG_OK;
    if (!json_is_string(v)) {
        char msg[64];
        (void)snprintf(msg, sizeof(msg), "\"%s\" is not a string", name);
        return fail(c, AG_ERR_KEY_FORMAT, msg);
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return AG_OK;
}

static bool str_is(const char *s, size_t len, const char *lit)
{
    if (lit == NULL)
        return false;
    size_t n = strlen(lit);
    return s != NULL && len == n && memcmp(s, lit, n) == 0;
}

/* A decoded base64url member, in OpenSSL memory, cleansed on release. */
typedef struct bytes {
    uint8_t *p;
    size_t n;
    bool present;
} bytes;

static void bytes_free(bytes *b)
{
    if (b->p != NULL)
        OPENSSL_clear_free(b->p, b->n > 0 ? b->n : 1);
    b->p = NULL;
    b->n = 0;
    b->present = false;
}

static ag_err get_b64(const jctx *c, json_t *o, const char *name, bool required, bytes *out)
{
    const char *s;
    size_t len;
    char msg[80];
    ag_err err = get_str(c, o, name, &s, &len);
    if (err != AG_OK)
        return err;
    if (s == NULL) {
        if (!required)
            return AG_OK;
        (void)snprintf(msg, sizeof(msg), "missing \"%s\"", name);
        return fail(c, AG_ERR_KEY_FORMAT, msg);
    }
    size_t cap = AG_B64URL_DECODED_MAX(len);
    uint8_t *p = OPENSSL_malloc(cap > 0 ? cap : 1);
    if (p == NULL)
        return fail(c, AG_ERR_NOMEM, "out of memory");
    size_t n = 0;
    if (ag_base64url_decode((const uint8_t *)s, len, p, cap, &n) != AG_OK) {
        OPENSSL_clear_free(p, cap > 0 ? cap : 1);
        (void)snprintf(msg, sizeof(msg), "\"%s\" is not strict base64url", name);
        return fail(c, AG_ERR_KEY_FORMAT, msg);
    }
    if (n == 0) {
        OPENSSL_clear_free(p, 1);
        (void)snprintf(msg, sizeof(msg), "\"%s\" is empty", name);
        return fail(c, AG_ERR_WEAK_KEY, msg);
    }
    out->p = p;
    out->n = n; /* cap >= n; the tail beyond n was never written */
    out->present = true;
    if (cap > n)
        OPENSSL_cleanse(p + n, cap - n);
    return AG_OK;
}

/* ------------------------------------------------------------------ */
/* Import                                                              */
/* ------------------------------------------------------------------ */

typedef enum jwk_kty { KTY_OCT = 1, KTY_RSA, KTY_EC, KTY_OKP } jwk_kty;

static ag_err import_oct(const jctx *c, json_t *o, ag_key *key)
{
    bytes k = {0};
    ag_err err = get_b64(c, o, "k", true, &k);
    if (err != AG_OK)
        return err;
    err = ag__key_set_secret(key, k.p, k.n);
    bytes_free(&k);
    if (err == AG_ERR_WEAK_KEY)
        return fail(c, err, "HMAC secret shorter than the hash (V-17)");
    if (err != AG_OK)
        return fail(c, err, "cannot set the HMAC secret");
    return AG_OK;
}

/* Builds the EVP_PKEY from params and binds it. */
static ag_err finish_pkey(const jctx *c, ag_key *key, const char *type, OSSL_PARAM *params,
                          bool priv)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (pctx == NULL)
        return fail(c, AG_ERR_NOMEM, "out of memory");
    int ok =
        EVP_PKEY_fromdata_init(pctx) == 1 &&
        EVP_PKEY_fromdata(pctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(pctx);
    ERR_clear_error();
    if (!ok) {
        EVP_PKEY_free(pkey);
        return fail(c, AG_ERR_KEY_FORMAT, "key material rejected (e.g. point not on the curve)");
    }
    if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) > AG__RSA_MAX_BITS) {
        EVP_PKEY_free(pkey);
        return fail(c, AG_ERR_KEY_FORMAT, "RSA modulus over 8192 bits (not supported)");
    }
    ag_err err = ag__key_set_pkey(key, pkey, priv);
    if (err != AG_OK) {
        EVP_PKEY_free(pkey);
        switch (err) {
        case AG_ERR_WEAK_KEY:
            return fail(c, err, "key too weak (RSA < 2048 bits, bad exponent or ROCA)");
        case AG_ERR_ALG:
            return fail(c, err, "key type does not fit the algorithm");
        default:
            return fail(c, err, "key fails validation (inconsistent or invalid)");
        }
    }
    return AG_OK;
}

static BIGNUM *bn_from(const bytes *b, bool secret)
{
    BIGNUM *bn = secret ? BN_secure_new() : BN_new();
    if (bn != NULL && BN_bin2bn(b->p, (int)b->n, bn) == NULL) {
        BN_clear_free(bn);
        bn = NULL;
    }
    return bn;
}

static ag_err import_rsa(const jctx *c, json_t *o, ag_key *key)
{
    static const char *const names[8] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    static const char *const params[8] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    bytes m[8];
    BIGNUM *bn[8] = {0};
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *ps = NULL;
    ag_err err = AG_OK;
    memset(m, 0, sizeof(m));

    if (json_object_get(o, "oth") != NULL)
        return fail(c, AG_ERR_KEY_FORMAT, "multi-prime RSA (\"oth\") is not supported");
    for (int i = 0; i < 8 && err == AG_OK; i++)
        err = get_b64(c, o, names[i], i < 2, &m[i]);
    if (err != AG_OK)
        goto done;
    if ((m[0].n > 1 && m[0].p[0] == 0) || (m[1].n > 1 && m[1].p[0] == 0)) {
        err = fail(c, AG_ERR_KEY_FORMAT, "\"n\" or \"e\" is not minimal (leading zero octet)");
        goto done;
    }
    int crt = 0;
    for (int i = 3; i < 8; i++)
        crt += m[i].present;
    if (crt != 0 && !m[2].present) {
        err = fail(c, AG_ERR_KEY_FORMAT, "RSA CRT members without \"d\"");
        goto done;
    }
    if (crt != 0 && crt != 5) {
        err = fail(c, AG_ERR_KEY_FORMAT, "partial RSA CRT members (need all of p, q, dp, dq, qi)");
        goto done;
    }
    bool priv = m[2].present;

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        err = fail(c, AG_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < 8; i++) {
        if (!m[i].present)
            continue;
        bn[i] = bn_from(&m[i], i >= 2);
        if (bn[i] == NULL || OSSL_PARAM_BLD_push_BN(bld, params[i], bn[i]) != 1) {
            err = fail(c, AG_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    ps = OSSL_PARAM_BLD_to_param(bld);
    if (ps == NULL) {
        err = fail(c, AG_ERR_NOMEM, "out of memory");
        goto done;
    }
    err = finish_pkey(c, key, "RSA", ps, priv);
done:
    OSSL_PARAM_free(ps); /* private BNs sit in its secure, cleared part */
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < 8; i++) {
        BN_clear_free(bn[i]);
        bytes_free(&m[i]);
    }
    return err;
}

static ag_err import_ec(const jctx *c, json_t *o, ag_key *key)
{
    size_t flen = key->alg == AG_ALG_ES256 ? 32 : 48;
    const char *group = key->alg == AG_ALG_ES256 ? "P-256" : "P-384";
    bytes x = {0}, y = {0}, d = {0};
    BIGNUM *dbn = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *ps = NULL;
    uint8_t pub[1 + 2 * 48];
    ag_err err;

    if ((err = get_b64(c, o, "x", true, &x)) != AG_OK ||
        (err = get_b64(c, o, "y", true, &y)) != AG_OK ||
        (err = get_b64(c, o, "d", false, &d)) != AG_OK)
        goto done;
    if (x.n != flen || y.n != flen) {
        err = fail(c, AG_ERR_KEY_FORMAT, "\"x\" and \"y\" must be exactly the field length");
        goto done;
    }
    if (d.present && d.n != flen) {
        err = fail(c, AG_ERR_KEY_FORMAT, "\"d\" must be exactly the order length");
        goto done;
    }
    pub[0] = 0x04;
    memcpy(pub + 1, x.p, flen);
    memcpy(pub + 1 + flen, y.p, flen);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * flen) != 1) {
        err = fail(c, AG_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (d.present) {
        dbn = bn_from(&d, true);
        if (dbn == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, dbn) != 1) {
            err = fail(c, AG_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    if ((ps = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
        err = fail(c, AG_ERR_NOMEM, "out of memory");
        goto done;
    }
    err = finish_pkey(c, key, "EC", ps, d.present);
done:
    OSSL_PARAM_free(ps);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(dbn);
    bytes_free(&x);
    bytes_free(&y);
    bytes_free(&d);
    return err;
}

static ag_err import_okp(const jctx *c, json_t *o, ag_key *key)
{
    bytes x = {0}, d = {0};
    ag_err err;
    if ((err = get_b64(c, o, "x", true, &x)) != AG_OK ||
        (err = get_b64(c, o, "d", false, &d)) != AG_OK)
        goto done;
    if (x.n != 32 || (d.present && d.n != 32)) {
        err = fail(c, AG_ERR_KEY_FORMAT, "Ed25519 \"x\" and \"d\" must be 32 bytes");
        goto done;
    }
    OSSL_PARAM ps[3];
    size_t i = 0;
    ps[i++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, x.p, x.n);
    if (d.present)
        ps[i++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, d.p, d.n);
    ps[i] = OSSL_PARAM_construct_end();
    err = finish_pkey(c, key, "ED25519", ps, d.present);
done:
    bytes_free(&x);
    bytes_free(&d);
    return err;
}

static bool kty_fits(jwk_kty t, ag__family f)
{
    switch (t) {
    case KTY_OCT:
        return f == AG__FAM_HMAC;
    case KTY_RSA:
        return f == AG__FAM_RSA_PKCS1 || f == AG__FAM_RSA_PSS;
    case KTY_EC:
        return f == AG__FAM_ECDSA;
    case KTY_OKP:
        return f == AG__FAM_EDDSA;
    }
    return false;
}

/* "key_ops" (RFC 7517 §4.3): an array of distinct strings that includes
 * "sign" or "verify". */
static ag_err check_key_ops(const jctx *c, json_t *ops)
{
    if (!json_is_array(ops))
        return fail(c, AG_ERR_KEY_FORMAT, "\"key_ops\" is not an array");
    bool sig = false;
    size_t n = json_array_size(ops);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(ops, i);
        if (!json_is_string(v))
            return fail(c, AG_ERR_KEY_FORMAT, "\"key_ops\" holds a non-string");
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        for (size_t j = 0; j < i; j++) {
            json_t *w = json_array_get(ops, j);
            if (json_string_length(w) == len && memcmp(json_string_value(w), s, len) == 0)
                return fail(c, AG_ERR_KEY_FORMAT, "duplicate \"key_ops\" value");
        }
        if (str_is(s, len, "sign") || str_is(s, len, "verify"))
            sig = true;
    }
    if (!sig)
        return fail(c, AG_ERR_KEY_FORMAT, "\"key_ops\" allows neither sign nor verify");
    return AG_OK;
}

static ag_err jwk_import(const jctx *c, json_t *o, ag_alg default_alg, ag_key **out)
{
    const char *s;
    size_t len;
    ag_err err;
    *out = NULL;
    if (!json_is_object(o))
        return fail(c, AG_ERR_KEY_FORMAT, "a JWK must be a JSON object");

    /* kty */
    if ((err = get_str(c, o, "kty", &s, &len)) != AG_OK)
        return err;
    jwk_kty t;
    if (s == NULL)
        return fail(c, AG_ERR_KEY_FORMAT, "missing \"kty\"");
    else if (str_is(s, len, "oct"))
        t = KTY_OCT;
    else if (str_is(s, len, "RSA"))
        t = KTY_RSA;
    else if (str_is(s, len, "EC"))
        t = KTY_EC;
    else if (str_is(s, len, "OKP"))
        t = KTY_OKP;
    else
        return fail(c, AG_ERR_KEY_FORMAT, "unsupported \"kty\"");

    /* alg: from the JWK, else the caller's; never guessed (V-02) */
    if ((err = get_str(c, o, "alg", &s, &len)) != AG_OK)
        return err;
    ag_alg alg = (ag_alg)0;
    if (s != NULL && ag_alg_from_name(s, len, &alg) != AG_OK)
        return fail(c, AG_ERR_ALG, "unsupported \"alg\"");
    if (default_alg != 0) {
        if (ag__alg_get(default_alg) == NULL)
            return fail(c, AG_ERR_ALG, "default_alg is not an algorithm");
        if (s == NULL)
            alg = default_alg;
        else if (alg != default_alg)
            return fail(c, AG_ERR_ALG, "\"alg\" differs from the expected algorithm");
    }
    if (alg == 0)
        return fail(c, AG_ERR_ALG, "no \"alg\" and no default: refusing to guess (V-02)");
    const ag__alg_info *info = ag__alg_get(alg);
    if (!kty_fits(t, info->family))
        return fail(c, AG_ERR_ALG, "\"kty\" does not fit \"alg\" (V-02)");

    /* curve, for EC and OKP */
    if (t == KTY_EC || t == KTY_OKP) {
        if ((err = get_str(c, o, "crv", &s, &len)) != AG_OK)
            return err;
        if (s == NULL)
            return fail(c, AG_ERR_KEY_FORMAT, "missing \"crv\"");
        if (!str_is(s, len, info->curve))
            return fail(c, AG_ERR_ALG, "\"crv\" is not the algorithm's curve");
    }

    /* use, key_ops */
    if ((err = get_str(c, o, "use", &s, &len)) != AG_OK)
        return err;
    if (s != NULL && !str_is(s, len, "sig"))
        return fail(c, AG_ERR_KEY_FORMAT, "\"use\" is not \"sig\"");
    json_t *ops = json_object_get(o, "key_ops");
    if (ops != NULL && (err = check_key_ops(c, ops)) != AG_OK)
        return err;

    /* kid: required; only ever a map key (V-08) */
    if ((err = get_str(c, o, "kid", &s, &len)) != AG_OK)
        return err;
    if (s == NULL)
        return fail(c, AG_ERR_KEY_FORMAT, "missing \"kid\"");
    if (!ag__kid_valid(s, len))
        return fail(c, AG_ERR_KEY_FORMAT, "\"kid\" must be 1..128 printable ASCII bytes");

    ag_key *key;
    if ((err = ag__key_alloc(alg, s, len, &key)) != AG_OK)
        return fail(c, err, "cannot make the key");
    switch (t) {
    case KTY_OCT:
        err = import_oct(c, o, key);
        break;
    case KTY_RSA:
        err = import_rsa(c, o, key);
        break;
    case KTY_EC:
        err = import_ec(c, o, key);
        break;
    case KTY_OKP:
        err = import_okp(c, o, key);
        break;
    }
    if (err != AG_OK) {
        ag_key_free(key);
        return err;
    }
    *out = key;
    return AG_OK;
}

static json_t *load_strict(const jctx *c, const char *text, size_t len, size_t max, ag_err *err)
{
    if (text == NULL) {
        *err = fail(c, AG_ERR_KEY_FORMAT, "no JSON text");
        return NULL;
    }
    if (len > max) {
        *err = fail(c, AG_ERR_KEY_FORMAT, "JSON text too large");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr); /* V-06 */
    if (j == NULL) {
        *err = fail(c, AG_ERR_KEY_FORMAT, "invalid JSON (or duplicate member)");
        return NULL;
    }
    if (!json_is_object(j)) {
        ag__json_wipe_decref(j);
        *err = fail(c, AG_ERR_KEY_FORMAT, "the top level must be a JSON object");
        return NULL;
    }
    return j;
}

ag_err ag_key_from_jwk(const char *json, size_t len, ag_alg default_alg, ag_key **out, char *errbuf,
                       size_t errlen)
{
    jctx c = {errbuf, errlen};
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    if (out == NULL)
        return fail(&c, AG_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    ag_err err = AG_OK;
    json_t *j = load_strict(&c, json, len, AG__JWK_MAX_LEN, &err);
    if (j == NULL)
        return err;
    err = jwk_import(&c, j, default_alg, out);
    ag__json_wipe_decref(j);
    return err;
}

ag_err ag_keyring_from_jwks(const char *json, size_t len, ag_alg default_alg, ag_keyring **out,
                            char *errbuf, size_t errlen)
{
    jctx c = {errbuf, errlen};
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    if (out == NULL)
        return fail(&c, AG_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    ag_err err = AG_OK;
    json_t *j = load_strict(&c, json, len, AG__JWKS_MAX_LEN, &err);
    if (j == NULL)
        return err;
    json_t *keys = json_object_get(j, "keys");
    ag_keyring *ring = NULL;
    if (!json_is_array(keys)) {
        err = fail(&c, AG_ERR_KEY_FORMAT, "\"keys\" missing or not an array");
        goto done;
    }
    if ((err = ag_keyring_new(NULL, &ring)) != AG_OK) {
        err = fail(&c, err, "out of memory");
        goto done;
    }
    size_t n = json_array_size(keys), nprivate = 0;
    for (size_t i = 0; i < n; i++) {
        char why[160] = "";
        jctx ic = {why, sizeof(why)};
        ag_key *k = NULL;
        err = jwk_import(&ic, json_array_get(keys, i), default_alg, &k);
        if (err == AG_OK) {
            err = ag_keyring_add(ring, k);
            if (err == AG_ERR_EXISTS)
                (void)snprintf(why, sizeof(why), "duplicate \"kid\"");
            nprivate += k->is_private;
            ag_key_free(k);
        }
        if (err != AG_OK) {
            if (errbuf != NULL && errlen > 0)
                (void)snprintf(errbuf, errlen, "keys[%zu]: %s", i, why);
            goto done;
        }
    }
    /* A set that mixes secret/private keys with public keys is refused:
     * either it is meant to be published, and then its secrets leak, or it
     * is not, and then it is ambiguous (Wycheproof MixedKeySet). */
    if (nprivate != 0 && nprivate != ring->count) {
        err = fail(&c, AG_ERR_KEY_FORMAT, "the set mixes private or secret keys with public keys");
        goto done;
    }
done:
    ag__json_wipe_decref(j);
    if (err != AG_OK) {
        ag_keyring_free(ring);
        return err;
    }
    *out = ring;
    return AG_OK;
}

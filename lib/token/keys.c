/* SPDX-License-Identifier: MIT */
/*
 * authgate — keys and keyrings: one key, one algorithm (V-01, V-02). Every
 * way to make a key ends in ag__key_set_secret() or ag__key_set_pkey(),
 * which hold the strength and validity rules (V-17), so no path can skip
 * them; keys live in OpenSSL's allocator and are wiped on the last
 * release. The checks per key type: docs/tokens.md, "What loading a key
 * checks".
 *
 * @test tests/token/test_keys.c
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "token_int.h"

#define AG__RSA_MIN_BITS 2048
#define AG__RSA_MAX_E_BITS 64
#define AG__RSA_GEN_BITS 3072

/* ------------------------------------------------------------------ */
/* Key objects                                                         */
/* ------------------------------------------------------------------ */

/* Process-unique key ids; the per-thread context caches in crypto.c are
 * keyed on them, so an id is never handed out twice. */
static atomic_uint_fast64_t next_key_id;

bool ag__kid_valid(const char *kid, size_t len)
{
    if (kid == NULL || len == 0 || len > AG_KID_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)kid[i];
        if (c < 0x21 || c > 0x7e)
            return false;
    }
    return true;
}

ag_err ag__key_alloc(ag_alg alg, const char *kid, size_t kid_len, ag_key **out)
{
    *out = NULL;
    const ag__alg_info *info = ag__alg_get(alg);
    if (info == NULL)
        return AG_ERR_ALG;
    if (!ag__kid_valid(kid, kid_len))
        return AG_ERR_INVALID_ARGUMENT;
    ag_key *k = OPENSSL_zalloc(sizeof(*k));
    if (k == NULL)
        return AG_ERR_NOMEM;
    atomic_init(&k->refs, 1);
    k->id = (uint64_t)atomic_fetch_add(&next_key_id, 1) + 1;
    k->alg = alg;
    k->info = info;
    memcpy(k->kid, kid, kid_len);
    k->kid[kid_len] = '\0';
    k->kid_len = kid_len;
    *out = k;
    return AG_OK;
}

ag_key *ag_key_ref(ag_key *key)
{
    if (key != NULL)
        atomic_fetch_add(&key->refs, 1);
    return key;
}

void ag_key_free(ag_key *key)
{
    if (key == NULL)
        return;
    if (atomic_fetch_sub(&key->refs, 1) != 1)
        return;
    EVP_PKEY_free(key->pkey);
    if (key->secret != NULL)
        OPENSSL_clear_free(key->secret, key->secret_len);
    OPENSSL_clear_free(key, sizeof(*key));
}

ag_alg ag_key_alg(const ag_key *key)
{
    return key != NULL ? key->alg : (ag_alg)0;
}

const char *ag_key_kid(const ag_key *key)
{
    return key != NULL ? key->kid : NULL;
}

bool ag_key_is_private(const ag_key *key)
{
    return key != NULL && key->is_private;
}

/* ------------------------------------------------------------------ */
/* HMAC secrets                                                        */
/* ------------------------------------------------------------------ */

static const char *sha2_name(int bits)
{
    return bits == 256 ? "SHA2-256" : bits == 384 ? "SHA2-384" : bits == 512 ? "SHA2-512" : NULL;
}

ag_err ag__key_set_pads(ag_key *key, const uint8_t *secret, size_t len)
{
    if (key == NULL || key->info->family != AG__FAM_HMAC || (secret == NULL && len > 0))
        return AG_ERR_ALG;
    size_t block = key->info->hash_bits == 256 ? 64 : 128;

    uint8_t k[AG__HMAC_BLOCK_MAX];
    memset(k, 0, sizeof(k));
    if (len > block) {
        /* RFC 2104 §2: keys longer than the block are hashed first. */
        EVP_MD *md = EVP_MD_fetch(NULL, sha2_name(key->info->hash_bits), NULL);
        unsigned int dl = 0;
        int ok = md != NULL && EVP_Digest(secret, len, k, &dl, md, NULL) == 1;
        EVP_MD_free(md);
        if (!ok) {
            OPENSSL_cleanse(k, sizeof(k));
            return AG_ERR_CRYPTO;
        }
    } else if (len > 0) {
        memcpy(k, secret, len);
    }
    for (size_t i = 0; i < block; i++) {
        key->ipad[i] = (uint8_t)(k[i] ^ 0x36);
        key->opad[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    OPENSSL_cleanse(k, sizeof(k));
    key->block_len = block;
    /* HS256: the states after the one pad block each, so HMAC compresses
     * only the message and one outer block (crypto.c). */
    key->hmac_mid_ok = block == 64 && ag__sha256_midstate(key->ipad, key->hmac_mid[0]) &&
                       ag__sha256_midstate(key->opad, key->hmac_mid[1]);
    if (!key->hmac_mid_ok)
        OPENSSL_cleanse(key->hmac_mid, sizeof(key->hmac_mid));
    return AG_OK;
}

ag_err ag__key_set_secret(ag_key *key, const uint8_t *secret, size_t len)
{
    if (key == NULL || key->info->family != AG__FAM_HMAC || key->secret != NULL ||
        key->pkey != NULL)
        return AG_ERR_ALG;
    size_t hlen = (size_t)key->info->hash_bits / 8;
    if (secret == NULL || len < hlen)
        return AG_ERR_WEAK_KEY; /* V-02: never a zero-length key; V-17 */
    uint8_t *copy = OPENSSL_malloc(len);
    if (copy == NULL)
        return AG_ERR_NOMEM;
    ag_err err = ag__key_set_pads(key, secret, len);
    if (err != AG_OK) {
        OPENSSL_free(copy);
        return err;
    }
    memcpy(copy, secret, len);
    key->secret = copy;
    key->secret_len = len;
    key->sig_len = key->info->sig_len;
    key->is_private = true;
    return AG_OK;
}

/* ------------------------------------------------------------------ */
/* Asymmetric keys                                                     */
/* ------------------------------------------------------------------ */

/* True when pkey holds a private part. */
static bool pkey_has_private(const EVP_PKEY *pkey)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &bn) == 1) {
            BN_clear_free(bn);
            return true;
        }
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1) {
            BN_clear_free(bn);
            return true;
        }
    } else {
        size_t n = 0;
        if (EVP_PKEY_get_raw_private_key(pkey, NULL, &n) == 1 && n > 0)
            return true;
    }
    ERR_clear_error();
    return false;
}

/*
 * ROCA (CVE-2017-15361): moduli made by the affected Infineon library are
 * p·q with p, q of the form k·M + (65537^a mod M), so n mod r lies in the
 * subgroup generated by 65537 mod r for every small prime r dividing M. A
 * random modulus passes all 38 residue tests with negligible probability.
 */
static bool rsa_roca_fingerprint(const BIGNUM *n)
{
    static const unsigned short primes[] = {
        3,  5,  7,  11, 13, 17,  19,  23,  29,  31,  37,  41,  43,  47,  53,  59,  61,  67,  71,
        73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
    for (size_t i = 0; i < AG__ARRAY_LEN(primes); i++) {
        BN_ULONG r = primes[i];
        BN_ULONG rem = BN_mod_word(n, r);
        if (rem == (BN_ULONG)-1)
            return false;
        BN_ULONG g = 65537 % r, x = 1;
        bool in_group = false;
        do {
            if (x == rem) {
                in_group = true;
                break;
            }
            x = (x * g) % r;
        } while (x != 1);
        if (!in_group)
            return false;
    }
    return true;
}

static ag_err rsa_strength(const EVP_PKEY *pkey)
{
    int bits = EVP_PKEY_get_bits(pkey);
    if (bits < AG__RSA_MIN_BITS)
        return AG_ERR_WEAK_KEY;
    if (bits > AG__RSA_MAX_BITS)
        return AG_ERR_KEY_FORMAT; /* its signatures would not fit AG__SIG_MAX */
    BIGNUM *n = NULL, *e = NULL;
    ag_err err = AG_ERR_KEY_FORMAT;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
        goto done;
    if (!BN_is_odd(e) || BN_is_one(e) || BN_is_zero(e)) {
        err = AG_ERR_WEAK_KEY; /* e = 1 is the identity; even e is no RSA key */
        goto done;
    }
    if (BN_num_bits(e) > AG__RSA_MAX_E_BITS)
        goto done; /* OpenSSL refuses such keys above 3072 bits at use time */
    if (rsa_roca_fingerprint(n)) {
        err = AG_ERR_WEAK_KEY;
        goto done;
    }
    err = AG_OK;
done:
    BN_free(n);
    BN_free(e);
    ERR_clear_error();
    return err;
}

/* Consistency of a private RSA key: sign a fixed message, verify it. */
static bool rsa_sign_roundtrip(EVP_PKEY *pkey)
{
    static const uint8_t msg[] = "authgate key consistency check";
    uint8_t sig[AG__RSA_MAX_BITS / 8];
    size_t sig_len = sizeof(sig);
    bool ok = false;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (m == NULL)
        return false;
    if (EVP_DigestSignInit_ex(m, NULL, "SHA2-256", NULL, NULL, pkey, NULL) == 1 &&
        EVP_DigestSign(m, sig, &sig_len, msg, sizeof(msg)) == 1 && EVP_MD_CTX_reset(m) == 1 &&
        EVP_DigestVerifyInit_ex(m, NULL, "SHA2-256", NULL, NULL, pkey, NULL) == 1 &&
        EVP_DigestVerify(m, sig, sig_len, msg, sizeof(msg)) == 1)
        ok = true;
    EVP_MD_CTX_free(m);
    return ok;
}

/*
 * The CRT members of a private RSA key agree with n, e and d:
 * n = p·q, p ≠ q, 0 < d < n, dp = d mod (p−1), dq = d mod (q−1),
 * e·dp ≡ 1 (mod p−1), e·dq ≡ 1 (mod q−1) (so e·d ≡ 1 mod lcm(p−1, q−1)),
 * 0 < qi < p and qi·q ≡ 1 (mod p). Exact arithmetic, milliseconds; OpenSSL's
 * pairwise check would add primality tests of p and q (half a second for
 * RSA-3072) that guard against nothing a private key's holder can't do.
 */
static bool rsa_crt_consistent(const EVP_PKEY *pkey)
{
    static const char *const names[8] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    BIGNUM *v[8] = {0};
    BN_CTX *ctx = BN_CTX_secure_new();
    bool ok = false;
    if (ctx == NULL)
        return false;
    for (int i = 0; i < 8; i++)
        if (EVP_PKEY_get_bn_param(pkey, names[i], &v[i]) != 1)
            goto done;
    const BIGNUM *n = v[0], *e = v[1], *d = v[2], *p = v[3], *q = v[4], *dp = v[5], *dq = v[6],
                 *qi = v[7];
    BN_CTX_start(ctx);
    BIGNUM *t = BN_CTX_get(ctx), *pm1 = BN_CTX_get(ctx), *qm1 = BN_CTX_get(ctx);
    if (BN_CTX_get(ctx) == NULL)
        goto end;
    if (BN_cmp(p, BN_value_one()) <= 0 || BN_cmp(q, BN_value_one()) <= 0 || BN_cmp(p, q) == 0)
        goto end;
    if (!BN_mul(t, p, q, ctx) || BN_cmp(t, n) != 0)
        goto end;
    if (BN_is_zero(d) || BN_cmp(d, n) >= 0)
        goto end;
    if (!BN_sub(pm1, p, BN_value_one()) || !BN_sub(qm1, q, BN_value_one()))
        goto end;
    if (!BN_mod(t, d, pm1, ctx) || BN_cmp(t, dp) != 0)
        goto end;
    if (!BN_mod(t, d, qm1, ctx) || BN_cmp(t, dq) != 0)
        goto end;
    if (!BN_mod_mul(t, e, dp, pm1, ctx) || !BN_is_one(t))
        goto end;
    if (!BN_mod_mul(t, e, dq, qm1, ctx) || !BN_is_one(t))
        goto end;
    if (BN_is_zero(qi) || BN_cmp(qi, p) >= 0)
        goto end;
    if (!BN_mod_mul(t, qi, q, p, ctx) || !BN_is_one(t))
        goto end;
    ok = true;
end:
    BN_CTX_end(ctx);
done:
    BN_CTX_free(ctx);
    for (int i = 0; i < 8; i++)
        BN_clear_free(v[i]);
    ERR_clear_error();
    return ok;
}

static bool ec_curve_is(const EVP_PKEY *pkey, const char *jwa_curve)
{
    char name[64];
    size_t n = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &n) !=
        1)
        return false; /* explicit parameters: no named group */
    if (strcmp(jwa_curve, "P-256") == 0)
        return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
    if (strcmp(jwa_curve, "P-384") == 0)
        return strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0;
    return false;
}

ag_err ag__key_set_pkey(ag_key *key, EVP_PKEY *pkey, bool is_private)
{
    if (key == NULL || pkey == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (key->pkey != NULL || key->secret != NULL)
        return AG_ERR_STATE;
    const ag__alg_info *info = key->info;
    size_t sig_len = info->sig_len;
    ag_err err;

    switch (info->family) {
    case AG__FAM_RSA_PKCS1:
    case AG__FAM_RSA_PSS:
        /* rsaEncryption only: an RSASSA-PSS-restricted key is refused. */
        if (!EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS"))
            return AG_ERR_ALG;
        if ((err = rsa_strength(pkey)) != AG_OK)
            return err;
        sig_len = (size_t)EVP_PKEY_get_size(pkey);
        break;
    case AG__FAM_ECDSA:
        if (!EVP_PKEY_is_a(pkey, "EC") || !ec_curve_is(pkey, info->curve)) {
            ERR_clear_error();
            return AG_ERR_ALG;
        }
        break;
    case AG__FAM_EDDSA: {
        if (!EVP_PKEY_is_a(pkey, "ED25519"))
            return AG_ERR_ALG;
        /* the raw public key, for the optional libsodium verifier */
        size_t raw_len = sizeof(key->ed_pub);
        if (EVP_PKEY_get_raw_public_key(pkey, key->ed_pub, &raw_len) != 1 ||
            raw_len != sizeof(key->ed_pub)) {
            ERR_clear_error();
            return AG_ERR_KEY_FORMAT;
        }
        /* small-order and other weak points are refused at import (V-17) */
        if (!ag__ed25519_public_ok(key->ed_pub))
            return AG_ERR_WEAK_KEY;
        break;
    }
    default:
        return AG_ERR_ALG; /* V-02: no EVP_PKEY ever becomes an HMAC key */
    }

    if (is_private && !pkey_has_private(pkey))
        return AG_ERR_KEY_FORMAT;

    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL)
        return AG_ERR_NOMEM;
    int ok = EVP_PKEY_public_check(ctx) == 1;
    if (ok && is_private) {
        if (EVP_PKEY_is_a(pkey, "RSA")) {
            BIGNUM *p = NULL;
            if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &p) == 1) {
                BN_clear_free(p);
                ok = rsa_crt_consistent(pkey);
            }
            ok = ok && rsa_sign_roundtrip(pkey);
        } else {
            ok = EVP_PKEY_pairwise_check(ctx) == 1;
        }
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok)
        return AG_ERR_KEY_FORMAT;

    key->pkey = pkey;
    key->sig_len = sig_len;
    key->is_private = is_private;
    return AG_OK;
}

/* ------------------------------------------------------------------ */
/* Constructors                                                        */
/* ------------------------------------------------------------------ */

static ag_err kid_arg(const char *kid, size_t *len)
{
    if (kid == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    size_t n = 0;
    while (n <= AG_KID_MAX_LEN && kid[n] != '\0')
        n++;
    if (!ag__kid_valid(kid, n))
        return AG_ERR_INVALID_ARGUMENT;
    *len = n;
    return AG_OK;
}

ag_err ag_key_from_secret(ag_alg alg, const uint8_t *secret, size_t len, const char *kid,
                          ag_key **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    const ag__alg_info *info = ag__alg_get(alg);
    if (info == NULL || info->family != AG__FAM_HMAC)
        return AG_ERR_ALG;
    if (secret == NULL && len > 0)
        return AG_ERR_INVALID_ARGUMENT;
    size_t kid_len;
    ag_err err = kid_arg(kid, &kid_len);
    if (err != AG_OK)
        return err;
    if (len < (size_t)info->hash_bits / 8)
        return AG_ERR_WEAK_KEY;
    ag_key *k;
    if ((err = ag__key_alloc(alg, kid, kid_len, &k)) != AG_OK)
        return err;
    if ((err = ag__key_set_secret(k, secret, len)) != AG_OK) {
        ag_key_free(k);
        return err;
    }
    *out = k;
    return AG_OK;
}

static int no_passphrase(char *buf, size_t size, size_t *len, const OSSL_PARAM *params, void *arg)
{
    (void)buf;
    (void)size;
    (void)params;
    (void)arg;
    *len = 0;
    return 0; /* encrypted keys are refused: there is no passphrase */
}

/* Decodes one key (PEM or DER, any structure) with the given selection. */
static EVP_PKEY *decode_pkey(const uint8_t *data, size_t len, int selection)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, NULL, NULL, NULL, selection, NULL, NULL);
    if (dctx == NULL)
        return NULL;
    const unsigned char *p = data;
    size_t left = len;
    if (OSSL_DECODER_CTX_set_passphrase_cb(dctx, no_passphrase, NULL) != 1 ||
        OSSL_DECODER_from_data(dctx, &p, &left) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

/* A PEM text that names a certificate or an encrypted key is refused before
 * any decoder sees it (a decoder chain could otherwise find a key inside). */
static bool pem_label_refused(const uint8_t *data, size_t len)
{
    static const char *const refused[] = {"-----BEGIN CERTIFICATE", "-----BEGIN X509",
                                          "-----BEGIN TRUSTED", "-----BEGIN ENCRYPTED",
                                          "Proc-Type: 4,ENCRYPTED"};
    for (size_t r = 0; r < AG__ARRAY_LEN(refused); r++) {
        size_t m = strlen(refused[r]);
        for (size_t i = 0; i + m <= len; i++)
            if (memcmp(data + i, refused[r], m) == 0)
                return true;
    }
    return false;
}

ag_err ag_key_from_pem(ag_alg alg, const uint8_t *data, size_t len, const char *kid, ag_key **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    const ag__alg_info *info = ag__alg_get(alg);
    if (info == NULL || info->family == AG__FAM_HMAC)
        return AG_ERR_ALG;
    if (data == NULL || len == 0)
        return AG_ERR_KEY_FORMAT;
    if (len > 1u << 20)
        return AG_ERR_KEY_FORMAT;
    size_t kid_len;
    ag_err err = kid_arg(kid, &kid_len);
    if (err != AG_OK)
        return err;
    if (pem_label_refused(data, len))
        return AG_ERR_KEY_FORMAT;

    EVP_PKEY *pkey = decode_pkey(data, len, EVP_PKEY_KEYPAIR);
    if (pkey == NULL)
        pkey = decode_pkey(data, len, EVP_PKEY_PUBLIC_KEY);
    ERR_clear_error();
    if (pkey == NULL)
        return AG_ERR_KEY_FORMAT;

    ag_key *k;
    if ((err = ag__key_alloc(alg, kid, kid_len, &k)) != AG_OK) {
        EVP_PKEY_free(pkey);
        return err;
    }
    if ((err = ag__key_set_pkey(k, pkey, pkey_has_private(pkey))) != AG_OK) {
        EVP_PKEY_free(pkey);
        ag_key_free(k);
        return err;
    }
    *out = k;
    return AG_OK;
}

ag_err ag_key_generate(ag_alg alg, const char *kid, ag_key **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    const ag__alg_info *info = ag__alg_get(alg);
    if (info == NULL)
        return AG_ERR_ALG;
    size_t kid_len = 1;
    ag_err err;
    if (kid != NULL && (err = kid_arg(kid, &kid_len)) != AG_OK)
        return err;

    ag_key *k;
    if ((err = ag__key_alloc(alg, kid != NULL ? kid : "-", kid_len, &k)) != AG_OK)
        return err;

    if (info->family == AG__FAM_HMAC) {
        uint8_t secret[64];
        size_t n = (size_t)info->hash_bits / 8;
        err = ag_random(secret, n);
        if (err == AG_OK)
            err = ag__key_set_secret(k, secret, n);
        OPENSSL_cleanse(secret, sizeof(secret));
    } else {
        EVP_PKEY *pkey = NULL;
        if (info->family == AG__FAM_RSA_PKCS1 || info->family == AG__FAM_RSA_PSS)
            pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)AG__RSA_GEN_BITS);
        else if (info->family == AG__FAM_ECDSA)
            pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", info->curve);
        else
            pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        ERR_clear_error();
        if (pkey == NULL) {
            err = AG_ERR_CRYPTO;
        } else if ((err = ag__key_set_pkey(k, pkey, true)) != AG_OK) {
            EVP_PKEY_free(pkey);
            err = AG_ERR_CRYPTO;
        }
    }
    if (err == AG_OK && kid == NULL) {
        char tp[AG_JTI_LEN + 1];
        err = ag__key_thumbprint(k, tp);
        if (err == AG_OK) {
            size_t n = strlen(tp);
            memcpy(k->kid, tp, n + 1);
            k->kid_len = n;
        }
    }
    if (err != AG_OK) {
        ag_key_free(k);
        return err;
    }
    *out = k;
    return AG_OK;
}

/* ------------------------------------------------------------------ */
/* Keyrings                                                            */
/* ------------------------------------------------------------------ */

/* The ring and a copy of the caller's allocator share one block, so the
 * caller's ag_allocator need not outlive the call. */
typedef struct ring_block {
    struct ag_keyring ring;
    ag_allocator alloc;
} ring_block;

ag_err ag_keyring_new(const ag_allocator *alloc, ag_keyring **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (alloc != NULL && (alloc->malloc == NULL || alloc->realloc == NULL || alloc->free == NULL))
        return AG_ERR_INVALID_ARGUMENT;
    ring_block *b = ag__calloc(alloc, sizeof(*b));
    if (b == NULL)
        return AG_ERR_NOMEM;
    if (alloc != NULL) {
        b->alloc = *alloc;
        b->ring.alloc = &b->alloc;
    } else {
        b->ring.alloc = NULL;
    }
    atomic_init(&b->ring.refs, 1);
    atomic_init(&b->ring.frozen, false);
    *out = &b->ring;
    return AG_OK;
}

static ag_key *ring_lookup(const ag_keyring *ring, const char *kid, size_t kid_len)
{
    if (kid == NULL || kid_len == 0 || kid_len > AG_KID_MAX_LEN)
        return NULL;
    for (size_t i = 0; i < ring->count; i++) {
        ag_key *k = ring->keys[i];
        /* V-08, V-16: exact and full-length; never a prefix match. */
        if (k->kid_len == kid_len && memcmp(k->kid, kid, kid_len) == 0)
            return k;
    }
    return NULL;
}

ag_err ag_keyring_add(ag_keyring *ring, ag_key *key)
{
    if (ring == NULL || key == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (atomic_load(&ring->frozen))
        return AG_ERR_STATE;
    if (ring_lookup(ring, key->kid, key->kid_len) != NULL)
        return AG_ERR_EXISTS;
    if (ring->count == ring->cap) {
        size_t cap = ring->cap != 0 ? ring->cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof(ag_key *))
            return AG_ERR_NOMEM;
        ag_key **keys = ag__realloc(ring->alloc, ring->keys, cap * sizeof(ag_key *));
        if (keys == NULL)
            return AG_ERR_NOMEM;
        ring->keys = keys;
        ring->cap = cap;
    }
    ring->keys[ring->count++] = ag_key_ref(key);
    return AG_OK;
}

const ag_key *ag_keyring_find(const ag_keyring *ring, const char *kid, size_t kid_len)
{
    if (ring == NULL)
        return NULL;
    return ring_lookup(ring, kid, kid_len);
}

const ag_key *ag_keyring_newest_signer(const ag_keyring *ring)
{
    if (ring == NULL)
        return NULL;
    for (size_t i = ring->count; i > 0; i--)
        if (ring->keys[i - 1]->is_private)
            return ring->keys[i - 1];
    return NULL;
}

size_t ag_keyring_count(const ag_keyring *ring)
{
    return ring != NULL ? ring->count : 0;
}

ag_keyring *ag__keyring_hold(const ag_keyring *cring)
{
    if (cring == NULL)
        return NULL;
    ag_keyring *ring = (ag_keyring *)(uintptr_t)cring; /* refs and frozen are atomics */
    atomic_store(&ring->frozen, true);
    atomic_fetch_add(&ring->refs, 1);
    return ring;
}

void ag_keyring_free(ag_keyring *ring)
{
    if (ring == NULL)
        return;
    if (atomic_fetch_sub(&ring->refs, 1) != 1)
        return;
    for (size_t i = 0; i < ring->count; i++)
        ag_key_free(ring->keys[i]);
    ring_block *b = (ring_block *)(void *)ring;
    ag_allocator a = b->alloc;
    const ag_allocator *ap = ring->alloc != NULL ? &a : NULL;
    ag__free(ap, ring->keys);
    ag__free(ap, b);
}

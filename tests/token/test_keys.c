/* SPDX-License-Identifier: MIT */
/*
 * Tests for lib/token/keys.c: key constructors, strength rules (V-17),
 * algorithm binding (V-01, V-02), kid rules (V-08), PEM/DER import,
 * HMAC pads, generation and keyrings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testsupport.h"
#include "token/token_int.h"

static const uint8_t secret64[64] = {
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
    23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
    45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64};

/* ---- helpers ------------------------------------------------------ */

/* Encodes pkey with OSSL_ENCODER; returns malloc'd bytes. */
static uint8_t *encode_key(EVP_PKEY *pkey, int selection, const char *format, const char *structure,
                           const char *cipher, size_t *len)
{
    OSSL_ENCODER_CTX *ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, format, structure, NULL);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_gt(OSSL_ENCODER_CTX_get_num_encoders(ctx), 0);
    if (cipher != NULL) {
        ck_assert_int_eq(OSSL_ENCODER_CTX_set_cipher(ctx, cipher, NULL), 1);
        ck_assert_int_eq(OSSL_ENCODER_CTX_set_passphrase(ctx, (const unsigned char *)"pass", 4), 1);
    }
    unsigned char *data = NULL;
    size_t n = 0;
    ck_assert_int_eq(OSSL_ENCODER_to_data(ctx, &data, &n), 1);
    OSSL_ENCODER_CTX_free(ctx);
    uint8_t *copy = malloc(n);
    memcpy(copy, data, n);
    OPENSSL_free(data);
    *len = n;
    return copy;
}

static EVP_PKEY *gen_rsa(unsigned bits, unsigned long e)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
    size_t b = bits;
    OSSL_PARAM ps[3];
    ps[0] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &b);
    ps[1] = OSSL_PARAM_construct_ulong(OSSL_PKEY_PARAM_RSA_E, &e);
    ps[2] = OSSL_PARAM_construct_end();
    ck_assert_int_eq(EVP_PKEY_CTX_set_params(ctx, ps), 1);
    EVP_PKEY *pkey = NULL;
    ck_assert_int_eq(EVP_PKEY_generate(ctx, &pkey), 1);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* A public RSA key with the modulus of `from` and exponent e (no private). */
static EVP_PKEY *rsa_with_e(EVP_PKEY *from, unsigned long e)
{
    BIGNUM *n = NULL;
    ck_assert_int_eq(EVP_PKEY_get_bn_param(from, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    BIGNUM *be = BN_new();
    BN_set_word(be, e);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
    OSSL_PARAM *ps = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;
    ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, ps), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(ps);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(be);
    return pkey;
}

static ag_err pem_import(ag_alg alg, EVP_PKEY *pkey, int selection, const char *format,
                         const char *structure, ag_key **out)
{
    size_t n;
    uint8_t *data = encode_key(pkey, selection, format, structure, NULL, &n);
    ag_err err = ag_key_from_pem(alg, data, n, "k1", out);
    free(data);
    return err;
}

/* HMAC from the key's precomputed pads, straight with EVP_Digest. */
static void hmac_from_pads(const ag_key *k, const uint8_t *msg, size_t n, uint8_t *mac,
                           unsigned *mlen)
{
    const char *name = k->info->hash_bits == 256   ? "SHA2-256"
                       : k->info->hash_bits == 384 ? "SHA2-384"
                                                   : "SHA2-512";
    EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t inner[64];
    unsigned ilen = 0;
    ck_assert_int_eq(EVP_DigestInit_ex2(c, md, NULL), 1);
    EVP_DigestUpdate(c, k->ipad, k->block_len);
    EVP_DigestUpdate(c, msg, n);
    EVP_DigestFinal_ex(c, inner, &ilen);
    ck_assert_int_eq(EVP_DigestInit_ex2(c, md, NULL), 1);
    EVP_DigestUpdate(c, k->opad, k->block_len);
    EVP_DigestUpdate(c, inner, ilen);
    EVP_DigestFinal_ex(c, mac, mlen);
    EVP_MD_CTX_free(c);
    EVP_MD_free(md);
}

/* ---- HMAC keys ---------------------------------------------------- */

START_TEST(test_secret_min_length_V17)
{
    static const struct {
        ag_alg alg;
        size_t min;
    } t[] = {{AG_ALG_HS256, 32}, {AG_ALG_HS384, 48}, {AG_ALG_HS512, 64}};
    for (size_t i = 0; i < 3; i++) {
        ag_key *k = NULL;
        ck_assert_int_eq(ag_key_from_secret(t[i].alg, secret64, t[i].min - 1, "k", &k),
                         AG_ERR_WEAK_KEY);
        ck_assert_ptr_null(k);
        ck_assert_int_eq(ag_key_from_secret(t[i].alg, secret64, 0, "k", &k), AG_ERR_WEAK_KEY);
        ck_assert_int_eq(ag_key_from_secret(t[i].alg, NULL, 0, "k", &k), AG_ERR_WEAK_KEY);
        ck_assert_int_eq(ag_key_from_secret(t[i].alg, secret64, t[i].min, "k", &k), AG_OK);
        ck_assert_int_eq(ag_key_alg(k), t[i].alg);
        ck_assert(ag_key_is_private(k));
        ck_assert_uint_eq(k->sig_len, t[i].min);
        ck_assert_ptr_null(k->pkey);
        ag_key_free(k);
    }
}
END_TEST

START_TEST(test_secret_rejects_asymmetric_alg_V02)
{
    for (int a = AG_ALG_RS256; a <= AG_ALG_EDDSA; a++) {
        ag_key *k = NULL;
        ck_assert_int_eq(ag_key_from_secret((ag_alg)a, secret64, 64, "k", &k), AG_ERR_ALG);
        ck_assert_ptr_null(k);
    }
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_secret((ag_alg)0, secret64, 64, "k", &k), AG_ERR_ALG);
    ck_assert_int_eq(ag_key_from_secret((ag_alg)13, secret64, 64, "k", &k), AG_ERR_ALG);
}
END_TEST

/* The precomputed pads give exactly RFC 2104 HMAC, for secrets shorter
 * than, equal to and longer than the block (hashed first). */
START_TEST(test_hmac_pads_match_openssl)
{
    static const uint8_t msg[] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0";
    uint8_t big[300];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 1);
    static const ag_alg algs[] = {AG_ALG_HS256, AG_ALG_HS384, AG_ALG_HS512};
    static const size_t lens[] = {64, 65, 128, 129, 300};
    for (size_t a = 0; a < 3; a++) {
        for (size_t l = 0; l < AG__ARRAY_LEN(lens); l++) {
            ag_key *k = NULL;
            ck_assert_int_eq(ag_key_from_secret(algs[a], big, lens[l], "k", &k), AG_OK);
            uint8_t want[64], got[64];
            size_t wl = 0;
            unsigned gl = 0;
            const char *dg = a == 0 ? "SHA2-256" : a == 1 ? "SHA2-384" : "SHA2-512";
            ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, dg, NULL, big, lens[l], msg,
                                            sizeof(msg) - 1, want, sizeof(want), &wl));
            hmac_from_pads(k, msg, sizeof(msg) - 1, got, &gl);
            ck_assert_uint_eq(wl, gl);
            ck_assert_mem_eq(want, got, wl);
            ck_assert_uint_eq(k->block_len, a == 0 ? 64 : 128);
            ck_assert_uint_eq(k->secret_len, lens[l]);
            ck_assert_mem_eq(k->secret, big, lens[l]);
            ag_key_free(k);
        }
    }
}
END_TEST

/* ---- kid (V-08) --------------------------------------------------- */

START_TEST(test_kid_rules_V08)
{
    char kid[AG_KID_MAX_LEN + 2];
    memset(kid, 'a', sizeof(kid));
    kid[AG_KID_MAX_LEN] = '\0';
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret64, 32, kid, &k), AG_OK);
    ck_assert_uint_eq(strlen(ag_key_kid(k)), AG_KID_MAX_LEN);
    ag_key_free(k);
    kid[AG_KID_MAX_LEN] = 'a';
    kid[AG_KID_MAX_LEN + 1] = '\0'; /* 129 bytes */
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret64, 32, kid, &k),
                     AG_ERR_INVALID_ARGUMENT);
    static const char *const bad[] = {"", "a b", "a\tb", "a\nb", "\x7f", "caf\xc3\xa9", "\x01"};
    for (size_t i = 0; i < AG__ARRAY_LEN(bad); i++)
        ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret64, 32, bad[i], &k),
                         AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret64, 32, NULL, &k),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(k);
    /* Path- or SQL-looking kids are just strings: a map key, never a path. */
    static const char *const odd[] = {"../../dev/null", "x'UNION_SELECT_'1';--", "|sleep_10", "!",
                                      "~"};
    for (size_t i = 0; i < AG__ARRAY_LEN(odd); i++) {
        ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret64, 32, odd[i], &k), AG_OK);
        ck_assert_str_eq(ag_key_kid(k), odd[i]);
        ag_key_free(k);
    }
    ck_assert(ag__kid_valid("ab", 2));
    ck_assert(!ag__kid_valid("a\0b", 3)); /* NUL is data, and not allowed */
    ck_assert(!ag__kid_valid(NULL, 0));
}
END_TEST

/* ---- refcounts and ids -------------------------------------------- */

START_TEST(test_ref_and_unique_ids)
{
    ag_key *a = NULL, *b = NULL;
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret64, 32, "a", &a), AG_OK);
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret64, 32, "a", &b), AG_OK);
    ck_assert(a->id != b->id);
    ck_assert_ptr_eq(ag_key_ref(a), a);
    ck_assert_uint_eq(atomic_load(&a->refs), 2);
    ag_key_free(a);
    ck_assert_uint_eq(atomic_load(&a->refs), 1);
    ck_assert_str_eq(ag_key_kid(a), "a");
    ag_key_free(a);
    ag_key_free(b);
    ag_key_free(NULL);
    ck_assert_ptr_null(ag_key_ref(NULL));
    ck_assert_ptr_null(ag_key_kid(NULL));
    ck_assert(!ag_key_is_private(NULL));
}
END_TEST

/* ---- generation --------------------------------------------------- */

START_TEST(test_generate_every_alg)
{
    ag_alg alg = (ag_alg)(_i + 1);
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_generate(alg, "gen", &k), AG_OK);
    ck_assert_int_eq(ag_key_alg(k), alg);
    ck_assert_str_eq(ag_key_kid(k), "gen");
    ck_assert(ag_key_is_private(k));
    const ag__alg_info *info = ag__alg_get(alg);
    if (info->family == AG__FAM_HMAC) {
        ck_assert_uint_eq(k->secret_len, (size_t)info->hash_bits / 8);
        ck_assert_ptr_null(k->pkey);
    } else {
        ck_assert_ptr_nonnull(k->pkey);
        if (info->family == AG__FAM_RSA_PKCS1 || info->family == AG__FAM_RSA_PSS) {
            ck_assert_int_eq(EVP_PKEY_get_bits(k->pkey), 3072);
            ck_assert_uint_eq(k->sig_len, 384);
        } else {
            ck_assert_uint_eq(k->sig_len, info->sig_len);
        }
    }
    /* Round trip: private JWK → import → public JWK → import. */
    char *priv = NULL, *pub = NULL, *pub2 = NULL;
    ck_assert_int_eq(ag_key_to_jwk(k, true, &priv), AG_OK);
    ag_key *k2 = NULL, *k3 = NULL;
    char why[128];
    ck_assert_msg(ag_key_from_jwk(priv, strlen(priv), 0, &k2, why, sizeof(why)) == AG_OK, "%s",
                  why);
    ck_assert(ag_key_is_private(k2));
    ck_assert_int_eq(ag_key_alg(k2), alg);
    char *priv2 = NULL;
    ck_assert_int_eq(ag_key_to_jwk(k2, true, &priv2), AG_OK);
    ck_assert_str_eq(priv, priv2);
    if (info->family != AG__FAM_HMAC) {
        ck_assert_int_eq(ag_key_to_jwk(k2, false, &pub), AG_OK);
        ck_assert_int_eq(ag_key_from_jwk(pub, strlen(pub), 0, &k3, why, sizeof(why)), AG_OK);
        ck_assert(!ag_key_is_private(k3));
        ck_assert_int_eq(ag_key_to_jwk(k3, false, &pub2), AG_OK);
        ck_assert_str_eq(pub, pub2);
        ck_assert_int_eq(EVP_PKEY_eq(k->pkey, k3->pkey), 1);
        char *none = NULL;
        ck_assert_int_eq(ag_key_to_jwk(k3, true, &none), AG_ERR_STATE);
        ck_assert_ptr_null(none);
    } else {
        ck_assert_int_eq(k2->secret_len, k->secret_len);
        ck_assert_mem_eq(k2->secret, k->secret, k->secret_len);
        ck_assert_int_eq(ag_key_to_jwk(k2, false, &pub), AG_ERR_KEY_FORMAT);
        ck_assert_ptr_null(pub);
    }
    OPENSSL_cleanse(priv, strlen(priv));
    OPENSSL_cleanse(priv2, strlen(priv2));
    ag_free(priv);
    ag_free(priv2);
    ag_free(pub);
    ag_free(pub2);
    ag_key_free(k);
    ag_key_free(k2);
    ag_key_free(k3);
}
END_TEST

/* kid NULL → the RFC 7638 thumbprint (43 base64url chars). */
START_TEST(test_generate_thumbprint_kid)
{
    static const ag_alg algs[] = {AG_ALG_HS256, AG_ALG_ES256, AG_ALG_EDDSA};
    for (size_t i = 0; i < AG__ARRAY_LEN(algs); i++) {
        ag_key *k = NULL;
        ck_assert_int_eq(ag_key_generate(algs[i], NULL, &k), AG_OK);
        ck_assert_uint_eq(strlen(ag_key_kid(k)), AG_JTI_LEN);
        ck_assert_uint_eq(k->kid_len, AG_JTI_LEN);
        char tp[AG_JTI_LEN + 1];
        ck_assert_int_eq(ag__key_thumbprint(k, tp), AG_OK);
        ck_assert_str_eq(tp, ag_key_kid(k));
        ag_key_free(k);
    }
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_generate((ag_alg)0, NULL, &k), AG_ERR_ALG);
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS256, "", &k), AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(k);
}
END_TEST

/* ---- PEM / DER ---------------------------------------------------- */

START_TEST(test_pem_der_forms)
{
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *rsa = gen_rsa(2048, 65537);
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    static const struct {
        int sel;
        const char *fmt, *st;
        bool priv;
    } forms[] = {
        {EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo", true},
        {EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", true},
        {EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo", false},
        {EVP_PKEY_PUBLIC_KEY, "DER", "SubjectPublicKeyInfo", false},
        {EVP_PKEY_KEYPAIR, "PEM", "type-specific", true}, /* traditional */
        {EVP_PKEY_KEYPAIR, "DER", "type-specific", true},
    };
    struct {
        EVP_PKEY *pk;
        ag_alg alg;
        bool traditional;
    } keys[] = {{ec, AG_ALG_ES256, true}, {rsa, AG_ALG_PS256, true}, {ed, AG_ALG_EDDSA, false}};
    for (size_t i = 0; i < AG__ARRAY_LEN(keys); i++) {
        for (size_t f = 0; f < AG__ARRAY_LEN(forms); f++) {
            if (f >= 4 && !keys[i].traditional)
                continue; /* Ed25519 has no traditional form */
            ag_key *k = NULL;
            ck_assert_msg(pem_import(keys[i].alg, keys[i].pk, forms[f].sel, forms[f].fmt,
                                     forms[f].st, &k) == AG_OK,
                          "key %zu form %zu", i, f);
            ck_assert_int_eq(ag_key_is_private(k), forms[f].priv);
            ck_assert_int_eq(EVP_PKEY_eq(k->pkey, keys[i].pk), 1);
            ck_assert_str_eq(ag_key_kid(k), "k1");
            ag_key_free(k);
        }
    }
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
}
END_TEST

/* V-01/V-02: the key type must fit the pinned algorithm, in every pair. */
START_TEST(test_pem_type_must_fit_alg_V02)
{
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    EVP_PKEY *rsa = gen_rsa(2048, 65537);
    struct {
        EVP_PKEY *pk;
        ag_alg ok; /* 0: fits no alg */
        bool rsa;
    } keys[] = {{p256, AG_ALG_ES256, false},
                {p384, AG_ALG_ES384, false},
                {p521, 0, false},
                {k1, 0, false},
                {ed, AG_ALG_EDDSA, false},
                {ed448, 0, false},
                {x25519, 0, false},
                {rsa, AG_ALG_RS256, true}};
    for (size_t i = 0; i < AG__ARRAY_LEN(keys); i++) {
        ck_assert_ptr_nonnull(keys[i].pk);
        for (int a = AG_ALG_HS256; a <= AG_ALG_EDDSA; a++) {
            bool fits =
                keys[i].rsa ? (a >= AG_ALG_RS256 && a <= AG_ALG_PS512) : a == (int)keys[i].ok;
            ag_key *k = NULL;
            ag_err err = pem_import((ag_alg)a, keys[i].pk, EVP_PKEY_PUBLIC_KEY, "PEM",
                                    "SubjectPublicKeyInfo", &k);
            ck_assert_msg(err == (fits ? AG_OK : AG_ERR_ALG), "key %zu alg %d: %s", i, a,
                          ag_err_name(err));
            ag_key_free(k);
        }
    }
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(ed448);
    EVP_PKEY_free(x25519);
    EVP_PKEY_free(rsa);
}
END_TEST

START_TEST(test_pem_weak_rsa_V17)
{
    EVP_PKEY *r1024 = gen_rsa(1024, 65537);
    ag_key *k = NULL;
    ck_assert_int_eq(pem_import(AG_ALG_RS256, r1024, EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo", &k),
                     AG_ERR_WEAK_KEY);
    ck_assert_int_eq(
        pem_import(AG_ALG_RS256, r1024, EVP_PKEY_PUBLIC_KEY, "DER", "SubjectPublicKeyInfo", &k),
        AG_ERR_WEAK_KEY);
    ck_assert_ptr_null(k);

    /* e = 3 is allowed by RFC 7518 and accepted (odd, > 1); e = 1 and even
     * exponents are refused. */
    EVP_PKEY *r3 = gen_rsa(2048, 3);
    ck_assert_int_eq(pem_import(AG_ALG_RS256, r3, EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo", &k),
                     AG_OK);
    ag_key_free(k);
    k = NULL;
    static const unsigned long bad_e[] = {1, 2, 65536, 65538};
    for (size_t i = 0; i < AG__ARRAY_LEN(bad_e); i++) {
        EVP_PKEY *p = rsa_with_e(r3, bad_e[i]);
        ck_assert_int_eq(
            pem_import(AG_ALG_RS256, p, EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo", &k),
            AG_ERR_WEAK_KEY);
        ck_assert_ptr_null(k);
        EVP_PKEY_free(p);
    }
    EVP_PKEY_free(r1024);
    EVP_PKEY_free(r3);
}
END_TEST

START_TEST(test_pem_refuses_cert_encrypted_garbage)
{
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ag_key *k = NULL;
    /* encrypted PKCS#8, PEM and DER: no passphrase callback, so refused */
    for (int der = 0; der < 2; der++) {
        size_t n;
        uint8_t *d = encode_key(ec, EVP_PKEY_KEYPAIR, der ? "DER" : "PEM", "PrivateKeyInfo",
                                "AES-256-CBC", &n);
        ck_assert_int_eq(ag_key_from_pem(AG_ALG_ES256, d, n, "k", &k), AG_ERR_KEY_FORMAT);
        free(d);
    }
    /* a self-signed certificate, PEM and DER */
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, ec);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"t", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    ck_assert_int_gt(X509_sign(x, ec, EVP_sha256()), 0);
    unsigned char *der = NULL;
    int dl = i2d_X509(x, &der);
    ck_assert_int_gt(dl, 0);
    ck_assert_int_eq(ag_key_from_pem(AG_ALG_ES256, der, (size_t)dl, "k", &k), AG_ERR_KEY_FORMAT);
    OPENSSL_free(der);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *pem;
    long pl = BIO_get_mem_data(b, &pem);
    ck_assert_int_eq(ag_key_from_pem(AG_ALG_ES256, (const uint8_t *)pem, (size_t)pl, "k", &k),
                     AG_ERR_KEY_FORMAT);
    BIO_free(b);
    X509_free(x);

    static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    ck_assert_int_eq(
        ag_key_from_pem(AG_ALG_ES256, (const uint8_t *)junk, sizeof(junk) - 1, "k", &k),
        AG_ERR_KEY_FORMAT);
    ck_assert_int_eq(ag_key_from_pem(AG_ALG_ES256, (const uint8_t *)"x", 0, "k", &k),
                     AG_ERR_KEY_FORMAT);
    ck_assert_int_eq(ag_key_from_pem(AG_ALG_HS256, (const uint8_t *)junk, 4, "k", &k), AG_ERR_ALG);
    ck_assert_ptr_null(k);

    /* a PEM that is not NUL-terminated: a copy with no slack after it */
    size_t n;
    uint8_t *d = encode_key(ec, EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo", NULL, &n);
    ck_assert_int_eq(ag_key_from_pem(AG_ALG_ES256, d, n, "k", &k), AG_OK);
    ag_key_free(k);
    k = NULL;
    /* truncated by one byte in the middle of the base64: refused */
    ck_assert_int_eq(ag_key_from_pem(AG_ALG_ES256, d, n / 2, "k", &k), AG_ERR_KEY_FORMAT);
    free(d);
    EVP_PKEY_free(ec);
}
END_TEST

/* ---- keyrings ----------------------------------------------------- */

static int alloc_calls, live_blocks;
static void *t_malloc(size_t n, void *ctx)
{
    (void)ctx;
    alloc_calls++;
    live_blocks++;
    return malloc(n);
}
static void *t_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    alloc_calls++;
    if (p == NULL)
        live_blocks++;
    return realloc(p, n);
}
static void t_free(void *p, void *ctx)
{
    (void)ctx;
    if (p != NULL)
        live_blocks--;
    free(p);
}

/* Small-order and non-canonical Ed25519 public keys are refused at import
 * (V-17): with them "verified" can mean "any signature of a certain shape".
 * The check is libsodium's; a build without it accepts them (and they then
 * verify nothing). */
START_TEST(test_ed25519_weak_points_V17)
{
    static const char *const weak_x[] = {
        "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* y = 1: the identity, order 1 */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* y = 0: order 4 */
        "7P_______________________________________38", /* y = p - 1: order 2 */
        "7f_______________________________________38", /* y = p: not canonical */
    };
    for (size_t i = 0; i < sizeof(weak_x) / sizeof(weak_x[0]); i++) {
        char jwk[256];
        snprintf(jwk, sizeof(jwk),
                 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"w\","
                 "\"alg\":\"EdDSA\"}",
                 weak_x[i]);
        ag_key *k = NULL;
        ag_err e = ag_key_from_jwk(jwk, strlen(jwk), (ag_alg)0, &k, NULL, 0);
        if (ag__sodium_backend())
            ck_assert_msg(e == AG_ERR_WEAK_KEY, "weak point %zu: %s", i, ag_err_name(e));
        ag_key_free(k);
    }
    /* honest keys still import */
    for (int i = 0; i < 16; i++) {
        ag_key *k = NULL;
        ck_assert_int_eq(ag_key_generate(AG_ALG_EDDSA, "ok", &k), AG_OK);
        char *pub = NULL;
        ck_assert_int_eq(ag_key_to_jwk(k, false, &pub), AG_OK);
        ag_key *k2 = NULL;
        ck_assert_int_eq(ag_key_from_jwk(pub, strlen(pub), (ag_alg)0, &k2, NULL, 0), AG_OK);
        ag_key_free(k2);
        ag_free(pub);
        ag_key_free(k);
    }
}
END_TEST

START_TEST(test_keyring_basics_V08)
{
    ag_allocator a = {t_malloc, t_realloc, t_free, NULL};
    ag_keyring *ring = NULL;
    alloc_calls = live_blocks = 0;
    {
        ag_allocator tmp = a; /* the ring copies the allocator */
        ck_assert_int_eq(ag_keyring_new(&tmp, &ring), AG_OK);
        memset(&tmp, 0, sizeof(tmp));
    }
    ck_assert_uint_eq(ag_keyring_count(ring), 0);
    ck_assert_ptr_null(ag_keyring_find(ring, "a", 1));

    char kid[8];
    ag_key *keys[10];
    for (int i = 0; i < 10; i++) {
        snprintf(kid, sizeof(kid), "key%d", i);
        ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret64, 32, kid, &keys[i]), AG_OK);
        ck_assert_int_eq(ag_keyring_add(ring, keys[i]), AG_OK);
        ck_assert_uint_eq(atomic_load(&keys[i]->refs), 2);
    }
    ck_assert_uint_eq(ag_keyring_count(ring), 10);
    ck_assert_ptr_eq(ag_keyring_find(ring, "key3", 4), keys[3]);
    /* V-08 / V-16: exact, full length, case-sensitive; never a prefix */
    ck_assert_ptr_null(ag_keyring_find(ring, "key", 3));
    ck_assert_ptr_null(ag_keyring_find(ring, "key3x", 5));
    ck_assert_ptr_null(ag_keyring_find(ring, "KEY3", 4));
    ck_assert_ptr_null(ag_keyring_find(ring, "key3\0", 5));
    ck_assert_ptr_null(ag_keyring_find(ring, NULL, 0));
    ck_assert_ptr_null(ag_keyring_find(ring, "", 0));
    ck_assert_ptr_null(ag_keyring_find(NULL, "key3", 4));

    /* duplicate kid, even for a different secret or algorithm */
    ag_key *dup = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS512, "key3", &dup), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, dup), AG_ERR_EXISTS);
    ck_assert_uint_eq(atomic_load(&dup->refs), 1);
    ck_assert_int_eq(ag_keyring_add(ring, NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_keyring_add(NULL, dup), AG_ERR_INVALID_ARGUMENT);

    /* freeze: adds fail; the hold is a reference */
    ag_keyring *held = ag__keyring_hold(ring);
    ck_assert_ptr_eq(held, ring);
    ag_key *late = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS256, "late", &late), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, late), AG_ERR_STATE);
    ag_keyring_free(ring); /* the caller's reference */
    ck_assert_ptr_eq(ag_keyring_find(held, "key9", 4), keys[9]);
    for (int i = 0; i < 10; i++)
        ag_key_free(keys[i]); /* the ring keeps its own */
    ck_assert_str_eq(ag_key_kid(ag_keyring_find(held, "key0", 4)), "key0");
    ag_keyring_free(held);
    ag_key_free(dup);
    ag_key_free(late);
    ag_keyring_free(NULL);
    ck_assert_int_gt(alloc_calls, 2); /* the ring used the caller's allocator */
    ck_assert_int_eq(live_blocks, 0);
}
END_TEST

START_TEST(test_keyring_to_jwks_skips_hmac)
{
    ag_keyring *ring = NULL;
    ck_assert_int_eq(ag_keyring_new(NULL, &ring), AG_OK);
    ag_key *h = NULL, *e = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS256, "h", &h), AG_OK);
    char *out = NULL;
    ck_assert_int_eq(ag_keyring_add(ring, h), AG_OK);
    ck_assert_int_eq(ag_keyring_to_jwks(ring, &out), AG_OK);
    ck_assert_str_eq(out, "{\"keys\":[]}");
    ag_free(out);
    ck_assert_int_eq(ag_key_generate(AG_ALG_ES256, "e", &e), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, e), AG_OK);
    ck_assert_int_eq(ag_keyring_to_jwks(ring, &out), AG_OK);
    json_error_t jerr;
    json_t *j = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_ptr_nonnull(j);
    json_t *keys = json_object_get(j, "keys");
    ck_assert_uint_eq(json_array_size(keys), 1);
    json_t *k0 = json_array_get(keys, 0);
    ck_assert_str_eq(json_string_value(json_object_get(k0, "kid")), "e");
    ck_assert_ptr_null(json_object_get(k0, "d"));
    ck_assert_ptr_null(strstr(out, "\"k\""));
    json_decref(j);
    /* the export re-imports as a public keyring */
    ag_keyring *back = NULL;
    ck_assert_int_eq(ag_keyring_from_jwks(out, strlen(out), 0, &back, NULL, 0), AG_OK);
    ck_assert_uint_eq(ag_keyring_count(back), 1);
    ck_assert(!ag_key_is_private(ag_keyring_find(back, "e", 1)));
    ag_keyring_free(back);
    ag_free(out);
    ag_key_free(h);
    ag_key_free(e);
    ag_keyring_free(ring);
}
END_TEST

/* ---- the RSA size cap at its boundary ------------------------------ */

/* A composite modulus of exactly `bits` bits with no small factors: a
 * product of 1024-bit primes and one prime that makes up the rest (a
 * public key needs no factorisation anyone knows). */
static BIGNUM *modulus_of_bits(int bits)
{
    BN_CTX *bctx = BN_CTX_new();
    BIGNUM *n = BN_new(), *p = BN_new();
    for (;;) {
        BN_one(n);
        int have = 0;
        while (bits - have > 2048) {
            ck_assert_int_eq(BN_generate_prime_ex(p, 1024, 0, NULL, NULL, NULL), 1);
            ck_assert_int_eq(BN_mul(n, n, p, bctx), 1);
            have = BN_num_bits(n);
        }
        ck_assert_int_eq(BN_generate_prime_ex(p, bits - have, 0, NULL, NULL, NULL), 1);
        ck_assert_int_eq(BN_mul(n, n, p, bctx), 1);
        if (BN_num_bits(n) == bits)
            break;
    }
    BN_free(p);
    BN_CTX_free(bctx);
    return n;
}

static EVP_PKEY *rsa_public_of(const BIGNUM *n)
{
    BIGNUM *be = BN_new();
    BN_set_word(be, 65537);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
    OSSL_PARAM *ps = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;
    ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, ps), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(ps);
    OSSL_PARAM_BLD_free(bld);
    BN_free(be);
    return pkey;
}

/* 8192 bits load and a full-size signature reaches the signature check;
 * 8193 bits (which no signature buffer could hold) are refused at load,
 * from PEM and from a JWK, with a reason that says why. */
START_TEST(test_rsa_size_cap_boundary)
{
    for (int bits = AG__RSA_MAX_BITS; bits <= AG__RSA_MAX_BITS + 1; bits++) {
        BIGNUM *n = modulus_of_bits(bits);
        EVP_PKEY *pkey = rsa_public_of(n);
        ag_key *k = NULL;
        ag_err want = bits <= AG__RSA_MAX_BITS ? AG_OK : AG_ERR_KEY_FORMAT;
        ck_assert_int_eq(
            pem_import(AG_ALG_RS256, pkey, EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo", &k),
            want);

        uint8_t raw[AG__RSA_MAX_BITS / 8 + 1];
        int rn = BN_bn2bin(n, raw);
        char nb[2 * sizeof(raw)], jwk[3 * sizeof(raw)], why[128] = "";
        size_t nl = 0;
        ck_assert_int_eq(ag_base64url_encode(raw, (size_t)rn, nb, sizeof(nb), &nl), AG_OK);
        snprintf(jwk, sizeof(jwk),
                 "{\"kty\":\"RSA\",\"alg\":\"RS256\",\"kid\":\"big\","
                 "\"n\":\"%s\",\"e\":\"AQAB\"}",
                 nb);
        ag_key *kj = NULL;
        ck_assert_int_eq(ag_key_from_jwk(jwk, strlen(jwk), 0, &kj, why, sizeof(why)), want);
        if (want != AG_OK) {
            ck_assert_ptr_nonnull(strstr(why, "8192"));
        } else {
            ck_assert_uint_eq(k->sig_len, AG__SIG_MAX);
            /* a well-formed token with a signature of the key's full length
             * fails on the signature itself, not on its size */
            ag_keyring *r = NULL;
            ck_assert_int_eq(ag_keyring_new(NULL, &r), AG_OK);
            ck_assert_int_eq(ag_keyring_add(r, kj), AG_OK);
            ag_verifier_config vc = AG_INIT(ag_verifier_config);
            vc.keys = r;
            vc.kind = AG_TOKEN_ANY;
            ag_verifier *v = NULL;
            ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_OK);
            static char tok[AG_TOKEN_MAX_LEN + 1];
            static uint8_t sig[AG__SIG_MAX];
            memset(sig, 0x5a, sizeof(sig));
            int w =
                snprintf(tok, sizeof(tok), "%s.e30.",
                         "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpZyJ9"); /* {"alg":"RS256","kid":"big"} */
            size_t sl = 0;
            ck_assert_int_eq(
                ag_base64url_encode(sig, sizeof(sig), tok + w, sizeof(tok) - (size_t)w, &sl),
                AG_OK);
            static ag_claims c = AG_INIT(ag_claims);
            ck_assert_int_eq(
                ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&c), &c),
                AG_ERR_SIGNATURE);
            ag_verifier_free(v);
            ag_keyring_free(r);
        }
        ag_key_free(k);
        ag_key_free(kj);
        EVP_PKEY_free(pkey);
        BN_free(n);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("keys");
    TCase *t = tcase_create("keys");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_secret_min_length_V17);
    tcase_add_test(t, test_secret_rejects_asymmetric_alg_V02);
    tcase_add_test(t, test_hmac_pads_match_openssl);
    tcase_add_test(t, test_kid_rules_V08);
    tcase_add_test(t, test_ref_and_unique_ids);
    tcase_add_loop_test(t, test_generate_every_alg, 0, AG_ALG_EDDSA);
    tcase_add_test(t, test_generate_thumbprint_kid);
    tcase_add_test(t, test_pem_der_forms);
    tcase_add_test(t, test_pem_type_must_fit_alg_V02);
    tcase_add_test(t, test_pem_weak_rsa_V17);
    tcase_add_test(t, test_pem_refuses_cert_encrypted_garbage);
    tcase_add_test(t, test_ed25519_weak_points_V17);
    tcase_add_test(t, test_keyring_basics_V08);
    tcase_add_test(t, test_keyring_to_jwks_skips_hmac);
    tcase_add_test(t, test_rsa_size_cap_boundary);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return ag_test_run(suite());
}

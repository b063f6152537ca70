/* SPDX-License-Identifier: MIT */
/*
 * authgate — signing and signature verification, and HMAC with a key's
 * precomputed pads, on per-thread reusable OpenSSL state. SHA-2, raw-secret
 * HMAC-SHA-256 and random ids live below in lib/common/crypto_prim.c.
 * Signature contexts are cached per thread and per key id, each holding its
 * own reference to the key. Why, and what was measured: docs/tokens.md,
 * "Performance choices".
 */
#include <pthread.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include "token_int.h"

#ifdef AG_HAVE_SODIUM
#include <sodium.h>
#endif

/* ---- process-wide, immutable after first use ----------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t tcache_key;
static int init_ok;

typedef struct pk_entry {
    uint64_t key_id;
    EVP_PKEY_CTX *ctx; /* RSA, PSS, ECDSA: initialised once for this key */
    EVP_MD_CTX *mctx;  /* EdDSA: re-initialised per call, always with this key */
} pk_entry;

#define PK_SLOTS 8

typedef struct tcache {
    pk_entry pk[PK_SLOTS];
    unsigned next;
} tcache;

static _Thread_local tcache *tc;

static void tcache_free(void *p)
{
    tcache *t = p;
    if (t == NULL)
        return;
    for (int i = 0; i < PK_SLOTS; i++) {
        EVP_PKEY_CTX_free(t->pk[i].ctx);
        EVP_MD_CTX_free(t->pk[i].mctx);
    }
    OPENSSL_clear_free(t, sizeof(*t));
    if (tc == t)
        tc = NULL;
}

static void global_init(void)
{
#ifdef AG_HAVE_SODIUM
    if (sodium_init() < 0)
        return;
#endif
    if (pthread_key_create(&tcache_key, tcache_free) != 0)
        return;
    init_ok = 1;
}

static tcache *thread_cache(void)
{
    if (tc != NULL)
        return tc;
    if (pthread_once(&init_once, global_init) != 0 || !init_ok)
        return NULL;
    tcache *t = OPENSSL_zalloc(sizeof(*t));
    if (t == NULL)
        return NULL;
    if (pthread_setspecific(tcache_key, t) != 0) {
        OPENSSL_free(t);
        return NULL;
    }
    tc = t;
    return t;
}

void ag_thread_cleanup(void)
{
    ag__crypto_thread_cleanup();
    if (tc != NULL) {
        tcache *t = tc;
        (void)pthread_setspecific(tcache_key, NULL);
        tcache_free(t);
    }
}

/* ---- HMAC with a key's precomputed pads ------------------------------ */

#ifdef AG__SHA256_NI

/* HMAC-SHA-256 from the key's midstates (RFC 2104): the inner hash goes on
 * from the state after K^ipad (64 bytes already counted), the outer one
 * from the state after K^opad over the 32-byte inner digest. */
static void hmac_sha256_ni(const ag_key *key, const uint8_t *msg, size_t n, uint8_t mac[32])
{
    uint32_t st[8];
    uint8_t block[64];
    const size_t full = n / 64, tail = n % 64;
    memcpy(st, key->hmac_mid[0], sizeof(st));
    if (full > 0)
        ag__sha256_ni_blocks(st, msg, full);
    if (tail > 0)
        memcpy(block, msg + (n - tail), tail);
    ag__sha256_ni_final(st, block, tail, 64u + (uint64_t)n, block); /* inner digest → block */
    memcpy(st, key->hmac_mid[1], sizeof(st));
    ag__sha256_ni_final(st, block, 32, 64u + 32u, mac);
    OPENSSL_cleanse(st, sizeof(st));
    OPENSSL_cleanse(block, sizeof(block));
}

#endif /* AG__SHA256_NI */

ag_err ag__hmac(const ag_key *key, const uint8_t *msg, size_t n, uint8_t *mac)
{
#ifdef AG__SHA256_NI
    if (key->hmac_mid_ok && ag__sha256_ni_usable()) {
        hmac_sha256_ni(key, msg, n, mac);
        return AG_OK;
    }
#endif
    uint8_t inner[64];
    ag__digest d;
    ag_err err = ag__digest_begin(key->info->hash_bits, &d);
    if (err != AG_OK)
        return err;
    bool ok = ag__digest_update(&d, key->ipad, key->block_len) && ag__digest_update(&d, msg, n) &&
              ag__digest_final(&d, inner);
    if (ok) {
        err = ag__digest_begin(key->info->hash_bits, &d);
        ok = err == AG_OK && ag__digest_update(&d, key->opad, key->block_len) &&
             ag__digest_update(&d, inner, d.len) && ag__digest_final(&d, mac);
    }
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok ? AG_OK : AG_ERR_CRYPTO;
}

/* ---- ECDSA signature encodings ---------------------------------------- */

/* Appends one DER INTEGER for the big-endian unsigned n-byte value v. */
static size_t der_int(uint8_t *out, const uint8_t *v, size_t n)
{
    size_t skip = 0;
    while (skip + 1 < n && v[skip] == 0)
        skip++;
    size_t len = n - skip;
    size_t pad = (v[skip] & 0x80) ? 1 : 0;
    out[0] = 0x02;
    out[1] = (uint8_t)(len + pad);
    if (pad)
        out[2] = 0;
    memcpy(out + 2 + pad, v + skip, len);
    return 2 + pad + len;
}

/* Raw R‖S (2n bytes, n ≤ 48) → DER ECDSA-Sig-Value. Needs out[2n + 8]. */
static size_t rs_to_der(const uint8_t *sig, size_t n, uint8_t *out)
{
    size_t len = der_int(out + 2, sig, n);
    len += der_int(out + 2 + len, sig + n, n);
    out[0] = 0x30;
    out[1] = (uint8_t)len;
    return len + 2;
}

/* Reads one DER INTEGER into a fixed n-byte big-endian buffer. */
static int der_read_int(const uint8_t **pp, const uint8_t *end, uint8_t *v, size_t n)
{
    const uint8_t *p = *pp;
    if (end - p < 2 || p[0] != 0x02 || p[1] == 0 || p[1] > end - p - 2)
        return 0;
    size_t len = p[1];
    p += 2;
    while (len > 0 && *p == 0) {
        p++;
        len--;
    }
    if (len > n)
        return 0;
    memset(v, 0, n - len);
    memcpy(v + (n - len), p, len);
    *pp = p + len;
    return 1;
}

static const uint8_t p256_order[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
static const uint8_t p384_order[48] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73};

/* s := n − s when s > n/2 (low-S normalisation, I-04). Big-endian, n bytes. */
static void ecdsa_low_s(uint8_t *s, size_t n)
{
    const uint8_t *order = n == 32 ? p256_order : p384_order;
    /* half = order >> 1 */
    uint8_t half[48];
    unsigned carry = 0;
    for (size_t i = 0; i < n; i++) {
        half[i] = (uint8_t)((order[i] >> 1) | (carry << 7));
        carry = order[i] & 1u;
    }
    if (memcmp(s, half, n) <= 0)
        return;
    int borrow = 0;
    for (size_t i = n; i-- > 0;) {
        int d = (int)order[i] - (int)s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

/* ---- signatures ----------------------------------------------------- */

static const EVP_MD *md_for(const ag_key *key)
{
    return ag__sha2_md(key->info->hash_bits);
}

static int setup_ctx(const ag_key *key, EVP_PKEY_CTX *ctx, int verify)
{
    if ((verify ? EVP_PKEY_verify_init(ctx) : EVP_PKEY_sign_init(ctx)) <= 0)
        return 0;
    if (key->info->family == AG__FAM_ECDSA)
        return 1;
    int pad = key->info->family == AG__FAM_RSA_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, pad) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, md_for(key)) <= 0)
        return 0;
    if (pad == RSA_PKCS1_PSS_PADDING) {
        /* RFC 7518 §3.5: MGF1 with the same hash, salt = hash length. */
        if (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md_for(key)) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
            return 0;
    }
    return 1;
}

/*
 * The calling thread's verify context for key, made on first use. Entries
 * are keyed by the key's process-unique id and hold their own reference to
 * the EVP_PKEY, so a context is only ever used with the key it was made
 * for. (An EdDSA EVP_MD_CTX must never be re-initialised with another key:
 * OpenSSL 3.0 keeps the key of the first initialisation.)
 */
static pk_entry *cached_entry(tcache *t, const ag_key *key)
{
    for (int i = 0; i < PK_SLOTS; i++)
        if ((t->pk[i].ctx != NULL || t->pk[i].mctx != NULL) && t->pk[i].key_id == key->id)
            return &t->pk[i];
    pk_entry fresh = {key->id, NULL, NULL};
    if (key->info->family == AG__FAM_EDDSA) {
        if ((fresh.mctx = EVP_MD_CTX_new()) == NULL)
            return NULL;
    } else {
        fresh.ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
        if (fresh.ctx == NULL || !setup_ctx(key, fresh.ctx, 1)) {
            EVP_PKEY_CTX_free(fresh.ctx);
            return NULL;
        }
    }
    pk_entry *e = &t->pk[t->next++ % PK_SLOTS];
    EVP_PKEY_CTX_free(e->ctx);
    EVP_MD_CTX_free(e->mctx);
    *e = fresh;
    return e;
}

bool ag__ed25519_public_ok(const uint8_t pk[32])
{
#ifdef AG_HAVE_SODIUM
    /* Canonical encoding, on the curve, in the prime-order subgroup, not
     * of small order: what every honestly generated key is. sodium_init is
     * idempotent and thread-safe; it is called here and not via
     * global_init, which must not fetch digests at key import. */
    return sodium_init() >= 0 && crypto_core_ed25519_is_valid_point(pk) == 1;
#else
    (void)pk;
    return true; /* OpenSSL 3.0 has no such check; such a key never verifies anything */
#endif
}

bool ag__sodium_backend(void)
{
#ifdef AG_HAVE_SODIUM
    return true;
#else
    return false;
#endif
}

ag_err ag__verify_ed25519_openssl(const ag_key *key, const uint8_t *msg, size_t n,
                                  const uint8_t *sig, size_t sig_len)
{
    tcache *t = thread_cache();
    if (t == NULL)
        return AG_ERR_NOMEM;
    if (key->info->family != AG__FAM_EDDSA || sig_len != key->sig_len)
        return AG_ERR_SIGNATURE;
    pk_entry *e = cached_entry(t, key);
    if (e == NULL)
        return AG_ERR_CRYPTO;
    if (EVP_DigestVerifyInit_ex(e->mctx, NULL, NULL, NULL, NULL, key->pkey, NULL) != 1)
        return AG_ERR_CRYPTO;
    if (EVP_DigestVerify(e->mctx, sig, sig_len, msg, n) != 1) {
        ERR_clear_error();
        return AG_ERR_SIGNATURE;
    }
    return AG_OK;
}

ag_err ag__verify_sig(const ag_key *key, const uint8_t *msg, size_t n, const uint8_t *sig,
                      size_t sig_len)
{
    if (sig_len != key->sig_len)
        return AG_ERR_SIGNATURE;

    /* HMAC needs no per-thread state of ours on the SHA-extensions path
     * (ag__hmac makes it itself when it takes OpenSSL's) */
    if (key->info->family == AG__FAM_HMAC) {
        uint8_t mac[64];
        ag_err err = ag__hmac(key, msg, n, mac);
        if (err == AG_OK && !ag__ct_eq(mac, sig, sig_len))
            err = AG_ERR_SIGNATURE;
        OPENSSL_cleanse(mac, sizeof(mac));
        return err;
    }

    tcache *t = thread_cache(); /* also runs global_init (sodium_init) */
    if (t == NULL)
        return AG_ERR_NOMEM;
    int rc;
    if (key->info->family == AG__FAM_EDDSA) {
#ifdef AG_HAVE_SODIUM
        /* libsodium: about 1.6x faster than OpenSSL 3.0 and allocation-free
         * (bench/README.md); held to OpenSSL by tests/token/test_jws_verify_path.c */
        return crypto_sign_verify_detached(sig, msg, n, key->ed_pub) == 0 ? AG_OK
                                                                          : AG_ERR_SIGNATURE;
#else
        return ag__verify_ed25519_openssl(key, msg, n, sig, sig_len);
#endif
    }
    pk_entry *e = cached_entry(t, key);
    if (e == NULL)
        return AG_ERR_CRYPTO;
    {
        uint8_t dgst[64];
        ag_span part = {msg, n};
        ag_err err = ag__sha2(key->info->hash_bits, &part, 1, dgst);
        if (err != AG_OK)
            return err;
        EVP_PKEY_CTX *ctx = e->ctx;
        size_t dlen = (size_t)key->info->hash_bits / 8;
        if (key->info->family == AG__FAM_ECDSA) {
            uint8_t der[2 * 48 + 8];
            size_t der_len = rs_to_der(sig, sig_len / 2, der);
            rc = EVP_PKEY_verify(ctx, der, der_len, dgst, dlen);
        } else {
            rc = EVP_PKEY_verify(ctx, sig, sig_len, dgst, dlen);
        }
    }
    if (rc != 1) {
        ERR_clear_error();
        return AG_ERR_SIGNATURE;
    }
    return AG_OK;
}

ag_err ag__sign(const ag_key *key, const uint8_t *msg, size_t n, uint8_t *sig, size_t cap,
                size_t *sig_len)
{
    *sig_len = 0;
    if (thread_cache() == NULL)
        return AG_ERR_NOMEM;
    if (!key->is_private)
        return AG_ERR_STATE;
    if (cap < key->sig_len)
        return AG_ERR_BUFFER;

    if (key->info->family == AG__FAM_HMAC) {
        ag_err err = ag__hmac(key, msg, n, sig);
        if (err == AG_OK)
            *sig_len = key->sig_len;
        return err;
    }

    ag_err err = AG_ERR_CRYPTO;
    if (key->info->family == AG__FAM_EDDSA) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        size_t len = cap;
        if (m != NULL && EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, key->pkey, NULL) == 1 &&
            EVP_DigestSign(m, sig, &len, msg, n) == 1 && len == key->sig_len) {
            *sig_len = len;
            err = AG_OK;
        }
        EVP_MD_CTX_free(m);
        ERR_clear_error();
        return m == NULL ? AG_ERR_NOMEM : err;
    }

    uint8_t dgst[64];
    ag_span part = {msg, n};
    err = ag__sha2(key->info->hash_bits, &part, 1, dgst);
    if (err != AG_OK)
        return err;
    size_t dlen = (size_t)key->info->hash_bits / 8;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (ctx == NULL)
        return AG_ERR_NOMEM;
    err = AG_ERR_CRYPTO;
    if (setup_ctx(key, ctx, 0)) {
        if (key->info->family == AG__FAM_ECDSA) {
            uint8_t der[2 * 48 + 16];
            size_t der_len = sizeof(der);
            size_t half = key->sig_len / 2;
            if (EVP_PKEY_sign(ctx, der, &der_len, dgst, dlen) == 1 && der_len >= 8 &&
                der[0] == 0x30 && der[1] == der_len - 2) {
                const uint8_t *p = der + 2, *end = der + der_len;
                if (der_read_int(&p, end, sig, half) && der_read_int(&p, end, sig + half, half) &&
                    p == end) {
                    ecdsa_low_s(sig + half, half);
                    *sig_len = key->sig_len;
                    err = AG_OK;
                }
            }
            OPENSSL_cleanse(der, sizeof(der));
        } else {
            size_t len = cap;
            if (EVP_PKEY_sign(ctx, sig, &len, dgst, dlen) == 1 && len == key->sig_len) {
                *sig_len = len;
                err = AG_OK;
            }
        }
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return err;
}

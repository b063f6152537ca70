/* SPDX-License-Identifier: MIT */
/*
 * authgate — SHA-2, HMAC-SHA-256 and random identifiers on per-thread
 * reusable OpenSSL state, for every layer (crypto_int.h). Digests are
 * fetched once per process; their provider contexts are re-initialised per
 * call, which allocates nothing, and SHA-256 runs on the SHA extensions
 * while the default provider serves it. Design and measurements:
 * docs/tokens.md, "Performance choices".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "crypto_int.h"

/* ---- process-wide, immutable after first use ----------------------- */

typedef struct sha_impl {
    EVP_MD *md;
    void *provctx;
    OSSL_FUNC_digest_newctx_fn *newctx;
    OSSL_FUNC_digest_init_fn *init;
    OSSL_FUNC_digest_update_fn *update;
    OSSL_FUNC_digest_final_fn *final;
    OSSL_FUNC_digest_freectx_fn *freectx;
    size_t len;
} sha_impl;

static sha_impl sha[3]; /* 256, 384, 512 */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t tcache_key;
static int init_ok;
/* sha[0] is the default provider's: SHA-256 may run on sha256_ni.c */
static bool sha256_default;
/* Bumped in a forked child: a parent's unused random bytes must never be
 * handed out again by its child (two processes, one jti). */
static atomic_uint fork_gen;

static void after_fork_child(void)
{
    atomic_fetch_add(&fork_gen, 1u);
}

static int sha_index(int bits)
{
    return bits == 256 ? 0 : bits == 384 ? 1 : bits == 512 ? 2 : -1;
}

static int first_name_is(const char *names, const EVP_MD *md)
{
    char buf[64];
    size_t i = 0;
    while (names[i] != '\0' && names[i] != ':' && i + 1 < sizeof(buf)) {
        buf[i] = names[i];
        i++;
    }
    buf[i] = '\0';
    return EVP_MD_is_a(md, buf);
}

static void bind_dispatch(sha_impl *s)
{
    const OSSL_PROVIDER *prov = EVP_MD_get0_provider(s->md);
    if (prov == NULL)
        return;
    int no_cache = 0;
    const OSSL_ALGORITHM *algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_DIGEST, &no_cache);
    if (algs == NULL)
        return;
    for (const OSSL_ALGORITHM *a = algs; a->algorithm_names != NULL; a++) {
        if (!first_name_is(a->algorithm_names, s->md))
            continue;
        sha_impl t = *s;
        for (const OSSL_DISPATCH *d = a->implementation; d->function_id != 0; d++) {
            switch (d->function_id) {
            case OSSL_FUNC_DIGEST_NEWCTX:
                t.newctx = OSSL_FUNC_digest_newctx(d);
                break;
            case OSSL_FUNC_DIGEST_INIT:
                t.init = OSSL_FUNC_digest_init(d);
                break;
            case OSSL_FUNC_DIGEST_UPDATE:
                t.update = OSSL_FUNC_digest_update(d);
                break;
            case OSSL_FUNC_DIGEST_FINAL:
                t.final = OSSL_FUNC_digest_final(d);
                break;
            case OSSL_FUNC_DIGEST_FREECTX:
                t.freectx = OSSL_FUNC_digest_freectx(d);
                break;
            default:
                break;
            }
        }
        if (t.newctx && t.init && t.update && t.final && t.freectx) {
            t.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
            *s = t;
        }
        break;
    }
    OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_DIGEST, algs);
}

#define RND_POOL 1024

typedef struct tcache {
    uint8_t rnd[RND_POOL]; /* CSPRNG bytes not yet handed out (jtis) */
    size_t rnd_left;       /* the last rnd_left bytes of rnd are unused */
    unsigned rnd_gen;      /* fork generation the pool was drawn in */
    void *sha_ctx[3];      /* provider contexts (dispatch path) */
    EVP_MD_CTX *md_ctx[3]; /* fallback path */
} tcache;

static _Thread_local tcache *tc;

static void tcache_free(void *p)
{
    tcache *t = p;
    if (t == NULL)
        return;
    for (int i = 0; i < 3; i++) {
        if (t->sha_ctx[i] != NULL)
            sha[i].freectx(t->sha_ctx[i]);
        EVP_MD_CTX_free(t->md_ctx[i]);
    }
    OPENSSL_clear_free(t, sizeof(*t));
    if (tc == t)
        tc = NULL;
}

static void global_init(void)
{
    static const char *names[3] = {"SHA2-256", "SHA2-384", "SHA2-512"};
    for (int i = 0; i < 3; i++) {
        sha[i].md = EVP_MD_fetch(NULL, names[i], NULL);
        if (sha[i].md == NULL)
            return;
        sha[i].len = (size_t)EVP_MD_get_size(sha[i].md);
        bind_dispatch(&sha[i]);
    }
    if (pthread_key_create(&tcache_key, tcache_free) != 0)
        return;
    if (pthread_atfork(NULL, NULL, after_fork_child) != 0)
        return;
    const char *prov = OSSL_PROVIDER_get0_name(EVP_MD_get0_provider(sha[0].md));
    sha256_default = prov != NULL && strcmp(prov, "default") == 0;
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

void ag__crypto_thread_cleanup(void)
{
    if (tc != NULL) {
        tcache *t = tc;
        (void)pthread_setspecific(tcache_key, NULL);
        tcache_free(t);
    }
}

const EVP_MD *ag__sha2_md(int bits)
{
    int i = sha_index(bits);
    if (i < 0 || pthread_once(&init_once, global_init) != 0)
        return NULL;
    return sha[i].md;
}

/* ---- random identifiers ---------------------------------------------- */

ag_err ag__random_id(uint8_t *out, size_t n)
{
    tcache *t = thread_cache();
    if (t == NULL || n > RND_POOL)
        return ag_random(out, n);
    unsigned gen = atomic_load(&fork_gen);
    if (t->rnd_gen != gen) { /* drawn before a fork: never reuse */
        OPENSSL_cleanse(t->rnd, sizeof(t->rnd));
        t->rnd_left = 0;
        t->rnd_gen = gen;
    }
    if (t->rnd_left < n) {
        ag_err err = ag_random(t->rnd, sizeof(t->rnd));
        if (err != AG_OK) {
            t->rnd_left = 0;
            return err;
        }
        t->rnd_left = sizeof(t->rnd);
    }
    uint8_t *p = t->rnd + (sizeof(t->rnd) - t->rnd_left);
    memcpy(out, p, n);
    OPENSSL_cleanse(p, n); /* handed out once, then gone from the pool */
    t->rnd_left -= n;
    return AG_OK;
}

/* ---- SHA-256 on the SHA extensions ------------------------------------ */

bool ag__sha256_ni_usable(void)
{
#ifdef AG__SHA256_NI
    return (ag__cpu_features() & AG__CPU_SHANI) != 0 &&
           pthread_once(&init_once, global_init) == 0 && init_ok && sha256_default;
#else
    return false;
#endif
}

#ifdef AG__SHA256_NI

/* FIPS 180-4 §5.3.3 */
static const uint32_t sha256_iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                      0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};

/* FIPS 180-4 §5.1.1: 0x80, zeros, the bit length big-endian. */
void ag__sha256_ni_final(uint32_t st[8], uint8_t block[64], size_t fill, uint64_t total,
                         uint8_t out[32])
{
    block[fill++] = 0x80;
    if (fill > 56) {
        memset(block + fill, 0, 64 - fill);
        ag__sha256_ni_blocks(st, block, 1);
        fill = 0;
    }
    memset(block + fill, 0, 56 - fill);
    const uint64_t bits = total * 8u;
    for (int i = 0; i < 8; i++)
        block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    ag__sha256_ni_blocks(st, block, 1);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(st[i] >> 24);
        out[4 * i + 1] = (uint8_t)(st[i] >> 16);
        out[4 * i + 2] = (uint8_t)(st[i] >> 8);
        out[4 * i + 3] = (uint8_t)st[i];
    }
}

/* SHA-256 of the concatenation of parts, streamed through one block. */
static void sha256_ni_parts(const ag_span *parts, size_t nparts, uint8_t out[32])
{
    uint32_t st[8];
    uint8_t block[64];
    size_t fill = 0;
    uint64_t total = 0;
    memcpy(st, sha256_iv, sizeof(st));
    for (size_t i = 0; i < nparts; i++) {
        const uint8_t *p = parts[i].ptr;
        size_t n = parts[i].len;
        total += n;
        if (fill > 0 && n > 0) {
            size_t take = n < 64 - fill ? n : 64 - fill;
            memcpy(block + fill, p, take);
            fill += take;
            p += take;
            n -= take;
            if (fill < 64)
                continue; /* n is 0 */
            ag__sha256_ni_blocks(st, block, 1);
            fill = 0;
        }
        if (n >= 64) {
            ag__sha256_ni_blocks(st, p, n / 64);
            p += n - n % 64;
            n %= 64;
        }
        if (n > 0) {
            memcpy(block, p, n);
            fill = n;
        }
    }
    ag__sha256_ni_final(st, block, fill, total, out);
    OPENSSL_cleanse(st, sizeof(st)); /* the input may be a secret */
    OPENSSL_cleanse(block, sizeof(block));
}

#endif /* AG__SHA256_NI */

bool ag__sha256_midstate(const uint8_t block[64], uint32_t state[8])
{
#ifdef AG__SHA256_NI
    /* Not ag__sha256_ni_usable(): a key may be imported before the
     * application configures its providers, and global_init must not fetch
     * SHA2-256 before then. ag__hmac asks about the provider. */
    if ((ag__cpu_features() & AG__CPU_SHANI) != 0) {
        memcpy(state, sha256_iv, sizeof(sha256_iv));
        ag__sha256_ni_blocks(state, block, 1);
        return true;
    }
#else
    (void)block;
    (void)state;
#endif
    return false;
}

/* ---- SHA-2 and HMAC-SHA-256 ------------------------------------------- */

ag_err ag__digest_begin(int bits, ag__digest *d)
{
    tcache *t = thread_cache();
    if (t == NULL)
        return AG_ERR_NOMEM;
    int i = sha_index(bits);
    if (i < 0)
        return AG_ERR_INVALID_ARGUMENT;
    d->impl = &sha[i];
    d->len = sha[i].len;
    d->pctx = NULL;
    d->mctx = NULL;
    if (sha[i].newctx != NULL) {
        if (t->sha_ctx[i] == NULL)
            t->sha_ctx[i] = sha[i].newctx(sha[i].provctx);
        if (t->sha_ctx[i] != NULL) {
            d->pctx = t->sha_ctx[i];
            return sha[i].init(d->pctx, NULL) ? AG_OK : AG_ERR_CRYPTO;
        }
    }
    if (t->md_ctx[i] == NULL && (t->md_ctx[i] = EVP_MD_CTX_new()) == NULL)
        return AG_ERR_NOMEM;
    d->mctx = t->md_ctx[i];
    return EVP_DigestInit_ex2(d->mctx, sha[i].md, NULL) ? AG_OK : AG_ERR_CRYPTO;
}

bool ag__digest_update(const ag__digest *d, const uint8_t *p, size_t n)
{
    const sha_impl *s = d->impl;
    if (d->pctx != NULL)
        return s->update(d->pctx, p, n) == 1;
    return EVP_DigestUpdate(d->mctx, p, n) == 1;
}

bool ag__digest_final(const ag__digest *d, uint8_t *out)
{
    const sha_impl *s = d->impl;
    if (d->pctx != NULL) {
        size_t outl = 0;
        int ok = s->final(d->pctx, out, &outl, s->len);
        /* reset, so no state derived from a key lingers in the cache */
        (void)s->init(d->pctx, NULL);
        return ok && outl == s->len;
    }
    unsigned int outl = 0;
    return EVP_DigestFinal_ex(d->mctx, out, &outl) && outl == s->len;
}

ag_err ag__sha2(int bits, const ag_span *parts, size_t nparts, uint8_t *out)
{
#ifdef AG__SHA256_NI
    if (bits == 256 && ag__sha256_ni_usable()) {
        sha256_ni_parts(parts, nparts, out);
        return AG_OK;
    }
#endif
    ag__digest d;
    ag_err err = ag__digest_begin(bits, &d);
    if (err != AG_OK)
        return err;
    for (size_t i = 0; i < nparts; i++)
        if (!ag__digest_update(&d, parts[i].ptr, parts[i].len))
            return AG_ERR_CRYPTO;
    return ag__digest_final(&d, out) ? AG_OK : AG_ERR_CRYPTO;
}

ag_err ag__hmac_sha256(const uint8_t *secret, size_t secret_len, const uint8_t *msg, size_t n,
                       uint8_t mac[32])
{
    uint8_t k[64] = {0}, pad[64], inner[32];
    ag_err err = AG_OK;
    if (secret_len > sizeof k) { /* RFC 2104 §2: a long key is hashed first */
        ag_span s = {secret, secret_len};
        err = ag__sha2(256, &s, 1, k);
    } else if (secret_len > 0) {
        memcpy(k, secret, secret_len);
    }
    if (err == AG_OK) {
        for (size_t i = 0; i < sizeof pad; i++)
            pad[i] = (uint8_t)(k[i] ^ 0x36u);
        ag_span in[2] = {{pad, sizeof pad}, {msg, n}};
        err = ag__sha2(256, in, 2, inner);
    }
    if (err == AG_OK) {
        for (size_t i = 0; i < sizeof pad; i++)
            pad[i] = (uint8_t)(k[i] ^ 0x5cu);
        ag_span out[2] = {{pad, sizeof pad}, {inner, sizeof inner}};
        err = ag__sha2(256, out, 2, mac);
    }
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(inner, sizeof inner);
    return err;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — the crypto primitives every layer shares (not installed):
 * SHA-2, HMAC-SHA-256 with a raw secret, random identifiers. Constant-time
 * comparison is ag__ct_eq (common_int.h). Digests are fetched once per
 * process and driven through per-thread contexts, so nothing here fetches
 * per call and a warm thread allocates nothing. Design: docs/tokens.md,
 * "Performance choices".
 */
#ifndef AUTHGATE_CRYPTO_INT_H
#define AUTHGATE_CRYPTO_INT_H

#include <openssl/types.h>

#include "common_int.h"

/* n CSPRNG bytes for identifiers (jti, sid), from a per-thread pool refilled
 * 1 KiB at a time with RAND_bytes: one DRBG call (and one getpid system
 * call) per 32 jtis instead of per jti. Bytes are cleansed from the pool as
 * they are handed out; a forked child discards its parent's pool. n > 1024
 * goes to ag_random directly. @test tests/token/test_jws_issue.c */
ag_err ag__random_id(uint8_t *out, size_t n);

/* SHA-2 of the concatenation of parts, zero allocations after the thread's
 * first call. bits is 256, 384 or 512; out holds bits/8 bytes.
 * @test tests/token/test_sha256.c */
ag_err ag__sha2(int bits, const ag_span *parts, size_t nparts, uint8_t *out);

/* HMAC-SHA-256 (RFC 2104) of msg under a raw secret of any length, through
 * the once-fetched SHA2-256 (the SHA extensions when ag__sha256_ni_usable):
 * no fetch, no allocation after the thread's first call. Keys used on a hot
 * path keep precomputed pads instead (the token layer's ag__hmac).
 * @test tests/common/test_common.c */
ag_err ag__hmac_sha256(const uint8_t *secret, size_t secret_len, const uint8_t *msg, size_t n,
                       uint8_t mac[32]);

/* The process's SHA-2 digest for bits (256, 384, 512), fetched once; NULL
 * when bits is none of them or the fetch failed. */
const EVP_MD *ag__sha2_md(int bits);

/* One streaming SHA-2 computation on the calling thread's context for its
 * size (at most one per size and thread at a time). */
typedef struct ag__digest {
    const void *impl;
    void *pctx;       /* provider context (dispatch path) */
    EVP_MD_CTX *mctx; /* fallback */
    size_t len;       /* digest bytes */
} ag__digest;
ag_err ag__digest_begin(int bits, ag__digest *d);
bool ag__digest_update(const ag__digest *d, const uint8_t *p, size_t n);
/* Writes d->len bytes and resets the context (no key-derived state lingers). */
bool ag__digest_final(const ag__digest *d, uint8_t *out);

/* Frees the calling thread's digest contexts and random pool (called by
 * ag_thread_cleanup). */
void ag__crypto_thread_cleanup(void);

/* True when SHA-256 may run on ag__sha256_ni_blocks: this build has it,
 * ag__cpu_features() allows AG__CPU_SHANI, and the SHA2-256 fetched once
 * per process comes from OpenSSL's "default" provider. With any other
 * provider (FIPS, a hardware one) hashing and HMAC stay with it.
 * @test tests/token/test_sha256.c */
bool ag__sha256_ni_usable(void);

/* SHA-256 state after compressing one 64-byte block from the initial
 * hash value (an HMAC midstate), on the SHA extensions. Returns false,
 * writing nothing, when this build or ag__cpu_features() lacks them. Does
 * not look at providers (and fetches nothing): whoever uses the state
 * checks ag__sha256_ni_usable() then. @test tests/token/test_sha256.c */
bool ag__sha256_midstate(const uint8_t block[64], uint32_t state[8]);

/* The SHA-256 compression function on the x86 SHA extensions
 * (sha256_ni.c): state (H0..H7) absorbs nblocks whole 64-byte blocks from
 * p. Exists only where AG__SHA256_NI is defined; call it only when
 * ag__cpu_features() has AG__CPU_SHANI. @test tests/token/test_sha256.c */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(AG_PORTABLE)
#define AG__SHA256_NI 1 /* sha256_ni.c's functions carry target("sha,…") */
void ag__sha256_ni_blocks(uint32_t state[8], const uint8_t *p, size_t nblocks);
/* Finishes a SHA-256 whose last fill (< 64) bytes are in block[0..fill) and
 * whose whole message was total bytes, writing the digest to out (which may
 * be block). */
void ag__sha256_ni_final(uint32_t st[8], uint8_t block[64], size_t fill, uint64_t total,
                         uint8_t out[32]);
#endif

#endif

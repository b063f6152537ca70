/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the SHA-256 / HMAC-SHA-256 fast path (SHA
 * extensions from per-key midstates: lib/common/sha256_ni.c, crypto.c,
 * keys.c), differential against OpenSSL. Input: one byte k, one byte s,
 * then min(k, rest) key bytes, then the message. Invariants:
 *   ag__hmac (fast path when this CPU has it) == EVP_Q_mac HMAC-SHA2-256,
 *     for keys of any length (RFC 2104: hashed when longer than 64 bytes),
 *     and the same key made with the extensions hidden (OpenSSL's path)
 *     gives the same MAC;
 *   ag__sha2(256) of the message cut into three parts at offsets derived
 *     from s == EVP_Digest SHA-256 of the whole.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "authgate/token.h"
#include "token/token_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A key with any secret (V-17's minimum is not what is tested here). */
static ag_key *hs256_key(const uint8_t *secret, size_t len)
{
    ag_key *k = NULL;
    if (ag__key_alloc(AG_ALG_HS256, "f", 1, &k) != AG_OK)
        abort();
    if (ag__key_set_pads(k, secret, len) != AG_OK)
        abort();
    k->sig_len = 32;
    k->is_private = true;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 1u << 16)
        return 0;
    size_t klen = data[0], split = data[1];
    data += 2;
    size -= 2;
    if (klen > size)
        klen = size;
    const uint8_t *key = data, *msg = data + klen;
    size_t n = size - klen;

    uint8_t want[32], got[32];
    size_t wlen = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA2-256", NULL, klen > 0 ? key : (const uint8_t *)"", klen,
                  msg, n, want, sizeof(want), &wlen) == NULL ||
        wlen != 32)
        abort();

    ag__cpu_restrict(AG__CPU_ALL);
    ag_key *fast = hs256_key(key, klen);
    const bool shani = (ag__cpu_features() & AG__CPU_SHANI) != 0;
    if (fast->hmac_mid_ok != shani || ag__sha256_ni_usable() != shani)
        abort(); /* the fast path is what runs where the CPU has it */
    if (ag__hmac(fast, msg, n, got) != AG_OK || memcmp(got, want, 32) != 0)
        abort();
    /* a key with midstates, on OpenSSL's path while they are hidden */
    ag__cpu_restrict(0);
    if (ag__hmac(fast, msg, n, got) != AG_OK || memcmp(got, want, 32) != 0)
        abort();
    ag_key *plain = hs256_key(key, klen);
    if (plain->hmac_mid_ok)
        abort();
    ag__cpu_restrict(AG__CPU_ALL);
    if (ag__hmac(plain, msg, n, got) != AG_OK || memcmp(got, want, 32) != 0)
        abort();
    ag_key_free(fast);
    ag_key_free(plain);

    /* SHA-256 of the message in three parts */
    unsigned dlen = 0;
    if (EVP_Digest(msg, n, want, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32)
        abort();
    size_t a = n > 0 ? (split * 7u) % (n + 1) : 0;
    size_t b = a + (n - a > 0 ? (split * 131u) % (n - a + 1) : 0);
    ag_span parts[3] = {{msg, a}, {msg + a, b - a}, {msg + b, n - b}};
    if (ag__sha2(256, parts, 3, got) != AG_OK || memcmp(got, want, 32) != 0)
        abort();
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* authgate — allocation helpers and small shared utilities. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common_int.h"

void *ag__malloc(const ag_allocator *a, size_t n)
{
    if (n == 0)
        n = 1;
    return a != NULL ? a->malloc(n, a->ctx) : malloc(n);
}

void *ag__calloc(const ag_allocator *a, size_t n)
{
    if (a == NULL) /* large tables come as untouched zero pages, not a memset */
        return calloc(1, n == 0 ? 1 : n);
    void *p = ag__malloc(a, n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

void *ag__realloc(const ag_allocator *a, void *p, size_t n)
{
    if (n == 0)
        n = 1;
    return a != NULL ? a->realloc(p, n, a->ctx) : realloc(p, n);
}

void ag__free(const ag_allocator *a, void *p)
{
    if (p == NULL)
        return;
    if (a != NULL)
        a->free(p, a->ctx);
    else
        free(p);
}

void ag__free_secret(const ag_allocator *a, void *p, size_t n)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, n);
    ag__free(a, p);
}

char *ag__strdup(const ag_allocator *a, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = ag__malloc(a, n + 1);
    if (d != NULL)
        memcpy(d, s, n + 1);
    return d;
}

void ag_free(void *ptr)
{
    free(ptr);
}

int64_t ag_clock_system(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

ag_err ag_random(uint8_t *buf, size_t n)
{
    if (buf == NULL && n > 0)
        return AG_ERR_INVALID_ARGUMENT;
    while (n > 0) {
        int chunk = n > 1u << 20 ? 1 << 20 : (int)n;
        if (RAND_bytes(buf, chunk) != 1) {
            OPENSSL_cleanse(buf, n);
            return AG_ERR_CRYPTO;
        }
        buf += chunk;
        n -= (size_t)chunk;
    }
    return AG_OK;
}

/* Constant time in the contents: every byte is read and folded in; the
 * loop depends on n only. Eight bytes a step (CRYPTO_memcmp goes a byte at
 * a time and was half of a store rotation); the volatile accumulator keeps
 * the compiler from turning the fold into an early exit. */
int ag__ct_eq(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    volatile uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u, v;
        memcpy(&u, x + i, 8);
        memcpy(&v, y + i, 8);
        acc |= u ^ v;
    }
    for (; i < n; i++)
        acc |= (uint64_t)(x[i] ^ y[i]);
    return acc == 0;
}

int ag_ct_equal(const void *a, const void *b, size_t n)
{
    return ag__ct_eq(a, b, n);
}

void ag_cleanse(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}

bool ag__str_ok(const char *p, size_t n, size_t max)
{
    if (p == NULL || n == 0 || n > max)
        return false;
    return memchr(p, '\0', n) == NULL;
}

void ag__str_set(char *dst, size_t *dst_len, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    *dst_len = n;
}

int ag__span_eq_str(ag_span s, const char *z)
{
    size_t n = strlen(z);
    return s.len == n && (n == 0 || memcmp(s.ptr, z, n) == 0);
}

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

uint64_t ag__hash64(uint64_t seed0, uint64_t seed1, const void *key, size_t n)
{
    const unsigned char *p = key;
    uint64_t h = seed0 ^ (UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(n + 1));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 29;
    }
    uint64_t t = 0;
    memcpy(&t, p + i, n - i);
    h = (h ^ t) * UINT64_C(0xc4ceb9fe1a85ec53);
    return fmix64(h ^ seed1);
}

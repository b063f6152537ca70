/* SPDX-License-Identifier: MIT */
/*
 * Allocation counting for authgate-bench.
 *
 * Two layers, so every implementation is counted the same way:
 *  - glibc malloc interposition: malloc/calloc/realloc/free are defined here,
 *    in the executable, and forward to __libc_malloc & co. The dynamic linker
 *    resolves every shared library's malloc (libjwt, cjose, jansson,
 *    libcrypto, libc itself) to these, so direct libc allocations are seen.
 *  - OpenSSL's CRYPTO_set_mem_functions and jansson's json_set_alloc_funcs,
 *    installed before any other OpenSSL call. These forward to __libc_malloc
 *    directly, so an allocation made through them is counted exactly once.
 * Sanitizer builds (AG_BENCH_NO_INTERPOSE) keep only the hooks: the
 * sanitizer owns malloc there.
 *
 * Counters are per thread (_Thread_local, initial-exec in the executable),
 * so threads do not contend and each worker reads its own delta.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>
#include <openssl/crypto.h>

static _Thread_local uint64_t tl_allocs;

#ifndef AG_BENCH_NO_INTERPOSE

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
    tl_allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    tl_allocs++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    tl_allocs++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

#define RAW_MALLOC __libc_malloc
#define RAW_REALLOC __libc_realloc
#define RAW_FREE __libc_free
#define METHOD "interpose"
#else
#define RAW_MALLOC malloc
#define RAW_REALLOC realloc
#define RAW_FREE free
#define METHOD "hooks"
#endif

static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    tl_allocs++;
    return RAW_MALLOC(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    tl_allocs++;
    return RAW_REALLOC(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    RAW_FREE(p);
}

static void *json_malloc(size_t n)
{
    tl_allocs++;
    return RAW_MALLOC(n);
}

static void json_free(void *p)
{
    RAW_FREE(p);
}

void bench_alloc_hooks_install(void)
{
    if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
        fprintf(stderr, "authgate-bench: CRYPTO_set_mem_functions failed (OpenSSL already "
                        "allocated); OpenSSL allocations counted by interposition only\n");
    json_set_alloc_funcs(json_malloc, json_free);
}

uint64_t bench_alloc_count(void)
{
    return tl_allocs;
}

const char *bench_alloc_method(void)
{
    return METHOD;
}

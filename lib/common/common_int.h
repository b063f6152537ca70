/* SPDX-License-Identifier: MIT */
/*
 * authgate — internals shared by every layer (not installed).
 *
 * Naming: cross-file internals are ag__*, hidden from the shared object by
 * the default hidden visibility; only AG_API symbols are exported.
 */
#ifndef AUTHGATE_COMMON_INT_H
#define AUTHGATE_COMMON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authgate/error.h"

/* Allocation through an optional caller allocator (NULL → stdlib). */
void *ag__malloc(const ag_allocator *a, size_t n);
void *ag__calloc(const ag_allocator *a, size_t n);
void *ag__realloc(const ag_allocator *a, void *p, size_t n);
void ag__free(const ag_allocator *a, void *p);
/* Cleanses n bytes at p, then frees p. NULL is a no-op. */
void ag__free_secret(const ag_allocator *a, void *p, size_t n);
/* NUL-terminated copy of s (NULL → NULL). */
char *ag__strdup(const ag_allocator *a, const char *s);

/*
 * Constant-time equality of two n-byte strings (CRYPTO_memcmp). Use for
 * every MAC, hash, CSRF token and password hash. Returns 1 when equal.
 * @test tests/common/test_common.c
 */
int ag__ct_eq(const void *a, const void *b, size_t n);

/* A seeded 64-bit hash of short keys (sids, subjects), 8 bytes a step:
 * for hash tables whose keys may come from outside, with per-table random
 * seeds so placement cannot be predicted. Not a MAC. @test
 * tests/store/test_store_mem.c, tests/token/test_revset.c (through them) */
uint64_t ag__hash64(uint64_t seed0, uint64_t seed1, const void *p, size_t n);

/* True when p[0..n) is 1..max bytes without NUL (a store key: sid,
 * subject). */
bool ag__str_ok(const char *p, size_t n, size_t max);

/* Copies a checked string into a fixed field (NUL-terminated). */
void ag__str_set(char *dst, size_t *dst_len, const char *src, size_t n);

/* Exact, full-length comparison of a span with a NUL-terminated string. */
int ag__span_eq_str(ag_span s, const char *z);

/*
 * SIMD features of this CPU and OS that authgate uses (x86-64 only; 0
 * elsewhere). Every accelerated loop has a portable twin, chosen when its
 * bit is absent. @test tests/common/test_common.c
 */
enum { AG__CPU_AVX2 = 1u, AG__CPU_SHANI = 2u, AG__CPU_SSE2 = 4u, AG__CPU_ALL = 7u };
unsigned ag__cpu_features(void);
/* Tests only: pretend the CPU has at most the features in mask
 * (AG__CPU_ALL restores detection). Not for use while other threads verify. */
void ag__cpu_restrict(unsigned mask);

#define AG__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif

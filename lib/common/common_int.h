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
#include "isa_hook.h"

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

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF
 * (jansson's and RFC 3629's rules; json_scan.c checks the same inside its
 * string scanner). @test tests/common/test_common.c */
bool ag__utf8_valid(const uint8_t *s, size_t n);

/* ASCII case-insensitive equality of p[0..n) with lit[0..lit_len).
 * @test tests/http/test_http_extract.c */
bool ag__ci_eq(const uint8_t *p, size_t n, const char *lit, size_t lit_len);

/* Exact, full-length comparison of a span with a NUL-terminated string. */
int ag__span_eq_str(ag_span s, const char *z);

#define AG__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Sized structs (error.h, AG_INIT): the one check of a caller's struct
 * whose first member is its size. Copies it into local (full bytes):
 * members past the caller's size read as zero. base is the struct's size
 * in the first release that had it (members appended later are the only
 * ones a caller may lack); sizes below base, sizes more than
 * AG__SIZED_SLACK above full, and larger sizes with non-zero bytes past
 * full are AG_ERR_INVALID_ARGUMENT. NULL in is AG_OK (the caller decides
 * what NULL means). @test tests/common/test_sized.c */
#define AG__SIZED_SLACK 1024u
ag_err ag__sized_in(const void *in, void *local, size_t full, size_t base);

/* ag__sized_in's verdict alone, for a struct the library reads in place
 * (ag_event_sink): in is not NULL. */
ag_err ag__sized_check(const void *in, size_t full, size_t base);

/* The usual use: cfg (a const T * parameter) afterwards points at local, a
 * T of the function, or stays NULL; a bad size returns from the function.
 * Every sized struct is as first published (base = full); when one gains
 * a member, its calls pass the earlier size through AG__SIZED_BASE_OR_RETURN. */
#define AG__SIZED_OR_RETURN(cfg, local) AG__SIZED_BASE_OR_RETURN(cfg, local, sizeof(local))
#define AG__SIZED_BASE_OR_RETURN(cfg, local, base)                                                 \
    do {                                                                                           \
        ag_err sized_err_ = ag__sized_in((cfg), &(local), sizeof(local), (base));                  \
        if (sized_err_ != AG_OK)                                                                   \
            return sized_err_;                                                                     \
        if ((cfg) != NULL)                                                                         \
            (cfg) = &(local);                                                                      \
    } while (0)

/* Sized structs the caller allocates and the library fills (results,
 * snapshots): AG_OK when out's size is at least base, the struct's size as
 * of this ABI (so size 0, a struct not made with AG_INIT, is refused).
 * Members appended later are written only when the caller's size covers
 * them. out is not NULL. @test tests/common/test_sized.c */
ag_err ag__sized_out(const void *out, size_t base);

/* Zeroes out's first base bytes but its size: how the library clears a
 * checked sized struct. */
void ag__sized_clear(void *out, size_t base);

#endif

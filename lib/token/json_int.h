/* SPDX-License-Identifier: MIT */
/*
 * authgate — internals shared by the JSON scanner's files (not installed):
 * json_scan.c (strings and the validator), json_num.c (numbers) and
 * json_iter.c (iterators over validated text). The contracts of the
 * scanner as a whole are in token_int.h and docs/internals.md.
 */
#ifndef AUTHGATE_JSON_INT_H
#define AUTHGATE_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool is_digit(uint8_t c)
{
    return (unsigned)c - '0' < 10u;
}

static inline bool is_alpha(uint8_t c)
{
    return (unsigned)(c | 0x20) - 'a' < 26u;
}

static inline bool is_cont(uint8_t c)
{
    return (c & 0xC0) == 0x80;
}

static inline const uint8_t *skip_ws(const uint8_t *s, const uint8_t *e)
{
    while (s < e && *s <= ' ' && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    return s;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Nonzero when any of the 8 bytes in v is < 0x20, '"', '\\' or >= 0x80. */
static inline uint64_t special8(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"');
    uint64_t b = v ^ (ONES * '\\');
    return (v | ((v - ONES * 0x20) & ~v) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

/*
 * Index of the first (lowest-addressed) flagged byte of a nonzero mask
 * from special8() and friends, where only bits 7, 15, ... 63 are set. The
 * lowest flag is always a true one (borrows only disturb higher bytes),
 * so on little-endian machines it is found with one multiply; elsewhere
 * the callers fall back to their byte loop (index 0).
 */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                                 \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FIRST_FLAGGED(m) ((size_t)((((m) & (0 - (m))) >> 7) * UINT64_C(0x0001020304050607) >> 56))
#else
#define FIRST_FLAGGED(m) ((size_t)0)
#endif

/* Validates a number starting at s (jansson's grammar and limits: integers
 * must fit int64, reals must not overflow). Returns the position after it,
 * or NULL. @test tests/token/test_json_scan_accessors.c */
const uint8_t *ag__json_scan_number(const uint8_t *s, const uint8_t *e);

/* Skips string content after the opening quote; returns the position after
 * the closing quote, or e. Always in bounds, on any text.
 * @test tests/token/test_json_scan_verdicts.c */
const uint8_t *ag__json_skip_string_raw(const uint8_t *s, const uint8_t *e);

#endif

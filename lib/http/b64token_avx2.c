/* SPDX-License-Identifier: MIT */
/*
 * authgate — the AVX2 twin of the RFC 6750 b64token scan behind
 * ag__b64token_span (http_extract.c): two 16-entry nibble tables, one
 * vpshufb each, after the technique W. Muła and D. Lemire published for
 * base64 (lib/token/b64_simd.c uses it for the token decoder). Runs only
 * after ag__cpu_features() reported AG__CPU_AVX2; reads nothing at or past
 * p + n (a short tail is one more block that ends at the end and overlaps
 * bytes already found valid). Elsewhere, and in AG_PORTABLE builds, a stub
 * consumes nothing. @test tests/http/test_http_extract.c
 */
#include "http_int.h"

#ifdef AG__X86_SIMD
#include <immintrin.h>

#define AVX2 AG__TARGET("avx2")

/* Class bits of the high nibbles (b64_simd.c derives the same table). */
#define CLASS_LUT_HI                                                                               \
    0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x08, 0x20, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01

/* A 16-entry table in both 128-bit lanes (vpshufb looks up per lane). */
#define LUT2(t) _mm256_setr_epi8(t, t)

/*
 * RFC 6750 b64token: ALPHA DIGIT "-" "." "_" "~" "+" "/" (not "="). Class
 * bits of the high nibbles as in CLASS_LUT_HI; lut_lo[lo] lists the high
 * nibbles for which (hi, lo) is NOT a b64token character:
 *
 *   bit   hi nibbles   valid lo                    invalid lo
 *   0x01  0, 1, 8..15  none                        all
 *   0x02  2            B '+', D '-', E '.', F '/'  0..A, C
 *   0x04  3            0..9                        A..F
 *   0x08  4, 6         1..F                        0
 *   0x10  5            0..A, F '_'                 B..E
 *   0x20  7            0..A, E '~'                 B, C, D, F
 *
 *   lut_lo[0]    = 01|02|08       = 0x0B
 *   lut_lo[1..9] = 01|02          = 0x03
 *   lut_lo[A]    = 01|02|04       = 0x07
 *   lut_lo[B]    = 01|04|10|20    = 0x35
 *   lut_lo[C]    = 01|02|04|10|20 = 0x37
 *   lut_lo[D]    = 01|04|10|20    = 0x35
 *   lut_lo[E]    = 01|04|10       = 0x15
 *   lut_lo[F]    = 01|04|20       = 0x25
 */
#define TOKEN_LUT_LO                                                                               \
    0x0B, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x07, 0x35, 0x37, 0x35, 0x15, 0x25

/* Bit k set when byte k of the 32 at q is a b64token character. */
AVX2 static inline uint32_t token_bits(const uint8_t *q)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)q);
    /* the high nibble of every byte: the shift crosses bytes, the mask
     * drops what came from the neighbour */
    __m256i hi = _mm256_and_si256(_mm256_srli_epi32(v, 4), _mm256_set1_epi8(0x0F));
    __m256i lo = _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
    __m256i miss = _mm256_and_si256(_mm256_shuffle_epi8(LUT2(TOKEN_LUT_LO), lo),
                                    _mm256_shuffle_epi8(LUT2(CLASS_LUT_HI), hi));
    return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(miss, _mm256_setzero_si256()));
}

AVX2 size_t ag__b64token_span_avx2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; n - i >= 32; i += 32) {
        uint32_t ok = token_bits(p + i);
        if (ok != 0xFFFFFFFFu)
            return i + (size_t)__builtin_ctz(~ok);
    }
    if (i > 0 && i < n) {
        /* 1..31 bytes left: the last 32 bytes overlap bytes already found
         * valid, so their first miss, if any, is at or after i */
        uint32_t ok = token_bits(p + n - 32);
        return ok != 0xFFFFFFFFu ? n - 32 + (size_t)__builtin_ctz(~ok) : n;
    }
    return i;
}

#else /* plain C only: consume nothing, the caller's loop does it all */

size_t ag__b64token_span_avx2(const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    return 0;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * authgate — the AVX2 twin of the base64url block decoder behind
 * ag__base64url_decode_fast (base64url.c). Vectorized base64 after the
 * published technique of W. Muła and D. Lemire (nibble look-up tables with
 * vpshufb, multiply-add packing); the tables below are derived in the
 * comments. (The b64token scan of a Bearer value, built the same way, is
 * lib/http/b64token_avx2.c.)
 *
 * Its functions carry target("avx2") (AG__TARGET, common_int.h) and may
 * only run after ag__cpu_features() reported AG__CPU_AVX2. Without
 * AG__X86_SIMD (other targets, AG_PORTABLE) it holds a do-nothing stub
 * that consumes zero bytes, so the caller's portable loop does all the
 * work. It reads no byte at or after in + n, nor writes past what its
 * caller allows: every load is a whole 32-byte block inside the input; a
 * tail shorter than a block is done by one more block that ends just
 * before the end and overlaps work already done.
 *
 * @test tests/token/test_base64url.c
 */
#include "b64_int.h"
#include "token_int.h"

#ifdef AG__X86_SIMD
#include <immintrin.h>

#define AVX2 AG__TARGET("avx2")

/*
 * Validation of the base64url alphabet with two 16-entry tables (one
 * vpshufb each). Split a byte c into hi = c >> 4 and lo = c & 15. Every
 * high nibble gets a class bit; lut_lo[lo] holds the class bits of the
 * high nibbles for which (hi, lo) is NOT in the alphabet; then c is valid
 * exactly when (lut_hi[hi] & lut_lo[lo]) == 0.
 *
 *   bit   hi nibbles   valid lo                    invalid lo
 *   0x01  0, 1, 8..15  none                        all
 *   0x02  2            D '-'                       0..C, E, F
 *   0x04  3            0..9 '0'-'9'                A..F
 *   0x08  4, 6         1..F 'A'-'O', 'a'-'o'       0 ('@', '`')
 *   0x10  5            0..A 'P'-'Z', F '_'         B..E
 *   0x20  7            0..A 'p'-'z'                B..F
 *
 *   lut_lo[0]       = 01|02|08       = 0x0B
 *   lut_lo[1..9]    = 01|02          = 0x03
 *   lut_lo[A]       = 01|02|04       = 0x07
 *   lut_lo[B, C, E] = 01|02|04|10|20 = 0x37
 *   lut_lo[D]       = 01|04|10|20    = 0x35  (hi 2 is valid: '-')
 *   lut_lo[F]       = 01|02|04|20    = 0x27  (hi 5 is valid: '_')
 * Bytes >= 0x80 have hi 8..15 and class 0x01, which every lut_lo entry
 * has; hi is masked to 0..15 so vpshufb never sees an index with bit 7
 * set (that would read as zero, i.e. valid).
 */
#define URL_LUT_LO                                                                                 \
    0x0B, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x07, 0x37, 0x37, 0x35, 0x37, 0x27
#define CLASS_LUT_HI                                                                               \
    0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x08, 0x20, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01

/*
 * Translation: value = c + offset, the offset chosen by the high nibble.
 *   hi 2: only '-' (0x2D) is valid   -> 62 - 0x2D = +17
 *   hi 3: '0'..'9' (0x30..)          -> 52 - 0x30 = +4
 *   hi 4, 5: 'A'..'Z' (0x41..)       ->  0 - 0x41 = -65
 *   hi 6, 7: 'a'..'z' (0x61..)       -> 26 - 0x61 = -71
 * '_' (0x5F) shares hi 5 with 'P'..'Z' but needs 63 - 0x5F = -32, so its
 * lanes (c == 0x5F) get index hi | 8 = 13, a slot no valid byte uses
 * (valid bytes have hi 2..7). Slots of invalid bytes hold 0: what they
 * decode to does not matter, the validation above rejects them.
 */
#define URL_LUT_OFFSET 0, 0, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, -32, 0, 0

/* A 16-entry table in both 128-bit lanes (vpshufb looks up per lane). */
#define LUT2(t) _mm256_setr_epi8(t, t)

/* The high nibble of every byte, 0..15 (the shift crosses bytes; the
 * mask drops what came from the neighbour). */
AVX2 static inline __m256i high_nibbles(__m256i v)
{
    return _mm256_and_si256(_mm256_srli_epi32(v, 4), _mm256_set1_epi8(0x0F));
}

/* Nonzero bytes where the byte of v (high nibbles hi) is not in the class
 * described by the two tables. */
AVX2 static inline __m256i class_misses(__m256i v, __m256i hi, __m256i lut_lo, __m256i lut_hi)
{
    __m256i lo = _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
    return _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, lo), _mm256_shuffle_epi8(lut_hi, hi));
}

/*
 * Decodes the 32 characters at src into 24 bytes at dst and ORs the
 * validation result into *miss. room is how many bytes dst may take
 * (at least 24): with 32 or more, one 32-byte store (24 bytes and 8
 * zeros), else exactly 24 bytes.
 */
AVX2 static inline void decode_block(const uint8_t *src, uint8_t *dst, size_t room, __m256i *miss)
{
    const __m256i lut_lo = LUT2(URL_LUT_LO);
    const __m256i lut_hi = LUT2(CLASS_LUT_HI);
    const __m256i lut_off = LUT2(URL_LUT_OFFSET);
    /* vpmaddubsw: bytes (a, b) of each pair times (64, 1) -> a << 6 | b */
    const __m256i mul_pairs = _mm256_set1_epi32(0x01400140);
    /* vpmaddwd: words (ab, cd) of each dword times (4096, 1) ->
     * a << 18 | b << 12 | c << 6 | d, little-endian in the dword */
    const __m256i mul_words = _mm256_set1_epi32(0x00011000);
    /* per 128-bit lane: bytes 2, 1, 0 of each dword (big-endian output),
     * 12 bytes, then 4 zero bytes (index with bit 7 set) */
    const __m256i gather = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
                                            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    /* dwords 0-2 of the low lane, then 0-2 of the high lane: 24 bytes */
    const __m256i join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);

    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)src);
    __m256i hi = high_nibbles(v);
    *miss = _mm256_or_si256(*miss, class_misses(v, hi, lut_lo, lut_hi));
    /* '_' lanes look up slot hi | 8 = 13 */
    __m256i fix =
        _mm256_and_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(0x5F)), _mm256_set1_epi8(8));
    __m256i val = _mm256_add_epi8(v, _mm256_shuffle_epi8(lut_off, _mm256_or_si256(hi, fix)));
    __m256i w = _mm256_madd_epi16(_mm256_maddubs_epi16(val, mul_pairs), mul_words);
    w = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(w, gather), join);
    if (room >= 32) {
        _mm256_storeu_si256((__m256i *)(void *)dst, w);
    } else {
        _mm_storeu_si128((__m128i *)(void *)dst, _mm256_castsi256_si128(w));
        _mm_storel_epi64((__m128i *)(void *)(dst + 16), _mm256_extracti128_si256(w, 1));
    }
}

AVX2 size_t ag__b64url_decode_avx2(const uint8_t *in, size_t n, uint8_t *out, size_t room, int *bad)
{
    __m256i miss = _mm256_setzero_si256();
    size_t i = 0;
    for (; n - i >= 32; i += 32)
        decode_block(in + i, out + i / 4 * 3, room - i / 4 * 3, &miss);
    if (i > 0 && n - i >= 4) {
        /* Whole groups left (4..28 characters): decode the last 32
         * characters that start on a group boundary, s = (n - 32) rounded
         * down to a multiple of 4. They overlap what is done (rewriting
         * the same bytes) and end at most 3 characters before in + n;
         * their 24 bytes end at (s + 32) / 4 * 3 <= room. */
        size_t s = (n - 32) & ~(size_t)3;
        decode_block(in + s, out + s / 4 * 3, room - s / 4 * 3, &miss);
        i = s + 32;
    }
    if (!_mm256_testz_si256(miss, miss))
        *bad = -1;
    return i;
}

#else /* no AVX2 code in this build: consume nothing, the callers' loops do it all */

size_t ag__b64url_decode_avx2(const uint8_t *in, size_t n, uint8_t *out, size_t room, int *bad)
{
    (void)in;
    (void)n;
    (void)out;
    (void)room;
    (void)bad;
    return 0;
}

#endif

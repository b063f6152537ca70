/* SPDX-License-Identifier: MIT */
/*
 * authgate — the SHA-256 compression function on the x86 SHA extensions,
 * for HMAC-SHA-256 from per-key midstates and for ag__sha2(256) (crypto_prim.c).
 *
 * FIPS 180-4 §6.2.2 on 64-byte blocks, four rounds per step:
 * SHA256RNDS2 runs two rounds on the working variables held as two
 * registers, ABEF (A in the high dword, F in the low one) and CDGH, with
 * W[t] + K[t] for the two rounds in the low 64 bits of its third operand;
 * after two rounds the old ABEF is the new CDGH. The message schedule
 * W[t] = σ1(W[t−2]) + W[t−7] + σ0(W[t−15]) + W[t−16] is computed four words
 * at a time: SHA256MSG1 adds σ0 of the next word to W[t−16..t−13], the
 * W[t−7..t−4] term is added with PALIGNR, and SHA256MSG2 adds σ1 of
 * W[t−2], W[t−1] and then of the two words it has just produced.
 *
 * Its functions carry the instruction sets they need as target attributes
 * (gcc/clang on x86-64: exactly where crypto_int.h sets AG__SHA256_NI, so
 * the build cannot disagree with the header); they run only after
 * ag__cpu_features() reports AG__CPU_SHANI. Other targets compile this file
 * to nothing, and crypto.c never names the function there.
 *
 * @test tests/token/test_sha256.c
 */
#include "crypto_int.h"

#if defined(AG__SHA256_NI)

#include <immintrin.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static _Alignas(16) const uint32_t round_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

/* Four rounds, t = 4·step .. 4·step + 3, with w = W[t..t+3] (W[t] in the
 * low dword). */
SHA_TARGET static inline void rounds4(__m128i *abef, __m128i *cdgh, __m128i w, int step)
{
    const __m128i wk =
        _mm_add_epi32(w, _mm_load_si128((const __m128i *)(const void *)&round_k[4 * step]));
    const __m128i abef2 = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    /* the next two rounds take W[t+2] + K[t+2], W[t+3] + K[t+3] */
    const __m128i abef4 = _mm_sha256rnds2_epu32(*abef, abef2, _mm_shuffle_epi32(wk, 0x0e));
    *cdgh = abef2;
    *abef = abef4;
}

/* W[t..t+3] from w0 = W[t−16..t−13], w1 = W[t−12..t−9], w2 = W[t−8..t−5],
 * w3 = W[t−4..t−1]. */
SHA_TARGET static inline __m128i schedule(__m128i w0, __m128i w1, __m128i w2, __m128i w3)
{
    __m128i s = _mm_sha256msg1_epu32(w0, w1);         /* W[i] + σ0(W[i+1]) */
    s = _mm_add_epi32(s, _mm_alignr_epi8(w3, w2, 4)); /* + W[i+9] */
    return _mm_sha256msg2_epu32(s, w3);               /* + σ1(W[i+14]) */
}

SHA_TARGET void ag__sha256_ni_blocks(uint32_t state[8], const uint8_t *p, size_t nblocks)
{
    /* big-endian message words to the register's little-endian dwords */
    const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);

    /* H0..H7 = A..H → ABEF = {F, E, B, A}, CDGH = {H, G, D, C} (low dword first) */
    const __m128i abcd = _mm_loadu_si128((const __m128i *)(const void *)state);
    const __m128i efgh = _mm_loadu_si128((const __m128i *)(const void *)(state + 4));
    const __m128i badc = _mm_shuffle_epi32(abcd, 0xb1);
    const __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1b);
    __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xf0);

    for (; nblocks > 0; nblocks--, p += 64) {
        const __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), bswap);
        __m128i w1 =
            _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), bswap);
        __m128i w2 =
            _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), bswap);
        __m128i w3 =
            _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), bswap);
        rounds4(&abef, &cdgh, w0, 0);
        rounds4(&abef, &cdgh, w1, 1);
        rounds4(&abef, &cdgh, w2, 2);
        rounds4(&abef, &cdgh, w3, 3);
        for (int step = 4; step < 16; step += 4) {
            w0 = schedule(w0, w1, w2, w3);
            rounds4(&abef, &cdgh, w0, step);
            w1 = schedule(w1, w2, w3, w0);
            rounds4(&abef, &cdgh, w1, step + 1);
            w2 = schedule(w2, w3, w0, w1);
            rounds4(&abef, &cdgh, w2, step + 2);
            w3 = schedule(w3, w0, w1, w2);
            rounds4(&abef, &cdgh, w3, step + 3);
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }

    /* back: {A, B, E, F} and {G, H, C, D} → {A, B, C, D}, {E, F, G, H} */
    const __m128i abef_r = _mm_shuffle_epi32(abef, 0x1b);
    const __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xb1);
    _mm_storeu_si128((__m128i *)(void *)state, _mm_blend_epi16(abef_r, ghcd, 0xf0));
    _mm_storeu_si128((__m128i *)(void *)(state + 4), _mm_alignr_epi8(ghcd, abef_r, 8));
}

#endif

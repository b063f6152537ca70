/* SPDX-License-Identifier: MIT */
/*
 * authgate — the AVX2 twin of the token base64url decoder
 * (lib/token/b64_simd.c), called by base64url.c's
 * ag__base64url_decode_fast (token_int.h). Not installed. The *_avx2
 * functions may only be called when
 * ag__cpu_features() & AG__CPU_AVX2; in a build without AVX2 code they
 * are stubs that consume nothing, so a caller that checked the feature bit
 * is always correct.
 */
#ifndef AUTHGATE_B64_INT_H
#define AUTHGATE_B64_INT_H

#include <stddef.h>
#include <stdint.h>

/*
 * When n >= 32, decodes every whole 4-character group of in, n / 4 * 3
 * bytes, into out and returns n / 4 * 4, the characters consumed (the
 * 0 to 3 left are the caller's); when n < 32, does nothing and returns
 * 0. Works in 32-character blocks, the last one overlapping the one
 * before. Sets *bad to -1 when any consumed character is outside
 * [A-Za-z0-9_-] (the bytes written are then garbage), and leaves it alone
 * otherwise. room is how many bytes out may take, at least n / 4 * 3:
 * nothing at or past out + room is written (bytes between n / 4 * 3 and
 * room may be, with zeros), nor read at or past in + n.
 * Needs AVX2 (see above).
 * @test tests/token/test_base64url.c
 */
size_t ag__b64url_decode_avx2(const uint8_t *in, size_t n, uint8_t *out, size_t room, int *bad);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * authgate — internal declarations of the token-text scanners and their
 * AVX2 twins (lib/token/b64_simd.c). Not installed.
 *
 * Shared by base64url.c (ag__base64url_decode_fast, declared in
 * token_int.h, calls the block decoder) and lib/http/http_extract.c
 * (ag__b64token_span). The *_avx2 functions may only be called when
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

/*
 * When n >= 32, returns ag__b64token_span(p, n); when n < 32, returns 0
 * (the caller scans short inputs). Reads nothing at or past p + n. Needs
 * AVX2 (see above).
 * @test tests/http/test_http_extract.c
 */
size_t ag__b64token_span_avx2(const uint8_t *p, size_t n);

/*
 * The number of leading bytes of p[0..n) that are RFC 6750 b64token
 * characters: ALPHA DIGIT "-" "." "_" "~" "+" "/" ("=" is not one; the
 * padding is the caller's). AVX2 when the CPU has it, else a table loop
 * (http_extract.c). Reads nothing at or past p + n.
 * @test tests/http/test_http_extract.c
 */
size_t ag__b64token_span(const uint8_t *p, size_t n);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * authgate — HTTP layer internals (not installed).
 *
 * Shared by http_extract.c, cookie.c, csrf.c, http_auth.c, set_cookie.c
 * and http_status.c.
 */
#ifndef AUTHGATE_HTTP_INT_H
#define AUTHGATE_HTTP_INT_H

#include <stdbool.h>

#include "../common/common_int.h"
#include "authgate/http.h"

/* Raw CSRF token size: 16 random bytes ‖ 16 bytes of truncated HMAC. */
#define AG__CSRF_RAW_LEN 32
#define AG__CSRF_RAND_LEN 16

struct ag_http_policy {
    const ag_allocator *alloc;
    unsigned access_sources;
    unsigned refresh_sources;
    ag_span access_cookie; /* point into names_ */
    ag_span refresh_cookie;
    ag_span csrf_cookie;
    ag_span csrf_header;
    ag_span *origins; /* allocated, each pointing into its own copy */
    size_t norigins;
    bool allow_same_site;
    char *names_; /* one allocation holding the names above */
};

/* The default policy (an all-zero config), static and immutable. */
const ag_http_policy *ag__http_policy_default(void);

/* Byte classes (http_extract.c). */
#define AG__HC_TCHAR 1u
#define AG__HC_COOKIE 2u
#define AG__HC_B64TOKEN 4u
#define AG__HC_CTL 8u
extern const uint8_t ag__http_class[256];

/* RFC 9110 tchar. */
bool ag__is_tchar(uint8_t c);
/* RFC 6265 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. */
bool ag__is_cookie_octet(uint8_t c);

/* Trims leading and trailing OWS (SP / HTAB) from a span. */
ag_span ag__trim_ows(ag_span s);

/*
 * Finds the only header named name (case-insensitive). Returns AG_OK with
 * *value set; AG_ERR_NOT_FOUND; AG_ERR_AMBIGUOUS when present twice or more.
 * @test tests/http/test_http_extract.c
 */
ag_err ag__header_single(const ag_header *h, size_t n, const char *name, size_t name_len,
                         ag_span *value);

/*
 * The CSRF checks of a cookie-carried credential (C-01): Sec-Fetch-Site,
 * Origin, then the double submit. On success *csrf is the CSRF header value.
 * Returns AG_OK, AG_ERR_CSRF, AG_ERR_AMBIGUOUS, AG_ERR_REQUEST,
 * AG_ERR_TOO_LARGE.
 * @test tests/http/test_csrf.c
 */
ag_err ag__csrf_request_check(const ag_http_policy *p, const ag_http_request *req, ag_span *csrf);

/*
 * The number of leading bytes of p[0..n) that are RFC 6750 b64token
 * characters: ALPHA DIGIT "-" "." "_" "~" "+" "/" ("=" is not one; the
 * padding is the caller's). AVX2 when the CPU has it, else a table loop
 * (http_extract.c). Reads nothing at or past p + n.
 * @test tests/http/test_http_extract.c
 */
size_t ag__b64token_span(const uint8_t *p, size_t n);

/*
 * When n >= 32, returns ag__b64token_span(p, n); when n < 32, returns 0
 * (the caller scans short inputs). Reads nothing at or past p + n. Call it
 * only when ag__cpu_features() has AG__CPU_AVX2 (b64token_avx2.c; a stub
 * that consumes nothing in builds without SIMD code).
 * @test tests/http/test_http_extract.c
 */
size_t ag__b64token_span_avx2(const uint8_t *p, size_t n);

/*
 * The refresh credential without verification or the CSRF session binding
 * (C-02): internal, so that no caller can stop half-way. Only
 * ag_http_refresh_verify() calls it. Errors as that call's, minus verify's.
 * @test tests/http/test_http_auth.c
 */
ag_err ag__http_refresh_credential(const ag_http_policy *policy, const ag_http_request *req,
                                   ag_http_credential *out);

#endif

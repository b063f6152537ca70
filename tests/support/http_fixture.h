/* SPDX-License-Identifier: MIT */
/*
 * The HTTP-layer tests' shared fixture (test_http_auth, test_mhd_adapter):
 * alice's real HS256 access and refresh tokens for one session, the two
 * verifiers that accept them, and that session's CSRF token. Public API
 * only, so the MHD test links it without the internal test support.
 */
#ifndef AG_TEST_HTTP_FIXTURE_H
#define AG_TEST_HTTP_FIXTURE_H

#include <stdint.h>

#include "authgate/http.h"

#define AG_TEST_HTTP_ISS "https://issuer.test"
#define AG_TEST_HTTP_SUB "alice"
#define AG_TEST_HTTP_SID "family-1"

/* The CSRF secret the fixture's token is made under (32 bytes). */
extern const uint8_t ag_test_http_csrf_secret[32];

typedef struct ag_test_http {
    ag_verifier *v_access;             /* kind access, audience "api", no leeway */
    ag_verifier *v_refresh;            /* kind refresh, audience "refresh", no leeway */
    char tok_at[AG_TOKEN_MAX_LEN + 1]; /* ttl 600 s, sid AG_TEST_HTTP_SID */
    char tok_rt[AG_TOKEN_MAX_LEN + 1]; /* ttl 3600 s, same sid */
    char csrf[AG_CSRF_TOKEN_LEN + 1];  /* of AG_TEST_HTTP_SID */
} ag_test_http;

/*
 * Fills f: fresh random keys (the caller keeps no key or ring; the
 * verifiers hold what they need), the tokens issued now, the CSRF token.
 * Fails the running Check test (ck_assert) when any step fails.
 */
void ag_test_http_init(ag_test_http *f);

/* Frees f's verifiers; f may then be initialised again. */
void ag_test_http_free(ag_test_http *f);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Shared by the tests of lib/token/jws.c (test_jws_*.c): keys of every
 * algorithm in one keyring, access/refresh/any verifiers against the test
 * clock, and token builders. main() calls setup_keys() once, before Check
 * forks per test (RSA generation is slow); the forked tests inherit them.
 */
#ifndef AG_TEST_JWS_FIXTURE_H
#define AG_TEST_JWS_FIXTURE_H

#include <stddef.h>

#include <check.h>

#include "authgate/token.h"
#include "testsupport.h"

#define ISS "https://issuer.example"
#define AUD "api.example"
#define T0 AG_TEST_T0

/* The standard HS256 access header with extra members x, a payload with
 * iss/sub/aud/jti and extra members x, and valid exp/iat for T0. */
#define H(x) "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"" x "}"
#define P(x) "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD "\",\"jti\":\"j1\"" x "}"
#define TIMES ",\"exp\":1700000600,\"iat\":1700000000"

extern ag_key *k_hs, *k_es, *k_rs, *k_ps, *k_ed, *k_es384, *k_hs512, *k_ed2, *k_es2;
extern ag_keyring *ring; /* all of the keys above, frozen by the verifiers */
extern ag_verifier *v_access, *v_refresh, *v_any;

void setup_keys(void);
/* Builds b64(hdr).b64(payload).b64(sig) signed with key; returns its length. */
size_t mk_token(const ag_key *key, const char *hdr, const char *payload, char *out, size_t cap);
/* A valid access payload for T0 (a static buffer). */
const char *payload_ok(void);
ag_err verify_str(const ag_verifier *v, const char *tok);
/* Issues a token of kind with key (iss ISS, aud AUD, sub alice, ttl 600). */
ag_err issue(const ag_key *key, ag_token_kind kind, const char *sid, char *buf, size_t cap,
             ag_issued *info);

/* main() of each jws test: the allocation hooks, the keys, then the suite. */
int jws_test_main(Suite *(*make)(void));

#endif

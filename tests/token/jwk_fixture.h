/* SPDX-License-Identifier: MIT */
/*
 * Shared by the tests of lib/token/jwk.c (test_jwk_*.c): fixture keys as
 * private JWK text, other curves as EVP_PKEYs, and import helpers whose
 * error text lands in why.
 */
#ifndef AG_TEST_JWK_FIXTURE_H
#define AG_TEST_JWK_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "authgate/token.h"

/* Fixtures made once in jwk_test_main(); the forked tests inherit them. */
extern char *rsa_priv;  /* RS256, 2048-bit, with CRT */
extern char *rsa2_priv; /* another 2048-bit key */
extern char *p256_priv; /* ES256 */
extern char *p384_priv; /* ES384 */
extern char *ed_priv;   /* EdDSA */
extern char *oct_priv;  /* HS256 */
extern EVP_PKEY *secp256k1, *p521, *x25519, *ed448;
extern char why[256]; /* the errbuf of the last import */

/* Parses strict JSON (an object, no duplicates) or, parse_any, any value. */
json_t *parse(const char *s);
json_t *parse_any(const char *s);
ag_err import_json(json_t *o, ag_alg def, ag_key **out);
/* Imports and frees; returns the verdict. */
ag_err verdict(json_t *o, ag_alg def);
/* A copy of a fixture with members changed: pairs of (name, value) where
 * value NULL deletes the member and a value starting with '#' is raw JSON. */
json_t *mutate(const char *base, const char *const *kv, size_t n);
#define MUT(base, ...)                                                                             \
    mutate(base, (const char *const[]){__VA_ARGS__},                                               \
           sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
/* base64url of p (malloc'd). */
char *b64(const uint8_t *p, size_t n);
/* The public JWK of a private one (malloc'd). */
char *public_of(const char *priv);
/* main() of each jwk test: makes the fixtures, runs the suite, frees them. */
int jwk_test_main(Suite *(*make)(void));

#endif

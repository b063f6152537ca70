/* SPDX-License-Identifier: MIT */
/*
 * authgate — session layer internals (not installed).
 */
#ifndef AUTHGATE_SESSION_INT_H
#define AUTHGATE_SESSION_INT_H

#include "../common/common_int.h"
#include "authgate/session.h"
#include "authgate/store.h"

/* SHA-256 of a jti's bytes: the only form a store ever sees.
 * @test tests/session/test_session.c */
ag_err ag__session_hash(const ag_session *s, const uint8_t *p, size_t n,
                        uint8_t out[AG_STORE_HASH_LEN]);

/* The successor jti when a reuse interval is on:
 * base64url(HMAC-SHA256(server secret, parent jti)), 43 characters, so a
 * replay of the parent derives the same successor and the family never
 * forks. Needs a session built with a secret.
 * @test tests/session/test_session.c */
ag_err ag__session_derive_jti(const ag_session *s, const uint8_t *parent, size_t n,
                              char out[AG_JTI_LEN + 1]);

#endif

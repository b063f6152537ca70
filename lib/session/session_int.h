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

/* The caller's pair (tokens.c). attached: t has a buffer big enough for
 * any pair. overlaps: [p, p + n) overlaps t or its buffer. reset: empties
 * t on entry (nothing of ours in it yet, so not cleansed). wipe: cleanses
 * what a call wrote, then resets. */
bool ag__tokens_attached(const ag_session_tokens *t);
bool ag__tokens_overlaps(const ag_session_tokens *t, const void *p, size_t n);
void ag__tokens_reset(ag_session_tokens *t);
void ag__tokens_wipe(ag_session_tokens *t);

#endif

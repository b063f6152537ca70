/* SPDX-License-Identifier: MIT */
/*
 * authgate — the hooks through which every layer reports to events.h and
 * metrics.h (lib/common/events.c, metrics.c). Each is one call at a point
 * where a result is already known; none allocates.
 */
#ifndef AUTHGATE_OBSERVE_INT_H
#define AUTHGATE_OBSERVE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "authgate/events.h"
#include "authgate/metrics.h"

/* Monotonic nanoseconds (never 0). */
uint64_t ag__now_ns(void);

/* Emits ev to the installed sink, if any. */
void ag__event_emit(const ag_event *ev);
/* An event with only a type, a reason and a detail (NULL → ""). */
void ag__event_simple(ag_event_type type, ag_err err, const char *detail);
/* An event about one session (sid and subject as byte ranges; may be empty). */
void ag__event_session(ag_event_type type, ag_err err, const char *sid, size_t sid_len,
                       const char *subject, size_t subject_len, const char *detail);
/* The sink's slow-store threshold in ns; 0 when no sink or never. */
uint64_t ag__events_slow_ns(void);

/* ag_verify: begin gives a start time when this verify is sampled, else 0;
 * end counts the result and, for a refusal, emits VERIFY_REFUSED. */
uint64_t ag__obs_verify_begin(void);
void ag__obs_verify_end(uint64_t t0, ag_err err, int cause);

/* A start time when anything will use it (metrics on, or a sink), else 0. */
uint64_t ag__obs_begin(void);
/* Store calls: counter, histogram, STORE_ERROR and STORE_SLOW events. */
void ag__obs_store(ag_store_op op, ag_err err, uint64_t t0);
/* Session results. */
void ag__obs_refresh(ag_err err, bool replayed, uint64_t t0);
void ag__obs_login(ag_err err);
void ag__obs_logout(ag_err err);
/* A family ended for reason (an ag_revoke_reason); also FAMILY_REVOKED. */
void ag__obs_revoked(int reason, const char *sid, size_t sid_len, const char *subject,
                     size_t subject_len);
void ag__obs_keys_changed(void);
void ag__obs_jwks(ag_err err, const char *why);

#endif

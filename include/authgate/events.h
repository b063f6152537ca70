/* SPDX-License-Identifier: MIT */
/*
 * authgate — events: what the library saw, as it happens, for logs and
 * alerts (docs/operations.md lists every event and what to alert on).
 *
 * One sink per process, not one per object: an operator wants one place
 * that hears every verifier, session manager, store and remote key set,
 * including objects made by code they do not own (a framework adapter, the
 * nginx module), and the store wrappers and key swaps have no
 * configuration struct to carry a callback. Per-object callbacks that
 * already exist (ag_session_config.on_reuse, on_evict, on_error,
 * ag_jwks_remote_config.on_error) keep working alongside.
 *
 * An event never holds a token, a jti, a key, a hash of one, or a
 * password: only the reason, which claim, the session id (sid) and the
 * subject where they are known from a verified token or the store, a
 * duration, and a short static detail text.
 */
#ifndef AUTHGATE_EVENTS_H
#define AUTHGATE_EVENTS_H

#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What happened. Values are stable (appended only). @since 0.2 */
typedef enum ag_event_type {
    AG_EVENT_VERIFY_REFUSED = 1,    /**< ag_verify() refused a token: err, cause */
    AG_EVENT_REFRESH_ROTATED = 2,   /**< a refresh token was exchanged: sid, subject */
    AG_EVENT_REFRESH_REPLAYED = 3,  /**< a just-rotated token was replayed within the
                                         reuse interval and got the same successor */
    AG_EVENT_REUSE_DETECTED = 4,    /**< an old refresh token came back: the family is
                                         revoked (sid, subject) */
    AG_EVENT_FAMILY_REVOKED = 5,    /**< a session ended; detail: why ("logout",
                                         "logout_all", "reuse", "admin", "evicted") */
    AG_EVENT_SESSION_EVICTED = 6,   /**< the per-subject session cap ended a session */
    AG_EVENT_STORE_ERROR = 7,       /**< a store call failed (err: AG_ERR_STORE,
                                         AG_ERR_STORE_FULL or AG_ERR_NOMEM); detail: the
                                         operation ("create", "rotate", …) */
    AG_EVENT_STORE_SLOW = 8,        /**< a store call took longer than the sink's
                                         slow_store_us; duration_us, detail: operation */
    AG_EVENT_KEYS_CHANGED = 9,      /**< a verifier or issuer switched key sets */
    AG_EVENT_JWKS_FETCH_OK = 10,    /**< a remote JWKS was fetched and installed */
    AG_EVENT_JWKS_FETCH_FAILED = 11 /**< a remote JWKS fetch or document failed:
                                        err, detail (transport text or why refused) */
} ag_event_type;

/** One past the highest event type. @since 0.2 */
#define AG_EVENT_COUNT_ 12

/**
 * An event. Everything in it is valid during the callback only (spans
 * point into the library's memory); copy what you keep.
 * @since 0.2
 */
typedef struct ag_event {
    ag_event_type type;
    ag_err err;            /**< the reason (AG_OK when there is none) */
    ag_verify_cause cause; /**< VERIFY_REFUSED: which check, e.g. AG_CAUSE_AUD */
    ag_span sid;           /**< session id when known, else empty */
    ag_span subject;       /**< subject when known, else empty */
    int64_t duration_us;   /**< STORE_SLOW: how long the call took */
    const char *detail;    /**< short text, never NULL, never a secret */
} ag_event;

/** Receives events. Called on the thread where the event happened, maybe
 * many at once, sometimes with a store lock held: be quick, do not call
 * back into authgate. @since 0.2 */
typedef void (*ag_event_fn)(void *ctx, const ag_event *ev);

/** Where events go. Owned by the caller, who keeps it alive and unchanged
 * while installed; the library reads it in place (it is not copied).
 * Start from AG_INIT (error.h), then set fn. @since 0.2 */
typedef struct ag_event_sink {
    size_t size;    /**< sizeof(ag_event_sink): set by AG_INIT (error.h) */
    ag_event_fn fn; /**< required */
    void *ctx;
    int64_t slow_store_us; /**< STORE_SLOW threshold; 0 → 100000 (100 ms); < 0: never */
} ag_event_sink;

/**
 * Installs the process's event sink, or removes it (NULL).
 * @param[in] sink  NULL, or made with AG_INIT(ag_event_sink) and fn set
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (a size other than a known
 * layout's, or no fn): the installed sink is then left as it was.
 * Removing (NULL) always succeeds.
 *
 * Events that start after the call go to sink; one that started before may
 * still reach the previous sink, so keep an old sink alive until the
 * threads that might be emitting have moved on (or for the process's
 * lifetime, the usual case: install once at start).
 * Thread safety: safe from any thread (one atomic pointer).
 * Cost: with no sink, an event costs one atomic load; a verify that passes
 * never looks at the sink at all.
 * @since 0.2
 */
AG_API ag_err ag_events_set(const ag_event_sink *sink);

/** Short stable name of an event type ("verify_refused", …; "" if unknown).
 * @since 0.2 */
AG_API const char *ag_event_type_name(ag_event_type type);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_EVENTS_H */

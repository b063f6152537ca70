/* SPDX-License-Identifier: MIT */
/*
 * authgate — sessions: issue access+refresh pairs, rotate refresh tokens
 * against a store, detect reuse, revoke (docs/sessions.md "The rotation model",
 * docs/security.md R-01…R-11).
 *
 * The store only ever sees SHA-256 of a jti. Refresh verifies the
 * token completely before the store is touched (R-04, V-11), then makes
 * ONE atomic store call. Any store failure is an error to the
 * caller, never an acceptance.
 *
 * See authgate.h for the conventions and docs/sessions.md for the model.
 */
#ifndef AUTHGATE_SESSION_H
#define AUTHGATE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "revocation.h"
#include "store.h"
#include "token.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default idle lifetime of a refresh token: 14 days. @since 0.1 */
#define AG_SESSION_REFRESH_TTL_DEFAULT INT64_C(1209600)
/** Default absolute lifetime of a family: 30 days. @since 0.1 */
#define AG_SESSION_FAMILY_LIFETIME_DEFAULT INT64_C(2592000)
/** Largest reuse interval accepted, in seconds (R-08: "bounded"). @since 0.1 */
#define AG_SESSION_REUSE_INTERVAL_MAX 300
/** Smallest server secret for derived jtis, in bytes. @since 0.1 */
#define AG_SESSION_SECRET_MIN 32
/** Default replays of the previous token inside the reuse interval. @since 0.2 */
#define AG_SESSION_MAX_REPLAYS_DEFAULT 1
/** Largest replay count accepted. @since 0.2 */
#define AG_SESSION_MAX_REPLAYS_MAX 16
/** Default cap on one subject's live sessions. @since 0.2 */
#define AG_SESSION_MAX_SESSIONS_DEFAULT 32
/** Longest retry key (ag_session_refresh_retryable()), bytes. @since 0.2 */
#define AG_SESSION_RETRY_KEY_MAX_LEN 128
/** Length of the hash prefix handed to the reuse callback (hex chars). @since 0.1 */
#define AG_SESSION_HASH_PREFIX_LEN 8

/**
 * What the reuse callback learns (R-11: never the token or the jti).
 * All views are valid only during the callback.
 * @since 0.1
 */
typedef struct ag_reuse_event {
    ag_span sid;                                      /**< the family that was revoked */
    ag_span subject;                                  /**< its subject */
    char hash_prefix[AG_SESSION_HASH_PREFIX_LEN + 1]; /**< hex of SHA-256(jti)'s first bytes */
    int64_t now;                                      /**< when it was detected */
} ag_reuse_event;

/**
 * Called after reuse revoked a family, for a security log. Runs on the
 * thread that called ag_session_refresh(), after the store call returned;
 * it must not call back into the same session with the same token.
 */
typedef void (*ag_reuse_fn)(void *ctx, const ag_reuse_event *ev);

/**
 * What the eviction callback learns: a login went past the subject's
 * session cap and ended this older session. Views are valid only during
 * the callback.
 * @since 0.2
 */
typedef struct ag_evict_event {
    ag_span sid;     /**< the family that was ended */
    ag_span subject; /**< its subject */
    int64_t now;
} ag_evict_event;

/** Called after a login evicted an older session of the same subject. @since 0.2 */
typedef void (*ag_evict_fn)(void *ctx, const ag_evict_event *ev);

/**
 * Called when something failed that the call's own result does not say:
 * `what` names it ("revocation set", "revocation log"), e the error. The
 * call itself still succeeded (the family is revoked in the store). Never
 * given a token, jti or secret.
 * @since 0.2
 */
typedef void (*ag_session_error_fn)(void *ctx, const char *what, ag_err e);

/** How to build a session manager. Start from AG_INIT, then set. @since 0.1 */
typedef struct ag_session_config {
    size_t size;                         /**< sizeof(ag_session_config): set by AG_INIT (error.h) */
    const ag_issuer *access_issuer;      /**< required; kind AG_TOKEN_ACCESS */
    const ag_issuer *refresh_issuer;     /**< required; kind AG_TOKEN_REFRESH */
    const ag_verifier *refresh_verifier; /**< required; kind AG_TOKEN_REFRESH, the refresh
                                              audience and issuer pinned */
    ag_store *store;                     /**< required */
    int64_t refresh_ttl;                 /**< idle lifetime of each refresh token, seconds;
                                              0 → AG_SESSION_REFRESH_TTL_DEFAULT */
    int64_t family_lifetime;    /**< absolute lifetime of a login, seconds, never extended by
                                     rotation; 0 → AG_SESSION_FAMILY_LIFETIME_DEFAULT */
    int64_t reuse_interval;     /**< seconds, 0 (default) = off; at most
                                     AG_SESSION_REUSE_INTERVAL_MAX. Needs `secret`. Inside
                                     it the previous refresh token may be presented again
                                     (a lost response retried) and gets the same successor;
                                     see docs/sessions.md for the trade-off. */
    uint32_t reuse_max_replays; /**< replays allowed per rotation inside the interval;
                                   0 → AG_SESSION_MAX_REPLAYS_DEFAULT (1); at most
                                   AG_SESSION_MAX_REPLAYS_MAX. Using the successor ends
                                   the window at once. @since 0.2 */
    const uint8_t *secret;      /**< server secret for derived successor jtis; copied;
                                     ≥ AG_SESSION_SECRET_MIN CSPRNG bytes; required
                                     when reuse_interval > 0, else ignored */
    size_t secret_len;
    int64_t purge_margin; /**< seconds rows are kept past their exp so a token
                               inside the verifier's leeway is still recognised;
                               0 → AG_LEEWAY_MAX; negative → the refresh verifier's
                               leeway. Never less than that leeway. */
    size_t max_sessions;  /**< live sessions per subject; a login past it ends the
                               subject's oldest (on_evict). 0 →
                               AG_SESSION_MAX_SESSIONS_DEFAULT. @since 0.2 */
    ag_reuse_fn on_reuse; /**< optional */
    void *on_reuse_ctx;
    ag_evict_fn on_evict; /**< optional @since 0.2 */
    void *on_evict_ctx;
    /**
     * Optional: the revocation set of this process's access verifiers.
     * Every call that revokes a family — logout, logout-all, reuse
     * detection, eviction, the administrative revokes — also adds its sid
     * (logout-all and revoke_subject: the subject) here, in the same
     * call, so the family's access tokens stop verifying at once.
     * Referenced, not owned. @since 0.2
     */
    ag_revset *revocations;
    ag_session_error_fn on_error; /**< optional @since 0.2 */
    void *on_error_ctx;
    ag_clock_fn clock; /**< NULL → ag_clock_system */
    void *clock_ctx;
    const ag_allocator *alloc; /**< NULL → stdlib */
    /**
     * With a reuse interval: false (default) lets any replay of the
     * previous token inside it get the successor. true: only a refresh
     * made with a retry key (ag_session_refresh_retryable()) can be
     * replayed, and only with the same key; a replay without it, or with
     * another, and a logout with the previous token, are reuse. Concurrent
     * refreshes of one token then still end with exactly one winner unless
     * they carry one key. See docs/sessions.md. @since 0.2
     */
    bool replay_needs_key;
} ag_session_config;

/**
 * An immutable session manager. It references (does not own) the issuers,
 * the verifier and the store: they must outlive it. Shared by threads.
 * @since 0.1
 */
typedef struct ag_session ag_session;

/** Caller memory for the two tokens of an ag_session_tokens: room for two
 * tokens of up to AG_TOKEN_MAX_LEN bytes and their NULs. @since 0.2 */
#define AG_SESSION_TOKENS_BUF_LEN (2u * (AG_TOKEN_MAX_LEN + 1u))

/**
 * A freshly issued pair: a small struct whose two token pointers point
 * into caller memory of AG_SESSION_TOKENS_BUF_LEN bytes, attached once with
 * ag_session_tokens_init() (or allocated with it by ag_session_tokens_new()),
 * so no token limit is part of its layout. Tokens are NUL-terminated.
 * ag_session_tokens_clear() wipes both. A struct that was never attached
 * to a buffer is AG_ERR_INVALID_ARGUMENT to every call that fills it, and
 * so is one whose size is below sizeof(ag_session_tokens): start from
 * `ag_session_tokens t = AG_INIT(ag_session_tokens);` (error.h) before
 * ag_session_tokens_init().
 * @since 0.1 (0.2: tokens in caller memory; size)
 */
typedef struct ag_session_tokens {
    size_t size;  /**< sizeof(ag_session_tokens): AG_INIT before ag_session_tokens_init()
                       (error.h); ag_session_tokens_new() sets it; every call keeps it */
    char *access; /**< NUL-terminated, in the attached buffer */
    size_t access_len;
    int64_t access_exp; /**< epoch seconds */
    char *refresh;      /**< NUL-terminated, in the attached buffer */
    size_t refresh_len;
    int64_t refresh_exp;          /**< epoch seconds; ≤ family_exp */
    int64_t family_exp;           /**< absolute end of this login */
    char sid[AG_SID_MAX_LEN + 1]; /**< the family id (also in both tokens) */
    uint64_t generation;          /**< rotations since login */
    bool replayed;                /**< true: a benign replay inside the reuse interval
                                       got the same successor again */
    /* private: set by ag_session_tokens_init / _new; do not touch */
    size_t cap_;
    const ag_allocator *alloc_;
    bool owned_;
} ag_session_tokens;

/**
 * Attaches buf to t: the access token goes into its first half, the
 * refresh token into its second. t is emptied (its size kept); buf must
 * outlive t's use.
 * @param[in,out] t  made with AG_INIT(ag_session_tokens) (error.h)
 * @param[in] len  at least AG_SESSION_TOKENS_BUF_LEN
 * Returns: AG_OK; AG_ERR_BUFFER (len too small); AG_ERR_INVALID_ARGUMENT
 * (NULL, or t's size below sizeof(ag_session_tokens): not made with
 * AG_INIT).
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_session_tokens_init(ag_session_tokens *t, void *buf, size_t len);

/**
 * Allocates a pair holder and its buffer in one block (about 16 KiB), ready
 * to fill (its size set: no AG_INIT needed). Release with ag_session_tokens_free().
 * @param[in] alloc  or NULL for the C library's
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_NOMEM.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_session_tokens_new(const ag_allocator *alloc,
                                                 ag_session_tokens **out);

/** Wipes and frees what ag_session_tokens_new() made. NULL is a no-op.
 * @since 0.2 */
AG_API void ag_session_tokens_free(ag_session_tokens *t);

/**
 * Builds a session manager.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (missing object, bad lifetime,
 * interval out of range, missing or short secret); AG_ERR_CRYPTO;
 * AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_new(const ag_session_config *cfg, ag_session **out);

/** Frees a manager (cleansing its secret). NULL is a no-op. @since 0.1 */
AG_API void ag_session_free(ag_session *s);

/**
 * Starts a login: a new family (sid = 32 CSPRNG bytes, base64url), its
 * first refresh token stored as SHA-256(jti), and an access token carrying
 * the same sid. If the subject then has more than max_sessions live
 * sessions, its oldest ones are ended (AG_REVOKE_EVICTED) and reported
 * through on_evict.
 *
 * @param[in]  subject  NUL-terminated, 1..AG_SUBJECT_MAX_LEN bytes
 * @param[out] out      the pair: made with AG_INIT and attached (or from
 *                      ag_session_tokens_new())
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE_FULL; AG_ERR_STORE;
 * AG_ERR_CRYPTO; AG_ERR_NOMEM; the token layer's issue errors. On failure
 * *out holds no token.
 * Thread safety: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_issue(const ag_session *s, const char *subject,
                                            ag_session_tokens *out);

/**
 * Exchanges a refresh token for a new pair: verify fully (signature,
 * rt+jwt, iss, aud, exp, sid) → SHA-256(jti) → one atomic store rotate →
 * issue. Nothing reaches the store for a token that does not verify.
 *
 * @param[in]  token, len  the refresh token bytes as received
 * @param[out] out         the new pair (made with AG_INIT and attached to
 *                         its buffer, or from ag_session_tokens_new()); wiped first,
 *                         so neither it nor its buffer may hold token
 *                         (AG_ERR_INVALID_ARGUMENT)
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; any ag_verify() error (AG_ERR_SIGNATURE, AG_ERR_EXPIRED,
 * AG_ERR_WRONG_TYPE, AG_ERR_CLAIM for a missing sid, …); AG_ERR_UNKNOWN
 * (valid signature, but its family is not in the store: purged or never
 * stored; nothing revoked); AG_ERR_REUSED (a token of the family that is
 * not its current one, nor an allowed replay: the family is now revoked,
 * the callback ran); AG_ERR_REVOKED; AG_ERR_EXPIRED (idle or absolute
 * lifetime over); AG_ERR_STORE (fail closed, R-06); AG_ERR_CRYPTO;
 * AG_ERR_NOMEM. On failure *out holds no token.
 * Thread safety: safe; of concurrent refreshes of one token exactly one
 * rotates; with a reuse interval up to reuse_max_replays others get the
 * same successor.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_refresh(const ag_session *s, const uint8_t *token, size_t len,
                                              ag_session_tokens *out);

/**
 * ag_session_refresh() for a token the caller has already verified, so a
 * refresh verifies once: typically the claims of ag_http_refresh_verify()
 * or ag_mhd_refresh_verify() (which also checked the cookie channel's CSRF
 * binding), or of ag_verify() with the session's refresh verifier.
 *
 * Only claims that this session's refresh verifier accepted are taken:
 * ag_verify() records in the claims which verifier passed them and marks
 * them unverified on any failure (ag_http_refresh_verify() also on a
 * failed CSRF check), so claims of another verifier, of a failed verify or
 * never verified are AG_ERR_INVALID_ARGUMENT. exp is checked again against
 * the session's clock (with the verifier's leeway), since time passed
 * since the verify. Then as ag_session_refresh(): SHA-256(jti) → one
 * atomic store rotate → issue.
 *
 * @param[in]  claims  verified refresh-token claims (their scratch still
 *                     live; made with AG_INIT, so their size is
 *                     sizeof(ag_claims) or more); not NULL
 * @param[out] out     the new pair; wiped first, so the claims must not
 *                     point into it (AG_ERR_INVALID_ARGUMENT)
 * Returns: as ag_session_refresh(), plus AG_ERR_INVALID_ARGUMENT for claims
 * not verified by the session's refresh verifier or whose size is below
 * sizeof(ag_claims).
 * Thread safety: safe.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_session_refresh_verified(const ag_session *s, const ag_claims *claims,
                                                       ag_session_tokens *out);

/**
 * ag_session_refresh_verified() for a client that may retry: key is the
 * client's name for this one refresh (HTTP: its Idempotency-Key, see
 * ag_http_parse_idempotency_key()), the same on every retry of it and new
 * for the next. The successor is derived from the token and the key, so
 * inside the reuse interval a retry with the same key whose answer was
 * lost gets the same successor (AG_OK, out->replayed), and a replay with
 * another key or none is reuse (the family is revoked). Without a reuse
 * interval the key changes nothing.
 *
 * @param[in] key      1..AG_SESSION_RETRY_KEY_MAX_LEN bytes of printable
 *                     ASCII (0x20..0x7e), or NULL and 0 for none (then
 *                     exactly ag_session_refresh_verified())
 * Returns: as ag_session_refresh_verified(), plus AG_ERR_INVALID_ARGUMENT
 * for a key that is too long or not printable ASCII.
 * Thread safety: safe; concurrent refreshes of one token with one key all
 * get the same successor (up to reuse_max_replays of them).
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_session_refresh_retryable(const ag_session *s,
                                                        const ag_claims *claims, const uint8_t *key,
                                                        size_t key_len, ag_session_tokens *out);

/**
 * Logs out: verifies the refresh token like refresh does and, in one
 * atomic store step, revokes its family — if the token is the family's
 * current one (or a replay refresh would allow). A rotated token is
 * reuse: the family is revoked for reuse, on_reuse runs, and the call
 * answers AG_ERR_REUSED. A revoked or expired family fails as refresh
 * would.
 * Returns: AG_OK; verify errors; AG_ERR_UNKNOWN (family not in the
 * store); AG_ERR_REUSED; AG_ERR_REVOKED; AG_ERR_EXPIRED; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_logout(const ag_session *s, const uint8_t *token, size_t len);

/**
 * ag_session_logout() for claims already verified, under the rules of
 * ag_session_refresh_verified() (this session's refresh verifier only; exp
 * checked again; claims of AG_INIT's size or more).
 * Returns: as ag_session_logout(), plus AG_ERR_INVALID_ARGUMENT.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_session_logout_verified(const ag_session *s, const ag_claims *claims);

/**
 * Logs out everywhere: verifies the refresh token, ends its family as
 * ag_session_logout() does — but only for the family's current token (no
 * replay is accepted: a stale token must never be a switch that ends
 * every session) — then revokes every other family of its subject.
 * @param[out] count  optional: live families revoked by this call, its own
 *                    included (expired ones are not sessions to end)
 * Returns: as ag_session_logout(), plus AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_logout_all(const ag_session *s, const uint8_t *token,
                                                 size_t len, size_t *count);

/**
 * ag_session_logout_all() for claims already verified, under the rules of
 * ag_session_refresh_verified() (claims of AG_INIT's size or more).
 * Returns: as ag_session_logout_all(), plus AG_ERR_INVALID_ARGUMENT.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_session_logout_all_verified(const ag_session *s,
                                                          const ag_claims *claims, size_t *count);

/**
 * Administrative revocation of one family by sid (no token needed).
 * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_revoke(const ag_session *s, const char *sid, size_t sid_len);

/**
 * Administrative revocation of every family of a subject (password change,
 * account lock).
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_NOMEM; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_revoke_subject(const ag_session *s, const char *subject,
                                                     size_t subject_len, size_t *count);

/**
 * Whether a family is live: for refusing access tokens of a logged-out
 * session at verify time (their sid claim). One store lookup.
 * Returns: AG_OK (live); AG_ERR_REVOKED; AG_ERR_EXPIRED; AG_ERR_UNKNOWN (no
 * such family, or purged); AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_check_sid(const ag_session *s, const char *sid,
                                                size_t sid_len);

/** Most sessions one ag_session_list() call returns. @since 0.2 */
#define AG_SESSION_LIST_MAX 1024

/**
 * One live session as ag_session_list() shows it: what a user may see of
 * their own logins. Never a token, a jti or a hash of one.
 * @since 0.2
 */
typedef struct ag_session_info {
    char sid[AG_SID_MAX_LEN + 1]; /**< the family id (the tokens' sid claim) */
    size_t sid_len;
    int64_t created;      /**< login time, epoch seconds */
    int64_t last_rotated; /**< last refresh, epoch seconds; 0: never refreshed */
    uint64_t generation;  /**< rotations so far */
    int64_t idle_expires; /**< the current refresh token's exp */
    int64_t expires;      /**< the family's absolute expiry (R-07) */
} ag_session_info;

/**
 * Lists a subject's live sessions (not revoked, not expired), oldest
 * first, for a "your sessions" page. One store call (the backend's
 * list_subject; memory, SQLite and PostgreSQL have it).
 * @param[out] out    cap entries (may be NULL when cap is 0)
 * @param      cap    0..AG_SESSION_LIST_MAX
 * @param[out] n      entries written: min(cap, live sessions)
 * @param[out] total  optional: all live sessions of the subject
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STATE (the store cannot
 * list); AG_ERR_NOMEM; AG_ERR_STORE.
 * Thread safety: safe.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_session_list(const ag_session *s, const char *subject,
                                           size_t subject_len, ag_session_info *out, size_t cap,
                                           size_t *n, size_t *total);

/**
 * The purge job: deletes families over more than purge_margin seconds
 * ago (absolute or idle expiry; revoked tombstones included). Run it
 * periodically (e.g. hourly).
 * @param[out] removed  optional: families deleted
 * Returns: AG_OK; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_session_purge(const ag_session *s, size_t *removed);

/* ------------------------------------------------------------------ */
/* Following a store's revocation log                                  */
/* ------------------------------------------------------------------ */

/** How to follow a revocation log. Start from AG_INIT, then set. @since 0.2 */
typedef struct ag_revsync_config {
    size_t size;                  /**< sizeof(ag_revsync_config): set by AG_INIT (error.h) */
    ag_store *store;              /**< required; one with a revocation log (ag_store_has_log) */
    ag_revset *revocations;       /**< required: the set this process's access verifiers use */
    int interval_ms;              /**< 0 → 200: how often the log is read (at most this long
                                       between reads; a store with notifications, PostgreSQL,
                                       wakes the follower at once) */
    int64_t log_retention;        /**< > 0: this follower also deletes log entries older than
                                       this many seconds (set it ≥ the set's entry_ttl); 0: never */
    ag_session_error_fn on_error; /**< optional: a read that failed ("revocation log") */
    void *on_error_ctx;
    ag_clock_fn clock; /**< NULL → ag_clock_system */
    void *clock_ctx;
    const ag_allocator *alloc; /**< NULL → stdlib */
} ag_revsync_config;

/** A running follower: one thread. @since 0.2 */
typedef struct ag_revsync ag_revsync;

/**
 * Reads the whole log into the set (the catch-up), then starts a thread
 * that reads what is new every interval_ms, and at once when the store's
 * log_wait reports news (a notification, a reconnect), adds it to the set
 * and marks the set synchronised. The thread is the only caller of
 * ag_store_log_wait on that store; stop returns within about 250 ms. A read that fails is reported
 * and retried at the next interval; nothing read is ever skipped, because entries are read by their
 * increasing id, so a notification lost while disconnected is never a lost revocation.
 * @param[out] out  stop with ag_revsync_stop()
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STATE (the store keeps
 * no log); AG_ERR_STORE (the catch-up read failed: nothing started);
 * AG_ERR_NOMEM.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_revsync_start(const ag_revsync_config *cfg, ag_revsync **out);

/**
 * One read of what is new, on the caller's thread (the started thread
 * does the same on its own). For tests and for callers that drive their
 * own loop.
 * @param[out] applied  optional: entries added to the set
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_revsync_poll(ag_revsync *rs, size_t *applied);

/** Stops the thread and frees the follower. NULL is a no-op. @since 0.2 */
AG_API void ag_revsync_stop(ag_revsync *rs);

/** Wipes a token pair (OPENSSL_cleanse): both tokens in its buffer, the
 * sid and the numbers; it stays attached to its buffer, ready for reuse.
 * NULL is a no-op. @since 0.1 */
AG_API void ag_session_tokens_clear(ag_session_tokens *t);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_SESSION_H */

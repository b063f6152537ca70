/* SPDX-License-Identifier: MIT */
/*
 * authgate — refresh-token stores: the backend interface and the shipped
 * backends (memory, SQLite, PostgreSQL).
 *
 * A store keeps one row per refresh-token *family* (one per login, named
 * by its sid): the hash of its current token, of the one before it, and
 * what rotation and revocation need. It never sees a token or a jti
 * the session layer hashes the jti before any store call.
 * Sids and subjects are stored as given.
 *
 * Every operation is atomic on its own: a backend must make each call
 * linearizable against every other call on the same store, from any thread
 * (and, for shared backends, from any process). Time never comes from the
 * store: every call that needs it takes `now` (int64_t seconds since the
 * Unix epoch), so tests inject a clock simply by passing values.
 *
 * See authgate.h for the conventions (NULL rule, ownership, threads, units)
 * and docs/sessions.md for the rotation model.
 */
#ifndef AUTHGATE_STORE_H
#define AUTHGATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "revocation.h" /* AG_SID_MAX_LEN, AG_SUBJECT_MAX_LEN */

#ifdef __cplusplus
extern "C" {
#endif

/** Length of a stored hash: SHA-256 of a jti. @since 0.1 */
#define AG_STORE_HASH_LEN 32
/**
 * Interface version a backend fills into ag_store.version. Version 2
 * (0.2) keeps one row per session instead of one per token. @since 0.1
 */
#define AG_STORE_INTERFACE_VERSION 2

/** Why a family was revoked (stored as a small integer). @since 0.1 */
typedef enum ag_revoke_reason {
    AG_REVOKE_NONE = 0,       /**< not revoked */
    AG_REVOKE_LOGOUT = 1,     /**< the user logged out of this session */
    AG_REVOKE_LOGOUT_ALL = 2, /**< every session of the subject was ended */
    AG_REVOKE_REUSE = 3,      /**< a rotated refresh token was presented again (R-02) */
    AG_REVOKE_ADMIN = 4,      /**< the application revoked it */
    AG_REVOKE_EVICTED = 5     /**< the subject's session cap ended it (@since 0.2) */
} ag_revoke_reason;

/**
 * A family: one login and the state its refresh rotation needs. This is
 * the whole stored state of a session: one fixed-size row, however often
 * it rotates. It never holds a token or a jti, only hashes.
 *
 * Strings are bytes with an explicit length, NUL-terminated for
 * convenience; they may not contain NUL. Times are epoch seconds.
 * `expires` is the absolute lifetime that rotation never extends;
 * `revoked_at` is 0 while the family is live. A revoked family is kept as
 * a tombstone (hashes cleared) until it would have expired, so its old
 * tokens still answer "revoked".
 * @since 0.1 (rotation fields @since 0.2)
 */
typedef struct ag_store_family {
    char sid[AG_SID_MAX_LEN + 1];
    size_t sid_len; /**< 1..AG_SID_MAX_LEN */
    char subject[AG_SUBJECT_MAX_LEN + 1];
    size_t subject_len; /**< 1..AG_SUBJECT_MAX_LEN */
    int64_t created;
    int64_t expires;                     /**< absolute family expiry */
    int64_t revoked_at;                  /**< 0: live */
    ag_revoke_reason reason;             /**< AG_REVOKE_NONE while live */
    uint64_t generation;                 /**< rotations so far (the current token's) */
    uint8_t current[AG_STORE_HASH_LEN];  /**< SHA-256(jti) of the current token */
    int64_t current_issued;              /**< its iat; also when the previous one was rotated */
    int64_t current_expires;             /**< its exp (idle timeout), ≤ expires */
    bool has_previous;                   /**< false at login and once revoked */
    uint8_t previous[AG_STORE_HASH_LEN]; /**< SHA-256(jti) of the token rotated last */
    uint32_t replays;                    /**< replays of `previous` served so far */
} ag_store_family;

/** What a presented refresh token is for. @since 0.2 */
typedef enum ag_store_action {
    AG_STORE_REFRESH = 0,   /**< rotate: the current token is exchanged for new_hash */
    AG_STORE_LOGOUT = 1,    /**< end this family (reason AG_REVOKE_LOGOUT) */
    AG_STORE_LOGOUT_ALL = 2 /**< end this family (AG_REVOKE_LOGOUT_ALL); the caller then
                                 revokes the subject. Needs the current token. */
} ag_store_action;

/**
 * One presented, verified refresh token and what to do with it.
 * @since 0.1 (action, max_replays @since 0.2)
 */
typedef struct ag_store_rotation {
    ag_store_action action;
    uint8_t old_hash[AG_STORE_HASH_LEN]; /**< SHA-256 of the presented, verified jti */
    uint8_t new_hash[AG_STORE_HASH_LEN]; /**< SHA-256 of the successor's jti (refresh) */
    const char *sid; /**< the verified token's sid (need not be NUL-terminated) */
    size_t sid_len;
    const char *subject; /**< the verified token's sub */
    size_t subject_len;
    int64_t now;            /**< seconds; becomes the successor's issued time */
    int64_t new_expires;    /**< the successor's wanted exp; lowered to the family's
                                 expiry (rotation never extends a family) */
    int64_t reuse_interval; /**< seconds; 0 = off. See AG_STORE_REPLAYED. */
    uint32_t max_replays;   /**< replays of the previous token allowed inside the
                                 interval; 0 = none */
} ag_store_rotation;

/** What a successful rotate did. @since 0.1 */
typedef enum ag_store_outcome {
    /** the current token was exchanged for new_hash */
    AG_STORE_ROTATED = 1,
    /**
     * Benign replay: the previous token was presented again, at most
     * reuse_interval seconds after its rotation, fewer than max_replays
     * times before, its successor (new_hash) is still the current token
     * and unexpired. The replay counter went up; the caller re-issues the
     * same successor, so a client whose answer was lost continues.
     */
    AG_STORE_REPLAYED = 2,
    /** logout or logout-all: the family is now revoked (@since 0.2) */
    AG_STORE_LOGGED_OUT = 3
} ag_store_outcome;

/** Result of a rotate that returned AG_OK. @since 0.1 */
typedef struct ag_store_rotated {
    ag_store_outcome outcome;
    uint64_t generation;    /**< the successor's generation */
    int64_t issued;         /**< the successor's issued time */
    int64_t expires;        /**< the successor's exp, after the family clamp */
    int64_t family_expires; /**< the family's absolute expiry */
} ag_store_rotated;

/** Counters, for tests, capacity planning and measurement. Start from
 * AG_INIT (error.h). @since 0.1 (0.2: size) */
typedef struct ag_store_stats {
    size_t size;     /**< sizeof(ag_store_stats): set by AG_INIT; kept */
    size_t families; /**< rows: live sessions and tombstones */
    size_t capacity; /**< families the store can hold; 0 = unbounded */
    size_t bytes;    /**< heap bytes held (memory store); 0 when unknown */
} ag_store_stats;

/** What a revocation-log entry names. @since 0.2 */
typedef enum ag_store_rev_kind {
    AG_STORE_REV_SID = 1,    /**< one session: its access tokens are refused */
    AG_STORE_REV_SUBJECT = 2 /**< a subject's tokens issued before `at` are refused */
} ag_store_rev_kind;

/**
 * One entry of a store's revocation log: how revocations reach the
 * access-token revocation sets of every instance sharing the store.
 * Holds a sid or a subject, never a token.
 * @since 0.2
 */
typedef struct ag_store_revocation {
    uint64_t id; /**< assigned by the store: increasing, never reused */
    ag_store_rev_kind kind;
    char key[AG_SUBJECT_MAX_LEN + 1]; /**< the sid or subject, NUL-terminated */
    size_t key_len;
    int64_t at; /**< revocation time, epoch seconds */
} ag_store_revocation;

typedef struct ag_store ag_store;

/**
 * The rotation decision, written once for every backend (R-02, R-05,
 * A backend reads the family named by rot->sid under its lock (or
 * in its transaction), calls this, and — only when *write is true —
 * replaces the row with *next before releasing the lock. The order:
 *
 *  1. no family, or its subject is not rot->subject → AG_ERR_UNKNOWN;
 *  2. family revoked → AG_ERR_REVOKED;
 *  3. old_hash is the current token:
 *     - family or token expired (≤ now) → AG_ERR_EXPIRED;
 *     - refresh: rotate (previous = current, current = new_hash,
 *       generation + 1, replays = 0) → AG_OK, AG_STORE_ROTATED;
 *     - logout / logout-all: revoke → AG_OK, AG_STORE_LOGGED_OUT;
 *  4. old_hash is the previous token, refresh or logout, reuse_interval
 *     > 0, now ≤ current_issued + reuse_interval, replays < max_replays,
 *     and new_hash (refresh) is the current token:
 *     - the current token expired → AG_ERR_EXPIRED, no change;
 *     - refresh: replays + 1 → AG_OK, AG_STORE_REPLAYED (the current
 *       token's generation, issued and expires in *out);
 *     - logout: revoke → AG_OK, AG_STORE_LOGGED_OUT;
 *  5. anything else is a validly signed token of this family that is no
 *     longer current: REUSE. The family is revoked (AG_REVOKE_REUSE)
 *     → AG_ERR_REUSED, *write true.
 *
 * @param[in]  cur   the stored row, NULL when there is none
 * @param[in]  rot   the request (checked by ag_store_rotate already)
 * @param[out] next  the row to store when *write is true; may be cur itself
 *                   (the row is then updated in place, and left as it was
 *                   when *write is false)
 * @param[out] write whether the backend must store *next
 * @param[out] out   filled on AG_OK
 * Returns: AG_OK; AG_ERR_UNKNOWN; AG_ERR_REVOKED; AG_ERR_EXPIRED;
 * AG_ERR_REUSED; AG_ERR_INVALID_ARGUMENT (a NULL pointer).
 * Thread safety: pure; touches only its arguments.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_store_decide(const ag_store_family *cur, const ag_store_rotation *rot,
                                           ag_store_family *next, bool *write,
                                           ag_store_rotated *out);

/**
 * Whether a family can still matter at `now`: live, or a tombstone whose
 * tokens may still verify. Purge removes a family once this is false:
 * min(expires, current_expires) ≤ now. Live for counting and eviction:
 * ag_store_family_live().
 * @since 0.2
 */
AG_API bool ag_store_family_dead(const ag_store_family *f, int64_t now);

/** True when f is not revoked and neither it nor its current token has expired. @since 0.2 */
AG_API bool ag_store_family_live(const ag_store_family *f, int64_t now);

/**
 * Called by evict and revoke_subject for each family they ended, after the
 * change is durable (sid valid during the call only). @since 0.2
 */
typedef void (*ag_store_sid_fn)(void *ctx, const char *sid, size_t sid_len);

/**
 * The store interface: a struct of function pointers. To write a backend,
 * fill one (usually embedded as the first member of your own struct, or
 * with your state in `ctx`) and hand it to ag_session_config.store. The
 * session layer calls it only through the ag_store_* wrappers below, which
 * check arguments and turn any code a backend is not allowed to return
 * into AG_ERR_STORE (fail closed, R-06).
 *
 * A backend stores one row per family (ag_store_family) keyed by sid,
 * and only reads and writes it: every decision about a presented token is
 * ag_store_decide()'s. Every function must be safe to call from several
 * threads at once and atomic per call. Allowed returns are listed per
 * function; any backend failure (I/O, lock, corruption, …) is
 * AG_ERR_STORE. No function may ever be given or keep a token or a jti.
 *
 * The conformance suite in tests/store/conformance.h runs every case any
 * backend must pass, concurrent races included.
 * @since 0.1 (this shape: version 2, @since 0.2)
 */
struct ag_store {
    /** AG_STORE_INTERFACE_VERSION. */
    int version;
    /** Short static name for diagnostics ("memory", "sqlite"). */
    const char *name;
    /** Backend state; authgate never touches it. */
    void *ctx;

    /**
     * Stores a new family (a login): generation 0, its first token in
     * `current`, no previous, not revoked. A bounded store short of room
     * may first delete rows dead at `reclaim_before` (the session layer
     * passes now minus its purge margin).
     * Returns: AG_OK; AG_ERR_EXISTS (sid already present, nothing
     * written); AG_ERR_STORE_FULL (nothing written; a bounded store first
     * reclaims dead families, so it answers this only when every row is a
     * live session); AG_ERR_STORE; AG_ERR_NOMEM.
     */
    ag_err (*create)(ag_store *st, const ag_store_family *fam, int64_t reclaim_before);

    /**
     * Presents a token: in ONE atomic step, read the family rot->sid,
     * call ag_store_decide() and store its *next when it says so.
     * Return what it returned (and its *out). A crash leaves either the
     * state before or the state after.
     * Returns: AG_OK; AG_ERR_UNKNOWN; AG_ERR_REVOKED; AG_ERR_REUSED;
     * AG_ERR_EXPIRED; AG_ERR_STORE; AG_ERR_NOMEM.
     */
    ag_err (*rotate)(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out);

    /**
     * Reads a family by sid.
     * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_STORE.
     */
    ag_err (*lookup_family)(ag_store *st, const char *sid, size_t sid_len, ag_store_family *fam);

    /**
     * Revokes one family. Idempotent: a family already revoked keeps its
     * first revoked_at and reason and the call returns AG_OK.
     * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_STORE.
     */
    ag_err (*revoke_family)(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                            ag_revoke_reason reason);

    /**
     * Revokes every live family of a subject (ag_store_family_live at
     * `now`: "log out everywhere") and calls fn(ctx, sid) for each one it
     * revoked (fn may be NULL), so its access tokens can be refused too.
     * Families that have already expired are left as they are and not
     * counted (0.2: they were tombstoned and counted). Families created
     * concurrently with the call may survive it.
     * @param[out] count  live families revoked
     * Returns: AG_OK (also when there was none); AG_ERR_STORE; AG_ERR_NOMEM.
     */
    ag_err (*revoke_subject)(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                             ag_revoke_reason reason, ag_store_sid_fn fn, void *ctx, size_t *count);

    /**
     * The per-subject session cap: while the subject has more than `keep`
     * live families (ag_store_family_live), revokes the oldest (smallest
     * created, then smallest sid) with AG_REVOKE_EVICTED and calls
     * fn(ctx, sid) for each, after the change is durable. The family
     * named keep_sid (the login just made) is never evicted and counts
     * first toward `keep`. fn may be NULL.
     * @param[out] count  families evicted
     * Returns: AG_OK; AG_ERR_STORE; AG_ERR_NOMEM.
     */
    ag_err (*evict)(ag_store *st, const char *subject, size_t subject_len, size_t keep,
                    const char *keep_sid, size_t keep_sid_len, int64_t now, ag_store_sid_fn fn,
                    void *ctx, size_t *count);

    /**
     * Optional (NULL: not supported): the live families
     * (ag_store_family_live at `now`) of a subject, oldest first (smallest
     * created, then smallest sid). Writes the first min(cap, live) of them
     * to out[] and their number to *n, and the number of live families to
     * *total (which may exceed cap). A consistent snapshot is not
     * required: a family created or revoked during the call may or may
     * not be listed. For showing a user their sessions.
     * Returns: AG_OK (also when there is none); AG_ERR_STORE; AG_ERR_NOMEM.
     * @since 0.2
     */
    ag_err (*list_subject)(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                           ag_store_family *out, size_t cap, size_t *n, size_t *total);

    /**
     * Deletes every family for which ag_store_family_dead(f, now) holds.
     * Pass now minus the verifier's leeway, so a token still inside it is
     * recognised.
     * @param[out] removed  families deleted
     * Returns: AG_OK; AG_ERR_STORE.
     */
    ag_err (*purge_expired)(ag_store *st, int64_t now, size_t *removed);

    /**
     * Optional (may be NULL): fills counters. out is the library's own
     * struct (AG_INIT'd, zeroed), never the caller's: set the counters,
     * leave size alone.
     * Returns: AG_OK; AG_ERR_STORE.
     */
    ag_err (*stats)(ag_store *st, ag_store_stats *out);

    /**
     * Optional (NULL for a store not shared between processes, like the
     * memory store): appends an entry to the revocation log; e->id is
     * ignored, the store assigns the next one.
     * Returns: AG_OK; AG_ERR_STORE.
     * @since 0.2
     */
    ag_err (*log_append)(ag_store *st, const ag_store_revocation *e);

    /**
     * With log_append: reads up to `cap` entries with id > after, in
     * increasing id order. *n = 0 when there is none.
     * Returns: AG_OK; AG_ERR_STORE.
     * @since 0.2
     */
    ag_err (*log_read)(ag_store *st, uint64_t after, ag_store_revocation *out, size_t cap,
                       size_t *n);

    /**
     * With log_append: deletes entries with at < before.
     * Returns: AG_OK; AG_ERR_STORE.
     * @since 0.2
     */
    ag_err (*log_purge)(ag_store *st, int64_t before, size_t *removed);

    /**
     * Optional: waits up to timeout_ms for news in the log (a
     * notification), returning early when some may have arrived. NULL: the
     * follower reads the log every interval. Called by one thread at a
     * time (the store's follower).
     * Returns: AG_OK when news may have arrived — a notification, or a
     * (re)connection, after which any notification sent meanwhile may be
     * missing: the caller reads the log now; AG_ERR_NOT_FOUND when the
     * timeout passed without news; AG_ERR_STORE when the wait failed (a
     * lost connection: the next call reconnects).
     * @since 0.2
     */
    ag_err (*log_wait)(ag_store *st, int timeout_ms);

    /** Releases everything the backend holds, st included if it owns it. */
    void (*close)(ag_store *st);
};

/* ------------------------------------------------------------------ */
/* Calling a store (argument checks + fail-closed normalisation)        */
/* ------------------------------------------------------------------ */

/**
 * Calls st->create after checking the row (lengths, generation 0, no
 * previous, clear revocation, created < current_expires ≤ expires).
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_EXISTS; AG_ERR_STORE_FULL;
 * AG_ERR_NOMEM; AG_ERR_STORE (also for any code the backend may not return).
 * Thread safety: as the backend: safe.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_store_create(ag_store *st, const ag_store_family *fam,
                                           int64_t reclaim_before);

/**
 * Calls st->rotate (see ag_store_decide for the exact semantics).
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_UNKNOWN; AG_ERR_REVOKED;
 * AG_ERR_REUSED (family now revoked); AG_ERR_EXPIRED; AG_ERR_NOMEM;
 * AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_rotate(ag_store *st, const ag_store_rotation *rot,
                                           ag_store_rotated *out);

/**
 * Calls st->lookup_family.
 * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_lookup_family(ag_store *st, const char *sid, size_t sid_len,
                                                  ag_store_family *fam);

/**
 * Calls st->revoke_family.
 * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_revoke_family(ag_store *st, const char *sid, size_t sid_len,
                                                  int64_t now, ag_revoke_reason reason);

/**
 * Calls st->revoke_subject. fn and count may be NULL.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_NOMEM; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_revoke_subject(ag_store *st, const char *subject,
                                                   size_t subject_len, int64_t now,
                                                   ag_revoke_reason reason, ag_store_sid_fn fn,
                                                   void *ctx, size_t *count);

/**
 * Calls st->evict. keep_sid (with keep_sid_len 0), fn and count may be NULL.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (keep 0 is one); AG_ERR_NOMEM;
 * AG_ERR_STORE.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_store_evict(ag_store *st, const char *subject, size_t subject_len,
                                          size_t keep, const char *keep_sid, size_t keep_sid_len,
                                          int64_t now, ag_store_sid_fn fn, void *ctx,
                                          size_t *count);

/**
 * Calls st->list_subject and checks what it returned: at most cap rows,
 * each a live family of this subject at `now` with a valid sid, and
 * *n ≤ *total (anything else is AG_ERR_STORE). The hashes of every
 * returned row are cleared (zero, has_previous false): a listing never
 * carries what identifies a token. out may be NULL when cap is 0 (to
 * count only); total may be NULL.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STATE (the backend
 * cannot list); AG_ERR_NOMEM; AG_ERR_STORE.
 * Thread safety: as the backend: safe.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_store_list_subject(ag_store *st, const char *subject,
                                                 size_t subject_len, int64_t now,
                                                 ag_store_family *out, size_t cap, size_t *n,
                                                 size_t *total);

/** True when the store can list a subject's families (list_subject). @since 0.2 */
AG_API bool ag_store_can_list(const ag_store *st);

/**
 * Calls st->purge_expired. removed may be NULL.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_purge_expired(ag_store *st, int64_t now, size_t *removed);

/** True when the store keeps a revocation log (log_append and log_read). @since 0.2 */
AG_API bool ag_store_has_log(const ag_store *st);

/**
 * Calls st->log_append after checking the entry.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STATE (no log); AG_ERR_STORE.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_store_log_append(ag_store *st, ag_store_rev_kind kind,
                                               const char *key, size_t key_len, int64_t at);

/**
 * Calls st->log_read and checks what it returned (increasing ids > after,
 * valid kinds and keys; anything else is AG_ERR_STORE).
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STATE (no log); AG_ERR_STORE.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_store_log_read(ag_store *st, uint64_t after, ag_store_revocation *out,
                                             size_t cap, size_t *n);

/**
 * Calls st->log_purge. removed may be NULL.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STATE (no log); AG_ERR_STORE.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_store_log_purge(ag_store *st, int64_t before, size_t *removed);

/**
 * Calls st->log_wait, or sleeps timeout_ms when the store has none (and
 * then answers AG_ERR_NOT_FOUND).
 * Returns: AG_OK (news may have arrived: read the log); AG_ERR_NOT_FOUND
 * (timeout, no news); AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * Thread safety: one thread at a time per store.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_store_log_wait(ag_store *st, int timeout_ms);

/**
 * Calls st->stats, or fills zeros when the backend has none.
 * @param[out] out  made with AG_INIT(ag_store_stats) (error.h); its size is
 *                  kept
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (also out's size below
 * sizeof(ag_store_stats): nothing written); AG_ERR_STORE.
 * @since 0.1 (0.2: ag_store_stats sized)
 */
AG_API AG_NODISCARD ag_err ag_store_stats_get(ag_store *st, ag_store_stats *out);

/**
 * Closes a store (st->close). NULL is a no-op. No call may be running or
 * follow.
 * @since 0.1
 */
AG_API void ag_store_close(ag_store *st);

/* ------------------------------------------------------------------ */
/* Memory store                                                        */
/* ------------------------------------------------------------------ */

/** Memory store settings. Start from AG_INIT, then set what you need. @since 0.1 */
typedef struct ag_store_memory_config {
    size_t size;               /**< sizeof(ag_store_memory_config): set by AG_INIT (error.h) */
    size_t capacity;           /**< max families (sessions); 0 → 1,048,576. When
                                    full it reclaims dead families (expired, or
                                    revoked tombstones) before answering
                                    AG_ERR_STORE_FULL */
    const ag_allocator *alloc; /**< NULL → stdlib; must outlive the store */
} ag_store_memory_config;

/**
 * Makes an in-process store: one fixed-size row per family in a hash
 * table keyed by sid, with striped locks, and a subject index
 * (revoke-subject and evict are O(families of that subject)). Every other
 * operation except purge is O(1). State is in this process only: another
 * process, or a restart, sees nothing of it.
 *
 * @param[in]  cfg  NULL for defaults
 * @param[out] out  close with ag_store_close()
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_NOMEM; AG_ERR_CRYPTO (seed).
 * Thread safety: the store is safe to share between threads.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_memory_new(const ag_store_memory_config *cfg, ag_store **out);

/* ------------------------------------------------------------------ */
/* SQLite store                                                        */
/* ------------------------------------------------------------------ */

/** SQLite store settings. Start from AG_INIT, then set what you need. @since 0.1 */
typedef struct ag_store_sqlite_config {
    size_t size;               /**< sizeof(ag_store_sqlite_config): set by AG_INIT (error.h) */
    const char *path;          /**< required: the database file (created if absent) */
    int busy_timeout_ms;       /**< 0 → 5000; how long to wait for another writer */
    bool synchronous_full;     /**< false: synchronous=NORMAL (default), true: FULL */
    const ag_allocator *alloc; /**< for the store object; NULL → stdlib */
} ag_store_sqlite_config;

/**
 * Opens (or creates) a SQLite store: one file in WAL mode, prepared
 * statements with bound parameters only, one BEGIN IMMEDIATE transaction
 * per write. The schema is created or migrated on open along a linear
 * chain of migrations; see docs/sessions.md.
 *
 * Nothing is written to a file that is not a SQLite database, that holds
 * other tables but not ours, or that is stamped with a schema this build
 * does not know: those fail and the file stays byte-for-byte as it was.
 *
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE_VERSION (unknown
 * schema version); AG_ERR_STORE (cannot open, not a database, foreign
 * schema, I/O); AG_ERR_NOMEM. AG_ERR_STATE when built without SQLite.
 * Thread safety: the store is safe to share between threads (one
 * connection, serialised); several processes may share the file.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_sqlite_open(const ag_store_sqlite_config *cfg, ag_store **out);

/** True when this build includes the SQLite store. @since 0.1 */
AG_API bool ag_store_sqlite_available(void);

/* ------------------------------------------------------------------ */
/* PostgreSQL store                                                    */
/* ------------------------------------------------------------------ */

/** PostgreSQL store settings. Start from AG_INIT, then set what you need. @since 0.1 */
typedef struct ag_store_pg_config {
    size_t size; /**< sizeof(ag_store_pg_config): set by AG_INIT (error.h) */
    /**
     * Required: a libpq connection string ("host=… dbname=…") or URI
     * ("postgresql://…"). Used at open only (reconnects reuse libpq's own
     * copy); authgate keeps no copy of it. Tables live in the first schema
     * of the connection's search_path (set one with
     * "options='-csearch_path=authgate'").
     */
    const char *conninfo;
    unsigned pool_size;        /**< connections held open; 0 → 4. A call takes one
                                    for its duration and waits when all are busy */
    int statement_timeout_ms;  /**< 0 → 5000: per statement, lock waits included;
                                    a statement past it fails with AG_ERR_STORE */
    int connect_timeout_s;     /**< 0 → 5: per (re)connection attempt, unless the
                                    conninfo sets connect_timeout itself */
    const ag_allocator *alloc; /**< for the store object; NULL → stdlib */
} ag_store_pg_config;

/**
 * Opens a PostgreSQL store: a pool of libpq connections (never one used
 * by two threads at once), prepared statements with binary bound
 * parameters only. A rotation of the current token is one round trip: a
 * single compare-and-set UPDATE … RETURNING of the family row. Anything
 * else (a replay, reuse, an expired token) takes the row lock in a READ
 * COMMITTED transaction (SELECT … FOR NO KEY UPDATE), decides with
 * ag_store_decide() and writes, across every process sharing the
 * database.
 *
 * The schema is created or migrated on open along the same linear chain
 * as the SQLite store, serialised across instances by
 * pg_advisory_xact_lock. A database stamped with a migration this build
 * does not know is refused and left untouched; so is one holding tables
 * of our names without our version table.
 *
 * A broken connection is reset on the next call; a call whose statements
 * failed because the connection broke is retried once on a fresh
 * connection only when no COMMIT had been sent (the server rolled the
 * transaction back). Otherwise the call fails with AG_ERR_STORE: it never
 * reports success it cannot prove.
 *
 * The revocation log NOTIFYs channel "ag_revocations" on every append
 * (payload: the new id only). The first ag_store_log_wait opens one more
 * connection, with the pool's parameters, that LISTENs (application_name
 * "authgate listener"); a lost listener is reported and reconnected with
 * a backoff (100 ms to 5 s), and each reconnect answers AG_OK so the
 * follower reads the log by id at once. Only one thread at a time may
 * call ag_store_log_wait (the store's follower).
 *
 * @param[in]  cfg  required; cfg->conninfo required
 * @param[out] out  close with ag_store_close()
 * Ownership: the store owns its connections; cfg need not outlive the call
 * (cfg->alloc must outlive the store).
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE_VERSION (unknown
 * schema version); AG_ERR_STORE (cannot connect, foreign schema, SQL
 * error); AG_ERR_NOMEM. AG_ERR_STATE when built without PostgreSQL.
 * Thread safety: the store is safe to share between threads; any number
 * of processes may share the database.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_pg_open(const ag_store_pg_config *cfg, ag_store **out);

/** True when this build includes the PostgreSQL store. @since 0.1 */
AG_API bool ag_store_pg_available(void);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_STORE_H */

/*
 * authgate — refresh-token stores: the backend interface and the shipped
 * backends (memory, SQLite, PostgreSQL).
 *
 * A store keeps refresh-token *families* (one per login, named by its sid)
 * and their *token rows*, keyed by SHA-256 of each token's jti. It never
 * sees a token or a jti: the session layer hashes the jti
 * before any store call. Sids and subjects are stored as given.
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

#ifdef __cplusplus
extern "C" {
#endif

/** Length of a stored key: SHA-256 of a jti. @since 0.1 */
#define AG_STORE_HASH_LEN 32
/** Longest sid a store accepts, in bytes (ours are 43). @since 0.1 */
#define AG_SID_MAX_LEN 64
/** Longest subject a store accepts, in bytes. @since 0.1 */
#define AG_SUBJECT_MAX_LEN 255
/** Interface version a backend fills into ag_store.version. @since 0.1 */
#define AG_STORE_INTERFACE_VERSION 1

/** Why a family was revoked (stored as a small integer). @since 0.1 */
typedef enum ag_revoke_reason {
    AG_REVOKE_NONE = 0,       /**< not revoked */
    AG_REVOKE_LOGOUT = 1,     /**< the user logged out of this session */
    AG_REVOKE_LOGOUT_ALL = 2, /**< every session of the subject was ended */
    AG_REVOKE_REUSE = 3,      /**< a used refresh token was presented again (R-02) */
    AG_REVOKE_ADMIN = 4       /**< the application revoked it */
} ag_revoke_reason;

/**
 * A family: one login, the chain of refresh tokens rotated from it.
 *
 * Strings are bytes with an explicit length, NUL-terminated for
 * convenience; they may not contain NUL. created, expires and revoked_at
 * are epoch seconds; expires is the absolute lifetime that rotation never
 * extends; revoked_at is 0 while the family is live.
 * @since 0.1
 */
typedef struct ag_store_family {
    char sid[AG_SID_MAX_LEN + 1];
    size_t sid_len;                  /**< 1..AG_SID_MAX_LEN */
    char subject[AG_SUBJECT_MAX_LEN + 1];
    size_t subject_len;              /**< 1..AG_SUBJECT_MAX_LEN */
    int64_t created;
    int64_t expires;                 /**< absolute family expiry */
    int64_t revoked_at;              /**< 0: live */
    ag_revoke_reason reason;         /**< AG_REVOKE_NONE while live */
} ag_store_family;

/**
 * A token row. Never holds the token or its jti: only the hash.
 *
 * generation counts rotations from the family's first token (0).
 * used_at is 0 until the token is rotated; successor is then the hash of
 * the token that replaced it. Revocation is a property of the family (one
 * write revokes every row, R-02), so lookup reports the family's
 * revoked_at/reason here as well.
 * @since 0.1
 */
typedef struct ag_store_token {
    uint8_t hash[AG_STORE_HASH_LEN]; /**< SHA-256(jti) */
    char sid[AG_SID_MAX_LEN + 1];
    size_t sid_len;
    uint64_t generation;
    int64_t issued;
    int64_t expires;                 /**< this token's exp (idle timeout) */
    int64_t used_at;                 /**< 0: unused */
    bool has_successor;
    uint8_t successor[AG_STORE_HASH_LEN];
    int64_t revoked_at;              /**< the family's; 0: live */
    ag_revoke_reason reason;         /**< the family's */
} ag_store_token;

/**
 * One rotation request: consume `old_hash`, insert `new_hash`.
 * @since 0.1
 */
typedef struct ag_store_rotation {
    uint8_t old_hash[AG_STORE_HASH_LEN]; /**< SHA-256 of the presented, verified jti */
    uint8_t new_hash[AG_STORE_HASH_LEN]; /**< SHA-256 of the successor's jti */
    const char *sid;          /**< the verified token's sid (need not be NUL-terminated) */
    size_t sid_len;
    const char *subject;      /**< the verified token's sub */
    size_t subject_len;
    int64_t now;              /**< seconds; becomes used_at and the successor's issued */
    int64_t new_expires;      /**< the successor's wanted exp; the store lowers it to the
                                   family's expiry (rotation never extends a family) */
    int64_t reuse_interval;   /**< seconds; 0 = off. See AG_STORE_REPLAYED. */
} ag_store_rotation;

/** What a successful rotate did. @since 0.1 */
typedef enum ag_store_outcome {
    /** old row consumed, successor inserted */
    AG_STORE_ROTATED = 1,
    /**
     * Benign replay (reuse interval on): old_hash was already rotated, at
     * most reuse_interval seconds ago, its recorded successor equals
     * new_hash, and that successor is still unused. Nothing was changed;
     * the caller re-issues the same successor.
     */
    AG_STORE_REPLAYED = 2
} ag_store_outcome;

/** Result of a rotate that returned AG_OK. @since 0.1 */
typedef struct ag_store_rotated {
    ag_store_outcome outcome;
    uint64_t generation;      /**< the successor's generation */
    int64_t issued;           /**< the successor's issued time */
    int64_t expires;          /**< the successor's exp, after the family clamp */
    int64_t family_expires;   /**< the family's absolute expiry */
} ag_store_rotated;

/** Counters, for tests, capacity planning and measurement. @since 0.1 */
typedef struct ag_store_stats {
    size_t tokens;            /**< token rows, used ones included */
    size_t families;
    size_t capacity;          /**< token rows the store can hold; 0 = unbounded */
    size_t bytes;             /**< heap bytes held (memory store); 0 when unknown */
} ag_store_stats;

typedef struct ag_store ag_store;

/**
 * The store interface: a struct of function pointers. To write a backend,
 * fill one (usually embedded as the first member of your own struct, or
 * with your state in `ctx`) and hand it to ag_session_config.store. The
 * session layer calls it only through the ag_store_* wrappers below, which
 * check arguments and turn any code a backend is not allowed to return
 * into AG_ERR_STORE (fail closed, R-06).
 *
 * Every function must be safe to call from several threads at once and
 * atomic per call. Every function except close receives the store itself.
 * Allowed returns are listed per function; any backend failure (I/O,
 * lock, corruption, …) is AG_ERR_STORE. No function may ever be given or
 * keep a raw token or jti.
 *
 * The conformance suite in tests/store/conformance.h runs every case any
 * backend must pass, concurrent races included.
 * @since 0.1
 */
struct ag_store {
    /** AG_STORE_INTERFACE_VERSION. */
    int version;
    /** Short static name for diagnostics ("memory", "sqlite"). */
    const char *name;
    /** Backend state; authgate never touches it. */
    void *ctx;

    /**
     * Creates a family together with its first token (generation is taken
     * from tok, normally 0; tok->used_at must be 0). tok->sid must equal
     * fam->sid; revoked fields must be clear.
     * Returns: AG_OK; AG_ERR_EXISTS (sid or hash already present, nothing
     * written); AG_ERR_STORE_FULL (nothing written, no eviction);
     * AG_ERR_STORE; AG_ERR_NOMEM.
     */
    ag_err (*put)(ag_store *st, const ag_store_family *fam, const ag_store_token *tok);

    /**
     * The atomic heart of refresh rotation. In ONE atomic step,
     * with these checks in this order:
     *  1. no row for old_hash, or the row's family is not rot->sid, or the
     *     family's subject is not rot->subject → AG_ERR_UNKNOWN, no change;
     *  2. family revoked → AG_ERR_REVOKED, no change;
     *  3. row already used:
     *     - reuse_interval > 0, used_at ≥ now − reuse_interval, the row's
     *       successor equals new_hash and the successor row is unused →
     *       AG_OK with outcome AG_STORE_REPLAYED, no change;
     *     - otherwise REUSE: the family is revoked (reason
     *       AG_REVOKE_REUSE, revoked_at = now) in this same atomic step and
     *       the call returns AG_ERR_REUSED;
     *  4. row expired (expires ≤ now) or family expired (expires ≤ now) →
     *     AG_ERR_EXPIRED, no change;
     *  5. no room for the successor → AG_ERR_STORE_FULL, no change;
     *  6. mark the row used (used_at = now, successor = new_hash) and insert
     *     the successor (generation + 1, issued = now, expires =
     *     min(new_expires, family expires)) → AG_OK, AG_STORE_ROTATED.
     * A crash leaves either the state before or the state after.
     * Returns: as above, plus AG_ERR_EXISTS (new_hash already present, no
     * change), AG_ERR_STORE, AG_ERR_NOMEM. `out` is filled on AG_OK only.
     */
    ag_err (*rotate)(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out);

    /**
     * Reads a token row and its family, consistently (one snapshot).
     * Either out pointer may be NULL.
     * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_STORE.
     */
    ag_err (*lookup)(ag_store *st, const uint8_t hash[AG_STORE_HASH_LEN], ag_store_token *tok,
                     ag_store_family *fam);

    /**
     * Reads a family by sid.
     * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_STORE.
     */
    ag_err (*lookup_family)(ag_store *st, const char *sid, size_t sid_len, ag_store_family *fam);

    /**
     * Revokes one family: every token of it stops rotating, its newest
     * included. Idempotent: a family already revoked keeps its first
     * revoked_at and reason and the call returns AG_OK.
     * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_STORE.
     */
    ag_err (*revoke_family)(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                            ag_revoke_reason reason);

    /**
     * Revokes every live family of a subject ("log out everywhere").
     * Families created concurrently with the call may survive it.
     * @param[out] count  optional: families newly revoked
     * Returns: AG_OK (also when there was none); AG_ERR_STORE; AG_ERR_NOMEM.
     */
    ag_err (*revoke_subject)(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                             ag_revoke_reason reason, size_t *count);

    /**
     * Deletes what can no longer matter: token rows with expires ≤ now,
     * and families whose absolute expiry is ≤ now or that have no rows
     * left (their rows go with them). Used rows stay until their own
     * expiry so late reuse is still recognised: pass now minus the
     * verifier's leeway.
     * @param[out] removed  optional: token rows deleted
     * Returns: AG_OK; AG_ERR_STORE.
     */
    ag_err (*purge_expired)(ag_store *st, int64_t now, size_t *removed);

    /**
     * Optional (may be NULL): fills counters.
     * Returns: AG_OK; AG_ERR_STORE.
     */
    ag_err (*stats)(ag_store *st, ag_store_stats *out);

    /** Releases everything the backend holds, st included if it owns it. */
    void (*close)(ag_store *st);
};

/* ------------------------------------------------------------------ */
/* Calling a store (argument checks + fail-closed normalisation)        */
/* ------------------------------------------------------------------ */

/**
 * Calls st->put after checking the rows (lengths, sid match, unused,
 * clear revocation, expires > created).
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_EXISTS; AG_ERR_STORE_FULL;
 * AG_ERR_NOMEM; AG_ERR_STORE (also for any code the backend may not return).
 * Thread safety: as the backend: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_put(ag_store *st, const ag_store_family *fam,
                                        const ag_store_token *tok);

/**
 * Calls st->rotate (see the interface for the exact semantics).
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_UNKNOWN; AG_ERR_REVOKED;
 * AG_ERR_REUSED (family now revoked); AG_ERR_EXPIRED; AG_ERR_STORE_FULL;
 * AG_ERR_EXISTS; AG_ERR_NOMEM; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_rotate(ag_store *st, const ag_store_rotation *rot,
                                           ag_store_rotated *out);

/**
 * Calls st->lookup. tok and fam may be NULL.
 * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_lookup(ag_store *st, const uint8_t hash[AG_STORE_HASH_LEN],
                                           ag_store_token *tok, ag_store_family *fam);

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
 * Calls st->revoke_subject. count may be NULL.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_NOMEM; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_revoke_subject(ag_store *st, const char *subject,
                                                   size_t subject_len, int64_t now,
                                                   ag_revoke_reason reason, size_t *count);

/**
 * Calls st->purge_expired. removed may be NULL.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_purge_expired(ag_store *st, int64_t now, size_t *removed);

/**
 * Calls st->stats, or fills zeros when the backend has none.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE.
 * @since 0.1
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

/** Memory store settings. Zero-initialise, then set what you need. @since 0.1 */
typedef struct ag_store_memory_config {
    size_t capacity;            /**< max token rows; 0 → 1,048,576. Never evicts:
                                     a full store answers AG_ERR_STORE_FULL */
    const ag_allocator *alloc;  /**< NULL → stdlib; must outlive the store */
} ag_store_memory_config;

/**
 * Makes an in-process store: a hash table keyed by the 32-byte hash with
 * striped locks, a family index (revoke-family is O(1)) and a subject
 * index (revoke-subject is O(families of that subject)). Every operation
 * except purge and revoke-subject is O(1).
 *
 * @param[in]  cfg  NULL for defaults
 * @param[out] out  close with ag_store_close()
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_NOMEM; AG_ERR_CRYPTO (seed).
 * Thread safety: the store is safe to share between threads.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_store_memory_new(const ag_store_memory_config *cfg,
                                               ag_store **out);

/* ------------------------------------------------------------------ */
/* SQLite store                                                        */
/* ------------------------------------------------------------------ */

/** SQLite store settings. Zero-initialise, then set what you need. @since 0.1 */
typedef struct ag_store_sqlite_config {
    const char *path;           /**< required: the database file (created if absent) */
    int busy_timeout_ms;        /**< 0 → 5000; how long to wait for another writer */
    bool synchronous_full;      /**< false: synchronous=NORMAL (default), true: FULL */
    const ag_allocator *alloc;  /**< for the store object; NULL → stdlib */
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
AG_API AG_NODISCARD ag_err ag_store_sqlite_open(const ag_store_sqlite_config *cfg,
                                                ag_store **out);

/** True when this build includes the SQLite store. @since 0.1 */
AG_API bool ag_store_sqlite_available(void);

/* ------------------------------------------------------------------ */
/* PostgreSQL store                                                    */
/* ------------------------------------------------------------------ */

/** PostgreSQL store settings. Zero-initialise, then set what you need. @since 0.1 */
typedef struct ag_store_pg_config {
    /**
     * Required: a libpq connection string ("host=… dbname=…") or URI
     * ("postgresql://…"). Used at open only (reconnects reuse libpq's own
     * copy); authgate keeps no copy of it. Tables live in the first schema
     * of the connection's search_path (set one with
     * "options='-csearch_path=authgate'").
     */
    const char *conninfo;
    unsigned pool_size;         /**< connections held open; 0 → 4. A call takes one
                                     for its duration and waits when all are busy */
    int statement_timeout_ms;   /**< 0 → 5000: per statement, lock waits included;
                                     a statement past it fails with AG_ERR_STORE */
    int connect_timeout_s;      /**< 0 → 5: per (re)connection attempt, unless the
                                     conninfo sets connect_timeout itself */
    const ag_allocator *alloc;  /**< for the store object; NULL → stdlib */
} ag_store_pg_config;

/**
 * Opens a PostgreSQL store: a pool of libpq connections (never one used
 * by two threads at once), prepared statements with binary bound
 * parameters only, READ COMMITTED transactions that lock the family row
 * (SELECT … FOR NO KEY UPDATE) before a rotation reads it, so that the
 * conditional consume (UPDATE … WHERE used_at IS NULL RETURNING) and the
 * successor INSERT commit together or not at all, across every process
 * sharing the database.
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

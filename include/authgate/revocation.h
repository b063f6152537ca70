/* SPDX-License-Identifier: MIT */
/*
 * authgate — the revocation set: revoked sessions and subjects on the
 * access-token verify path.
 *
 * A self-contained access token stays valid until its exp, even after
 * its session was logged out or its family revoked for reuse. A verifier
 * given a revocation set (ag_verifier_config.revocations) also refuses,
 * with AG_ERR_REVOKED, any token whose `sid` is in the set, and any token
 * whose `sub` is in it with an `iat` before the subject's revocation
 * time. Each entry is kept only as long as a token it covers can still be
 * valid (revocation time + entry_ttl, where entry_ttl is the access-token
 * lifetime plus the verifier's leeway), then its slot is reused.
 *
 * The session layer adds entries in the same call that revokes a family
 * (ag_session_config.revocations). Other processes learn of revocations
 * through a store that keeps a revocation log (docs/sessions.md).
 *
 * Reads take no lock and allocate nothing: a fixed table of slots, each
 * guarded by its own sequence counter, written by one writer at a time.
 * See authgate.h for the conventions.
 */
#ifndef AUTHGATE_REVOCATION_H
#define AUTHGATE_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/** Longest sid a revocation set or a store accepts, in bytes (ours are
 * 43). Here, not in store.h, because the token layer checks it. @since 0.1 */
#define AG_SID_MAX_LEN 64
/** Longest subject a revocation set or a store accepts, in bytes. @since 0.1 */
#define AG_SUBJECT_MAX_LEN 255

#ifdef __cplusplus
extern "C" {
#endif

/** Default capacity of a revocation set, in entries. @since 0.2 */
#define AG_REVSET_CAPACITY_DEFAULT 65536
/** Largest capacity accepted. @since 0.2 */
#define AG_REVSET_CAPACITY_MAX (1u << 26)

typedef struct ag_revset ag_revset;
struct ag_claims;

/** How to build a revocation set. Start from AG_INIT, then set. @since 0.2 */
typedef struct ag_revset_config {
    size_t size; /**< sizeof(ag_revset_config): set by AG_INIT (error.h) */
    /**
     * Required, > 0: seconds an entry is kept after its revocation time.
     * Set it to the access-token lifetime plus the access verifier's
     * leeway: after that no token the entry covers can verify.
     */
    int64_t entry_ttl;
    /**
     * Entries that can be live at once; 0 → AG_REVSET_CAPACITY_DEFAULT.
     * The table holds twice as many slots (about 40 bytes each) and never
     * grows: an add that finds no room answers AG_ERR_STORE_FULL.
     */
    size_t capacity;
    /**
     * Optional staleness bound, seconds. 0 (default): when the set cannot
     * be kept up to date from a shared store, verification goes on and
     * tokens stay bounded by their exp. > 0 (strict): once the set was
     * last synchronised (ag_revset_mark_synced) more than this long ago,
     * ag_revset_check refuses every token with AG_ERR_STORE. A set nobody
     * synchronises is never stale.
     */
    int64_t max_staleness;
    const ag_allocator *alloc; /**< NULL → stdlib */
} ag_revset_config;

/**
 * Makes an empty set.
 * @param[out] out  free with ag_revset_free()
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (entry_ttl ≤ 0, capacity too
 * large); AG_ERR_NOMEM; AG_ERR_CRYPTO (seed).
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_revset_new(const ag_revset_config *cfg, ag_revset **out);

/**
 * Frees a set. NULL is a no-op. No call on it may be running or follow,
 * and no verifier that references it may be used afterwards.
 * @since 0.2
 */
AG_API void ag_revset_free(ag_revset *rs);

/**
 * Revokes a session: tokens with this sid are refused until
 * `at` + entry_ttl. Adding a sid again keeps the later end.
 * @param[in] sid, len  1..AG_SID_MAX_LEN bytes
 * @param[in] at        revocation time, epoch seconds
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STORE_FULL (no room:
 * nothing added).
 * Thread safety: safe; writers are serialised, readers never wait.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_revset_add_sid(ag_revset *rs, const char *sid, size_t len,
                                             int64_t at);

/**
 * Revokes a subject's tokens issued before `at` (logout everywhere, a
 * password reset): a token of this sub with iat < at is refused until
 * `at` + entry_ttl. Tokens issued from `at` on (a new login) verify.
 * Adding a subject again keeps the later time.
 * Returns: as ag_revset_add_sid().
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_revset_add_subject(ag_revset *rs, const char *sub, size_t len,
                                                 int64_t at);

/**
 * Whether verified claims are revoked at `now`: AG_OK (not revoked),
 * AG_ERR_REVOKED (their sid, or their sub with an earlier iat, is in the
 * set), AG_ERR_STORE (strict staleness bound passed). ag_verify calls it
 * for a verifier configured with the set; call it yourself only for
 * claims you verified otherwise.
 * Thread safety: safe from any number of threads while others add;
 * takes no lock and allocates nothing.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_revset_check(const ag_revset *rs, const struct ag_claims *c,
                                           int64_t now);

/**
 * Records that the set is up to date with its shared source as of `now`
 * (the log follower calls it after every successful read).
 * @since 0.2
 */
AG_API void ag_revset_mark_synced(ag_revset *rs, int64_t now);

/** What a set holds. Start from AG_INIT (error.h). @since 0.2 */
typedef struct ag_revset_stats {
    size_t size;         /**< sizeof(ag_revset_stats): set by AG_INIT; kept */
    size_t live;         /**< entries still in force at `now` */
    size_t capacity;     /**< entries it can hold */
    size_t bytes;        /**< heap bytes held; constant for the set's life */
    int64_t last_synced; /**< 0: never synchronised */
} ag_revset_stats;

/**
 * Counts entries in force at `now` (a pass over the table: for
 * monitoring, not for a hot path).
 * @param[out] out  made with AG_INIT(ag_revset_stats) (error.h)
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (NULL, or out's size below
 * sizeof(ag_revset_stats): nothing written).
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_revset_stats_get(const ag_revset *rs, int64_t now,
                                               ag_revset_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_REVOCATION_H */

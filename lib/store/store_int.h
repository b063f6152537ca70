/* SPDX-License-Identifier: MIT */
/*
 * authgate — store layer internals (not installed).
 */
#ifndef AUTHGATE_STORE_INT_H
#define AUTHGATE_STORE_INT_H

#include <stdbool.h>
#include <string.h>

#include "../common/common_int.h"
#include "authgate/store.h"

/* True when p[0..n) is 1..max bytes without NUL (a sid, a subject): the
 * check of ag__str_ok, inline because a rotation makes it twice. */
static inline bool ag__store_str_ok(const char *p, size_t n, size_t max)
{
    return p != NULL && n != 0 && n <= max && memchr(p, '\0', n) == NULL;
}

#define ag__store_str_set ag__str_set

/* Constant-time equality of two token hashes (AG_STORE_HASH_LEN bytes):
 * every word is read and folded in. Inline, four words, because a
 * rotation compares two or three pairs (ag__ct_eq's out-of-line loop was
 * a sixth of the memory store's rotation). The empty asm hides the fold
 * from the optimiser, so it cannot become an early exit. */
static inline bool ag__store_hash_eq(const uint8_t *a, const uint8_t *b)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < AG_STORE_HASH_LEN; i += 8) {
        uint64_t u, v;
        memcpy(&u, a + i, 8);
        memcpy(&v, b + i, 8);
        acc |= u ^ v;
    }
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+r"(acc));
#endif
    return acc == 0;
}

/* Turns a row into a tombstone: revoked at `now` for `why`, hashes
 * cleared. The one way every backend and ag_store_decide revoke. */
void ag__store_revoke_row(ag_store_family *f, int64_t now, ag_revoke_reason why);

/* ---- the decision, written once ------------------------------------------
 * ag_store_decide() (store.h) is this with its arguments checked. The body
 * lives here, inline, so the memory store decides in place without a call:
 * a call, its checks and its register saves were a tenth of a rotation. */

static inline bool ag__store_dead(const ag_store_family *f, int64_t now)
{
    int64_t end = f->current_expires < f->expires ? f->current_expires : f->expires;
    return end <= now;
}

static inline void ag__store_result_of(const ag_store_family *f, ag_store_outcome what,
                                       ag_store_rotated *out)
{
    out->outcome = what;
    out->generation = f->generation;
    out->issued = f->current_issued;
    out->expires = f->current_expires;
    out->family_expires = f->expires;
}

/* Whether old_hash is the previous token and may be replayed: a lost
 * answer, retried inside the interval, a bounded number of times, while
 * its successor is still the current token. */
static inline bool ag__store_replay_allowed(const ag_store_family *f, const ag_store_rotation *rot)
{
    if (rot->action == AG_STORE_LOGOUT_ALL || !f->has_previous || rot->reuse_interval <= 0 ||
        !ag__store_hash_eq(rot->old_hash, f->previous) ||
        rot->now > f->current_issued + rot->reuse_interval || f->replays >= rot->max_replays)
        return false;
    return rot->action != AG_STORE_REFRESH || ag__store_hash_eq(rot->new_hash, f->current);
}

/* ag_store_decide() without the NULL checks of rot, next, write and out
 * (the caller's own pointers). next may be cur: decided in place. */
static inline ag_err ag__store_decide(const ag_store_family *cur, const ag_store_rotation *rot,
                                      ag_store_family *next, bool *write, ag_store_rotated *out)
{
    *write = false;
    if (cur == NULL || cur->subject_len != rot->subject_len ||
        memcmp(cur->subject, rot->subject, rot->subject_len) != 0)
        return AG_ERR_UNKNOWN;
    if (cur->revoked_at != 0)
        return AG_ERR_REVOKED;
    if (next != cur)
        *next = *cur;
    ag_store_outcome what =
        rot->action == AG_STORE_REFRESH ? AG_STORE_ROTATED : AG_STORE_LOGGED_OUT;
    if (ag__store_hash_eq(rot->old_hash, cur->current)) {
        if (ag__store_dead(cur, rot->now))
            return AG_ERR_EXPIRED;
        if (rot->action == AG_STORE_REFRESH) {
            memcpy(next->previous, cur->current, AG_STORE_HASH_LEN);
            memcpy(next->current, rot->new_hash, AG_STORE_HASH_LEN);
            next->has_previous = true;
            next->replays = 0;
            next->generation = cur->generation + 1;
            next->current_issued = rot->now;
            next->current_expires =
                rot->new_expires < cur->expires ? rot->new_expires : cur->expires;
        } else {
            ag__store_revoke_row(next, rot->now,
                                 rot->action == AG_STORE_LOGOUT ? AG_REVOKE_LOGOUT
                                                                : AG_REVOKE_LOGOUT_ALL);
        }
    } else if (ag__store_replay_allowed(cur, rot)) {
        if (ag__store_dead(cur, rot->now))
            return AG_ERR_EXPIRED;
        if (rot->action == AG_STORE_REFRESH) {
            next->replays = cur->replays + 1;
            what = AG_STORE_REPLAYED;
        } else {
            ag__store_revoke_row(next, rot->now, AG_REVOKE_LOGOUT);
        }
    } else {
        /* Validly signed, of this family, not current: a copy is in the
         * wrong hands. End the family. */
        ag__store_revoke_row(next, rot->now, AG_REVOKE_REUSE);
        *write = true;
        return AG_ERR_REUSED;
    }
    *write = true;
    ag__store_result_of(next, what, out);
    return AG_OK;
}

/*
 * One schema migration of the SQL backends. The chain is linear: the first
 * names no parent, every other names the one before it. Preconditions are
 * checked by schema inspection (sqlite_master / pragma table_info) before
 * the DDL runs, never by catching a failed statement.
 * @test tests/store/test_store_sqlite.c (chain_one_head_no_gaps)
 */
typedef struct ag__migration {
    const char *id;             /* stable name stamped into ag_schema */
    const char *parent;         /* id of the predecessor; NULL for the first */
    const char *ddl;            /* statements run inside the migration's transaction */
    const char *const *absent;  /* objects (tables, indexes) that must not exist yet; NULL-ended */
    const char *const *columns; /* "table.column" pairs that must exist; NULL-ended */
} ag__migration;

/* The SQLite chain, in application order. */
const ag__migration *ag__sqlite_migrations(size_t *count);

#endif

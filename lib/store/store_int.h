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

/* SPDX-License-Identifier: MIT */
/*
 * authgate — store layer internals (not installed).
 */
#ifndef AUTHGATE_STORE_INT_H
#define AUTHGATE_STORE_INT_H

#include <stdbool.h>

#include "../common/common_int.h"
#include "authgate/store.h"

/* The stores' names for the common string checks (common_int.h). */
#define ag__store_str_ok ag__str_ok
#define ag__store_str_set ag__str_set

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

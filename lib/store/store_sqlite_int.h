/* SPDX-License-Identifier: MIT */
/*
 * authgate — SQLite store internals (not installed).
 */
#ifndef AUTHGATE_STORE_SQLITE_INT_H
#define AUTHGATE_STORE_SQLITE_INT_H

#include "store_int.h"

#ifdef AG_HAVE_SQLITE
#include <sqlite3.h>

/* Inspects the file (nothing is written before it passed), turns on WAL,
 * synchronous=NORMAL (FULL when synchronous_full) and foreign keys, and
 * applies the missing migrations in one BEGIN IMMEDIATE transaction:
 * AG_OK, AG_ERR_STORE (not a database, a foreign one, a failed statement)
 * or AG_ERR_STORE_VERSION (a migration this build does not know).
 * (store_sqlite_schema.c) */
ag_err ag__sqlite_prepare_schema(sqlite3 *db, bool synchronous_full);
#endif

#endif

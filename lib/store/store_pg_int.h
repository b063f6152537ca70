/*
 * authgate — PostgreSQL store internals (not installed).
 */
#ifndef AUTHGATE_STORE_PG_INT_H
#define AUTHGATE_STORE_PG_INT_H

#include "store_int.h"

/* The PostgreSQL chain, in application order: the same ids and parents as
 * the SQLite chain, with PostgreSQL DDL and catalog preconditions.
 * @test tests/store/test_store_pg.c (chain_matches_sqlite) */
const ag__migration *ag__pg_migrations(size_t *count);

#endif

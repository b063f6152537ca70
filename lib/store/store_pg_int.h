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

#ifdef AG_HAVE_POSTGRES
#include <libpq-fe.h>

/* A new connection for cfg (connect_timeout, application_name "authgate",
 * UTF8; cfg->conninfo expanded over those defaults). NULL only when out of
 * memory; check PQstatus. (store_pg_schema.c) */
PGconn *ag__pg_connect(const ag_store_pg_config *cfg);

/* Inspects the schema, applies the missing migrations under the advisory
 * lock, and checks the result: AG_OK, AG_ERR_STORE (no usable schema, a
 * foreign table, a failed statement) or AG_ERR_STORE_VERSION (a version
 * this build does not know; nothing is changed). (store_pg_schema.c)
 * @test tests/store/test_store_pg.c, tests/pg/test_pg.py */
ag_err ag__pg_prepare_schema(PGconn *c);
#endif

#endif

/* SPDX-License-Identifier: MIT */
/*
 * test_store_pg's shared fixture: the server (AG_PG_CONNINFO or a
 * throwaway cluster of scripts/pg-test-server), raw SQL that never goes
 * through the store, a fresh schema per case, stores opened on it, and
 * the few store calls the cases are written in. The parts' cases are
 * added to one TCase by test_store_pg.c, in the suite's order.
 */
#ifndef AG_TEST_PG_FIXTURE_H
#define AG_TEST_PG_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "authgate/store.h"
#include "pg_cluster.h"

#define T0 INT64_C(1700000000)

extern char base_conninfo[1024]; /* the database every case uses */
extern char own_dir[256];        /* our throwaway cluster, "" when none */
extern unsigned seq;             /* makes schema names unique */

/* ---- raw SQL (never through the store) ---- */

/* A connection to base with search_path = schema (NULL: the default). */
PGconn *raw_connect(const char *base, const char *schema);
void raw_exec_on(PGconn *c, const char *sql);
void raw_exec(const char *schema, const char *sql);
/* The first column of the first row as text (caller frees). */
char *raw_text(const char *base, const char *schema, const char *sql);
long long raw_int(const char *schema, const char *sql);

void new_schema(char *name, size_t cap);
void drop_schema(const char *name);

/* ---- stores ---- */

ag_err open_pg(const char *base, const char *schema, unsigned pool, int timeout_ms, ag_store **out);
/* A store on schema of base_conninfo; fails the case when it cannot. */
ag_store *open_at(const char *schema);

void rand_hash(uint8_t h[32]);
/* A family row of sid and sub, every other field zero. */
ag_store_family family_row(const char *sid, const char *sub);
/* A family created at T0 with a first token of hash h. */
ag_err create_one(ag_store *st, const char *sid, const char *sub, const uint8_t *h);
/* A refresh at T0 + 10 (one replay allowed), nw may be NULL. */
ag_store_rotation request(const char *sid, const char *sub, const uint8_t *old, const uint8_t *nw,
                          int64_t interval);
ag_err rotate_one(ag_store *st, const char *sid, const char *sub, const uint8_t *old,
                  const uint8_t *nw, int64_t interval, ag_store_rotated *out);
/* The stored family; fails the test when there is none. */
ag_store_family family_of(ag_store *st, const char *sid);
void sleep_ms(long ms);

/* ---- the parts' cases, each added to tc in the suite's order ---- */

void pg_add_schema_tests(TCase *tc);     /* store_pg_schema.c */
void pg_add_migration_tests(TCase *tc);  /* store_pg_schema.c */
void pg_add_instance_tests(TCase *tc);   /* store_pg_instances.c */
void pg_add_revlog_tests(TCase *tc);     /* store_pg_instances.c */
void pg_add_failure_tests(TCase *tc);    /* store_pg_failures.c */
void pg_add_restart_tests(TCase *tc);    /* store_pg_failures.c */
void pg_add_model_tests(TCase *tc);      /* store_pg_model.c */
void pg_add_throughput_tests(TCase *tc); /* store_pg_model.c */

#endif

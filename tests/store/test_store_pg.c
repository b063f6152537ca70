/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL store: the conformance suite (races included), the migration
 * chain, a database written by 0.1 (one row per token) migrated with every
 * session kept, refusing unknown or foreign schemas without touching them,
 * the same answers and rows as the memory store over a random walk, two
 * store handles ("instances") on one database, the statement timeout, a
 * killed connection, and the server restarted mid-run.
 *
 * The server: AG_PG_CONNINFO when set (a database the test may create and
 * drop schemas in), else a throwaway cluster started here with
 * scripts/pg-test-server. When PostgreSQL cannot be started the program
 * FAILS, loudly: it never skips. The restart case always runs on a cluster
 * this program controls (its own one, or a second throwaway cluster when
 * AG_PG_CONNINFO points elsewhere).
 *
 * Every conformance case gets a fresh schema (search_path), so it also
 * runs the whole migration chain.
 *
 * This file holds main, the conformance backend and the order of the
 * cases; the fixture is pg_fixture.c, the cases are by subject in
 * store_pg_schema.c, store_pg_instances.c, store_pg_failures.c and
 * store_pg_model.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "conformance.h"
#include "pg_fixture.h"
#include "testsupport.h"

/* ---- the conformance backend: one fresh schema per store ----------------- */

typedef struct pg_made {
    ag_store *st;
    char schema[64];
} pg_made;

static pg_made made[16];

static ag_err make_pg(void *ctx, size_t capacity, ag_store **out)
{
    (void)ctx;
    (void)capacity;
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        if (made[i].st != NULL)
            continue;
        new_schema(made[i].schema, sizeof made[i].schema);
        ag_err e = open_pg(base_conninfo, made[i].schema, 0, 0, out);
        if (e == AG_OK)
            made[i].st = *out;
        return e;
    }
    return AG_ERR_NOMEM;
}

static void discard_pg(void *ctx, ag_store *st)
{
    (void)ctx;
    ag_store_close(st);
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        if (made[i].st == st) {
            made[i].st = NULL;
            drop_schema(made[i].schema);
        }
    }
}

static const ag_conformance_backend pg_backend = {"postgres", make_pg, NULL, discard_pg, false};

int main(void)
{
    const char *env = getenv("AG_PG_CONNINFO");
    if (env != NULL && env[0] != '\0') {
        snprintf(base_conninfo, sizeof base_conninfo, "%s", env);
    } else if (!cluster_start(own_dir, sizeof own_dir, base_conninfo, sizeof base_conninfo)) {
        fprintf(stderr,
                "test_store_pg: FAILED: cannot start a throwaway PostgreSQL server with %s\n"
                "  (apt-get install postgresql, or set AG_PG_CONNINFO to a database this test\n"
                "  may create and drop schemas in)\n",
                SCRIPT);
        return EXIT_FAILURE;
    }
    if (own_dir[0] == '\0' && env == NULL)
        return EXIT_FAILURE;

    Suite *s = suite_create("store_pg");
    suite_add_tcase(s, ag_conformance_tcase(&pg_backend));
    suite_add_tcase(s, ag_conformance_tcase_races(&pg_backend));
    TCase *tc = tcase_create("pg");
    tcase_set_timeout(tc, 120);
    pg_add_schema_tests(tc);
    pg_add_instance_tests(tc);
    pg_add_failure_tests(tc);
    pg_add_migration_tests(tc);
    pg_add_model_tests(tc);
    pg_add_revlog_tests(tc);
    pg_add_throughput_tests(tc);
    pg_add_restart_tests(tc); /* last: it restarts the cluster */
    suite_add_tcase(s, tc);
    int rc = ag_test_run(s);
    if (own_dir[0] != '\0' && cluster("destroy", own_dir) != 0)
        rc = EXIT_FAILURE;
    return rc;
}

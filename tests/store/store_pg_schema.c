/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL store, its schema: the migration chain (the same as
 * SQLite's), the column types and CHECKs, unknown versions and foreign
 * tables refused without a change, open failures, instances opening at
 * once (one migrates), and a database written by 0.1 (one row per token,
 * fixtures/pg_0002.sql) migrated with every session kept.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "store/store_pg_int.h"
#include "testsupport.h"

/* A text fingerprint of everything in a schema: its objects, and every
 * row of every table. */
static char *schema_dump(const char *schema)
{
    PGconn *c = raw_connect(base_conninfo, schema);
    const char *v[1] = {schema};
    PGresult *r = PQexecParams(c,
                               "SELECT c.relname, c.relkind = 'r' FROM pg_class c"
                               " JOIN pg_namespace n ON n.oid = c.relnamespace"
                               " WHERE n.nspname = $1 ORDER BY c.relname",
                               1, NULL, v, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    size_t cap = 1 << 16, n = 0;
    char *out = calloc(1, cap);
    ck_assert_ptr_nonnull(out);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0);
        n += (size_t)snprintf(out + n, cap - n, "%s;", name);
        if (strcmp(PQgetvalue(r, i, 1), "t") != 0)
            continue;
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT coalesce(string_agg(to_jsonb(t)::text, ',' ORDER BY to_jsonb(t)::text),"
                 " '') FROM \"%s\" t",
                 name);
        PGresult *rows = PQexec(c, sql);
        ck_assert_int_eq(PQresultStatus(rows), PGRES_TUPLES_OK);
        n += (size_t)snprintf(out + n, cap - n, "[%s]", PQgetvalue(rows, 0, 0));
        PQclear(rows);
        ck_assert_uint_lt(n, cap);
    }
    PQclear(r);
    PQfinish(c);
    return out;
}

/* ---- the migration chain -------------------------------------------------- */

START_TEST(chain_matches_sqlite)
{
    size_t n = 0, ns = 0;
    const ag__migration *m = ag__pg_migrations(&n);
    const ag__migration *s = ag__sqlite_migrations(&ns);
    ck_assert_uint_ge(n, 4);
    ck_assert_str_eq(m[2].id, "0003_sessions");
    ck_assert_str_eq(m[3].id, "0004_revocations");
    /* linear: one head (no parent), each next names the one before */
    int heads = 0;
    for (size_t i = 0; i < n; i++) {
        heads += m[i].parent == NULL;
        if (i == 0)
            ck_assert_ptr_null(m[i].parent);
        else
            ck_assert_str_eq(m[i].parent, m[i - 1].id);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(m[i].id, m[j].id);
    }
    ck_assert_int_eq(heads, 1);
    /* the same chain as SQLite (when this build has it) */
    if (ag_store_sqlite_available()) {
        ck_assert_uint_eq(n, ns);
        for (size_t i = 0; i < n; i++)
            ck_assert_str_eq(m[i].id, s[i].id);
    }
}
END_TEST

/* bytea with a length check for hashes, bigint epoch seconds for times. */
START_TEST(schema_types)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = open_at(schema);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(table_name || '.' || column_name || '=' || data_type, ','"
             " ORDER BY table_name, column_name) FROM information_schema.columns"
             " WHERE table_schema = '%s' AND table_name IN ('ag_families', 'ag_revocations')",
             schema);
    char *cols = raw_text(base_conninfo, schema, sql);
    ck_assert_str_eq(cols, "ag_families.created=bigint,ag_families.cur_expires=bigint,"
                           "ag_families.cur_hash=bytea,ag_families.cur_issued=bigint,"
                           "ag_families.expires=bigint,ag_families.generation=bigint,"
                           "ag_families.prev_hash=bytea,ag_families.replays=integer,"
                           "ag_families.revoke_reason=smallint,ag_families.revoked_at=bigint,"
                           "ag_families.sid=text,ag_families.subject=text,"
                           "ag_revocations.at=bigint,ag_revocations.id=bigint,"
                           "ag_revocations.key=text,ag_revocations.kind=smallint");
    free(cols);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_schema"), 4);
    /* one table of sessions: the key, and subject (revoke-subject, the cap) */
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM pg_indexes WHERE schemaname ="
                                     " current_schema() AND tablename = 'ag_families'"),
                     2);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM pg_indexes WHERE schemaname ="
                                     " current_schema() AND indexname ="
                                     " 'ag_families_subject_created'"),
                     1);
    /* the CHECKs refuse a 31-byte hash and an unknown reason, take reason 5 */
    PGconn *c = raw_connect(base_conninfo, schema);
    const char *const bad[] = {
        "INSERT INTO ag_families (sid, subject, created, expires, cur_hash)"
        " VALUES ('s', 'u', 1, 2, decode(repeat('ab', 31), 'hex'))",
        "INSERT INTO ag_families (sid, subject, created, expires, prev_hash)"
        " VALUES ('s', 'u', 1, 2, decode(repeat('ab', 33), 'hex'))",
        "INSERT INTO ag_families (sid, subject, created, expires, revoke_reason)"
        " VALUES ('s', 'u', 1, 2, 6)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        PGresult *r = PQexec(c, bad[i]);
        ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
        PQclear(r);
    }
    raw_exec_on(c, "INSERT INTO ag_families (sid, subject, created, expires, revoked_at,"
                   " revoke_reason) VALUES ('s', 'u', 1, 2, 1, 5)");
    PQfinish(c);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* An unknown stamp (newer, or a foreign id) is refused; nothing changes. */
START_TEST(unknown_version_refused_untouched)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = open_at(schema);
    uint8_t h[32];
    rand_hash(h);
    ck_assert_int_eq(create_one(st, "keep", "alice", h), AG_OK);
    ag_store_close(st);
    const char *const stamps[] = {
        "INSERT INTO ag_schema VALUES (5, '0005_from_the_future', 0)",
        "UPDATE ag_schema SET id = '0004_someone_elses' WHERE seq = 4",
        "DELETE FROM ag_schema",
    };
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        char *pre = NULL;
        raw_exec(schema, "DELETE FROM ag_schema");
        raw_exec(schema, "INSERT INTO ag_schema VALUES (1, '0001_initial', 0),"
                         " (2, '0002_indexes', 0), (3, '0003_sessions', 0),"
                         " (4, '0004_revocations', 0)");
        raw_exec(schema, stamps[i]);
        pre = schema_dump(schema);
        ag_store *bad = (ag_store *)1;
        ck_assert_int_eq(open_pg(base_conninfo, schema, 2, 0, &bad), AG_ERR_STORE_VERSION);
        ck_assert_ptr_null(bad);
        char *post = schema_dump(schema);
        ck_assert_str_eq(pre, post);
        free(pre);
        free(post);
    }
    /* put back right: the data is all there */
    raw_exec(schema, "DELETE FROM ag_schema");
    raw_exec(schema, "INSERT INTO ag_schema VALUES (1, '0001_initial', 0), (2, '0002_indexes', 0),"
                     " (3, '0003_sessions', 0), (4, '0004_revocations', 0)");
    st = open_at(schema);
    ag_store_family f = family_of(st, "keep");
    ck_assert_mem_eq(f.current, h, 32);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* Tables of our names without our version table: someone else's, refused
 * (precondition by catalog inspection), nothing created. */
START_TEST(foreign_tables_refused_untouched)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    raw_exec(schema, "CREATE TABLE ag_families (x int); INSERT INTO ag_families VALUES (7)");
    char *pre = schema_dump(schema);
    ag_store *st = (ag_store *)1;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 1, 0, &st), AG_ERR_STORE);
    ck_assert_ptr_null(st);
    char *post = schema_dump(schema);
    ck_assert_str_eq(pre, post);
    free(pre);
    free(post);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
                                     " ON n.oid = c.relnamespace WHERE n.nspname ="
                                     " current_schema() AND relname = 'ag_schema'"),
                     0);
    /* a search_path naming no existing schema: refused, not created */
    ck_assert_int_eq(open_pg(base_conninfo, "no_such_schema_here", 1, 0, &st), AG_ERR_STORE);
    drop_schema(schema);
}
END_TEST

/* Unreachable server / bad arguments: clear errors, no store. */
START_TEST(open_failures)
{
    ag_store *st = (ag_store *)1;
    ag_store_pg_config cfg = {.size = sizeof(ag_store_pg_config),
                              .conninfo = "host=127.0.0.1 port=1 dbname=x connect_timeout=2"};
    ck_assert_int_eq(ag_store_pg_open(&cfg, &st), AG_ERR_STORE);
    ck_assert_ptr_null(st);
    ag_store_pg_config empty = {.size = sizeof(ag_store_pg_config), .conninfo = ""};
    ck_assert_int_eq(ag_store_pg_open(&empty, &st), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_pg_open(NULL, &st), AG_ERR_INVALID_ARGUMENT);
    ck_assert(ag_store_pg_available());
}
END_TEST

typedef struct opener {
    const char *schema;
    ag_err e;
    ag_store *st;
} opener;

static void *open_thread(void *arg)
{
    opener *o = arg;
    o->e = open_pg(base_conninfo, o->schema, 1, 0, &o->st);
    return NULL;
}

/* Instances starting together: the advisory lock lets one migrate. */
START_TEST(concurrent_open_migrates_once)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    pthread_t th[6];
    opener o[6];
    for (int i = 0; i < 6; i++) {
        o[i].schema = schema;
        o[i].st = NULL;
        ck_assert_int_eq(pthread_create(&th[i], NULL, open_thread, &o[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(o[i].e, AG_OK);
    }
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_schema"), 4);
    uint8_t h[32];
    rand_hash(h);
    ck_assert_int_eq(create_one(o[0].st, "f", "alice", h), AG_OK);
    for (int i = 0; i < 6; i++) {
        ag_store_family f = family_of(o[i].st, "f");
        ck_assert_mem_eq(f.current, h, 32);
        ag_store_close(o[i].st);
    }
    drop_schema(schema);
}
END_TEST

/* ---- migrating a database written by the per-token release --------------- */

#define FIXTURE AG_SOURCE_DIR "/tests/store/fixtures/pg_0002.sql"

/* Loads the 0002 fixture (made by the per-token store, schema ag_fixture)
 * and renames its schema to a fresh name in `name`. */
static void load_fixture(char *name, size_t cap)
{
    FILE *f = fopen(FIXTURE, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", FIXTURE);
    static char sql[1 << 16];
    size_t n = fread(sql, 1, sizeof sql - 1, f);
    ck_assert_uint_lt(n, sizeof sql - 1);
    fclose(f);
    sql[n] = '\0';
    uint8_t r[4];
    ck_assert_int_eq(ag_random(r, sizeof r), AG_OK);
    snprintf(name, cap, "fx%d_%u_%02x%02x%02x%02x", (int)getpid(), seq++, r[0], r[1], r[2], r[3]);
    char rename[160];
    snprintf(rename, sizeof rename, "ALTER SCHEMA ag_fixture RENAME TO %s", name);
    PGconn *c = raw_connect(base_conninfo, NULL);
    /* one at a time: the fixture's schema name is fixed */
    raw_exec_on(c, "SELECT pg_advisory_lock(4242)");
    raw_exec_on(c, sql);
    raw_exec_on(c, rename);
    raw_exec_on(c, "SELECT pg_advisory_unlock(4242)");
    PQfinish(c);
}

/* The fixture's token hashes: family f (1..4), generation g. */
static void fx_hash(int fam, int gen, uint8_t h[32])
{
    for (int i = 0; i < 32; i++)
        h[i] = (uint8_t)(0x10 * fam + gen + i * 0x3b);
}

static ag_err fx_rotate(ag_store *st, const char *sid, const char *sub, int fam, int old_gen,
                        int new_gen, int64_t now, int64_t interval, ag_store_rotated *out)
{
    uint8_t o[32], n[32];
    fx_hash(fam, old_gen, o);
    fx_hash(fam, new_gen, n);
    ag_store_rotation r = request(sid, sub, o, n, interval);
    r.now = now;
    r.new_expires = now + 86400;
    return ag_store_rotate(st, &r, out);
}

START_TEST(migration_from_0002_fixture)
{
    char schema[64];
    load_fixture(schema, sizeof schema);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_tokens"), 9);
    ag_store *st = open_at(schema); /* migrates */
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
                                     " ON n.oid = c.relnamespace WHERE n.nspname ="
                                     " current_schema() AND relname LIKE 'ag\\_tokens%'"),
                     0);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_schema"), 4);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_families"), 4);

    /* every session kept, at its generation, with its current and previous */
    const struct {
        const char *sid, *sub;
        int fam, gen;
    } live[] = {{"s-gen0", "alice", 1, 0}, {"s-gen1", "alice", 2, 1}, {"s-gen3", "bob", 3, 3}};
    for (size_t i = 0; i < 3; i++) {
        ag_store_family f = family_of(st, live[i].sid);
        uint8_t h[32];
        fx_hash(live[i].fam, live[i].gen, h);
        ck_assert_str_eq(f.subject, live[i].sub);
        ck_assert_int_eq(f.revoked_at, 0);
        ck_assert_uint_eq(f.generation, (uint64_t)live[i].gen);
        ck_assert_mem_eq(f.current, h, 32);
        ck_assert_int_eq(f.current_issued, f.created + 100 * live[i].gen);
        ck_assert_int_eq(f.current_expires, f.current_issued + 2 * 86400);
        ck_assert_int_eq(f.expires, f.created + 14 * 86400);
        ck_assert(f.has_previous == (live[i].gen > 0));
        if (live[i].gen > 0) {
            fx_hash(live[i].fam, live[i].gen - 1, h);
            ck_assert_mem_eq(f.previous, h, 32);
        }
        ck_assert_uint_eq(f.replays, 0);
    }
    ag_store_family rv = family_of(st, "s-revoked");
    ck_assert_int_eq(rv.revoked_at, T0 + 500);
    ck_assert_int_eq(rv.reason, AG_REVOKE_ADMIN);
    ck_assert(!rv.has_previous);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_families WHERE cur_hash IS NULL"), 1);

    int64_t now = T0 + 1000;
    ag_store_rotated out;
    /* the previous token, replayed inside the interval: the same successor */
    ck_assert_int_eq(fx_rotate(st, "s-gen3", "bob", 3, 2, 3, T0 + 330, 60, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_REPLAYED);
    ck_assert_uint_eq(out.generation, 3);
    /* current tokens rotate */
    ck_assert_int_eq(fx_rotate(st, "s-gen0", "alice", 1, 0, 1, now, 0, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_ROTATED);
    ck_assert_uint_eq(out.generation, 1);
    ck_assert_int_eq(fx_rotate(st, "s-gen1", "alice", 2, 1, 2, now, 0, &out), AG_OK);
    ck_assert_uint_eq(out.generation, 2);
    ck_assert_int_eq(fx_rotate(st, "s-gen3", "bob", 3, 3, 4, now, 0, &out), AG_OK);
    ck_assert_uint_eq(out.generation, 4);
    /* used tokens are reuse (and end their family) */
    ck_assert_int_eq(fx_rotate(st, "s-gen1", "alice", 2, 0, 9, now + 1, 0, &out), AG_ERR_REUSED);
    ck_assert_int_eq(fx_rotate(st, "s-gen3", "bob", 3, 1, 9, now + 1, 0, &out), AG_ERR_REUSED);
    ck_assert_int_eq(family_of(st, "s-gen3").reason, AG_REVOKE_REUSE);
    /* the revoked family answers revoked, for its last token and older ones */
    ck_assert_int_eq(fx_rotate(st, "s-revoked", "bob", 4, 1, 2, now, 0, &out), AG_ERR_REVOKED);
    ck_assert_int_eq(fx_rotate(st, "s-revoked", "bob", 4, 0, 2, now, 0, &out), AG_ERR_REVOKED);
    /* s-gen0 untouched by the others */
    ck_assert_int_eq(family_of(st, "s-gen0").revoked_at, 0);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* The 0002 fixture stamped with a version this build does not know: refused,
 * nothing migrated, byte for byte the same. */
START_TEST(fixture_with_unknown_stamp_untouched)
{
    char schema[64];
    load_fixture(schema, sizeof schema);
    raw_exec(schema, "INSERT INTO ag_schema VALUES (3, '0003_someone_elses', 0)");
    char *pre = schema_dump(schema);
    ag_store *bad = (ag_store *)1;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 1, 0, &bad), AG_ERR_STORE_VERSION);
    ck_assert_ptr_null(bad);
    char *post = schema_dump(schema);
    ck_assert_str_eq(pre, post);
    free(pre);
    free(post);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_tokens"), 9);
    drop_schema(schema);
}
END_TEST

/* A migration whose preconditions do not hold (a column it would add is
 * already there) is refused before any DDL: nothing changes. */
START_TEST(migration_precondition_refused_untouched)
{
    char schema[64];
    load_fixture(schema, sizeof schema);
    raw_exec(schema, "ALTER TABLE ag_families ADD COLUMN cur_hash bytea");
    char *pre = schema_dump(schema);
    ag_store *bad = (ag_store *)1;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 1, 0, &bad), AG_ERR_STORE);
    ck_assert_ptr_null(bad);
    char *post = schema_dump(schema);
    ck_assert_str_eq(pre, post);
    free(pre);
    free(post);
    drop_schema(schema);
}
END_TEST

void pg_add_schema_tests(TCase *tc)
{
    tcase_add_test(tc, chain_matches_sqlite);
    tcase_add_test(tc, schema_types);
    tcase_add_test(tc, unknown_version_refused_untouched);
    tcase_add_test(tc, foreign_tables_refused_untouched);
    tcase_add_test(tc, open_failures);
    tcase_add_test(tc, concurrent_open_migrates_once);
}

void pg_add_migration_tests(TCase *tc)
{
    tcase_add_test(tc, migration_from_0002_fixture);
    tcase_add_test(tc, fixture_with_unknown_stamp_untouched);
    tcase_add_test(tc, migration_precondition_refused_untouched);
}

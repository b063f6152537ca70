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
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "authgate/store.h"
#include "conformance.h"
#include "store/store_pg_int.h"
#include "testsupport.h"

#define T0 INT64_C(1700000000)
#define SCRIPT AG_SOURCE_DIR "/scripts/pg-test-server"

static char base_conninfo[1024]; /* the database every case uses */
static char own_dir[256];        /* our throwaway cluster, "" when none */
static unsigned seq;

/* ---- the server ----------------------------------------------------------- */

/* Starts a throwaway cluster in a new directory; fills conninfo. */
static bool cluster_start(char *dir, size_t dircap, char *conninfo, size_t cap)
{
    snprintf(dir, dircap, "/tmp/ag-store-pg-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return false;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' start '%s' --owner %d", SCRIPT, dir, (int)getpid());
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return false;
    bool ok = fgets(conninfo, (int)cap, f) != NULL;
    if (pclose(f) != 0)
        ok = false;
    if (ok)
        conninfo[strcspn(conninfo, "\n")] = '\0';
    return ok && conninfo[0] != '\0';
}

static int cluster(const char *what, const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s'", SCRIPT, what, dir);
    return system(cmd);
}

/* ---- raw SQL for the tests (never through the store) ------------------- */

static void quiet(void *arg, const char *msg);

/* base conninfo with search_path = schema (any conninfo form, URIs too). */
static void conninfo_for(const char *base, const char *schema, char *out, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &err);
    ck_assert_msg(opts != NULL, "bad conninfo: %s", err != NULL ? err : "?");
    size_t n = 0;
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || strcmp(o->keyword, "options") == 0)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s='", o->keyword);
        for (const char *c = o->val; *c != '\0' && n + 3 < cap; c++) {
            if (*c == '\'' || *c == '\\')
                out[n++] = '\\';
            out[n++] = *c;
        }
        n += (size_t)snprintf(out + n, cap - n, "' ");
        ck_assert_uint_lt(n, cap);
    }
    if (schema != NULL)
        n += (size_t)snprintf(out + n, cap - n, "options='-csearch_path=%s'", schema);
    ck_assert_uint_lt(n, cap);
    PQconninfoFree(opts);
}

static PGconn *raw_connect(const char *base, const char *schema)
{
    char ci[2048];
    conninfo_for(base, schema, ci, sizeof ci);
    PGconn *c = PQconnectdb(ci);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static void raw_exec_on(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(c));
    PQclear(r);
}

static void raw_exec(const char *schema, const char *sql)
{
    PGconn *c = raw_connect(base_conninfo, schema);
    raw_exec_on(c, sql);
    PQfinish(c);
}

/* The first column of the first row as text (caller frees). */
static char *raw_text(const char *base, const char *schema, const char *sql)
{
    PGconn *c = raw_connect(base, schema);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                  PQerrorMessage(c));
    char *v = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    ck_assert_ptr_nonnull(v);
    return v;
}

static long long raw_int(const char *schema, const char *sql)
{
    char *v = raw_text(base_conninfo, schema, sql);
    long long x = strtoll(v, NULL, 10);
    free(v);
    return x;
}

static void new_schema(char *name, size_t cap)
{
    uint8_t r[4];
    ck_assert_int_eq(ag_random(r, sizeof r), AG_OK);
    snprintf(name, cap, "t%d_%u_%02x%02x%02x%02x", (int)getpid(), seq++, r[0], r[1], r[2], r[3]);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", name);
    raw_exec(NULL, sql);
}

static void drop_schema(const char *name)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", name);
    raw_exec(NULL, sql);
}

static ag_err open_pg(const char *base, const char *schema, unsigned pool, int timeout_ms,
                      ag_store **out)
{
    char ci[2048];
    conninfo_for(base, schema, ci, sizeof ci);
    ag_store_pg_config cfg = {.size = sizeof(ag_store_pg_config),
                              .conninfo = ci,
                              .pool_size = pool,
                              .statement_timeout_ms = timeout_ms};
    return ag_store_pg_open(&cfg, out);
}

static ag_store *open_at(const char *schema)
{
    ag_store *st = NULL;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 0, 0, &st), AG_OK);
    ck_assert_ptr_nonnull(st);
    return st;
}

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

/* ---- helpers ---------------------------------------------------------------- */

static void rand_hash(uint8_t h[32])
{
    ck_assert_int_eq(ag_random(h, 32), AG_OK);
}

static ag_err create_at(ag_store *st, const char *sid, const char *sub, const uint8_t *h,
                        int64_t created)
{
    ag_store_family f;
    memset(&f, 0, sizeof f);
    f.sid_len = strlen(sid);
    memcpy(f.sid, sid, f.sid_len);
    f.subject_len = strlen(sub);
    memcpy(f.subject, sub, f.subject_len);
    f.created = created;
    f.expires = T0 + 1000000;
    memcpy(f.current, h, 32);
    f.current_issued = created;
    f.current_expires = T0 + 500000;
    return ag_store_create(st, &f, created);
}

static ag_err create_one(ag_store *st, const char *sid, const char *sub, const uint8_t *h)
{
    return create_at(st, sid, sub, h, T0);
}

static ag_store_rotation request(const char *sid, const char *sub, const uint8_t *old,
                                 const uint8_t *nw, int64_t interval)
{
    ag_store_rotation r;
    memset(&r, 0, sizeof r);
    r.action = AG_STORE_REFRESH;
    memcpy(r.old_hash, old, 32);
    if (nw != NULL)
        memcpy(r.new_hash, nw, 32);
    r.sid = sid;
    r.sid_len = strlen(sid);
    r.subject = sub;
    r.subject_len = strlen(sub);
    r.now = T0 + 10;
    r.new_expires = T0 + 100000;
    r.reuse_interval = interval;
    r.max_replays = 1;
    return r;
}

static ag_err rotate_one(ag_store *st, const char *sid, const char *sub, const uint8_t *old,
                         const uint8_t *nw, int64_t interval, ag_store_rotated *out)
{
    ag_store_rotation r = request(sid, sub, old, nw, interval);
    ag_store_rotated tmp;
    return ag_store_rotate(st, &r, out != NULL ? out : &tmp);
}

/* The stored family; fails the test when there is none. */
static ag_store_family family_of(ag_store *st, const char *sid)
{
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, sid, strlen(sid), &f), AG_OK);
    return f;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

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

/* R-02 across instances: rotate on A, reuse on B → revoked for both. */
START_TEST(two_instances_reuse_revokes_for_both)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *a = open_at(schema), *b = open_at(schema);
    uint8_t h0[32], h1[32], h2[32], h3[32];
    rand_hash(h0);
    rand_hash(h1);
    rand_hash(h2);
    rand_hash(h3);
    ck_assert_int_eq(create_one(a, "fam", "alice", h0), AG_OK);
    ck_assert_int_eq(rotate_one(a, "fam", "alice", h0, h1, 0, NULL), AG_OK);
    /* B sees the rotation at once */
    ag_store_family f = family_of(b, "fam");
    ck_assert_uint_eq(f.generation, 1);
    ck_assert_mem_eq(f.current, h1, 32);
    ck_assert_mem_eq(f.previous, h0, 32);
    ck_assert_int_eq(rotate_one(b, "fam", "alice", h0, h2, 0, NULL), AG_ERR_REUSED);
    f = family_of(a, "fam");
    ck_assert_int_eq(f.reason, AG_REVOKE_REUSE);
    ck_assert(!f.has_previous); /* a tombstone keeps no hash */
    /* the newest token is dead on both */
    ck_assert_int_eq(rotate_one(a, "fam", "alice", h1, h3, 0, NULL), AG_ERR_REVOKED);
    ck_assert_int_eq(rotate_one(b, "fam", "alice", h1, h3, 0, NULL), AG_ERR_REVOKED);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_families WHERE cur_hash IS NULL"
                                     " AND prev_hash IS NULL AND revoke_reason = 3"),
                     1);
    ag_store_close(a);
    ag_store_close(b);
    drop_schema(schema);
}
END_TEST

typedef struct racer {
    ag_store *st;
    const uint8_t *old;
    uint8_t nw[32];
    pthread_barrier_t *go;
    ag_err e;
} racer;

static void *race_thread(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->go);
    r->e = rotate_one(r->st, "race", "alice", r->old, r->nw, 0, NULL);
    return NULL;
}

/* R-05 across instances: 8 threads over two store handles, one winner. */
START_TEST(two_instances_race_one_winner)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st[2] = {open_at(schema), open_at(schema)};
    for (int round = 0; round < 5; round++) {
        uint8_t h[32];
        rand_hash(h);
        raw_exec(schema, "DELETE FROM ag_families");
        ck_assert_int_eq(create_one(st[round & 1], "race", "alice", h), AG_OK);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 8);
        pthread_t th[8];
        racer r[8];
        for (int k = 0; k < 8; k++) {
            r[k].st = st[k & 1];
            r[k].old = h;
            r[k].go = &go;
            rand_hash(r[k].nw);
            ck_assert_int_eq(pthread_create(&th[k], NULL, race_thread, &r[k]), 0);
        }
        int ok = 0, reused = 0, revoked = 0;
        for (int k = 0; k < 8; k++) {
            pthread_join(th[k], NULL);
            ok += r[k].e == AG_OK;
            reused += r[k].e == AG_ERR_REUSED;
            revoked += r[k].e == AG_ERR_REVOKED;
        }
        pthread_barrier_destroy(&go);
        ck_assert_int_eq(ok, 1);
        ck_assert_int_eq(reused, 1);
        ck_assert_int_eq(revoked, 6);
        ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_families WHERE"
                                         " revoke_reason = 3 AND generation = 1"),
                         1);
    }
    ag_store_close(st[0]);
    ag_store_close(st[1]);
    drop_schema(schema);
}
END_TEST

/* Bound parameters only: hostile text is data. */
START_TEST(hostile_strings_are_data)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = open_at(schema);
    const char *sid = "x'); DROP TABLE ag_families; --";
    const char *sub = "o'brien\\\"$1 ü";
    uint8_t h[32], h2[32];
    rand_hash(h);
    rand_hash(h2);
    h[0] = 0; /* bytea with NUL bytes */
    h[31] = '\'';
    ck_assert_int_eq(create_one(st, sid, sub, h), AG_OK);
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, sid, strlen(sid), &f), AG_OK);
    ck_assert_str_eq(f.subject, sub);
    ck_assert_int_eq(rotate_one(st, sid, sub, h, h2, 0, NULL), AG_OK);
    size_t n = 0;
    ck_assert_int_eq(ag_store_revoke_subject(st, sub, strlen(sub), T0 + 20, AG_REVOKE_LOGOUT_ALL,
                                             NULL, NULL, &n),
                     AG_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_families"), 1);
    f = family_of(st, sid);
    ck_assert_int_eq(f.reason, AG_REVOKE_LOGOUT_ALL);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* A statement stuck behind a lock ends at statement_timeout with
 * AG_ERR_STORE (fail closed, R-06), changes nothing, and the connection
 * serves the next call. */
START_TEST(statement_timeout_fails_closed)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = NULL;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 1, 300, &st), AG_OK);
    uint8_t h[32], h2[32];
    rand_hash(h);
    rand_hash(h2);
    ck_assert_int_eq(create_one(st, "locked", "alice", h), AG_OK);
    PGconn *c = raw_connect(base_conninfo, schema);
    raw_exec_on(c, "BEGIN; SELECT 1 FROM ag_families WHERE sid = 'locked' FOR UPDATE");
    ck_assert_int_eq(rotate_one(st, "locked", "alice", h, h2, 0, NULL), AG_ERR_STORE);
    raw_exec_on(c, "ROLLBACK");
    PQfinish(c);
    ag_store_family f = family_of(st, "locked");
    ck_assert_uint_eq(f.generation, 0);
    ck_assert_mem_eq(f.current, h, 32);
    ck_assert_int_eq(rotate_one(st, "locked", "alice", h, h2, 0, NULL), AG_OK);
    /* the slow path (a reuse) stuck behind the lock fails closed too */
    c = raw_connect(base_conninfo, schema);
    raw_exec_on(c, "BEGIN; SELECT 1 FROM ag_families WHERE sid = 'locked' FOR UPDATE");
    ck_assert_int_eq(rotate_one(st, "locked", "alice", h, h2, 0, NULL), AG_ERR_STORE);
    raw_exec_on(c, "ROLLBACK");
    PQfinish(c);
    f = family_of(st, "locked");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_uint_eq(f.generation, 1);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* Terminates every store connection and waits (bounded) until the server
 * has closed them, so the pool finds them dead before its next call. */
static void kill_store_backends(void)
{
    raw_exec(NULL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE application_name = 'authgate' AND pid <> pg_backend_pid()");
    for (int i = 0; i < 500; i++) {
        if (raw_int(NULL, "SELECT count(*) FROM pg_stat_activity"
                          " WHERE application_name = 'authgate'") == 0)
            return;
        sleep_ms(10);
    }
    ck_abort_msg("terminated backends did not go away");
}

/* Connections killed under the pool (pg_terminate_backend, as a failover
 * or an idle-connection reaper would): the next calls reconnect and
 * succeed, nothing lost or doubled. */
START_TEST(killed_connections_reconnect)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = NULL;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 2, 0, &st), AG_OK);
    uint8_t h[4][32];
    for (int i = 0; i < 4; i++)
        rand_hash(h[i]);
    ck_assert_int_eq(create_one(st, "k", "alice", h[0]), AG_OK);
    for (int i = 0; i < 3; i++) {
        kill_store_backends();
        ck_assert_int_eq(rotate_one(st, "k", "alice", h[i], h[i + 1], 0, NULL), AG_OK);
    }
    ag_store_family f = family_of(st, "k");
    ck_assert_uint_eq(f.generation, 3);
    ck_assert_mem_eq(f.current, h[3], 32);
    ck_assert_mem_eq(f.previous, h[2], 32);
    ck_assert_int_eq(f.revoked_at, 0);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* ---- the server restarted mid-run (R-06) -------------------------------------- */

/* Paced at about 1,000 rotations a second, the chain lasts over a minute:
 * longer than the case, however fast one rotation is. */
#define CHAIN 65536

typedef struct churn {
    ag_store *st;
    uint8_t (*chain)[32];
    volatile int step; /* rotations done (read by the main thread) */
    volatile int stop;
    int failures;      /* AG_ERR_STORE answers */
    ag_err unexpected; /* anything but OK / STORE */
    pthread_mutex_t mu;
} churn;

static void *churn_thread(void *arg)
{
    churn *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int step = c->step, stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (stop || step + 1 >= CHAIN)
            break;
        /* the successor is fixed per step (as the session layer derives
         * it) and the reuse interval is on, so a retry after an unknown
         * commit outcome is a benign replay, never a fork */
        ag_store_rotated out;
        ag_store_rotation r = request("churn", "alice", c->chain[step], c->chain[step + 1], 60);
        r.max_replays = 3;
        ag_err e = ag_store_rotate(c->st, &r, &out);
        pthread_mutex_lock(&c->mu);
        if (e == AG_OK)
            c->step++;
        else if (e == AG_ERR_STORE)
            c->failures++;
        else
            c->unexpected = e;
        bool bad = e != AG_OK && e != AG_ERR_STORE;
        pthread_mutex_unlock(&c->mu);
        if (bad)
            break;
        sleep_ms(e == AG_ERR_STORE ? 5 : 1);
    }
    return NULL;
}

static int churn_step(churn *c)
{
    pthread_mutex_lock(&c->mu);
    int s = c->step;
    pthread_mutex_unlock(&c->mu);
    return s;
}

/* Waits (bounded) until the churn made `n` more rotations. */
static void churn_advance(churn *c, int n)
{
    int target = churn_step(c) + n;
    for (int i = 0; i < 6000 && churn_step(c) < target && c->unexpected == AG_OK; i++)
        sleep_ms(5);
    ck_assert_int_eq(c->unexpected, AG_OK);
    ck_assert_int_ge(churn_step(c), target);
}

START_TEST(server_restart_fails_closed_then_recovers)
{
    char dir[256], ci[1024];
    bool mine = own_dir[0] == '\0';
    if (mine) {
        ck_assert_msg(cluster_start(dir, sizeof dir, ci, sizeof ci),
                      "cannot start a throwaway PostgreSQL for the restart case");
    } else {
        snprintf(dir, sizeof dir, "%s", own_dir);
        snprintf(ci, sizeof ci, "%s", base_conninfo);
    }
    ag_store *st = NULL;
    ck_assert_int_eq(open_pg(ci, NULL, 2, 0, &st), AG_OK);
    static uint8_t chain[CHAIN][32];
    for (int i = 0; i < CHAIN; i++)
        rand_hash(chain[i]);
    uint8_t f0[32], f1[32], f2[32], g[32];
    rand_hash(f0);
    rand_hash(f1);
    rand_hash(f2);
    rand_hash(g);
    ck_assert_int_eq(create_one(st, "steady", "alice", f0), AG_OK);
    ck_assert_int_eq(rotate_one(st, "steady", "alice", f0, f1, 0, NULL), AG_OK);
    ck_assert_int_eq(create_one(st, "churn", "alice", chain[0]), AG_OK);

    churn c;
    memset(&c, 0, sizeof c);
    c.st = st;
    c.chain = chain;
    c.unexpected = AG_OK;
    pthread_mutex_init(&c.mu, NULL);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, churn_thread, &c), 0);
    churn_advance(&c, 20);

    ck_assert_int_eq(cluster("stop", dir), 0);
    /* Down: every call fails closed, none answers from memory. */
    ag_store_family f;
    ag_store_stats s = AG_INIT(ag_store_stats);
    size_t n;
    ck_assert_int_eq(ag_store_lookup_family(st, "steady", 6, &f), AG_ERR_STORE);
    ck_assert_int_eq(rotate_one(st, "steady", "alice", f1, f2, 0, NULL), AG_ERR_STORE);
    ck_assert_int_eq(rotate_one(st, "steady", "alice", f0, f2, 0, NULL), AG_ERR_STORE);
    ck_assert_int_eq(create_one(st, "new", "bob", g), AG_ERR_STORE);
    ck_assert_int_eq(ag_store_revoke_family(st, "steady", 6, T0 + 20, AG_REVOKE_LOGOUT),
                     AG_ERR_STORE);
    ck_assert_int_eq(
        ag_store_revoke_subject(st, "bob", 3, T0 + 20, AG_REVOKE_LOGOUT_ALL, NULL, NULL, &n),
        AG_ERR_STORE);
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 1, NULL, 0, T0 + 20, NULL, NULL, &n),
                     AG_ERR_STORE);
    ag_store_rotation lo = request("steady", "alice", f1, NULL, 0);
    lo.action = AG_STORE_LOGOUT;
    ag_store_rotated lout;
    ck_assert_int_eq(ag_store_rotate(st, &lo, &lout), AG_ERR_STORE);
    ck_assert_int_eq(ag_store_purge_expired(st, T0, &n), AG_ERR_STORE);
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_ERR_STORE);
    sleep_ms(200); /* let the churn thread hit the outage too */
    ck_assert_int_eq(cluster("resume", dir), 0);

    /* Back: the same store object recovers; nothing done while down. */
    f = family_of(st, "steady");
    ck_assert_mem_eq(f.current, f1, 32);
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_int_eq(ag_store_lookup_family(st, "new", 3, &f), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(rotate_one(st, "steady", "alice", f1, f2, 0, NULL), AG_OK);
    churn_advance(&c, 20);

    /* and a restart while the churn runs, without a pause */
    ck_assert_int_eq(cluster("restart", dir), 0);
    churn_advance(&c, 20);
    pthread_mutex_lock(&c.mu);
    c.stop = 1;
    pthread_mutex_unlock(&c.mu);
    pthread_join(th, NULL);
    ck_assert_int_eq(c.unexpected, AG_OK);
    ck_assert_int_gt(c.failures, 0); /* it did meet the outage */

    /* Nothing lost or doubled: the family is at exactly the step the
     * client reached, its current token that step's, and it was never
     * revoked (a lost answer's retry was a replay, not reuse). */
    int steps = c.step;
    f = family_of(st, "churn");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_uint_eq(f.generation, (uint64_t)steps);
    ck_assert_mem_eq(f.current, chain[steps], 32);
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    ck_assert_uint_eq(s.families, 2);
    pthread_mutex_destroy(&c.mu);
    ag_store_close(st);
    /* leave the shared cluster clean for whatever runs next */
    PGconn *raw = raw_connect(ci, NULL);
    raw_exec_on(raw, "DROP TABLE ag_families, ag_schema");
    PQfinish(raw);
    if (mine)
        ck_assert_int_eq(cluster("destroy", dir), 0);
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

/* ---- the same answers as the memory store, which is the model ------------ */

static uint64_t rng_state;

static uint32_t rng(uint32_t n)
{
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)((rng_state >> 33) % n);
}

static void small_hash(int k, uint8_t h[32])
{
    memset(h, 0, 32);
    h[0] = (uint8_t)(k + 1);
}

static void same_family(ag_store *a, ag_store *b, const char *sid)
{
    ag_store_family x, y;
    ag_err ea = ag_store_lookup_family(a, sid, strlen(sid), &x);
    ag_err eb = ag_store_lookup_family(b, sid, strlen(sid), &y);
    ck_assert_int_eq(ea, eb);
    if (ea != AG_OK)
        return;
    ck_assert_str_eq(x.sid, y.sid);
    ck_assert_str_eq(x.subject, y.subject);
    ck_assert_int_eq(x.created, y.created);
    ck_assert_int_eq(x.expires, y.expires);
    ck_assert_int_eq(x.revoked_at, y.revoked_at);
    ck_assert_int_eq(x.reason, y.reason);
    ck_assert_uint_eq(x.generation, y.generation);
    ck_assert_mem_eq(x.current, y.current, 32);
    ck_assert_int_eq(x.current_issued, y.current_issued);
    ck_assert_int_eq(x.current_expires, y.current_expires);
    ck_assert(x.has_previous == y.has_previous);
    ck_assert_mem_eq(x.previous, y.previous, 32);
    ck_assert_uint_eq(x.replays, y.replays);
}

typedef struct evicted {
    char sids[16][16];
    size_t n;
} evicted;

static void on_evict(void *ctx, const char *sid, size_t len)
{
    evicted *e = ctx;
    ck_assert_uint_lt(len, 16);
    if (e->n < 16) {
        memcpy(e->sids[e->n], sid, len);
        e->sids[e->n++][len] = '\0';
    }
}

static int cmp_sid(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The same sids reported, in any order. */
static void same_sids(evicted *a, evicted *b)
{
    ck_assert_uint_eq(a->n, b->n);
    qsort(a->sids, a->n, sizeof a->sids[0], cmp_sid);
    qsort(b->sids, b->n, sizeof b->sids[0], cmp_sid);
    for (size_t i = 0; i < a->n; i++)
        ck_assert_str_eq(a->sids[i], b->sids[i]);
}

/* Random operations on small pools of sids, subjects and hashes (so that
 * replays, reuse, expiry, logout, eviction and purge all happen), applied
 * to a memory store and to PostgreSQL: every answer and every row the same. */
START_TEST(same_as_memory_store)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *pg = open_at(schema), *mem = NULL;
    ck_assert_int_eq(ag_store_memory_new(NULL, &mem), AG_OK);
    static const char *const sids[] = {"a", "b", "c", "d", "e", "f"};
    static const char *const subs[] = {"alice", "bob"};
    rng_state = 12345;
    int64_t now = T0;
    int fast = 0, counts[8] = {0};
    for (int step = 0; step < 1500; step++) {
        const char *sid = sids[rng(6)];
        const char *sub = subs[rng(2)];
        now += rng(40);
        int op = (int)rng(10);
        ag_err e1, e2;
        if (op == 0) { /* create */
            uint8_t h[32];
            small_hash((int)rng(12), h);
            ag_store_family f;
            memset(&f, 0, sizeof f);
            f.sid_len = strlen(sid);
            memcpy(f.sid, sid, f.sid_len);
            f.subject_len = strlen(sub);
            memcpy(f.subject, sub, f.subject_len);
            f.created = now;
            f.expires = now + 400 + rng(400);
            memcpy(f.current, h, 32);
            f.current_issued = now;
            f.current_expires = now + 100 + rng(400);
            if (f.current_expires > f.expires)
                f.current_expires = f.expires;
            e1 = ag_store_create(mem, &f, now);
            e2 = ag_store_create(pg, &f, now);
        } else if (op <= 6) { /* refresh / logout / logout-all */
            uint8_t o[32], n[32];
            small_hash((int)rng(12), o);
            small_hash((int)rng(12), n);
            ag_store_family cur;
            uint32_t pick = rng(4);
            if (pick > 0 && ag_store_lookup_family(mem, sid, strlen(sid), &cur) == AG_OK) {
                /* mostly the tokens a client holds: its current one, or
                 * the previous one retried with the successor it got */
                if (pick == 3 && cur.has_previous) {
                    memcpy(o, cur.previous, 32);
                    memcpy(n, cur.current, 32);
                } else {
                    memcpy(o, cur.current, 32);
                }
            }
            if (memcmp(o, n, 32) == 0)
                n[1] = 1;
            ag_store_rotation r = request(sid, sub, o, n, rng(3) == 0 ? 0 : 30);
            r.max_replays = rng(3);
            r.now = now;
            r.new_expires = now + 50 + rng(300);
            r.action = op == 6 ? AG_STORE_LOGOUT_ALL : op == 5 ? AG_STORE_LOGOUT : AG_STORE_REFRESH;
            ag_store_rotated x, y;
            memset(&x, 0, sizeof x);
            memset(&y, 0, sizeof y);
            e1 = ag_store_rotate(mem, &r, &x);
            e2 = ag_store_rotate(pg, &r, &y);
            ck_assert_int_eq(x.outcome, y.outcome);
            ck_assert_uint_eq(x.generation, y.generation);
            ck_assert_int_eq(x.issued, y.issued);
            ck_assert_int_eq(x.expires, y.expires);
            ck_assert_int_eq(x.family_expires, y.family_expires);
            fast += e1 == AG_OK && x.outcome == AG_STORE_ROTATED;
        } else if (op == 7) { /* revoke one, or a subject */
            size_t n1 = 0, n2 = 0;
            evicted v1 = {0}, v2 = {0};
            if (rng(2) == 0) {
                e1 = ag_store_revoke_family(mem, sid, strlen(sid), now, AG_REVOKE_ADMIN);
                e2 = ag_store_revoke_family(pg, sid, strlen(sid), now, AG_REVOKE_ADMIN);
            } else {
                e1 = ag_store_revoke_subject(mem, sub, strlen(sub), now, AG_REVOKE_LOGOUT_ALL,
                                             on_evict, &v1, &n1);
                e2 = ag_store_revoke_subject(pg, sub, strlen(sub), now, AG_REVOKE_LOGOUT_ALL,
                                             on_evict, &v2, &n2);
            }
            ck_assert_uint_eq(n1, n2);
            same_sids(&v1, &v2);
        } else if (op == 8) { /* the session cap */
            size_t keep = 1 + rng(3), n1 = 0, n2 = 0;
            evicted v1 = {0}, v2 = {0};
            /* sometimes the login just made, which is never evicted */
            const char *ks = rng(2) == 0 ? sid : NULL;
            size_t kl = ks != NULL ? strlen(ks) : 0;
            e1 = ag_store_evict(mem, sub, strlen(sub), keep, ks, kl, now, on_evict, &v1, &n1);
            e2 = ag_store_evict(pg, sub, strlen(sub), keep, ks, kl, now, on_evict, &v2, &n2);
            ck_assert_uint_eq(n1, n2);
            same_sids(&v1, &v2);
        } else { /* purge */
            size_t n1 = 0, n2 = 0;
            e1 = ag_store_purge_expired(mem, now - 30, &n1);
            e2 = ag_store_purge_expired(pg, now - 30, &n2);
            ck_assert_uint_eq(n1, n2);
        }
        ck_assert_msg(e1 == e2, "step %d op %d: memory %s, postgres %s", step, op, ag_strerror(e1),
                      ag_strerror(e2));
        counts[e1 == AG_OK            ? 0
               : e1 == AG_ERR_REUSED  ? 1
               : e1 == AG_ERR_REVOKED ? 2
               : e1 == AG_ERR_EXPIRED ? 3
               : e1 == AG_ERR_UNKNOWN ? 4
                                      : 5]++;
        for (size_t i = 0; i < 6; i++)
            same_family(mem, pg, sids[i]);
        ag_store_stats s1 = AG_INIT(ag_store_stats), s2 = AG_INIT(ag_store_stats);
        ck_assert_int_eq(ag_store_stats_get(mem, &s1), AG_OK);
        ck_assert_int_eq(ag_store_stats_get(pg, &s2), AG_OK);
        ck_assert_uint_eq(s1.families, s2.families);
    }
    /* the walk did exercise every answer */
    for (int i = 0; i < 6; i++)
        ck_assert_msg(counts[i] > 0, "answer %d never seen", i);
    ck_assert_int_gt(fast, 20);
    ag_store_close(mem);
    ag_store_close(pg);
    drop_schema(schema);
}
END_TEST

/* ---- the revocation log ---------------------------------------------------- */

#define LOG_WRITERS 4
#define LOG_PER 150

typedef struct log_writer {
    ag_store *st;
    int k;
    ag_err e;
} log_writer;

static void *log_write_thread(void *arg)
{
    log_writer *w = arg;
    for (int i = 0; i < LOG_PER && w->e == AG_OK; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "w%d-%d", w->k, i);
        w->e = ag_store_log_append(w->st, i % 2 ? AG_STORE_REV_SUBJECT : AG_STORE_REV_SID, key,
                                   (size_t)n, T0 + i);
    }
    return NULL;
}

/* Writers on two store handles append while a follower reads "id > last
 * seen" in small pages: the follower sees every entry exactly once (an id
 * never commits after a higher one was read), in increasing order; purge
 * removes by time. */
START_TEST(revocation_log_followed_across_instances)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st[2] = {open_at(schema), open_at(schema)};
    ck_assert(ag_store_has_log(st[0]));
    pthread_t th[LOG_WRITERS];
    log_writer w[LOG_WRITERS];
    for (int k = 0; k < LOG_WRITERS; k++) {
        w[k] = (log_writer){st[k & 1], k, AG_OK};
        ck_assert_int_eq(pthread_create(&th[k], NULL, log_write_thread, &w[k]), 0);
    }
    static char seen[LOG_WRITERS][LOG_PER];
    memset(seen, 0, sizeof seen);
    uint64_t last = 0;
    int got = 0;
    for (int spin = 0; spin < 20000 && got < LOG_WRITERS * LOG_PER; spin++) {
        ag_store_revocation page[7];
        size_t n = 0;
        ck_assert_int_eq(ag_store_log_read(st[spin & 1], last, page, 7, &n), AG_OK);
        for (size_t i = 0; i < n; i++) {
            int k = -1, j = -1;
            ck_assert_uint_gt(page[i].id, last);
            last = page[i].id;
            ck_assert_int_eq(sscanf(page[i].key, "w%d-%d", &k, &j), 2);
            ck_assert(k >= 0 && k < LOG_WRITERS && j >= 0 && j < LOG_PER);
            ck_assert_msg(!seen[k][j], "entry %s read twice", page[i].key);
            seen[k][j] = 1;
            ck_assert_int_eq(page[i].kind, j % 2 ? AG_STORE_REV_SUBJECT : AG_STORE_REV_SID);
            ck_assert_int_eq(page[i].at, T0 + j);
            got++;
        }
        if (n == 0)
            sleep_ms(1);
    }
    for (int k = 0; k < LOG_WRITERS; k++) {
        pthread_join(th[k], NULL);
        ck_assert_int_eq(w[k].e, AG_OK);
    }
    ck_assert_int_eq(got, LOG_WRITERS * LOG_PER); /* none passed over */
    size_t removed = 0;
    ck_assert_int_eq(ag_store_log_purge(st[1], T0 + 100, &removed), AG_OK);
    ck_assert_uint_eq(removed, LOG_WRITERS * 100);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_revocations"),
                     LOG_WRITERS * (LOG_PER - 100));
    ag_store_close(st[0]);
    ag_store_close(st[1]);
    drop_schema(schema);
}
END_TEST

/* ---- throughput (printed, never asserted) ------------------------------------- */

typedef struct bench {
    ag_store *st;
    int k;
    int n;
    ag_err e;
} bench;

static void *bench_thread(void *arg)
{
    bench *b = arg;
    char sid[32];
    uint8_t cur[32], nx[32];
    snprintf(sid, sizeof sid, "bench-%d", b->k);
    rand_hash(cur);
    b->e = create_one(b->st, sid, "alice", cur);
    for (int i = 0; i < b->n && b->e == AG_OK; i++) {
        rand_hash(nx);
        b->e = rotate_one(b->st, sid, "alice", cur, nx, 0, NULL);
        memcpy(cur, nx, 32);
    }
    return NULL;
}

START_TEST(rotations_per_second)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = open_at(schema);
    for (int threads = 1; threads <= 4; threads *= 4) {
        pthread_t th[4];
        bench b[4];
        int per = getenv("AG_UNDER_SANITIZER") != NULL ? 100 : 1000 / threads;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int k = 0; k < threads; k++) {
            b[k].st = st;
            b[k].k = k + 10 * threads;
            b[k].n = per;
            ck_assert_int_eq(pthread_create(&th[k], NULL, bench_thread, &b[k]), 0);
        }
        for (int k = 0; k < threads; k++) {
            pthread_join(th[k], NULL);
            ck_assert_int_eq(b[k].e, AG_OK);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("postgres rotate: %d threads, pool 4: %.0f rotations/s (%d in %.2f s)\n", threads,
               (double)(threads * per) / s, threads * per, s);
    }
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

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
    tcase_add_test(tc, chain_matches_sqlite);
    tcase_add_test(tc, schema_types);
    tcase_add_test(tc, unknown_version_refused_untouched);
    tcase_add_test(tc, foreign_tables_refused_untouched);
    tcase_add_test(tc, open_failures);
    tcase_add_test(tc, concurrent_open_migrates_once);
    tcase_add_test(tc, two_instances_reuse_revokes_for_both);
    tcase_add_test(tc, two_instances_race_one_winner);
    tcase_add_test(tc, hostile_strings_are_data);
    tcase_add_test(tc, statement_timeout_fails_closed);
    tcase_add_test(tc, killed_connections_reconnect);
    tcase_add_test(tc, migration_from_0002_fixture);
    tcase_add_test(tc, fixture_with_unknown_stamp_untouched);
    tcase_add_test(tc, migration_precondition_refused_untouched);
    tcase_add_test(tc, same_as_memory_store);
    tcase_add_test(tc, revocation_log_followed_across_instances);
    tcase_add_test(tc, rotations_per_second);
    tcase_add_test(tc, server_restart_fails_closed_then_recovers);
    suite_add_tcase(s, tc);
    int rc = ag_test_run(s);
    if (own_dir[0] != '\0' && cluster("destroy", own_dir) != 0)
        rc = EXIT_FAILURE;
    return rc;
}

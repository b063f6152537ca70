/* SPDX-License-Identifier: MIT */
/*
 * SQLite store: the conformance suite, the migration chain, refusing
 * unknown / foreign / corrupt files without touching them, persistence,
 * and crash safety under SIGKILL.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "authgate/store.h"
#include "conformance.h"
#include "store/store_int.h"
#include "testsupport.h"

#define T0 INT64_C(1700000000)

static char tmpdir[] = "/tmp/ag-store-sqlite-XXXXXX";
static int seq;

static void path_new(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/t%d-%d.db", tmpdir, (int)getpid(), seq++);
}

static void remove_db(const char *path)
{
    char p[256];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static ag_err make_sqlite(void *ctx, size_t capacity, ag_store **out)
{
    (void)ctx;
    (void)capacity;
    char path[128];
    path_new(path, sizeof path);
    ag_store_sqlite_config cfg = {.size = sizeof(ag_store_sqlite_config), .path = path};
    return ag_store_sqlite_open(&cfg, out);
}

static const ag_conformance_backend sqlite_backend = {"sqlite", make_sqlite, NULL, NULL, false};

static ag_store *open_at(const char *path)
{
    ag_store_sqlite_config cfg = {.size = sizeof(ag_store_sqlite_config), .path = path};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_sqlite_open(&cfg, &st), AG_OK);
    return st;
}

static ag_err try_open(const char *path)
{
    ag_store_sqlite_config cfg = {.size = sizeof(ag_store_sqlite_config), .path = path};
    ag_store *st = NULL;
    ag_err e = ag_store_sqlite_open(&cfg, &st);
    if (e == AG_OK)
        ag_store_close(st);
    else
        ck_assert_ptr_null(st);
    return e;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        ck_abort_msg("raw_exec: %s", msg != NULL ? msg : "?");
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static char *slurp(const char *path, size_t *len)
{
    char *b = ag_test_read_file(path, len);
    ck_assert_ptr_nonnull(b);
    return b;
}

static void assert_same_file(const char *path, const char *before, size_t before_len)
{
    size_t n = 0;
    char *after = slurp(path, &n);
    ck_assert_uint_eq(n, before_len);
    ck_assert(memcmp(after, before, n) == 0);
    free(after);
}

static int put_one(ag_store *st, const char *sid, const uint8_t *h)
{
    ag_store_family f = {0};
    f.sid_len = strlen(sid);
    memcpy(f.sid, sid, f.sid_len);
    memcpy(f.subject, "alice", 5);
    f.subject_len = 5;
    f.created = T0;
    f.expires = T0 + 1000000;
    memcpy(f.current, h, 32);
    f.current_issued = T0;
    f.current_expires = T0 + 1000000;
    return ag_store_create(st, &f, T0);
}

static ag_err rotate_one(ag_store *st, const char *sid, const uint8_t *old, const uint8_t *nw,
                         int64_t now)
{
    ag_store_rotation r = {0};
    ag_store_rotated out;
    memcpy(r.old_hash, old, 32);
    memcpy(r.new_hash, nw, 32);
    r.sid = sid;
    r.sid_len = strlen(sid);
    r.subject = "alice";
    r.subject_len = 5;
    r.now = now;
    r.new_expires = T0 + 1000000;
    return ag_store_rotate(st, &r, &out);
}

/* docs/sessions.md "SQLite details": one root, each link names its predecessor, exactly one
 * head, no gaps, no duplicates. */
START_TEST(chain_one_head_no_gaps)
{
    size_t n = 0;
    const ag__migration *m = ag__sqlite_migrations(&n);
    ck_assert_uint_ge(n, 1);
    ck_assert_ptr_null(m[0].parent);
    size_t heads = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(m[i].id);
        ck_assert_ptr_nonnull(m[i].ddl);
        if (i > 0) {
            ck_assert_ptr_nonnull(m[i].parent);
            ck_assert_str_eq(m[i].parent, m[i - 1].id); /* linear, no gap */
        }
        size_t children = 0;
        for (size_t j = 0; j < n; j++) {
            if (j != i)
                ck_assert_str_ne(m[i].id, m[j].id);
            if (m[j].parent != NULL && strcmp(m[j].parent, m[i].id) == 0)
                children++;
        }
        ck_assert_uint_le(children, 1); /* never a fork */
        heads += children == 0;
    }
    ck_assert_uint_eq(heads, 1);
}
END_TEST

START_TEST(fresh_file_gets_schema_and_wal)
{
    char path[128];
    path_new(path, sizeof path);
    ag_store *st = open_at(path);
    ck_assert_str_eq(st->name, "sqlite");
    ag_store_close(st);
    size_t n = 0;
    ag__sqlite_migrations(&n);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_schema"), (int64_t)n);
    ck_assert_int_eq(
        raw_int(path,
                "SELECT count(*) FROM sqlite_master WHERE name='ag_families_subject_created'"),
        1);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name='ag_tokens'"), 0);
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
    /* reopening an up-to-date file applies nothing */
    st = open_at(path);
    ag_store_close(st);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_schema"), (int64_t)n);
    remove_db(path);
}
END_TEST

START_TEST(reopen_keeps_state)
{
    char path[128];
    path_new(path, sizeof path);
    uint8_t a[32], b[32], c[32];
    ck_assert_int_eq(ag_random(a, 32), AG_OK);
    ck_assert_int_eq(ag_random(b, 32), AG_OK);
    ck_assert_int_eq(ag_random(c, 32), AG_OK);
    ag_store *st = open_at(path);
    ck_assert_int_eq(put_one(st, "p", a), AG_OK);
    ck_assert_int_eq(rotate_one(st, "p", a, b, T0 + 1), AG_OK);
    ag_store_close(st);
    st = open_at(path);
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, "p", 1, &f), AG_OK);
    ck_assert_uint_eq(f.generation, 1);
    ck_assert_mem_eq(f.current, b, 32);
    ck_assert_int_eq(rotate_one(st, "p", a, c, T0 + 2), AG_ERR_REUSED); /* still known as used */
    ag_store_close(st);
    remove_db(path);
}
END_TEST

/* An older file is brought forward along the chain. */
START_TEST(migrates_from_first_version)
{
    char path[128];
    path_new(path, sizeof path);
    size_t n = 0;
    const ag__migration *m = ag__sqlite_migrations(&n);
    raw_exec(path, m[0].ddl);
    raw_exec(path, "INSERT INTO ag_schema (seq, id, applied_at) VALUES (1, '0001_initial', 0)");
    ag_store *st = open_at(path);
    uint8_t a[32];
    ck_assert_int_eq(ag_random(a, 32), AG_OK);
    ck_assert_int_eq(put_one(st, "m", a), AG_OK);
    ag_store_close(st);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_schema"), (int64_t)n);
    ck_assert_int_eq(raw_int(path, "SELECT max(seq) FROM ag_schema"), (int64_t)n);
    remove_db(path);
}
END_TEST

static void fixture_hash(uint8_t *o, int fam, int gen)
{
    memset(o, 0, 32);
    o[0] = (uint8_t)fam;
    o[1] = (uint8_t)gen;
    o[31] = 0xa5;
}

static ag_err fixture_rotate(ag_store *st, const char *sid, int fam, int from, int to, int64_t now)
{
    uint8_t a[32], b[32];
    fixture_hash(a, fam, from);
    fixture_hash(b, fam, to);
    return rotate_one(st, sid, a, b, now);
}

/* A database written by release 0.1 (tests/store/fixtures/README.md) opens,
 * migrates in one step, and keeps every session: current tokens rotate,
 * used ones are reuse, the revoked family stays revoked. */
START_TEST(migrates_release_0_1_fixture)
{
    char path[128];
    path_new(path, sizeof path);
    size_t len = 0;
    char *db = ag_test_read_file(AG_SOURCE_DIR "/tests/store/fixtures/sqlite_0002.db", &len);
    ck_assert_ptr_nonnull(db);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(db, 1, len, f), len);
    fclose(f);
    free(db);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_tokens"), 9);
    ag_store *st = open_at(path);
    size_t n = 0;
    ag__sqlite_migrations(&n);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_schema"), (int64_t)n);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name='ag_tokens'"), 0);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_families"), 4);
    ag_store_family fam;
    ck_assert_int_eq(ag_store_lookup_family(st, "live3", 5, &fam), AG_OK);
    ck_assert_uint_eq(fam.generation, 3);
    ck_assert_int_eq(fam.current_issued, T0 + 300);
    ck_assert(fam.has_previous);
    const int64_t t = T0 + 1000;
    ck_assert_int_eq(fixture_rotate(st, "live0", 1, 0, 1, t), AG_OK);
    ck_assert_int_eq(fixture_rotate(st, "live1", 2, 1, 2, t), AG_OK);
    ck_assert_int_eq(fixture_rotate(st, "live3", 3, 3, 4, t), AG_OK);
    /* a used token of 0.1 still counts as reuse after the migration */
    ck_assert_int_eq(fixture_rotate(st, "live3", 3, 1, 9, t + 1), AG_ERR_REUSED);
    ck_assert_int_eq(fixture_rotate(st, "revoked", 4, 1, 2, t), AG_ERR_REVOKED);
    ck_assert_int_eq(fixture_rotate(st, "live1", 2, 0, 9, t + 1), AG_ERR_REUSED);
    ck_assert_int_eq(ag_store_lookup_family(st, "live0", 5, &fam), AG_OK);
    ck_assert_int_eq(fam.revoked_at, 0);
    ck_assert_uint_eq(fam.generation, 1);
    ag_store_close(st);
    remove_db(path);
}
END_TEST

/* Preconditions come from schema inspection: an index the next migration
 * would create already exists → refused before any DDL, stamp unchanged. */
START_TEST(precondition_checked_by_inspection)
{
    char path[128];
    path_new(path, sizeof path);
    size_t n = 0;
    const ag__migration *m = ag__sqlite_migrations(&n);
    ck_assert_uint_ge(n, 2);
    raw_exec(path, m[0].ddl);
    raw_exec(path, "INSERT INTO ag_schema (seq, id, applied_at) VALUES (1, '0001_initial', 0);"
                   "CREATE INDEX ag_families_subject ON ag_families(created);");
    ck_assert_int_eq(try_open(path), AG_ERR_STORE);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_schema"), 1);
    ck_assert_int_eq(
        raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name='ag_tokens_live'"), 0);
    remove_db(path);
}
END_TEST

/* A newer build's stamp, or an unknown one: AG_ERR_STORE_VERSION and the
 * file is byte-for-byte what it was. */
START_TEST(unknown_version_refused_untouched)
{
    static const char *const stamps[] = {
        "INSERT INTO ag_schema (seq, id, applied_at) VALUES (99, '0099_from_the_future', 0)",
        "UPDATE ag_schema SET id = '0001_someone_elses' WHERE seq = 1",
        "DELETE FROM ag_schema",
    };
    for (size_t k = 0; k < sizeof stamps / sizeof stamps[0]; k++) {
        char path[128];
        path_new(path, sizeof path);
        ag_store *st = open_at(path);
        uint8_t a[32];
        ck_assert_int_eq(ag_random(a, 32), AG_OK);
        ck_assert_int_eq(put_one(st, "v", a), AG_OK);
        ag_store_close(st);
        raw_exec(path, stamps[k]);
        size_t len = 0;
        char *before = slurp(path, &len);
        ck_assert_int_eq(try_open(path), AG_ERR_STORE_VERSION);
        assert_same_file(path, before, len);
        ck_assert_int_eq(try_open(path), AG_ERR_STORE_VERSION); /* and again */
        assert_same_file(path, before, len);
        free(before);
        remove_db(path);
    }
}
END_TEST

START_TEST(foreign_database_refused_untouched)
{
    char path[128];
    path_new(path, sizeof path);
    raw_exec(path, "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('x')");
    size_t len = 0;
    char *before = slurp(path, &len);
    ck_assert_int_eq(try_open(path), AG_ERR_STORE);
    assert_same_file(path, before, len);
    free(before);
    remove_db(path);
}
END_TEST

START_TEST(corrupt_file_refused_untouched)
{
    /* not a database at all */
    char path[128];
    path_new(path, sizeof path);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    for (int k = 0; k < 512; k++)
        fputs("this is not a database. ", f);
    fclose(f);
    size_t len = 0;
    char *before = slurp(path, &len);
    ck_assert_int_eq(try_open(path), AG_ERR_STORE);
    assert_same_file(path, before, len);
    free(before);
    remove_db(path);

    /* a real store whose header was damaged */
    path_new(path, sizeof path);
    ag_store_close(open_at(path));
    f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fwrite("SQLite format 9\0", 1, 16, f);
    fclose(f);
    before = slurp(path, &len);
    ck_assert_int_eq(try_open(path), AG_ERR_STORE);
    assert_same_file(path, before, len);
    free(before);
    remove_db(path);

    /* a directory, a path in a missing directory */
    ck_assert_int_eq(try_open(tmpdir), AG_ERR_STORE);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no/such/dir.db", tmpdir);
    ck_assert_int_eq(try_open(missing), AG_ERR_STORE);
    ag_store_sqlite_config cfg = AG_INIT(ag_store_sqlite_config);
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_sqlite_open(&cfg, &st), AG_ERR_INVALID_ARGUMENT);
    ck_assert(ag_store_sqlite_available());
}
END_TEST

/* Rotates forever from the family's live row (found by raw SQL). */
static void crash_child(const char *path)
{
    ag_store_sqlite_config cfg = {.size = sizeof(ag_store_sqlite_config), .path = path};
    ag_store *st = NULL;
    if (ag_store_sqlite_open(&cfg, &st) != AG_OK)
        _exit(3);
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    uint8_t cur[32], nx[32];
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT cur_hash FROM ag_families WHERE sid='crash'", -1, &s,
                           NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW || sqlite3_column_bytes(s, 0) != 32)
        _exit(4);
    memcpy(cur, sqlite3_column_blob(s, 0), 32);
    sqlite3_finalize(s);
    sqlite3_close(db);
    for (int64_t n = 1;; n++) {
        if (ag_random(nx, 32) != AG_OK || rotate_one(st, "crash", cur, nx, T0 + n) != AG_OK)
            _exit(5);
        memcpy(cur, nx, 32);
    }
}

/* A generation at INT64_MAX (whose + 1 SQLite would turn into a REAL) and
 * a row read_family calls corrupt both fail a rotation with AG_ERR_STORE
 * and stay as they were (any future one-statement rotation must too). */
START_TEST(rotation_refuses_overflow_and_corrupt_rows)
{
    char path[128];
    path_new(path, sizeof path);
    uint8_t a[32], b[32];
    ck_assert_int_eq(ag_random(a, 32), AG_OK);
    ck_assert_int_eq(ag_random(b, 32), AG_OK);
    ag_store *st = open_at(path);
    ck_assert_int_eq(put_one(st, "gmax", a), AG_OK);
    ck_assert_int_eq(put_one(st, "rneg", a), AG_OK);
    ck_assert_int_eq(put_one(st, "why9", a), AG_OK);
    ag_store_close(st);
    raw_exec(path, "UPDATE ag_families SET generation = 9223372036854775807 WHERE sid = 'gmax';"
                   "UPDATE ag_families SET replays = -1 WHERE sid = 'rneg';"
                   "UPDATE ag_families SET revoke_reason = 9 WHERE sid = 'why9';");
    st = open_at(path);
    ck_assert_int_eq(rotate_one(st, "gmax", a, b, T0 + 1), AG_ERR_STORE);
    ck_assert_int_eq(rotate_one(st, "rneg", a, b, T0 + 1), AG_ERR_STORE);
    ck_assert_int_eq(rotate_one(st, "why9", a, b, T0 + 1), AG_ERR_STORE);
    ag_store_close(st);
    ck_assert_int_eq(raw_int(path,
                             "SELECT generation FROM ag_families WHERE sid = 'gmax'"
                             " AND typeof(generation) = 'integer' AND cur_issued = 1700000000"),
                     INT64_MAX);
    ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_families WHERE generation = 0"
                                   " AND cur_issued = 1700000000 AND prev_hash IS NULL"),
                     2);
    remove_db(path);
}
END_TEST

/* SIGKILL at random points never leaves two live tokens, a half row,
 * or a store that cannot rotate on. */
START_TEST(crash_safety_sigkill)
{
    char path[128];
    path_new(path, sizeof path);
    uint8_t a[32];
    ck_assert_int_eq(ag_random(a, 32), AG_OK);
    ag_store *st = open_at(path);
    ck_assert_int_eq(put_one(st, "crash", a), AG_OK);
    ag_store_close(st);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int64_t last_rows = 1;
    for (int round = 0; round < 6; round++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            crash_child(path);
        struct timespec nap = {0, (20000 + rand() % 180000) * 1000L};
        nanosleep(&nap, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status)); /* killed mid-loop, not an early failure exit */
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
        sqlite3_finalize(s);
        sqlite3_close(db);
        /* one row, whole: a 32-byte current and previous hash, and a
         * generation that only moves forward */
        ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_families"), 1);
        ck_assert_int_eq(raw_int(path, "SELECT count(*) FROM ag_families WHERE sid='crash'"
                                       " AND length(cur_hash) = 32 AND revoked_at IS NULL"
                                       " AND (generation = 0 OR length(prev_hash) = 32)"),
                         1);
        int64_t rows = raw_int(path, "SELECT generation + 1 FROM ag_families");
        ck_assert_int_ge(rows, last_rows);
        last_rows = rows;
    }
    printf("crash safety: %lld rotations committed across 6 SIGKILLs\n",
           (long long)(last_rows - 1));
    /* rotation continues after the last crash */
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    uint8_t cur[32], nx[32];
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT cur_hash FROM ag_families", -1, &s, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    memcpy(cur, sqlite3_column_blob(s, 0), 32);
    sqlite3_finalize(s);
    sqlite3_close(db);
    ck_assert_int_eq(ag_random(nx, 32), AG_OK);
    st = open_at(path);
    ck_assert_int_eq(rotate_one(st, "crash", cur, nx, T0 + 999999), AG_OK);
    ag_store_close(st);
    remove_db(path);
}
END_TEST

int main(void)
{
    if (mkdtemp(tmpdir) == NULL)
        return EXIT_FAILURE;
    Suite *s = suite_create("store_sqlite");
    suite_add_tcase(s, ag_conformance_tcase(&sqlite_backend));
    TCase *tc = tcase_create("sqlite-specific");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, chain_one_head_no_gaps);
    tcase_add_test(tc, fresh_file_gets_schema_and_wal);
    tcase_add_test(tc, reopen_keeps_state);
    tcase_add_test(tc, migrates_from_first_version);
    tcase_add_test(tc, migrates_release_0_1_fixture);
    tcase_add_test(tc, precondition_checked_by_inspection);
    tcase_add_test(tc, unknown_version_refused_untouched);
    tcase_add_test(tc, foreign_database_refused_untouched);
    tcase_add_test(tc, corrupt_file_refused_untouched);
    tcase_add_test(tc, rotation_refuses_overflow_and_corrupt_rows);
    tcase_add_test(tc, crash_safety_sigkill);
    suite_add_tcase(s, tc);
    int rc = ag_test_run(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        rc = EXIT_FAILURE;
    return rc;
}

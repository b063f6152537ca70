/* SPDX-License-Identifier: MIT */
/*
 * The store rows of the rotate_* cases:
 *   authgate-store  ag_store_rotate alone (the wrapper's checks, the
 *                   backend's read, ag_store_decide, the write)
 *   authgate-store-metrics-off  the same with process-wide metrics off
 *   memory-floor    the bare compare-and-set of one 32-byte hash in a
 *                   striped hash table under its lock
 *   sqlite-floor    one UPDATE … WHERE hash = ? in its own BEGIN IMMEDIATE
 *                   transaction, on a file with the store's settings (WAL,
 *                   synchronous=NORMAL)
 *   sqlite-floor-row  the store's own write alone: one UPDATE of the
 *                   family row by sid (the columns a rotation sets, compare
 *                   on cur_hash) in its own BEGIN IMMEDIATE transaction, on
 *                   the store's file and schema, through a second
 *                   connection: what a rotation costs in this schema
 *                   without authgate's checks, read and decision
 * Each thread owns one session (one row); successors come from a counter,
 * in the authgate row as in the floors, so neither pays for randomness.
 */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authgate/store.h"

#ifdef AG_BENCH_HAVE_SQLITE
#include <sqlite3.h>
#endif

#define NSTRIPES 64
#define NKEYS 1024

static atomic_uint next_key;

static void counter_hash(uint8_t h[32], uint64_t n, unsigned key)
{
    memset(h, 0, 32);
    memcpy(h, &n, sizeof n);
    memcpy(h + 8, &key, sizeof key);
    h[31] = 0x5a;
}

/* A sid as long as a real one (43 characters), distinct per key. */
static void sid_of(char sid[44], unsigned key)
{
    snprintf(sid, 44, "bench-%010u-0123456789abcdefghijklmnop", key);
}

/* ---- authgate-store ---------------------------------------------------- */

typedef struct st_row {
    ag_store *store;
    unsigned key;
    uint64_t gen;
    char sid[44];
    ag_store_rotation rot;
} st_row;

static ag_store *g_store[2]; /* memory, sqlite */
static char g_sqlite_path[2][64];

static void *store_init(ag_store *st)
{
    st_row *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->store = st;
    s->key = atomic_fetch_add(&next_key, 1);
    sid_of(s->sid, s->key);
    ag_store_family f;
    memset(&f, 0, sizeof f);
    f.sid_len = strlen(s->sid);
    memcpy(f.sid, s->sid, f.sid_len);
    f.subject_len = 5;
    memcpy(f.subject, "bench", 5);
    f.created = 1;
    f.expires = INT64_C(1) << 40;
    f.current_issued = 1;
    f.current_expires = INT64_C(1) << 39;
    counter_hash(f.current, 0, s->key);
    if (ag_store_create(st, &f, 1) != AG_OK) {
        free(s);
        return NULL;
    }
    s->rot.action = AG_STORE_REFRESH;
    s->rot.sid = s->sid;
    s->rot.sid_len = f.sid_len;
    s->rot.subject = "bench";
    s->rot.subject_len = 5;
    s->rot.now = 2;
    s->rot.new_expires = INT64_C(1) << 38;
    return s;
}

static void *store_mem_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    return store_init(g_store[0]);
}

static void *store_sql_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    return store_init(g_store[1]);
}

/* The same rows with process-wide metrics off: what the counters, the
 * histogram and their two clock reads cost a store call. */
static void *store_mem_init_moff(bench_fx *fx, const char *t, size_t n)
{
    return bench_metrics_off_init(store_mem_init(fx, t, n));
}

static void *store_sql_init_moff(bench_fx *fx, const char *t, size_t n)
{
    return bench_metrics_off_init(store_sql_init(fx, t, n));
}

static void store_fini_moff(void *p)
{
    free(p);
    if (p != NULL)
        bench_metrics_off_fini();
}

static int store_benchop(void *p)
{
    st_row *s = p;
    ag_store_rotated out;
    counter_hash(s->rot.old_hash, s->gen, s->key);
    counter_hash(s->rot.new_hash, s->gen + 1, s->key);
    if (ag_store_rotate(s->store, &s->rot, &out) != AG_OK)
        return -1;
    s->gen++;
    return 1;
}

/* ---- memory-floor ---------------------------------------------------- */

typedef struct floor_slot {
    char sid[44];
    uint8_t cur[32];
} floor_slot;

/* The floor's table lookup: a multiplicative hash of the sid, then linear
 * probing with a sid compare, as any hash table would. */
static size_t floor_index(const char *sid)
{
    uint64_t h = 0;
    for (size_t i = 0; i < 40; i += 8) {
        uint64_t w;
        memcpy(&w, sid + i, 8);
        h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
    }
    return (size_t)(h >> 40) % NKEYS;
}

static floor_slot g_slots[NKEYS];
static pthread_mutex_t g_locks[NSTRIPES];

typedef struct fl_row {
    unsigned key;
    uint64_t gen;
    char sid[44];
} fl_row;

static void *mem_floor_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    fl_row *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->key = atomic_fetch_add(&next_key, 1);
    sid_of(s->sid, s->key);
    size_t i = floor_index(s->sid);
    pthread_mutex_lock(&g_locks[i % NSTRIPES]);
    while (g_slots[i].sid[0] != '\0')
        i = (i + 1) % NKEYS;
    memcpy(g_slots[i].sid, s->sid, 44);
    counter_hash(g_slots[i].cur, 0, s->key);
    pthread_mutex_unlock(&g_locks[floor_index(s->sid) % NSTRIPES]);
    return s;
}

static int mem_floor_benchop(void *p)
{
    fl_row *s = p;
    uint8_t old[32], nw[32];
    counter_hash(old, s->gen, s->key);
    counter_hash(nw, s->gen + 1, s->key);
    size_t i = floor_index(s->sid);
    pthread_mutex_t *l = &g_locks[i % NSTRIPES];
    pthread_mutex_lock(l);
    while (memcmp(g_slots[i].sid, s->sid, 44) != 0)
        i = (i + 1) % NKEYS;
    int ok = memcmp(g_slots[i].cur, old, 32) == 0;
    if (ok)
        memcpy(g_slots[i].cur, nw, 32);
    pthread_mutex_unlock(l);
    if (!ok)
        return -1;
    s->gen++;
    return 1;
}

/* ---- sqlite-floor ---------------------------------------------------- */

#ifdef AG_BENCH_HAVE_SQLITE
static sqlite3 *g_db;
static pthread_mutex_t g_db_mu = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_stmt *g_begin, *g_update, *g_commit;

static int sqlite_floor_open(void)
{
    snprintf(g_sqlite_path[1], sizeof g_sqlite_path[1], "/tmp/authgate-bench-floor-%ld.db",
             (long)getpid());
    (void)unlink(g_sqlite_path[1]);
    if (sqlite3_open(g_sqlite_path[1], &g_db) != SQLITE_OK ||
        sqlite3_exec(g_db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE t (k INTEGER PRIMARY KEY, h BLOB NOT NULL);",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(g_db, "BEGIN IMMEDIATE", -1, &g_begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(g_db, "UPDATE t SET h = ?3 WHERE k = ?1 AND h = ?2", -1, &g_update,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(g_db, "COMMIT", -1, &g_commit, NULL) != SQLITE_OK)
        return -1;
    return 0;
}

static void *sql_floor_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    fl_row *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->key = atomic_fetch_add(&next_key, 1);
    uint8_t h[32];
    counter_hash(h, 0, s->key);
    sqlite3_stmt *ins = NULL;
    pthread_mutex_lock(&g_db_mu);
    int rc = sqlite3_prepare_v2(g_db, "INSERT INTO t (k, h) VALUES (?1, ?2)", -1, &ins, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(ins, 1, s->key);
        sqlite3_bind_blob(ins, 2, h, 32, SQLITE_TRANSIENT);
        rc = sqlite3_step(ins);
    }
    sqlite3_finalize(ins);
    pthread_mutex_unlock(&g_db_mu);
    if (rc != SQLITE_DONE) {
        free(s);
        return NULL;
    }
    return s;
}

static int step_reset(sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc;
}

static int sql_floor_benchop(void *p)
{
    fl_row *s = p;
    uint8_t old[32], nw[32];
    counter_hash(old, s->gen, s->key);
    counter_hash(nw, s->gen + 1, s->key);
    pthread_mutex_lock(&g_db_mu); /* one connection, serialised, as the store */
    int ok = step_reset(g_begin) == SQLITE_DONE;
    if (ok) {
        sqlite3_bind_int64(g_update, 1, s->key);
        sqlite3_bind_blob(g_update, 2, old, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(g_update, 3, nw, 32, SQLITE_TRANSIENT);
        ok = step_reset(g_update) == SQLITE_DONE && sqlite3_changes(g_db) == 1;
        ok = step_reset(g_commit) == SQLITE_DONE && ok;
    }
    pthread_mutex_unlock(&g_db_mu);
    if (!ok)
        return -1;
    s->gen++;
    return 1;
}

/* ---- sqlite-floor-row ------------------------------------------------- */

static sqlite3 *g_rowdb;
static sqlite3_stmt *g_rbegin, *g_rupdate, *g_rcommit;

static int sqlite_row_floor_open(const char *path)
{
    if (sqlite3_open(path, &g_rowdb) != SQLITE_OK ||
        sqlite3_exec(g_rowdb, "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(g_rowdb, "BEGIN IMMEDIATE", -1, &g_rbegin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(g_rowdb,
                           "UPDATE ag_families SET prev_hash = cur_hash, cur_hash = ?3,"
                           " generation = generation + 1, cur_issued = ?4, cur_expires = ?5,"
                           " replays = 0 WHERE sid = ?1 AND cur_hash = ?2",
                           -1, &g_rupdate, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(g_rowdb, "COMMIT", -1, &g_rcommit, NULL) != SQLITE_OK)
        return -1;
    return 0;
}

static int sql_row_floor_benchop(void *p)
{
    st_row *s = p; /* made by store_sql_init: a family of the store's own */
    uint8_t old[32], nw[32];
    counter_hash(old, s->gen, s->key);
    counter_hash(nw, s->gen + 1, s->key);
    pthread_mutex_lock(&g_db_mu);
    int ok = step_reset(g_rbegin) == SQLITE_DONE;
    if (ok) {
        sqlite3_bind_text(g_rupdate, 1, s->sid, (int)s->rot.sid_len, SQLITE_STATIC);
        sqlite3_bind_blob(g_rupdate, 2, old, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(g_rupdate, 3, nw, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(g_rupdate, 4, s->rot.now);
        sqlite3_bind_int64(g_rupdate, 5, s->rot.new_expires);
        ok = step_reset(g_rupdate) == SQLITE_DONE && sqlite3_changes(g_rowdb) == 1;
        ok = step_reset(g_rcommit) == SQLITE_DONE && ok;
    }
    pthread_mutex_unlock(&g_db_mu);
    if (!ok)
        return -1;
    s->gen++;
    return 1;
}
#endif

void bench_store_rows(bench_rows *r, bench_fx *fx)
{
    if (strcmp(fx->lname, "hs256") != 0)
        return;
    bench_row row = {.kind = KIND_ROTATE, .fx = fx, .timed = true, .fini = free};
    ag_store_memory_config mc = {.size = sizeof(ag_store_memory_config), .capacity = 4 * NKEYS};
    if (ag_store_memory_new(&mc, &g_store[0]) == AG_OK) {
        row.case_name = "rotate_memory";
        row.impl = "authgate-store";
        row.init = store_mem_init;
        row.op = store_benchop;
        bench_rows_add(r, &row);
        bench_row off = row;
        off.impl = "authgate-store-metrics-off";
        off.init = store_mem_init_moff;
        off.fini = store_fini_moff;
        bench_rows_add(r, &off);
    }
    for (int i = 0; i < NSTRIPES; i++)
        pthread_mutex_init(&g_locks[i], NULL);
    row.case_name = "rotate_memory";
    row.impl = "memory-floor";
    row.init = mem_floor_init;
    row.op = mem_floor_benchop;
    bench_rows_add(r, &row);
#ifdef AG_BENCH_HAVE_SQLITE
    snprintf(g_sqlite_path[0], sizeof g_sqlite_path[0], "/tmp/authgate-bench-store-%ld.db",
             (long)getpid());
    (void)unlink(g_sqlite_path[0]);
    ag_store_sqlite_config sc = {.size = sizeof(ag_store_sqlite_config), .path = g_sqlite_path[0]};
    if (ag_store_sqlite_open(&sc, &g_store[1]) == AG_OK) {
        row.case_name = "rotate_sqlite";
        row.impl = "authgate-store";
        row.init = store_sql_init;
        row.op = store_benchop;
        bench_rows_add(r, &row);
        bench_row off = row;
        off.impl = "authgate-store-metrics-off";
        off.init = store_sql_init_moff;
        off.fini = store_fini_moff;
        bench_rows_add(r, &off);
    }
    if (sqlite_floor_open() == 0) {
        row.case_name = "rotate_sqlite";
        row.impl = "sqlite-floor";
        row.init = sql_floor_init;
        row.op = sql_floor_benchop;
        bench_rows_add(r, &row);
    }
    if (g_store[1] != NULL && sqlite_row_floor_open(g_sqlite_path[0]) == 0) {
        row.case_name = "rotate_sqlite";
        row.impl = "sqlite-floor-row";
        row.init = store_sql_init;
        row.op = sql_row_floor_benchop;
        bench_rows_add(r, &row);
    }
#endif
}

static void unlink_db(const char *path)
{
    char p[80];
    if (path[0] == '\0')
        return;
    (void)unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    (void)unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    (void)unlink(p);
}

void bench_store_free(void)
{
    ag_store_close(g_store[0]);
    ag_store_close(g_store[1]);
#ifdef AG_BENCH_HAVE_SQLITE
    sqlite3_finalize(g_begin);
    sqlite3_finalize(g_update);
    sqlite3_finalize(g_commit);
    sqlite3_close(g_db);
    sqlite3_finalize(g_rbegin);
    sqlite3_finalize(g_rupdate);
    sqlite3_finalize(g_rcommit);
    sqlite3_close(g_rowdb);
#endif
    unlink_db(g_sqlite_path[0]);
    unlink_db(g_sqlite_path[1]);
}

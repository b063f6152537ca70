/* SPDX-License-Identifier: MIT */
/*
 * authgate — the SQLite store.
 *
 * One database file in WAL mode, one connection per store object
 * serialised by a mutex, prepared statements with bound parameters only
 * (the only SQL text not prepared once at open is the static migration
 * DDL). One row per session. A rotation is one short BEGIN IMMEDIATE
 * transaction — read the row, ag_store_decide(), write the row — so the
 * writer lock is taken before the read and the step is atomic across
 * threads and processes; busy_timeout makes a second writer wait instead
 * of failing.
 *
 * The schema, its migrations and the checks opening makes before it
 * writes anything are in store_sqlite_schema.c.
 *
 * @test tests/store/test_store_sqlite.c, tests/store/test_store_threads.c
 */
#include "store_sqlite_int.h"

#ifndef AG_HAVE_SQLITE

bool ag_store_sqlite_available(void)
{
    return false;
}

ag_err ag_store_sqlite_open(const ag_store_sqlite_config *cfg, ag_store **out)
{
    (void)cfg;
    if (out != NULL)
        *out = NULL;
    return AG_ERR_STATE;
}

#else

#include <pthread.h>
#include <string.h>

#include <sqlite3.h>

bool ag_store_sqlite_available(void)
{
    return true;
}

/* ---- statements ---------------------------------------------------------- */

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_FAM,   /* the row, by sid */
    Q_INS,   /* a new family */
    Q_WRITE, /* the row ag_store_decide asked for */
    Q_REVOKE_FAM,
    Q_REVOKE_SUBJ,
    Q_EVICT_SEL,
    Q_LIST_SUBJ,
    Q_PURGE,
    Q_COUNT_FAM,
    Q_LOG_ADD,
    Q_LOG_READ,
    Q_LOG_PURGE,
    Q_N
};

#define ROW_COLS                                                                                   \
    "sid, subject, created, expires, revoked_at, revoke_reason, generation, cur_hash,"             \
    " cur_issued, cur_expires, prev_hash, replays"
/* What a revocation leaves: a tombstone without hashes (ag__store_revoke_row). */
#define TOMBSTONE                                                                                  \
    "revoked_at = ?2, revoke_reason = ?3, cur_hash = NULL, prev_hash = NULL, replays = 0"

static const char *const sql_text[Q_N] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_FAM] = "SELECT " ROW_COLS " FROM ag_families WHERE sid = ?1",
    [Q_INS] = "INSERT OR IGNORE INTO ag_families (sid, subject, created, expires, generation,"
              " cur_hash, cur_issued, cur_expires, replays)"
              " VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, 0)",
    [Q_WRITE] = "UPDATE ag_families SET revoked_at = ?2, revoke_reason = ?3, generation = ?4,"
                " cur_hash = ?5, cur_issued = ?6, cur_expires = ?7, prev_hash = ?8,"
                " replays = ?9 WHERE sid = ?1",
    [Q_REVOKE_FAM] = "UPDATE ag_families SET " TOMBSTONE " WHERE sid = ?1 AND revoked_at IS NULL",
    [Q_REVOKE_SUBJ] =
        "UPDATE ag_families SET " TOMBSTONE " WHERE subject = ?1 AND revoked_at IS NULL"
        " AND expires > ?2 AND cur_expires > ?2 RETURNING sid",
    /* the login just made (?4) first, then newest first; past `keep` go */
    [Q_EVICT_SEL] = "SELECT sid FROM ag_families WHERE subject = ?1 AND revoked_at IS NULL"
                    " AND expires > ?2 AND cur_expires > ?2"
                    " ORDER BY sid = ?4 DESC, created DESC, sid DESC LIMIT -1 OFFSET ?3",
    /* the live families of a subject, oldest first (list_subject) */
    [Q_LIST_SUBJ] = "SELECT " ROW_COLS " FROM ag_families WHERE subject = ?1"
                    " AND revoked_at IS NULL AND expires > ?2 AND cur_expires > ?2"
                    " ORDER BY created, sid",
    [Q_PURGE] = "DELETE FROM ag_families WHERE min(expires, cur_expires) <= ?1",
    [Q_COUNT_FAM] = "SELECT count(*) FROM ag_families",
    [Q_LOG_ADD] = "INSERT INTO ag_revocations (kind, key, at) VALUES (?1, ?2, ?3)",
    [Q_LOG_READ] = "SELECT id, kind, key, at FROM ag_revocations WHERE id > ?1"
                   " ORDER BY id LIMIT ?2",
    [Q_LOG_PURGE] = "DELETE FROM ag_revocations WHERE at < ?1",
};

typedef struct lite {
    ag_store base; /* first */
    const ag_allocator *alloc;
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *q[Q_N];
} lite;

/* ---- helpers ------------------------------------------------------------- */

static sqlite3_stmt *prep(lite *l, int which)
{
    sqlite3_stmt *s = l->q[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static bool bind_text(sqlite3_stmt *s, int i, const char *p, size_t n)
{
    return sqlite3_bind_text(s, i, p, (int)n, SQLITE_TRANSIENT) == SQLITE_OK;
}

/* A hash, or NULL when absent. */
static bool bind_hash(sqlite3_stmt *s, int i, const uint8_t *p, bool present)
{
    if (!present)
        return sqlite3_bind_null(s, i) == SQLITE_OK;
    return sqlite3_bind_blob(s, i, p, AG_STORE_HASH_LEN, SQLITE_TRANSIENT) == SQLITE_OK;
}

static bool bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(s, i, (sqlite3_int64)v) == SQLITE_OK;
}

/* Runs a statement that returns no rows. */
static bool run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE;
}

static bool begin(lite *l)
{
    return run(prep(l, Q_BEGIN));
}

static bool commit(lite *l)
{
    if (run(prep(l, Q_COMMIT)))
        return true;
    if (!sqlite3_get_autocommit(l->db))
        (void)run(prep(l, Q_ROLLBACK));
    return false;
}

static void rollback(lite *l)
{
    if (!sqlite3_get_autocommit(l->db))
        (void)run(prep(l, Q_ROLLBACK));
}

/* Copies a TEXT column into a fixed field; false when it does not fit. */
static bool col_text(sqlite3_stmt *s, int i, char *dst, size_t *dst_len, size_t max)
{
    const unsigned char *p = sqlite3_column_text(s, i);
    int n = sqlite3_column_bytes(s, i);
    if (p == NULL || n <= 0 || (size_t)n > max)
        return false;
    ag__store_str_set(dst, dst_len, (const char *)p, (size_t)n);
    return true;
}

static int64_t col_i64(sqlite3_stmt *s, int i)
{
    return (int64_t)sqlite3_column_int64(s, i);
}

/* A hash column: NULL → *present false; any other length is corruption. */
static bool col_hash(sqlite3_stmt *s, int i, uint8_t *dst, bool *present)
{
    *present = sqlite3_column_type(s, i) != SQLITE_NULL;
    if (!*present)
        return true;
    if (sqlite3_column_bytes(s, i) != AG_STORE_HASH_LEN)
        return false;
    memcpy(dst, sqlite3_column_blob(s, i), AG_STORE_HASH_LEN);
    return true;
}

/* Reads ROW_COLS. Anything out of range is corruption: AG_ERR_STORE. */
static bool read_family(sqlite3_stmt *s, ag_store_family *f)
{
    bool cur = false;
    memset(f, 0, sizeof *f);
    if (!col_text(s, 0, f->sid, &f->sid_len, AG_SID_MAX_LEN) ||
        !col_text(s, 1, f->subject, &f->subject_len, AG_SUBJECT_MAX_LEN))
        return false;
    f->created = col_i64(s, 2);
    f->expires = col_i64(s, 3);
    f->revoked_at = col_i64(s, 4); /* NULL reads as 0 */
    int64_t r = col_i64(s, 5), gen = col_i64(s, 6), replays = col_i64(s, 11);
    if (r < AG_REVOKE_NONE || r > AG_REVOKE_EVICTED || gen < 0 || replays < 0 ||
        replays > UINT32_MAX)
        return false;
    f->reason = (ag_revoke_reason)r;
    f->generation = (uint64_t)gen;
    f->current_issued = col_i64(s, 8);
    f->current_expires = col_i64(s, 9);
    f->replays = (uint32_t)replays;
    return col_hash(s, 7, f->current, &cur) && col_hash(s, 10, f->previous, &f->has_previous);
}

static ag_err find_family(lite *l, const char *sid, size_t n, ag_store_family *f)
{
    sqlite3_stmt *s = prep(l, Q_FAM);
    if (!bind_text(s, 1, sid, n))
        return AG_ERR_STORE;
    int rc = sqlite3_step(s);
    ag_err e = rc == SQLITE_DONE                       ? AG_ERR_NOT_FOUND
               : rc == SQLITE_ROW && read_family(s, f) ? AG_OK
                                                       : AG_ERR_STORE;
    sqlite3_reset(s);
    return e;
}

static bool write_family(lite *l, const ag_store_family *f)
{
    sqlite3_stmt *s = prep(l, Q_WRITE);
    bool live = f->revoked_at == 0;
    return f->generation <= INT64_MAX && bind_text(s, 1, f->sid, f->sid_len) &&
           (live ? sqlite3_bind_null(s, 2) == SQLITE_OK : bind_i64(s, 2, f->revoked_at)) &&
           bind_i64(s, 3, f->reason) && bind_i64(s, 4, (int64_t)f->generation) &&
           bind_hash(s, 5, f->current, live) && bind_i64(s, 6, f->current_issued) &&
           bind_i64(s, 7, f->current_expires) && bind_hash(s, 8, f->previous, f->has_previous) &&
           bind_i64(s, 9, f->replays) && run(s) && sqlite3_changes(l->db) == 1;
}

/* ---- operations ---------------------------------------------------------- */

static ag_err lite_create(ag_store *st, const ag_store_family *fam, int64_t reclaim_before)
{
    lite *l = (lite *)st;
    (void)reclaim_before; /* unbounded: nothing to reclaim first */
    pthread_mutex_lock(&l->mu);
    sqlite3_stmt *s = prep(l, Q_INS);
    ag_err e = AG_ERR_STORE;
    if (bind_text(s, 1, fam->sid, fam->sid_len) &&
        bind_text(s, 2, fam->subject, fam->subject_len) && bind_i64(s, 3, fam->created) &&
        bind_i64(s, 4, fam->expires) && bind_hash(s, 5, fam->current, true) &&
        bind_i64(s, 6, fam->current_issued) && bind_i64(s, 7, fam->current_expires) && run(s))
        e = sqlite3_changes(l->db) == 1 ? AG_OK : AG_ERR_EXISTS;
    pthread_mutex_unlock(&l->mu);
    return e;
}

/* One short write transaction: read, decide, write. */
static ag_err lite_rotate(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out)
{
    lite *l = (lite *)st;
    ag_store_family f, next;
    bool write = false;
    ag_err e = AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    if (!begin(l))
        goto out;
    ag_err fe = find_family(l, rot->sid, rot->sid_len, &f);
    if (fe == AG_ERR_STORE)
        goto out;
    e = ag_store_decide(fe == AG_OK ? &f : NULL, rot, &next, &write, out);
    if (write && (!write_family(l, &next) || !commit(l)))
        e = AG_ERR_STORE;
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    ag_cleanse(&f, sizeof f);
    ag_cleanse(&next, sizeof next);
    return e;
}

static ag_err lite_lookup_family(ag_store *st, const char *sid, size_t sid_len,
                                 ag_store_family *fam)
{
    lite *l = (lite *)st;
    pthread_mutex_lock(&l->mu);
    ag_err e = find_family(l, sid, sid_len, fam);
    pthread_mutex_unlock(&l->mu);
    return e;
}

static ag_err lite_revoke_family(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                                 ag_revoke_reason reason)
{
    lite *l = (lite *)st;
    ag_store_family f;
    ag_err e = AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    if (!begin(l))
        goto out;
    e = find_family(l, sid, sid_len, &f);
    if (e != AG_OK)
        goto out;
    sqlite3_stmt *s = prep(l, Q_REVOKE_FAM);
    e = AG_ERR_STORE;
    if (bind_text(s, 1, sid, sid_len) && bind_i64(s, 2, now) && bind_i64(s, 3, reason) && run(s) &&
        commit(l))
        e = AG_OK;
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    return e;
}

typedef struct sid_buf {
    size_t len;
    char sid[AG_SID_MAX_LEN + 1];
} sid_buf;

/* Appends column 0 of the current row (a sid) to a growing heap array. */
static ag_err sid_push(lite *l, sqlite3_stmt *s, sid_buf **v, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 4;
        sid_buf *w = ag__realloc(l->alloc, *v, ncap * sizeof *w);
        if (w == NULL)
            return AG_ERR_NOMEM;
        *v = w;
        *cap = ncap;
    }
    if (!col_text(s, 0, (*v)[*n].sid, &(*v)[*n].len, AG_SID_MAX_LEN))
        return AG_ERR_STORE;
    (*n)++;
    return AG_OK;
}

/* Reads the sids past `keep` into a heap array (*n of them). */
static ag_err evict_select(lite *l, const char *subject, size_t subject_len, size_t keep,
                           const char *keep_sid, size_t keep_sid_len, int64_t now, sid_buf **out,
                           size_t *n)
{
    sqlite3_stmt *s = prep(l, Q_EVICT_SEL);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (keep > INT64_MAX || !bind_text(s, 1, subject, subject_len) || !bind_i64(s, 2, now) ||
        !bind_i64(s, 3, (int64_t)keep) || !bind_text(s, 4, keep_sid, keep_sid_len))
        return AG_ERR_STORE;
    int rc;
    ag_err e = AG_OK;
    while (e == AG_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
        e = sid_push(l, s, out, n, &cap);
    if (e == AG_OK && rc != SQLITE_DONE)
        e = AG_ERR_STORE;
    sqlite3_reset(s);
    return e;
}

static ag_err lite_revoke_subject(ag_store *st, const char *subject, size_t subject_len,
                                  int64_t now, ag_revoke_reason reason, ag_store_sid_fn fn,
                                  void *ctx, size_t *count)
{
    lite *l = (lite *)st;
    ag_err e = AG_ERR_STORE;
    sid_buf *sids = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&l->mu);
    if (!begin(l))
        goto out;
    sqlite3_stmt *s = prep(l, Q_REVOKE_SUBJ);
    if (!bind_text(s, 1, subject, subject_len) || !bind_i64(s, 2, now) || !bind_i64(s, 3, reason))
        goto out;
    int rc;
    e = AG_OK;
    while (e == AG_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
        e = sid_push(l, s, &sids, &n, &cap);
    if (e == AG_OK && rc != SQLITE_DONE)
        e = AG_ERR_STORE;
    sqlite3_reset(s);
    if (e == AG_OK && !commit(l))
        e = AG_ERR_STORE;
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    if (e == AG_OK) {
        for (size_t i = 0; fn != NULL && i < n; i++)
            fn(ctx, sids[i].sid, sids[i].len);
        *count = n;
    }
    ag__free(l->alloc, sids);
    return e;
}

static ag_err lite_evict(ag_store *st, const char *subject, size_t subject_len, size_t keep,
                         const char *keep_sid, size_t keep_sid_len, int64_t now, ag_store_sid_fn fn,
                         void *ctx, size_t *count)
{
    lite *l = (lite *)st;
    sid_buf *sids = NULL;
    size_t n = 0;
    ag_err e = AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    if (!begin(l))
        goto out;
    e = evict_select(l, subject, subject_len, keep, keep_sid, keep_sid_len, now, &sids, &n);
    for (size_t i = 0; e == AG_OK && i < n; i++) {
        sqlite3_stmt *s = prep(l, Q_REVOKE_FAM);
        if (!bind_text(s, 1, sids[i].sid, sids[i].len) || !bind_i64(s, 2, now) ||
            !bind_i64(s, 3, AG_REVOKE_EVICTED) || !run(s))
            e = AG_ERR_STORE;
    }
    if (e == AG_OK && n > 0 && !commit(l))
        e = AG_ERR_STORE;
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    if (e == AG_OK) {
        for (size_t i = 0; fn != NULL && i < n; i++)
            fn(ctx, sids[i].sid, sids[i].len);
        *count = n;
    }
    ag__free(l->alloc, sids);
    return e;
}

static ag_err lite_list_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                                ag_store_family *out, size_t cap, size_t *n, size_t *total)
{
    lite *l = (lite *)st;
    ag_store_family f;
    size_t got = 0, live = 0;
    int rc = SQLITE_ERROR;
    pthread_mutex_lock(&l->mu);
    sqlite3_stmt *s = prep(l, Q_LIST_SUBJ);
    if (bind_text(s, 1, subject, subject_len) && bind_i64(s, 2, now)) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (!read_family(s, &f)) {
                rc = SQLITE_CORRUPT;
                break;
            }
            live++;
            if (got < cap)
                out[got++] = f;
        }
    }
    sqlite3_reset(s);
    pthread_mutex_unlock(&l->mu);
    ag_cleanse(&f, sizeof f);
    *n = got;
    *total = live;
    return rc == SQLITE_DONE ? AG_OK : AG_ERR_STORE;
}

static ag_err lite_purge(ag_store *st, int64_t now, size_t *removed)
{
    lite *l = (lite *)st;
    ag_err e = AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    sqlite3_stmt *s = prep(l, Q_PURGE);
    if (bind_i64(s, 1, now) && run(s)) {
        *removed = (size_t)sqlite3_changes(l->db);
        e = AG_OK;
    }
    pthread_mutex_unlock(&l->mu);
    return e;
}

static ag_err lite_stats(ag_store *st, ag_store_stats *out)
{
    lite *l = (lite *)st;
    pthread_mutex_lock(&l->mu);
    sqlite3_stmt *s = prep(l, Q_COUNT_FAM);
    bool ok = sqlite3_step(s) == SQLITE_ROW;
    if (ok)
        out->families = (size_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    pthread_mutex_unlock(&l->mu);
    return ok ? AG_OK : AG_ERR_STORE;
}

/* ---- the revocation log ---------------------------------------------------- */

static ag_err lite_log_append(ag_store *st, const ag_store_revocation *r)
{
    lite *l = (lite *)st;
    pthread_mutex_lock(&l->mu);
    sqlite3_stmt *s = prep(l, Q_LOG_ADD);
    bool ok = bind_i64(s, 1, r->kind) && bind_text(s, 2, r->key, r->key_len) &&
              bind_i64(s, 3, r->at) && run(s);
    pthread_mutex_unlock(&l->mu);
    return ok ? AG_OK : AG_ERR_STORE;
}

static ag_err lite_log_read(ag_store *st, uint64_t after, ag_store_revocation *out, size_t cap,
                            size_t *n)
{
    lite *l = (lite *)st;
    ag_err e = AG_OK;
    size_t got = 0;
    if (after > INT64_MAX || cap > INT32_MAX)
        return AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    sqlite3_stmt *s = prep(l, Q_LOG_READ);
    if (!bind_i64(s, 1, (int64_t)after) || !bind_i64(s, 2, (int64_t)cap))
        e = AG_ERR_STORE;
    int rc = SQLITE_DONE;
    while (e == AG_OK && got < cap && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        ag_store_revocation *r = &out[got];
        memset(r, 0, sizeof *r);
        int64_t id = col_i64(s, 0), kind = col_i64(s, 1);
        if (id <= 0 || (kind != AG_STORE_REV_SID && kind != AG_STORE_REV_SUBJECT) ||
            !col_text(s, 2, r->key, &r->key_len, AG_SUBJECT_MAX_LEN)) {
            e = AG_ERR_STORE;
            break;
        }
        r->id = (uint64_t)id;
        r->kind = (ag_store_rev_kind)kind;
        r->at = col_i64(s, 3);
        got++;
    }
    if (e == AG_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        e = AG_ERR_STORE;
    sqlite3_reset(s);
    pthread_mutex_unlock(&l->mu);
    *n = e == AG_OK ? got : 0;
    return e;
}

static ag_err lite_log_purge(ag_store *st, int64_t before, size_t *removed)
{
    lite *l = (lite *)st;
    ag_err e = AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    sqlite3_stmt *s = prep(l, Q_LOG_PURGE);
    if (bind_i64(s, 1, before) && run(s)) {
        *removed = (size_t)sqlite3_changes(l->db);
        e = AG_OK;
    }
    pthread_mutex_unlock(&l->mu);
    return e;
}

static void lite_close(ag_store *st)
{
    lite *l = (lite *)st;
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(l->q[i]);
    sqlite3_close(l->db);
    pthread_mutex_destroy(&l->mu);
    ag__free(l->alloc, l);
}

ag_err ag_store_sqlite_open(const ag_store_sqlite_config *cfg, ag_store **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ag_store_sqlite_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    if (cfg == NULL || cfg->path == NULL || cfg->path[0] == '\0' || cfg->busy_timeout_ms < 0)
        return AG_ERR_INVALID_ARGUMENT;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(cfg->path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return AG_ERR_STORE;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, cfg->busy_timeout_ms > 0 ? cfg->busy_timeout_ms : 5000);

    ag_err e = ag__sqlite_prepare_schema(db, cfg->synchronous_full);
    lite *l = NULL;
    if (e == AG_OK) {
        l = ag__calloc(cfg->alloc, sizeof *l);
        if (l == NULL)
            e = AG_ERR_NOMEM;
    }
    for (int i = 0; e == AG_OK && i < Q_N; i++)
        if (sqlite3_prepare_v3(db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &l->q[i], NULL) !=
            SQLITE_OK)
            e = AG_ERR_STORE;
    if (e != AG_OK) {
        if (l != NULL)
            for (int i = 0; i < Q_N; i++)
                sqlite3_finalize(l->q[i]);
        ag__free(cfg->alloc, l);
        sqlite3_close(db);
        return e;
    }
    l->alloc = cfg->alloc;
    l->db = db;
    pthread_mutex_init(&l->mu, NULL);
    l->base.version = AG_STORE_INTERFACE_VERSION;
    l->base.name = "sqlite";
    l->base.ctx = l;
    l->base.create = lite_create;
    l->base.rotate = lite_rotate;
    l->base.lookup_family = lite_lookup_family;
    l->base.revoke_family = lite_revoke_family;
    l->base.revoke_subject = lite_revoke_subject;
    l->base.evict = lite_evict;
    l->base.list_subject = lite_list_subject;
    l->base.log_append = lite_log_append;
    l->base.log_read = lite_log_read;
    l->base.log_purge = lite_log_purge;
    l->base.purge_expired = lite_purge;
    l->base.stats = lite_stats;
    l->base.close = lite_close;
    *out = &l->base;
    return AG_OK;
}

#endif /* AG_HAVE_SQLITE */

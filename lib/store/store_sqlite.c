/*
 * authgate — the SQLite store.
 *
 * One database file in WAL mode, one connection per store object
 * serialised by a mutex, prepared statements with bound parameters only
 * (the only SQL text not prepared once at open is the static migration
 * DDL). Every write is one BEGIN IMMEDIATE transaction, so the writer lock
 * is taken before the first read and a rotate's check-consume-insert is one
 * atomic step across threads and processes; busy_timeout makes a second
 * writer wait instead of failing.
 *
 * Opening never writes before it has inspected the file: a file that is
 * not a database, a database with foreign tables, or one stamped with a
 * migration this build does not know is refused and left untouched.
 *
 * @test tests/store/test_store_sqlite.c, tests/store/test_store_threads.c
 */
#include "store_int.h"

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

const ag__migration *ag__sqlite_migrations(size_t *count)
{
    *count = 0;
    return NULL;
}

#else

#include <pthread.h>
#include <string.h>

#include <sqlite3.h>

/* ---- the migration chain ------------------------------------------------ */

static const char *const m1_absent[] = {"ag_schema", "ag_families", "ag_tokens", NULL};
static const char *const m2_absent[] = {"ag_tokens_live", "ag_families_subject",
                                        "ag_tokens_expires", NULL};
static const char *const m2_columns[] = {"ag_tokens.sid",     "ag_tokens.used_at",
                                         "ag_tokens.expires", "ag_families.subject", NULL};

static const ag__migration migrations[] = {
    {"0001_initial", NULL,
     "CREATE TABLE ag_schema ("
     " seq INTEGER PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " applied_at INTEGER NOT NULL);"
     "CREATE TABLE ag_families ("
     " sid TEXT PRIMARY KEY NOT NULL,"
     " subject TEXT NOT NULL,"
     " created INTEGER NOT NULL,"
     " expires INTEGER NOT NULL,"
     " revoked_at INTEGER,"
     " revoke_reason INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
     "CREATE TABLE ag_tokens ("
     " jti_hash BLOB PRIMARY KEY NOT NULL CHECK (length(jti_hash) = 32),"
     " sid TEXT NOT NULL REFERENCES ag_families(sid),"
     " generation INTEGER NOT NULL,"
     " issued INTEGER NOT NULL,"
     " expires INTEGER NOT NULL,"
     " used_at INTEGER,"
     " successor BLOB CHECK (successor IS NULL OR length(successor) = 32),"
     " CHECK ((used_at IS NULL) = (successor IS NULL))) WITHOUT ROWID;",
     m1_absent, NULL},
    {"0002_indexes", "0001_initial",
     /* At most one unused row per family, enforced by the database itself:
      * a fork can never be committed, whatever the code above does. */
     "CREATE UNIQUE INDEX ag_tokens_live ON ag_tokens(sid) WHERE used_at IS NULL;"
     "CREATE INDEX ag_tokens_expires ON ag_tokens(expires);"
     "CREATE INDEX ag_families_subject ON ag_families(subject);",
     m2_absent, m2_columns},
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

const ag__migration *ag__sqlite_migrations(size_t *count)
{
    *count = NMIGRATIONS;
    return migrations;
}

bool ag_store_sqlite_available(void)
{
    return true;
}

/* ---- statements ---------------------------------------------------------- */

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_ROW,        /* token row + its family, by hash */
    Q_TOK_EXISTS,
    Q_FAM,        /* family by sid */
    Q_INS_FAM,
    Q_INS_TOK,
    Q_CONSUME,
    Q_REVOKE_FAM,
    Q_REVOKE_SUBJ,
    Q_PURGE_TOK,
    Q_PURGE_FAM,
    Q_COUNT_TOK,
    Q_COUNT_FAM,
    Q_N
};

static const char *const sql_text[Q_N] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_ROW] = "SELECT t.generation, t.issued, t.expires, t.used_at, t.successor,"
              " f.sid, f.subject, f.created, f.expires, f.revoked_at, f.revoke_reason"
              " FROM ag_tokens t JOIN ag_families f ON f.sid = t.sid WHERE t.jti_hash = ?1",
    [Q_TOK_EXISTS] = "SELECT 1 FROM ag_tokens WHERE jti_hash = ?1",
    [Q_FAM] = "SELECT sid, subject, created, expires, revoked_at, revoke_reason"
              " FROM ag_families WHERE sid = ?1",
    [Q_INS_FAM] = "INSERT INTO ag_families (sid, subject, created, expires) VALUES (?1, ?2, ?3, ?4)",
    [Q_INS_TOK] = "INSERT INTO ag_tokens (jti_hash, sid, generation, issued, expires)"
                  " VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_CONSUME] = "UPDATE ag_tokens SET used_at = ?2, successor = ?3"
                  " WHERE jti_hash = ?1 AND used_at IS NULL",
    [Q_REVOKE_FAM] = "UPDATE ag_families SET revoked_at = ?2, revoke_reason = ?3"
                     " WHERE sid = ?1 AND revoked_at IS NULL",
    [Q_REVOKE_SUBJ] = "UPDATE ag_families SET revoked_at = ?2, revoke_reason = ?3"
                      " WHERE subject = ?1 AND revoked_at IS NULL",
    [Q_PURGE_TOK] = "DELETE FROM ag_tokens WHERE expires <= ?1"
                    " OR sid IN (SELECT sid FROM ag_families WHERE expires <= ?1)",
    [Q_PURGE_FAM] = "DELETE FROM ag_families WHERE expires <= ?1"
                    " OR NOT EXISTS (SELECT 1 FROM ag_tokens t WHERE t.sid = ag_families.sid)",
    [Q_COUNT_TOK] = "SELECT count(*) FROM ag_tokens",
    [Q_COUNT_FAM] = "SELECT count(*) FROM ag_families",
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

static bool bind_blob(sqlite3_stmt *s, int i, const uint8_t *p, size_t n)
{
    return sqlite3_bind_blob(s, i, p, (int)n, SQLITE_TRANSIENT) == SQLITE_OK;
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

/* Reads the family columns starting at column c0 (sid, subject, created,
 * expires, revoked_at, revoke_reason). */
static bool read_family(sqlite3_stmt *s, int c0, ag_store_family *f)
{
    memset(f, 0, sizeof *f);
    if (!col_text(s, c0, f->sid, &f->sid_len, AG_SID_MAX_LEN) ||
        !col_text(s, c0 + 1, f->subject, &f->subject_len, AG_SUBJECT_MAX_LEN))
        return false;
    f->created = col_i64(s, c0 + 2);
    f->expires = col_i64(s, c0 + 3);
    f->revoked_at = col_i64(s, c0 + 4); /* NULL reads as 0 */
    int64_t r = col_i64(s, c0 + 5);
    if (r < AG_REVOKE_NONE || r > AG_REVOKE_ADMIN)
        return false;
    f->reason = (ag_revoke_reason)r;
    return true;
}

/* One row of Q_ROW into tok/fam. */
static bool read_row(sqlite3_stmt *s, const uint8_t *hash, ag_store_token *t,
                     ag_store_family *f)
{
    memset(t, 0, sizeof *t);
    if (!read_family(s, 5, f))
        return false;
    memcpy(t->hash, hash, AG_STORE_HASH_LEN);
    ag__store_str_set(t->sid, &t->sid_len, f->sid, f->sid_len);
    t->generation = (uint64_t)col_i64(s, 0);
    t->issued = col_i64(s, 1);
    t->expires = col_i64(s, 2);
    t->used_at = col_i64(s, 3);
    if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
        if (sqlite3_column_bytes(s, 4) != AG_STORE_HASH_LEN)
            return false;
        memcpy(t->successor, sqlite3_column_blob(s, 4), AG_STORE_HASH_LEN);
        t->has_successor = true;
    }
    t->revoked_at = f->revoked_at;
    t->reason = f->reason;
    return true;
}

/* Looks a row up. Returns AG_OK, AG_ERR_NOT_FOUND or AG_ERR_STORE. */
static ag_err find_row(lite *l, const uint8_t *hash, ag_store_token *t, ag_store_family *f)
{
    sqlite3_stmt *s = prep(l, Q_ROW);
    if (!bind_blob(s, 1, hash, AG_STORE_HASH_LEN))
        return AG_ERR_STORE;
    int rc = sqlite3_step(s);
    ag_err e = rc == SQLITE_DONE ? AG_ERR_NOT_FOUND
               : rc == SQLITE_ROW && read_row(s, hash, t, f) ? AG_OK
                                                              : AG_ERR_STORE;
    sqlite3_reset(s);
    return e;
}

static ag_err find_family(lite *l, const char *sid, size_t n, ag_store_family *f)
{
    sqlite3_stmt *s = prep(l, Q_FAM);
    if (!bind_text(s, 1, sid, n))
        return AG_ERR_STORE;
    int rc = sqlite3_step(s);
    ag_err e = rc == SQLITE_DONE                              ? AG_ERR_NOT_FOUND
               : rc == SQLITE_ROW && read_family(s, 0, f) ? AG_OK
                                                              : AG_ERR_STORE;
    sqlite3_reset(s);
    return e;
}

static ag_err tok_exists(lite *l, const uint8_t *hash, bool *yes)
{
    sqlite3_stmt *s = prep(l, Q_TOK_EXISTS);
    if (!bind_blob(s, 1, hash, AG_STORE_HASH_LEN))
        return AG_ERR_STORE;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return AG_ERR_STORE;
    *yes = rc == SQLITE_ROW;
    return AG_OK;
}

static bool insert_token(lite *l, const uint8_t *hash, const char *sid, size_t sid_len,
                         uint64_t gen, int64_t issued, int64_t expires)
{
    sqlite3_stmt *s = prep(l, Q_INS_TOK);
    return gen <= INT64_MAX && bind_blob(s, 1, hash, AG_STORE_HASH_LEN) &&
           bind_text(s, 2, sid, sid_len) && bind_i64(s, 3, (int64_t)gen) &&
           bind_i64(s, 4, issued) && bind_i64(s, 5, expires) && run(s);
}

/* ---- operations ---------------------------------------------------------- */

static ag_err lite_put(ag_store *st, const ag_store_family *fam, const ag_store_token *tok)
{
    lite *l = (lite *)st;
    ag_err e = AG_ERR_STORE;
    ag_store_family f;
    bool exists = false;
    pthread_mutex_lock(&l->mu);
    if (!begin(l))
        goto out;
    ag_err fe = find_family(l, fam->sid, fam->sid_len, &f);
    if (fe == AG_ERR_STORE || tok_exists(l, tok->hash, &exists) != AG_OK)
        goto out;
    if (fe == AG_OK || exists) {
        e = AG_ERR_EXISTS;
        goto out;
    }
    sqlite3_stmt *s = prep(l, Q_INS_FAM);
    if (!bind_text(s, 1, fam->sid, fam->sid_len) ||
        !bind_text(s, 2, fam->subject, fam->subject_len) || !bind_i64(s, 3, fam->created) ||
        !bind_i64(s, 4, fam->expires) || !run(s))
        goto out;
    if (!insert_token(l, tok->hash, fam->sid, fam->sid_len, tok->generation, tok->issued,
                      tok->expires))
        goto out;
    e = commit(l) ? AG_OK : AG_ERR_STORE;
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    return e;
}

static bool span_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

static ag_err lite_rotate(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out)
{
    lite *l = (lite *)st;
    ag_store_token t, succ;
    ag_store_family f, sf;
    ag_err e = AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    if (!begin(l))
        goto out;
    e = find_row(l, rot->old_hash, &t, &f);
    if (e == AG_ERR_NOT_FOUND || (e == AG_OK && (!span_eq(f.sid, f.sid_len, rot->sid, rot->sid_len) ||
                                                 !span_eq(f.subject, f.subject_len, rot->subject,
                                                          rot->subject_len)))) {
        e = AG_ERR_UNKNOWN;
        goto out;
    }
    if (e != AG_OK)
        goto out;
    if (f.revoked_at != 0) {
        e = AG_ERR_REVOKED;
        goto out;
    }
    if (t.used_at != 0) {
        if (rot->reuse_interval > 0 && t.used_at >= rot->now - rot->reuse_interval &&
            t.has_successor && ag__ct_eq(t.successor, rot->new_hash, AG_STORE_HASH_LEN)) {
            e = find_row(l, rot->new_hash, &succ, &sf);
            if (e == AG_ERR_STORE)
                goto out;
            if (e == AG_OK && succ.used_at == 0 && span_eq(sf.sid, sf.sid_len, f.sid, f.sid_len)) {
                out->outcome = AG_STORE_REPLAYED;
                out->generation = succ.generation;
                out->issued = succ.issued;
                out->expires = succ.expires;
                out->family_expires = f.expires;
                e = commit(l) ? AG_OK : AG_ERR_STORE;
                goto out;
            }
        }
        /* Reuse: revoke the family in this same transaction. */
        sqlite3_stmt *s = prep(l, Q_REVOKE_FAM);
        e = AG_ERR_STORE;
        if (!bind_text(s, 1, f.sid, f.sid_len) || !bind_i64(s, 2, rot->now) ||
            !bind_i64(s, 3, AG_REVOKE_REUSE) || !run(s))
            goto out;
        e = commit(l) ? AG_ERR_REUSED : AG_ERR_STORE;
        goto out;
    }
    if (t.expires <= rot->now || f.expires <= rot->now) {
        e = AG_ERR_EXPIRED;
        goto out;
    }
    bool exists = false;
    e = AG_ERR_STORE;
    if (tok_exists(l, rot->new_hash, &exists) != AG_OK)
        goto out;
    if (exists) {
        e = AG_ERR_EXISTS;
        goto out;
    }
    sqlite3_stmt *s = prep(l, Q_CONSUME);
    if (!bind_blob(s, 1, rot->old_hash, AG_STORE_HASH_LEN) || !bind_i64(s, 2, rot->now) ||
        !bind_blob(s, 3, rot->new_hash, AG_STORE_HASH_LEN) || !run(s) ||
        sqlite3_changes(l->db) != 1)
        goto out;
    int64_t exp = rot->new_expires < f.expires ? rot->new_expires : f.expires;
    if (!insert_token(l, rot->new_hash, f.sid, f.sid_len, t.generation + 1, rot->now, exp))
        goto out;
    if (!commit(l))
        goto out;
    out->outcome = AG_STORE_ROTATED;
    out->generation = t.generation + 1;
    out->issued = rot->now;
    out->expires = exp;
    out->family_expires = f.expires;
    e = AG_OK;
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    return e;
}

static ag_err lite_lookup(ag_store *st, const uint8_t hash[AG_STORE_HASH_LEN],
                          ag_store_token *tok, ag_store_family *fam)
{
    lite *l = (lite *)st;
    ag_store_token t;
    ag_store_family f;
    pthread_mutex_lock(&l->mu);
    ag_err e = find_row(l, hash, &t, &f); /* one statement: one snapshot */
    pthread_mutex_unlock(&l->mu);
    if (e == AG_OK) {
        if (tok != NULL)
            *tok = t;
        if (fam != NULL)
            *fam = f;
    }
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
    if (bind_text(s, 1, sid, sid_len) && bind_i64(s, 2, now) && bind_i64(s, 3, reason) &&
        run(s) && commit(l))
        e = AG_OK;
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    return e;
}

static ag_err lite_revoke_subject(ag_store *st, const char *subject, size_t subject_len,
                                  int64_t now, ag_revoke_reason reason, size_t *count)
{
    lite *l = (lite *)st;
    ag_err e = AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    if (!begin(l))
        goto out;
    sqlite3_stmt *s = prep(l, Q_REVOKE_SUBJ);
    if (!bind_text(s, 1, subject, subject_len) || !bind_i64(s, 2, now) ||
        !bind_i64(s, 3, reason) || !run(s))
        goto out;
    int n = sqlite3_changes(l->db);
    if (commit(l)) {
        *count = (size_t)n;
        e = AG_OK;
    }
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    return e;
}

static ag_err lite_purge(ag_store *st, int64_t now, size_t *removed)
{
    lite *l = (lite *)st;
    ag_err e = AG_ERR_STORE;
    pthread_mutex_lock(&l->mu);
    if (!begin(l))
        goto out;
    sqlite3_stmt *s = prep(l, Q_PURGE_TOK);
    if (!bind_i64(s, 1, now) || !run(s))
        goto out;
    int n = sqlite3_changes(l->db);
    s = prep(l, Q_PURGE_FAM);
    if (!bind_i64(s, 1, now) || !run(s))
        goto out;
    if (commit(l)) {
        *removed = (size_t)n;
        e = AG_OK;
    }
out:
    rollback(l);
    pthread_mutex_unlock(&l->mu);
    return e;
}

static bool count_of(lite *l, int which, size_t *n)
{
    sqlite3_stmt *s = prep(l, which);
    bool ok = sqlite3_step(s) == SQLITE_ROW;
    if (ok)
        *n = (size_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return ok;
}

static ag_err lite_stats(ag_store *st, ag_store_stats *out)
{
    lite *l = (lite *)st;
    pthread_mutex_lock(&l->mu);
    bool ok = count_of(l, Q_COUNT_TOK, &out->tokens) && count_of(l, Q_COUNT_FAM, &out->families);
    pthread_mutex_unlock(&l->mu);
    return ok ? AG_OK : AG_ERR_STORE;
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

/* ---- opening: inspection, then migrations ------------------------------- */

/* Runs a one-column query and reports whether it returned a row. Bound
 * text parameters ?1 and ?2 are optional (NULL: unbound). */
static ag_err probe(sqlite3 *db, const char *sql, const char *a, const char *b, bool *yes)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return AG_ERR_STORE;
    if ((a != NULL && sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC) != SQLITE_OK) ||
        (b != NULL && sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC) != SQLITE_OK)) {
        sqlite3_finalize(s);
        return AG_ERR_STORE;
    }
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return AG_ERR_STORE;
    *yes = rc == SQLITE_ROW;
    return AG_OK;
}

static ag_err object_exists(sqlite3 *db, const char *name, bool *yes)
{
    return probe(db, "SELECT 1 FROM sqlite_master WHERE name = ?1", name, NULL, yes);
}

/* "table.column" exists, by pragma_table_info. */
static ag_err column_exists(sqlite3 *db, const char *tc, bool *yes)
{
    char table[64];
    const char *dot = strchr(tc, '.');
    if (dot == NULL || (size_t)(dot - tc) >= sizeof table)
        return AG_ERR_STORE;
    memcpy(table, tc, (size_t)(dot - tc));
    table[dot - tc] = '\0';
    return probe(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", table, dot + 1, yes);
}

/*
 * Reads which migrations the file has applied. *applied is the length of
 * the chain prefix found. Returns AG_ERR_STORE for an unreadable or foreign
 * file, AG_ERR_STORE_VERSION for a stamp this build does not know.
 */
static ag_err inspect(sqlite3 *db, size_t *applied)
{
    bool has = false, any = false;
    ag_err e = probe(db, "SELECT 1 FROM sqlite_master", NULL, NULL, &any);
    if (e != AG_OK)
        return e; /* not a database, encrypted, corrupt header… */
    *applied = 0;
    if (!any)
        return AG_OK; /* empty: everything to apply */
    if ((e = object_exists(db, "ag_schema", &has)) != AG_OK)
        return e;
    if (!has)
        return AG_ERR_STORE; /* someone else's database */
    bool c1 = false, c2 = false;
    if ((e = column_exists(db, "ag_schema.seq", &c1)) != AG_OK ||
        (e = column_exists(db, "ag_schema.id", &c2)) != AG_OK)
        return e;
    if (!c1 || !c2)
        return AG_ERR_STORE;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id FROM ag_schema ORDER BY seq", -1, &s, NULL) !=
        SQLITE_OK)
        return AG_ERR_STORE;
    size_t n = 0;
    int rc;
    e = AG_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(s, 0);
        int len = sqlite3_column_bytes(s, 0);
        if (n >= NMIGRATIONS || id == NULL || (size_t)len != strlen(migrations[n].id) ||
            memcmp(id, migrations[n].id, (size_t)len) != 0) {
            e = AG_ERR_STORE_VERSION; /* newer, unknown or out of order */
            break;
        }
        n++;
    }
    if (e == AG_OK && rc != SQLITE_DONE)
        e = AG_ERR_STORE;
    sqlite3_finalize(s);
    if (e == AG_OK && n == 0)
        e = AG_ERR_STORE_VERSION; /* a version table with no stamp */
    *applied = n;
    return e;
}

static ag_err check_preconditions(sqlite3 *db, const ag__migration *m)
{
    bool yes = false;
    ag_err e;
    for (const char *const *a = m->absent; a != NULL && *a != NULL; a++) {
        if ((e = object_exists(db, *a, &yes)) != AG_OK)
            return e;
        if (yes)
            return AG_ERR_STORE;
    }
    for (const char *const *c = m->columns; c != NULL && *c != NULL; c++) {
        if ((e = column_exists(db, *c, &yes)) != AG_OK)
            return e;
        if (!yes)
            return AG_ERR_STORE;
    }
    return AG_OK;
}

static bool exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

static ag_err migrate(sqlite3 *db)
{
    if (!exec(db, "BEGIN IMMEDIATE"))
        return AG_ERR_STORE;
    size_t applied = 0;
    ag_err e = inspect(db, &applied); /* again, under the write lock */
    for (size_t i = applied; e == AG_OK && i < NMIGRATIONS; i++) {
        e = check_preconditions(db, &migrations[i]);
        if (e == AG_OK && !exec(db, migrations[i].ddl))
            e = AG_ERR_STORE;
        sqlite3_stmt *s = NULL;
        if (e == AG_OK &&
            (sqlite3_prepare_v2(db,
                                "INSERT INTO ag_schema (seq, id, applied_at)"
                                " VALUES (?1, ?2, strftime('%s','now'))",
                                -1, &s, NULL) != SQLITE_OK ||
             sqlite3_bind_int64(s, 1, (sqlite3_int64)(i + 1)) != SQLITE_OK ||
             sqlite3_bind_text(s, 2, migrations[i].id, -1, SQLITE_STATIC) != SQLITE_OK ||
             sqlite3_step(s) != SQLITE_DONE))
            e = AG_ERR_STORE;
        sqlite3_finalize(s);
    }
    if (e == AG_OK && exec(db, "COMMIT"))
        return AG_OK;
    if (!sqlite3_get_autocommit(db))
        (void)exec(db, "ROLLBACK");
    return e != AG_OK ? e : AG_ERR_STORE;
}

/* Reads the pragma's single text result and compares it. */
static bool pragma_is(sqlite3 *db, const char *sql, const char *want)
{
    sqlite3_stmt *s = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        ok = v != NULL && strcmp((const char *)v, want) == 0;
    }
    sqlite3_finalize(s);
    return ok;
}

ag_err ag_store_sqlite_open(const ag_store_sqlite_config *cfg, ag_store **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
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

    /* Look before touching: nothing below writes until inspect() passed. */
    size_t applied = 0;
    ag_err e = inspect(db, &applied);
    if (e == AG_OK && !pragma_is(db, "PRAGMA journal_mode=WAL", "wal"))
        e = AG_ERR_STORE;
    if (e == AG_OK &&
        (!exec(db, cfg->synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") ||
         !exec(db, "PRAGMA foreign_keys=ON")))
        e = AG_ERR_STORE;
    if (e == AG_OK && applied < NMIGRATIONS)
        e = migrate(db);
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
    l->base.put = lite_put;
    l->base.rotate = lite_rotate;
    l->base.lookup = lite_lookup;
    l->base.lookup_family = lite_lookup_family;
    l->base.revoke_family = lite_revoke_family;
    l->base.revoke_subject = lite_revoke_subject;
    l->base.purge_expired = lite_purge;
    l->base.stats = lite_stats;
    l->base.close = lite_close;
    *out = &l->base;
    return AG_OK;
}

#endif /* AG_HAVE_SQLITE */

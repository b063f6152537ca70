/*
 * authgate — the PostgreSQL store: one row per session (ag_families).
 *
 * Many service instances share one database. Each store object holds a
 * small pool of libpq connections; a call takes one connection for its
 * whole duration (libpq connections are never used by two threads at
 * once) and gives it back. Every statement is prepared once per
 * connection and executed with binary bound parameters; the only SQL text
 * not prepared is the static migration DDL and the static catalog probes.
 *
 * Rotation. The common case — the current token exchanged for its
 * successor — is ONE round trip: a compare-and-set UPDATE … RETURNING in
 * autocommit whose WHERE is exactly ag_store_decide()'s "rotate the
 * current token" case (the subject matches, the family is live and
 * unexpired, the presented hash is the current one). The row lock the
 * UPDATE takes, and READ COMMITTED's re-check of the WHERE on the newest
 * row version, make two racing rotations of one token have one winner.
 * Anything else (a replay, reuse, an expired or revoked family, an
 * unknown sid, logout) takes the slow path: a READ COMMITTED transaction
 * that locks the row (SELECT … FOR NO KEY UPDATE), calls ag_store_decide()
 * and writes the row it returns. The decision itself lives in store.c.
 *
 * Failure handling: a statement that fails on a broken connection
 * (PQstatus CONNECTION_BAD) marks the connection for a reset; the call is
 * retried once on the reset connection only when no COMMIT and no
 * self-committing write was in flight, because then the server has rolled
 * everything back. A call whose commit outcome is unknown — a COMMIT, or
 * the autocommit compare-and-set, whose answer was lost — fails with
 * AG_ERR_STORE. An idle pooled connection whose server has gone away is
 * noticed before use (the socket is readable) and reset first.
 *
 * Times are epoch seconds in bigint columns, like the SQLite store and
 * the API: no time zone, no conversion, the same integers in and out.
 * revoked_at is NULL while a family is live (0 in the API).
 *
 * @test tests/store/test_store_pg.c, tests/pg/test_pg.py
 */
#include "store_pg_int.h"

#ifndef AG_HAVE_POSTGRES

bool ag_store_pg_available(void)
{
    return false;
}

ag_err ag_store_pg_open(const ag_store_pg_config *cfg, ag_store **out)
{
    (void)cfg;
    if (out != NULL)
        *out = NULL;
    return AG_ERR_STATE;
}

#else

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

bool ag_store_pg_available(void)
{
    return true;
}

/* ---- statements ---------------------------------------------------------- */

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_FAM,      /* family by sid */
    Q_FAM_LOCK, /* family by sid, row locked until commit */
    Q_CREATE,
    Q_CAS,   /* the one-statement rotation */
    Q_WRITE, /* the slow path's write of ag_store_decide's row */
    Q_REVOKE_FAM,
    Q_REVOKE_SUBJ,
    Q_EVICT,
    Q_PURGE,
    Q_COUNT,
    Q_N
};

#define MAXP 9

typedef struct stmt {
    const char *name;
    const char *sql;
    int nparams;
    Oid types[MAXP];
} stmt;

#define FAM_COLS                                                                                   \
    "sid, subject, created, expires, revoked_at, revoke_reason, generation, cur_hash,"             \
    " cur_issued, cur_expires, prev_hash, replays"

/* What a revocation does to a row: the same as ag__store_revoke_row. */
#define TOMBSTONE "cur_hash = NULL, prev_hash = NULL, replays = 0"

static const stmt stmts[Q_N] = {
    [Q_BEGIN] = {"ag_begin", "BEGIN ISOLATION LEVEL READ COMMITTED", 0, {0}},
    [Q_COMMIT] = {"ag_commit", "COMMIT", 0, {0}},
    [Q_ROLLBACK] = {"ag_rollback", "ROLLBACK", 0, {0}},
    [Q_FAM] = {"ag_fam", "SELECT " FAM_COLS " FROM ag_families WHERE sid = $1", 1, {OID_TEXT}},
    [Q_FAM_LOCK] = {"ag_fam_lock",
                    "SELECT " FAM_COLS " FROM ag_families WHERE sid = $1 FOR NO KEY UPDATE",
                    1,
                    {OID_TEXT}},
    [Q_CREATE] = {"ag_create",
                  "INSERT INTO ag_families (sid, subject, created, expires, generation,"
                  " cur_hash, cur_issued, cur_expires, prev_hash, replays)"
                  " VALUES ($1, $2, $3, $4, 0, $5, $6, $7, NULL, 0)"
                  " ON CONFLICT (sid) DO NOTHING",
                  7,
                  {OID_TEXT, OID_TEXT, OID_INT8, OID_INT8, OID_BYTEA, OID_INT8, OID_INT8}},
    /* ag_store_decide's case 3, refresh, and nothing else: same subject,
     * not revoked, neither the family nor the current token expired, the
     * presented hash is the current one. */
    [Q_CAS] = {"ag_cas",
               "UPDATE ag_families SET prev_hash = cur_hash, cur_hash = $4,"
               " generation = generation + 1, cur_issued = $5,"
               " cur_expires = LEAST($6, expires), replays = 0"
               " WHERE sid = $1 AND subject = $2 AND cur_hash = $3 AND revoked_at IS NULL"
               " AND expires > $5 AND cur_expires > $5"
               " RETURNING generation, cur_issued, cur_expires, expires",
               6,
               {OID_TEXT, OID_TEXT, OID_BYTEA, OID_BYTEA, OID_INT8, OID_INT8}},
    [Q_WRITE] = {"ag_write",
                 "UPDATE ag_families SET revoked_at = $2, revoke_reason = $3, generation = $4,"
                 " cur_hash = $5, cur_issued = $6, cur_expires = $7, prev_hash = $8,"
                 " replays = $9 WHERE sid = $1",
                 9,
                 {OID_TEXT, OID_INT8, OID_INT2, OID_INT8, OID_BYTEA, OID_INT8, OID_INT8, OID_BYTEA,
                  OID_INT4}},
    /* One self-committing statement: idempotent, the first revocation kept. */
    [Q_REVOKE_FAM] = {"ag_revoke_fam",
                      "UPDATE ag_families SET revoked_at = COALESCE(revoked_at, $2),"
                      " revoke_reason = CASE WHEN revoked_at IS NULL THEN $3 ELSE revoke_reason"
                      " END, " TOMBSTONE " WHERE sid = $1",
                      3,
                      {OID_TEXT, OID_INT8, OID_INT2}},
    [Q_REVOKE_SUBJ] = {"ag_revoke_subj",
                       "UPDATE ag_families SET revoked_at = $2, revoke_reason = $3, " TOMBSTONE
                       " WHERE subject = $1 AND revoked_at IS NULL",
                       3,
                       {OID_TEXT, OID_INT8, OID_INT2}},
    /* The subject's live families beyond the `keep` newest (created, then
     * sid bytewise, both descending), ended in one statement. The outer
     * WHERE is re-checked on the newest row version, so a family revoked
     * meanwhile is neither revoked again nor reported. */
    [Q_EVICT] = {"ag_evict",
                 "UPDATE ag_families SET revoked_at = $3, revoke_reason = 5, " TOMBSTONE
                 " WHERE sid IN (SELECT sid FROM ag_families WHERE subject = $1"
                 " AND revoked_at IS NULL AND expires > $3 AND cur_expires > $3"
                 " ORDER BY created DESC, sid COLLATE \"C\" DESC OFFSET $2)"
                 " AND revoked_at IS NULL AND expires > $3 AND cur_expires > $3 RETURNING sid",
                 3,
                 {OID_TEXT, OID_INT8, OID_INT8}},
    [Q_PURGE] = {"ag_purge",
                 "DELETE FROM ag_families WHERE LEAST(expires, cur_expires) <= $1",
                 1,
                 {OID_INT8}},
    [Q_COUNT] = {"ag_count", "SELECT count(*) FROM ag_families", 0, {0}},
};

/* ---- the pool ------------------------------------------------------------ */

typedef struct pgconn {
    PGconn *c;
    bool ready; /* connected, timeout set, statements prepared */
} pgconn;

typedef struct pgstore {
    ag_store base; /* first */
    const ag_allocator *alloc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char timeout[16]; /* statement_timeout, text milliseconds */
    size_t n;
    size_t nfree;
    pgconn **freelist; /* n slots, nfree used */
    pgconn *conns;     /* n */
} pgstore;

/* One call's view of its connection. */
typedef struct call {
    PGconn *c;
    bool broken;      /* a statement failed because the connection broke */
    bool commit_sent; /* a COMMIT (or self-committing write) went out */
} call;

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* the library never prints */
}

/* Sets the session up: silent notices, the statement timeout. */
static bool conn_session(const pgstore *p, PGconn *c)
{
    PQsetNoticeProcessor(c, quiet, NULL);
    const char *v[1] = {p->timeout};
    PGresult *r = PQexecParams(c, "SELECT set_config('statement_timeout', $1, false)", 1, NULL, v,
                               NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

/* Prepares every statement on c (the tables must exist). */
static bool conn_prepare(PGconn *c)
{
    bool ok = true;
    for (int i = 0; ok && i < Q_N; i++) {
        PGresult *r = PQprepare(c, stmts[i].name, stmts[i].sql, stmts[i].nparams, stmts[i].types);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    return ok;
}

/* True when an idle connection has (as far as a non-blocking look can
 * tell) lost its server: its socket is readable. We never LISTEN, so an
 * idle connection's socket never is, unless the server said goodbye (a
 * termination notice) or hung up; either way it is reset before use. */
static bool idle_dead(PGconn *c)
{
    struct pollfd pfd;
    pfd.fd = PQsocket(c);
    pfd.events = POLLIN;
    pfd.revents = 0;
    return pfd.fd < 0 || poll(&pfd, 1, 0) != 0;
}

/* Makes pc usable: connected, idle, set up. */
static bool conn_usable(const pgstore *p, pgconn *pc)
{
    if (pc->ready && PQstatus(pc->c) == CONNECTION_OK &&
        PQtransactionStatus(pc->c) == PQTRANS_IDLE && !idle_dead(pc->c))
        return true;
    pc->ready = false;
    PQreset(pc->c);
    if (PQstatus(pc->c) != CONNECTION_OK || !conn_session(p, pc->c) || !conn_prepare(pc->c))
        return false;
    pc->ready = true;
    return true;
}

static pgconn *acquire(pgstore *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    pgconn *pc = p->freelist[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    return pc;
}

static void release(pgstore *p, pgconn *pc)
{
    pthread_mutex_lock(&p->mu);
    p->freelist[p->nfree++] = pc;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

typedef ag_err (*op_fn)(call *k, void *arg);

/*
 * Runs one operation on a pooled connection, with the retry rule: once
 * more on a reset connection when the first attempt failed only because
 * the connection broke and nothing had been committed.
 */
static ag_err run_op(pgstore *p, op_fn fn, void *arg)
{
    pgconn *pc = acquire(p);
    ag_err e = AG_ERR_STORE;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!conn_usable(p, pc)) {
            e = AG_ERR_STORE;
            break;
        }
        call k = {pc->c, false, false};
        e = fn(&k, arg);
        if (PQstatus(pc->c) != CONNECTION_OK || PQtransactionStatus(pc->c) != PQTRANS_IDLE)
            pc->ready = false; /* reset before its next use */
        if (e != AG_ERR_STORE || !k.broken || k.commit_sent)
            break;
    }
    release(p, pc);
    return e;
}

/* ---- parameters and results ---------------------------------------------- */

typedef struct params {
    int n;
    const char *v[MAXP];
    int len[MAXP];
    int fmt[MAXP];
    char ibuf[MAXP][8];
} params;

static void p_bytes(params *ps, const void *b, size_t n)
{
    ps->v[ps->n] = b;
    ps->len[ps->n] = (int)n;
    ps->fmt[ps->n++] = 1;
}

static void p_null(params *ps)
{
    ps->v[ps->n] = NULL;
    ps->len[ps->n] = 0;
    ps->fmt[ps->n++] = 1;
}

/* Binary int8 / int4 / int2: network byte order. */
static void p_int(params *ps, int64_t x, int width)
{
    char *b = ps->ibuf[ps->n];
    uint64_t u = (uint64_t)x;
    for (int i = width - 1; i >= 0; i--) {
        b[i] = (char)(u & 0xff);
        u >>= 8;
    }
    p_bytes(ps, b, (size_t)width);
}

static void p_i64(params *ps, int64_t x)
{
    p_int(ps, x, 8);
}

static void p_i32(params *ps, int32_t x)
{
    p_int(ps, x, 4);
}

static void p_i16(params *ps, int x)
{
    p_int(ps, x, 2);
}

/*
 * Executes a prepared statement with binary parameters and binary results.
 * Returns the result on success (caller PQclear()s it), NULL on failure,
 * noting in k whether the connection broke.
 */
static PGresult *xq(call *k, int q, const params *ps)
{
    static const params none = {0};
    if (ps == NULL)
        ps = &none;
    if (q == Q_COMMIT)
        k->commit_sent = true;
    PGresult *r = PQexecPrepared(k->c, stmts[q].name, ps->n, ps->v, ps->len, ps->fmt, 1);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    PQclear(r);
    if (PQstatus(k->c) != CONNECTION_OK)
        k->broken = true;
    return NULL;
}

/* Runs a statement whose result is not needed. */
static bool xrun(call *k, int q, const params *ps)
{
    PGresult *r = xq(k, q, ps);
    PQclear(r);
    return r != NULL;
}

/* Runs a write and reports how many rows it touched. */
static bool xcount(call *k, int q, const params *ps, size_t *n)
{
    PGresult *r = xq(k, q, ps);
    if (r == NULL)
        return false;
    const char *t = PQcmdTuples(r);
    size_t v = 0;
    bool ok = t[0] != '\0';
    for (; *t != '\0' && ok; t++) {
        ok = *t >= '0' && *t <= '9' && v <= (SIZE_MAX - 9) / 10;
        v = v * 10 + (size_t)(*t - '0');
    }
    PQclear(r);
    if (ok)
        *n = v;
    return ok;
}

static bool begin(call *k)
{
    return xrun(k, Q_BEGIN, NULL);
}

/* COMMIT; true only when the server answered that it committed (a COMMIT
 * of a failed transaction answers ROLLBACK). */
static bool commit(call *k)
{
    PGresult *r = xq(k, Q_COMMIT, NULL);
    bool ok = r != NULL && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    PQclear(r);
    return ok;
}

/* Ends an open transaction without effect (no-op when none is open). */
static void rollback(call *k)
{
    if (PQstatus(k->c) == CONNECTION_OK && PQtransactionStatus(k->c) != PQTRANS_IDLE)
        (void)xrun(k, Q_ROLLBACK, NULL);
}

static bool col_null(const PGresult *r, int row, int c)
{
    return PQgetisnull(r, row, c) != 0;
}

/* Binary integer column (int2/int4/int8); NULL reads as 0. */
static bool col_int(const PGresult *r, int row, int c, int64_t *out)
{
    if (col_null(r, row, c)) {
        *out = 0;
        return true;
    }
    int n = PQgetlength(r, row, c);
    const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, c);
    if (n != 2 && n != 4 && n != 8)
        return false;
    uint64_t u = (b[0] & 0x80) ? UINT64_MAX : 0; /* sign extension */
    for (int i = 0; i < n; i++)
        u = (u << 8) | b[i];
    *out = (int64_t)u;
    return true;
}

static bool col_text(const PGresult *r, int row, int c, char *dst, size_t *dst_len, size_t max)
{
    int n = PQgetlength(r, row, c);
    const char *p = PQgetvalue(r, row, c);
    if (col_null(r, row, c) || n <= 0 || !ag__store_str_ok(p, (size_t)n, max))
        return false;
    ag__store_str_set(dst, dst_len, p, (size_t)n);
    return true;
}

/* A hash column: *has false for NULL (the buffer zeroed). */
static bool col_hash(const PGresult *r, int c, uint8_t out[AG_STORE_HASH_LEN], bool *has)
{
    memset(out, 0, AG_STORE_HASH_LEN);
    *has = !col_null(r, 0, c);
    if (!*has)
        return true;
    if (PQgetlength(r, 0, c) != AG_STORE_HASH_LEN)
        return false;
    memcpy(out, PQgetvalue(r, 0, c), AG_STORE_HASH_LEN);
    return true;
}

/* A row of FAM_COLS. Anything out of range is corruption: AG_ERR_STORE
 * upstream, never a guess. */
static bool read_family(const PGresult *r, ag_store_family *f)
{
    int64_t reason = 0, gen = 0, replays = 0;
    bool has_cur = false;
    memset(f, 0, sizeof *f);
    if (!col_text(r, 0, 0, f->sid, &f->sid_len, AG_SID_MAX_LEN) ||
        !col_text(r, 0, 1, f->subject, &f->subject_len, AG_SUBJECT_MAX_LEN) ||
        !col_int(r, 0, 2, &f->created) || !col_int(r, 0, 3, &f->expires) ||
        !col_int(r, 0, 4, &f->revoked_at) || !col_int(r, 0, 5, &reason) ||
        reason < AG_REVOKE_NONE || reason > AG_REVOKE_EVICTED || !col_int(r, 0, 6, &gen) ||
        gen < 0 || !col_hash(r, 7, f->current, &has_cur) || !col_int(r, 0, 8, &f->current_issued) ||
        !col_int(r, 0, 9, &f->current_expires) || !col_hash(r, 10, f->previous, &f->has_previous) ||
        !col_int(r, 0, 11, &replays) || replays < 0 || replays > UINT32_MAX)
        return false;
    if ((f->revoked_at != 0) != (reason != AG_REVOKE_NONE))
        return false;
    f->reason = (ag_revoke_reason)reason;
    f->generation = (uint64_t)gen;
    f->replays = (uint32_t)replays;
    /* A live family without a current token (migrated from a chain whose
     * every token was used) keeps a zero hash: no token's SHA-256 is it,
     * so every token of that family is reuse. */
    return true;
}

/* Runs a one-row-or-none query. Returns AG_OK with *out, AG_ERR_NOT_FOUND,
 * or AG_ERR_STORE. */
static ag_err one_row(call *k, int q, const params *ps, PGresult **out)
{
    PGresult *r = xq(k, q, ps);
    if (r == NULL)
        return AG_ERR_STORE;
    int n = PQntuples(r);
    if (n == 1) {
        *out = r;
        return AG_OK;
    }
    PQclear(r);
    return n == 0 ? AG_ERR_NOT_FOUND : AG_ERR_STORE;
}

static ag_err find_family(call *k, int q, const char *sid, size_t sid_len, ag_store_family *f)
{
    params ps = {0};
    PGresult *r = NULL;
    p_bytes(&ps, sid, sid_len);
    ag_err e = one_row(k, q, &ps, &r);
    if (e == AG_OK && !read_family(r, f))
        e = AG_ERR_STORE;
    PQclear(r);
    return e;
}

/* ---- operations ---------------------------------------------------------- */

typedef struct create_args {
    const ag_store_family *fam;
} create_args;

static ag_err op_create(call *k, void *arg)
{
    const ag_store_family *fam = ((create_args *)arg)->fam;
    params ps = {0};
    size_t n = 0;
    p_bytes(&ps, fam->sid, fam->sid_len);
    p_bytes(&ps, fam->subject, fam->subject_len);
    p_i64(&ps, fam->created);
    p_i64(&ps, fam->expires);
    p_bytes(&ps, fam->current, AG_STORE_HASH_LEN);
    p_i64(&ps, fam->current_issued);
    p_i64(&ps, fam->current_expires);
    /* Self-committing: after a lost answer a retry would find its own
     * row and call it taken, so none is made. */
    k->commit_sent = true;
    if (!xcount(k, Q_CREATE, &ps, &n))
        return AG_ERR_STORE;
    return n == 1 ? AG_OK : AG_ERR_EXISTS;
}

static ag_err pg_create(ag_store *st, const ag_store_family *fam, int64_t now)
{
    (void)now;
    create_args a = {fam};
    return run_op((pgstore *)st, op_create, &a);
}

typedef struct rotate_args {
    const ag_store_rotation *rot;
    ag_store_rotated out;
} rotate_args;

/* The common case in one round trip. AG_OK when it rotated, AG_ERR_NOT_FOUND
 * when the row is not in the "rotate the current token" state (nothing
 * changed), AG_ERR_STORE otherwise — a lost answer included: the
 * statement may have committed. */
static ag_err rotate_cas(call *k, const ag_store_rotation *rot, ag_store_rotated *out)
{
    params ps = {0};
    p_bytes(&ps, rot->sid, rot->sid_len);
    p_bytes(&ps, rot->subject, rot->subject_len);
    p_bytes(&ps, rot->old_hash, AG_STORE_HASH_LEN);
    p_bytes(&ps, rot->new_hash, AG_STORE_HASH_LEN);
    p_i64(&ps, rot->now);
    p_i64(&ps, rot->new_expires);
    k->commit_sent = true; /* autocommit: its outcome is unknown until it answers */
    PGresult *r = xq(k, Q_CAS, &ps);
    if (r == NULL)
        return AG_ERR_STORE;
    k->commit_sent = false; /* it answered: the outcome is known */
    int n = PQntuples(r);
    int64_t gen = 0;
    ag_err e = n == 0 ? AG_ERR_NOT_FOUND : AG_ERR_STORE;
    if (n == 1 && col_int(r, 0, 0, &gen) && gen > 0 && col_int(r, 0, 1, &out->issued) &&
        col_int(r, 0, 2, &out->expires) && col_int(r, 0, 3, &out->family_expires)) {
        out->outcome = AG_STORE_ROTATED;
        out->generation = (uint64_t)gen;
        e = AG_OK;
    } else if (n == 1) {
        /* It committed, but the answer makes no sense: do not report a
         * success the caller cannot use; a retry is reuse, as it should
         * be for a row we cannot read. */
        k->commit_sent = true;
    }
    PQclear(r);
    return e;
}

/* Writes the row ag_store_decide returned (a tombstone keeps no hash). */
static bool write_row(call *k, const ag_store_family *f)
{
    params ps = {0};
    bool revoked = f->revoked_at != 0;
    if (f->generation > INT64_MAX || f->replays > INT32_MAX)
        return false;
    p_bytes(&ps, f->sid, f->sid_len);
    if (revoked)
        p_i64(&ps, f->revoked_at);
    else
        p_null(&ps);
    p_i16(&ps, (int)f->reason);
    p_i64(&ps, (int64_t)f->generation);
    if (revoked)
        p_null(&ps);
    else
        p_bytes(&ps, f->current, AG_STORE_HASH_LEN);
    p_i64(&ps, f->current_issued);
    p_i64(&ps, f->current_expires);
    if (revoked || !f->has_previous)
        p_null(&ps);
    else
        p_bytes(&ps, f->previous, AG_STORE_HASH_LEN);
    p_i32(&ps, (int32_t)f->replays);
    size_t n = 0;
    return xcount(k, Q_WRITE, &ps, &n) && n == 1;
}

/* Everything but the common case: lock the row, decide, write. */
static ag_err rotate_slow(call *k, const ag_store_rotation *rot, ag_store_rotated *out)
{
    ag_store_family cur, next;
    bool write = false;
    ag_err e = AG_ERR_STORE;
    memset(&cur, 0, sizeof cur);
    memset(&next, 0, sizeof next);
    if (!begin(k))
        goto out;
    ag_err fe = find_family(k, Q_FAM_LOCK, rot->sid, rot->sid_len, &cur);
    if (fe != AG_OK && fe != AG_ERR_NOT_FOUND)
        goto out;
    e = ag_store_decide(fe == AG_OK ? &cur : NULL, rot, &next, &write, out);
    if (write && (!write_row(k, &next) || !commit(k)))
        e = AG_ERR_STORE;
out:
    rollback(k);
    ag_cleanse(&cur, sizeof cur);
    ag_cleanse(&next, sizeof next);
    return e;
}

static ag_err op_rotate(call *k, void *arg)
{
    rotate_args *a = arg;
    if (a->rot->action == AG_STORE_REFRESH) {
        ag_err e = rotate_cas(k, a->rot, &a->out);
        if (e != AG_ERR_NOT_FOUND)
            return e;
    }
    return rotate_slow(k, a->rot, &a->out);
}

static ag_err pg_rotate(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out)
{
    rotate_args a;
    memset(&a, 0, sizeof a);
    a.rot = rot;
    ag_err e = run_op((pgstore *)st, op_rotate, &a);
    if (e == AG_OK)
        *out = a.out;
    return e;
}

typedef struct family_args {
    const char *sid;
    size_t sid_len;
    int64_t now;
    ag_revoke_reason reason;
    ag_store_family f;
} family_args;

static ag_err op_lookup_family(call *k, void *arg)
{
    family_args *a = arg;
    return find_family(k, Q_FAM, a->sid, a->sid_len, &a->f);
}

static ag_err pg_lookup_family(ag_store *st, const char *sid, size_t sid_len, ag_store_family *fam)
{
    family_args a;
    memset(&a, 0, sizeof a);
    a.sid = sid;
    a.sid_len = sid_len;
    ag_err e = run_op((pgstore *)st, op_lookup_family, &a);
    if (e == AG_OK)
        *fam = a.f;
    ag_cleanse(&a.f, sizeof a.f);
    return e;
}

static ag_err op_revoke_family(call *k, void *arg)
{
    family_args *a = arg;
    params ps = {0};
    size_t n = 0;
    p_bytes(&ps, a->sid, a->sid_len);
    p_i64(&ps, a->now);
    p_i16(&ps, (int)a->reason);
    /* Self-committing, but idempotent: a retry after an unknown outcome
     * gives the same state and the same answer, so commit_sent stays
     * false. */
    if (!xcount(k, Q_REVOKE_FAM, &ps, &n))
        return AG_ERR_STORE;
    return n == 1 ? AG_OK : AG_ERR_NOT_FOUND;
}

static ag_err pg_revoke_family(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                               ag_revoke_reason reason)
{
    family_args a;
    memset(&a, 0, sizeof a);
    a.sid = sid;
    a.sid_len = sid_len;
    a.now = now;
    a.reason = reason;
    return run_op((pgstore *)st, op_revoke_family, &a);
}

typedef struct subject_args {
    const char *subject;
    size_t subject_len;
    int64_t now;
    ag_revoke_reason reason;
    size_t keep;
    ag_store_evict_fn fn;
    void *ctx;
    size_t count;
} subject_args;

static ag_err op_revoke_subject(call *k, void *arg)
{
    subject_args *a = arg;
    params ps = {0};
    p_bytes(&ps, a->subject, a->subject_len);
    p_i64(&ps, a->now);
    p_i16(&ps, (int)a->reason);
    k->commit_sent = true; /* self-committing; a retry would miscount */
    return xcount(k, Q_REVOKE_SUBJ, &ps, &a->count) ? AG_OK : AG_ERR_STORE;
}

static ag_err pg_revoke_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                                ag_revoke_reason reason, size_t *count)
{
    subject_args a = {subject, subject_len, now, reason, 0, NULL, NULL, 0};
    ag_err e = run_op((pgstore *)st, op_revoke_subject, &a);
    if (e == AG_OK)
        *count = a.count;
    return e;
}

static ag_err op_evict(call *k, void *arg)
{
    subject_args *a = arg;
    params ps = {0};
    p_bytes(&ps, a->subject, a->subject_len);
    p_i64(&ps, a->keep > INT64_MAX ? INT64_MAX : (int64_t)a->keep);
    p_i64(&ps, a->now);
    k->commit_sent = true; /* self-committing; a retry would not report the first */
    PGresult *r = xq(k, Q_EVICT, &ps);
    if (r == NULL)
        return AG_ERR_STORE;
    /* Committed: report every family it ended, checked or not. */
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        int len = PQgetlength(r, i, 0);
        const char *sid = PQgetvalue(r, i, 0);
        a->count++;
        if (a->fn != NULL && len > 0 && ag__store_str_ok(sid, (size_t)len, AG_SID_MAX_LEN))
            a->fn(a->ctx, sid, (size_t)len);
    }
    PQclear(r);
    return AG_OK;
}

static ag_err pg_evict(ag_store *st, const char *subject, size_t subject_len, size_t keep,
                       int64_t now, ag_store_evict_fn fn, void *ctx, size_t *count)
{
    subject_args a = {subject, subject_len, now, AG_REVOKE_EVICTED, keep, fn, ctx, 0};
    ag_err e = run_op((pgstore *)st, op_evict, &a);
    if (e == AG_OK)
        *count = a.count;
    return e;
}

typedef struct purge_args {
    int64_t now;
    size_t removed;
} purge_args;

static ag_err op_purge(call *k, void *arg)
{
    purge_args *a = arg;
    params ps = {0};
    p_i64(&ps, a->now);
    /* Idempotent (deleting the dead again deletes nothing), so a retry
     * is harmless; only the count of a lost first answer is missed. */
    return xcount(k, Q_PURGE, &ps, &a->removed) ? AG_OK : AG_ERR_STORE;
}

static ag_err pg_purge(ag_store *st, int64_t now, size_t *removed)
{
    purge_args a = {now, 0};
    ag_err e = run_op((pgstore *)st, op_purge, &a);
    if (e == AG_OK)
        *removed = a.removed;
    return e;
}

static ag_err op_stats(call *k, void *arg)
{
    ag_store_stats *s = arg;
    PGresult *r = NULL;
    int64_t f = 0;
    ag_err e = one_row(k, Q_COUNT, NULL, &r);
    if (e == AG_OK && (!col_int(r, 0, 0, &f) || f < 0))
        e = AG_ERR_STORE;
    PQclear(r);
    if (e == AG_OK)
        s->families = (size_t)f;
    return e == AG_ERR_NOT_FOUND ? AG_ERR_STORE : e;
}

static ag_err pg_stats(ag_store *st, ag_store_stats *out)
{
    ag_store_stats s;
    memset(&s, 0, sizeof s);
    ag_err e = run_op((pgstore *)st, op_stats, &s);
    if (e == AG_OK)
        *out = s;
    return e;
}

static void pg_close(ag_store *st)
{
    pgstore *p = (pgstore *)st;
    for (size_t i = 0; i < p->n; i++)
        PQfinish(p->conns[i].c);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    ag__free(p->alloc, p->freelist);
    ag__free(p->alloc, p->conns);
    ag__free(p->alloc, p);
}

/* ---- opening (connecting and the schema: store_pg_schema.c) ------------ */

ag_err ag_store_pg_open(const ag_store_pg_config *cfg, ag_store **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (cfg == NULL || cfg->conninfo == NULL || cfg->conninfo[0] == '\0' ||
        cfg->statement_timeout_ms < 0 || cfg->connect_timeout_s < 0 || cfg->pool_size > 1024)
        return AG_ERR_INVALID_ARGUMENT;
    size_t n = cfg->pool_size != 0 ? cfg->pool_size : 4;
    pgstore *p = ag__calloc(cfg->alloc, sizeof *p);
    if (p == NULL)
        return AG_ERR_NOMEM;
    p->alloc = cfg->alloc;
    p->conns = ag__calloc(cfg->alloc, n * sizeof *p->conns);
    p->freelist = ag__calloc(cfg->alloc, n * sizeof *p->freelist);
    if (p->conns == NULL || p->freelist == NULL) {
        ag__free(p->alloc, p->conns);
        ag__free(p->alloc, p->freelist);
        ag__free(p->alloc, p);
        return AG_ERR_NOMEM;
    }
    snprintf(p->timeout, sizeof p->timeout, "%d",
             cfg->statement_timeout_ms > 0 ? cfg->statement_timeout_ms : 5000);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->n = n;

    ag_err e = AG_OK;
    for (size_t i = 0; i < n && e == AG_OK; i++) {
        PGconn *c = ag__pg_connect(cfg);
        p->conns[i].c = c;
        if (c == NULL)
            e = AG_ERR_NOMEM;
        else if (PQstatus(c) != CONNECTION_OK || !conn_session(p, c))
            e = AG_ERR_STORE;
        else if (i == 0)
            e = ag__pg_prepare_schema(c); /* before preparing: the tables may not exist yet */
        if (e == AG_OK && !conn_prepare(c))
            e = AG_ERR_STORE;
        p->conns[i].ready = e == AG_OK;
        p->freelist[p->nfree++] = &p->conns[i];
    }
    if (e != AG_OK) {
        pg_close(&p->base);
        return e;
    }
    p->base.version = AG_STORE_INTERFACE_VERSION;
    p->base.name = "postgres";
    p->base.ctx = p;
    p->base.create = pg_create;
    p->base.rotate = pg_rotate;
    p->base.lookup_family = pg_lookup_family;
    p->base.revoke_family = pg_revoke_family;
    p->base.revoke_subject = pg_revoke_subject;
    p->base.evict = pg_evict;
    p->base.purge_expired = pg_purge;
    p->base.stats = pg_stats;
    p->base.close = pg_close;
    *out = &p->base;
    return AG_OK;
}

#endif /* AG_HAVE_POSTGRES */

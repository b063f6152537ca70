/*
 * authgate — the PostgreSQL store.
 *
 * Many service instances share one database. Each store object holds a
 * small pool of libpq connections; a call takes one connection for its
 * whole duration (libpq connections are never used by two threads at
 * once) and gives it back. Every statement is prepared once per
 * connection and executed with binary bound parameters; the only SQL text
 * not prepared is the static migration DDL and the static catalog probes.
 *
 * Atomicity across processes comes from the database: a rotation runs in
 * one READ COMMITTED transaction that first locks the family row (SELECT …
 * FOR NO KEY UPDATE). Every writer of a family's token rows takes that
 * lock first, so the token row read afterwards (a new statement, a new
 * snapshot) is current, and the checks of store.h run in order against
 * the truth. The consume is the conditional UPDATE … WHERE used_at IS NULL
 * RETURNING, the successor INSERT follows in the same transaction, and the
 * partial unique index ag_tokens_live makes a second live row per family
 * impossible whatever happens above it.
 *
 * Failure handling: a statement that fails on a broken connection
 * (PQstatus CONNECTION_BAD) marks the connection for a reset; the call is
 * retried once on the reset connection only when no COMMIT (or
 * self-committing write) had been sent, because then the server has rolled
 * the transaction back. A call whose commit outcome is unknown fails with
 * AG_ERR_STORE. An idle pooled connection whose server has gone away is
 * noticed before use (the socket is readable) and reset first.
 *
 * Times are epoch seconds in bigint columns, like the SQLite store and
 * the API: no time zone, no conversion, the same integers in and out.
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
#define OID_TEXT 25

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_ROW,       /* token row + its family, by hash (lookup) */
    Q_TOK,       /* token row alone, by hash */
    Q_FAM,       /* family by sid */
    Q_FAM_LOCK,  /* family by sid, row locked until commit */
    Q_INS_FAM,
    Q_INS_TOK,
    Q_CONSUME,
    Q_REVOKE_REUSE,
    Q_REVOKE_FAM,
    Q_REVOKE_SUBJ,
    Q_PURGE_TOK,
    Q_PURGE_FAM,
    Q_COUNTS,
    Q_N
};

typedef struct stmt {
    const char *name;
    const char *sql;
    int nparams;
    Oid types[5];
} stmt;

#define FAM_COLS "sid, subject, created, expires, revoked_at, revoke_reason"

static const stmt stmts[Q_N] = {
    [Q_BEGIN] = {"ag_begin", "BEGIN ISOLATION LEVEL READ COMMITTED", 0, {0}},
    [Q_COMMIT] = {"ag_commit", "COMMIT", 0, {0}},
    [Q_ROLLBACK] = {"ag_rollback", "ROLLBACK", 0, {0}},
    [Q_ROW] = {"ag_row",
               "SELECT t.generation, t.issued, t.expires, t.used_at, t.successor,"
               " f.sid, f.subject, f.created, f.expires, f.revoked_at, f.revoke_reason"
               " FROM ag_tokens t JOIN ag_families f ON f.sid = t.sid WHERE t.jti_hash = $1",
               1, {OID_BYTEA}},
    [Q_TOK] = {"ag_tok",
               "SELECT generation, issued, expires, used_at, successor, sid"
               " FROM ag_tokens WHERE jti_hash = $1",
               1, {OID_BYTEA}},
    [Q_FAM] = {"ag_fam", "SELECT " FAM_COLS " FROM ag_families WHERE sid = $1", 1, {OID_TEXT}},
    [Q_FAM_LOCK] = {"ag_fam_lock",
                    "SELECT " FAM_COLS " FROM ag_families WHERE sid = $1 FOR NO KEY UPDATE", 1,
                    {OID_TEXT}},
    [Q_INS_FAM] = {"ag_ins_fam",
                   "INSERT INTO ag_families (sid, subject, created, expires)"
                   " VALUES ($1, $2, $3, $4) ON CONFLICT (sid) DO NOTHING",
                   4, {OID_TEXT, OID_TEXT, OID_INT8, OID_INT8}},
    [Q_INS_TOK] = {"ag_ins_tok",
                   "INSERT INTO ag_tokens (jti_hash, sid, generation, issued, expires)"
                   " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (jti_hash) DO NOTHING",
                   5, {OID_BYTEA, OID_TEXT, OID_INT8, OID_INT8, OID_INT8}},
    [Q_CONSUME] = {"ag_consume",
                   "UPDATE ag_tokens SET used_at = $2, successor = $3"
                   " WHERE jti_hash = $1 AND used_at IS NULL RETURNING generation",
                   3, {OID_BYTEA, OID_INT8, OID_BYTEA}},
    [Q_REVOKE_REUSE] = {"ag_revoke_reuse",
                        "UPDATE ag_families SET revoked_at = $2, revoke_reason = $3"
                        " WHERE sid = $1 AND revoked_at IS NULL",
                        3, {OID_TEXT, OID_INT8, OID_INT2}},
    /* One self-committing statement: idempotent, the first revocation kept. */
    [Q_REVOKE_FAM] = {"ag_revoke_fam",
                      "UPDATE ag_families SET revoked_at = COALESCE(revoked_at, $2),"
                      " revoke_reason = CASE WHEN revoked_at IS NULL THEN $3 ELSE revoke_reason"
                      " END WHERE sid = $1",
                      3, {OID_TEXT, OID_INT8, OID_INT2}},
    [Q_REVOKE_SUBJ] = {"ag_revoke_subj",
                       "UPDATE ag_families SET revoked_at = $2, revoke_reason = $3"
                       " WHERE subject = $1 AND revoked_at IS NULL",
                       3, {OID_TEXT, OID_INT8, OID_INT2}},
    [Q_PURGE_TOK] = {"ag_purge_tok",
                     "DELETE FROM ag_tokens WHERE expires <= $1"
                     " OR sid IN (SELECT sid FROM ag_families WHERE expires <= $1)",
                     1, {OID_INT8}},
    [Q_PURGE_FAM] = {"ag_purge_fam",
                     "DELETE FROM ag_families f WHERE f.expires <= $1"
                     " OR NOT EXISTS (SELECT 1 FROM ag_tokens t WHERE t.sid = f.sid)",
                     1, {OID_INT8}},
    [Q_COUNTS] = {"ag_counts",
                  "SELECT (SELECT count(*) FROM ag_tokens), (SELECT count(*) FROM ag_families)", 0,
                  {0}},
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
    (void)msg; /* the library never prints (STYLE.md) */
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
 * tell) lost its server: the socket is readable, which an idle
 * connection's never is unless the server said goodbye or hung up. */
static bool idle_dead(PGconn *c)
{
    struct pollfd pfd;
    pfd.fd = PQsocket(c);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0)
        return true;
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
        return true;
    PGnotify *n;
    while ((n = PQnotifies(c)) != NULL)
        PQfreemem(n);
    return false;
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
    const char *v[5];
    int len[5];
    int fmt[5];
    char ibuf[5][8];
} params;

static void p_bytes(params *ps, const void *b, size_t n)
{
    ps->v[ps->n] = b;
    ps->len[ps->n] = (int)n;
    ps->fmt[ps->n++] = 1;
}

/* Binary int8 / int2: network byte order. */
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

static bool col_null(const PGresult *r, int c)
{
    return PQgetisnull(r, 0, c) != 0;
}

/* Binary integer column (int2/int4/int8); NULL reads as 0. */
static bool col_int(const PGresult *r, int c, int64_t *out)
{
    if (col_null(r, c)) {
        *out = 0;
        return true;
    }
    int n = PQgetlength(r, 0, c);
    const unsigned char *b = (const unsigned char *)PQgetvalue(r, 0, c);
    if (n != 2 && n != 4 && n != 8)
        return false;
    uint64_t u = (b[0] & 0x80) ? UINT64_MAX : 0; /* sign extension */
    for (int i = 0; i < n; i++)
        u = (u << 8) | b[i];
    *out = (int64_t)u;
    return true;
}

static bool col_text(const PGresult *r, int c, char *dst, size_t *dst_len, size_t max)
{
    int n = PQgetlength(r, 0, c);
    const char *p = PQgetvalue(r, 0, c);
    if (col_null(r, c) || n <= 0 || !ag__store_str_ok(p, (size_t)n, max))
        return false;
    ag__store_str_set(dst, dst_len, p, (size_t)n);
    return true;
}

static bool col_hash(const PGresult *r, int c, uint8_t out[AG_STORE_HASH_LEN])
{
    if (col_null(r, c) || PQgetlength(r, 0, c) != AG_STORE_HASH_LEN)
        return false;
    memcpy(out, PQgetvalue(r, 0, c), AG_STORE_HASH_LEN);
    return true;
}

/* Family columns from c0: sid, subject, created, expires, revoked_at,
 * revoke_reason. */
static bool read_family(const PGresult *r, int c0, ag_store_family *f)
{
    int64_t reason = 0;
    memset(f, 0, sizeof *f);
    if (!col_text(r, c0, f->sid, &f->sid_len, AG_SID_MAX_LEN) ||
        !col_text(r, c0 + 1, f->subject, &f->subject_len, AG_SUBJECT_MAX_LEN) ||
        !col_int(r, c0 + 2, &f->created) || !col_int(r, c0 + 3, &f->expires) ||
        !col_int(r, c0 + 4, &f->revoked_at) || !col_int(r, c0 + 5, &reason) ||
        reason < AG_REVOKE_NONE || reason > AG_REVOKE_ADMIN)
        return false;
    f->reason = (ag_revoke_reason)reason;
    return true;
}

/* Token columns from 0: generation, issued, expires, used_at, successor. */
static bool read_token(const PGresult *r, const uint8_t *hash, ag_store_token *t)
{
    int64_t gen = 0;
    memset(t, 0, sizeof *t);
    memcpy(t->hash, hash, AG_STORE_HASH_LEN);
    if (!col_int(r, 0, &gen) || gen < 0 || !col_int(r, 1, &t->issued) ||
        !col_int(r, 2, &t->expires) || !col_int(r, 3, &t->used_at))
        return false;
    t->generation = (uint64_t)gen;
    if (!col_null(r, 4)) {
        if (!col_hash(r, 4, t->successor))
            return false;
        t->has_successor = true;
    }
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
    if (e == AG_OK && !read_family(r, 0, f))
        e = AG_ERR_STORE;
    PQclear(r);
    return e;
}

/* Token row alone (Q_TOK), with its sid. */
static ag_err find_token(call *k, const uint8_t *hash, ag_store_token *t)
{
    params ps = {0};
    PGresult *r = NULL;
    p_bytes(&ps, hash, AG_STORE_HASH_LEN);
    ag_err e = one_row(k, Q_TOK, &ps, &r);
    if (e == AG_OK && (!read_token(r, hash, t) || !col_text(r, 5, t->sid, &t->sid_len,
                                                            AG_SID_MAX_LEN)))
        e = AG_ERR_STORE;
    PQclear(r);
    return e;
}

/* Inserts a token row; *inserted false when the hash already exists. */
static bool insert_token(call *k, const uint8_t *hash, const char *sid, size_t sid_len,
                         uint64_t gen, int64_t issued, int64_t expires, bool *inserted)
{
    params ps = {0};
    size_t n = 0;
    if (gen > INT64_MAX)
        return false;
    p_bytes(&ps, hash, AG_STORE_HASH_LEN);
    p_bytes(&ps, sid, sid_len);
    p_i64(&ps, (int64_t)gen);
    p_i64(&ps, issued);
    p_i64(&ps, expires);
    if (!xcount(k, Q_INS_TOK, &ps, &n))
        return false;
    *inserted = n == 1;
    return true;
}

static bool span_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

/* ---- operations ---------------------------------------------------------- */

typedef struct put_args {
    const ag_store_family *fam;
    const ag_store_token *tok;
} put_args;

static ag_err op_put(call *k, void *arg)
{
    const put_args *a = arg;
    const ag_store_family *fam = a->fam;
    ag_err e = AG_ERR_STORE;
    params ps = {0};
    size_t n = 0;
    bool inserted = false;
    if (!begin(k))
        goto out;
    p_bytes(&ps, fam->sid, fam->sid_len);
    p_bytes(&ps, fam->subject, fam->subject_len);
    p_i64(&ps, fam->created);
    p_i64(&ps, fam->expires);
    if (!xcount(k, Q_INS_FAM, &ps, &n))
        goto out;
    if (n != 1) {
        e = AG_ERR_EXISTS;
        goto out;
    }
    if (!insert_token(k, a->tok->hash, fam->sid, fam->sid_len, a->tok->generation,
                      a->tok->issued, a->tok->expires, &inserted))
        goto out;
    if (!inserted) {
        e = AG_ERR_EXISTS; /* the rollback below removes the family again */
        goto out;
    }
    if (commit(k))
        e = AG_OK;
out:
    rollback(k);
    return e;
}

static ag_err pg_put(ag_store *st, const ag_store_family *fam, const ag_store_token *tok)
{
    put_args a = {fam, tok};
    return run_op((pgstore *)st, op_put, &a);
}

typedef struct rotate_args {
    const ag_store_rotation *rot;
    ag_store_rotated out;
} rotate_args;

/* Reuse: the family is revoked in this same transaction. */
static ag_err revoke_for_reuse(call *k, const ag_store_family *f, int64_t now)
{
    params ps = {0};
    p_bytes(&ps, f->sid, f->sid_len);
    p_i64(&ps, now);
    p_i16(&ps, AG_REVOKE_REUSE);
    if (!xrun(k, Q_REVOKE_REUSE, &ps) || !commit(k))
        return AG_ERR_STORE;
    return AG_ERR_REUSED;
}

static ag_err op_rotate(call *k, void *arg)
{
    rotate_args *a = arg;
    const ag_store_rotation *rot = a->rot;
    ag_store_rotated *out = &a->out;
    ag_store_token t, succ;
    ag_store_family f;
    ag_err e = AG_ERR_STORE;
    if (!begin(k))
        goto out;
    /* 1. Lock the family the caller names; every writer of its rows takes
     * this lock first, so what we read next is current. */
    e = find_family(k, Q_FAM_LOCK, rot->sid, rot->sid_len, &f);
    if (e == AG_OK)
        e = find_token(k, rot->old_hash, &t);
    if (e == AG_ERR_NOT_FOUND ||
        (e == AG_OK && (!span_eq(t.sid, t.sid_len, f.sid, f.sid_len) ||
                        !span_eq(f.subject, f.subject_len, rot->subject, rot->subject_len)))) {
        e = AG_ERR_UNKNOWN;
        goto out;
    }
    if (e != AG_OK)
        goto out;
    /* 2. */
    if (f.revoked_at != 0) {
        e = AG_ERR_REVOKED;
        goto out;
    }
    /* 3. */
    if (t.used_at != 0) {
        if (rot->reuse_interval > 0 && t.used_at >= rot->now - rot->reuse_interval &&
            t.has_successor && ag__ct_eq(t.successor, rot->new_hash, AG_STORE_HASH_LEN)) {
            e = find_token(k, rot->new_hash, &succ);
            if (e == AG_ERR_STORE)
                goto out;
            if (e == AG_OK && succ.used_at == 0 && span_eq(succ.sid, succ.sid_len, f.sid, f.sid_len)) {
                if (!commit(k)) {
                    e = AG_ERR_STORE;
                    goto out;
                }
                out->outcome = AG_STORE_REPLAYED;
                out->generation = succ.generation;
                out->issued = succ.issued;
                out->expires = succ.expires;
                out->family_expires = f.expires;
                e = AG_OK;
                goto out;
            }
        }
        e = revoke_for_reuse(k, &f, rot->now);
        goto out;
    }
    /* 4. */
    if (t.expires <= rot->now || f.expires <= rot->now) {
        e = AG_ERR_EXPIRED;
        goto out;
    }
    /* 6. The conditional consume, then the successor, one transaction. */
    e = AG_ERR_STORE;
    params ps = {0};
    p_bytes(&ps, rot->old_hash, AG_STORE_HASH_LEN);
    p_i64(&ps, rot->now);
    p_bytes(&ps, rot->new_hash, AG_STORE_HASH_LEN);
    PGresult *r = xq(k, Q_CONSUME, &ps);
    int consumed = r != NULL ? PQntuples(r) : -1;
    PQclear(r);
    if (consumed != 1) /* impossible under the family lock: fail closed */
        goto out;
    int64_t exp = rot->new_expires < f.expires ? rot->new_expires : f.expires;
    bool inserted = false;
    if (!insert_token(k, rot->new_hash, f.sid, f.sid_len, t.generation + 1, rot->now, exp,
                      &inserted))
        goto out;
    if (!inserted) {
        e = AG_ERR_EXISTS; /* rolled back below: the consume is undone */
        goto out;
    }
    if (!commit(k))
        goto out;
    out->outcome = AG_STORE_ROTATED;
    out->generation = t.generation + 1;
    out->issued = rot->now;
    out->expires = exp;
    out->family_expires = f.expires;
    e = AG_OK;
out:
    rollback(k);
    return e;
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

typedef struct lookup_args {
    const uint8_t *hash;
    ag_store_token t;
    ag_store_family f;
} lookup_args;

static ag_err op_lookup(call *k, void *arg)
{
    lookup_args *a = arg;
    params ps = {0};
    PGresult *r = NULL;
    p_bytes(&ps, a->hash, AG_STORE_HASH_LEN);
    ag_err e = one_row(k, Q_ROW, &ps, &r); /* one statement: one snapshot */
    if (e == AG_OK) {
        if (read_token(r, a->hash, &a->t) && read_family(r, 5, &a->f)) {
            ag__store_str_set(a->t.sid, &a->t.sid_len, a->f.sid, a->f.sid_len);
            a->t.revoked_at = a->f.revoked_at;
            a->t.reason = a->f.reason;
        } else {
            e = AG_ERR_STORE;
        }
    }
    PQclear(r);
    return e;
}

static ag_err pg_lookup(ag_store *st, const uint8_t hash[AG_STORE_HASH_LEN], ag_store_token *tok,
                        ag_store_family *fam)
{
    lookup_args a;
    memset(&a, 0, sizeof a);
    a.hash = hash;
    ag_err e = run_op((pgstore *)st, op_lookup, &a);
    if (e == AG_OK) {
        if (tok != NULL)
            *tok = a.t;
        if (fam != NULL)
            *fam = a.f;
    }
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

static ag_err pg_revoke_subject(ag_store *st, const char *subject, size_t subject_len,
                                int64_t now, ag_revoke_reason reason, size_t *count)
{
    subject_args a = {subject, subject_len, now, reason, 0};
    ag_err e = run_op((pgstore *)st, op_revoke_subject, &a);
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
    size_t n = 0, nf = 0;
    ag_err e = AG_ERR_STORE;
    p_i64(&ps, a->now);
    if (begin(k) && xcount(k, Q_PURGE_TOK, &ps, &n) && xcount(k, Q_PURGE_FAM, &ps, &nf) &&
        commit(k)) {
        a->removed = n;
        e = AG_OK;
    }
    rollback(k);
    return e;
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
    int64_t t = 0, f = 0;
    ag_err e = one_row(k, Q_COUNTS, NULL, &r);
    if (e == AG_OK && (!col_int(r, 0, &t) || !col_int(r, 1, &f) || t < 0 || f < 0))
        e = AG_ERR_STORE;
    PQclear(r);
    if (e == AG_OK) {
        s->tokens = (size_t)t;
        s->families = (size_t)f;
    }
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
    p->base.put = pg_put;
    p->base.rotate = pg_rotate;
    p->base.lookup = pg_lookup;
    p->base.lookup_family = pg_lookup_family;
    p->base.revoke_family = pg_revoke_family;
    p->base.revoke_subject = pg_revoke_subject;
    p->base.purge_expired = pg_purge;
    p->base.stats = pg_stats;
    p->base.close = pg_close;
    *out = &p->base;
    return AG_OK;
}

#endif /* AG_HAVE_POSTGRES */

/* SPDX-License-Identifier: MIT */
/*
 * authgate — the PostgreSQL store's connections: the pool (a call takes
 * one connection for its whole duration), the reset of broken and dead
 * connections, the retry rule of R-06, and prepared statements executed
 * with binary parameters and binary results.
 *
 * @test tests/store/test_store_pg.c (killed_connections_reconnect,
 *       statement_timeout_fails_closed, server_restart_fails_closed_then_recovers)
 */
#include "store_pg_int.h"

#ifdef AG_HAVE_POSTGRES

#include <poll.h>
#include <string.h>

/* ---- the pool ------------------------------------------------------------ */

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* the library never prints */
}

/* Sets the session up: silent notices, the statement timeout. */
bool ag__pg_conn_session(const ag__pg_pool *p, PGconn *c)
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
bool ag__pg_conn_prepare(const ag__pg_pool *p, PGconn *c)
{
    bool ok = true;
    for (int i = 0; ok && i < p->nstmts; i++) {
        const ag__pg_stmt *s = &p->stmts[i];
        PGresult *r = PQprepare(c, s->name, s->sql, s->nparams, s->types);
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
static bool conn_usable(const ag__pg_pool *p, ag__pg_conn *pc)
{
    if (pc->ready && PQstatus(pc->c) == CONNECTION_OK &&
        PQtransactionStatus(pc->c) == PQTRANS_IDLE && !idle_dead(pc->c))
        return true;
    pc->ready = false;
    PQreset(pc->c);
    if (PQstatus(pc->c) != CONNECTION_OK || !ag__pg_conn_session(p, pc->c) ||
        !ag__pg_conn_prepare(p, pc->c))
        return false;
    pc->ready = true;
    return true;
}

static ag__pg_conn *acquire(ag__pg_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    ag__pg_conn *pc = p->freelist[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    return pc;
}

static void release(ag__pg_pool *p, ag__pg_conn *pc)
{
    pthread_mutex_lock(&p->mu);
    p->freelist[p->nfree++] = pc;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/*
 * Runs one operation on a pooled connection, with the retry rule: once
 * more on a reset connection when the first attempt failed only because
 * the connection broke and nothing had been committed.
 */
ag_err ag__pg_run(ag__pg_pool *p, ag__pg_op fn, void *arg)
{
    ag__pg_conn *pc = acquire(p);
    ag_err e = AG_ERR_STORE;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!conn_usable(p, pc)) {
            e = AG_ERR_STORE;
            break;
        }
        ag__pg_call k = {pc->c, p->stmts, false, false};
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

void ag__pg_p_bytes(ag__pg_params *ps, const void *b, size_t n)
{
    ps->v[ps->n] = b;
    ps->len[ps->n] = (int)n;
    ps->fmt[ps->n++] = 1;
}

void ag__pg_p_null(ag__pg_params *ps)
{
    ps->v[ps->n] = NULL;
    ps->len[ps->n] = 0;
    ps->fmt[ps->n++] = 1;
}

/* Binary int8 / int4 / int2: network byte order. */
static void p_int(ag__pg_params *ps, int64_t x, int width)
{
    char *b = ps->ibuf[ps->n];
    uint64_t u = (uint64_t)x;
    for (int i = width - 1; i >= 0; i--) {
        b[i] = (char)(u & 0xff);
        u >>= 8;
    }
    ag__pg_p_bytes(ps, b, (size_t)width);
}

void ag__pg_p_i64(ag__pg_params *ps, int64_t x)
{
    p_int(ps, x, 8);
}

void ag__pg_p_i32(ag__pg_params *ps, int32_t x)
{
    p_int(ps, x, 4);
}

void ag__pg_p_i16(ag__pg_params *ps, int x)
{
    p_int(ps, x, 2);
}

/*
 * Executes a prepared statement with binary parameters and binary results.
 * Returns the result on success (caller PQclear()s it), NULL on failure,
 * noting in k whether the connection broke.
 */
PGresult *ag__pg_exec(ag__pg_call *k, int q, const ag__pg_params *ps)
{
    static const ag__pg_params none = {0};
    if (ps == NULL)
        ps = &none;
    if (q == AG__PG_Q_COMMIT)
        k->commit_sent = true;
    PGresult *r = PQexecPrepared(k->c, k->stmts[q].name, ps->n, ps->v, ps->len, ps->fmt, 1);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    PQclear(r);
    if (PQstatus(k->c) != CONNECTION_OK)
        k->broken = true;
    return NULL;
}

/* Runs a statement whose result is not needed. */
bool ag__pg_exec_ok(ag__pg_call *k, int q, const ag__pg_params *ps)
{
    PGresult *r = ag__pg_exec(k, q, ps);
    PQclear(r);
    return r != NULL;
}

/* Runs a write and reports how many rows it touched. */
bool ag__pg_exec_count(ag__pg_call *k, int q, const ag__pg_params *ps, size_t *n)
{
    PGresult *r = ag__pg_exec(k, q, ps);
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

bool ag__pg_begin(ag__pg_call *k)
{
    return ag__pg_exec_ok(k, AG__PG_Q_BEGIN, NULL);
}

/* COMMIT; true only when the server answered that it committed (a COMMIT
 * of a failed transaction answers ROLLBACK). */
bool ag__pg_commit(ag__pg_call *k)
{
    PGresult *r = ag__pg_exec(k, AG__PG_Q_COMMIT, NULL);
    bool ok = r != NULL && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    PQclear(r);
    return ok;
}

/* Ends an open transaction without effect (no-op when none is open). */
void ag__pg_rollback(ag__pg_call *k)
{
    if (PQstatus(k->c) == CONNECTION_OK && PQtransactionStatus(k->c) != PQTRANS_IDLE)
        (void)ag__pg_exec_ok(k, AG__PG_Q_ROLLBACK, NULL);
}

static bool col_null(const PGresult *r, int row, int c)
{
    return PQgetisnull(r, row, c) != 0;
}

/* Binary integer column (int2/int4/int8); NULL reads as 0. */
bool ag__pg_col_int(const PGresult *r, int row, int c, int64_t *out)
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

bool ag__pg_col_text(const PGresult *r, int row, int c, char *dst, size_t *dst_len, size_t max)
{
    int n = PQgetlength(r, row, c);
    const char *p = PQgetvalue(r, row, c);
    if (col_null(r, row, c) || n <= 0 || !ag__store_str_ok(p, (size_t)n, max))
        return false;
    ag__store_str_set(dst, dst_len, p, (size_t)n);
    return true;
}

/* A hash column: *has false for NULL (the buffer zeroed). */
bool ag__pg_col_hash(const PGresult *r, int c, uint8_t out[AG_STORE_HASH_LEN], bool *has)
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

/* Runs a one-row-or-none query. Returns AG_OK with *out, AG_ERR_NOT_FOUND,
 * or AG_ERR_STORE. */
ag_err ag__pg_one_row(ag__pg_call *k, int q, const ag__pg_params *ps, PGresult **out)
{
    PGresult *r = ag__pg_exec(k, q, ps);
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

#else

typedef int ag__pg_conn_unused; /* ISO C forbids an empty translation unit */

#endif /* AG_HAVE_POSTGRES */

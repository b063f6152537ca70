/* SPDX-License-Identifier: MIT */
/*
 * authgate — PostgreSQL store internals (not installed).
 */
#ifndef AUTHGATE_STORE_PG_INT_H
#define AUTHGATE_STORE_PG_INT_H

#include "store_int.h"

/* The PostgreSQL chain, in application order: the same ids and parents as
 * the SQLite chain, with PostgreSQL DDL and catalog preconditions.
 * @test tests/store/test_store_pg.c (chain_matches_sqlite) */
const ag__migration *ag__pg_migrations(size_t *count);

#ifdef AG_HAVE_POSTGRES
#include <libpq-fe.h>

/* A new connection for cfg (connect_timeout, application_name "authgate",
 * UTF8; cfg->conninfo expanded over those defaults). NULL only when out of
 * memory; check PQstatus. (store_pg_schema.c) */
PGconn *ag__pg_connect(const ag_store_pg_config *cfg);

/* Inspects the schema, applies the missing migrations under the advisory
 * lock, and checks the result: AG_OK, AG_ERR_STORE (no usable schema, a
 * foreign table, a failed statement) or AG_ERR_STORE_VERSION (a version
 * this build does not know; nothing is changed). (store_pg_schema.c)
 * @test tests/store/test_store_pg.c, tests/pg/test_pg.py */
ag_err ag__pg_prepare_schema(PGconn *c);

/* ---- connections, the pool, statements (store_pg_conn.c) ---------------- */

#include <pthread.h>

#define AG__PG_MAXP 9
/* Every statement table starts with these three (the pool runs them). */
#define AG__PG_Q_BEGIN 0
#define AG__PG_Q_COMMIT 1
#define AG__PG_Q_ROLLBACK 2
/* pg_advisory_xact_lock key ordering revocation-log appends ("agrevlog") */
#define AG__PG_LOG_LOCK "7018704324384288615"
/* The channel every revocation-log append NOTIFYs (payload: the new id). */
#define AG__PG_CHANNEL "ag_revocations"

/* A statement prepared on every connection. */
typedef struct ag__pg_stmt {
    const char *name;
    const char *sql;
    int nparams;
    Oid types[AG__PG_MAXP];
} ag__pg_stmt;

typedef struct ag__pg_conn {
    PGconn *c;
    bool ready; /* connected, timeout set, statements prepared */
} ag__pg_conn;

/* n connections; a call takes one for its whole duration. */
typedef struct ag__pg_pool {
    const ag__pg_stmt *stmts; /* prepared on each connection */
    int nstmts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char timeout[16]; /* statement_timeout, text milliseconds */
    size_t n;
    size_t nfree;
    ag__pg_conn **freelist; /* n slots, nfree used */
    ag__pg_conn *conns;     /* n */
} ag__pg_pool;

/* One call's view of its connection. */
typedef struct ag__pg_call {
    PGconn *c;
    const ag__pg_stmt *stmts;
    bool broken;      /* a statement failed because the connection broke */
    bool commit_sent; /* a COMMIT or a self-committing write is in flight: a lost
                         answer leaves its outcome unknown, so no retry */
} ag__pg_call;

typedef ag_err (*ag__pg_op)(ag__pg_call *k, void *arg);

/* Binary parameters of one statement. */
typedef struct ag__pg_params {
    int n;
    const char *v[AG__PG_MAXP];
    int len[AG__PG_MAXP];
    int fmt[AG__PG_MAXP];
    char ibuf[AG__PG_MAXP][8];
} ag__pg_params;

/* Sets a new session up: silent notices, the statement timeout. */
bool ag__pg_conn_session(const ag__pg_pool *p, PGconn *c);
/* Prepares every statement of p on c (the tables must exist). */
bool ag__pg_conn_prepare(const ag__pg_pool *p, PGconn *c);

/* Runs fn on a pooled connection (reset first when broken or dead), with
 * the retry rule: once more on a reset connection when the attempt failed
 * only because the connection broke and k->commit_sent was false. */
ag_err ag__pg_run(ag__pg_pool *p, ag__pg_op fn, void *arg);

/* ---- the log listener (store_pg_listen.c) -------------------------------- */

/* A connection of its own that LISTENs on AG__PG_CHANNEL. Used by one
 * thread at a time (the store's follower). */
typedef struct ag__pg_listener {
    PGconn *c;         /* NULL until the first wait */
    bool listening;    /* connected and LISTENing */
    int backoff;       /* ms after the last failed attempt; 0 after a success */
    int64_t next_try;  /* monotonic ms: no attempt before */
    unsigned connects; /* successful (re)connects so far */
} ag__pg_listener;

/* log_wait: AG_OK on a notification or a (re)connect (the caller must read
 * the log then); AG_ERR_NOT_FOUND on a timeout, or while backing off;
 * AG_ERR_STORE when the connection was found lost or an attempt failed
 * (the next wait retries). */
ag_err ag__pg_listen_wait(ag__pg_listener *l, ag__pg_pool *p, int timeout_ms);
void ag__pg_listen_close(ag__pg_listener *l);

void ag__pg_p_bytes(ag__pg_params *ps, const void *b, size_t n);
void ag__pg_p_null(ag__pg_params *ps);
void ag__pg_p_i64(ag__pg_params *ps, int64_t x);
void ag__pg_p_i32(ag__pg_params *ps, int32_t x);
void ag__pg_p_i16(ag__pg_params *ps, int x);

/* Executes prepared statement q (binary results): the result (PQclear
 * it) or NULL, noting a broken connection in k. A COMMIT sets
 * k->commit_sent. */
PGresult *ag__pg_exec(ag__pg_call *k, int q, const ag__pg_params *ps);
/* The same, result dropped: whether it succeeded. */
bool ag__pg_exec_ok(ag__pg_call *k, int q, const ag__pg_params *ps);
/* The same for a write: the rows it touched in *n. */
bool ag__pg_exec_count(ag__pg_call *k, int q, const ag__pg_params *ps, size_t *n);
/* A one-row-or-none query: AG_OK with *out, AG_ERR_NOT_FOUND, AG_ERR_STORE. */
ag_err ag__pg_one_row(ag__pg_call *k, int q, const ag__pg_params *ps, PGresult **out);
bool ag__pg_begin(ag__pg_call *k);
/* True only when the server answered that it committed. */
bool ag__pg_commit(ag__pg_call *k);
/* Ends an open transaction without effect (no-op when none is open). */
void ag__pg_rollback(ag__pg_call *k);

/* Binary result columns of row `row`: an integer (int2/4/8; NULL reads
 * 0), text of 1..max bytes without NUL, a 32-byte hash (*has false for
 * NULL, row 0). False on anything else. */
bool ag__pg_col_int(const PGresult *r, int row, int c, int64_t *out);
bool ag__pg_col_text(const PGresult *r, int row, int c, char *dst, size_t *dst_len, size_t max);
bool ag__pg_col_hash(const PGresult *r, int c, uint8_t out[AG_STORE_HASH_LEN], bool *has);

/* ---- listing a subject's sessions (store_pg_list.c) ---------------------- */

/* The pool of a store made by ag_store_pg_open (store_pg.c). */
ag__pg_pool *ag__pg_pool_of(ag_store *st);
/* The list_subject operation (store.h). */
ag_err ag__pg_list_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                           ag_store_family *out, size_t cap, size_t *n, size_t *total);
#endif

#endif

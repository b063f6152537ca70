/* SPDX-License-Identifier: MIT */
/*
 * authgate — the PostgreSQL store's log_wait: LISTEN/NOTIFY on a
 * connection of its own, so a follower (ag_revsync) hears of a revocation
 * as soon as it commits instead of at its next poll.
 *
 * Every append to the revocation log NOTIFYs channel AG__PG_CHANNEL in
 * its own transaction, with the new row's id as the payload (never a sid,
 * a subject or anything secret). A notification is only a wake-up: the
 * follower then reads the log by id through the pool, so what it applies
 * is whatever committed, never the payload.
 *
 * The listening connection is not one of the pool's (a pooled connection
 * must not receive notifications: the pool takes a readable idle socket
 * for a dead one). It is made at the first wait, with the parameters libpq
 * holds for a pooled connection (copied, used, cleansed), and LISTENs from
 * then until the store is closed. A lost connection is reported
 * (AG_ERR_STORE) and re-established on the next wait with libpq's own
 * copy of its parameters, with a backoff of 100 ms doubling to 5 s while
 * attempts fail. Every successful (re)connect returns AG_OK without
 * waiting, so the follower's catch-up read by id runs right after it: a
 * notification sent while the listener was away is never a lost
 * revocation. While no listener is up the wait is a plain sleep (no
 * news), so the follower falls back to reading the log through the pool
 * every interval.
 *
 * Thread safety: one thread at a time calls log_wait (a store has one
 * follower); it only touches the listener and, once, a pooled connection
 * through the pool. A (re)connect may block up to the connect timeout.
 *
 * @test tests/store/test_revsync_pg.c
 */
#include "store_pg_int.h"

#ifdef AG_HAVE_POSTGRES

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define MAX_OPTS 128

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Opens a new connection with a pooled connection's parameters (libpq's
 * copy of the caller's conninfo: authgate keeps none). The copy holds the
 * password, if any: it is cleansed before it is freed. */
static ag_err op_clone(ag__pg_call *k, void *arg)
{
    PGconn **out = arg;
    PQconninfoOption *o = PQconninfo(k->c);
    if (o == NULL)
        return AG_ERR_NOMEM;
    const char *kw[MAX_OPTS + 1], *val[MAX_OPTS + 1];
    int n = 0;
    for (PQconninfoOption *p = o; p->keyword != NULL && n < MAX_OPTS; p++) {
        if (p->val == NULL)
            continue;
        kw[n] = p->keyword;
        val[n++] = p->val;
    }
    kw[n] = val[n] = NULL;
    *out = PQconnectdbParams(kw, val, 0);
    for (PQconninfoOption *p = o; p->keyword != NULL; p++)
        if (p->val != NULL)
            ag_cleanse(p->val, strlen(p->val));
    PQconninfoFree(o);
    return *out != NULL ? AG_OK : AG_ERR_NOMEM;
}

/* Connects (or reconnects) the listener and LISTENs. The application name
 * lets an operator (and a test) tell the listener from pooled connections. */
static ag_err connect_listen(ag__pg_listener *l, ag__pg_pool *p)
{
    l->listening = false;
    if (l->c == NULL) {
        ag_err e = ag__pg_run(p, op_clone, &l->c);
        if (e != AG_OK)
            return e;
    } else {
        PQreset(l->c);
    }
    if (PQstatus(l->c) != CONNECTION_OK || !ag__pg_conn_session(p, l->c))
        return AG_ERR_STORE;
    PGresult *r =
        PQexec(l->c, "SET application_name = 'authgate listener'; LISTEN " AG__PG_CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        return AG_ERR_STORE;
    l->listening = true;
    l->connects++;
    return AG_OK;
}

/* Drops the notifications libpq has parsed: whether there were any. The
 * payload (an id) is not needed: the follower reads by id anyway. */
static bool drain(PGconn *c)
{
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(c)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

static ag_err lost(ag__pg_listener *l)
{
    l->listening = false;
    l->next_try = 0; /* reconnect on the next wait, at once */
    return AG_ERR_STORE;
}

ag_err ag__pg_listen_wait(ag__pg_listener *l, ag__pg_pool *p, int timeout_ms)
{
    int64_t now = mono_ms(), deadline = now + timeout_ms;
    if (!l->listening) {
        if (now < l->next_try) {
            /* backing off: a plain sleep, the follower polls meanwhile */
            sleep_ms((l->next_try < deadline ? l->next_try : deadline) - now);
            if (mono_ms() < l->next_try)
                return AG_ERR_NOT_FOUND;
        }
        ag_err e = connect_listen(l, p);
        if (e != AG_OK) {
            l->backoff = l->backoff == 0                   ? BACKOFF_MIN_MS
                         : l->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                           : l->backoff * 2;
            l->next_try = mono_ms() + l->backoff;
            return e;
        }
        l->backoff = 0;
        return AG_OK; /* (re)connected: the caller's read catches up */
    }
    for (;;) {
        if (!PQconsumeInput(l->c) || PQstatus(l->c) != CONNECTION_OK)
            return lost(l);
        if (drain(l->c))
            return AG_OK;
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return AG_ERR_NOT_FOUND;
        struct pollfd pfd = {PQsocket(l->c), POLLIN, 0};
        if (pfd.fd < 0)
            return lost(l);
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno != EINTR)
            return lost(l);
        if (r == 0)
            return AG_ERR_NOT_FOUND; /* timeout */
    }
}

void ag__pg_listen_close(ag__pg_listener *l)
{
    if (l->c != NULL)
        PQfinish(l->c);
    memset(l, 0, sizeof *l);
}

#else

typedef int ag__pg_listen_unused; /* ISO C forbids an empty translation unit */

#endif /* AG_HAVE_POSTGRES */

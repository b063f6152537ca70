/* SPDX-License-Identifier: MIT */
/*
 * authgate — the PostgreSQL store's log_wait: LISTEN/NOTIFY on a
 * connection of its own (a pooled one must not receive notifications: the
 * pool takes a readable idle socket for a dead one), so a follower
 * (ag_revsync) hears of a revocation as soon as it commits. A notification
 * is only a wake-up (its payload is the log row's id); the follower reads
 * the log by id, also right after every reconnect, so nothing sent while
 * the listener was away is lost. One thread at a time (the store's one
 * follower). Backoff, fallback and what to budget: docs/operations.md,
 * "Revocation across instances".
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

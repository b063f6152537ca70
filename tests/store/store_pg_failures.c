/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL store under hostile input and a failing server: hostile
 * strings are data (bound parameters only), a statement stuck behind a
 * lock ends at statement_timeout, killed connections are replaced, and
 * a server stopped and restarted mid-run fails every call closed, then
 * recovers with nothing lost or doubled.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pg_fixture.h"
#include "testsupport.h"

/* Bound parameters only: hostile text is data. */
START_TEST(hostile_strings_are_data)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = open_at(schema);
    const char *sid = "x'); DROP TABLE ag_families; --";
    const char *sub = "o'brien\\\"$1 ü";
    uint8_t h[32], h2[32];
    rand_hash(h);
    rand_hash(h2);
    h[0] = 0; /* bytea with NUL bytes */
    h[31] = '\'';
    ck_assert_int_eq(create_one(st, sid, sub, h), AG_OK);
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, sid, strlen(sid), &f), AG_OK);
    ck_assert_str_eq(f.subject, sub);
    ck_assert_int_eq(rotate_one(st, sid, sub, h, h2, 0, NULL), AG_OK);
    size_t n = 0;
    ck_assert_int_eq(ag_store_revoke_subject(st, sub, strlen(sub), T0 + 20, AG_REVOKE_LOGOUT_ALL,
                                             NULL, NULL, &n),
                     AG_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_families"), 1);
    f = family_of(st, sid);
    ck_assert_int_eq(f.reason, AG_REVOKE_LOGOUT_ALL);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* A statement stuck behind a lock ends at statement_timeout with
 * AG_ERR_STORE (fail closed, R-06), changes nothing, and the connection
 * serves the next call. */
START_TEST(statement_timeout_fails_closed)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = NULL;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 1, 300, &st), AG_OK);
    uint8_t h[32], h2[32];
    rand_hash(h);
    rand_hash(h2);
    ck_assert_int_eq(create_one(st, "locked", "alice", h), AG_OK);
    PGconn *c = raw_connect(base_conninfo, schema);
    raw_exec_on(c, "BEGIN; SELECT 1 FROM ag_families WHERE sid = 'locked' FOR UPDATE");
    ck_assert_int_eq(rotate_one(st, "locked", "alice", h, h2, 0, NULL), AG_ERR_STORE);
    raw_exec_on(c, "ROLLBACK");
    PQfinish(c);
    ag_store_family f = family_of(st, "locked");
    ck_assert_uint_eq(f.generation, 0);
    ck_assert_mem_eq(f.current, h, 32);
    ck_assert_int_eq(rotate_one(st, "locked", "alice", h, h2, 0, NULL), AG_OK);
    /* the slow path (a reuse) stuck behind the lock fails closed too */
    c = raw_connect(base_conninfo, schema);
    raw_exec_on(c, "BEGIN; SELECT 1 FROM ag_families WHERE sid = 'locked' FOR UPDATE");
    ck_assert_int_eq(rotate_one(st, "locked", "alice", h, h2, 0, NULL), AG_ERR_STORE);
    raw_exec_on(c, "ROLLBACK");
    PQfinish(c);
    f = family_of(st, "locked");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_uint_eq(f.generation, 1);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* Terminates every store connection and waits (bounded) until the server
 * has closed them, so the pool finds them dead before its next call. */
static void kill_store_backends(void)
{
    raw_exec(NULL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   " WHERE application_name = 'authgate' AND pid <> pg_backend_pid()");
    for (int i = 0; i < 500; i++) {
        if (raw_int(NULL, "SELECT count(*) FROM pg_stat_activity"
                          " WHERE application_name = 'authgate'") == 0)
            return;
        sleep_ms(10);
    }
    ck_abort_msg("terminated backends did not go away");
}

/* Connections killed under the pool (pg_terminate_backend, as a failover
 * or an idle-connection reaper would): the next calls reconnect and
 * succeed, nothing lost or doubled. */
START_TEST(killed_connections_reconnect)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = NULL;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 2, 0, &st), AG_OK);
    uint8_t h[4][32];
    for (int i = 0; i < 4; i++)
        rand_hash(h[i]);
    ck_assert_int_eq(create_one(st, "k", "alice", h[0]), AG_OK);
    for (int i = 0; i < 3; i++) {
        kill_store_backends();
        ck_assert_int_eq(rotate_one(st, "k", "alice", h[i], h[i + 1], 0, NULL), AG_OK);
    }
    ag_store_family f = family_of(st, "k");
    ck_assert_uint_eq(f.generation, 3);
    ck_assert_mem_eq(f.current, h[3], 32);
    ck_assert_mem_eq(f.previous, h[2], 32);
    ck_assert_int_eq(f.revoked_at, 0);
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

/* ---- the server restarted mid-run (R-06) -------------------------------------- */

/* Paced at about 1,000 rotations a second, the chain lasts over a minute:
 * longer than the case, however fast one rotation is. */
#define CHAIN 65536

typedef struct churn {
    ag_store *st;
    uint8_t (*chain)[32];
    volatile int step; /* rotations done (read by the main thread) */
    volatile int stop;
    int failures;      /* AG_ERR_STORE answers */
    ag_err unexpected; /* anything but OK / STORE */
    pthread_mutex_t mu;
} churn;

static void *churn_thread(void *arg)
{
    churn *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int step = c->step, stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (stop || step + 1 >= CHAIN)
            break;
        /* the successor is fixed per step (as the session layer derives
         * it) and the reuse interval is on, so a retry after an unknown
         * commit outcome is a benign replay, never a fork */
        ag_store_rotated out;
        ag_store_rotation r = request("churn", "alice", c->chain[step], c->chain[step + 1], 60);
        r.max_replays = 3;
        ag_err e = ag_store_rotate(c->st, &r, &out);
        pthread_mutex_lock(&c->mu);
        if (e == AG_OK)
            c->step++;
        else if (e == AG_ERR_STORE)
            c->failures++;
        else
            c->unexpected = e;
        bool bad = e != AG_OK && e != AG_ERR_STORE;
        pthread_mutex_unlock(&c->mu);
        if (bad)
            break;
        sleep_ms(e == AG_ERR_STORE ? 5 : 1);
    }
    return NULL;
}

static int churn_step(churn *c)
{
    pthread_mutex_lock(&c->mu);
    int s = c->step;
    pthread_mutex_unlock(&c->mu);
    return s;
}

/* Waits (bounded) until the churn made `n` more rotations. */
static void churn_advance(churn *c, int n)
{
    int target = churn_step(c) + n;
    for (int i = 0; i < 6000 && churn_step(c) < target && c->unexpected == AG_OK; i++)
        sleep_ms(5);
    ck_assert_int_eq(c->unexpected, AG_OK);
    ck_assert_int_ge(churn_step(c), target);
}

START_TEST(server_restart_fails_closed_then_recovers)
{
    char dir[256], ci[1024];
    bool mine = own_dir[0] == '\0';
    if (mine) {
        ck_assert_msg(cluster_start(dir, sizeof dir, ci, sizeof ci),
                      "cannot start a throwaway PostgreSQL for the restart case");
    } else {
        snprintf(dir, sizeof dir, "%s", own_dir);
        snprintf(ci, sizeof ci, "%s", base_conninfo);
    }
    ag_store *st = NULL;
    ck_assert_int_eq(open_pg(ci, NULL, 2, 0, &st), AG_OK);
    static uint8_t chain[CHAIN][32];
    for (int i = 0; i < CHAIN; i++)
        rand_hash(chain[i]);
    uint8_t f0[32], f1[32], f2[32], g[32];
    rand_hash(f0);
    rand_hash(f1);
    rand_hash(f2);
    rand_hash(g);
    ck_assert_int_eq(create_one(st, "steady", "alice", f0), AG_OK);
    ck_assert_int_eq(rotate_one(st, "steady", "alice", f0, f1, 0, NULL), AG_OK);
    ck_assert_int_eq(create_one(st, "churn", "alice", chain[0]), AG_OK);

    churn c;
    memset(&c, 0, sizeof c);
    c.st = st;
    c.chain = chain;
    c.unexpected = AG_OK;
    pthread_mutex_init(&c.mu, NULL);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, churn_thread, &c), 0);
    churn_advance(&c, 20);

    ck_assert_int_eq(cluster("stop", dir), 0);
    /* Down: every call fails closed, none answers from memory. */
    ag_store_family f;
    ag_store_stats s = AG_INIT(ag_store_stats);
    size_t n;
    ck_assert_int_eq(ag_store_lookup_family(st, "steady", 6, &f), AG_ERR_STORE);
    ck_assert_int_eq(rotate_one(st, "steady", "alice", f1, f2, 0, NULL), AG_ERR_STORE);
    ck_assert_int_eq(rotate_one(st, "steady", "alice", f0, f2, 0, NULL), AG_ERR_STORE);
    ck_assert_int_eq(create_one(st, "new", "bob", g), AG_ERR_STORE);
    ck_assert_int_eq(ag_store_revoke_family(st, "steady", 6, T0 + 20, AG_REVOKE_LOGOUT),
                     AG_ERR_STORE);
    ck_assert_int_eq(
        ag_store_revoke_subject(st, "bob", 3, T0 + 20, AG_REVOKE_LOGOUT_ALL, NULL, NULL, &n),
        AG_ERR_STORE);
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 1, NULL, 0, T0 + 20, NULL, NULL, &n),
                     AG_ERR_STORE);
    ag_store_rotation lo = request("steady", "alice", f1, NULL, 0);
    lo.action = AG_STORE_LOGOUT;
    ag_store_rotated lout;
    ck_assert_int_eq(ag_store_rotate(st, &lo, &lout), AG_ERR_STORE);
    ck_assert_int_eq(ag_store_purge_expired(st, T0, &n), AG_ERR_STORE);
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_ERR_STORE);
    sleep_ms(200); /* let the churn thread hit the outage too */
    ck_assert_int_eq(cluster("resume", dir), 0);

    /* Back: the same store object recovers; nothing done while down. */
    f = family_of(st, "steady");
    ck_assert_mem_eq(f.current, f1, 32);
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_int_eq(ag_store_lookup_family(st, "new", 3, &f), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(rotate_one(st, "steady", "alice", f1, f2, 0, NULL), AG_OK);
    churn_advance(&c, 20);

    /* and a restart while the churn runs, without a pause */
    ck_assert_int_eq(cluster("restart", dir), 0);
    churn_advance(&c, 20);
    pthread_mutex_lock(&c.mu);
    c.stop = 1;
    pthread_mutex_unlock(&c.mu);
    pthread_join(th, NULL);
    ck_assert_int_eq(c.unexpected, AG_OK);
    ck_assert_int_gt(c.failures, 0); /* it did meet the outage */

    /* Nothing lost or doubled: the family is at exactly the step the
     * client reached, its current token that step's, and it was never
     * revoked (a lost answer's retry was a replay, not reuse). */
    int steps = c.step;
    f = family_of(st, "churn");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_uint_eq(f.generation, (uint64_t)steps);
    ck_assert_mem_eq(f.current, chain[steps], 32);
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    ck_assert_uint_eq(s.families, 2);
    pthread_mutex_destroy(&c.mu);
    ag_store_close(st);
    /* leave the shared cluster clean for whatever runs next */
    PGconn *raw = raw_connect(ci, NULL);
    raw_exec_on(raw, "DROP TABLE ag_families, ag_schema");
    PQfinish(raw);
    if (mine)
        ck_assert_int_eq(cluster("destroy", dir), 0);
}
END_TEST

void pg_add_failure_tests(TCase *tc)
{
    tcase_add_test(tc, hostile_strings_are_data);
    tcase_add_test(tc, statement_timeout_fails_closed);
    tcase_add_test(tc, killed_connections_reconnect);
}

/* Last in the suite: it stops and restarts the cluster. */
void pg_add_restart_tests(TCase *tc)
{
    tcase_add_test(tc, server_restart_fails_closed_then_recovers);
}

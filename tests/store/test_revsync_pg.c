/* SPDX-License-Identifier: MIT */
/*
 * Revocation that reaches every instance over PostgreSQL: two session
 * managers on two store handles of one database ("instances" A and B),
 * each with its own revocation set; B follows the revocation log with
 * LISTEN/NOTIFY. B's follower reads the log on its own only once a
 * minute here, so anything that reaches B sooner came through a
 * notification or through the catch-up read after a reconnect.
 *
 * - a logout on A is refused on A at once and on B within a second; the
 *   delay over 1,000 revocations is printed (p50, p99; docs/operations.md);
 * - a notification's payload is the log row's id and nothing else;
 * - log rows that were never notified (a notification lost) are applied
 *   right after the listener's connection is killed and comes back;
 * - the server restarted: revocations made while the listener is away
 *   all reach B, none lost.
 *
 * The server: AG_PG_CONNINFO when set, else a throwaway cluster started
 * with scripts/pg-test-server; the restart case needs our own cluster and
 * starts a second one when AG_PG_CONNINFO is set. It FAILS, never skips,
 * when PostgreSQL cannot be started.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "authgate/session.h"
#include "pg_cluster.h"
#include "testsupport.h"

#define N_PROP 1000
#define SLOW_MS 60000 /* B's own reads: far beyond every bound checked here */

static char base_conninfo[1024];
static char own_dir[256]; /* our throwaway cluster, "" when none */
static unsigned seq;

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *raw_connect(const char *base)
{
    PGconn *c = PQconnectdb(base);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static void raw_exec(const char *base, const char *sql)
{
    PGconn *c = raw_connect(base);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static long long raw_int(const char *base, const char *sql)
{
    PGconn *c = raw_connect(base);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                  PQerrorMessage(c));
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- two instances -------------------------------------------------------- */

typedef struct inst {
    ag_store *st;
    ag_revset *rs;
    ag_verifier *av;
    ag_session *s;
} inst;

static ag_key *g_key;
static ag_keyring *g_ring;
static ag_issuer *g_access, *g_refresh;
static ag_verifier *g_rv;
static char g_ci[1200]; /* the case's database, in its own schema */
static char g_schema[64];
static atomic_int g_errors;

static void on_error(void *ctx, const char *what, ag_err e)
{
    (void)ctx;
    (void)what;
    (void)e;
    atomic_fetch_add(&g_errors, 1);
}

static void shared_setup(const char *base)
{
    static const uint8_t secret[32] = "revsync-test-secret-32-bytes-ok";
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret, 32, "k", &g_key), AG_OK);
    ck_assert_int_eq(ag_keyring_new(NULL, &g_ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(g_ring, g_key), AG_OK);
    ag_issuer_config ac = {.size = sizeof(ag_issuer_config),
                           .key = g_key,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = "iss",
                           .audience = "api",
                           .ttl = 900};
    ag_issuer_config rc = {.size = sizeof(ag_issuer_config),
                           .key = g_key,
                           .kind = AG_TOKEN_REFRESH,
                           .issuer = "iss",
                           .audience = "iss/r",
                           .ttl = 3600};
    ag_verifier_config rv = {.size = sizeof(ag_verifier_config),
                             .keys = g_ring,
                             .kind = AG_TOKEN_REFRESH,
                             .issuer = "iss",
                             .audience = "iss/r",
                             .leeway = 30};
    ck_assert_int_eq(ag_issuer_new(&ac, &g_access), AG_OK);
    ck_assert_int_eq(ag_issuer_new(&rc, &g_refresh), AG_OK);
    ck_assert_int_eq(ag_verifier_new(&rv, &g_rv), AG_OK);
    snprintf(g_schema, sizeof g_schema, "rs%d_%u", (int)getpid(), seq++);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", g_schema);
    raw_exec(base, sql);
    snprintf(g_ci, sizeof g_ci, "%s options='-csearch_path=%s'", base, g_schema);
    atomic_store(&g_errors, 0);
}

static void shared_teardown(const char *base)
{
    ag_issuer_free(g_access);
    ag_issuer_free(g_refresh);
    ag_verifier_free(g_rv);
    ag_keyring_free(g_ring);
    ag_key_free(g_key);
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", g_schema);
    raw_exec(base, sql);
}

static void inst_open(inst *in)
{
    memset(in, 0, sizeof *in);
    ag_store_pg_config sc = {.size = sizeof(ag_store_pg_config), .conninfo = g_ci, .pool_size = 2};
    ck_assert_int_eq(ag_store_pg_open(&sc, &in->st), AG_OK);
    ag_revset_config rc = {
        .size = sizeof(ag_revset_config), .entry_ttl = 930, .capacity = 4 * N_PROP};
    ck_assert_int_eq(ag_revset_new(&rc, &in->rs), AG_OK);
    ag_verifier_config av = {.size = sizeof(ag_verifier_config),
                             .keys = g_ring,
                             .kind = AG_TOKEN_ACCESS,
                             .issuer = "iss",
                             .audience = "api",
                             .leeway = 30,
                             .revocations = in->rs};
    ck_assert_int_eq(ag_verifier_new(&av, &in->av), AG_OK);
    ag_session_config c = {.size = sizeof(ag_session_config),
                           .access_issuer = g_access,
                           .refresh_issuer = g_refresh,
                           .refresh_verifier = g_rv,
                           .store = in->st,
                           .revocations = in->rs,
                           .max_sessions = 100000};
    ck_assert_int_eq(ag_session_new(&c, &in->s), AG_OK);
}

static void inst_close(inst *in)
{
    ag_session_free(in->s);
    ag_verifier_free(in->av);
    ag_revset_free(in->rs);
    ag_store_close(in->st);
}

static ag_revsync *follow_b(inst *b)
{
    ag_revsync *f = NULL;
    ag_revsync_config fc = {.size = sizeof(ag_revsync_config),
                            .store = b->st,
                            .revocations = b->rs,
                            .interval_ms = SLOW_MS,
                            .on_error = on_error};
    ck_assert_int_eq(ag_revsync_start(&fc, &f), AG_OK);
    return f;
}

static ag_err access_on(const inst *in, const ag_session_tokens *t)
{
    ag_claims *c = malloc(sizeof *c);
    if (c != NULL)
        *c = (ag_claims)AG_INIT(ag_claims);
    ck_assert_ptr_nonnull(c);
    ag_err e = ag_verify(in->av, (const uint8_t *)t->access, t->access_len, AG_TEST_SCRATCH(c), c);
    free(c);
    return e;
}

/* Listeners of this process's stores (the application name they set). */
static long long listeners(const char *base)
{
    return raw_int(base, "SELECT count(*) FROM pg_stat_activity"
                         " WHERE application_name = 'authgate listener'");
}

static void wait_listening(const char *base)
{
    double give_up = mono() + 10;
    while (listeners(base) < 1 && mono() < give_up)
        sleep_ms(20);
    ck_assert_int_ge(listeners(base), 1);
}

/* Waits until every token in t[from..to) is refused on B: the seconds it took. */
static double until_refused(const inst *b, const ag_session_tokens *t, int from, int to,
                            double limit)
{
    double t0 = mono();
    for (;;) {
        int left = 0;
        for (int k = from; k < to; k++)
            left += access_on(b, &t[k]) != AG_ERR_REVOKED;
        if (left == 0)
            return mono() - t0;
        ck_assert_msg(mono() - t0 < limit, "%d revocations did not reach B in %.1f s", left, limit);
        sleep_ms(5);
    }
}

/* ---- propagation ---------------------------------------------------------- */

typedef struct prop {
    inst *b;
    ag_session_tokens *t;
    double revoked[N_PROP];
    double seen[N_PROP];
    atomic_int next;
} prop;

static void *watch_b(void *arg)
{
    prop *p = arg;
    int done = 0;
    double give_up = mono() + 60;
    while (done < N_PROP && mono() < give_up) {
        int made = atomic_load(&p->next);
        for (int k = done; k < made; k++) {
            if (p->seen[k] == 0 && access_on(p->b, &p->t[k]) == AG_ERR_REVOKED)
                p->seen[k] = mono();
        }
        while (done < made && p->seen[done] != 0)
            done++;
        struct timespec pause = {0, 100000}; /* 0.1 ms: leave the cores to the server */
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(logout_reaches_the_other_instance)
{
    shared_setup(base_conninfo);
    inst a, b;
    inst_open(&a);
    inst_open(&b);
    ag_revsync *f = follow_b(&b);
    wait_listening(base_conninfo);
    prop *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    p->b = &b;
    p->t = ag_test_tokens_n(N_PROP);
    ck_assert_ptr_nonnull(p->t);
    for (int k = 0; k < N_PROP; k++) {
        char sub[16];
        snprintf(sub, sizeof sub, "u%d", k);
        ck_assert_int_eq(ag_session_issue(a.s, sub, &p->t[k]), AG_OK);
    }
    double t0 = mono();
    pthread_t w;
    ck_assert_int_eq(pthread_create(&w, NULL, watch_b, p), 0);
    for (int k = 0; k < N_PROP; k++) {
        ck_assert_int_eq(
            ag_session_logout(a.s, (const uint8_t *)p->t[k].refresh, p->t[k].refresh_len), AG_OK);
        p->revoked[k] = mono();
        ck_assert_int_eq(access_on(&a, &p->t[k]), AG_ERR_REVOKED); /* at once on A */
        atomic_store(&p->next, k + 1);
        sleep_ms(1);
    }
    pthread_join(w, NULL);
    printf("(1,000 logouts in %.1f s)\n", mono() - t0);
    double d[N_PROP];
    for (int k = 0; k < N_PROP; k++) {
        ck_assert_msg(p->seen[k] != 0, "revocation %d never reached B", k);
        d[k] = p->seen[k] - p->revoked[k];
        if (d[k] < 0)
            d[k] = 0;
    }
    qsort(d, N_PROP, sizeof d[0], cmp_double);
    printf("revocation propagation over PostgreSQL (LISTEN/NOTIFY, reads every %d s), %d "
           "revocations: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           SLOW_MS / 1000, N_PROP, d[N_PROP / 2] * 1e3, d[N_PROP * 99 / 100] * 1e3,
           d[N_PROP - 1] * 1e3);
    ck_assert_msg(d[N_PROP - 1] < 1.0, "a revocation took %.3f s to reach B", d[N_PROP - 1]);
    ag_revsync_stop(f);
    free(p->t);
    free(p);
    inst_close(&a);
    inst_close(&b);
    shared_teardown(base_conninfo);
}
END_TEST

/* What travels on the channel: the new row's id, nothing else (no sid, no
 * subject): anyone allowed to LISTEN on the database sees the payloads. */
START_TEST(notification_carries_only_an_id)
{
    shared_setup(base_conninfo);
    inst a;
    inst_open(&a);
    PGconn *c = raw_connect(g_ci);
    PGresult *r = PQexec(c, "LISTEN ag_revocations");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    ag_session_tokens *t = ag_test_tokens();
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ag_session_issue(a.s, "frank", t), AG_OK);
    ck_assert_int_eq(ag_session_logout(a.s, (const uint8_t *)t->refresh, t->refresh_len), AG_OK);
    PGnotify *n = NULL;
    double give_up = mono() + 5;
    while (n == NULL && mono() < give_up) {
        ck_assert_int_eq(PQconsumeInput(c), 1);
        n = PQnotifies(c);
        if (n == NULL)
            sleep_ms(5);
    }
    ck_assert_msg(n != NULL, "no notification for a logout");
    ck_assert_str_eq(n->relname, "ag_revocations");
    long long id = raw_int(g_ci, "SELECT max(id) FROM ag_revocations");
    char want[32];
    snprintf(want, sizeof want, "%lld", id);
    ck_assert_str_eq(n->extra, want);
    ck_assert_ptr_null(strstr(n->extra, t->sid));
    PQfreemem(n);
    PQfinish(c);
    free(t);
    inst_close(&a);
    shared_teardown(base_conninfo);
}
END_TEST

/* ---- a lost connection ------------------------------------------------------ */

/* Rows added to the log without a NOTIFY stand for notifications lost while
 * the listener was away: B has no reason to read them until its listener's
 * connection is killed and made again, whose catch-up read applies them. */
START_TEST(killed_listener_catches_up)
{
    enum { N = 40 };
    shared_setup(base_conninfo);
    inst a, b;
    inst_open(&a);
    inst_open(&b);
    ag_revsync *f = follow_b(&b);
    wait_listening(base_conninfo);
    sleep_ms(300); /* and its catch-up read after connecting is done */
    ag_session_tokens *t = ag_test_tokens_n(N);
    ck_assert_ptr_nonnull(t);
    for (int k = 0; k < N; k++)
        ck_assert_int_eq(ag_session_issue(a.s, "dora", &t[k]), AG_OK);
    /* the first half: logged without a notification */
    PGconn *c = raw_connect(g_ci);
    for (int k = 0; k < N / 2; k++) {
        const char *v[2] = {t[k].sid, NULL};
        PGresult *r = PQexecParams(c,
                                   "INSERT INTO ag_revocations (kind, key, at)"
                                   " VALUES (1, $1, extract(epoch from now())::bigint)",
                                   1, NULL, v, NULL, NULL, 0);
        ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    sleep_ms(300);
    ck_assert_int_eq(access_on(&b, &t[0]), AG_OK); /* nothing told B */
    int errors = atomic_load(&g_errors);
    PGresult *r = PQexec(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE application_name = 'authgate listener'");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    ck_assert_int_eq(PQntuples(r), 1);
    PQclear(r);
    PQfinish(c);
    double took = until_refused(&b, t, 0, N / 2, 5.0);
    printf("killed listener: %d unnotified revocations applied %.0f ms after the kill\n", N / 2,
           took * 1e3);
    ck_assert_int_gt(atomic_load(&g_errors), errors); /* the loss was reported */
    /* and the new listener hears the next ones */
    for (int k = N / 2; k < N; k++)
        ck_assert_int_eq(ag_session_logout(a.s, (const uint8_t *)t[k].refresh, t[k].refresh_len),
                         AG_OK);
    (void)until_refused(&b, t, N / 2, N, 1.0);
    ag_revsync_stop(f);
    free(t);
    inst_close(&a);
    inst_close(&b);
    shared_teardown(base_conninfo);
}
END_TEST

/* The server goes away under both instances and comes back: logouts made
 * on A as soon as it is back, while B's listener is still reconnecting
 * (backing off), all reach B; none is lost. */
START_TEST(server_restart_none_lost)
{
    enum { N = 60 };
    char dir[256], base[1024];
    bool second = own_dir[0] == '\0';
    if (second)
        ck_assert_msg(cluster_start(dir, sizeof dir, base, sizeof base),
                      "cannot start a throwaway PostgreSQL for the restart case");
    else {
        snprintf(dir, sizeof dir, "%s", own_dir);
        snprintf(base, sizeof base, "%s", base_conninfo);
    }
    shared_setup(base);
    inst a, b;
    inst_open(&a);
    inst_open(&b);
    ag_revsync *f = follow_b(&b);
    wait_listening(base);
    ag_session_tokens *t = ag_test_tokens_n(N);
    ck_assert_ptr_nonnull(t);
    for (int k = 0; k < N; k++)
        ck_assert_int_eq(ag_session_issue(a.s, "erin", &t[k]), AG_OK);
    int errors = atomic_load(&g_errors);
    ck_assert_int_eq(cluster("stop", dir), 0);
    double give_up = mono() + 10;
    while (atomic_load(&g_errors) == errors && mono() < give_up)
        sleep_ms(20);
    ck_assert_int_gt(atomic_load(&g_errors), errors); /* the loss was reported */
    sleep_ms(400); /* a failed attempt or two: B is backing off */
    ck_assert_int_eq(cluster("resume", dir), 0);
    for (int k = 0; k < N; k++) {
        ag_err e = AG_ERR_STORE;
        for (int tries = 0; tries < 50 && e == AG_ERR_STORE; tries++) {
            e = ag_session_logout(a.s, (const uint8_t *)t[k].refresh, t[k].refresh_len);
            if (e == AG_ERR_STORE)
                sleep_ms(20);
        }
        ck_assert_int_eq(e, AG_OK);
    }
    double took = until_refused(&b, t, 0, N, 10.0);
    printf("server restart: %d revocations made as it came back reached B within %.0f ms\n", N,
           took * 1e3);
    ag_revsync_stop(f);
    free(t);
    inst_close(&a);
    inst_close(&b);
    shared_teardown(base);
    if (second)
        ck_assert_int_eq(cluster("destroy", dir), 0);
}
END_TEST

int main(void)
{
    const char *env = getenv("AG_PG_CONNINFO");
    if (env != NULL && env[0] != '\0') {
        snprintf(base_conninfo, sizeof base_conninfo, "%s", env);
    } else if (!cluster_start(own_dir, sizeof own_dir, base_conninfo, sizeof base_conninfo)) {
        fprintf(stderr,
                "test_revsync_pg: FAILED: cannot start a throwaway PostgreSQL server"
                " with %s (apt-get install postgresql, or set AG_PG_CONNINFO)\n",
                SCRIPT);
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("revsync_pg");
    TCase *tc = tcase_create("instances");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, logout_reaches_the_other_instance);
    tcase_add_test(tc, notification_carries_only_an_id);
    tcase_add_test(tc, killed_listener_catches_up);
    tcase_add_test(tc, server_restart_none_lost);
    suite_add_tcase(s, tc);
    int rc = ag_test_run(s);
    if (own_dir[0] != '\0' && cluster("destroy", own_dir) != 0)
        rc = EXIT_FAILURE;
    return rc;
}

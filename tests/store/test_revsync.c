/* SPDX-License-Identifier: MIT */
/*
 * Revocation that reaches every instance: two session managers on two
 * handles of one SQLite file ("instances" A and B), each with its own
 * revocation set; B follows the store's revocation log. A logout on A is
 * refused on A at once and on B within a second; a follower started after
 * revocations catches up on all of them; the log is purged after its
 * retention; a store without a log has no follower.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authgate/session.h"
#include "testsupport.h"

#define N_PROP 1000

typedef struct inst {
    ag_store *st;
    ag_revset *rs;
    ag_verifier *av;
    ag_session *s;
} inst;

static char g_dir[64], g_path[96];
static ag_key *g_key;
static ag_keyring *g_ring;
static ag_issuer *g_access, *g_refresh;
static ag_verifier *g_rv;

static void shared_setup(void)
{
    static const uint8_t secret[32] = "revsync-test-secret-32-bytes-ok";
    snprintf(g_dir, sizeof g_dir, "/tmp/ag-revsync-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    snprintf(g_path, sizeof g_path, "%s/s.db", g_dir);
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
}

static void shared_teardown(void)
{
    ag_issuer_free(g_access);
    ag_issuer_free(g_refresh);
    ag_verifier_free(g_rv);
    ag_keyring_free(g_ring);
    ag_key_free(g_key);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void inst_open(inst *in)
{
    memset(in, 0, sizeof *in);
    ag_store_sqlite_config sc = {.size = sizeof(ag_store_sqlite_config), .path = g_path};
    ck_assert_int_eq(ag_store_sqlite_open(&sc, &in->st), AG_OK);
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

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct prop {
    inst *b;
    ag_session_tokens *t;   /* N_PROP pairs */
    double revoked[N_PROP]; /* when A revoked it; 0: not yet */
    double seen[N_PROP];    /* when B first refused it */
    atomic_int next;        /* revocations made so far */
    atomic_int stop;
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
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Logout on A: refused on A at once, on B within a second; the delay over
 * 1,000 revocations is printed (p50, p99; docs/operations.md). */
START_TEST(logout_reaches_the_other_instance)
{
    shared_setup();
    inst a, b;
    inst_open(&a);
    inst_open(&b);
    ag_revsync *f = NULL;
    ag_revsync_config fc = {
        .size = sizeof(ag_revsync_config), .store = b.st, .revocations = b.rs, .interval_ms = 100};
    ck_assert_int_eq(ag_revsync_start(&fc, &f), AG_OK);
    prop *p = calloc(1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    p->b = &b;
    p->t = ag_test_tokens_n(N_PROP);
    ck_assert_ptr_nonnull(p->t);
    for (int k = 0; k < N_PROP; k++) {
        char sub[16];
        snprintf(sub, sizeof sub, "u%d", k);
        ck_assert_int_eq(ag_session_issue(a.s, sub, &p->t[k]), AG_OK);
        ck_assert_int_eq(access_on(&b, &p->t[k]), AG_OK);
    }
    pthread_t w;
    ck_assert_int_eq(pthread_create(&w, NULL, watch_b, p), 0);
    for (int k = 0; k < N_PROP; k++) {
        ck_assert_int_eq(
            ag_session_logout(a.s, (const uint8_t *)p->t[k].refresh, p->t[k].refresh_len), AG_OK);
        p->revoked[k] = mono();
        ck_assert_int_eq(access_on(&a, &p->t[k]), AG_ERR_REVOKED); /* at once on A */
        atomic_store(&p->next, k + 1);
        struct timespec gap = {0, 1000000}; /* a revocation a millisecond */
        nanosleep(&gap, NULL);
    }
    pthread_join(w, NULL);
    double d[N_PROP];
    for (int k = 0; k < N_PROP; k++) {
        ck_assert_msg(p->seen[k] != 0, "revocation %d never reached B", k);
        d[k] = p->seen[k] - p->revoked[k];
        if (d[k] < 0)
            d[k] = 0;
    }
    qsort(d, N_PROP, sizeof d[0], cmp_double);
    printf("revocation propagation over SQLite (poll 100 ms), %d revocations: p50 %.0f ms, "
           "p99 %.0f ms, max %.0f ms\n",
           N_PROP, d[N_PROP / 2] * 1e3, d[N_PROP * 99 / 100] * 1e3, d[N_PROP - 1] * 1e3);
    ck_assert_msg(d[N_PROP - 1] < 1.0, "a revocation took %.3f s to reach B", d[N_PROP - 1]);
    ag_revsync_stop(f);
    free(p->t);
    free(p);
    inst_close(&a);
    inst_close(&b);
    shared_teardown();
}
END_TEST

/* B's follower was not running (a disconnect, a restart): a new one
 * catches up on every revocation before it returns. */
START_TEST(follower_catches_up)
{
    shared_setup();
    inst a, b;
    inst_open(&a);
    inst_open(&b);
    ag_session_tokens *t = ag_test_tokens_n(50);
    ck_assert_ptr_nonnull(t);
    for (int k = 0; k < 50; k++)
        ck_assert_int_eq(ag_session_issue(a.s, "carol", &t[k]), AG_OK);
    for (int k = 0; k < 25; k++)
        ck_assert_int_eq(ag_session_logout(a.s, (const uint8_t *)t[k].refresh, t[k].refresh_len),
                         AG_OK);
    ck_assert_int_eq(access_on(&b, &t[0]), AG_OK); /* B has not heard */
    ag_revsync *f = NULL;
    ag_revsync_config fc = {
        .size = sizeof(ag_revsync_config), .store = b.st, .revocations = b.rs, .interval_ms = 5000};
    ck_assert_int_eq(ag_revsync_start(&fc, &f), AG_OK);
    for (int k = 0; k < 50; k++)
        ck_assert_int_eq(access_on(&b, &t[k]), k < 25 ? AG_ERR_REVOKED : AG_OK);
    /* logout-all on A: B refuses every earlier token of the subject */
    ck_assert_int_eq(
        ag_session_logout_all(a.s, (const uint8_t *)t[30].refresh, t[30].refresh_len, NULL), AG_OK);
    size_t applied = 0;
    ck_assert_int_eq(ag_revsync_poll(f, &applied), AG_OK);
    ck_assert_uint_ge(applied, 1);
    for (int k = 25; k < 50; k++)
        ck_assert_int_eq(access_on(&b, &t[k]), AG_ERR_REVOKED);
    ag_revset_stats st = AG_INIT(ag_revset_stats);
    ck_assert_int_eq(ag_revset_stats_get(b.rs, time(NULL), &st), AG_OK);
    ck_assert_int_ne(st.last_synced, 0);
    ag_revsync_stop(f);
    /* the log is purged after its retention, by a follower that asks */
    ag_revsync_config pc = {
        .size = sizeof(ag_revsync_config), .store = b.st, .revocations = b.rs, .log_retention = 1};
    sleep(2);
    ck_assert_int_eq(ag_revsync_start(&pc, &f), AG_OK);
    ag_store_revocation e[4];
    size_t n = 9;
    ck_assert_int_eq(ag_store_log_read(b.st, 0, e, 4, &n), AG_OK);
    ck_assert_uint_eq(n, 0);
    ag_revsync_stop(f);
    free(t);
    inst_close(&a);
    inst_close(&b);
    shared_teardown();
}
END_TEST

START_TEST(memory_store_has_no_log)
{
    ag_store *st = NULL;
    ag_revset *rs = NULL;
    ag_revset_config rc = {.size = sizeof(ag_revset_config), .entry_ttl = 10};
    ck_assert_int_eq(ag_store_memory_new(NULL, &st), AG_OK);
    ck_assert_int_eq(ag_revset_new(&rc, &rs), AG_OK);
    ck_assert(!ag_store_has_log(st));
    ag_revsync *f = NULL;
    ag_revsync_config fc = {.size = sizeof(ag_revsync_config), .store = st, .revocations = rs};
    ck_assert_int_eq(ag_revsync_start(&fc, &f), AG_ERR_STATE);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(ag_store_log_append(st, AG_STORE_REV_SID, "s", 1, 1), AG_ERR_STATE);
    ag_revsync_stop(NULL);
    ag_revset_free(rs);
    ag_store_close(st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("revsync");
    TCase *tc = tcase_create("instances");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, logout_reaches_the_other_instance);
    tcase_add_test(tc, follower_catches_up);
    tcase_add_test(tc, memory_store_has_no_log);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * Store conformance, part of the suite (conformance.h): the races and
 * their TCase (ag_conformance_tcase_races, run under TSan by the tests
 * labelled `threads`): 8 threads rotating one token, the same with a
 * reuse interval, rotations racing a revocation, and independent
 * families rotated while lookups and purges run.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "conformance_int.h"

#define NTHREADS 8

typedef struct race {
    ag_store *st;
    pthread_barrier_t go;
    const char *sid;
    uint8_t old[NTHREADS][32]; /* what each thread presents */
    uint8_t nw[NTHREADS][32];  /* the successor each thread proposes */
    int64_t interval;
    uint32_t replays;
    ag_err result[NTHREADS];
    ag_store_rotated out[NTHREADS];
    bool revoker;
    ag_err revoke_result;
} race;

typedef struct racer {
    race *r;
    int k;
} racer;

static void *race_rotate(void *arg)
{
    racer *me = arg;
    race *r = me->r;
    pthread_barrier_wait(&r->go);
    r->result[me->k] =
        conf_present_as(r->st, AG_STORE_REFRESH, r->sid, "alice", r->old[me->k], r->nw[me->k],
                        T0 + 10, 100, r->interval, r->replays, &r->out[me->k]);
    return NULL;
}

static void *race_revoke(void *arg)
{
    race *r = arg;
    pthread_barrier_wait(&r->go);
    r->revoke_result =
        ag_store_revoke_family(r->st, r->sid, strlen(r->sid), T0 + 10, AG_REVOKE_LOGOUT);
    return NULL;
}

static void run_race(race *r)
{
    pthread_t th[NTHREADS + 1];
    racer rs[NTHREADS];
    unsigned n = NTHREADS + (r->revoker ? 1u : 0u);
    ck_assert_int_eq(pthread_barrier_init(&r->go, NULL, n), 0);
    for (int k = 0; k < NTHREADS; k++) {
        rs[k].r = r;
        rs[k].k = k;
        ck_assert_int_eq(pthread_create(&th[k], NULL, race_rotate, &rs[k]), 0);
    }
    if (r->revoker)
        ck_assert_int_eq(pthread_create(&th[NTHREADS], NULL, race_revoke, r), 0);
    for (unsigned k = 0; k < n; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&r->go);
}

/* of N concurrent rotations of one token exactly one wins; the first
 * loser presents what is now the previous token — reuse, family revoked —
 * and the rest find it revoked. */
START_TEST(race_one_token_one_winner)
{
    ag_store *st = conf_fresh(_i, 0);
    for (int round = 0; round < 10; round++) {
        race r;
        memset(&r, 0, sizeof r);
        char sid[32];
        snprintf(sid, sizeof sid, "race-%d", round);
        r.st = st;
        r.sid = sid;
        uint8_t h[32];
        conf_rand_hash(h);
        for (int k = 0; k < NTHREADS; k++) {
            memcpy(r.old[k], h, 32);
            conf_rand_hash(r.nw[k]);
        }
        ck_assert_int_eq(conf_put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
        run_race(&r);
        int ok = 0, reused = 0, revoked = 0;
        for (int k = 0; k < NTHREADS; k++) {
            if (r.result[k] == AG_OK) {
                ok++;
            } else if (r.result[k] == AG_ERR_REUSED) {
                reused++;
            } else {
                ck_assert_int_eq(r.result[k], AG_ERR_REVOKED);
                revoked++;
            }
        }
        ck_assert_int_eq(ok, 1);
        ck_assert_int_eq(reused, 1);
        ck_assert_int_eq(revoked, NTHREADS - 2);
        ag_store_family f = conf_family(st, sid);
        ck_assert_int_eq(f.reason, AG_REVOKE_REUSE);
        ck_assert_uint_eq(f.generation, 1);
    }
    conf_discard(_i, st);
}
END_TEST

/* with a reuse interval and enough replays allowed, parallel
 * presentations of one token with the same derived successor: one
 * rotation, the rest replays of it; nothing revoked. */
START_TEST(race_one_token_same_successor)
{
    ag_store *st = conf_fresh(_i, 0);
    for (int round = 0; round < 10; round++) {
        race r;
        memset(&r, 0, sizeof r);
        char sid[32];
        snprintf(sid, sizeof sid, "tabs-%d", round);
        r.st = st;
        r.sid = sid;
        r.interval = 5;
        r.replays = NTHREADS - 1;
        uint8_t h[32], s[32];
        conf_rand_hash(h);
        conf_rand_hash(s);
        for (int k = 0; k < NTHREADS; k++) {
            memcpy(r.old[k], h, 32);
            memcpy(r.nw[k], s, 32);
        }
        ck_assert_int_eq(conf_put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
        run_race(&r);
        int rotated = 0, replayed = 0;
        for (int k = 0; k < NTHREADS; k++) {
            ck_assert_int_eq(r.result[k], AG_OK);
            ck_assert_uint_eq(r.out[k].generation, 1);
            ck_assert_int_eq(r.out[k].issued, T0 + 10);
            rotated += r.out[k].outcome == AG_STORE_ROTATED;
            replayed += r.out[k].outcome == AG_STORE_REPLAYED;
        }
        ck_assert_int_eq(rotated, 1);
        ck_assert_int_eq(replayed, NTHREADS - 1);
        ag_store_family f = conf_family(st, sid);
        ck_assert_int_eq(f.revoked_at, 0);
        ck_assert_uint_eq(f.replays, NTHREADS - 1);
    }
    conf_discard(_i, st);
}
END_TEST

/* Rotations racing a revocation: at most one rotation, the family ends
 * revoked, and no answer is anything but these. */
START_TEST(race_rotate_vs_revoke)
{
    ag_store *st = conf_fresh(_i, 0);
    for (int round = 0; round < 10; round++) {
        race r;
        memset(&r, 0, sizeof r);
        char sid[32];
        snprintf(sid, sizeof sid, "rv-%d", round);
        r.st = st;
        r.sid = sid;
        r.revoker = true;
        uint8_t h[32];
        conf_rand_hash(h);
        for (int k = 0; k < NTHREADS; k++) {
            memcpy(r.old[k], h, 32);
            conf_rand_hash(r.nw[k]);
        }
        ck_assert_int_eq(conf_put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
        run_race(&r);
        int ok = 0;
        for (int k = 0; k < NTHREADS; k++) {
            ck_assert(r.result[k] == AG_OK || r.result[k] == AG_ERR_REUSED ||
                      r.result[k] == AG_ERR_REVOKED);
            ok += r.result[k] == AG_OK;
        }
        ck_assert_int_le(ok, 1);
        ck_assert_int_eq(r.revoke_result, AG_OK);
        ag_store_family f = conf_family(st, sid);
        ck_assert_int_ne(f.revoked_at, 0);
        ck_assert(f.reason == AG_REVOKE_LOGOUT || f.reason == AG_REVOKE_REUSE);
    }
    conf_discard(_i, st);
}
END_TEST

typedef struct churn {
    ag_store *st;
    int k;
    int fails;
} churn;

static void *churn_rotate(void *arg)
{
    churn *c = arg;
    char sid[16];
    snprintf(sid, sizeof sid, "c%d", c->k);
    uint8_t a[32], b[32];
    if (ag_random(a, 32) != AG_OK ||
        conf_put_family(c->st, sid, "carol", T0, 100000, 1000, a) != AG_OK) {
        c->fails++;
        return NULL;
    }
    for (int n = 0; n < 100; n++) {
        if (ag_random(b, 32) != AG_OK ||
            conf_rotate(c->st, sid, "carol", a, b, T0 + 1 + n, 1000, 0, NULL) != AG_OK)
            c->fails++;
        memcpy(a, b, 32);
    }
    return NULL;
}

/* Independent families rotate concurrently while purges and lookups run. */
START_TEST(race_independent_families)
{
    ag_store *st = conf_fresh(_i, 0);
    pthread_t th[NTHREADS];
    churn c[NTHREADS];
    for (int k = 0; k < NTHREADS; k++) {
        c[k] = (churn){st, k, 0};
        ck_assert_int_eq(pthread_create(&th[k], NULL, churn_rotate, &c[k]), 0);
    }
    for (int n = 0; n < 20; n++) {
        size_t removed = 0;
        ck_assert_int_eq(ag_store_purge_expired(st, T0 + 1, &removed), AG_OK);
        ck_assert_uint_eq(removed, 0);
        ag_store_family f;
        ag_err e = ag_store_lookup_family(st, "c0", 2, &f);
        ck_assert(e == AG_OK || e == AG_ERR_NOT_FOUND);
    }
    for (int k = 0; k < NTHREADS; k++) {
        pthread_join(th[k], NULL);
        ck_assert_int_eq(c[k].fails, 0);
    }
    ck_assert_uint_eq(conf_nfamilies(st), NTHREADS);
    ck_assert_uint_eq(conf_family(st, "c3").generation, 100);
    conf_discard(_i, st);
}
END_TEST

TCase *ag_conformance_tcase_races(const ag_conformance_backend *be)
{
    int i = conf_register_backend(be);
    TCase *tc = tcase_create(conf_tcase_name(be->name, "races"));
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, race_one_token_one_winner, i, i + 1);
    tcase_add_loop_test(tc, race_one_token_same_successor, i, i + 1);
    tcase_add_loop_test(tc, race_rotate_vs_revoke, i, i + 1);
    tcase_add_loop_test(tc, race_independent_families, i, i + 1);
    return tc;
}

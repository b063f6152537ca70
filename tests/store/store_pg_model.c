/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL store against its model, the memory store: a random walk of
 * every operation with the same answers and rows; and rotations per
 * second, printed, never asserted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_fixture.h"
#include "testsupport.h"

/* ---- the same answers as the memory store, which is the model ------------ */

static uint64_t rng_state;

static uint32_t rng(uint32_t n)
{
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)((rng_state >> 33) % n);
}

static void small_hash(int k, uint8_t h[32])
{
    memset(h, 0, 32);
    h[0] = (uint8_t)(k + 1);
}

static void same_family(ag_store *a, ag_store *b, const char *sid)
{
    ag_store_family x, y;
    ag_err ea = ag_store_lookup_family(a, sid, strlen(sid), &x);
    ag_err eb = ag_store_lookup_family(b, sid, strlen(sid), &y);
    ck_assert_int_eq(ea, eb);
    if (ea != AG_OK)
        return;
    ck_assert_str_eq(x.sid, y.sid);
    ck_assert_str_eq(x.subject, y.subject);
    ck_assert_int_eq(x.created, y.created);
    ck_assert_int_eq(x.expires, y.expires);
    ck_assert_int_eq(x.revoked_at, y.revoked_at);
    ck_assert_int_eq(x.reason, y.reason);
    ck_assert_uint_eq(x.generation, y.generation);
    ck_assert_mem_eq(x.current, y.current, 32);
    ck_assert_int_eq(x.current_issued, y.current_issued);
    ck_assert_int_eq(x.current_expires, y.current_expires);
    ck_assert(x.has_previous == y.has_previous);
    ck_assert_mem_eq(x.previous, y.previous, 32);
    ck_assert_uint_eq(x.replays, y.replays);
}

typedef struct evicted {
    char sids[16][16];
    size_t n;
} evicted;

static void on_evict(void *ctx, const char *sid, size_t len)
{
    evicted *e = ctx;
    ck_assert_uint_lt(len, 16);
    if (e->n < 16) {
        memcpy(e->sids[e->n], sid, len);
        e->sids[e->n++][len] = '\0';
    }
}

static int cmp_sid(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The same sids reported, in any order. */
static void same_sids(evicted *a, evicted *b)
{
    ck_assert_uint_eq(a->n, b->n);
    qsort(a->sids, a->n, sizeof a->sids[0], cmp_sid);
    qsort(b->sids, b->n, sizeof b->sids[0], cmp_sid);
    for (size_t i = 0; i < a->n; i++)
        ck_assert_str_eq(a->sids[i], b->sids[i]);
}

/* Random operations on small pools of sids, subjects and hashes (so that
 * replays, reuse, expiry, logout, eviction and purge all happen), applied
 * to a memory store and to PostgreSQL: every answer and every row the same. */
START_TEST(same_as_memory_store)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *pg = open_at(schema), *mem = NULL;
    ck_assert_int_eq(ag_store_memory_new(NULL, &mem), AG_OK);
    static const char *const sids[] = {"a", "b", "c", "d", "e", "f"};
    static const char *const subs[] = {"alice", "bob"};
    rng_state = 12345;
    int64_t now = T0;
    int fast = 0, counts[8] = {0};
    for (int step = 0; step < 1500; step++) {
        const char *sid = sids[rng(6)];
        const char *sub = subs[rng(2)];
        now += rng(40);
        int op = (int)rng(10);
        ag_err e1, e2;
        if (op == 0) { /* create */
            uint8_t h[32];
            small_hash((int)rng(12), h);
            ag_store_family f = family_row(sid, sub);
            f.created = now;
            f.expires = now + 400 + rng(400);
            memcpy(f.current, h, 32);
            f.current_issued = now;
            f.current_expires = now + 100 + rng(400);
            if (f.current_expires > f.expires)
                f.current_expires = f.expires;
            e1 = ag_store_create(mem, &f, now);
            e2 = ag_store_create(pg, &f, now);
        } else if (op <= 6) { /* refresh / logout / logout-all */
            uint8_t o[32], n[32];
            small_hash((int)rng(12), o);
            small_hash((int)rng(12), n);
            ag_store_family cur;
            uint32_t pick = rng(4);
            if (pick > 0 && ag_store_lookup_family(mem, sid, strlen(sid), &cur) == AG_OK) {
                /* mostly the tokens a client holds: its current one, or
                 * the previous one retried with the successor it got */
                if (pick == 3 && cur.has_previous) {
                    memcpy(o, cur.previous, 32);
                    memcpy(n, cur.current, 32);
                } else {
                    memcpy(o, cur.current, 32);
                }
            }
            if (memcmp(o, n, 32) == 0)
                n[1] = 1;
            ag_store_rotation r = request(sid, sub, o, n, rng(3) == 0 ? 0 : 30);
            r.max_replays = rng(3);
            r.now = now;
            r.new_expires = now + 50 + rng(300);
            r.action = op == 6 ? AG_STORE_LOGOUT_ALL : op == 5 ? AG_STORE_LOGOUT : AG_STORE_REFRESH;
            ag_store_rotated x, y;
            memset(&x, 0, sizeof x);
            memset(&y, 0, sizeof y);
            e1 = ag_store_rotate(mem, &r, &x);
            e2 = ag_store_rotate(pg, &r, &y);
            ck_assert_int_eq(x.outcome, y.outcome);
            ck_assert_uint_eq(x.generation, y.generation);
            ck_assert_int_eq(x.issued, y.issued);
            ck_assert_int_eq(x.expires, y.expires);
            ck_assert_int_eq(x.family_expires, y.family_expires);
            fast += e1 == AG_OK && x.outcome == AG_STORE_ROTATED;
        } else if (op == 7) { /* revoke one, or a subject */
            size_t n1 = 0, n2 = 0;
            evicted v1 = {0}, v2 = {0};
            if (rng(2) == 0) {
                e1 = ag_store_revoke_family(mem, sid, strlen(sid), now, AG_REVOKE_ADMIN);
                e2 = ag_store_revoke_family(pg, sid, strlen(sid), now, AG_REVOKE_ADMIN);
            } else {
                e1 = ag_store_revoke_subject(mem, sub, strlen(sub), now, AG_REVOKE_LOGOUT_ALL,
                                             on_evict, &v1, &n1);
                e2 = ag_store_revoke_subject(pg, sub, strlen(sub), now, AG_REVOKE_LOGOUT_ALL,
                                             on_evict, &v2, &n2);
            }
            ck_assert_uint_eq(n1, n2);
            same_sids(&v1, &v2);
        } else if (op == 8) { /* the session cap */
            size_t keep = 1 + rng(3), n1 = 0, n2 = 0;
            evicted v1 = {0}, v2 = {0};
            /* sometimes the login just made, which is never evicted */
            const char *ks = rng(2) == 0 ? sid : NULL;
            size_t kl = ks != NULL ? strlen(ks) : 0;
            e1 = ag_store_evict(mem, sub, strlen(sub), keep, ks, kl, now, on_evict, &v1, &n1);
            e2 = ag_store_evict(pg, sub, strlen(sub), keep, ks, kl, now, on_evict, &v2, &n2);
            ck_assert_uint_eq(n1, n2);
            same_sids(&v1, &v2);
        } else { /* purge */
            size_t n1 = 0, n2 = 0;
            e1 = ag_store_purge_expired(mem, now - 30, &n1);
            e2 = ag_store_purge_expired(pg, now - 30, &n2);
            ck_assert_uint_eq(n1, n2);
        }
        ck_assert_msg(e1 == e2, "step %d op %d: memory %s, postgres %s", step, op, ag_strerror(e1),
                      ag_strerror(e2));
        counts[e1 == AG_OK            ? 0
               : e1 == AG_ERR_REUSED  ? 1
               : e1 == AG_ERR_REVOKED ? 2
               : e1 == AG_ERR_EXPIRED ? 3
               : e1 == AG_ERR_UNKNOWN ? 4
                                      : 5]++;
        for (size_t i = 0; i < 6; i++)
            same_family(mem, pg, sids[i]);
        ag_store_stats s1 = AG_INIT(ag_store_stats), s2 = AG_INIT(ag_store_stats);
        ck_assert_int_eq(ag_store_stats_get(mem, &s1), AG_OK);
        ck_assert_int_eq(ag_store_stats_get(pg, &s2), AG_OK);
        ck_assert_uint_eq(s1.families, s2.families);
    }
    /* the walk did exercise every answer */
    for (int i = 0; i < 6; i++)
        ck_assert_msg(counts[i] > 0, "answer %d never seen", i);
    ck_assert_int_gt(fast, 20);
    ag_store_close(mem);
    ag_store_close(pg);
    drop_schema(schema);
}
END_TEST

/* ---- throughput (printed, never asserted) ------------------------------------- */

typedef struct bench {
    ag_store *st;
    int k;
    int n;
    ag_err e;
} bench;

static void *bench_thread(void *arg)
{
    bench *b = arg;
    char sid[32];
    uint8_t cur[32], nx[32];
    snprintf(sid, sizeof sid, "bench-%d", b->k);
    rand_hash(cur);
    b->e = create_one(b->st, sid, "alice", cur);
    for (int i = 0; i < b->n && b->e == AG_OK; i++) {
        rand_hash(nx);
        b->e = rotate_one(b->st, sid, "alice", cur, nx, 0, NULL);
        memcpy(cur, nx, 32);
    }
    return NULL;
}

START_TEST(rotations_per_second)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st = open_at(schema);
    for (int threads = 1; threads <= 4; threads *= 4) {
        pthread_t th[4];
        bench b[4];
        int per = getenv("AG_UNDER_SANITIZER") != NULL ? 100 : 1000 / threads;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int k = 0; k < threads; k++) {
            b[k].st = st;
            b[k].k = k + 10 * threads;
            b[k].n = per;
            ck_assert_int_eq(pthread_create(&th[k], NULL, bench_thread, &b[k]), 0);
        }
        for (int k = 0; k < threads; k++) {
            pthread_join(th[k], NULL);
            ck_assert_int_eq(b[k].e, AG_OK);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("postgres rotate: %d threads, pool 4: %.0f rotations/s (%d in %.2f s)\n", threads,
               (double)(threads * per) / s, threads * per, s);
    }
    ag_store_close(st);
    drop_schema(schema);
}
END_TEST

void pg_add_model_tests(TCase *tc)
{
    tcase_add_test(tc, same_as_memory_store);
}

void pg_add_throughput_tests(TCase *tc)
{
    tcase_add_test(tc, rotations_per_second);
}

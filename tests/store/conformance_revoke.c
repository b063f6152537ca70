/* SPDX-License-Identifier: MIT */
/*
 * Store conformance, part of the suite (conformance.h): revoking a family
 * and a subject, the per-subject cap (evict), listing a subject's live
 * families, purge of dead families, one row per session however often it
 * rotates, and a bounded store's capacity.
 */
#include <stdio.h>
#include <string.h>

#include "conformance_int.h"

START_TEST(revoke_family_idempotent)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32];
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "s1", 2, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "s1", 2, T0 + 2, AG_REVOKE_ADMIN), AG_OK);
    ag_store_family f = conf_family(st, "s1");
    ck_assert_int_eq(f.revoked_at, T0 + 1);
    ck_assert_int_eq(f.reason, AG_REVOKE_LOGOUT);
    ck_assert_mem_eq(f.current, conf_zero32, 32);
    ck_assert_int_eq(ag_store_revoke_family(st, "s9", 2, T0 + 1, AG_REVOKE_LOGOUT),
                     AG_ERR_NOT_FOUND);
    conf_discard(_i, st);
}
END_TEST

typedef struct evicted {
    int n;
    char sids[8][16];
} evicted;

static void on_evict(void *ctx, const char *sid, size_t len)
{
    evicted *e = ctx;
    ck_assert_int_lt(e->n, 8);
    ck_assert_uint_lt(len, 16);
    memcpy(e->sids[e->n], sid, len);
    e->sids[e->n][len] = '\0';
    e->n++;
}

START_TEST(revoke_subject_all_families)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32];
    char sid[16];
    for (int k = 0; k < 5; k++) {
        conf_rand_hash(h);
        snprintf(sid, sizeof sid, "a%d", k);
        ck_assert_int_eq(conf_put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
    }
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "b0", "bob", T0, 1000, 100, h), AG_OK);
    /* families that have run out (idle, then absolute) are no session to end */
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "x0", "alice", T0 - 500, 1000, 100, h), AG_OK);
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "x1", "alice", T0 - 5000, 1000, 1000, h), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "a0", 2, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    size_t n = 99;
    evicted seen = {0};
    ck_assert_int_eq(
        ag_store_revoke_subject(st, "alice", 5, T0 + 2, AG_REVOKE_LOGOUT_ALL, on_evict, &seen, &n),
        AG_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(seen.n, 4); /* each one it ended, a0 (already revoked) not */
    for (int k = 0; k < seen.n; k++)
        ck_assert(seen.sids[k][0] == 'a' && seen.sids[k][1] != '0');
    for (int k = 1; k < 5; k++) {
        snprintf(sid, sizeof sid, "a%d", k);
        ck_assert_int_eq(conf_family(st, sid).reason, AG_REVOKE_LOGOUT_ALL);
    }
    ck_assert_int_eq(conf_family(st, "a0").reason, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(conf_family(st, "b0").revoked_at, 0);
    ck_assert_int_eq(conf_family(st, "x0").revoked_at, 0); /* neither counted nor changed */
    ck_assert_int_eq(conf_family(st, "x1").revoked_at, 0);
    ck_assert_int_eq(
        ag_store_revoke_subject(st, "nobody", 6, T0 + 2, AG_REVOKE_ADMIN, NULL, NULL, &n), AG_OK);
    ck_assert_uint_eq(n, 0);
    conf_discard(_i, st);
}
END_TEST

/* The per-subject cap ends the oldest live families, and only those. */
START_TEST(evict_oldest_live)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32];
    char sid[16];
    for (int k = 0; k < 6; k++) {
        conf_rand_hash(h);
        snprintf(sid, sizeof sid, "a%d", k);
        ck_assert_int_eq(conf_put_family(st, sid, "alice", T0 + k, 1000, 100, h), AG_OK);
    }
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "b0", "bob", T0, 1000, 100, h), AG_OK);
    /* a0 is revoked already: it does not count and is not reported */
    ck_assert_int_eq(ag_store_revoke_family(st, "a0", 2, T0 + 6, AG_REVOKE_LOGOUT), AG_OK);
    evicted ev = {0};
    size_t n = 0;
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 3, NULL, 0, T0 + 7, on_evict, &ev, &n), AG_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ev.n, 2);
    ck_assert(strcmp(ev.sids[0], "a1") == 0 || strcmp(ev.sids[1], "a1") == 0);
    ck_assert(strcmp(ev.sids[0], "a2") == 0 || strcmp(ev.sids[1], "a2") == 0);
    ck_assert_int_eq(conf_family(st, "a1").reason, AG_REVOKE_EVICTED);
    ck_assert_int_eq(conf_family(st, "a2").reason, AG_REVOKE_EVICTED);
    ck_assert_int_eq(conf_family(st, "a0").reason, AG_REVOKE_LOGOUT);
    for (int k = 3; k < 6; k++) {
        snprintf(sid, sizeof sid, "a%d", k);
        ck_assert_int_eq(conf_family(st, sid).revoked_at, 0);
    }
    ck_assert_int_eq(conf_family(st, "b0").revoked_at, 0);
    /* at the cap: nothing more */
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 3, NULL, 0, T0 + 8, on_evict, &ev, &n), AG_OK);
    ck_assert_uint_eq(n, 0);
    conf_discard(_i, st);
}
END_TEST

/* The login just made is never the one evicted, even when it sorts first
 * among sessions created in the same second. */
START_TEST(evict_keeps_the_new_login)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32];
    const char *sids[] = {"m", "z", "y", "a"}; /* "a" is the new one */
    for (int k = 0; k < 4; k++) {
        conf_rand_hash(h);
        ck_assert_int_eq(conf_put_family(st, sids[k], "alice", T0, 1000, 100, h), AG_OK);
    }
    evicted ev = {0};
    size_t n = 0;
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 2, "a", 1, T0 + 1, on_evict, &ev, &n), AG_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(conf_family(st, "a").revoked_at, 0);
    ck_assert_int_eq(conf_family(st, "z").revoked_at, 0); /* newest-first: z, then y, m */
    ck_assert_int_eq(conf_family(st, "y").reason, AG_REVOKE_EVICTED);
    ck_assert_int_eq(conf_family(st, "m").reason, AG_REVOKE_EVICTED);
    conf_discard(_i, st);
}
END_TEST

/* list_subject (optional): a subject's live families, oldest first
 * (created, then sid), revoked and expired ones left out, truncated at
 * cap with the full count in total, and no hash in what comes back. */
START_TEST(list_subject_live_oldest_first)
{
    ag_store *st = conf_fresh(_i, 0);
    ag_store_family out[8];
    size_t n = 9, total = 9;
    if (!ag_store_can_list(st)) {
        ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0, out, 8, &n, &total),
                         AG_ERR_STATE);
        ck_assert_uint_eq(n, 0);
        conf_discard(_i, st);
        return;
    }
    uint8_t h[32], h2[32];
    /* created: z T0, b T0+1, a T0+1 (same second: a before b), d T0+2,
     * gone (revoked) T0+3, idle (its token expires) T0+4 */
    const char *sids[] = {"z", "b", "a", "d", "gone", "idle"};
    const int64_t at[] = {T0, T0 + 1, T0 + 1, T0 + 2, T0 + 3, T0 + 4};
    for (int k = 0; k < 6; k++) {
        conf_rand_hash(h);
        ck_assert_int_eq(conf_put_family(st, sids[k], "alice", at[k], 1000, k == 5 ? 5 : 100, h),
                         AG_OK);
        if (k == 3) /* d is rotated once: generation and issued time show it */
            ck_assert_int_eq(
                conf_rotate(st, "d", "alice", h, (conf_rand_hash(h2), h2), T0 + 7, 100, 0, NULL),
                AG_OK);
    }
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "bob1", "bob", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "gone", 4, T0 + 5, AG_REVOKE_LOGOUT), AG_OK);

    ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0 + 10, out, 8, &n, &total), AG_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(total, 4);
    const char *want[] = {"z", "a", "b", "d"};
    for (size_t k = 0; k < 4; k++) {
        ck_assert_str_eq(out[k].sid, want[k]);
        ck_assert_uint_eq(out[k].sid_len, strlen(want[k]));
        ck_assert_str_eq(out[k].subject, "alice");
        ck_assert_int_eq(out[k].revoked_at, 0);
        ck_assert_mem_eq(out[k].current, conf_zero32, 32);
        ck_assert_mem_eq(out[k].previous, conf_zero32, 32);
        ck_assert(!out[k].has_previous);
    }
    ck_assert_int_eq(out[0].created, T0);
    ck_assert_uint_eq(out[0].generation, 0);
    ck_assert_int_eq(out[3].created, T0 + 2);
    ck_assert_uint_eq(out[3].generation, 1);
    ck_assert_int_eq(out[3].current_issued, T0 + 7);
    ck_assert_int_eq(out[3].current_expires, T0 + 107);
    ck_assert_int_eq(out[3].expires, T0 + 1002);

    /* before the idle family's token expired it is listed, last */
    ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0 + 8, out, 8, &n, &total), AG_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(out[4].sid, "idle");
    /* cap: the oldest first, total counts all */
    ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0 + 10, out, 2, &n, &total), AG_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(total, 4);
    ck_assert_str_eq(out[1].sid, "a");
    ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0 + 10, NULL, 0, &n, &total), AG_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(total, 4);
    /* other subjects: their own, or nothing */
    ck_assert_int_eq(ag_store_list_subject(st, "bob", 3, T0 + 10, out, 8, &n, &total), AG_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(out[0].sid, "bob1");
    ck_assert_int_eq(ag_store_list_subject(st, "carol", 5, T0 + 10, out, 8, &n, &total), AG_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(total, 0);
    /* the wrapper's own checks */
    ck_assert_int_eq(ag_store_list_subject(st, "", 0, T0, out, 8, &n, &total),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0, NULL, 8, &n, &total),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0, out, 8, NULL, &total),
                     AG_ERR_INVALID_ARGUMENT);
    conf_discard(_i, st);
}
END_TEST

/* purge removes families only once no token of theirs can verify;
 * revoked tombstones stay until then. */
START_TEST(purge_dead_families)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32], n[32];
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "idle", "alice", T0, 1000, 100, h), AG_OK);
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "over", "alice", T0, 200, 200, h), AG_OK);
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "dead", "alice", T0, 1000, 500, h), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "dead", 4, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    conf_rand_hash(h);
    conf_rand_hash(n);
    ck_assert_int_eq(conf_put_family(st, "live", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "live", "alice", h, n, T0 + 90, 900, 0, NULL), AG_OK);
    size_t removed = 99;
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 99, &removed), AG_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 100, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1); /* idle */
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 200, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1);                                      /* over */
    ck_assert_int_eq(conf_family(st, "dead").reason, AG_REVOKE_LOGOUT); /* tombstone kept */
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 500, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1); /* the tombstone, once its tokens are over */
    ck_assert_uint_eq(conf_nfamilies(st), 1);
    ck_assert_int_eq(conf_family(st, "live").generation, 1);
    conf_discard(_i, st);
}
END_TEST

/* One row per session, however often it rotates. */
START_TEST(constant_rows_per_session)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t a[32], b[32];
    conf_rand_hash(a);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000000, 100000, a), AG_OK);
    ag_store_stats s0 = AG_INIT(ag_store_stats), s1 = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(st, &s0), AG_OK);
    for (int k = 0; k < 2000; k++) {
        conf_rand_hash(b);
        ck_assert_int_eq(conf_rotate(st, "s1", "alice", a, b, T0 + 1 + k, 1000, 0, NULL), AG_OK);
        memcpy(a, b, 32);
    }
    ck_assert_int_eq(ag_store_stats_get(st, &s1), AG_OK);
    ck_assert_uint_eq(s1.families, 1);
    ck_assert_uint_eq(s1.bytes, s0.bytes);
    ck_assert_uint_eq(conf_family(st, "s1").generation, 2000);
    conf_discard(_i, st);
}
END_TEST

/* A bounded store reclaims dead rows before answering full. */
START_TEST(full_store_reclaims_dead_rows)
{
    if (!conf_backend(_i)->supports_capacity)
        return;
    ag_store *st = conf_fresh(_i, 4);
    uint8_t h[32];
    char sid[16];
    for (int k = 0; k < 4; k++) {
        conf_rand_hash(h);
        snprintf(sid, sizeof sid, "f%d", k);
        ck_assert_int_eq(conf_put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
    }
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "x", "bob", T0, 1000, 100, h), AG_ERR_STORE_FULL);
    ck_assert_uint_eq(conf_nfamilies(st), 4);
    /* a revoked tombstone makes room */
    ck_assert_int_eq(ag_store_revoke_family(st, "f0", 2, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    ck_assert_int_eq(conf_put_family(st, "x", "bob", T0 + 2, 1000, 100, h), AG_OK);
    /* expired rows make room */
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "y", "bob", T0 + 3, 1000, 100, h), AG_ERR_STORE_FULL);
    ck_assert_int_eq(conf_put_family(st, "y", "bob", T0 + 100, 1000, 100, h), AG_OK);
    ck_assert_uint_eq(conf_nfamilies(st), 2);
    conf_discard(_i, st);
}
END_TEST

void conf_add_revoke_tests(TCase *tc, int i)
{
    tcase_add_loop_test(tc, revoke_family_idempotent, i, i + 1);
    tcase_add_loop_test(tc, revoke_subject_all_families, i, i + 1);
    tcase_add_loop_test(tc, evict_oldest_live, i, i + 1);
    tcase_add_loop_test(tc, evict_keeps_the_new_login, i, i + 1);
    tcase_add_loop_test(tc, list_subject_live_oldest_first, i, i + 1);
    tcase_add_loop_test(tc, purge_dead_families, i, i + 1);
    tcase_add_loop_test(tc, constant_rows_per_session, i, i + 1);
    tcase_add_loop_test(tc, full_store_reclaims_dead_rows, i, i + 1);
}

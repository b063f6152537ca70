/* SPDX-License-Identifier: MIT */
/*
 * Store conformance, part of the suite (conformance.h): creating and
 * looking up a family, the wrapper's argument checks, rotation and each
 * of ag_store_decide's outcomes (reuse, revoked, expired, the edges of
 * the plain rotation), bounded replays inside the reuse interval, and
 * logout's need for the current token.
 */
#include <string.h>

#include "conformance_int.h"

START_TEST(create_then_lookup)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32];
    conf_rand_hash(h);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ag_store_family f = conf_family(st, "s1");
    ck_assert_str_eq(f.sid, "s1");
    ck_assert_uint_eq(f.sid_len, 2);
    ck_assert_str_eq(f.subject, "alice");
    ck_assert_int_eq(f.created, T0);
    ck_assert_int_eq(f.expires, T0 + 1000);
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_int_eq(f.reason, AG_REVOKE_NONE);
    ck_assert_uint_eq(f.generation, 0);
    ck_assert_mem_eq(f.current, h, 32);
    ck_assert_int_eq(f.current_issued, T0);
    ck_assert_int_eq(f.current_expires, T0 + 100);
    ck_assert(!f.has_previous);
    ck_assert_uint_eq(f.replays, 0);
    ag_store_family g;
    ck_assert_int_eq(ag_store_lookup_family(st, "s2", 2, &g), AG_ERR_NOT_FOUND);
    ck_assert_uint_eq(conf_nfamilies(st), 1);
    conf_discard(_i, st);
}
END_TEST

START_TEST(create_duplicate_writes_nothing)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t a[32], b[32];
    conf_rand_hash(a);
    conf_rand_hash(b);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(conf_put_family(st, "s1", "bob", T0 + 1, 2000, 200, b), AG_ERR_EXISTS);
    ag_store_family f = conf_family(st, "s1");
    ck_assert_str_eq(f.subject, "alice");
    ck_assert_mem_eq(f.current, a, 32);
    ck_assert_uint_eq(conf_nfamilies(st), 1);
    conf_discard(_i, st);
}
END_TEST

START_TEST(wrapper_rejects_bad_arguments)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32], n[32];
    conf_rand_hash(h);
    conf_rand_hash(n);
    ag_store_rotated out;
    /* bad family rows never reach the backend */
    ck_assert_int_eq(conf_put_family(st, "", "alice", T0, 1000, 100, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(conf_put_family(st, "s1", "", T0, 1000, 100, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 100, 1000, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 0, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_create(st, NULL, T0), AG_ERR_INVALID_ARGUMENT);
    /* a successor equal to its parent; a refresh with no lifetime */
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h, h, T0, 100, 0, &out),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h, n, T0, 0, 0, &out), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        conf_present_as(st, (ag_store_action)7, "s1", "alice", h, n, T0, 100, 0, 0, &out),
        AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_revoke_family(st, "s1", 2, T0, AG_REVOKE_NONE),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 0, NULL, 0, T0, NULL, NULL, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_lookup_family(st, "a\0b", 3, &(ag_store_family){0}),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(conf_nfamilies(st), 0);
    conf_discard(_i, st);
}
END_TEST

/* the current token is exchanged; it becomes the previous one. */
START_TEST(rotate_current)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h0[32], h1[32], h2[32];
    conf_rand_hash(h0);
    conf_rand_hash(h1);
    conf_rand_hash(h2);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h0), AG_OK);
    ag_store_rotated out;
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h0, h1, T0 + 10, 100, 0, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_ROTATED);
    ck_assert_uint_eq(out.generation, 1);
    ck_assert_int_eq(out.issued, T0 + 10);
    ck_assert_int_eq(out.expires, T0 + 110);
    ck_assert_int_eq(out.family_expires, T0 + 1000);
    ag_store_family f = conf_family(st, "s1");
    ck_assert_mem_eq(f.current, h1, 32);
    ck_assert(f.has_previous);
    ck_assert_mem_eq(f.previous, h0, 32);
    ck_assert_uint_eq(f.generation, 1);
    /* rotation never extends the family */
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h1, h2, T0 + 100, 2000, 0, &out), AG_OK);
    ck_assert_int_eq(out.expires, T0 + 1000);
    ck_assert_uint_eq(conf_nfamilies(st), 1);
    conf_discard(_i, st);
}
END_TEST

START_TEST(rotate_unknown_changes_nothing)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32], n[32];
    conf_rand_hash(h);
    conf_rand_hash(n);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "nope", "alice", h, n, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert_int_eq(conf_rotate(st, "s1", "mallory", h, n, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ag_store_family f = conf_family(st, "s1");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_mem_eq(f.current, h, 32);
    ck_assert_uint_eq(f.generation, 0);
    conf_discard(_i, st);
}
END_TEST

/* a validly signed token of the family that is not current is reuse;
 * the family ends, and with it its current token. */
START_TEST(rotate_old_token_is_reuse)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[4][32], n[32];
    for (int k = 0; k < 4; k++)
        conf_rand_hash(h[k]);
    conf_rand_hash(n);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h[0]), AG_OK);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(conf_rotate(st, "s1", "alice", h[k], h[k + 1], T0 + k + 1, 100, 0, NULL),
                         AG_OK);
    /* h[0] is two rotations old: neither current nor previous */
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h[0], n, T0 + 5, 100, 0, NULL), AG_ERR_REUSED);
    ag_store_family f = conf_family(st, "s1");
    ck_assert_int_eq(f.reason, AG_REVOKE_REUSE);
    ck_assert_int_eq(f.revoked_at, T0 + 5);
    ck_assert_mem_eq(f.current, conf_zero32, 32); /* a tombstone keeps no hash */
    ck_assert(!f.has_previous);
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h[3], n, T0 + 6, 100, 0, NULL), AG_ERR_REVOKED);
    /* with the interval off, even the previous token is reuse */
    ck_assert_int_eq(conf_put_family(st, "s2", "alice", T0, 1000, 100, h[0]), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s2", "alice", h[0], h[1], T0 + 1, 100, 0, NULL), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s2", "alice", h[0], h[1], T0 + 1, 100, 0, NULL),
                     AG_ERR_REUSED);
    conf_discard(_i, st);
}
END_TEST

START_TEST(rotate_revoked_family)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32], n[32];
    conf_rand_hash(h);
    conf_rand_hash(n);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "s1", 2, T0 + 1, AG_REVOKE_ADMIN), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h, n, T0 + 2, 100, 0, NULL), AG_ERR_REVOKED);
    ck_assert_int_eq(conf_family(st, "s1").reason, AG_REVOKE_ADMIN);
    conf_discard(_i, st);
}
END_TEST

START_TEST(rotate_expired)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[32], g[32], n[32];
    conf_rand_hash(h);
    conf_rand_hash(g);
    conf_rand_hash(n);
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h, n, T0 + 100, 100, 0, NULL), AG_ERR_EXPIRED);
    ag_store_family f = conf_family(st, "s1");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_mem_eq(f.current, h, 32);
    /* the family's absolute end, with the token itself still valid */
    ck_assert_int_eq(conf_put_family(st, "s2", "alice", T0, 50, 50, g), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s2", "alice", g, n, T0 + 50, 100, 0, NULL), AG_ERR_EXPIRED);
    conf_discard(_i, st);
}
END_TEST

/* The edges of the plain rotation, each alone (a backend's one-statement
 * fast path must match ag_store_decide's rotate case exactly): the token's
 * expiry second and the one before it; a successor clamped to the family's
 * end; a subject that is a prefix of the real one, or differs in its last
 * byte. (A token never outlives its family: create refuses it, rotation
 * clamps it; rotate_expired has the family's end itself.) */
START_TEST(rotate_edges_each_alone)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h[4][32], n[32];
    for (int k = 0; k < 4; k++)
        conf_rand_hash(h[k]);
    conf_rand_hash(n);
    ag_store_rotated out;
    /* token expires at T0 + 100, family at T0 + 1000 */
    ck_assert_int_eq(conf_put_family(st, "t1", "alice", T0, 1000, 100, h[0]), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "t1", "alic", h[0], n, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert_int_eq(conf_rotate(st, "t1", "alicf", h[0], n, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert_int_eq(conf_rotate(st, "t1", "alice", h[0], n, T0 + 100, 100, 0, NULL),
                     AG_ERR_EXPIRED);
    ck_assert_int_eq(conf_rotate(st, "t1", "alice", h[0], h[1], T0 + 99, 100, 0, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_ROTATED);
    ck_assert_uint_eq(out.generation, 1);
    ck_assert_int_eq(out.expires, T0 + 199);
    /* family ends at T0 + 60, its first token at T0 + 50 */
    ck_assert_int_eq(conf_put_family(st, "f1", "alice", T0, 60, 50, h[2]), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "f1", "alice", h[2], n, T0 + 50, 100, 0, NULL),
                     AG_ERR_EXPIRED);
    ag_store_family f = conf_family(st, "f1");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_mem_eq(f.current, h[2], 32);
    ck_assert_uint_eq(f.generation, 0);
    ck_assert_int_eq(conf_rotate(st, "f1", "alice", h[2], h[3], T0 + 49, 100, 0, &out), AG_OK);
    ck_assert_int_eq(out.expires, T0 + 60); /* never past the family */
    ck_assert_int_eq(out.family_expires, T0 + 60);
    ck_assert_int_eq(out.issued, T0 + 49);
    f = conf_family(st, "f1");
    ck_assert_mem_eq(f.current, h[3], 32);
    ck_assert_mem_eq(f.previous, h[2], 32);
    ck_assert_uint_eq(f.replays, 0);
    ck_assert_int_eq(f.current_expires, T0 + 60);
    conf_discard(_i, st);
}
END_TEST

/* the previous token inside the interval gets the same successor, a
 * bounded number of times; the successor's use ends the window. */
START_TEST(replay_bounded)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h0[32], h1[32], h2[32], other[32];
    conf_rand_hash(h0);
    conf_rand_hash(h1);
    conf_rand_hash(h2);
    conf_rand_hash(other);
    ag_store_rotated out;
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h0, h1, T0 + 12, 100, 5, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_REPLAYED);
    ck_assert_uint_eq(out.generation, 1);
    ck_assert_int_eq(out.issued, T0 + 10); /* the successor's own times */
    ck_assert_int_eq(out.expires, T0 + 110);
    ck_assert_uint_eq(conf_family(st, "s1").replays, 1);
    /* a second replay is past the bound (1): reuse */
    ck_assert_int_eq(conf_rotate(st, "s1", "alice", h0, h1, T0 + 13, 100, 5, &out), AG_ERR_REUSED);

    /* three replays allowed, then reuse */
    ck_assert_int_eq(conf_put_family(st, "s2", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s2", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(
            conf_present_as(st, AG_STORE_REFRESH, "s2", "alice", h0, h1, T0 + 11, 100, 5, 3, &out),
            AG_OK);
    ck_assert_int_eq(
        conf_present_as(st, AG_STORE_REFRESH, "s2", "alice", h0, h1, T0 + 11, 100, 5, 3, &out),
        AG_ERR_REUSED);

    /* using the successor ends the window for the previous token at once */
    ck_assert_int_eq(conf_put_family(st, "s3", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s3", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s3", "alice", h1, h2, T0 + 11, 100, 5, &out), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s3", "alice", h0, h1, T0 + 12, 100, 5, &out), AG_ERR_REUSED);

    /* past the interval, or proposing another successor: reuse */
    ck_assert_int_eq(conf_put_family(st, "s4", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s4", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s4", "alice", h0, h1, T0 + 16, 100, 5, &out), AG_ERR_REUSED);
    ck_assert_int_eq(conf_put_family(st, "s5", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s5", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s5", "alice", h0, other, T0 + 11, 100, 5, &out),
                     AG_ERR_REUSED);
    conf_discard(_i, st);
}
END_TEST

/* Logout takes the current token (or an allowed replay); logout-all only
 * the current one; anything older is reuse. */
START_TEST(logout_needs_current_token)
{
    ag_store *st = conf_fresh(_i, 0);
    uint8_t h0[32], h1[32], h2[32];
    conf_rand_hash(h0);
    conf_rand_hash(h1);
    conf_rand_hash(h2);
    ag_store_rotated out;
    ck_assert_int_eq(conf_put_family(st, "s1", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(
        conf_present_as(st, AG_STORE_LOGOUT, "s1", "alice", h0, NULL, T0 + 1, 0, 0, 0, &out),
        AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_LOGGED_OUT);
    ck_assert_int_eq(conf_family(st, "s1").reason, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(
        conf_present_as(st, AG_STORE_LOGOUT, "s1", "alice", h0, NULL, T0 + 2, 0, 0, 0, &out),
        AG_ERR_REVOKED);

    ck_assert_int_eq(conf_put_family(st, "s2", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s2", "alice", h0, h1, T0 + 1, 100, 0, NULL), AG_OK);
    ck_assert_int_eq(
        conf_present_as(st, AG_STORE_LOGOUT_ALL, "s2", "alice", h0, NULL, T0 + 2, 0, 0, 0, &out),
        AG_ERR_REUSED);
    ck_assert_int_eq(conf_family(st, "s2").reason, AG_REVOKE_REUSE);

    /* inside the interval: logout accepts the previous token, logout-all does not */
    ck_assert_int_eq(conf_put_family(st, "s3", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s3", "alice", h0, h1, T0 + 1, 100, 5, NULL), AG_OK);
    ck_assert_int_eq(
        conf_present_as(st, AG_STORE_LOGOUT, "s3", "alice", h0, NULL, T0 + 2, 0, 5, 1, &out),
        AG_OK);
    ck_assert_int_eq(conf_family(st, "s3").reason, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(conf_put_family(st, "s4", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(conf_rotate(st, "s4", "alice", h0, h1, T0 + 1, 100, 5, NULL), AG_OK);
    ck_assert_int_eq(
        conf_present_as(st, AG_STORE_LOGOUT_ALL, "s4", "alice", h0, NULL, T0 + 2, 0, 5, 1, &out),
        AG_ERR_REUSED);
    ck_assert_int_eq(conf_put_family(st, "s5", "alice", T0, 1000, 100, h1), AG_OK);
    ck_assert_int_eq(
        conf_present_as(st, AG_STORE_LOGOUT_ALL, "s5", "alice", h1, NULL, T0 + 2, 0, 5, 1, &out),
        AG_OK);
    ck_assert_int_eq(conf_family(st, "s5").reason, AG_REVOKE_LOGOUT_ALL);
    /* an expired family fails as refresh would */
    ck_assert_int_eq(conf_put_family(st, "s6", "alice", T0, 1000, 100, h2), AG_OK);
    ck_assert_int_eq(
        conf_present_as(st, AG_STORE_LOGOUT, "s6", "alice", h2, NULL, T0 + 100, 0, 0, 0, &out),
        AG_ERR_EXPIRED);
    conf_discard(_i, st);
}
END_TEST

void conf_add_rotation_tests(TCase *tc, int i)
{
    tcase_add_loop_test(tc, create_then_lookup, i, i + 1);
    tcase_add_loop_test(tc, create_duplicate_writes_nothing, i, i + 1);
    tcase_add_loop_test(tc, wrapper_rejects_bad_arguments, i, i + 1);
    tcase_add_loop_test(tc, rotate_current, i, i + 1);
    tcase_add_loop_test(tc, rotate_unknown_changes_nothing, i, i + 1);
    tcase_add_loop_test(tc, rotate_old_token_is_reuse, i, i + 1);
    tcase_add_loop_test(tc, rotate_revoked_family, i, i + 1);
    tcase_add_loop_test(tc, rotate_expired, i, i + 1);
    tcase_add_loop_test(tc, rotate_edges_each_alone, i, i + 1);
    tcase_add_loop_test(tc, replay_bounded, i, i + 1);
    tcase_add_loop_test(tc, logout_needs_current_token, i, i + 1);
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate store conformance suite (see conformance.h). Cases cite the
 * rules of docs/security.md they hold a backend to (R-01…R-08).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define MAX_BACKENDS 8
#define T0 INT64_C(1700000000)

static const ag_conformance_backend *backends[MAX_BACKENDS];
static char tcase_names[2 * MAX_BACKENDS][96]; /* Check keeps the name pointer */
static int ntcase_names;

static const char *conf_tcase_name(const char *backend, const char *what)
{
    if (ntcase_names >= 2 * MAX_BACKENDS)
        abort();
    char *n = tcase_names[ntcase_names++];
    snprintf(n, sizeof tcase_names[0], "%s-%s", backend, what);
    return n;
}
static int nbackends;

static int register_backend(const ag_conformance_backend *be)
{
    for (int i = 0; i < nbackends; i++)
        if (backends[i] == be)
            return i;
    if (nbackends >= MAX_BACKENDS)
        abort(); /* outside a test: cannot ck_assert here */
    backends[nbackends] = be;
    return nbackends++;
}

static ag_store *fresh(int i, size_t capacity)
{
    ag_store *st = NULL;
    ck_assert_int_eq(backends[i]->make(backends[i]->ctx, capacity, &st), AG_OK);
    ck_assert_ptr_nonnull(st);
    return st;
}

static void discard(int i, ag_store *st)
{
    if (backends[i]->discard != NULL)
        backends[i]->discard(backends[i]->ctx, st);
    else
        ag_store_close(st);
}

static void rand_hash(uint8_t h[AG_STORE_HASH_LEN])
{
    ck_assert_int_eq(ag_random(h, AG_STORE_HASH_LEN), AG_OK);
}

/* A family `sid` of `sub` created at `now`, living `life` seconds, with a
 * first token of hash h expiring at now + ttl. */
static ag_err put_family(ag_store *st, const char *sid, const char *sub, int64_t now, int64_t life,
                         int64_t ttl, const uint8_t *h)
{
    ag_store_family f;
    memset(&f, 0, sizeof f);
    f.sid_len = strlen(sid);
    memcpy(f.sid, sid, f.sid_len);
    f.subject_len = strlen(sub);
    memcpy(f.subject, sub, f.subject_len);
    f.created = now;
    f.expires = now + life;
    memcpy(f.current, h, AG_STORE_HASH_LEN);
    f.current_issued = now;
    f.current_expires = now + ttl;
    return ag_store_create(st, &f, now);
}

static ag_err present_as(ag_store *st, ag_store_action act, const char *sid, const char *sub,
                         const uint8_t *old, const uint8_t *nw, int64_t now, int64_t ttl,
                         int64_t interval, uint32_t replays, ag_store_rotated *out)
{
    ag_store_rotation r;
    ag_store_rotated tmp;
    memset(&r, 0, sizeof r);
    r.action = act;
    memcpy(r.old_hash, old, AG_STORE_HASH_LEN);
    if (nw != NULL)
        memcpy(r.new_hash, nw, AG_STORE_HASH_LEN);
    r.sid = sid;
    r.sid_len = strlen(sid);
    r.subject = sub;
    r.subject_len = strlen(sub);
    r.now = now;
    r.new_expires = now + ttl;
    r.reuse_interval = interval;
    r.max_replays = replays;
    return ag_store_rotate(st, &r, out != NULL ? out : &tmp);
}

static ag_err rotate(ag_store *st, const char *sid, const char *sub, const uint8_t *old,
                     const uint8_t *nw, int64_t now, int64_t ttl, int64_t interval,
                     ag_store_rotated *out)
{
    return present_as(st, AG_STORE_REFRESH, sid, sub, old, nw, now, ttl, interval,
                      interval > 0 ? 1u : 0u, out);
}

static ag_store_family family(ag_store *st, const char *sid)
{
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, sid, strlen(sid), &f), AG_OK);
    return f;
}

static size_t nfamilies(ag_store *st)
{
    ag_store_stats s = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    return s.families;
}

static const uint8_t zero32[32];

/* ---- single-threaded cases ------------------------------------------------ */

START_TEST(create_then_lookup)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32];
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ag_store_family f = family(st, "s1");
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
    ck_assert_uint_eq(nfamilies(st), 1);
    discard(_i, st);
}
END_TEST

START_TEST(create_duplicate_writes_nothing)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32];
    rand_hash(a);
    rand_hash(b);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(put_family(st, "s1", "bob", T0 + 1, 2000, 200, b), AG_ERR_EXISTS);
    ag_store_family f = family(st, "s1");
    ck_assert_str_eq(f.subject, "alice");
    ck_assert_mem_eq(f.current, a, 32);
    ck_assert_uint_eq(nfamilies(st), 1);
    discard(_i, st);
}
END_TEST

START_TEST(wrapper_rejects_bad_arguments)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32], n[32];
    rand_hash(h);
    rand_hash(n);
    ag_store_rotated out;
    /* bad family rows never reach the backend */
    ck_assert_int_eq(put_family(st, "", "alice", T0, 1000, 100, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(put_family(st, "s1", "", T0, 1000, 100, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 100, 1000, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 0, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_create(st, NULL, T0), AG_ERR_INVALID_ARGUMENT);
    /* a successor equal to its parent; a refresh with no lifetime */
    ck_assert_int_eq(rotate(st, "s1", "alice", h, h, T0, 100, 0, &out), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(rotate(st, "s1", "alice", h, n, T0, 0, 0, &out), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(present_as(st, (ag_store_action)7, "s1", "alice", h, n, T0, 100, 0, 0, &out),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_revoke_family(st, "s1", 2, T0, AG_REVOKE_NONE),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 0, NULL, 0, T0, NULL, NULL, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_lookup_family(st, "a\0b", 3, &(ag_store_family){0}),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(nfamilies(st), 0);
    discard(_i, st);
}
END_TEST

/* the current token is exchanged; it becomes the previous one. */
START_TEST(rotate_current)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h0[32], h1[32], h2[32];
    rand_hash(h0);
    rand_hash(h1);
    rand_hash(h2);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h0), AG_OK);
    ag_store_rotated out;
    ck_assert_int_eq(rotate(st, "s1", "alice", h0, h1, T0 + 10, 100, 0, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_ROTATED);
    ck_assert_uint_eq(out.generation, 1);
    ck_assert_int_eq(out.issued, T0 + 10);
    ck_assert_int_eq(out.expires, T0 + 110);
    ck_assert_int_eq(out.family_expires, T0 + 1000);
    ag_store_family f = family(st, "s1");
    ck_assert_mem_eq(f.current, h1, 32);
    ck_assert(f.has_previous);
    ck_assert_mem_eq(f.previous, h0, 32);
    ck_assert_uint_eq(f.generation, 1);
    /* rotation never extends the family */
    ck_assert_int_eq(rotate(st, "s1", "alice", h1, h2, T0 + 100, 2000, 0, &out), AG_OK);
    ck_assert_int_eq(out.expires, T0 + 1000);
    ck_assert_uint_eq(nfamilies(st), 1);
    discard(_i, st);
}
END_TEST

START_TEST(rotate_unknown_changes_nothing)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32], n[32];
    rand_hash(h);
    rand_hash(n);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(rotate(st, "nope", "alice", h, n, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert_int_eq(rotate(st, "s1", "mallory", h, n, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ag_store_family f = family(st, "s1");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_mem_eq(f.current, h, 32);
    ck_assert_uint_eq(f.generation, 0);
    discard(_i, st);
}
END_TEST

/* a validly signed token of the family that is not current is reuse;
 * the family ends, and with it its current token. */
START_TEST(rotate_old_token_is_reuse)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[4][32], n[32];
    for (int k = 0; k < 4; k++)
        rand_hash(h[k]);
    rand_hash(n);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h[0]), AG_OK);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(rotate(st, "s1", "alice", h[k], h[k + 1], T0 + k + 1, 100, 0, NULL),
                         AG_OK);
    /* h[0] is two rotations old: neither current nor previous */
    ck_assert_int_eq(rotate(st, "s1", "alice", h[0], n, T0 + 5, 100, 0, NULL), AG_ERR_REUSED);
    ag_store_family f = family(st, "s1");
    ck_assert_int_eq(f.reason, AG_REVOKE_REUSE);
    ck_assert_int_eq(f.revoked_at, T0 + 5);
    ck_assert_mem_eq(f.current, zero32, 32); /* a tombstone keeps no hash */
    ck_assert(!f.has_previous);
    ck_assert_int_eq(rotate(st, "s1", "alice", h[3], n, T0 + 6, 100, 0, NULL), AG_ERR_REVOKED);
    /* with the interval off, even the previous token is reuse */
    ck_assert_int_eq(put_family(st, "s2", "alice", T0, 1000, 100, h[0]), AG_OK);
    ck_assert_int_eq(rotate(st, "s2", "alice", h[0], h[1], T0 + 1, 100, 0, NULL), AG_OK);
    ck_assert_int_eq(rotate(st, "s2", "alice", h[0], h[1], T0 + 1, 100, 0, NULL), AG_ERR_REUSED);
    discard(_i, st);
}
END_TEST

START_TEST(rotate_revoked_family)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32], n[32];
    rand_hash(h);
    rand_hash(n);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "s1", 2, T0 + 1, AG_REVOKE_ADMIN), AG_OK);
    ck_assert_int_eq(rotate(st, "s1", "alice", h, n, T0 + 2, 100, 0, NULL), AG_ERR_REVOKED);
    ck_assert_int_eq(family(st, "s1").reason, AG_REVOKE_ADMIN);
    discard(_i, st);
}
END_TEST

START_TEST(rotate_expired)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32], g[32], n[32];
    rand_hash(h);
    rand_hash(g);
    rand_hash(n);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(rotate(st, "s1", "alice", h, n, T0 + 100, 100, 0, NULL), AG_ERR_EXPIRED);
    ag_store_family f = family(st, "s1");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_mem_eq(f.current, h, 32);
    /* the family's absolute end, with the token itself still valid */
    ck_assert_int_eq(put_family(st, "s2", "alice", T0, 50, 50, g), AG_OK);
    ck_assert_int_eq(rotate(st, "s2", "alice", g, n, T0 + 50, 100, 0, NULL), AG_ERR_EXPIRED);
    discard(_i, st);
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
    ag_store *st = fresh(_i, 0);
    uint8_t h[4][32], n[32];
    for (int k = 0; k < 4; k++)
        rand_hash(h[k]);
    rand_hash(n);
    ag_store_rotated out;
    /* token expires at T0 + 100, family at T0 + 1000 */
    ck_assert_int_eq(put_family(st, "t1", "alice", T0, 1000, 100, h[0]), AG_OK);
    ck_assert_int_eq(rotate(st, "t1", "alic", h[0], n, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert_int_eq(rotate(st, "t1", "alicf", h[0], n, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert_int_eq(rotate(st, "t1", "alice", h[0], n, T0 + 100, 100, 0, NULL), AG_ERR_EXPIRED);
    ck_assert_int_eq(rotate(st, "t1", "alice", h[0], h[1], T0 + 99, 100, 0, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_ROTATED);
    ck_assert_uint_eq(out.generation, 1);
    ck_assert_int_eq(out.expires, T0 + 199);
    /* family ends at T0 + 60, its first token at T0 + 50 */
    ck_assert_int_eq(put_family(st, "f1", "alice", T0, 60, 50, h[2]), AG_OK);
    ck_assert_int_eq(rotate(st, "f1", "alice", h[2], n, T0 + 50, 100, 0, NULL), AG_ERR_EXPIRED);
    ag_store_family f = family(st, "f1");
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_mem_eq(f.current, h[2], 32);
    ck_assert_uint_eq(f.generation, 0);
    ck_assert_int_eq(rotate(st, "f1", "alice", h[2], h[3], T0 + 49, 100, 0, &out), AG_OK);
    ck_assert_int_eq(out.expires, T0 + 60); /* never past the family */
    ck_assert_int_eq(out.family_expires, T0 + 60);
    ck_assert_int_eq(out.issued, T0 + 49);
    f = family(st, "f1");
    ck_assert_mem_eq(f.current, h[3], 32);
    ck_assert_mem_eq(f.previous, h[2], 32);
    ck_assert_uint_eq(f.replays, 0);
    ck_assert_int_eq(f.current_expires, T0 + 60);
    discard(_i, st);
}
END_TEST

/* the previous token inside the interval gets the same successor, a
 * bounded number of times; the successor's use ends the window. */
START_TEST(replay_bounded)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h0[32], h1[32], h2[32], other[32];
    rand_hash(h0);
    rand_hash(h1);
    rand_hash(h2);
    rand_hash(other);
    ag_store_rotated out;
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(rotate(st, "s1", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    ck_assert_int_eq(rotate(st, "s1", "alice", h0, h1, T0 + 12, 100, 5, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_REPLAYED);
    ck_assert_uint_eq(out.generation, 1);
    ck_assert_int_eq(out.issued, T0 + 10); /* the successor's own times */
    ck_assert_int_eq(out.expires, T0 + 110);
    ck_assert_uint_eq(family(st, "s1").replays, 1);
    /* a second replay is past the bound (1): reuse */
    ck_assert_int_eq(rotate(st, "s1", "alice", h0, h1, T0 + 13, 100, 5, &out), AG_ERR_REUSED);

    /* three replays allowed, then reuse */
    ck_assert_int_eq(put_family(st, "s2", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(rotate(st, "s2", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(
            present_as(st, AG_STORE_REFRESH, "s2", "alice", h0, h1, T0 + 11, 100, 5, 3, &out),
            AG_OK);
    ck_assert_int_eq(
        present_as(st, AG_STORE_REFRESH, "s2", "alice", h0, h1, T0 + 11, 100, 5, 3, &out),
        AG_ERR_REUSED);

    /* using the successor ends the window for the previous token at once */
    ck_assert_int_eq(put_family(st, "s3", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(rotate(st, "s3", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    ck_assert_int_eq(rotate(st, "s3", "alice", h1, h2, T0 + 11, 100, 5, &out), AG_OK);
    ck_assert_int_eq(rotate(st, "s3", "alice", h0, h1, T0 + 12, 100, 5, &out), AG_ERR_REUSED);

    /* past the interval, or proposing another successor: reuse */
    ck_assert_int_eq(put_family(st, "s4", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(rotate(st, "s4", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    ck_assert_int_eq(rotate(st, "s4", "alice", h0, h1, T0 + 16, 100, 5, &out), AG_ERR_REUSED);
    ck_assert_int_eq(put_family(st, "s5", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(rotate(st, "s5", "alice", h0, h1, T0 + 10, 100, 5, &out), AG_OK);
    ck_assert_int_eq(rotate(st, "s5", "alice", h0, other, T0 + 11, 100, 5, &out), AG_ERR_REUSED);
    discard(_i, st);
}
END_TEST

/* Logout takes the current token (or an allowed replay); logout-all only
 * the current one; anything older is reuse. */
START_TEST(logout_needs_current_token)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h0[32], h1[32], h2[32];
    rand_hash(h0);
    rand_hash(h1);
    rand_hash(h2);
    ag_store_rotated out;
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(
        present_as(st, AG_STORE_LOGOUT, "s1", "alice", h0, NULL, T0 + 1, 0, 0, 0, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_LOGGED_OUT);
    ck_assert_int_eq(family(st, "s1").reason, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(
        present_as(st, AG_STORE_LOGOUT, "s1", "alice", h0, NULL, T0 + 2, 0, 0, 0, &out),
        AG_ERR_REVOKED);

    ck_assert_int_eq(put_family(st, "s2", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(rotate(st, "s2", "alice", h0, h1, T0 + 1, 100, 0, NULL), AG_OK);
    ck_assert_int_eq(
        present_as(st, AG_STORE_LOGOUT_ALL, "s2", "alice", h0, NULL, T0 + 2, 0, 0, 0, &out),
        AG_ERR_REUSED);
    ck_assert_int_eq(family(st, "s2").reason, AG_REVOKE_REUSE);

    /* inside the interval: logout accepts the previous token, logout-all does not */
    ck_assert_int_eq(put_family(st, "s3", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(rotate(st, "s3", "alice", h0, h1, T0 + 1, 100, 5, NULL), AG_OK);
    ck_assert_int_eq(
        present_as(st, AG_STORE_LOGOUT, "s3", "alice", h0, NULL, T0 + 2, 0, 5, 1, &out), AG_OK);
    ck_assert_int_eq(family(st, "s3").reason, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(put_family(st, "s4", "alice", T0, 1000, 100, h0), AG_OK);
    ck_assert_int_eq(rotate(st, "s4", "alice", h0, h1, T0 + 1, 100, 5, NULL), AG_OK);
    ck_assert_int_eq(
        present_as(st, AG_STORE_LOGOUT_ALL, "s4", "alice", h0, NULL, T0 + 2, 0, 5, 1, &out),
        AG_ERR_REUSED);
    ck_assert_int_eq(put_family(st, "s5", "alice", T0, 1000, 100, h1), AG_OK);
    ck_assert_int_eq(
        present_as(st, AG_STORE_LOGOUT_ALL, "s5", "alice", h1, NULL, T0 + 2, 0, 5, 1, &out), AG_OK);
    ck_assert_int_eq(family(st, "s5").reason, AG_REVOKE_LOGOUT_ALL);
    /* an expired family fails as refresh would */
    ck_assert_int_eq(put_family(st, "s6", "alice", T0, 1000, 100, h2), AG_OK);
    ck_assert_int_eq(
        present_as(st, AG_STORE_LOGOUT, "s6", "alice", h2, NULL, T0 + 100, 0, 0, 0, &out),
        AG_ERR_EXPIRED);
    discard(_i, st);
}
END_TEST

START_TEST(revoke_family_idempotent)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32];
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "s1", 2, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "s1", 2, T0 + 2, AG_REVOKE_ADMIN), AG_OK);
    ag_store_family f = family(st, "s1");
    ck_assert_int_eq(f.revoked_at, T0 + 1);
    ck_assert_int_eq(f.reason, AG_REVOKE_LOGOUT);
    ck_assert_mem_eq(f.current, zero32, 32);
    ck_assert_int_eq(ag_store_revoke_family(st, "s9", 2, T0 + 1, AG_REVOKE_LOGOUT),
                     AG_ERR_NOT_FOUND);
    discard(_i, st);
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
    ag_store *st = fresh(_i, 0);
    uint8_t h[32];
    char sid[16];
    for (int k = 0; k < 5; k++) {
        rand_hash(h);
        snprintf(sid, sizeof sid, "a%d", k);
        ck_assert_int_eq(put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
    }
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "b0", "bob", T0, 1000, 100, h), AG_OK);
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
        ck_assert_int_eq(family(st, sid).reason, AG_REVOKE_LOGOUT_ALL);
    }
    ck_assert_int_eq(family(st, "a0").reason, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(family(st, "b0").revoked_at, 0);
    ck_assert_int_eq(
        ag_store_revoke_subject(st, "nobody", 6, T0 + 2, AG_REVOKE_ADMIN, NULL, NULL, &n), AG_OK);
    ck_assert_uint_eq(n, 0);
    discard(_i, st);
}
END_TEST

/* The per-subject cap ends the oldest live families, and only those. */
START_TEST(evict_oldest_live)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32];
    char sid[16];
    for (int k = 0; k < 6; k++) {
        rand_hash(h);
        snprintf(sid, sizeof sid, "a%d", k);
        ck_assert_int_eq(put_family(st, sid, "alice", T0 + k, 1000, 100, h), AG_OK);
    }
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "b0", "bob", T0, 1000, 100, h), AG_OK);
    /* a0 is revoked already: it does not count and is not reported */
    ck_assert_int_eq(ag_store_revoke_family(st, "a0", 2, T0 + 6, AG_REVOKE_LOGOUT), AG_OK);
    evicted ev = {0};
    size_t n = 0;
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 3, NULL, 0, T0 + 7, on_evict, &ev, &n), AG_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ev.n, 2);
    ck_assert(strcmp(ev.sids[0], "a1") == 0 || strcmp(ev.sids[1], "a1") == 0);
    ck_assert(strcmp(ev.sids[0], "a2") == 0 || strcmp(ev.sids[1], "a2") == 0);
    ck_assert_int_eq(family(st, "a1").reason, AG_REVOKE_EVICTED);
    ck_assert_int_eq(family(st, "a2").reason, AG_REVOKE_EVICTED);
    ck_assert_int_eq(family(st, "a0").reason, AG_REVOKE_LOGOUT);
    for (int k = 3; k < 6; k++) {
        snprintf(sid, sizeof sid, "a%d", k);
        ck_assert_int_eq(family(st, sid).revoked_at, 0);
    }
    ck_assert_int_eq(family(st, "b0").revoked_at, 0);
    /* at the cap: nothing more */
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 3, NULL, 0, T0 + 8, on_evict, &ev, &n), AG_OK);
    ck_assert_uint_eq(n, 0);
    discard(_i, st);
}
END_TEST

/* The login just made is never the one evicted, even when it sorts first
 * among sessions created in the same second. */
START_TEST(evict_keeps_the_new_login)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32];
    const char *sids[] = {"m", "z", "y", "a"}; /* "a" is the new one */
    for (int k = 0; k < 4; k++) {
        rand_hash(h);
        ck_assert_int_eq(put_family(st, sids[k], "alice", T0, 1000, 100, h), AG_OK);
    }
    evicted ev = {0};
    size_t n = 0;
    ck_assert_int_eq(ag_store_evict(st, "alice", 5, 2, "a", 1, T0 + 1, on_evict, &ev, &n), AG_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(family(st, "a").revoked_at, 0);
    ck_assert_int_eq(family(st, "z").revoked_at, 0); /* newest-first: z, then y, m */
    ck_assert_int_eq(family(st, "y").reason, AG_REVOKE_EVICTED);
    ck_assert_int_eq(family(st, "m").reason, AG_REVOKE_EVICTED);
    discard(_i, st);
}
END_TEST

/* list_subject (optional): a subject's live families, oldest first
 * (created, then sid), revoked and expired ones left out, truncated at
 * cap with the full count in total, and no hash in what comes back. */
START_TEST(list_subject_live_oldest_first)
{
    ag_store *st = fresh(_i, 0);
    ag_store_family out[8];
    size_t n = 9, total = 9;
    if (!ag_store_can_list(st)) {
        ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0, out, 8, &n, &total),
                         AG_ERR_STATE);
        ck_assert_uint_eq(n, 0);
        discard(_i, st);
        return;
    }
    uint8_t h[32], h2[32];
    /* created: z T0, b T0+1, a T0+1 (same second: a before b), d T0+2,
     * gone (revoked) T0+3, idle (its token expires) T0+4 */
    const char *sids[] = {"z", "b", "a", "d", "gone", "idle"};
    const int64_t at[] = {T0, T0 + 1, T0 + 1, T0 + 2, T0 + 3, T0 + 4};
    for (int k = 0; k < 6; k++) {
        rand_hash(h);
        ck_assert_int_eq(put_family(st, sids[k], "alice", at[k], 1000, k == 5 ? 5 : 100, h), AG_OK);
        if (k == 3) /* d is rotated once: generation and issued time show it */
            ck_assert_int_eq(rotate(st, "d", "alice", h, (rand_hash(h2), h2), T0 + 7, 100, 0, NULL),
                             AG_OK);
    }
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "bob1", "bob", T0, 1000, 100, h), AG_OK);
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
        ck_assert_mem_eq(out[k].current, zero32, 32);
        ck_assert_mem_eq(out[k].previous, zero32, 32);
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
    discard(_i, st);
}
END_TEST

/* purge removes families only once no token of theirs can verify;
 * revoked tombstones stay until then. */
START_TEST(purge_dead_families)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32], n[32];
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "idle", "alice", T0, 1000, 100, h), AG_OK);
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "over", "alice", T0, 200, 200, h), AG_OK);
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "dead", "alice", T0, 1000, 500, h), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "dead", 4, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    rand_hash(h);
    rand_hash(n);
    ck_assert_int_eq(put_family(st, "live", "alice", T0, 1000, 100, h), AG_OK);
    ck_assert_int_eq(rotate(st, "live", "alice", h, n, T0 + 90, 900, 0, NULL), AG_OK);
    size_t removed = 99;
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 99, &removed), AG_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 100, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1); /* idle */
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 200, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1);                                 /* over */
    ck_assert_int_eq(family(st, "dead").reason, AG_REVOKE_LOGOUT); /* tombstone kept */
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 500, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1); /* the tombstone, once its tokens are over */
    ck_assert_uint_eq(nfamilies(st), 1);
    ck_assert_int_eq(family(st, "live").generation, 1);
    discard(_i, st);
}
END_TEST

/* One row per session, however often it rotates. */
START_TEST(constant_rows_per_session)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32];
    rand_hash(a);
    ck_assert_int_eq(put_family(st, "s1", "alice", T0, 1000000, 100000, a), AG_OK);
    ag_store_stats s0 = AG_INIT(ag_store_stats), s1 = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(st, &s0), AG_OK);
    for (int k = 0; k < 2000; k++) {
        rand_hash(b);
        ck_assert_int_eq(rotate(st, "s1", "alice", a, b, T0 + 1 + k, 1000, 0, NULL), AG_OK);
        memcpy(a, b, 32);
    }
    ck_assert_int_eq(ag_store_stats_get(st, &s1), AG_OK);
    ck_assert_uint_eq(s1.families, 1);
    ck_assert_uint_eq(s1.bytes, s0.bytes);
    ck_assert_uint_eq(family(st, "s1").generation, 2000);
    discard(_i, st);
}
END_TEST

/* A bounded store reclaims dead rows before answering full. */
START_TEST(full_store_reclaims_dead_rows)
{
    if (!backends[_i]->supports_capacity)
        return;
    ag_store *st = fresh(_i, 4);
    uint8_t h[32];
    char sid[16];
    for (int k = 0; k < 4; k++) {
        rand_hash(h);
        snprintf(sid, sizeof sid, "f%d", k);
        ck_assert_int_eq(put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
    }
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "x", "bob", T0, 1000, 100, h), AG_ERR_STORE_FULL);
    ck_assert_uint_eq(nfamilies(st), 4);
    /* a revoked tombstone makes room */
    ck_assert_int_eq(ag_store_revoke_family(st, "f0", 2, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    ck_assert_int_eq(put_family(st, "x", "bob", T0 + 2, 1000, 100, h), AG_OK);
    /* expired rows make room */
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "y", "bob", T0 + 3, 1000, 100, h), AG_ERR_STORE_FULL);
    ck_assert_int_eq(put_family(st, "y", "bob", T0 + 100, 1000, 100, h), AG_OK);
    ck_assert_uint_eq(nfamilies(st), 2);
    discard(_i, st);
}
END_TEST

TCase *ag_conformance_tcase(const ag_conformance_backend *be)
{
    int i = register_backend(be);
    TCase *tc = tcase_create(conf_tcase_name(be->name, "conformance"));
    tcase_set_timeout(tc, 120);
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
    tcase_add_loop_test(tc, revoke_family_idempotent, i, i + 1);
    tcase_add_loop_test(tc, revoke_subject_all_families, i, i + 1);
    tcase_add_loop_test(tc, evict_oldest_live, i, i + 1);
    tcase_add_loop_test(tc, evict_keeps_the_new_login, i, i + 1);
    tcase_add_loop_test(tc, list_subject_live_oldest_first, i, i + 1);
    tcase_add_loop_test(tc, purge_dead_families, i, i + 1);
    tcase_add_loop_test(tc, constant_rows_per_session, i, i + 1);
    tcase_add_loop_test(tc, full_store_reclaims_dead_rows, i, i + 1);
    return tc;
}

/* ---- races ---------------------------------------------------------------- */

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
        present_as(r->st, AG_STORE_REFRESH, r->sid, "alice", r->old[me->k], r->nw[me->k], T0 + 10,
                   100, r->interval, r->replays, &r->out[me->k]);
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
    ag_store *st = fresh(_i, 0);
    for (int round = 0; round < 10; round++) {
        race r;
        memset(&r, 0, sizeof r);
        char sid[32];
        snprintf(sid, sizeof sid, "race-%d", round);
        r.st = st;
        r.sid = sid;
        uint8_t h[32];
        rand_hash(h);
        for (int k = 0; k < NTHREADS; k++) {
            memcpy(r.old[k], h, 32);
            rand_hash(r.nw[k]);
        }
        ck_assert_int_eq(put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
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
        ag_store_family f = family(st, sid);
        ck_assert_int_eq(f.reason, AG_REVOKE_REUSE);
        ck_assert_uint_eq(f.generation, 1);
    }
    discard(_i, st);
}
END_TEST

/* with a reuse interval and enough replays allowed, parallel
 * presentations of one token with the same derived successor: one
 * rotation, the rest replays of it; nothing revoked. */
START_TEST(race_one_token_same_successor)
{
    ag_store *st = fresh(_i, 0);
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
        rand_hash(h);
        rand_hash(s);
        for (int k = 0; k < NTHREADS; k++) {
            memcpy(r.old[k], h, 32);
            memcpy(r.nw[k], s, 32);
        }
        ck_assert_int_eq(put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
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
        ag_store_family f = family(st, sid);
        ck_assert_int_eq(f.revoked_at, 0);
        ck_assert_uint_eq(f.replays, NTHREADS - 1);
    }
    discard(_i, st);
}
END_TEST

/* Rotations racing a revocation: at most one rotation, the family ends
 * revoked, and no answer is anything but these. */
START_TEST(race_rotate_vs_revoke)
{
    ag_store *st = fresh(_i, 0);
    for (int round = 0; round < 10; round++) {
        race r;
        memset(&r, 0, sizeof r);
        char sid[32];
        snprintf(sid, sizeof sid, "rv-%d", round);
        r.st = st;
        r.sid = sid;
        r.revoker = true;
        uint8_t h[32];
        rand_hash(h);
        for (int k = 0; k < NTHREADS; k++) {
            memcpy(r.old[k], h, 32);
            rand_hash(r.nw[k]);
        }
        ck_assert_int_eq(put_family(st, sid, "alice", T0, 1000, 100, h), AG_OK);
        run_race(&r);
        int ok = 0;
        for (int k = 0; k < NTHREADS; k++) {
            ck_assert(r.result[k] == AG_OK || r.result[k] == AG_ERR_REUSED ||
                      r.result[k] == AG_ERR_REVOKED);
            ok += r.result[k] == AG_OK;
        }
        ck_assert_int_le(ok, 1);
        ck_assert_int_eq(r.revoke_result, AG_OK);
        ag_store_family f = family(st, sid);
        ck_assert_int_ne(f.revoked_at, 0);
        ck_assert(f.reason == AG_REVOKE_LOGOUT || f.reason == AG_REVOKE_REUSE);
    }
    discard(_i, st);
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
        put_family(c->st, sid, "carol", T0, 100000, 1000, a) != AG_OK) {
        c->fails++;
        return NULL;
    }
    for (int n = 0; n < 100; n++) {
        if (ag_random(b, 32) != AG_OK ||
            rotate(c->st, sid, "carol", a, b, T0 + 1 + n, 1000, 0, NULL) != AG_OK)
            c->fails++;
        memcpy(a, b, 32);
    }
    return NULL;
}

/* Independent families rotate concurrently while purges and lookups run. */
START_TEST(race_independent_families)
{
    ag_store *st = fresh(_i, 0);
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
    ck_assert_uint_eq(nfamilies(st), NTHREADS);
    ck_assert_uint_eq(family(st, "c3").generation, 100);
    discard(_i, st);
}
END_TEST

TCase *ag_conformance_tcase_races(const ag_conformance_backend *be)
{
    int i = register_backend(be);
    TCase *tc = tcase_create(conf_tcase_name(be->name, "races"));
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, race_one_token_one_winner, i, i + 1);
    tcase_add_loop_test(tc, race_one_token_same_successor, i, i + 1);
    tcase_add_loop_test(tc, race_rotate_vs_revoke, i, i + 1);
    tcase_add_loop_test(tc, race_independent_families, i, i + 1);
    return tc;
}

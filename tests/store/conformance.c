/*
 * authgate store conformance suite (see conformance.h). Cases cite the
 * SECURITY.md rules they hold a backend to (R-01…R-07).
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
static ag_err put_family(ag_store *st, const char *sid, const char *sub, int64_t now,
                         int64_t life, int64_t ttl, const uint8_t *h)
{
    ag_store_family f;
    ag_store_token t;
    memset(&f, 0, sizeof f);
    memset(&t, 0, sizeof t);
    f.sid_len = strlen(sid);
    memcpy(f.sid, sid, f.sid_len);
    f.subject_len = strlen(sub);
    memcpy(f.subject, sub, f.subject_len);
    f.created = now;
    f.expires = now + life;
    memcpy(t.hash, h, AG_STORE_HASH_LEN);
    memcpy(t.sid, sid, f.sid_len);
    t.sid_len = f.sid_len;
    t.issued = now;
    t.expires = now + ttl;
    return ag_store_put(st, &f, &t);
}

static ag_err rotate(ag_store *st, const char *sid, const char *sub, const uint8_t *old,
                     const uint8_t *nw, int64_t now, int64_t ttl, int64_t interval,
                     ag_store_rotated *out)
{
    ag_store_rotation r;
    ag_store_rotated tmp;
    memset(&r, 0, sizeof r);
    memcpy(r.old_hash, old, AG_STORE_HASH_LEN);
    memcpy(r.new_hash, nw, AG_STORE_HASH_LEN);
    r.sid = sid;
    r.sid_len = strlen(sid);
    r.subject = sub;
    r.subject_len = strlen(sub);
    r.now = now;
    r.new_expires = now + ttl;
    r.reuse_interval = interval;
    return ag_store_rotate(st, &r, out != NULL ? out : &tmp);
}

static ag_store_token row(ag_store *st, const uint8_t *h)
{
    ag_store_token t;
    ck_assert_int_eq(ag_store_lookup(st, h, &t, NULL), AG_OK);
    return t;
}

static bool present(ag_store *st, const uint8_t *h)
{
    ag_store_token t;
    ag_err e = ag_store_lookup(st, h, &t, NULL);
    ck_assert(e == AG_OK || e == AG_ERR_NOT_FOUND);
    return e == AG_OK;
}

static ag_store_family family(ag_store *st, const char *sid)
{
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, sid, strlen(sid), &f), AG_OK);
    return f;
}

/* ---- single-threaded cases ------------------------------------------------ */

START_TEST(put_then_lookup)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32], other[32];
    rand_hash(h);
    rand_hash(other);
    ck_assert_int_eq(put_family(st, "sid-1", "alice", T0, 1000, 100, h), AG_OK);
    ag_store_token t;
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup(st, h, &t, &f), AG_OK);
    ck_assert_mem_eq(t.hash, h, 32);
    ck_assert_str_eq(t.sid, "sid-1");
    ck_assert_uint_eq(t.sid_len, 5);
    ck_assert_uint_eq(t.generation, 0);
    ck_assert_int_eq(t.issued, T0);
    ck_assert_int_eq(t.expires, T0 + 100);
    ck_assert_int_eq(t.used_at, 0);
    ck_assert(!t.has_successor);
    ck_assert_int_eq(t.revoked_at, 0);
    ck_assert_str_eq(f.sid, "sid-1");
    ck_assert_str_eq(f.subject, "alice");
    ck_assert_uint_eq(f.subject_len, 5);
    ck_assert_int_eq(f.created, T0);
    ck_assert_int_eq(f.expires, T0 + 1000);
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_int_eq(f.reason, AG_REVOKE_NONE);
    /* either output may be omitted */
    ck_assert_int_eq(ag_store_lookup(st, h, NULL, NULL), AG_OK);
    f = family(st, "sid-1");
    ck_assert_str_eq(f.subject, "alice");
    ck_assert_int_eq(ag_store_lookup(st, other, &t, &f), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(ag_store_lookup_family(st, "sid-2", 5, &f), AG_ERR_NOT_FOUND);
    /* sid lookups are exact and full-length, not prefix matches */
    ck_assert_int_eq(ag_store_lookup_family(st, "sid-", 4, &f), AG_ERR_NOT_FOUND);
    ag_store_stats s;
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    if (st->stats != NULL) {
        ck_assert_uint_eq(s.tokens, 1);
        ck_assert_uint_eq(s.families, 1);
    }
    discard(_i, st);
}
END_TEST

START_TEST(put_duplicate_writes_nothing)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h1[32], h2[32];
    rand_hash(h1);
    rand_hash(h2);
    ck_assert_int_eq(put_family(st, "dup", "alice", T0, 1000, 100, h1), AG_OK);
    /* same sid, new hash */
    ck_assert_int_eq(put_family(st, "dup", "bob", T0, 1000, 100, h2), AG_ERR_EXISTS);
    ck_assert(!present(st, h2));
    ck_assert_str_eq(family(st, "dup").subject, "alice");
    /* same hash, new sid */
    ck_assert_int_eq(put_family(st, "other", "bob", T0, 1000, 100, h1), AG_ERR_EXISTS);
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, "other", 5, &f), AG_ERR_NOT_FOUND);
    ck_assert_str_eq(row(st, h1).sid, "dup");
    discard(_i, st);
}
END_TEST

START_TEST(wrapper_rejects_bad_arguments)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[32];
    rand_hash(h);
    /* sid too long, empty, NUL inside; token outliving the family */
    char longsid[AG_SID_MAX_LEN + 2];
    memset(longsid, 'a', sizeof longsid - 1);
    longsid[sizeof longsid - 1] = '\0';
    ck_assert_int_eq(put_family(st, longsid, "alice", T0, 1000, 100, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(put_family(st, "", "alice", T0, 1000, 100, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(put_family(st, "s", "", T0, 1000, 100, h), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(put_family(st, "s", "alice", T0, 100, 1000, h), AG_ERR_INVALID_ARGUMENT);
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, "a\0b", 3, &f), AG_ERR_INVALID_ARGUMENT);
    ck_assert(!present(st, h));
    ck_assert_int_eq(put_family(st, "s", "alice", T0, 1000, 100, h), AG_OK);
    /* a successor equal to its parent */
    ck_assert_int_eq(rotate(st, "s", "alice", h, h, T0 + 1, 100, 0, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(row(st, h).used_at, 0);
    ck_assert_int_eq(ag_store_revoke_family(st, "s", 1, T0, (ag_revoke_reason)99),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(family(st, "s").revoked_at, 0);
    discard(_i, st);
}
END_TEST

/* consume + insert; the relation stays recorded. */
START_TEST(rotate_consumes_and_inserts)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32], c[32];
    rand_hash(a);
    rand_hash(b);
    rand_hash(c);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 10000, 100, a), AG_OK);
    ag_store_rotated out;
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 10, 100, 0, &out), AG_OK);
    ck_assert_int_eq(out.outcome, AG_STORE_ROTATED);
    ck_assert_uint_eq(out.generation, 1);
    ck_assert_int_eq(out.issued, T0 + 10);
    ck_assert_int_eq(out.expires, T0 + 110);
    ck_assert_int_eq(out.family_expires, T0 + 10000);
    ag_store_token ta = row(st, a), tb = row(st, b);
    ck_assert_int_eq(ta.used_at, T0 + 10);
    ck_assert(ta.has_successor);
    ck_assert_mem_eq(ta.successor, b, 32);
    ck_assert_int_eq(tb.used_at, 0);
    ck_assert(!tb.has_successor);
    ck_assert_uint_eq(tb.generation, 1);
    ck_assert_str_eq(tb.sid, "f");
    ck_assert_int_eq(tb.expires, T0 + 110);
    ck_assert_int_eq(rotate(st, "f", "alice", b, c, T0 + 20, 100, 0, &out), AG_OK);
    ck_assert_uint_eq(out.generation, 2);
    ck_assert_uint_eq(row(st, c).generation, 2);
    discard(_i, st);
}
END_TEST

/* SECURITY.md decision 6: unknown → no change, no revocation. */
START_TEST(rotate_unknown_changes_nothing)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32], x[32];
    rand_hash(a);
    rand_hash(b);
    rand_hash(x);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(put_family(st, "g", "bob", T0, 1000, 100, x), AG_OK);
    uint8_t nohash[32];
    rand_hash(nohash);
    ck_assert_int_eq(rotate(st, "f", "alice", nohash, b, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    /* a row of another family, or the wrong subject: unknown as well */
    ck_assert_int_eq(rotate(st, "f", "alice", x, b, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert_int_eq(rotate(st, "g", "alice", x, b, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert_int_eq(rotate(st, "nope", "alice", a, b, T0 + 1, 100, 0, NULL), AG_ERR_UNKNOWN);
    ck_assert(!present(st, b));
    ck_assert_int_eq(row(st, a).used_at, 0);
    ck_assert_int_eq(row(st, x).used_at, 0);
    ck_assert_int_eq(family(st, "f").revoked_at, 0);
    ck_assert_int_eq(family(st, "g").revoked_at, 0);
    discard(_i, st);
}
END_TEST

/* reuse revokes the family in the same step; the newest dies too. */
START_TEST(rotate_reuse_revokes_family)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32], c[32], d[32];
    rand_hash(a);
    rand_hash(b);
    rand_hash(c);
    rand_hash(d);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 1, 100, 0, NULL), AG_OK);
    ck_assert_int_eq(rotate(st, "f", "alice", a, c, T0 + 2, 100, 0, NULL), AG_ERR_REUSED);
    ck_assert(!present(st, c));
    ag_store_family f = family(st, "f");
    ck_assert_int_eq(f.revoked_at, T0 + 2);
    ck_assert_int_eq(f.reason, AG_REVOKE_REUSE);
    ck_assert_int_eq(row(st, b).revoked_at, T0 + 2);
    /* the newest token no longer rotates */
    ck_assert_int_eq(rotate(st, "f", "alice", b, d, T0 + 3, 100, 0, NULL), AG_ERR_REVOKED);
    ck_assert(!present(st, d));
    ck_assert_int_eq(row(st, b).used_at, 0);
    /* reuse again: revoked, first revocation kept */
    ck_assert_int_eq(rotate(st, "f", "alice", a, d, T0 + 4, 100, 0, NULL), AG_ERR_REVOKED);
    ck_assert_int_eq(family(st, "f").revoked_at, T0 + 2);
    discard(_i, st);
}
END_TEST

START_TEST(rotate_revoked_family)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32];
    rand_hash(a);
    rand_hash(b);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "f", 1, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 2, 100, 0, NULL), AG_ERR_REVOKED);
    ck_assert(!present(st, b));
    ck_assert_int_eq(row(st, a).used_at, 0);
    ck_assert_int_eq(row(st, a).reason, AG_REVOKE_LOGOUT);
    discard(_i, st);
}
END_TEST

/* idle expiry (token exp) and absolute family expiry. */
START_TEST(rotate_expired)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32], c[32], d[32];
    rand_hash(a);
    rand_hash(b);
    rand_hash(c);
    rand_hash(d);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 100, 100, 0, NULL), AG_ERR_EXPIRED);
    ck_assert_int_eq(row(st, a).used_at, 0);
    ck_assert(!present(st, b));
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 99, 100, 0, NULL), AG_OK);
    /* family expiry: 1000 s after creation, whatever the token says */
    ck_assert_int_eq(put_family(st, "g", "alice", T0, 50, 50, c), AG_OK);
    ck_assert_int_eq(rotate(st, "g", "alice", c, d, T0 + 50, 100, 0, NULL), AG_ERR_EXPIRED);
    ck_assert(!present(st, d));
    discard(_i, st);
}
END_TEST

/* rotation never extends the family. */
START_TEST(rotate_clamps_to_family_expiry)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32];
    rand_hash(a);
    rand_hash(b);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 150, 100, a), AG_OK);
    ag_store_rotated out;
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 90, 100, 0, &out), AG_OK);
    ck_assert_int_eq(out.expires, T0 + 150);
    ck_assert_int_eq(row(st, b).expires, T0 + 150);
    discard(_i, st);
}
END_TEST

START_TEST(rotate_existing_successor_refused)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], x[32];
    rand_hash(a);
    rand_hash(x);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(put_family(st, "g", "bob", T0, 1000, 100, x), AG_OK);
    ck_assert_int_eq(rotate(st, "f", "alice", a, x, T0 + 1, 100, 0, NULL), AG_ERR_EXISTS);
    ck_assert_int_eq(row(st, a).used_at, 0);
    ck_assert_str_eq(row(st, x).sid, "g");
    ck_assert_int_eq(family(st, "f").revoked_at, 0);
    discard(_i, st);
}
END_TEST

/* only the immediately previous token, only within the interval,
 * only with the recorded successor. */
START_TEST(reuse_interval_replay)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32], c[32], z[32];
    rand_hash(a);
    rand_hash(b);
    rand_hash(c);
    rand_hash(z);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 1000, 100, a), AG_OK);
    ag_store_rotated first, again;
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 10, 100, 5, &first), AG_OK);
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 15, 100, 5, &again), AG_OK);
    ck_assert_int_eq(again.outcome, AG_STORE_REPLAYED);
    ck_assert_uint_eq(again.generation, first.generation);
    ck_assert_int_eq(again.expires, first.expires);
    ck_assert_int_eq(again.issued, first.issued);
    ck_assert_int_eq(row(st, a).used_at, T0 + 10);
    /* a different successor is reuse even inside the interval */
    ck_assert_int_eq(rotate(st, "f", "alice", a, z, T0 + 11, 100, 5, NULL), AG_ERR_REUSED);
    ck_assert_int_eq(family(st, "f").reason, AG_REVOKE_REUSE);

    /* outside the interval: reuse */
    ck_assert_int_eq(put_family(st, "g", "alice", T0, 1000, 100, c), AG_OK);
    uint8_t c2[32], c3[32], c4[32];
    rand_hash(c2);
    rand_hash(c3);
    rand_hash(c4);
    ck_assert_int_eq(rotate(st, "g", "alice", c, c2, T0 + 10, 100, 5, NULL), AG_OK);
    ck_assert_int_eq(rotate(st, "g", "alice", c, c2, T0 + 16, 100, 5, NULL), AG_ERR_REUSED);

    /* second-to-last within the interval: reuse (its successor is used) */
    uint8_t e0[32], e1[32], e2[32];
    rand_hash(e0);
    rand_hash(e1);
    rand_hash(e2);
    ck_assert_int_eq(put_family(st, "h", "alice", T0, 1000, 100, e0), AG_OK);
    ck_assert_int_eq(rotate(st, "h", "alice", e0, e1, T0 + 10, 100, 5, NULL), AG_OK);
    ck_assert_int_eq(rotate(st, "h", "alice", e1, e2, T0 + 11, 100, 5, NULL), AG_OK);
    ck_assert_int_eq(rotate(st, "h", "alice", e0, e1, T0 + 12, 100, 5, NULL), AG_ERR_REUSED);
    ck_assert_int_eq(rotate(st, "h", "alice", e2, c4, T0 + 13, 100, 5, NULL), AG_ERR_REVOKED);

    /* interval 0: any replay is reuse */
    uint8_t k0[32], k1[32];
    rand_hash(k0);
    rand_hash(k1);
    ck_assert_int_eq(put_family(st, "k", "alice", T0, 1000, 100, k0), AG_OK);
    ck_assert_int_eq(rotate(st, "k", "alice", k0, k1, T0 + 10, 100, 0, NULL), AG_OK);
    ck_assert_int_eq(rotate(st, "k", "alice", k0, k1, T0 + 10, 100, 0, NULL), AG_ERR_REUSED);
    discard(_i, st);
}
END_TEST

START_TEST(revoke_family_idempotent)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32];
    rand_hash(a);
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "f", 1, T0 + 5, AG_REVOKE_LOGOUT), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "f", 1, T0 + 9, AG_REVOKE_ADMIN), AG_OK);
    ag_store_family f = family(st, "f");
    ck_assert_int_eq(f.revoked_at, T0 + 5);
    ck_assert_int_eq(f.reason, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(ag_store_revoke_family(st, "zz", 2, T0, AG_REVOKE_LOGOUT), AG_ERR_NOT_FOUND);
    discard(_i, st);
}
END_TEST

/* log out everywhere. */
START_TEST(revoke_subject_all_families)
{
    ag_store *st = fresh(_i, 0);
    uint8_t h[5][32];
    for (int k = 0; k < 5; k++)
        rand_hash(h[k]);
    ck_assert_int_eq(put_family(st, "a1", "alice", T0, 1000, 100, h[0]), AG_OK);
    ck_assert_int_eq(put_family(st, "a2", "alice", T0, 1000, 100, h[1]), AG_OK);
    ck_assert_int_eq(put_family(st, "a3", "alice", T0, 1000, 100, h[2]), AG_OK);
    ck_assert_int_eq(put_family(st, "b1", "bob", T0, 1000, 100, h[3]), AG_OK);
    ck_assert_int_eq(put_family(st, "c1", "alicE", T0, 1000, 100, h[4]), AG_OK);
    ck_assert_int_eq(ag_store_revoke_family(st, "a2", 2, T0 + 1, AG_REVOKE_LOGOUT), AG_OK);
    size_t n = 99;
    ck_assert_int_eq(ag_store_revoke_subject(st, "alice", 5, T0 + 2, AG_REVOKE_LOGOUT_ALL, &n),
                     AG_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(family(st, "a1").reason, AG_REVOKE_LOGOUT_ALL);
    ck_assert_int_eq(family(st, "a2").reason, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(family(st, "a3").revoked_at, T0 + 2);
    ck_assert_int_eq(family(st, "b1").revoked_at, 0);
    ck_assert_int_eq(family(st, "c1").revoked_at, 0); /* exact, case-sensitive */
    ck_assert_int_eq(ag_store_revoke_subject(st, "alice", 5, T0 + 3, AG_REVOKE_LOGOUT_ALL, &n),
                     AG_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(ag_store_revoke_subject(st, "nobody", 6, T0 + 3, AG_REVOKE_LOGOUT_ALL, &n),
                     AG_OK);
    ck_assert_uint_eq(n, 0);
    discard(_i, st);
}
END_TEST

/* purge deletes what is past and keeps used rows until their exp. */
START_TEST(purge_expired_rows)
{
    ag_store *st = fresh(_i, 0);
    uint8_t a[32], b[32], c[32], d[32], e[32];
    rand_hash(a);
    rand_hash(b);
    rand_hash(c);
    rand_hash(d);
    rand_hash(e);
    /* f: a (used, exp T0+100) → b (live, exp T0+150) */
    ck_assert_int_eq(put_family(st, "f", "alice", T0, 1000, 100, a), AG_OK);
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 50, 100, 0, NULL), AG_OK);
    /* g: family living 60 s */
    ck_assert_int_eq(put_family(st, "g", "bob", T0, 60, 60, c), AG_OK);
    /* h: token expiring at T0+80, nothing else */
    ck_assert_int_eq(put_family(st, "h", "carol", T0, 1000, 80, d), AG_OK);
    size_t removed = 99;
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 59, &removed), AG_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 90, &removed), AG_OK);
    ck_assert_uint_eq(removed, 2); /* c (family over), d (token over) */
    ag_store_family fam;
    ck_assert_int_eq(ag_store_lookup_family(st, "g", 1, &fam), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(ag_store_lookup_family(st, "h", 1, &fam), AG_ERR_NOT_FOUND);
    /* the used row is still there, so late reuse is still reuse */
    ck_assert(present(st, a));
    ck_assert_int_eq(rotate(st, "f", "alice", a, e, T0 + 95, 100, 0, NULL), AG_ERR_REUSED);
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 100, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1);
    ck_assert(!present(st, a));
    ck_assert(present(st, b));
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 150, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(ag_store_lookup_family(st, "f", 1, &fam), AG_ERR_NOT_FOUND);
    ag_store_stats s;
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    ck_assert_uint_eq(s.tokens, 0);
    ck_assert_uint_eq(s.families, 0);
    /* the store still works after a purge */
    ck_assert_int_eq(put_family(st, "f", "alice", T0 + 200, 1000, 100, a), AG_OK);
    ck_assert_int_eq(rotate(st, "f", "alice", a, b, T0 + 201, 100, 0, NULL), AG_OK);
    discard(_i, st);
}
END_TEST

/* A full store refuses, never evicts. */
START_TEST(full_store_refuses)
{
    if (!backends[_i]->supports_capacity)
        return;
    ag_store *st = fresh(_i, 4);
    uint8_t h[6][32];
    for (int k = 0; k < 6; k++)
        rand_hash(h[k]);
    ck_assert_int_eq(put_family(st, "f1", "alice", T0, 1000, 100, h[0]), AG_OK);
    ck_assert_int_eq(put_family(st, "f2", "alice", T0, 1000, 10, h[1]), AG_OK);
    ck_assert_int_eq(put_family(st, "f3", "alice", T0, 1000, 100, h[2]), AG_OK);
    ck_assert_int_eq(rotate(st, "f1", "alice", h[0], h[3], T0 + 1, 100, 0, NULL), AG_OK);
    ag_store_stats s;
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    ck_assert_uint_eq(s.capacity, 4);
    ck_assert_uint_eq(s.tokens, 4);
    ck_assert_int_eq(put_family(st, "f4", "alice", T0, 1000, 100, h[4]), AG_ERR_STORE_FULL);
    ag_store_family fam;
    ck_assert_int_eq(ag_store_lookup_family(st, "f4", 2, &fam), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(rotate(st, "f3", "alice", h[2], h[5], T0 + 2, 100, 0, NULL),
                     AG_ERR_STORE_FULL);
    ck_assert_int_eq(row(st, h[2]).used_at, 0); /* not consumed */
    for (int k = 0; k < 4; k++)                 /* nothing evicted */
        ck_assert(present(st, h[k]));
    /* reuse is still detected in a full store */
    ck_assert_int_eq(rotate(st, "f1", "alice", h[0], h[5], T0 + 2, 100, 0, NULL), AG_ERR_REUSED);
    size_t removed;
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 20, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(rotate(st, "f3", "alice", h[2], h[5], T0 + 21, 100, 0, NULL), AG_OK);
    discard(_i, st);
}
END_TEST

TCase *ag_conformance_tcase(const ag_conformance_backend *be)
{
    int i = register_backend(be);
    TCase *tc = tcase_create(conf_tcase_name(be->name, "conformance"));
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, put_then_lookup, i, i + 1);
    tcase_add_loop_test(tc, put_duplicate_writes_nothing, i, i + 1);
    tcase_add_loop_test(tc, wrapper_rejects_bad_arguments, i, i + 1);
    tcase_add_loop_test(tc, rotate_consumes_and_inserts, i, i + 1);
    tcase_add_loop_test(tc, rotate_unknown_changes_nothing, i, i + 1);
    tcase_add_loop_test(tc, rotate_reuse_revokes_family, i, i + 1);
    tcase_add_loop_test(tc, rotate_revoked_family, i, i + 1);
    tcase_add_loop_test(tc, rotate_expired, i, i + 1);
    tcase_add_loop_test(tc, rotate_clamps_to_family_expiry, i, i + 1);
    tcase_add_loop_test(tc, rotate_existing_successor_refused, i, i + 1);
    tcase_add_loop_test(tc, reuse_interval_replay, i, i + 1);
    tcase_add_loop_test(tc, revoke_family_idempotent, i, i + 1);
    tcase_add_loop_test(tc, revoke_subject_all_families, i, i + 1);
    tcase_add_loop_test(tc, purge_expired_rows, i, i + 1);
    tcase_add_loop_test(tc, full_store_refuses, i, i + 1);
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
    r->result[me->k] = rotate(r->st, r->sid, "alice", r->old[me->k], r->nw[me->k], T0 + 10, 100,
                              r->interval, &r->out[me->k]);
    return NULL;
}

static void *race_revoke(void *arg)
{
    race *r = arg;
    pthread_barrier_wait(&r->go);
    r->revoke_result = ag_store_revoke_family(r->st, r->sid, strlen(r->sid), T0 + 10,
                                              AG_REVOKE_LOGOUT);
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
 * loser is reuse (family revoked), the rest find it revoked. */
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
        int ok = 0, reused = 0, revoked = 0, winner = -1;
        for (int k = 0; k < NTHREADS; k++) {
            if (r.result[k] == AG_OK) {
                ok++;
                winner = k;
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
        for (int k = 0; k < NTHREADS; k++)
            ck_assert(present(st, r.nw[k]) == (k == winner));
        ck_assert_int_eq(family(st, sid).reason, AG_REVOKE_REUSE);
        ck_assert_mem_eq(row(st, h).successor, r.nw[winner], 32);
    }
    discard(_i, st);
}
END_TEST

/* with a reuse interval, parallel replays of one token with the
 * same derived successor: one rotation, the rest benign replays. */
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
            rotated += r.out[k].outcome == AG_STORE_ROTATED;
            replayed += r.out[k].outcome == AG_STORE_REPLAYED;
            ck_assert_uint_eq(r.out[k].generation, 1);
        }
        ck_assert_int_eq(rotated, 1);
        ck_assert_int_eq(replayed, NTHREADS - 1);
        ck_assert_int_eq(family(st, sid).revoked_at, 0);
    }
    discard(_i, st);
}
END_TEST

/* 8 threads present the 8 tokens of one chain (7 used, the
 * newest live) while a 9th revokes the family. Whatever the interleaving:
 * the family ends revoked, at most one rotation succeeds and only for the
 * newest token, at most one reuse, and never two live rows. */
START_TEST(race_family_tokens_vs_revoke)
{
    ag_store *st = fresh(_i, 0);
    for (int round = 0; round < 10; round++) {
        race r;
        memset(&r, 0, sizeof r);
        char sid[32];
        snprintf(sid, sizeof sid, "chain-%d", round);
        r.st = st;
        r.sid = sid;
        r.revoker = true;
        uint8_t chain[NTHREADS][32];
        for (int k = 0; k < NTHREADS; k++)
            rand_hash(chain[k]);
        ck_assert_int_eq(put_family(st, sid, "alice", T0, 1000, 100, chain[0]), AG_OK);
        for (int k = 1; k < NTHREADS; k++)
            ck_assert_int_eq(rotate(st, sid, "alice", chain[k - 1], chain[k], T0 + 1, 100, 0, NULL),
                             AG_OK);
        for (int k = 0; k < NTHREADS; k++) {
            memcpy(r.old[k], chain[k], 32);
            rand_hash(r.nw[k]);
        }
        run_race(&r);
        ck_assert_int_eq(r.revoke_result, AG_OK);
        int ok = 0, reused = 0;
        for (int k = 0; k < NTHREADS; k++) {
            ag_err e = r.result[k];
            ck_assert(e == AG_OK || e == AG_ERR_REUSED || e == AG_ERR_REVOKED);
            if (e == AG_OK) {
                ck_assert_int_eq(k, NTHREADS - 1);
                ok++;
            }
            reused += e == AG_ERR_REUSED;
            ck_assert(present(st, r.nw[k]) == (e == AG_OK));
        }
        ck_assert_int_le(ok, 1);
        ck_assert_int_le(reused, 1);
        ag_store_family f = family(st, sid);
        ck_assert_int_ne(f.revoked_at, 0);
        ck_assert(f.reason == AG_REVOKE_REUSE || f.reason == AG_REVOKE_LOGOUT);
        if (!reused)
            ck_assert_int_eq(f.reason, AG_REVOKE_LOGOUT);
        int live = 0;
        for (int k = 0; k < NTHREADS; k++) {
            live += row(st, chain[k]).used_at == 0;
            if (present(st, r.nw[k]))
                live += row(st, r.nw[k]).used_at == 0;
        }
        ck_assert_int_le(live, 1);
    }
    discard(_i, st);
}
END_TEST

typedef struct churn {
    ag_store *st;
    int k;
    int rounds;
    ag_err err;
    bool stop_flag;
} churn;

static void *churn_rotate(void *arg)
{
    churn *c = arg;
    char sid[32];
    snprintf(sid, sizeof sid, "churn-%d", c->k);
    uint8_t cur[32], nx[32];
    rand_hash(cur);
    c->err = put_family(c->st, sid, "alice", T0, 100000, 100000, cur);
    for (int n = 0; n < c->rounds && c->err == AG_OK; n++) {
        rand_hash(nx);
        c->err = rotate(c->st, sid, "alice", cur, nx, T0 + 1 + n, 100000, 0, NULL);
        memcpy(cur, nx, 32);
    }
    return NULL;
}

/* Independent families rotate concurrently with lookups, family revokes of
 * other subjects and purges: no interference, no lost update (TSan food). */
START_TEST(race_independent_families)
{
    ag_store *st = fresh(_i, 0);
    pthread_t th[NTHREADS];
    churn c[NTHREADS];
    for (int k = 0; k < NTHREADS; k++) {
        c[k].st = st;
        c[k].k = k;
        c[k].rounds = 100;
        c[k].err = AG_OK;
        ck_assert_int_eq(pthread_create(&th[k], NULL, churn_rotate, &c[k]), 0);
    }
    uint8_t h[32];
    rand_hash(h);
    ck_assert_int_eq(put_family(st, "bystander", "bob", T0, 1000, 10, h), AG_OK);
    for (int n = 0; n < 50; n++) {
        size_t removed, count;
        ck_assert_int_eq(ag_store_purge_expired(st, T0 + 5, &removed), AG_OK);
        ck_assert_int_eq(ag_store_revoke_subject(st, "bob", 3, T0 + 5, AG_REVOKE_LOGOUT_ALL, &count),
                         AG_OK);
        ag_store_stats s;
        ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    }
    for (int k = 0; k < NTHREADS; k++) {
        pthread_join(th[k], NULL);
        ck_assert_int_eq(c[k].err, AG_OK);
        char sid[32];
        snprintf(sid, sizeof sid, "churn-%d", k);
        ck_assert_int_eq(family(st, sid).revoked_at, 0);
    }
    size_t removed;
    ck_assert_int_eq(ag_store_purge_expired(st, T0 + 20, &removed), AG_OK);
    ag_store_stats s;
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    if (st->stats != NULL) {
        ck_assert_uint_eq(s.families, NTHREADS);
        ck_assert_uint_eq(s.tokens, NTHREADS * 101);
    }
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
    tcase_add_loop_test(tc, race_family_tokens_vs_revoke, i, i + 1);
    tcase_add_loop_test(tc, race_independent_families, i, i + 1);
    return tc;
}

/* SPDX-License-Identifier: MIT */
/*
 * The revocation set (lib/token/revset.c): entries, their expiry, slot
 * reuse, capacity, staleness, the verifier's check (cache hits included,
 * no allocation), the session layer feeding it, and readers racing a
 * writer (label `threads`, run under TSan).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/authgate.h"
#include "testsupport.h"

#define T0 AG_TEST_T0

static ag_revset *set_new(int64_t ttl, size_t cap, int64_t stale)
{
    ag_revset_config c = {.size = sizeof(ag_revset_config),
                          .entry_ttl = ttl,
                          .capacity = cap,
                          .max_staleness = stale};
    ag_revset *rs = NULL;
    ck_assert_int_eq(ag_revset_new(&c, &rs), AG_OK);
    return rs;
}

static ag_claims *claims(const char *sid, const char *sub, int64_t iat)
{
    static ag_claims c = AG_INIT(ag_claims);
    memset(&c, 0, sizeof c);
    c.sid = (ag_span){(const uint8_t *)sid, sid ? strlen(sid) : 0};
    c.sub = (ag_span){(const uint8_t *)sub, sub ? strlen(sub) : 0};
    c.iat = iat;
    return &c;
}

START_TEST(sid_entries_and_expiry)
{
    ag_revset *rs = set_new(100, 0, 0);
    ck_assert_int_eq(ag_revset_check(rs, claims("s1", "alice", T0), T0), AG_OK);
    ck_assert_int_eq(ag_revset_add_sid(rs, "s1", 2, T0), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims("s1", "alice", T0), T0), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_revset_check(rs, claims("s1", "alice", T0), T0 + 99), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_revset_check(rs, claims("s1", "alice", T0), T0 + 100), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims("s2", "alice", T0), T0), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims("s", "alice", T0), T0), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims(NULL, "alice", T0), T0), AG_OK);
    /* a sid and a subject of the same bytes are different entries */
    ck_assert_int_eq(ag_revset_check(rs, claims("x", "s1", T0 - 5), T0), AG_OK);
    /* adding again keeps the later end */
    ck_assert_int_eq(ag_revset_add_sid(rs, "s1", 2, T0 + 50), AG_OK);
    ck_assert_int_eq(ag_revset_add_sid(rs, "s1", 2, T0 + 10), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims("s1", "a", T0), T0 + 149), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_revset_check(rs, claims("s1", "a", T0), T0 + 150), AG_OK);
    ck_assert_int_eq(ag_revset_add_sid(rs, "", 0, T0), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_revset_add_sid(rs, "a\0b", 3, T0), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_revset_add_sid(rs, "s1", 2, 0), AG_ERR_INVALID_ARGUMENT);
    ag_revset_free(rs);
    ag_revset_free(NULL);
}
END_TEST

/* Logout everywhere: the subject's tokens issued before the revocation are
 * refused; a new login from that second on verifies. */
START_TEST(subject_entries_by_iat)
{
    ag_revset *rs = set_new(100, 0, 0);
    ck_assert_int_eq(ag_revset_add_subject(rs, "alice", 5, T0 + 10), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims("a", "alice", T0 + 9), T0 + 10), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_revset_check(rs, claims("a", "alice", T0 + 10), T0 + 10), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims("a", "bob", T0), T0 + 10), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims("a", "alice", T0), T0 + 110), AG_OK);
    ag_revset_free(rs);
}
END_TEST

/* Expired slots are reused: a set of capacity 64 takes entry after entry
 * forever as long as they expire, and holds the same memory throughout. */
START_TEST(slots_reused_memory_constant)
{
    ag_revset *rs = set_new(10, 64, 0);
    ag_revset_stats s0 = AG_INIT(ag_revset_stats), s1 = AG_INIT(ag_revset_stats);
    ck_assert_int_eq(ag_revset_stats_get(rs, T0, &s0), AG_OK);
    char sid[32];
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < 64; k++) {
            snprintf(sid, sizeof sid, "r%d-%d", round, k);
            ck_assert_int_eq(ag_revset_add_sid(rs, sid, strlen(sid), T0 + 20 * round), AG_OK);
        }
        ck_assert_int_eq(ag_revset_check(rs, claims(sid, "u", 0), T0 + 20 * round), AG_ERR_REVOKED);
    }
    ck_assert_int_eq(ag_revset_stats_get(rs, T0 + 20 * 199, &s1), AG_OK);
    ck_assert_uint_eq(s1.live, 64);
    ck_assert_uint_eq(s1.bytes, s0.bytes);
    ck_assert_int_eq(ag_revset_stats_get(rs, T0 + 20 * 199 + 10, &s1), AG_OK);
    ck_assert_uint_eq(s1.live, 0); /* back to empty after the ttl */
    ag_revset_free(rs);
}
END_TEST

START_TEST(full_set_refuses_and_keeps_entries)
{
    ag_revset *rs = set_new(1000, 64, 0); /* 128 slots */
    char sid[32];
    int added = 0;
    for (int k = 0; k < 200; k++) {
        snprintf(sid, sizeof sid, "f%d", k);
        ag_err e = ag_revset_add_sid(rs, sid, strlen(sid), T0);
        ck_assert(e == AG_OK || e == AG_ERR_STORE_FULL);
        added += e == AG_OK;
    }
    ck_assert_int_eq(added, 128);
    for (int k = 0; k < 200; k++) {
        snprintf(sid, sizeof sid, "f%d", k);
        ag_err e = ag_revset_check(rs, claims(sid, "u", 0), T0 + 1);
        ck_assert_int_eq(e == AG_ERR_REVOKED, k < 128);
    }
    ag_revset_free(rs);
}
END_TEST

START_TEST(strict_staleness)
{
    ag_revset *rs = set_new(100, 0, 5);
    /* never synchronised: never stale */
    ck_assert_int_eq(ag_revset_check(rs, claims("s", "u", 0), T0), AG_OK);
    ag_revset_mark_synced(rs, T0);
    ck_assert_int_eq(ag_revset_check(rs, claims("s", "u", 0), T0 + 5), AG_OK);
    ck_assert_int_eq(ag_revset_check(rs, claims("s", "u", 0), T0 + 6), AG_ERR_STORE);
    ag_revset_stats st = AG_INIT(ag_revset_stats);
    ck_assert_int_eq(ag_revset_stats_get(rs, T0, &st), AG_OK);
    ck_assert_int_eq(st.last_synced, T0);
    ag_revset_free(rs);
    rs = set_new(100, 0, 0); /* lenient: keeps serving */
    ag_revset_mark_synced(rs, T0);
    ck_assert_int_eq(ag_revset_check(rs, claims("s", "u", 0), T0 + 1000), AG_OK);
    ag_revset_free(rs);
    ag_revset_config bad = {.size = sizeof(ag_revset_config), .entry_ttl = 0};
    ck_assert_int_eq(ag_revset_new(&bad, &rs), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- through the verifier and the session layer ------------------------- */

typedef struct rig {
    ag_key *key;
    ag_keyring *ring;
    ag_issuer *access, *refresh;
    ag_verifier *av, *rv;
    ag_store *st;
    ag_session *s;
    ag_revset *rs;
} rig;

static void rig_new(rig *r, size_t cache)
{
    static const uint8_t secret[32] = "revset-test-secret-of-32-bytes!";
    memset(r, 0, sizeof *r);
    ag_test_clock_set(T0);
    r->rs = set_new(900 + 30, 0, 0);
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret, 32, "k", &r->key), AG_OK);
    ck_assert_int_eq(ag_keyring_new(NULL, &r->ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(r->ring, r->key), AG_OK);
    ag_issuer_config ac = {.size = sizeof(ag_issuer_config),
                           .key = r->key,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = "iss",
                           .audience = "api",
                           .ttl = 900,
                           .clock = ag_test_clock};
    ag_issuer_config rc = {.size = sizeof(ag_issuer_config),
                           .key = r->key,
                           .kind = AG_TOKEN_REFRESH,
                           .issuer = "iss",
                           .audience = "iss/r",
                           .ttl = 3600,
                           .clock = ag_test_clock};
    ag_verifier_config av = {.size = sizeof(ag_verifier_config),
                             .keys = r->ring,
                             .kind = AG_TOKEN_ACCESS,
                             .issuer = "iss",
                             .audience = "api",
                             .leeway = 30,
                             .clock = ag_test_clock,
                             .cache_entries = cache,
                             .revocations = r->rs};
    ag_verifier_config rv = {.size = sizeof(ag_verifier_config),
                             .keys = r->ring,
                             .kind = AG_TOKEN_REFRESH,
                             .issuer = "iss",
                             .audience = "iss/r",
                             .leeway = 30,
                             .clock = ag_test_clock};
    ck_assert_int_eq(ag_issuer_new(&ac, &r->access), AG_OK);
    ck_assert_int_eq(ag_issuer_new(&rc, &r->refresh), AG_OK);
    ck_assert_int_eq(ag_verifier_new(&av, &r->av), AG_OK);
    ck_assert_int_eq(ag_verifier_new(&rv, &r->rv), AG_OK);
    ck_assert_int_eq(ag_store_memory_new(NULL, &r->st), AG_OK);
    ag_session_config sc = {.size = sizeof(ag_session_config),
                            .access_issuer = r->access,
                            .refresh_issuer = r->refresh,
                            .refresh_verifier = r->rv,
                            .store = r->st,
                            .clock = ag_test_clock,
                            .revocations = r->rs,
                            .max_sessions = 2};
    ck_assert_int_eq(ag_session_new(&sc, &r->s), AG_OK);
}

static void rig_free(rig *r)
{
    ag_session_free(r->s);
    ag_store_close(r->st);
    ag_verifier_free(r->av);
    ag_verifier_free(r->rv);
    ag_issuer_free(r->access);
    ag_issuer_free(r->refresh);
    ag_keyring_free(r->ring);
    ag_key_free(r->key);
    ag_revset_free(r->rs);
}

static ag_err access_ok(rig *r, const ag_session_tokens *t)
{
    static ag_claims c = AG_INIT(ag_claims);
    return ag_verify(r->av, (const uint8_t *)t->access, t->access_len, AG_TEST_SCRATCH(&c), &c);
}

static ag_session_tokens *pair(void)
{
    ag_session_tokens *t = ag_test_tokens();
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Logout, reuse detection, logout-all, eviction and the administrative
 * revokes each refuse the family's outstanding access tokens at once. */
START_TEST(session_revocations_reach_access_tokens)
{
    for (size_t cache = 0; cache <= 16; cache += 16) {
        rig r;
        rig_new(&r, cache);
        ag_session_tokens *a = pair(), *b = pair(), *c = pair(), *d = pair();
        /* logout */
        ck_assert_int_eq(ag_session_issue(r.s, "alice", a), AG_OK);
        ck_assert_int_eq(access_ok(&r, a), AG_OK);
        ck_assert_int_eq(access_ok(&r, a), AG_OK); /* a cache hit, when on */
        ck_assert_int_eq(ag_session_logout(r.s, (const uint8_t *)a->refresh, a->refresh_len),
                         AG_OK);
        ck_assert_int_eq(access_ok(&r, a), AG_ERR_REVOKED);
        /* reuse: the thief's and the owner's access tokens both stop */
        ck_assert_int_eq(ag_session_issue(r.s, "bob", a), AG_OK);
        ag_test_clock_advance(1);
        ck_assert_int_eq(ag_session_refresh(r.s, (const uint8_t *)a->refresh, a->refresh_len, b),
                         AG_OK);
        ck_assert_int_eq(ag_session_refresh(r.s, (const uint8_t *)a->refresh, a->refresh_len, c),
                         AG_ERR_REUSED);
        ck_assert_int_eq(access_ok(&r, a), AG_ERR_REVOKED);
        ck_assert_int_eq(access_ok(&r, b), AG_ERR_REVOKED);
        /* eviction past max_sessions (2) */
        ck_assert_int_eq(ag_session_issue(r.s, "carol", a), AG_OK);
        ag_test_clock_advance(1);
        ck_assert_int_eq(ag_session_issue(r.s, "carol", b), AG_OK);
        ag_test_clock_advance(1);
        ck_assert_int_eq(ag_session_issue(r.s, "carol", c), AG_OK);
        ck_assert_int_eq(access_ok(&r, a), AG_ERR_REVOKED);
        ck_assert_int_eq(access_ok(&r, b), AG_OK);
        /* logout-all: every earlier token of the subject; a new login works */
        ag_test_clock_advance(1);
        ck_assert_int_eq(
            ag_session_logout_all(r.s, (const uint8_t *)c->refresh, c->refresh_len, NULL), AG_OK);
        ck_assert_int_eq(access_ok(&r, b), AG_ERR_REVOKED);
        ck_assert_int_eq(access_ok(&r, c), AG_ERR_REVOKED);
        ag_test_clock_advance(1);
        ck_assert_int_eq(ag_session_issue(r.s, "carol", d), AG_OK);
        ck_assert_int_eq(access_ok(&r, d), AG_OK);
        /* administrative forms */
        ck_assert_int_eq(ag_session_revoke(r.s, d->sid, strlen(d->sid)), AG_OK);
        ck_assert_int_eq(access_ok(&r, d), AG_ERR_REVOKED);
        ck_assert_int_eq(ag_session_issue(r.s, "dave", d), AG_OK);
        ag_test_clock_advance(1);
        ck_assert_int_eq(ag_session_revoke_subject(r.s, "dave", 4, NULL), AG_OK);
        ck_assert_int_eq(access_ok(&r, d), AG_ERR_REVOKED);
        /* the entries end once no access token they cover can verify */
        ck_assert_int_eq(ag_session_issue(r.s, "erin", d), AG_OK);
        ck_assert_int_eq(ag_session_logout(r.s, (const uint8_t *)d->refresh, d->refresh_len),
                         AG_OK);
        ag_test_clock_advance(900 + 30);
        ag_revset_stats st = AG_INIT(ag_revset_stats);
        ck_assert_int_eq(ag_revset_stats_get(r.rs, ag_test_clock_now(), &st), AG_OK);
        ck_assert_uint_eq(st.live, 0);
        free(a), free(b), free(c), free(d);
        rig_free(&r);
    }
}
END_TEST

/* The check allocates nothing: an HS256 verify with a set stays at 0. */
START_TEST(verify_with_set_allocates_nothing)
{
    rig r;
    rig_new(&r, 0);
    ag_session_tokens *a = pair();
    ck_assert_int_eq(ag_session_issue(r.s, "alice", a), AG_OK);
    char sid[32];
    for (int k = 0; k < 1000; k++) {
        snprintf(sid, sizeof sid, "other-%d", k);
        ck_assert_int_eq(ag_revset_add_sid(r.rs, sid, strlen(sid), T0), AG_OK);
    }
    ck_assert_int_eq(access_ok(&r, a), AG_OK);
    ag_test_alloc_reset();
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(access_ok(&r, a), AG_OK);
    ck_assert_int_eq(ag_test_alloc_count(), 0);
    free(a);
    rig_free(&r);
}
END_TEST

/* ---- threads ---------------------------------------------------------- */

#define READERS 8

typedef struct race {
    ag_revset *rs;
    atomic_int stop;
    atomic_long checks;
    atomic_int wrong;
} race;

static void *reader(void *arg)
{
    race *r = arg;
    ag_claims *pinned = calloc(2, sizeof *pinned), *never = pinned + 1;
    if (pinned == NULL)
        return NULL;
    pinned->size = never->size = sizeof *pinned;
    pinned->sid = (ag_span){(const uint8_t *)"pinned", 6};
    pinned->sub = (ag_span){(const uint8_t *)"u", 1};
    never->sid = (ag_span){(const uint8_t *)"never-added", 11};
    never->sub = (ag_span){(const uint8_t *)"nobody", 6};
    while (!atomic_load(&r->stop)) {
        /* "pinned" was added before the readers started and never expires
         * within the test's clock; "never-added" is never added */
        if (ag_revset_check(r->rs, pinned, T0 + 1) != AG_ERR_REVOKED)
            atomic_fetch_add(&r->wrong, 1);
        if (ag_revset_check(r->rs, never, T0 + 1) != AG_OK)
            atomic_fetch_add(&r->wrong, 1);
        atomic_fetch_add(&r->checks, 2);
    }
    free(pinned);
    return NULL;
}

/* 8 readers while one writer adds and expires 100,000 entries. */
START_TEST(readers_race_a_writer)
{
    race r = {.rs = set_new(2, 4096, 0)};
    atomic_init(&r.stop, 0);
    atomic_init(&r.checks, 0);
    atomic_init(&r.wrong, 0);
    ck_assert_int_eq(ag_revset_add_sid(r.rs, "pinned", 6, T0 + 1000000), AG_OK);
    pthread_t th[READERS];
    for (int k = 0; k < READERS; k++)
        ck_assert_int_eq(pthread_create(&th[k], NULL, reader, &r), 0);
    char sid[32];
    for (int k = 0; k < 100000; k++) {
        snprintf(sid, sizeof sid, "w%d", k);
        /* time moves on, so older entries expire and their slots are reused */
        ck_assert_int_eq(ag_revset_add_sid(r.rs, sid, strlen(sid), T0 + k / 1000), AG_OK);
    }
    atomic_store(&r.stop, 1);
    for (int k = 0; k < READERS; k++)
        pthread_join(th[k], NULL);
    ck_assert_int_eq(atomic_load(&r.wrong), 0);
    ck_assert_int_gt(atomic_load(&r.checks), 0);
    ag_revset_free(r.rs);
}
END_TEST

int main(int argc, char **argv)
{
    ag_test_alloc_hooks_install();
    Suite *s = suite_create("revset");
    bool threads_only = argc > 1 && strcmp(argv[1], "threads") == 0;
    if (!threads_only) {
        TCase *tc = tcase_create("set");
        tcase_add_test(tc, sid_entries_and_expiry);
        tcase_add_test(tc, subject_entries_by_iat);
        tcase_add_test(tc, slots_reused_memory_constant);
        tcase_add_test(tc, full_set_refuses_and_keeps_entries);
        tcase_add_test(tc, strict_staleness);
        tcase_add_test(tc, session_revocations_reach_access_tokens);
        tcase_add_test(tc, verify_with_set_allocates_nothing);
        suite_add_tcase(s, tc);
    }
    TCase *tt = tcase_create("threads");
    tcase_set_timeout(tt, 240);
    tcase_add_test(tt, readers_race_a_writer);
    suite_add_tcase(s, tt);
    return ag_test_run(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * The session rules that came with one row per session: logout needs the
 * current token (a rotated one is reuse, and never a switch that ends the
 * subject's other sessions), bounded replays inside the reuse interval, a
 * lost response is not an attack, the per-subject session cap, the purge
 * margin never below the verifier's leeway, and storage that stays
 * constant however often a session rotates.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session_fixture.h"

static env *env_replays(int64_t interval, uint32_t max_replays)
{
    env_opts o = {.ttl = 3600,
                  .life = 86400,
                  .interval = interval,
                  .max_replays = max_replays,
                  .purge_margin = -1};
    return env_make(NULL, &o);
}

/* ---- logout needs the current token ------------------------------------- */

START_TEST(logout_with_rotated_token_is_reuse)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *a0 = tokens_new(), *a1 = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a0), AG_OK);
    ag_test_clock_advance(1);
    ck_assert_int_eq(refresh(e, a0->refresh, a1), AG_OK);
    ag_test_clock_advance(1);
    ck_assert_int_eq(logout(e, a0->refresh), AG_ERR_REUSED);
    assert_revoked(e, a0->sid, AG_REVOKE_REUSE);
    ck_assert_int_eq(e->log.calls, 1);
    ck_assert_str_eq(e->log.sid, a0->sid);
    ck_assert_str_eq(e->log.subject, "alice");
    ck_assert_uint_eq(strlen(e->log.prefix), AG_SESSION_HASH_PREFIX_LEN);
    /* the thief's current token is dead too */
    ck_assert_int_eq(refresh(e, a1->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_session_check_sid(e->s, a0->sid, 43), AG_ERR_REVOKED);
    free(a0);
    free(a1);
    free(out);
    env_free(e);
}
END_TEST

/* The "log out everywhere switch": login A, refresh A, login B, then
 * logout-all with A's first token must not end B. */
static void logout_all_switch(int64_t interval)
{
    env *e = env_new(NULL, 3600, 86400, interval);
    ag_session_tokens *a0 = tokens_new(), *a1 = tokens_new(), *b = tokens_new(),
                      *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a0), AG_OK);
    ag_test_clock_advance(1);
    ck_assert_int_eq(refresh(e, a0->refresh, a1), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", b), AG_OK);
    ag_test_clock_advance(1); /* inside the interval when there is one: no replay for logout-all */
    size_t cnt = 9;
    ck_assert_int_eq(logout_all(e, a0->refresh, &cnt), AG_ERR_REUSED);
    ck_assert_uint_eq(cnt, 0);
    assert_revoked(e, a0->sid, AG_REVOKE_REUSE);
    ck_assert_int_eq(e->log.calls, 1);
    ck_assert_str_eq(e->log.sid, a0->sid);
    /* B lives on, untouched */
    ck_assert_int_eq(ag_session_check_sid(e->s, b->sid, 43), AG_OK);
    assert_row(e, b->sid, 0, b->refresh, NULL);
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_OK);
    /* and logout-all with B's current token still ends everything */
    ck_assert_int_eq(logout_all(e, out->refresh, &cnt), AG_OK);
    ck_assert_uint_eq(cnt, 1); /* B itself; A was already out */
    assert_revoked(e, b->sid, AG_REVOKE_LOGOUT_ALL);
    assert_revoked(e, a0->sid, AG_REVOKE_REUSE); /* first revocation kept */
    ck_assert_int_eq(e->log.calls, 1);
    free(a0);
    free(a1);
    free(b);
    free(out);
    env_free(e);
}

START_TEST(logout_all_with_rotated_token_ends_no_other_session)
{
    logout_all_switch(0);
    logout_all_switch(5);
}
END_TEST

/* With the interval on, a single logout with the previous token inside
 * it is a replay refresh would allow (a lost answer): it logs out. After
 * the interval it is reuse. */
START_TEST(logout_with_previous_token_and_interval)
{
    env *e = env_new(NULL, 3600, 86400, 5);
    ag_session_tokens *a0 = tokens_new(), *a1 = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a0), AG_OK);
    ag_test_clock_set(T0 + 1);
    ck_assert_int_eq(refresh(e, a0->refresh, a1), AG_OK);
    ag_test_clock_set(T0 + 3);
    ck_assert_int_eq(logout(e, a0->refresh), AG_OK);
    assert_revoked(e, a0->sid, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(refresh(e, a1->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(e->log.calls, 0);

    ck_assert_int_eq(ag_session_issue(e->s, "alice", a0), AG_OK);
    ag_test_clock_set(T0 + 4);
    ck_assert_int_eq(refresh(e, a0->refresh, a1), AG_OK);
    ag_test_clock_set(T0 + 10); /* 6 s after the rotation: outside */
    ck_assert_int_eq(logout(e, a0->refresh), AG_ERR_REUSED);
    assert_revoked(e, a0->sid, AG_REVOKE_REUSE);
    ck_assert_int_eq(e->log.calls, 1);
    free(a0);
    free(a1);
    free(out);
    env_free(e);
}
END_TEST

START_TEST(logout_revoked_family)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", b), AG_OK);
    ck_assert_int_eq(ag_session_revoke(e->s, a->sid, 43), AG_OK);
    ag_test_clock_advance(1);
    ck_assert_int_eq(logout(e, a->refresh), AG_ERR_REVOKED);
    size_t cnt = 9;
    ck_assert_int_eq(logout_all(e, a->refresh, &cnt), AG_ERR_REVOKED);
    ck_assert_uint_eq(cnt, 0);
    assert_revoked(e, a->sid, AG_REVOKE_ADMIN); /* reason and time kept */
    ag_store_family f;
    ck_assert_int_eq(fam_of(e, a->sid, &f), AG_OK);
    ck_assert_int_eq(f.revoked_at, T0);
    ck_assert_int_eq(ag_session_check_sid(e->s, b->sid, 43), AG_OK);
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_OK);
    ck_assert_int_eq(e->log.calls, 0);
    free(a);
    free(b);
    free(out);
    env_free(e);
}
END_TEST

/* The token still verifies (leeway 30) but its session is over: the store
 * says expired, for logout as for refresh, and changes nothing. */
START_TEST(logout_expired_family)
{
    env_opts o = {.ttl = 100, .life = 250, .purge_margin = -1, .verifier = sx_v_refresh_leeway};
    env *e = env_make(NULL, &o);
    ag_session_tokens *idle = tokens_new(), *old = tokens_new(), *b = tokens_new(),
                      *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", idle), AG_OK); /* idle: exp T0+100 */
    ck_assert_int_eq(ag_session_issue(e->s, "alice", old), AG_OK);
    ag_test_clock_set(T0 + 90);
    ck_assert_int_eq(refresh(e, old->refresh, out), AG_OK); /* exp T0+190 */
    ag_test_clock_set(T0 + 110); /* idle's token is 10 s past exp, inside the leeway */
    size_t cnt = 9;
    ck_assert_int_eq(logout(e, idle->refresh), AG_ERR_EXPIRED); /* idle lifetime */
    ck_assert_int_eq(logout_all(e, idle->refresh, &cnt), AG_ERR_EXPIRED);
    ck_assert_uint_eq(cnt, 0);
    ag_test_clock_set(T0 + 180);
    ck_assert_int_eq(refresh(e, out->refresh, old), AG_OK); /* exp T0+250: the family's end */
    ck_assert_int_eq(old->refresh_exp, T0 + 250);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", b), AG_OK);
    ag_test_clock_set(T0 + 260); /* 10 s past the family's end, inside the leeway */
    ck_assert_int_eq(logout(e, old->refresh), AG_ERR_EXPIRED); /* absolute lifetime */
    ck_assert_int_eq(logout_all(e, old->refresh, &cnt), AG_ERR_EXPIRED);
    ck_assert_uint_eq(cnt, 0);
    ck_assert_int_eq(refresh(e, old->refresh, out), AG_ERR_EXPIRED);
    /* nothing was revoked, and the other session lives */
    ag_store_family f;
    ck_assert_int_eq(fam_of(e, idle->sid, &f), AG_OK);
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_int_eq(fam_of(e, old->sid, &f), AG_OK);
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_uint_eq(f.generation, 2);
    ck_assert_int_eq(ag_session_check_sid(e->s, b->sid, 43), AG_OK);
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_OK);
    ck_assert_int_eq(e->log.calls, 0);
    free(idle);
    free(old);
    free(b);
    free(out);
    env_free(e);
}
END_TEST

/* ---- bounded replays ------------------------------------------------------ */

/* max_replays replays of the previous token get the same successor; the
 * next one is reuse and ends the family. */
static void replays_then_reuse(uint32_t max_replays)
{
    env *e = env_replays(5, max_replays);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *r = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ag_test_clock_set(T0 + 1);
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
    ck_assert(!b->replayed);
    for (uint32_t k = 1; k <= max_replays; k++) {
        ag_test_clock_set(T0 + 1 + (int64_t)k % 5); /* all inside the interval */
        ck_assert_int_eq(refresh(e, a->refresh, r), AG_OK);
        ck_assert(r->replayed);
        ck_assert_str_eq(r->refresh, b->refresh); /* the SAME refresh token */
        ck_assert_uint_eq(r->generation, 1);
        ag_store_family f;
        ck_assert_int_eq(fam_of(e, a->sid, &f), AG_OK);
        ck_assert_uint_eq(f.replays, k);
    }
    ck_assert_int_eq(refresh(e, a->refresh, r), AG_ERR_REUSED);
    ck_assert_uint_eq(r->refresh_len, 0);
    assert_revoked(e, a->sid, AG_REVOKE_REUSE);
    ck_assert_int_eq(refresh(e, b->refresh, r), AG_ERR_REVOKED);
    ck_assert_int_eq(e->log.calls, 1);
    free(a);
    free(b);
    free(r);
    env_free(e);
}

START_TEST(bounded_replays)
{
    replays_then_reuse(1);
    replays_then_reuse(3);
    replays_then_reuse(AG_SESSION_MAX_REPLAYS_MAX);
}
END_TEST

/* Using the successor ends the window for the previous token at once, with
 * replays left and time left. */
START_TEST(successor_ends_the_window)
{
    const uint32_t maxes[] = {1, 3};
    for (size_t m = 0; m < 2; m++) {
        env *e = env_replays(5, maxes[m]);
        ag_session_tokens *a = tokens_new(), *b = tokens_new(), *c = tokens_new(),
                          *r = tokens_new();
        ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
        ag_test_clock_set(T0 + 1);
        ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
        if (maxes[m] > 1) /* one replay first: replays left afterwards */
            ck_assert_int_eq(refresh(e, a->refresh, r), AG_OK);
        ck_assert_int_eq(refresh(e, b->refresh, c), AG_OK); /* same second */
        ck_assert(!c->replayed);
        ck_assert_int_eq(refresh(e, a->refresh, r), AG_ERR_REUSED);
        assert_revoked(e, a->sid, AG_REVOKE_REUSE);
        ck_assert_int_eq(refresh(e, c->refresh, r), AG_ERR_REVOKED);
        ck_assert_int_eq(e->log.calls, 1);
        free(a);
        free(b);
        free(c);
        free(r);
        env_free(e);
    }
}
END_TEST

/* The interval bounds the window in time as well: a replay after it is
 * reuse even with every replay left. */
START_TEST(replay_after_interval_is_reuse)
{
    env *e = env_replays(5, 3);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *r = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ag_test_clock_set(T0 + 1);
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
    ag_test_clock_set(T0 + 6); /* the last second inside */
    ck_assert_int_eq(refresh(e, a->refresh, r), AG_OK);
    ck_assert(r->replayed);
    ag_test_clock_set(T0 + 7);
    ck_assert_int_eq(refresh(e, a->refresh, r), AG_ERR_REUSED);
    ck_assert_int_eq(e->log.calls, 1);
    free(a);
    free(b);
    free(r);
    env_free(e);
}
END_TEST

/* A replay gets the successor only when that successor is still the
 * family's current token: a session whose derived successor differs (the
 * interval was off for the rotation, or the secret changed between
 * servers) must not hand out a token the store does not hold. */
START_TEST(replay_with_other_successor_is_reuse)
{
    static const uint8_t other_secret[32] = "another-server-secret-32-bytes!!";
    const struct {
        int64_t first_interval;
        const uint8_t *second_secret;
    } cases[] = {{0, sx_secret}, {5, other_secret}};
    for (size_t k = 0; k < 2; k++) {
        env *e = env_new(NULL, 3600, 86400, cases[k].first_interval);
        ag_session_config c = AG_INIT(ag_session_config);
        c.access_issuer = sx_i_access;
        c.refresh_issuer = sx_i_refresh;
        c.refresh_verifier = sx_v_refresh;
        c.store = e->st;
        c.reuse_interval = 5;
        c.secret = cases[k].second_secret;
        c.secret_len = 32;
        c.clock = ag_test_clock;
        ag_session *s2 = NULL;
        ck_assert_int_eq(ag_session_new(&c, &s2), AG_OK);
        ag_session_tokens *a = tokens_new(), *b = tokens_new(), *r = tokens_new();
        ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
        ag_test_clock_set(T0 + 1);
        ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
        ag_test_clock_set(T0 + 2);
        ck_assert_int_eq(ag_session_refresh(s2, (const uint8_t *)a->refresh, a->refresh_len, r),
                         AG_ERR_REUSED);
        ck_assert_uint_eq(r->refresh_len, 0);
        assert_revoked(e, a->sid, AG_REVOKE_REUSE);
        ck_assert_int_eq(refresh(e, b->refresh, r), AG_ERR_REVOKED);
        ag_session_free(s2);
        free(a);
        free(b);
        free(r);
        env_free(e);
    }
}
END_TEST

typedef struct replayer {
    env *e;
    const char *tok;
    pthread_barrier_t *go;
    int tries, ok;
    char first[AG_TOKEN_MAX_LEN + 1]; /* the successor it got, if any */
    ag_session_tokens out;
    char buf[AG_SESSION_TOKENS_BUF_LEN];
} replayer;

static void *replay_loop(void *arg)
{
    replayer *p = arg;
    pthread_barrier_wait(p->go);
    for (int k = 0; k < p->tries; k++)
        if (refresh(p->e, p->tok, &p->out) == AG_OK) {
            if (p->ok++ == 0)
                memcpy(p->first, p->out.refresh, p->out.refresh_len + 1);
        }
    return NULL;
}

/* 1,000 replays of the previous token from 8 threads: at most max_replays
 * succeed (the issue measured 1,000 of 1,000 before), all with the one
 * successor, and the family ends for reuse. */
static void replay_storm(uint32_t max_replays)
{
    enum { THREADS = 8, TRIES = 125 };
    env *e = env_replays(5, max_replays);
    ag_session_tokens *a = tokens_new(), *b = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ag_test_clock_set(T0 + 1);
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, THREADS);
    replayer *ps = calloc(THREADS, sizeof *ps);
    ck_assert_ptr_nonnull(ps);
    pthread_t th[THREADS];
    for (int k = 0; k < THREADS; k++) {
        ps[k] = (replayer){.e = e, .tok = a->refresh, .go = &go, .tries = TRIES};
        ps[k].out.size = sizeof ps[k].out;
        ck_assert_int_eq(ag_session_tokens_init(&ps[k].out, ps[k].buf, sizeof ps[k].buf), AG_OK);
        ck_assert_int_eq(pthread_create(&th[k], NULL, replay_loop, &ps[k]), 0);
    }
    int ok = 0;
    for (int k = 0; k < THREADS; k++) {
        pthread_join(th[k], NULL);
        ok += ps[k].ok;
        if (ps[k].ok > 0)
            ck_assert_str_eq(ps[k].first, b->refresh);
    }
    ck_assert_int_le(ok, (int)max_replays);
    ck_assert_int_eq(ok, (int)max_replays); /* the store is linearizable: exactly */
    ck_assert_int_eq(e->log.calls, 1);
    assert_revoked(e, a->sid, AG_REVOKE_REUSE);
    pthread_barrier_destroy(&go);
    free(ps);
    free(a);
    free(b);
    env_free(e);
}

START_TEST(thousand_replays_bounded)
{
    replay_storm(1);
    replay_storm(AG_SESSION_MAX_REPLAYS_MAX);
}
END_TEST

/* ---- a lost response is not an attack ------------------------------------- */

/* Every rotation's answer is lost once: the client retries with the token
 * it still holds, inside the interval, gets the same successor, and goes
 * on rotating from it. No reuse is reported, the session never ends. */
START_TEST(lost_response_retry_continues)
{
    env *e = env_new(NULL, 3600, 86400, 5); /* the default: one replay */
    ag_session_tokens *held = tokens_new(), *lost = tokens_new(), *got = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", held), AG_OK);
    char sid[AG_SID_MAX_LEN + 1];
    memcpy(sid, held->sid, sizeof sid);
    for (uint64_t k = 1; k <= 10; k++) {
        ag_test_clock_advance(60);
        ck_assert_int_eq(refresh(e, held->refresh, lost), AG_OK); /* committed, answer lost */
        ck_assert(!lost->replayed);
        ag_test_clock_advance(2);
        ck_assert_int_eq(refresh(e, held->refresh, got), AG_OK); /* the retry */
        ck_assert(got->replayed);
        ck_assert_str_eq(got->refresh, lost->refresh);
        ck_assert_uint_eq(got->generation, k);
        ck_assert_int_eq(got->refresh_exp, lost->refresh_exp);
        ck_assert_int_eq(got->access_exp, ag_test_clock_now() + 900); /* a fresh access token */
        ck_assert_int_eq(e->log.calls, 0);
        ag_store_family f;
        ck_assert_int_eq(fam_of(e, sid, &f), AG_OK);
        ck_assert_uint_eq(f.replays, 1);
        assert_row(e, sid, k, got->refresh, held->refresh);
        swap_tokens(&held, &got);
    }
    /* and the client simply continues from what it got */
    ag_test_clock_advance(60);
    ck_assert_int_eq(refresh(e, held->refresh, got), AG_OK);
    ck_assert(!got->replayed);
    ck_assert_uint_eq(got->generation, 11);
    assert_row(e, sid, 11, got->refresh, held->refresh);
    ck_assert_int_eq(ag_session_check_sid(e->s, sid, 43), AG_OK);
    ck_assert_int_eq(e->log.calls, 0);
    free(held);
    free(lost);
    free(got);
    env_free(e);
}
END_TEST

/* ---- the per-subject session cap ------------------------------------------ */

START_TEST(session_cap_evicts_oldest)
{
    env_opts o = {.ttl = 3600, .life = 86400, .max_sessions = 3, .purge_margin = -1};
    env *e = env_make(NULL, &o);
    ag_session_tokens *al[6], *bob[3], *out = tokens_new();
    for (int k = 0; k < 6; k++)
        al[k] = tokens_new();
    for (int k = 0; k < 3; k++) {
        bob[k] = tokens_new();
        ck_assert_int_eq(ag_session_issue(e->s, "bob", bob[k]), AG_OK);
    }
    for (int k = 0; k < 3; k++) {
        ag_test_clock_advance(1);
        ck_assert_int_eq(ag_session_issue(e->s, "alice", al[k]), AG_OK);
    }
    ck_assert_int_eq(e->evicted.calls, 0);
    ag_test_clock_advance(1);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", al[3]), AG_OK); /* the fourth */
    ck_assert_int_eq(e->evicted.calls, 1);
    ck_assert_str_eq(e->evicted.sid, al[0]->sid);
    ck_assert_str_eq(e->evicted.subject, "alice");
    ck_assert_int_eq(e->evicted.now, ag_test_clock_now());
    assert_revoked(e, al[0]->sid, AG_REVOKE_EVICTED);
    ck_assert_int_eq(refresh(e, al[0]->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_session_check_sid(e->s, al[0]->sid, 43), AG_ERR_REVOKED);
    for (int k = 1; k <= 3; k++) /* the newest three, the new login included */
        ck_assert_int_eq(ag_session_check_sid(e->s, al[k]->sid, 43), AG_OK);
    for (int k = 0; k < 3; k++) { /* another subject: untouched */
        ck_assert_int_eq(ag_session_check_sid(e->s, bob[k]->sid, 43), AG_OK);
        assert_row(e, bob[k]->sid, 0, bob[k]->refresh, NULL);
    }
    /* a logged-out session does not count: a login after it evicts nothing */
    ck_assert_int_eq(logout(e, al[1]->refresh), AG_OK);
    ag_test_clock_advance(1);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", al[4]), AG_OK);
    ck_assert_int_eq(e->evicted.calls, 1);
    /* the next one ends the oldest live one, al[2] */
    ag_test_clock_advance(1);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", al[5]), AG_OK);
    ck_assert_int_eq(e->evicted.calls, 2);
    ck_assert_str_eq(e->evicted.sid, al[2]->sid);
    assert_revoked(e, al[2]->sid, AG_REVOKE_EVICTED);
    assert_revoked(e, al[1]->sid, AG_REVOKE_LOGOUT);
    for (int k = 3; k < 6; k++) {
        ck_assert_int_eq(refresh(e, al[k]->refresh, out), AG_OK);
    }
    ck_assert_int_eq(e->log.calls, 0); /* eviction is not reuse */
    for (int k = 0; k < 6; k++)
        free(al[k]);
    for (int k = 0; k < 3; k++)
        free(bob[k]);
    free(out);
    env_free(e);
}
END_TEST

/* A burst of logins inside one second (same `created`): the login just
 * returned must be one of the sessions kept, whatever its random sid.
 * KNOWN LIBRARY BUG (fails today, reported, not fixed here): the cap
 * evicts by (created, sid), so among sessions created in the same second
 * the new login is evicted whenever its random sid is the smallest, and
 * ag_session_issue returns AG_OK with tokens of a revoked session. */
static void cap_burst(ag_store *st, const char *backend)
{
    env_opts o = {.ttl = 3600, .life = 86400, .max_sessions = 3, .purge_margin = -1};
    env *e = env_make(st, &o);
    ag_session_tokens *t = tokens_new(), *out = tokens_new();
    for (int k = 0; k < 100; k++) {
        ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
        ck_assert_msg(ag_session_check_sid(e->s, t->sid, 43) == AG_OK,
                      "%s, login %d: the session just issued was evicted", backend, k);
        ck_assert_int_eq(refresh(e, t->refresh, out), AG_OK);
    }
    ck_assert_int_eq(e->evicted.calls, 97);
    free(t);
    free(out);
    env_free(e);
}

START_TEST(session_cap_keeps_the_new_login)
{
    cap_burst(NULL, "memory");
    if (!ag_store_sqlite_available())
        return;
    char dir[] = "/tmp/ag-session-cap-XXXXXX", path[96], cmd[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.db", dir);
    ag_store_sqlite_config sc = {.size = sizeof(ag_store_sqlite_config), .path = path};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_sqlite_open(&sc, &st), AG_OK);
    cap_burst(st, "sqlite");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A full memory store answers STORE_FULL only when every row is a live
 * session: a tombstone left by a logout makes room at once, even in the
 * same second as a login that found the store full.
 * KNOWN LIBRARY BUG (fails today, reported, not fixed here): after a
 * reclaim that freed nothing, the memory store does not sweep again
 * within the same second, so this login is refused. */
START_TEST(store_full_reclaims_within_the_second)
{
    ag_store *st = NULL;
    ag_store_memory_config mc = {.size = sizeof(ag_store_memory_config), .capacity = 2};
    ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    env *e = env_new(st, 3600, 86400, 0);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *c = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "bob", b), AG_OK);
    ag_test_clock_set(T0 + 1);
    ck_assert_int_eq(ag_session_issue(e->s, "carol", c), AG_ERR_STORE_FULL);
    ck_assert_int_eq(logout(e, a->refresh), AG_OK); /* a tombstone: not a live session */
    ck_assert_int_eq(ag_session_issue(e->s, "carol", c), AG_OK);
    free(a);
    free(b);
    free(c);
    env_free(e);
}
END_TEST

/* ---- the purge margin never goes below the leeway -------------------------- */

/* A refresh verifier with a leeway of 30 s accepts a token up to 30 s past
 * its exp, so purging its family before then would turn "reuse" into
 * "unknown". purge_margin -1 (the leeway), 5 (below it) and 0 (the
 * maximum) must all keep it. */
static void purge_keeps_leeway(int64_t margin)
{
    int64_t effective = margin == 0 ? AG_LEEWAY_MAX : SX_LEEWAY;
    env_opts o = {
        .ttl = 100, .life = 86400, .purge_margin = margin, .verifier = sx_v_refresh_leeway};
    env *e = env_make(NULL, &o);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK); /* exp T0+100 */
    ag_test_clock_set(T0 + 10);
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK); /* exp T0+110 */
    ag_test_clock_set(T0 + 125);                        /* both past exp, both inside the leeway */
    size_t removed = 9;
    ck_assert_int_eq(ag_session_purge(e->s, &removed), AG_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_ERR_EXPIRED); /* not UNKNOWN */
    ck_assert_int_eq(refresh(e, a->refresh, out), AG_ERR_REUSED);  /* not UNKNOWN */
    ck_assert_int_eq(e->log.calls, 1);
    assert_revoked(e, a->sid, AG_REVOKE_REUSE);
    /* the last second a token of the family verifies: still kept */
    ag_test_clock_set(T0 + 110 + SX_LEEWAY - 1);
    ck_assert_int_eq(ag_session_purge(e->s, &removed), AG_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_ERR_REVOKED);
    /* and once the margin has passed, it goes */
    ag_test_clock_set(T0 + 110 + effective - 1);
    ck_assert_int_eq(ag_session_purge(e->s, &removed), AG_OK);
    ck_assert_uint_eq(removed, 0);
    ag_test_clock_set(T0 + 110 + effective);
    ck_assert_int_eq(ag_session_purge(e->s, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1);
    ck_assert_int_eq(ag_session_check_sid(e->s, a->sid, 43), AG_ERR_UNKNOWN);
    free(a);
    free(b);
    free(out);
    env_free(e);
}

START_TEST(purge_margin_not_below_leeway)
{
    purge_keeps_leeway(-1);
    purge_keeps_leeway(5);
    purge_keeps_leeway(0);
}
END_TEST

/* ---- storage stays constant ------------------------------------------------ */

static ag_store_stats stats_of(env *e)
{
    ag_store_stats s = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(e->st, &s), AG_OK);
    return s;
}

/* Rotates a session n times, one second apart. */
static void rotate_n(env *e, ag_session_tokens **t, ag_session_tokens **spare, int n)
{
    for (int k = 0; k < n; k++) {
        ag_test_clock_advance(1);
        ck_assert_int_eq(refresh(e, (*t)->refresh, *spare), AG_OK);
        swap_tokens(t, spare);
    }
}

START_TEST(storage_constant_memory)
{
    env *e = env_new(NULL, 3600, 86400, 5);
    ag_session_tokens *t = tokens_new(), *n = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    ag_store_stats s0 = stats_of(e);
    ck_assert_uint_eq(s0.families, 1);
    ck_assert_uint_gt(s0.bytes, 0);
    rotate_n(e, &t, &n, 1);
    ag_store_stats s1 = stats_of(e);
    rotate_n(e, &t, &n, 9999);
    ag_store_stats s2 = stats_of(e);
    ck_assert_uint_eq(s1.families, 1);
    ck_assert_uint_eq(s2.families, 1);
    ck_assert_uint_eq(s1.bytes, s0.bytes);
    ck_assert_uint_eq(s2.bytes, s0.bytes);
    assert_row(e, t->sid, 10000, t->refresh, n->refresh);
    /* another user can still log in, and takes one more row */
    ck_assert_int_eq(ag_session_issue(e->s, "bob", n), AG_OK);
    ck_assert_uint_eq(stats_of(e).families, 2);
    ck_assert_int_eq(e->log.calls, 0);
    free(t);
    free(n);
    env_free(e);
}
END_TEST

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    fclose(f);
    return n;
}

START_TEST(storage_constant_sqlite)
{
    if (!ag_store_sqlite_available())
        return;
    char dir[] = "/tmp/ag-session-size-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[96], cmd[128];
    snprintf(path, sizeof path, "%s/s.db", dir);
    ag_store_sqlite_config sc = {.size = sizeof(ag_store_sqlite_config), .path = path};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_sqlite_open(&sc, &st), AG_OK);
    env *e = env_new(st, 3600, 86400, 5);
    ag_session_tokens *t = tokens_new(), *n = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    rotate_n(e, &t, &n, 1);
    ck_assert_uint_eq(stats_of(e).families, 1);
    /* the file after one rotation, checkpointed by a close and reopen */
    ag_session_free(e->s);
    ag_store_close(e->st);
    long size1 = file_size(path);
    ck_assert_int_eq(ag_store_sqlite_open(&sc, &st), AG_OK);
    int64_t now = ag_test_clock_now();
    free(e);
    e = env_new(st, 3600, 86400, 5); /* resets the clock: put it back */
    ag_test_clock_set(now);
    rotate_n(e, &t, &n, 9999);
    ck_assert_uint_eq(stats_of(e).families, 1);
    assert_row(e, t->sid, 10000, t->refresh, n->refresh);
    env_free(e);
    ck_assert_int_eq(file_size(path), size1);
    free(t);
    free(n);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

void add_rules_tests(Suite *s)
{
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, logout_with_rotated_token_is_reuse);
    tcase_add_test(tc, logout_all_with_rotated_token_ends_no_other_session);
    tcase_add_test(tc, logout_with_previous_token_and_interval);
    tcase_add_test(tc, logout_revoked_family);
    tcase_add_test(tc, logout_expired_family);
    tcase_add_test(tc, bounded_replays);
    tcase_add_test(tc, successor_ends_the_window);
    tcase_add_test(tc, replay_after_interval_is_reuse);
    tcase_add_test(tc, replay_with_other_successor_is_reuse);
    tcase_add_test(tc, thousand_replays_bounded);
    tcase_add_test(tc, lost_response_retry_continues);
    tcase_add_test(tc, session_cap_evicts_oldest);
    tcase_add_test(tc, session_cap_keeps_the_new_login);
    tcase_add_test(tc, store_full_reclaims_within_the_second);
    tcase_add_test(tc, purge_margin_not_below_leeway);
    tcase_add_test(tc, storage_constant_memory);
    tcase_add_test(tc, storage_constant_sqlite);
    suite_add_tcase(s, tc);
}

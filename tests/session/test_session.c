/* SPDX-License-Identifier: MIT */
/*
 * Tests for lib/session/session.c: rotation, reuse detection, forged and
 * wrong-type tokens, logout, lifetimes, the reuse interval, store full and
 * the config checks (R-01…R-11). The store keeps one row per session:
 * where a test looks at stored state it reads that row. In the same
 * "session" TCase, from files beside this one: a failing store
 * (session_store_failures.c) and concurrent refreshes (session_races.c).
 * The rules added with one row per session (logout, bounded replays, lost
 * responses, the session cap, the purge margin, constant storage) are in
 * session_rules.c; "nothing stored is a jti or a token" in
 * session_secrets.c. The fixture is session_fixture.c.
 */
#include <stdlib.h>
#include <string.h>

#include "session_fixture.h"

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(issue_pair_shape)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *t = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    ck_assert_uint_eq(strlen(t->sid), 43);
    ck_assert_uint_eq(t->access_len, strlen(t->access));
    ck_assert_uint_eq(t->refresh_len, strlen(t->refresh));
    ck_assert_int_eq(t->refresh_exp, T0 + 3600);
    ck_assert_int_eq(t->family_exp, T0 + 86400);
    ck_assert_uint_eq(t->generation, 0);
    ag_claims *a = claims_of(t->access, true);
    ck_assert_uint_eq(a->sid.len, 43); /* access tokens carry the sid too */
    ck_assert(memcmp(a->sid.ptr, t->sid, 43) == 0);
    ck_assert(memcmp(a->sub.ptr, "alice", 5) == 0);
    free(a);
    ag_claims *r = claims_of(t->refresh, false);
    ck_assert(memcmp(r->sid.ptr, t->sid, 43) == 0);
    ck_assert_uint_eq(r->jti.len, 43);
    free(r);
    ck_assert_int_eq(ag_session_check_sid(e->s, t->sid, 43), AG_OK);
    ck_assert_int_eq(ag_session_check_sid(e->s, "nope", 4), AG_ERR_UNKNOWN);
    /* the row: generation 0, the first token current, no previous */
    assert_row(e, t->sid, 0, t->refresh, NULL);
    ag_store_family f;
    ck_assert_int_eq(fam_of(e, t->sid, &f), AG_OK);
    ck_assert_str_eq(f.subject, "alice");
    ck_assert_int_eq(f.created, T0);
    ck_assert_int_eq(f.expires, T0 + 86400);
    ck_assert_int_eq(f.current_issued, T0);
    ck_assert_int_eq(f.current_expires, T0 + 3600);
    ck_assert_uint_eq(f.replays, 0);
    /* two logins, two families */
    ag_session_tokens *t2 = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t2), AG_OK);
    ck_assert_str_ne(t->sid, t2->sid);
    ck_assert_int_eq(ag_session_issue(e->s, "", t2), AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(t2->refresh_len, 0); /* wiped on failure */
    free(t);
    free(t2);
    env_free(e);
}
END_TEST

/* A refresh verifies once: ag_session_*_verified take claims the session's
 * own refresh verifier accepted, and nothing else — not claims of another
 * verifier, not those of a failed verify, not ones whose exp has passed
 * since; the rotation then behaves exactly as ag_session_refresh. */
START_TEST(verified_claims_only_from_the_refresh_verifier)
{
    env *e = env_new(NULL, 600, 86400, 0);
    ag_session_tokens *t = tokens_new(), *t2 = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    ag_claims c = AG_INIT(ag_claims);

    /* another verifier's claims (same keys, same token: it verifies) */
    ck_assert_int_eq(ag_verify(sx_v_refresh_leeway, (const uint8_t *)t->refresh, t->refresh_len,
                               scratch, sizeof scratch, &c),
                     AG_OK);
    ck_assert_int_eq(ag_session_refresh_verified(e->s, &c, t2), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_logout_verified(e->s, &c), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_logout_all_verified(e->s, &c, NULL), AG_ERR_INVALID_ARGUMENT);
    /* claims of the right verifier, then a failed verify into the same struct */
    ck_assert_int_eq(ag_verify(sx_v_refresh, (const uint8_t *)t->refresh, t->refresh_len, scratch,
                               sizeof scratch, &c),
                     AG_OK);
    char bad[AG_TOKEN_MAX_LEN + 1];
    memcpy(bad, t->refresh, t->refresh_len + 1);
    bad[t->refresh_len - 2] ^= 1;
    ck_assert_int_ne(
        ag_verify(sx_v_refresh, (const uint8_t *)bad, t->refresh_len, scratch, sizeof scratch, &c),
        AG_OK);
    ck_assert_int_eq(ag_session_refresh_verified(e->s, &c, t2), AG_ERR_INVALID_ARGUMENT);
    /* never verified */
    ag_claims blank = AG_INIT(ag_claims);
    memset(&blank, 0, sizeof blank);
    blank.size = sizeof blank;
    ck_assert_int_eq(ag_session_refresh_verified(e->s, &blank, t2), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_refresh_verified(e->s, NULL, t2), AG_ERR_INVALID_ARGUMENT);
    assert_row(e, t->sid, 0, t->refresh, NULL); /* nothing reached the store */

    /* verified claims rotate, once */
    ck_assert_int_eq(ag_verify(sx_v_refresh, (const uint8_t *)t->refresh, t->refresh_len, scratch,
                               sizeof scratch, &c),
                     AG_OK);
    ck_assert_int_eq(ag_session_refresh_verified(e->s, &c, t2), AG_OK);
    ck_assert_uint_eq(t2->generation, 1);
    assert_row(e, t->sid, 1, t2->refresh, t->refresh);
    /* the same claims again: the token is no longer current (reuse) */
    ag_session_tokens *t3 = tokens_new();
    ck_assert_int_eq(ag_session_refresh_verified(e->s, &c, t3), AG_ERR_REUSED);
    ck_assert_int_eq(e->log.calls, 1);
    ck_assert_uint_eq(t3->refresh_len, 0);

    /* exp is checked again: claims verified, then kept past exp */
    env *e2 = env_new(NULL, 600, 86400, 0);
    ck_assert_int_eq(ag_session_issue(e2->s, "bob", t), AG_OK);
    ck_assert_int_eq(ag_verify(sx_v_refresh, (const uint8_t *)t->refresh, t->refresh_len, scratch,
                               sizeof scratch, &c),
                     AG_OK);
    ag_test_clock_set(T0 + 600);
    ck_assert_int_eq(ag_session_logout_verified(e2->s, &c), AG_ERR_EXPIRED);
    ag_test_clock_set(T0 + 599);
    ck_assert_int_eq(ag_session_logout_verified(e2->s, &c), AG_OK);
    ck_assert_int_eq(ag_session_check_sid(e2->s, t->sid, 43), AG_ERR_REVOKED);
    free(t);
    free(t2);
    free(t3);
    env_free(e);
    env_free(e2);
}
END_TEST

/* ag_session_tokens carries no token buffer of its own: it is attached to
 * caller memory (init) or allocated with it (new); an unattached holder or
 * a short buffer is refused before anything happens, and clear wipes the
 * tokens but keeps the attachment. */
START_TEST(token_holder_attachment)
{
    env *e = env_new(NULL, 600, 86400, 0);
    ag_session_tokens bare;
    memset(&bare, 0, sizeof bare);
    bare.size = sizeof bare;
    ck_assert_uint_lt(sizeof bare, 256); /* no AG_TOKEN_MAX_LEN inside */
    ck_assert_int_eq(ag_session_issue(e->s, "alice", &bare), AG_ERR_INVALID_ARGUMENT);
    static char small[AG_SESSION_TOKENS_BUF_LEN - 1];
    ck_assert_int_eq(ag_session_tokens_init(&bare, small, sizeof small), AG_ERR_BUFFER);
    ck_assert_int_eq(ag_session_tokens_init(&bare, NULL, 0), AG_ERR_INVALID_ARGUMENT);

    ag_session_tokens *t = NULL;
    ck_assert_int_eq(ag_session_tokens_new(NULL, &t), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    ck_assert_uint_eq(strlen(t->refresh), t->refresh_len);
    char *refresh_at = t->refresh;
    size_t n = t->refresh_len;
    ck_assert_int_eq(refresh(e, "x.y.z", &bare), AG_ERR_INVALID_ARGUMENT);
    ag_session_tokens_clear(t);
    ck_assert_ptr_eq(t->refresh, refresh_at); /* still attached */
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(refresh_at[i], 0);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK); /* reusable */
    ag_session_tokens_free(t);
    ag_session_tokens_free(NULL);
    env_free(e);
}
END_TEST

/* a chain of 1,000 rotations. */
START_TEST(rotation_chain_1000)
{
    env *e = env_new(NULL, 3600, 86400 * 30, 0);
    ag_session_tokens *t = tokens_new(), *n = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    char sid[AG_SID_MAX_LEN + 1];
    memcpy(sid, t->sid, sizeof sid);
    for (int k = 1; k <= 1000; k++) {
        ag_test_clock_advance(1);
        ck_assert_int_eq(refresh(e, t->refresh, n), AG_OK);
        ck_assert_uint_eq(n->generation, (uint64_t)k);
        ck_assert_str_eq(n->sid, sid);
        ck_assert(!n->replayed);
        ck_assert_str_ne(n->refresh, t->refresh);
        ag_session_tokens *tmp = t;
        t = n;
        n = tmp;
    }
    ag_store_stats s = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(e->st, &s), AG_OK);
    ck_assert_uint_eq(s.families, 1); /* one row, however often it rotated */
    /* the row: generation 1000, the newest token current, n the one before */
    assert_row(e, sid, 1000, t->refresh, n->refresh);
    ag_store_family f;
    ck_assert_int_eq(fam_of(e, sid, &f), AG_OK);
    ck_assert_uint_eq(f.replays, 0);
    ck_assert_int_eq(f.current_issued, ag_test_clock_now());
    ck_assert_int_eq(f.current_expires, ag_test_clock_now() + 3600);
    ck_assert_int_eq(e->log.calls, 0);
    free(t);
    free(n);
    env_free(e);
}
END_TEST

/* reuse of ANY earlier token revokes the family; the newest dies. */
START_TEST(reuse_of_any_earlier_token_revokes_newest)
{
    const int earlier[] = {0, 1, 5, 8};
    for (size_t x = 0; x < sizeof earlier / sizeof earlier[0]; x++) {
        env *e = env_new(NULL, 3600, 86400, 0);
        ag_session_tokens *chain = calloc(10, sizeof *chain);
        char(*bufs)[AG_SESSION_TOKENS_BUF_LEN] = calloc(10, sizeof *bufs);
        ck_assert_ptr_nonnull(chain);
        ck_assert_ptr_nonnull(bufs);
        for (int k = 0; k < 10; k++) {
            chain[k].size = sizeof chain[k];
            ck_assert_int_eq(ag_session_tokens_init(&chain[k], bufs[k], sizeof bufs[k]), AG_OK);
        }
        ck_assert_int_eq(ag_session_issue(e->s, "alice", &chain[0]), AG_OK);
        for (int k = 1; k < 10; k++) {
            ag_test_clock_advance(1);
            ck_assert_int_eq(refresh(e, chain[k - 1].refresh, &chain[k]), AG_OK);
        }
        ag_session_tokens *out = tokens_new();
        ag_test_clock_advance(1);
        ck_assert_int_eq(refresh(e, chain[earlier[x]].refresh, out), AG_ERR_REUSED);
        ck_assert_uint_eq(out->refresh_len, 0);
        ck_assert_int_eq(e->log.calls, 1);
        ck_assert_str_eq(e->log.sid, chain[0].sid);
        ck_assert_str_eq(e->log.subject, "alice");
        ck_assert_uint_eq(strlen(e->log.prefix), AG_SESSION_HASH_PREFIX_LEN);
        /* the callback saw no part of the jti */
        char jti[65];
        jti_of(chain[earlier[x]].refresh, jti);
        ck_assert_ptr_null(strstr(jti, e->log.prefix));
        /* the newest token is dead, and so is the sid for access tokens */
        ck_assert_int_eq(refresh(e, chain[9].refresh, out), AG_ERR_REVOKED);
        ck_assert_int_eq(ag_session_check_sid(e->s, chain[0].sid, 43), AG_ERR_REVOKED);
        assert_revoked(e, chain[0].sid, AG_REVOKE_REUSE);
        ck_assert_int_eq(e->log.calls, 1);
        free(out);
        free(chain);
        free(bufs);
        env_free(e);
    }
}
END_TEST

/* R-04, V-11: a forged token carrying a live (or used) jti changes nothing. */
START_TEST(forged_token_changes_nothing)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *t0 = tokens_new(), *t1 = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t0), AG_OK);
    ag_test_clock_advance(1);
    ck_assert_int_eq(refresh(e, t0->refresh, t1), AG_OK);
    char live_jti[65], used_jti[65];
    jti_of(t1->refresh, live_jti);
    jti_of(t0->refresh, used_jti);
    char *forged = malloc(AG_TOKEN_MAX_LEN + 1);
    ck_assert_ptr_nonnull(forged);
    /* signed with another secret under the real kid */
    mint(sx_i_forger, "alice", t1->sid, live_jti, forged);
    ck_assert_int_eq(refresh(e, forged, out), AG_ERR_SIGNATURE);
    mint(sx_i_forger, "alice", t1->sid, used_jti, forged); /* would be "reuse" if trusted */
    ck_assert_int_eq(refresh(e, forged, out), AG_ERR_SIGNATURE);
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)forged, strlen(forged)),
                     AG_ERR_SIGNATURE);
    size_t cnt = 9;
    ck_assert_int_eq(ag_session_logout_all(e->s, (const uint8_t *)forged, strlen(forged), &cnt),
                     AG_ERR_SIGNATURE);
    /* the real token with one signature character changed */
    memcpy(forged, t1->refresh, t1->refresh_len + 1);
    forged[t1->refresh_len - 2] = forged[t1->refresh_len - 2] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(refresh(e, forged, out), AG_ERR_SIGNATURE);
    ck_assert_int_eq(e->log.calls, 0);
    /* the row is as the one real rotation left it */
    assert_row(e, t1->sid, 1, t1->refresh, t0->refresh);
    ck_assert_int_eq(refresh(e, t1->refresh, out), AG_OK); /* still works */
    free(forged);
    free(t0);
    free(t1);
    free(out);
    env_free(e);
}
END_TEST

/* V-12: an access token at the refresh endpoint is the wrong type. */
START_TEST(access_token_as_refresh_wrong_type)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *t = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    char *at = malloc(AG_TOKEN_MAX_LEN + 1);
    ck_assert_ptr_nonnull(at);
    mint(sx_i_access_as_rt, "alice", t->sid, NULL, at); /* right aud, right sid, typ at+jwt */
    ck_assert_int_eq(refresh(e, at, out), AG_ERR_WRONG_TYPE);
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)at, strlen(at)), AG_ERR_WRONG_TYPE);
    /* the session's own access token is refused too (wrong aud or typ) */
    ag_err x = refresh(e, t->access, out);
    ck_assert(x == AG_ERR_WRONG_TYPE || x == AG_ERR_CLAIM);
    ck_assert_int_eq(ag_session_check_sid(e->s, t->sid, 43), AG_OK);
    assert_row(e, t->sid, 0, t->refresh, NULL); /* not rotated */
    ck_assert_int_eq(refresh(e, t->refresh, out), AG_OK);
    free(at);
    free(t);
    free(out);
    env_free(e);
}
END_TEST

/* Valid signature, but no family of that sid and subject in the store →
 * its own error, nothing revoked. A validly signed token of a KNOWN family
 * that is not its current one is another matter: reuse. */
START_TEST(unknown_family_no_revocation)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *t = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    char *tok = malloc(AG_TOKEN_MAX_LEN + 1);
    ck_assert_ptr_nonnull(tok);
    mint(sx_i_refresh, "alice", "no-such-sid", NULL, tok); /* random jti, unknown sid */
    ck_assert_int_eq(refresh(e, tok, out), AG_ERR_UNKNOWN);
    ck_assert_int_eq(logout(e, tok), AG_ERR_UNKNOWN);
    size_t cnt = 9;
    ck_assert_int_eq(logout_all(e, tok, &cnt), AG_ERR_UNKNOWN);
    ck_assert_uint_eq(cnt, 0);
    /* the current jti under another subject or sid is unknown too */
    char jti[65];
    jti_of(t->refresh, jti);
    mint(sx_i_refresh, "mallory", t->sid, jti, tok);
    ck_assert_int_eq(refresh(e, tok, out), AG_ERR_UNKNOWN);
    ck_assert_int_eq(logout_all(e, tok, &cnt), AG_ERR_UNKNOWN);
    mint(sx_i_refresh, "alice", "another-sid", jti, tok);
    ck_assert_int_eq(refresh(e, tok, out), AG_ERR_UNKNOWN);
    ck_assert_int_eq(e->log.calls, 0);
    ck_assert_int_eq(ag_session_check_sid(e->s, t->sid, 43), AG_OK);
    assert_row(e, t->sid, 0, t->refresh, NULL);
    ck_assert_int_eq(refresh(e, t->refresh, out), AG_OK);
    /* signed by our key, of alice's live family, not its current token */
    mint(sx_i_refresh, "alice", t->sid, NULL, tok);
    ck_assert_int_eq(refresh(e, tok, t), AG_ERR_REUSED);
    ck_assert_int_eq(e->log.calls, 1);
    assert_revoked(e, out->sid, AG_REVOKE_REUSE);
    free(tok);
    free(t);
    free(out);
    env_free(e);
}
END_TEST

/* logout revokes the family; logout-all every family of the subject. */
START_TEST(logout_and_logout_all)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *a1 = tokens_new(), *a2 = tokens_new(), *a3 = tokens_new(), *b = tokens_new(),
                      *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a1), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a2), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a3), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "bob", b), AG_OK);
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)a1->refresh, a1->refresh_len), AG_OK);
    ck_assert_int_eq(refresh(e, a1->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_session_check_sid(e->s, a1->sid, 43), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_session_check_sid(e->s, a2->sid, 43), AG_OK);
    assert_revoked(e, a1->sid, AG_REVOKE_LOGOUT);
    /* logout again: the family is revoked, so it fails as refresh would,
     * and the first revocation (time, reason) stays */
    ag_store_family before, after;
    ck_assert_int_eq(fam_of(e, a1->sid, &before), AG_OK);
    ag_test_clock_advance(1);
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)a1->refresh, a1->refresh_len),
                     AG_ERR_REVOKED);
    ck_assert_int_eq(fam_of(e, a1->sid, &after), AG_OK);
    ck_assert_int_eq(after.revoked_at, before.revoked_at);
    ck_assert_int_eq(after.reason, AG_REVOKE_LOGOUT);
    size_t n = 0;
    ck_assert_int_eq(ag_session_logout_all(e->s, (const uint8_t *)a2->refresh, a2->refresh_len, &n),
                     AG_OK);
    ck_assert_uint_eq(n, 2); /* a2's own family and a3's; a1 was already out */
    ck_assert_int_eq(refresh(e, a2->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(refresh(e, a3->refresh, out), AG_ERR_REVOKED);
    assert_revoked(e, a2->sid, AG_REVOKE_LOGOUT_ALL);
    assert_revoked(e, a3->sid, AG_REVOKE_LOGOUT_ALL);
    assert_revoked(e, a1->sid, AG_REVOKE_LOGOUT);
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_OK);
    /* administrative revocation */
    ck_assert_int_eq(ag_session_revoke(e->s, b->sid, 43), AG_OK);
    ck_assert_int_eq(refresh(e, out->refresh, a1), AG_ERR_REVOKED);
    assert_revoked(e, b->sid, AG_REVOKE_ADMIN);
    ck_assert_int_eq(ag_session_revoke(e->s, "no-such-sid", 11), AG_ERR_NOT_FOUND);
    /* the output may not overlap the token it consumes */
    ck_assert_int_eq(refresh(e, out->refresh, out), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_revoke_subject(e->s, "bob", 3, &n), AG_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(e->log.calls, 0);
    free(a1);
    free(a2);
    free(a3);
    free(b);
    free(out);
    env_free(e);
}
END_TEST

/* idle expiry by the refresh TTL, with the injected clock. */
START_TEST(idle_expiry_and_purge)
{
    env *e = env_new(NULL, 100, 86400, 0);
    ag_session_tokens *t = tokens_new(), *u = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "bob", u), AG_OK);
    ag_test_clock_set(T0 + 99);
    ck_assert_int_eq(refresh(e, u->refresh, out), AG_OK); /* bob stays active */
    ag_test_clock_set(T0 + 100);
    ck_assert_int_eq(refresh(e, t->refresh, t), AG_ERR_INVALID_ARGUMENT); /* overlap */
    ag_session_tokens *x = tokens_new();
    ck_assert_int_eq(ag_session_refresh(e->s, (const uint8_t *)t->refresh, t->refresh_len, x),
                     AG_ERR_EXPIRED);
    ck_assert_uint_eq(x->refresh_len, 0);
    free(x);
    ck_assert_int_eq(ag_session_check_sid(e->s, t->sid, 43), AG_ERR_EXPIRED);
    size_t removed = 0;
    ck_assert_int_eq(ag_session_purge(e->s, &removed), AG_OK);
    ck_assert_uint_eq(removed, 1); /* alice's row; bob's one row rotated and lives */
    ag_store_stats st = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(e->st, &st), AG_OK);
    ck_assert_uint_eq(st.families, 1);
    ck_assert_int_eq(ag_session_check_sid(e->s, t->sid, 43), AG_ERR_UNKNOWN);
    ck_assert_int_eq(ag_session_check_sid(e->s, u->sid, 43), AG_OK);
    ck_assert_int_eq(refresh(e, out->refresh, u), AG_OK);
    free(t);
    free(u);
    free(out);
    env_free(e);
}
END_TEST

/* the family's absolute lifetime is never extended by rotation. */
START_TEST(family_absolute_lifetime)
{
    env *e = env_new(NULL, 100, 250, 0);
    ag_session_tokens *t = tokens_new(), *n = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    ck_assert_int_eq(t->family_exp, T0 + 250);
    int64_t steps[] = {90, 180, 249};
    int64_t want[] = {190, 250, 250};
    for (int k = 0; k < 3; k++) {
        ag_test_clock_set(T0 + steps[k]);
        ck_assert_int_eq(refresh(e, t->refresh, n), AG_OK);
        ck_assert_int_eq(n->refresh_exp, T0 + want[k]);
        ag_claims *c = claims_of(n->refresh, false);
        ck_assert_int_eq(c->exp, T0 + want[k]);
        free(c);
        ag_session_tokens *tmp = t;
        t = n;
        n = tmp;
    }
    ag_test_clock_set(T0 + 250);
    ck_assert_int_eq(refresh(e, t->refresh, n), AG_ERR_EXPIRED);
    ck_assert_int_eq(ag_session_check_sid(e->s, t->sid, 43), AG_ERR_EXPIRED);
    free(t);
    free(n);
    env_free(e);
}
END_TEST

/* reuse interval on: a replay of the immediately previous token
 * within N seconds gets the same successor; the one before is reuse. */
START_TEST(reuse_interval_on)
{
    env *e = env_new(NULL, 3600, 86400, 10);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *b2 = tokens_new(), *c = tokens_new(),
                      *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ag_test_clock_set(T0 + 5);
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
    ck_assert(!b->replayed);
    ag_test_clock_set(T0 + 12); /* parallel tab, 7 s later */
    ck_assert_int_eq(refresh(e, a->refresh, b2), AG_OK);
    ck_assert(b2->replayed);
    ck_assert_uint_eq(b2->generation, b->generation);
    char jb[65], jb2[65];
    jti_of(b->refresh, jb);
    jti_of(b2->refresh, jb2);
    ck_assert_str_eq(jb, jb2);                 /* the same successor: the family did not fork */
    ck_assert_str_eq(b->refresh, b2->refresh); /* HS256: even byte-identical */
    ag_store_family f;
    assert_row(e, a->sid, 1, b->refresh, a->refresh);
    ck_assert_int_eq(fam_of(e, a->sid, &f), AG_OK);
    ck_assert_uint_eq(f.replays, 1);
    ck_assert_int_eq(f.current_issued, T0 + 5); /* a replay re-issues, never rotates */
    ck_assert_int_eq(refresh(e, b2->refresh, c), AG_OK);
    assert_row(e, a->sid, 2, c->refresh, b->refresh);
    ck_assert_int_eq(fam_of(e, a->sid, &f), AG_OK);
    ck_assert_uint_eq(f.replays, 0);
    /* now a is second-to-last: reuse, even inside the interval */
    ag_test_clock_set(T0 + 13);
    ck_assert_int_eq(refresh(e, a->refresh, out), AG_ERR_REUSED);
    ck_assert_int_eq(refresh(e, c->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(e->log.calls, 1);
    assert_revoked(e, c->sid, AG_REVOKE_REUSE);

    /* outside the interval: reuse */
    ck_assert_int_eq(ag_session_issue(e->s, "bob", a), AG_OK);
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
    ag_test_clock_set(T0 + 24);
    ck_assert_int_eq(refresh(e, a->refresh, out), AG_ERR_REUSED);
    ck_assert_int_eq(e->log.calls, 2);
    free(a);
    free(b);
    free(b2);
    free(c);
    free(out);
    env_free(e);
}
END_TEST

START_TEST(reuse_interval_off)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
    ck_assert_int_eq(refresh(e, a->refresh, out), AG_ERR_REUSED); /* same second */
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_ERR_REVOKED);
    free(a);
    free(b);
    free(out);
    env_free(e);
}
END_TEST

START_TEST(store_full)
{
    ag_store *st = NULL;
    ag_store_memory_config mc = {.size = sizeof(ag_store_memory_config), .capacity = 3};
    ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    env *e = env_new(st, 100, 86400, 0);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *c = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "bob", b), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "carol", c), AG_OK); /* 3 families: full */
    ag_test_clock_set(T0 + 1);
    ck_assert_int_eq(ag_session_issue(e->s, "dave", out), AG_ERR_STORE_FULL);
    ck_assert_uint_eq(out->refresh_len, 0);
    ck_assert_uint_eq(out->access_len, 0);
    ag_store_stats stats = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(e->st, &stats), AG_OK);
    ck_assert_uint_eq(stats.families, 3);
    /* a full store still rotates: a rotation needs no new row */
    for (int k = 0; k < 10; k++) {
        ck_assert_int_eq(refresh(e, a->refresh, out), AG_OK);
        swap_tokens(&a, &out);
    }
    assert_row(e, a->sid, 10, a->refresh, out->refresh);
    /* a logged-out session's tombstone makes room for a login */
    ag_test_clock_set(T0 + 2);
    ck_assert_int_eq(logout(e, b->refresh), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "dave", b), AG_OK);
    /* and so does an expired one: carol's token ran out at T0 + 100 */
    ag_test_clock_set(T0 + 90);
    ck_assert_int_eq(refresh(e, a->refresh, out), AG_OK);
    swap_tokens(&a, &out);
    ag_test_clock_set(T0 + 101);
    ck_assert_int_eq(ag_session_issue(e->s, "erin", out), AG_OK);
    ck_assert_int_eq(ag_session_check_sid(e->s, c->sid, 43), AG_ERR_UNKNOWN);
    ck_assert_int_eq(ag_session_check_sid(e->s, b->sid, 43), AG_OK); /* dave */
    ck_assert_int_eq(refresh(e, a->refresh, c), AG_OK);
    ck_assert_int_eq(ag_store_stats_get(e->st, &stats), AG_OK);
    ck_assert_uint_eq(stats.families, 3);
    /* full of live sessions again */
    ck_assert_int_eq(ag_session_issue(e->s, "frank", out), AG_ERR_STORE_FULL);
    free(a);
    free(b);
    free(c);
    free(out);
    env_free(e);
}
END_TEST

START_TEST(config_checks)
{
    sx_setup_once();
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(NULL, &st), AG_OK);
    ag_session_config c = AG_INIT(ag_session_config);
    ag_session *s = (ag_session *)1;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(s);
    c.access_issuer = sx_i_access;
    c.refresh_issuer = sx_i_refresh;
    c.refresh_verifier = sx_v_refresh;
    c.store = st;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_OK);
    ag_session_free(s);
    /* a backend written for another interface version is refused */
    st->version = 1;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_ERR_INVALID_ARGUMENT);
    st->version = AG_STORE_INTERFACE_VERSION;
    c.reuse_max_replays = AG_SESSION_MAX_REPLAYS_MAX + 1;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_ERR_INVALID_ARGUMENT);
    c.reuse_max_replays = AG_SESSION_MAX_REPLAYS_MAX;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_OK);
    ag_session_free(s);
    c.reuse_interval = 5; /* needs a secret */
    ck_assert_int_eq(ag_session_new(&c, &s), AG_ERR_INVALID_ARGUMENT);
    c.secret = sx_secret;
    c.secret_len = 16; /* too short */
    ck_assert_int_eq(ag_session_new(&c, &s), AG_ERR_INVALID_ARGUMENT);
    c.secret_len = 32;
    c.reuse_interval = AG_SESSION_REUSE_INTERVAL_MAX + 1;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_ERR_INVALID_ARGUMENT);
    c.reuse_interval = 5;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_OK);
    ag_session_free(s);
    ag_session_free(NULL);
    ag_session_tokens_clear(NULL);
    ag_store_close(st);
}
END_TEST

int main(void)
{
    sx_setup_once();
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("session");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, issue_pair_shape);
    tcase_add_test(tc, rotation_chain_1000);
    tcase_add_test(tc, reuse_of_any_earlier_token_revokes_newest);
    tcase_add_test(tc, forged_token_changes_nothing);
    tcase_add_test(tc, access_token_as_refresh_wrong_type);
    tcase_add_test(tc, unknown_family_no_revocation);
    tcase_add_test(tc, logout_and_logout_all);
    tcase_add_test(tc, idle_expiry_and_purge);
    tcase_add_test(tc, family_absolute_lifetime);
    tcase_add_test(tc, reuse_interval_on);
    tcase_add_test(tc, reuse_interval_off);
    tcase_add_test(tc, store_full);
    add_store_failure_cases(tc);
    tcase_add_test(tc, config_checks);
    add_race_cases(tc);
    tcase_add_test(tc, verified_claims_only_from_the_refresh_verifier);
    tcase_add_test(tc, token_holder_attachment);
    suite_add_tcase(s, tc);
    add_rules_tests(s);
    add_secrets_tests(s);
    add_list_tests(s);
    add_retry_key_tests(s);
    return ag_test_run(s);
}

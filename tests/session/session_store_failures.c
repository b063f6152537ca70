/* SPDX-License-Identifier: MIT */
/*
 * The session over a failing store: a fake backend answers what
 * each case says (plain failures, codes a store may not return, outcomes
 * that do not fit the request), and every call fails closed with no
 * tokens; the steps after the one rotate (the session cap at login,
 * revoking the subject's other sessions at logout-all) fail closed too.
 * Cases of main's "session" TCase (test_session.c), in its order.
 */
#include <stdlib.h>
#include <string.h>

#include "session_fixture.h"

/* ---- a failing store (R-06) ---------------------------------------------------- */

/* A backend of the v2 interface that answers what the test says: every
 * operation returns `answer` (evict and revoke_subject their own), rotate
 * fills `outcome`; it remembers what rotate was handed. */
typedef struct fake {
    ag_store base;
    ag_err answer;
    ag_store_outcome outcome;
    ag_err evict_answer, subject_answer;
    int rotations;
    ag_store_action action;
    uint8_t old_hash[AG_STORE_HASH_LEN];
    int64_t reuse_interval;
    uint32_t max_replays;
} fake;

static ag_err f_create(ag_store *st, const ag_store_family *f, int64_t now)
{
    (void)f;
    (void)now;
    return ((fake *)st)->answer;
}

static ag_err f_rotate(ag_store *st, const ag_store_rotation *r, ag_store_rotated *out)
{
    fake *f = (fake *)st;
    f->rotations++;
    f->action = r->action;
    memcpy(f->old_hash, r->old_hash, sizeof f->old_hash);
    f->reuse_interval = r->reuse_interval;
    f->max_replays = r->max_replays;
    out->outcome = f->outcome;
    out->expires = T0 + 100;
    out->issued = T0;
    out->family_expires = T0 + 100;
    return f->answer;
}

static ag_err f_lookup_family(ag_store *st, const char *sid, size_t n, ag_store_family *f)
{
    (void)sid;
    (void)n;
    (void)f;
    return ((fake *)st)->answer == AG_OK ? AG_ERR_STORE : ((fake *)st)->answer;
}

static ag_err f_revoke_family(ag_store *st, const char *sid, size_t n, int64_t now,
                              ag_revoke_reason r)
{
    (void)sid;
    (void)n;
    (void)now;
    (void)r;
    return ((fake *)st)->answer;
}

static ag_err f_revoke_subject(ag_store *st, const char *sub, size_t n, int64_t now,
                               ag_revoke_reason r, ag_store_sid_fn fn, void *ctx, size_t *count)
{
    (void)fn;
    (void)ctx;
    (void)sub;
    (void)n;
    (void)now;
    (void)r;
    *count = 5;
    return ((fake *)st)->subject_answer;
}

static ag_err f_evict(ag_store *st, const char *sub, size_t n, size_t keep, const char *keep_sid,
                      size_t keep_sid_len, int64_t now, ag_store_sid_fn fn, void *ctx,
                      size_t *count)
{
    (void)sub;
    (void)n;
    (void)keep;
    (void)keep_sid;
    (void)keep_sid_len;
    (void)now;
    (void)fn;
    (void)ctx;
    *count = 0;
    return ((fake *)st)->evict_answer;
}

static ag_err f_purge(ag_store *st, int64_t now, size_t *removed)
{
    (void)now;
    *removed = 3;
    return ((fake *)st)->answer;
}

static void f_close(ag_store *st)
{
    free(st);
}

static fake *fake_new(ag_err answer, ag_store_outcome outcome)
{
    fake *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    f->base.version = AG_STORE_INTERFACE_VERSION;
    f->base.name = "fake";
    f->base.create = f_create;
    f->base.rotate = f_rotate;
    f->base.lookup_family = f_lookup_family;
    f->base.revoke_family = f_revoke_family;
    f->base.revoke_subject = f_revoke_subject;
    f->base.evict = f_evict;
    f->base.purge_expired = f_purge;
    f->base.close = f_close;
    f->answer = answer;
    f->outcome = outcome;
    f->evict_answer = answer;
    f->subject_answer = answer;
    return f;
}

static void assert_no_tokens(const ag_session_tokens *t)
{
    ck_assert_uint_eq(t->refresh_len, 0);
    ck_assert_uint_eq(t->access_len, 0);
    ck_assert_int_eq(t->refresh[0], '\0');
    ck_assert_int_eq(t->access[0], '\0');
}

START_TEST(failing_store_fails_closed)
{
    /* plain failures, codes a store may not return (a verify error, a
     * "not yet valid", a code allowed from another operation only), and
     * an AG_OK whose outcome does not fit the request. What each call
     * must answer: */
    const struct {
        ag_err answer;
        ag_store_outcome outcome;
        ag_err refresh, logout, issue, check_sid;
    } cases[] = {
        {AG_ERR_STORE, AG_STORE_ROTATED, AG_ERR_STORE, AG_ERR_STORE, AG_ERR_STORE, AG_ERR_STORE},
        {AG_ERR_SIGNATURE, AG_STORE_ROTATED, AG_ERR_STORE, AG_ERR_STORE, AG_ERR_STORE,
         AG_ERR_STORE},
        {AG_ERR_NOT_YET_VALID, AG_STORE_ROTATED, AG_ERR_STORE, AG_ERR_STORE, AG_ERR_STORE,
         AG_ERR_STORE},
        /* create may say EXISTS (a sid collision: the session fails
         * closed) or STORE_FULL; rotate may say neither */
        {AG_ERR_EXISTS, AG_STORE_ROTATED, AG_ERR_STORE, AG_ERR_STORE, AG_ERR_STORE, AG_ERR_STORE},
        {AG_ERR_STORE_FULL, AG_STORE_ROTATED, AG_ERR_STORE, AG_ERR_STORE, AG_ERR_STORE_FULL,
         AG_ERR_STORE},
        {AG_OK, (ag_store_outcome)0, AG_ERR_STORE, AG_ERR_STORE, AG_OK, AG_ERR_STORE},
        {AG_OK, (ag_store_outcome)77, AG_ERR_STORE, AG_ERR_STORE, AG_OK, AG_ERR_STORE},
        /* a logout answer to a refresh, a refresh answer to a logout */
        {AG_OK, AG_STORE_LOGGED_OUT, AG_ERR_STORE, AG_OK, AG_OK, AG_ERR_STORE},
        {AG_OK, AG_STORE_ROTATED, AG_OK, AG_ERR_STORE, AG_OK, AG_ERR_STORE},
        {AG_OK, AG_STORE_REPLAYED, AG_OK, AG_ERR_STORE, AG_OK, AG_ERR_STORE},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fake *f = fake_new(cases[k].answer, cases[k].outcome);
        env *e = env_new(&f->base, 100, 86400, 0);
        ag_session_tokens *out = tokens_new();
        char *tok = malloc(AG_TOKEN_MAX_LEN + 1);
        ck_assert_ptr_nonnull(tok);
        mint(sx_i_refresh, "alice", "some-sid", NULL, tok);
        uint8_t h[AG_STORE_HASH_LEN];
        hash_of(tok, h);
        ck_assert_msg(refresh(e, tok, out) == cases[k].refresh, "case %zu: refresh", k);
        if (cases[k].refresh != AG_OK)
            assert_no_tokens(out);
        /* what the store was handed: the action and SHA-256 of the jti */
        ck_assert_int_eq(f->rotations, 1);
        ck_assert_int_eq(f->action, AG_STORE_REFRESH);
        ck_assert(memcmp(f->old_hash, h, sizeof h) == 0);
        ck_assert_int_eq(f->reuse_interval, 0);
        ck_assert_uint_eq(f->max_replays, AG_SESSION_MAX_REPLAYS_DEFAULT);
        ck_assert_msg(ag_session_issue(e->s, "alice", out) == cases[k].issue, "case %zu: issue", k);
        if (cases[k].issue != AG_OK)
            assert_no_tokens(out);
        ck_assert_msg(logout(e, tok) == cases[k].logout, "case %zu: logout", k);
        ck_assert_int_eq(f->action, AG_STORE_LOGOUT);
        ck_assert(memcmp(f->old_hash, h, sizeof h) == 0);
        size_t cnt = 9;
        ck_assert_msg(logout_all(e, tok, &cnt) == cases[k].logout, "case %zu: logout-all", k);
        ck_assert_int_eq(f->action, AG_STORE_LOGOUT_ALL);
        ck_assert_int_eq(f->rotations, 3);
        ck_assert_msg(ag_session_check_sid(e->s, "some-sid", 8) == cases[k].check_sid,
                      "case %zu: check_sid", k);
        if (cases[k].answer != AG_OK) {
            size_t removed = 7;
            ck_assert_int_eq(ag_session_purge(e->s, &removed), AG_ERR_STORE);
            ck_assert_uint_eq(removed, 0);
            ck_assert_int_eq(ag_session_revoke(e->s, "some-sid", 8), AG_ERR_STORE);
            ck_assert_int_eq(ag_session_revoke_subject(e->s, "alice", 5, &cnt), AG_ERR_STORE);
            ck_assert_uint_eq(cnt, 0);
        }
        free(tok);
        free(out);
        env_free(e);
    }
}
END_TEST

/* The steps after the one rotate fail closed too: the session cap at login,
 * and revoking the subject's other sessions at logout-all. */
START_TEST(failing_store_after_the_row)
{
    const ag_err failures[] = {AG_ERR_STORE, AG_ERR_SIGNATURE, AG_ERR_EXISTS};
    for (size_t k = 0; k < sizeof failures / sizeof failures[0]; k++) {
        fake *f = fake_new(AG_OK, AG_STORE_LOGGED_OUT);
        f->evict_answer = failures[k];
        f->subject_answer = failures[k];
        env *e = env_new(&f->base, 100, 86400, 0);
        ag_session_tokens *out = tokens_new();
        ck_assert_int_eq(ag_session_issue(e->s, "alice", out), AG_ERR_STORE);
        assert_no_tokens(out);
        char *tok = malloc(AG_TOKEN_MAX_LEN + 1);
        ck_assert_ptr_nonnull(tok);
        mint(sx_i_refresh, "alice", "some-sid", NULL, tok);
        size_t cnt = 9;
        ck_assert_int_eq(logout_all(e, tok, &cnt), AG_ERR_STORE);
        ck_assert_uint_le(cnt, 1);               /* at most its own family, which did end */
        ck_assert_int_eq(logout(e, tok), AG_OK); /* the single logout needs no more */
        free(tok);
        free(out);
        env_free(e);
    }
}
END_TEST

void add_store_failure_cases(TCase *tc)
{
    tcase_add_test(tc, failing_store_fails_closed);
    tcase_add_test(tc, failing_store_after_the_row);
}

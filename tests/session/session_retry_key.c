/* SPDX-License-Identifier: MIT */
/*
 * Retry keys (ag_session_refresh_retryable, R-08): inside the reuse
 * interval a refresh retried with its key gets the same successor; a
 * replay with another key, or none, is reuse. With replay_needs_key a
 * keyless refresh cannot be replayed at all, and a logout with the
 * previous token is reuse.
 */
#include <stdlib.h>
#include <string.h>

#include "session_fixture.h"

static env *keyed_env(bool needs_key)
{
    env_opts o = {.ttl = 3600,
                  .life = 86400,
                  .interval = 10,
                  .max_replays = 1,
                  .purge_margin = -1,
                  .verifier = sx_v_refresh_leeway,
                  .needs_key = needs_key};
    return env_make(NULL, &o);
}

static ag_err refresh_key(env *e, const char *tok, const char *key, ag_session_tokens *out)
{
    ag_claims *c = claims_of(tok, false);
    ag_err r = ag_session_refresh_retryable(e->s, c, (const uint8_t *)key,
                                            key != NULL ? strlen(key) : 0, out);
    free(c);
    return r;
}

/* The same key gets the same successor; the window then holds no more. */
START_TEST(same_key_same_successor)
{
    env *e = keyed_env(true);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *b2 = tokens_new(), *x = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(refresh_key(e, a->refresh, "k-1", b), AG_OK);
    ck_assert(!b->replayed);
    ag_test_clock_set(T0 + 3);
    ck_assert_int_eq(refresh_key(e, a->refresh, "k-1", b2), AG_OK);
    ck_assert(b2->replayed);
    ck_assert_str_eq(b->refresh, b2->refresh);
    ck_assert_int_eq(refresh_key(e, a->refresh, "k-1", x), AG_ERR_REUSED); /* one replay */
    ck_assert_int_eq(e->log.calls, 1);
    assert_revoked(e, a->sid, AG_REVOKE_REUSE);
    free(a);
    free(b);
    free(b2);
    free(x);
    env_free(e);
}
END_TEST

/* Another key, or none, derives another successor: reuse, family revoked. */
START_TEST(other_key_or_none_is_reuse)
{
    const char *others[] = {"k-2", NULL, "k-1 "};
    for (int needs = 0; needs < 2; needs++) {
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
            env *e = keyed_env(needs);
            ag_session_tokens *a = tokens_new(), *b = tokens_new(), *x = tokens_new();
            ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
            ck_assert_int_eq(refresh_key(e, a->refresh, "k-1", b), AG_OK);
            ck_assert_int_eq(refresh_key(e, a->refresh, others[i], x), AG_ERR_REUSED);
            ck_assert_int_eq(refresh_key(e, b->refresh, "k-3", x), AG_ERR_REVOKED);
            ck_assert_int_eq(e->log.calls, 1);
            free(a);
            free(b);
            free(x);
            env_free(e);
        }
    }
}
END_TEST

/* Without replay_needs_key a keyless refresh is replayable (as before);
 * with it, a keyless replay and a logout with the previous token are
 * reuse, and concurrent keyless refreshes keep exactly one winner. */
START_TEST(keyless_replay_only_without_needs_key)
{
    env *e = keyed_env(false);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *b2 = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(refresh_key(e, a->refresh, NULL, b), AG_OK);
    ck_assert_int_eq(refresh_key(e, a->refresh, NULL, b2), AG_OK);
    ck_assert(b2->replayed);
    env_free(e);

    e = keyed_env(true);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(refresh_key(e, a->refresh, NULL, b), AG_OK);
    ck_assert_int_eq(refresh_key(e, a->refresh, NULL, b2), AG_ERR_REUSED);
    ck_assert_int_eq(refresh(e, b->refresh, b2), AG_ERR_REVOKED);
    /* a logout with the previous token, inside the window: reuse */
    ck_assert_int_eq(ag_session_issue(e->s, "bob", a), AG_OK);
    ck_assert_int_eq(refresh_key(e, a->refresh, "k-1", b), AG_OK);
    ck_assert_int_eq(logout(e, a->refresh), AG_ERR_REUSED);
    ck_assert_int_eq(e->log.calls, 2);
    free(a);
    free(b);
    free(b2);
    env_free(e);
}
END_TEST

/* Without a reuse interval a key changes nothing: any replay is reuse. */
START_TEST(key_without_interval_is_plain)
{
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *x = tokens_new();
    env_opts o = {.ttl = 3600, .life = 86400, .purge_margin = -1, .verifier = sx_v_refresh_leeway};
    env *e = env_make(NULL, &o);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(refresh_key(e, a->refresh, "k", b), AG_OK);
    ck_assert_int_eq(refresh_key(e, a->refresh, "k", x), AG_ERR_REUSED);
    free(a);
    free(b);
    free(x);
    env_free(e);
}
END_TEST

/* Keys are 1..128 printable ASCII bytes; a refused key changes nothing. */
START_TEST(key_shape)
{
    env *e = keyed_env(true);
    ag_session_tokens *a = tokens_new(), *b = tokens_new();
    char longest[AG_SESSION_RETRY_KEY_MAX_LEN + 2];
    memset(longest, 'k', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ag_claims *c = claims_of(a->refresh, false);
    ck_assert_int_eq(ag_session_refresh_retryable(e->s, c, (const uint8_t *)longest,
                                                  AG_SESSION_RETRY_KEY_MAX_LEN + 1, b),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_refresh_retryable(e->s, c, (const uint8_t *)"a\0b", 3, b),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_refresh_retryable(e->s, c, (const uint8_t *)"\x7f", 1, b),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_refresh_retryable(e->s, c, NULL, 3, b), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(e->log.calls, 0);
    ck_assert_int_eq(ag_session_refresh_retryable(e->s, c, (const uint8_t *)longest,
                                                  AG_SESSION_RETRY_KEY_MAX_LEN, b),
                     AG_OK);
    free(c);
    free(a);
    free(b);
    env_free(e);
}
END_TEST

void add_retry_key_tests(Suite *s)
{
    TCase *tc = tcase_create("retry_key");
    tcase_add_test(tc, same_key_same_successor);
    tcase_add_test(tc, other_key_or_none_is_reuse);
    tcase_add_test(tc, keyless_replay_only_without_needs_key);
    tcase_add_test(tc, key_without_interval_is_plain);
    tcase_add_test(tc, key_shape);
    suite_add_tcase(s, tc);
}

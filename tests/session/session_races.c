/* SPDX-License-Identifier: MIT */
/*
 * Concurrent refreshes at the session level: eight threads refresh
 * one token at once; exactly one rotates, with the reuse interval up to
 * max_replays more get the same successor, and the first one past that
 * is reuse, which ends the family. Cases of main's "session" TCase
 * (test_session.c), in its order; the ctest label `threads` runs them
 * under TSan.
 */
#include <pthread.h>
#include <stdlib.h>

#include "session_fixture.h"

/* ---- concurrency at the session level (R-05) ------------------------------------ */

typedef struct par {
    env *e;
    const char *tok;
    pthread_barrier_t *go;
    ag_err result;
    ag_session_tokens out;
    char buf[AG_SESSION_TOKENS_BUF_LEN];
} par;

static void *par_refresh(void *arg)
{
    par *p = arg;
    pthread_barrier_wait(p->go);
    p->result = refresh(p->e, p->tok, &p->out);
    return NULL;
}

/* Eight threads refresh one token at once. Exactly one rotates; with the
 * reuse interval, up to max_replays more get the same successor (parallel
 * tabs), and the first one past that is reuse, which ends the family. */
static void race(int64_t interval, uint32_t max_replays)
{
    env_opts o = {.ttl = 3600,
                  .life = 86400,
                  .interval = interval,
                  .max_replays = max_replays,
                  .purge_margin = -1};
    env *e = env_make(NULL, &o);
    ag_session_tokens *t = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 8);
    par *ps = calloc(8, sizeof *ps);
    ck_assert_ptr_nonnull(ps);
    pthread_t th[8];
    for (int k = 0; k < 8; k++) {
        ps[k].e = e;
        ps[k].tok = t->refresh;
        ps[k].go = &go;
        ps[k].out.size = sizeof ps[k].out;
        ck_assert_int_eq(ag_session_tokens_init(&ps[k].out, ps[k].buf, sizeof ps[k].buf), AG_OK);
        ck_assert_int_eq(pthread_create(&th[k], NULL, par_refresh, &ps[k]), 0);
    }
    int ok = 0, replayed = 0, reused = 0, revoked = 0, first = -1;
    for (int k = 0; k < 8; k++) {
        pthread_join(th[k], NULL);
        if (ps[k].result == AG_OK) {
            ok++;
            replayed += ps[k].out.replayed;
            first = first < 0 ? k : first;
        }
        reused += ps[k].result == AG_ERR_REUSED;
        revoked += ps[k].result == AG_ERR_REVOKED;
    }
    int allowed = interval == 0 ? 0 : (int)(max_replays != 0 ? max_replays : 1);
    int want_ok = 1 + (allowed < 7 ? allowed : 7);
    ck_assert_int_eq(ok, want_ok);
    ck_assert_int_eq(replayed, want_ok - 1);
    for (int k = 0; k < 8; k++) /* one successor: the family did not fork */
        if (ps[k].result == AG_OK)
            ck_assert_str_eq(ps[k].out.refresh, ps[first].out.refresh);
    if (want_ok < 8) {
        ck_assert_int_eq(reused, 1); /* the first one too many */
        ck_assert_int_eq(revoked, 8 - want_ok - 1);
        ck_assert_int_eq(e->log.calls, 1);
        assert_revoked(e, t->sid, AG_REVOKE_REUSE);
    } else {
        ck_assert_int_eq(e->log.calls, 0);
        ag_store_family f;
        ck_assert_int_eq(fam_of(e, t->sid, &f), AG_OK);
        ck_assert_uint_eq(f.replays, 7);
        ck_assert_uint_eq(f.generation, 1);
    }
    pthread_barrier_destroy(&go);
    free(ps);
    free(t);
    env_free(e);
}

START_TEST(concurrent_refresh_one_winner)
{
    race(0, 0);
    race(5, 0); /* the default: one replay */
    race(5, 3);
    race(5, 7);
}
END_TEST

void add_race_cases(TCase *tc)
{
    tcase_add_test(tc, concurrent_refresh_one_winner);
}

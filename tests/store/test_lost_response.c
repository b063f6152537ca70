/* SPDX-License-Identifier: MIT */
/*
 * A lost response is not an attack, tested the way it fails in
 * production: a child process refreshes in a loop against a SQLite store,
 * sending each new refresh token to the parent (the "client") only after
 * ag_session_refresh returned it; the parent kills the child at random
 * moments and starts a new one with the last token it received. A kill
 * after the rotation committed but before the token reached the parent is
 * a lost answer.
 *
 * The client names each refresh with a retry key (its Idempotency-Key:
 * here "k-" and the generation of the token it presents) and sends the
 * same key when it retries. With the demo's configuration (reuse interval
 * 5 s, one replay, replays need the key) no session is lost and no reuse
 * is reported; with the interval off the same loss is reuse (the family
 * is revoked), as before.
 */
#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authgate/session.h"
#include "testsupport.h"

typedef struct world {
    char dir[64];
    char path[96];
    ag_key *key;
    ag_keyring *ring;
    ag_issuer *access, *refresh;
    ag_verifier *verifier;
} world;

typedef struct record {
    int32_t err;
    uint32_t len;
    uint64_t gen;
    char tok[AG_TOKEN_MAX_LEN + 1];
} record;

static void world_new(world *w)
{
    static const uint8_t secret[32] = "lost-response-test-key-32-bytes";
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "/tmp/ag-lost-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(w->dir));
    snprintf(w->path, sizeof w->path, "%s/s.db", w->dir);
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret, 32, "k1", &w->key), AG_OK);
    ck_assert_int_eq(ag_keyring_new(NULL, &w->ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(w->ring, w->key), AG_OK);
    ag_issuer_config ac = {.size = sizeof(ag_issuer_config),
                           .key = w->key,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = "iss",
                           .audience = "api",
                           .ttl = 900};
    ag_issuer_config rc = {.size = sizeof(ag_issuer_config),
                           .key = w->key,
                           .kind = AG_TOKEN_REFRESH,
                           .issuer = "iss",
                           .audience = "iss/refresh",
                           .ttl = 3600};
    ag_verifier_config vc = {.size = sizeof(ag_verifier_config),
                             .keys = w->ring,
                             .kind = AG_TOKEN_REFRESH,
                             .issuer = "iss",
                             .audience = "iss/refresh",
                             .leeway = -1};
    ck_assert_int_eq(ag_issuer_new(&ac, &w->access), AG_OK);
    ck_assert_int_eq(ag_issuer_new(&rc, &w->refresh), AG_OK);
    ck_assert_int_eq(ag_verifier_new(&vc, &w->verifier), AG_OK);
}

static void world_free(world *w)
{
    ag_issuer_free(w->access);
    ag_issuer_free(w->refresh);
    ag_verifier_free(w->verifier);
    ag_keyring_free(w->ring);
    ag_key_free(w->key);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", w->dir);
    ck_assert_int_eq(system(cmd), 0);
}

static ag_err session_open(const world *w, int64_t interval, ag_store **st, ag_session **s)
{
    static const uint8_t secret[32] = "successor-secret-of-32-bytes-ok";
    ag_store_sqlite_config sc = {.size = sizeof(ag_store_sqlite_config), .path = w->path};
    ag_err e = ag_store_sqlite_open(&sc, st);
    if (e != AG_OK)
        return e;
    ag_session_config c = {.size = sizeof(ag_session_config),
                           .access_issuer = w->access,
                           .refresh_issuer = w->refresh,
                           .refresh_verifier = w->verifier,
                           .store = *st,
                           .reuse_interval = interval,
                           .reuse_max_replays = 1,
                           .secret = secret,
                           .secret_len = sizeof secret,
                           .replay_needs_key = true};
    return ag_session_new(&c, s);
}

/* One keyed refresh of tok (generation gen), as the client sends it. */
static ag_err keyed_refresh(const world *w, const ag_session *s, const char *tok, size_t len,
                            uint64_t gen, ag_session_tokens *out)
{
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    char key[32];
    ag_claims c = AG_INIT(ag_claims);
    int n = snprintf(key, sizeof key, "k-%llu", (unsigned long long)gen);
    ag_err e = ag_verify(w->verifier, (const uint8_t *)tok, len, scratch, sizeof scratch, &c);
    if (e == AG_OK)
        e = ag_session_refresh_retryable(s, &c, (const uint8_t *)key, (size_t)n, out);
    return e;
}

/* The child: refresh from `tok` until killed; every token is written to the
 * pipe only after the refresh returned it (one write: atomic on a pipe). */
static void child(const world *w, int64_t interval, const record *start, int fd)
{
    ag_store *st = NULL;
    ag_session *s = NULL;
    ag_session_tokens *a = ag_test_tokens_n(2), *b;
    if (a == NULL || session_open(w, interval, &st, &s) != AG_OK)
        _exit(3);
    b = a + 1;
    memcpy(a->refresh, start->tok, start->len);
    a->refresh_len = start->len;
    uint64_t gen = start->gen;
    for (;;) {
        record r;
        memset(&r, 0, sizeof r);
        ag_err e = keyed_refresh(w, s, a->refresh, a->refresh_len, gen, b);
        gen = b->generation;
        r.err = (int32_t)e;
        if (e == AG_OK) {
            r.gen = b->generation;
            r.len = (uint32_t)b->refresh_len;
            memcpy(r.tok, b->refresh, b->refresh_len);
        }
        if (write(fd, &r, sizeof r) != (ssize_t)sizeof r || e != AG_OK)
            _exit(e == AG_OK ? 4 : 0);
        ag_session_tokens *t = a;
        a = b;
        b = t;
    }
}

typedef struct outcome {
    int rounds, lost, refused, reused_err;
} outcome;

/* Runs kill rounds until `want_lost` lost answers were seen (or a bound). */
static outcome run(int64_t interval, int want_lost, int max_rounds)
{
    world w;
    world_new(&w);
    ag_store *st = NULL;
    ag_session *s = NULL;
    ck_assert_int_eq(session_open(&w, interval, &st, &s), AG_OK);
    ag_session_tokens *t = ag_test_tokens_n(1);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(ag_session_issue(s, "alice", t), AG_OK);
    record held; /* what the client holds */
    memset(&held, 0, sizeof held);
    held.len = (uint32_t)t->refresh_len;
    memcpy(held.tok, t->refresh, t->refresh_len);
    char sid[AG_SID_MAX_LEN + 1];
    memcpy(sid, t->sid, sizeof sid);
    outcome o = {0};
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    while (o.lost < want_lost && o.refused == 0 && o.rounds < max_rounds) {
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            child(&w, interval, &held, fds[1]);
        }
        close(fds[1]);
        /* The retry itself gets through (its answer is read before the next
         * kill is armed): one loss at a time, as the replay bound assumes;
         * a retry whose answer is lost again is past reuse_max_replays. */
        record r;
        bool first = read(fds[0], &r, sizeof r) == (ssize_t)sizeof r;
        struct timespec nap = {0, (2000 + rand() % 30000) * 1000L};
        nanosleep(&nap, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (first && r.err != AG_OK) {
            o.refused++;
            o.reused_err = r.err;
        } else if (first) {
            held = r;
        }
        while (o.refused == 0 && read(fds[0], &r, sizeof r) == (ssize_t)sizeof r) {
            if (r.err != AG_OK) {
                o.refused++;
                o.reused_err = r.err;
                break;
            }
            held = r;
        }
        close(fds[0]);
        ag_store_family f;
        ck_assert_int_eq(ag_store_lookup_family(st, sid, strlen(sid), &f), AG_OK);
        if (o.refused == 0 && f.generation > held.gen)
            o.lost++; /* committed, answer never arrived */
        o.rounds++;
    }
    if (o.refused == 0) {
        /* the client goes on with what it holds */
        ag_err e = keyed_refresh(&w, s, held.tok, held.len, held.gen, t);
        if (e != AG_OK) {
            o.refused++;
            o.reused_err = (int)e;
        }
    }
    printf("lost-response test, interval %lld s: %d kills, %d answers lost after commit, "
           "%d refusals (%s)\n",
           (long long)interval, o.rounds, o.lost, o.refused,
           o.refused ? ag_err_name((ag_err)o.reused_err) : "none");
    ag_session_tokens_clear(t);
    free(t);
    ag_session_free(s);
    ag_store_close(st);
    world_free(&w);
    return o;
}

START_TEST(lost_answers_are_replays_with_interval)
{
    outcome o = run(5, 25, 600);
    ck_assert_int_ge(o.lost, 1); /* the test saw what it is about */
    ck_assert_int_eq(o.refused, 0);
}
END_TEST

START_TEST(lost_answer_is_reuse_without_interval)
{
    outcome o = run(0, 1, 400);
    ck_assert_int_eq(o.lost + o.refused >= 1, 1);
    ck_assert_int_eq(o.refused, 1);
    ck_assert_int_eq(o.reused_err, AG_ERR_REUSED);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lost_response");
    TCase *tc = tcase_create("kill");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, lost_answers_are_replays_with_interval);
    tcase_add_test(tc, lost_answer_is_reuse_without_interval);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * The session tests' shared fixture: keys, issuers and verifiers made
 * once (all reading testsupport's ag_test_clock), a per-test
 * environment (store + session + callback logs), and test-side helpers
 * that read a token's claims and the family row the store holds for it.
 */
#ifndef AG_TEST_SESSION_FIXTURE_H
#define AG_TEST_SESSION_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "authgate/session.h"
#include "authgate/store.h"
#include "authgate/token.h"
#include "testsupport.h"

#define ISS "https://auth.test"
#define T0 AG_TEST_T0
/* The leeway of sx_v_refresh_leeway, seconds. */
#define SX_LEEWAY 30

extern ag_issuer *sx_i_access, *sx_i_refresh, *sx_i_forger, *sx_i_access_as_rt;
extern ag_verifier *sx_v_refresh, *sx_v_access;
/* A refresh verifier accepting tokens up to SX_LEEWAY seconds past exp. */
extern ag_verifier *sx_v_refresh_leeway;
extern const uint8_t sx_secret[32];

void sx_setup_once(void);

typedef struct reuse_log {
    int calls;
    char sid[AG_SID_MAX_LEN + 1];
    char subject[AG_SUBJECT_MAX_LEN + 1];
    char prefix[AG_SESSION_HASH_PREFIX_LEN + 1];
} reuse_log;

typedef struct evict_log {
    int calls;
    char sid[AG_SID_MAX_LEN + 1];
    char subject[AG_SUBJECT_MAX_LEN + 1];
    int64_t now;
} evict_log;

typedef struct env {
    ag_store *st;
    ag_session *s;
    reuse_log log;
    evict_log evicted;
} env;

/* What a test may change in the session config; zero means the default
 * the session itself applies, except purge_margin (see env_new). */
typedef struct env_opts {
    int64_t ttl, life, interval;
    uint32_t max_replays;
    size_t max_sessions;
    int64_t purge_margin;
    const ag_verifier *verifier; /* NULL → sx_v_refresh (leeway 0) */
    bool needs_key;              /* replay_needs_key */
} env_opts;

/* A memory store of 100,000 families when st is NULL; purge_margin -1
 * (the verifier's leeway). Resets the clock to T0. */
env *env_new(ag_store *st, int64_t ttl, int64_t life, int64_t interval);
env *env_make(ag_store *st, const env_opts *o);
void env_free(env *e);

ag_session_tokens *tokens_new(void);
ag_err refresh(env *e, const char *tok, ag_session_tokens *out);
ag_err logout(env *e, const char *tok);
ag_err logout_all(env *e, const char *tok, size_t *count);

/* The verified claims of a token (malloc'd; free it). */
ag_claims *claims_of(const char *tok, bool access);
void jti_of(const char *tok, char out[65]);
/* SHA-256 of a refresh token's jti: what the store keeps for it. */
void hash_of(const char *tok, uint8_t out[AG_STORE_HASH_LEN]);
/* The family row of a sid, through the public lookup API. */
ag_err fam_of(env *e, const char *sid, ag_store_family *f);
/* Asserts the row is live, of generation gen, its current hash that of
 * `current` and (when prev is not NULL) its previous hash that of prev. */
void assert_row(env *e, const char *sid, uint64_t gen, const char *current, const char *prev);
/* Asserts the row is revoked for `why` and keeps no hash. */
void assert_revoked(env *e, const char *sid, ag_revoke_reason why);

/* A refresh token minted directly, e.g. with a live family's sid. */
void mint(const ag_issuer *is, const char *sub, const char *sid, const char *jti, char *buf);

void swap_tokens(ag_session_tokens **a, ag_session_tokens **b);

/* The test cases of the other files, added to the suite by main. */
void add_rules_tests(Suite *s);
void add_secrets_tests(Suite *s);
void add_list_tests(Suite *s);
void add_retry_key_tests(Suite *s);
/* Cases of main's own "session" TCase kept in files of their own, added
 * by main in the TCase's order. */
void add_store_failure_cases(TCase *tc);
void add_race_cases(TCase *tc);

#endif

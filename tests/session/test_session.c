/*
 * Tests for lib/session/session.c: rotation, reuse detection, forged and
 * wrong-type tokens, logout, lifetimes, the reuse interval, store full and
 * failing stores, and that no jti or token is ever stored (R-01…R-11).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "authgate/session.h"
#include "authgate/store.h"
#include "authgate/token.h"
#include "testsupport.h"

#define ISS "https://auth.test"
#define T0 INT64_C(1700000000)

static int64_t fake_now = T0;
static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static ag_key *k_access, *k_refresh, *k_forger;
static ag_keyring *ring_refresh, *ring_access;
static ag_issuer *i_access, *i_refresh, *i_forger, *i_access_as_rt;
static ag_verifier *v_refresh, *v_access;
static const uint8_t secret[32] = "server-secret-for-derived-jtis!!";

static void setup_once(void)
{
    if (k_access != NULL)
        return;
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_HS256, "at-1", &k_access));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_HS256, "rt-1", &k_refresh));
    /* same kid as the real refresh key, different secret: a forger */
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_HS256, "rt-1", &k_forger));
    /* the refresh verifier also knows the access key, so an access token
     * gets as far as the typ check (V-12) */
    AG_TEST_SETUP_OK(ag_keyring_new(NULL, &ring_refresh));
    AG_TEST_SETUP_OK(ag_keyring_add(ring_refresh, k_refresh));
    AG_TEST_SETUP_OK(ag_keyring_add(ring_refresh, k_access));
    AG_TEST_SETUP_OK(ag_keyring_new(NULL, &ring_access));
    AG_TEST_SETUP_OK(ag_keyring_add(ring_access, k_access));
    ag_issuer_config ic = {0};
    ic.issuer = ISS;
    ic.clock = fake_clock;
    ic.key = k_access;
    ic.kind = AG_TOKEN_ACCESS;
    ic.audience = "refresh"; /* so only typ tells it apart at the refresh endpoint */
    ic.ttl = 900;
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &i_access_as_rt));
    ic.audience = "api";
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &i_access));
    ic.key = k_refresh;
    ic.kind = AG_TOKEN_REFRESH;
    ic.audience = "refresh";
    ic.ttl = 3600;
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &i_refresh));
    ic.key = k_forger;
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &i_forger));
    ag_verifier_config vc = {0};
    vc.keys = ring_refresh;
    vc.kind = AG_TOKEN_REFRESH;
    vc.issuer = ISS;
    vc.audience = "refresh";
    vc.leeway = 0;
    vc.clock = fake_clock;
    AG_TEST_SETUP_OK(ag_verifier_new(&vc, &v_refresh));
    vc.keys = ring_access;
    vc.kind = AG_TOKEN_ACCESS;
    vc.audience = "api";
    AG_TEST_SETUP_OK(ag_verifier_new(&vc, &v_access));
}

/* ---- per-test environment ---------------------------------------------------- */

typedef struct reuse_log {
    int calls;
    char sid[AG_SID_MAX_LEN + 1];
    char subject[AG_SUBJECT_MAX_LEN + 1];
    char prefix[AG_SESSION_HASH_PREFIX_LEN + 1];
} reuse_log;

static void on_reuse(void *ctx, const ag_reuse_event *ev)
{
    reuse_log *l = ctx;
    l->calls++;
    memcpy(l->sid, ev->sid.ptr, ev->sid.len);
    l->sid[ev->sid.len] = '\0';
    memcpy(l->subject, ev->subject.ptr, ev->subject.len);
    l->subject[ev->subject.len] = '\0';
    memcpy(l->prefix, ev->hash_prefix, sizeof l->prefix);
}

typedef struct env {
    ag_store *st;
    ag_session *s;
    reuse_log log;
} env;

static env *env_new(ag_store *st, int64_t ttl, int64_t life, int64_t interval)
{
    setup_once();
    fake_now = T0;
    env *e = calloc(1, sizeof *e);
    ck_assert_ptr_nonnull(e);
    if (st == NULL) {
        ag_store_memory_config mc = {.capacity = 100000};
        ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    }
    e->st = st;
    ag_session_config c = {0};
    c.access_issuer = i_access;
    c.refresh_issuer = i_refresh;
    c.refresh_verifier = v_refresh;
    c.store = st;
    c.refresh_ttl = ttl;
    c.family_lifetime = life;
    c.reuse_interval = interval;
    c.secret = secret;
    c.secret_len = sizeof secret;
    c.purge_margin = -1;
    c.on_reuse = on_reuse;
    c.on_reuse_ctx = &e->log;
    c.clock = fake_clock;
    ck_assert_int_eq(ag_session_new(&c, &e->s), AG_OK);
    return e;
}

static void env_free(env *e)
{
    ag_session_free(e->s);
    ag_store_close(e->st);
    free(e);
}

static ag_session_tokens *tokens_new(void)
{
    ag_session_tokens *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    return t;
}

static ag_err refresh(env *e, const char *tok, ag_session_tokens *out)
{
    return ag_session_refresh(e->s, (const uint8_t *)tok, strlen(tok), out);
}

/* The verified claims of a token (our own verifier: test-side knowledge). */
static ag_claims *claims_of(const char *tok, bool access)
{
    ag_claims *c = malloc(sizeof *c);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(ag_verify(access ? v_access : v_refresh, (const uint8_t *)tok, strlen(tok), c),
                     AG_OK);
    return c;
}

static void jti_of(const char *tok, char out[65])
{
    ag_claims *c = claims_of(tok, false);
    memcpy(out, c->jti.ptr, c->jti.len);
    out[c->jti.len] = '\0';
    free(c);
}

/* The store row of a refresh token, through the public lookup API. */
static ag_err row_of(env *e, const char *tok, ag_store_token *row)
{
    char jti[65];
    jti_of(tok, jti);
    uint8_t h[32];
    unsigned int n = 0;
    ck_assert(EVP_Digest(jti, strlen(jti), h, &n, EVP_sha256(), NULL) == 1);
    return ag_store_lookup(e->st, h, row, NULL);
}

/* A refresh token minted directly, e.g. with a live family's sid. */
static void mint(const ag_issuer *is, const char *sub, const char *sid, const char *jti,
                 char *buf)
{
    ag_issue_params p = {0};
    p.sub = sub;
    p.sid = sid;
    p.jti = jti;
    ck_assert_int_eq(ag_issue(is, &p, buf, AG_TOKEN_MAX_LEN + 1, NULL), AG_OK);
}

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

/* a chain of 1,000 rotations. */
START_TEST(rotation_chain_1000)
{
    env *e = env_new(NULL, 3600, 86400 * 30, 0);
    ag_session_tokens *t = tokens_new(), *n = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    char sid[AG_SID_MAX_LEN + 1];
    memcpy(sid, t->sid, sizeof sid);
    for (int k = 1; k <= 1000; k++) {
        fake_now++;
        ck_assert_int_eq(refresh(e, t->refresh, n), AG_OK);
        ck_assert_uint_eq(n->generation, (uint64_t)k);
        ck_assert_str_eq(n->sid, sid);
        ck_assert(!n->replayed);
        ck_assert_str_ne(n->refresh, t->refresh);
        ag_session_tokens *tmp = t;
        t = n;
        n = tmp;
    }
    ag_store_stats s;
    ck_assert_int_eq(ag_store_stats_get(e->st, &s), AG_OK);
    ck_assert_uint_eq(s.tokens, 1001);
    ck_assert_uint_eq(s.families, 1);
    ag_store_token row;
    ck_assert_int_eq(row_of(e, t->refresh, &row), AG_OK);
    ck_assert_int_eq(row.used_at, 0);
    ck_assert_uint_eq(row.generation, 1000);
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
        ck_assert_ptr_nonnull(chain);
        ck_assert_int_eq(ag_session_issue(e->s, "alice", &chain[0]), AG_OK);
        for (int k = 1; k < 10; k++) {
            fake_now++;
            ck_assert_int_eq(refresh(e, chain[k - 1].refresh, &chain[k]), AG_OK);
        }
        ag_session_tokens *out = tokens_new();
        fake_now++;
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
        ag_store_family f;
        ck_assert_int_eq(ag_store_lookup_family(e->st, chain[0].sid, 43, &f), AG_OK);
        ck_assert_int_eq(f.reason, AG_REVOKE_REUSE);
        ck_assert_int_eq(e->log.calls, 1);
        free(out);
        free(chain);
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
    fake_now++;
    ck_assert_int_eq(refresh(e, t0->refresh, t1), AG_OK);
    char live_jti[65], used_jti[65];
    jti_of(t1->refresh, live_jti);
    jti_of(t0->refresh, used_jti);
    char *forged = malloc(AG_TOKEN_MAX_LEN + 1);
    ck_assert_ptr_nonnull(forged);
    /* signed with another secret under the real kid */
    mint(i_forger, "alice", t1->sid, live_jti, forged);
    ck_assert_int_eq(refresh(e, forged, out), AG_ERR_SIGNATURE);
    mint(i_forger, "alice", t1->sid, used_jti, forged); /* would be "reuse" if trusted */
    ck_assert_int_eq(refresh(e, forged, out), AG_ERR_SIGNATURE);
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)forged, strlen(forged)),
                     AG_ERR_SIGNATURE);
    size_t cnt = 9;
    ck_assert_int_eq(
        ag_session_logout_all(e->s, (const uint8_t *)forged, strlen(forged), &cnt),
        AG_ERR_SIGNATURE);
    /* the real token with one signature character changed */
    memcpy(forged, t1->refresh, t1->refresh_len + 1);
    forged[t1->refresh_len - 2] = forged[t1->refresh_len - 2] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(refresh(e, forged, out), AG_ERR_SIGNATURE);
    ck_assert_int_eq(e->log.calls, 0);
    ag_store_token row;
    ck_assert_int_eq(row_of(e, t1->refresh, &row), AG_OK);
    ck_assert_int_eq(row.used_at, 0);
    ck_assert_int_eq(row.revoked_at, 0);
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
    mint(i_access_as_rt, "alice", t->sid, NULL, at); /* right aud, right sid, typ at+jwt */
    ck_assert_int_eq(refresh(e, at, out), AG_ERR_WRONG_TYPE);
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)at, strlen(at)), AG_ERR_WRONG_TYPE);
    /* the session's own access token is refused too (wrong aud or typ) */
    ag_err x = refresh(e, t->access, out);
    ck_assert(x == AG_ERR_WRONG_TYPE || x == AG_ERR_CLAIM);
    ck_assert_int_eq(ag_session_check_sid(e->s, t->sid, 43), AG_OK);
    ag_store_token row;
    ck_assert_int_eq(row_of(e, t->refresh, &row), AG_OK);
    ck_assert_int_eq(row.used_at, 0);
    ck_assert_int_eq(refresh(e, t->refresh, out), AG_OK);
    free(at);
    free(t);
    free(out);
    env_free(e);
}
END_TEST

/* SECURITY.md decision 6: valid signature, unknown jti → its own error,
 * no revocation. */
START_TEST(unknown_jti_no_revocation)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *t = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", t), AG_OK);
    char *tok = malloc(AG_TOKEN_MAX_LEN + 1);
    ck_assert_ptr_nonnull(tok);
    mint(i_refresh, "alice", t->sid, NULL, tok); /* random jti, live sid */
    ck_assert_int_eq(refresh(e, tok, out), AG_ERR_UNKNOWN);
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)tok, strlen(tok)), AG_ERR_UNKNOWN);
    /* a real jti under another subject or sid is unknown too */
    char jti[65];
    jti_of(t->refresh, jti);
    mint(i_refresh, "mallory", t->sid, jti, tok);
    ck_assert_int_eq(refresh(e, tok, out), AG_ERR_UNKNOWN);
    mint(i_refresh, "alice", "another-sid", jti, tok);
    ck_assert_int_eq(refresh(e, tok, out), AG_ERR_UNKNOWN);
    ck_assert_int_eq(e->log.calls, 0);
    ck_assert_int_eq(ag_session_check_sid(e->s, t->sid, 43), AG_OK);
    ck_assert_int_eq(refresh(e, t->refresh, out), AG_OK);
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
    ag_session_tokens *a1 = tokens_new(), *a2 = tokens_new(), *a3 = tokens_new(),
                      *b = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a1), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a2), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a3), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "bob", b), AG_OK);
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)a1->refresh, a1->refresh_len), AG_OK);
    ck_assert_int_eq(refresh(e, a1->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_session_check_sid(e->s, a1->sid, 43), AG_ERR_REVOKED);
    ck_assert_int_eq(ag_session_check_sid(e->s, a2->sid, 43), AG_OK);
    /* logout again: still fine */
    ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)a1->refresh, a1->refresh_len), AG_OK);
    size_t n = 0;
    ck_assert_int_eq(ag_session_logout_all(e->s, (const uint8_t *)a2->refresh, a2->refresh_len, &n),
                     AG_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(refresh(e, a2->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(refresh(e, a3->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_OK);
    /* administrative revocation */
    ck_assert_int_eq(ag_session_revoke(e->s, b->sid, 43), AG_OK);
    ck_assert_int_eq(refresh(e, out->refresh, a1), AG_ERR_REVOKED);
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
    fake_now = T0 + 99;
    ck_assert_int_eq(refresh(e, u->refresh, out), AG_OK); /* bob stays active */
    fake_now = T0 + 100;
    ck_assert_int_eq(refresh(e, t->refresh, t), AG_ERR_INVALID_ARGUMENT); /* overlap */
    ag_session_tokens *x = tokens_new();
    ck_assert_int_eq(ag_session_refresh(e->s, (const uint8_t *)t->refresh, t->refresh_len, x),
                     AG_ERR_EXPIRED);
    ck_assert_uint_eq(x->refresh_len, 0);
    free(x);
    size_t removed = 0;
    ck_assert_int_eq(ag_session_purge(e->s, &removed), AG_OK);
    ck_assert_uint_eq(removed, 2); /* alice's only row, bob's used first row */
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
        fake_now = T0 + steps[k];
        ck_assert_int_eq(refresh(e, t->refresh, n), AG_OK);
        ck_assert_int_eq(n->refresh_exp, T0 + want[k]);
        ag_claims *c = claims_of(n->refresh, false);
        ck_assert_int_eq(c->exp, T0 + want[k]);
        free(c);
        ag_session_tokens *tmp = t;
        t = n;
        n = tmp;
    }
    fake_now = T0 + 250;
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
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *b2 = tokens_new(),
                      *c = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    fake_now = T0 + 5;
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
    ck_assert(!b->replayed);
    fake_now = T0 + 12; /* parallel tab, 7 s later */
    ck_assert_int_eq(refresh(e, a->refresh, b2), AG_OK);
    ck_assert(b2->replayed);
    ck_assert_uint_eq(b2->generation, b->generation);
    char jb[65], jb2[65];
    jti_of(b->refresh, jb);
    jti_of(b2->refresh, jb2);
    ck_assert_str_eq(jb, jb2); /* the same successor: the family did not fork */
    ck_assert_str_eq(b->refresh, b2->refresh); /* HS256: even byte-identical */
    ck_assert_int_eq(refresh(e, b2->refresh, c), AG_OK);
    /* now a is second-to-last: reuse, even inside the interval */
    fake_now = T0 + 13;
    ck_assert_int_eq(refresh(e, a->refresh, out), AG_ERR_REUSED);
    ck_assert_int_eq(refresh(e, c->refresh, out), AG_ERR_REVOKED);
    ck_assert_int_eq(e->log.calls, 1);

    /* outside the interval: reuse */
    ck_assert_int_eq(ag_session_issue(e->s, "bob", a), AG_OK);
    ck_assert_int_eq(refresh(e, a->refresh, b), AG_OK);
    fake_now = T0 + 24;
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
    ag_store_memory_config mc = {.capacity = 3};
    ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    env *e = env_new(st, 100, 86400, 0);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *out = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "bob", b), AG_OK);
    fake_now = T0 + 1;
    ck_assert_int_eq(refresh(e, a->refresh, out), AG_OK); /* 3 rows */
    ck_assert_int_eq(ag_session_issue(e->s, "carol", out), AG_ERR_STORE_FULL);
    ck_assert_uint_eq(out->refresh_len, 0);
    ck_assert_int_eq(refresh(e, b->refresh, out), AG_ERR_STORE_FULL);
    ag_store_token row;
    ck_assert_int_eq(row_of(e, b->refresh, &row), AG_OK);
    ck_assert_int_eq(row.used_at, 0); /* not consumed: the client may retry */
    free(a);
    free(b);
    free(out);
    env_free(e);
}
END_TEST

/* ---- a failing store (R-06) ---------------------------------------------------- */

typedef struct fake {
    ag_store base;
    ag_err answer;
    ag_store_outcome outcome;
} fake;

static ag_err f_put(ag_store *st, const ag_store_family *f, const ag_store_token *t)
{
    (void)f;
    (void)t;
    return ((fake *)st)->answer;
}

static ag_err f_rotate(ag_store *st, const ag_store_rotation *r, ag_store_rotated *out)
{
    (void)r;
    out->outcome = ((fake *)st)->outcome;
    out->expires = T0 + 100;
    out->issued = T0;
    out->family_expires = T0 + 100;
    return ((fake *)st)->answer;
}

static ag_err f_lookup(ag_store *st, const uint8_t *h, ag_store_token *t, ag_store_family *f)
{
    (void)h;
    (void)t;
    (void)f;
    return ((fake *)st)->answer == AG_OK ? AG_ERR_STORE : ((fake *)st)->answer;
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
                               ag_revoke_reason r, size_t *count)
{
    (void)sub;
    (void)n;
    (void)now;
    (void)r;
    (void)count;
    return ((fake *)st)->answer;
}

static ag_err f_purge(ag_store *st, int64_t now, size_t *removed)
{
    (void)now;
    (void)removed;
    return ((fake *)st)->answer;
}

static void f_close(ag_store *st)
{
    free(st);
}

static ag_store *fake_new(ag_err answer, ag_store_outcome outcome)
{
    fake *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    f->base.version = AG_STORE_INTERFACE_VERSION;
    f->base.name = "fake";
    f->base.put = f_put;
    f->base.rotate = f_rotate;
    f->base.lookup = f_lookup;
    f->base.lookup_family = f_lookup_family;
    f->base.revoke_family = f_revoke_family;
    f->base.revoke_subject = f_revoke_subject;
    f->base.purge_expired = f_purge;
    f->base.close = f_close;
    f->answer = answer;
    f->outcome = outcome;
    return &f->base;
}

START_TEST(failing_store_fails_closed)
{
    /* a plain failure, codes a store may not return (a verify error, a
     * "not yet valid"), and an AG_OK without a valid outcome */
    const struct {
        ag_err answer;
        ag_store_outcome outcome;
    } cases[] = {
        {AG_ERR_STORE, AG_STORE_ROTATED},
        {AG_ERR_SIGNATURE, AG_STORE_ROTATED},
        {AG_ERR_NOT_YET_VALID, AG_STORE_ROTATED},
        {AG_OK, (ag_store_outcome)0},
        {AG_OK, (ag_store_outcome)77},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        env *e = env_new(fake_new(cases[k].answer, cases[k].outcome), 100, 86400, 0);
        ag_session_tokens *out = tokens_new();
        char *tok = malloc(AG_TOKEN_MAX_LEN + 1);
        ck_assert_ptr_nonnull(tok);
        mint(i_refresh, "alice", "some-sid", NULL, tok);
        ck_assert_int_eq(refresh(e, tok, out), AG_ERR_STORE);
        ck_assert_uint_eq(out->refresh_len, 0);
        ck_assert_uint_eq(out->access_len, 0);
        ck_assert_int_eq(out->refresh[0], '\0');
        ck_assert_int_eq(out->access[0], '\0');
        if (cases[k].answer != AG_OK) {
            ck_assert_int_eq(ag_session_issue(e->s, "alice", out), AG_ERR_STORE);
            ck_assert_int_eq(out->access[0], '\0');
        }
        ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)tok, strlen(tok)), AG_ERR_STORE);
        ck_assert_int_eq(ag_session_check_sid(e->s, "some-sid", 8), AG_ERR_STORE);
        free(tok);
        free(out);
        env_free(e);
    }
}
END_TEST

START_TEST(config_checks)
{
    setup_once();
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(NULL, &st), AG_OK);
    ag_session_config c = {0};
    ag_session *s = (ag_session *)1;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(s);
    c.access_issuer = i_access;
    c.refresh_issuer = i_refresh;
    c.refresh_verifier = v_refresh;
    c.store = st;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_OK);
    ag_session_free(s);
    c.reuse_interval = 5; /* needs a secret */
    ck_assert_int_eq(ag_session_new(&c, &s), AG_ERR_INVALID_ARGUMENT);
    c.secret = secret;
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

/* ---- nothing stored is a jti or a token (R-03, R-11) -------------------------- */

typedef struct issued_set {
    size_t n;
    char (*tokens)[AG_TOKEN_MAX_LEN + 1];
    char (*jtis)[65];
} issued_set;

static void record(issued_set *set, const char *tok)
{
    memcpy(set->tokens[set->n], tok, strlen(tok) + 1);
    jti_of(tok, set->jtis[set->n]);
    set->n++;
}

/* A needle: bytes that must not (or, for hashes, must) appear. */
typedef struct needle {
    uint64_t key; /* first 8 bytes */
    const uint8_t *p;
    size_t n;
    bool is_hash;
    const char *what;
} needle;

static uint64_t key8(const uint8_t *p)
{
    uint64_t k;
    memcpy(&k, p, 8);
    return k;
}

static int needle_cmp(const void *a, const void *b)
{
    uint64_t x = ((const needle *)a)->key, y = ((const needle *)b)->key;
    return x < y ? -1 : x > y;
}

/* Scans bytes once for every jti (text, 16-char prefix, decoded bytes and
 * their 12-byte prefix) and 16-character windows of every token's payload
 * and signature; counts the SHA-256(jti) values found, the positive
 * control proving the scan reads real data (asserted when want_hash). */
static void assert_clean(const uint8_t *bytes, size_t len, const issued_set *set, bool want_hash)
{
    size_t cap = set->n * 80, nn = 0;
    needle *nd = calloc(cap, sizeof *nd);
    uint8_t(*raw)[48] = calloc(set->n, sizeof *raw);
    uint8_t(*hash)[32] = calloc(set->n, sizeof *hash);
    ck_assert(nd != NULL && raw != NULL && hash != NULL);
    for (size_t k = 0; k < set->n; k++) {
        const char *jti = set->jtis[k];
        size_t jl = strlen(jti), rl = 0;
        ck_assert_int_eq(ag_base64url_decode((const uint8_t *)jti, jl, raw[k], 48, &rl), AG_OK);
        unsigned int hl = 0;
        ck_assert(EVP_Digest(jti, jl, hash[k], &hl, EVP_sha256(), NULL) == 1);
        nd[nn++] = (needle){0, (const uint8_t *)jti, jl, false, "jti text"};
        nd[nn++] = (needle){0, (const uint8_t *)jti, 16, false, "jti prefix"};
        nd[nn++] = (needle){0, raw[k], rl, false, "decoded jti"};
        nd[nn++] = (needle){0, raw[k], 12, false, "decoded jti prefix"};
        nd[nn++] = (needle){0, hash[k], 32, true, "hash"};
        const char *tok = set->tokens[k];
        const char *dot = strchr(tok, '.');
        ck_assert_ptr_nonnull(dot);
        size_t tl = strlen(tok);
        for (size_t off = (size_t)(dot - tok) + 1; off + 16 <= tl && nn < cap; off += 8)
            nd[nn++] = (needle){0, (const uint8_t *)tok + off, 16, false, "token substring"};
    }
    for (size_t i = 0; i < nn; i++)
        nd[i].key = key8(nd[i].p);
    qsort(nd, nn, sizeof *nd, needle_cmp);
    size_t hashes_found = 0;
    for (size_t i = 0; i + 8 <= len; i++) {
        needle probe = {.key = key8(bytes + i)};
        needle *hit = bsearch(&probe, nd, nn, sizeof *nd, needle_cmp);
        if (hit == NULL)
            continue;
        while (hit > nd && hit[-1].key == probe.key)
            hit--;
        for (; hit < nd + nn && hit->key == probe.key; hit++) {
            if (i + hit->n > len || memcmp(bytes + i, hit->p, hit->n) != 0)
                continue;
            if (hit->is_hash)
                hashes_found++;
            else
                ck_abort_msg("%s found in stored bytes at offset %zu", hit->what, i);
        }
    }
    if (want_hash) /* the scan can fail: what IS stored is found */
        ck_assert_uint_gt(hashes_found, set->n / 2);
    free(nd);
    free(raw);
    free(hash);
}

static void churn(env *e, issued_set *set)
{
    ag_session_tokens *t = tokens_new(), *n = tokens_new();
    for (int login = 0; login < 12; login++) {
        ck_assert_int_eq(ag_session_issue(e->s, login % 2 ? "alice" : "bob", t), AG_OK);
        record(set, t->refresh);
        for (int k = 0; k < 8; k++) {
            fake_now++;
            ck_assert_int_eq(refresh(e, t->refresh, n), AG_OK);
            record(set, n->refresh);
            ag_session_tokens *tmp = t;
            t = n;
            n = tmp;
        }
        if (login % 3 == 0)
            ck_assert_int_eq(ag_session_logout(e->s, (const uint8_t *)t->refresh, t->refresh_len),
                             AG_OK);
        if (login % 4 == 1 && login % 3 != 0) { /* a reuse: a revoked-by-reuse family */
            ck_assert_int_eq(refresh(e, set->tokens[set->n - 3], n), AG_ERR_REUSED);
        }
    }
    free(t);
    free(n);
}

static issued_set *set_new(void)
{
    issued_set *set = calloc(1, sizeof *set);
    ck_assert_ptr_nonnull(set);
    set->tokens = calloc(200, sizeof *set->tokens);
    set->jtis = calloc(200, sizeof *set->jtis);
    ck_assert(set->tokens != NULL && set->jtis != NULL);
    return set;
}

static void set_free(issued_set *set)
{
    free(set->tokens);
    free(set->jtis);
    free(set);
}

START_TEST(sqlite_file_holds_no_jti_or_token)
{
    if (!ag_store_sqlite_available())
        return;
    char dir[] = "/tmp/ag-session-grep-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[96], wal[100];
    snprintf(path, sizeof path, "%s/s.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    ag_store_sqlite_config sc = {.path = path};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_sqlite_open(&sc, &st), AG_OK);
    env *e = env_new(st, 3600, 86400, 5);
    issued_set *set = set_new();
    churn(e, set);
    /* while open: the database and its WAL */
    size_t dl = 0, wl = 0;
    char *db = ag_test_read_file(path, &dl);
    char *w = ag_test_read_file(wal, &wl);
    ck_assert_ptr_nonnull(db);
    ck_assert_ptr_nonnull(w);
    uint8_t *all = malloc(dl + wl);
    ck_assert_ptr_nonnull(all);
    memcpy(all, db, dl);
    memcpy(all + dl, w, wl);
    assert_clean(all, dl + wl, set, true);
    free(all);
    free(db);
    free(w);
    env_free(e); /* closes: checkpoint into the main file */
    db = ag_test_read_file(path, &dl);
    ck_assert_ptr_nonnull(db);
    assert_clean((const uint8_t *)db, dl, set, true);
    free(db);
    set_free(set);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The memory store: every live heap block it holds, through a tracking
 * allocator, plus every row through the lookup API. */
#define MAXBLK 4096
typedef struct tracker {
    pthread_mutex_t mu;
    void *blk[MAXBLK];
    size_t len[MAXBLK];
} tracker;

static void *t_malloc(size_t n, void *ctx)
{
    tracker *t = ctx;
    void *p = malloc(n);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; p != NULL && i < MAXBLK; i++)
        if (t->blk[i] == NULL) {
            t->blk[i] = p;
            t->len[i] = n;
            break;
        }
    pthread_mutex_unlock(&t->mu);
    return p;
}

static void t_free(void *p, void *ctx)
{
    tracker *t = ctx;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; p != NULL && i < MAXBLK; i++)
        if (t->blk[i] == p) {
            t->blk[i] = NULL;
            break;
        }
    pthread_mutex_unlock(&t->mu);
    free(p);
}

static void *t_realloc(void *p, size_t n, void *ctx)
{
    (void)p;
    (void)n;
    (void)ctx;
    return NULL;
}

START_TEST(memory_store_holds_no_jti_or_token)
{
    static tracker tr = {.mu = PTHREAD_MUTEX_INITIALIZER};
    ag_allocator a = {t_malloc, t_realloc, t_free, &tr};
    ag_store_memory_config mc = {.capacity = 1000, .alloc = &a};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    env *e = env_new(st, 3600, 86400, 5);
    issued_set *set = set_new();
    churn(e, set);
    /* every block the store holds, concatenated */
    size_t total = 0;
    for (size_t i = 0; i < MAXBLK; i++)
        total += tr.blk[i] != NULL ? tr.len[i] : 0;
    uint8_t *all = malloc(total);
    ck_assert_ptr_nonnull(all);
    size_t off = 0, blocks = 0;
    for (size_t i = 0; i < MAXBLK; i++)
        if (tr.blk[i] != NULL) {
            memcpy(all + off, tr.blk[i], tr.len[i]);
            off += tr.len[i];
            blocks++;
        }
    ck_assert_uint_gt(blocks, set->n); /* rows, families, subjects, tables */
    assert_clean(all, total, set, true);
    free(all);
    /* and what the lookup API returns for each row */
    for (size_t k = 0; k < set->n; k++) {
        uint8_t h[32];
        unsigned int hl = 0;
        ck_assert(EVP_Digest(set->jtis[k], strlen(set->jtis[k]), h, &hl, EVP_sha256(), NULL) == 1);
        ag_store_token row;
        ag_store_family fam;
        ag_err x = ag_store_lookup(st, h, &row, &fam);
        ck_assert(x == AG_OK);
        assert_clean((const uint8_t *)&row, sizeof row, set, false);
        assert_clean((const uint8_t *)&fam, sizeof fam, set, false);
    }
    set_free(set);
    env_free(e);
}
END_TEST

/* ---- concurrency at the session level (R-05) ------------------------------------ */

typedef struct par {
    env *e;
    const char *tok;
    pthread_barrier_t *go;
    ag_err result;
    ag_session_tokens out;
} par;

static void *par_refresh(void *arg)
{
    par *p = arg;
    pthread_barrier_wait(p->go);
    p->result = refresh(p->e, p->tok, &p->out);
    return NULL;
}

static void race(int64_t interval)
{
    env *e = env_new(NULL, 3600, 86400, interval);
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
        ck_assert_int_eq(pthread_create(&th[k], NULL, par_refresh, &ps[k]), 0);
    }
    int ok = 0;
    for (int k = 0; k < 8; k++) {
        pthread_join(th[k], NULL);
        ok += ps[k].result == AG_OK;
    }
    if (interval == 0) {
        ck_assert_int_eq(ok, 1); /* exactly one 200 (CONTRACTS) */
        ck_assert_int_eq(e->log.calls, 1);
    } else {
        ck_assert_int_eq(ok, 8); /* parallel tabs: all get the same successor */
        for (int k = 1; k < 8; k++)
            ck_assert_str_eq(ps[k].out.refresh, ps[0].out.refresh);
    }
    pthread_barrier_destroy(&go);
    free(ps);
    free(t);
    env_free(e);
}

START_TEST(concurrent_refresh_one_winner)
{
    race(0);
    race(5);
}
END_TEST

int main(void)
{
    setup_once();
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("session");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, issue_pair_shape);
    tcase_add_test(tc, rotation_chain_1000);
    tcase_add_test(tc, reuse_of_any_earlier_token_revokes_newest);
    tcase_add_test(tc, forged_token_changes_nothing);
    tcase_add_test(tc, access_token_as_refresh_wrong_type);
    tcase_add_test(tc, unknown_jti_no_revocation);
    tcase_add_test(tc, logout_and_logout_all);
    tcase_add_test(tc, idle_expiry_and_purge);
    tcase_add_test(tc, family_absolute_lifetime);
    tcase_add_test(tc, reuse_interval_on);
    tcase_add_test(tc, reuse_interval_off);
    tcase_add_test(tc, store_full);
    tcase_add_test(tc, failing_store_fails_closed);
    tcase_add_test(tc, config_checks);
    suite_add_tcase(s, tc);
    tc = tcase_create("no-secrets-stored");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, sqlite_file_holds_no_jti_or_token);
    tcase_add_test(tc, memory_store_holds_no_jti_or_token);
    tcase_add_test(tc, concurrent_refresh_one_winner);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

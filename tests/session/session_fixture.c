/* SPDX-License-Identifier: MIT */
/* The session tests' shared fixture (see session_fixture.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "session_fixture.h"

static ag_key *k_access, *k_refresh, *k_forger;
static ag_keyring *ring_refresh, *ring_access;
ag_issuer *sx_i_access, *sx_i_refresh, *sx_i_forger, *sx_i_access_as_rt;
ag_verifier *sx_v_refresh, *sx_v_access, *sx_v_refresh_leeway;
const uint8_t sx_secret[32] = "server-secret-for-derived-jtis!!";

void sx_setup_once(void)
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
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.issuer = ISS;
    ic.clock = ag_test_clock;
    ic.key = k_access;
    ic.kind = AG_TOKEN_ACCESS;
    ic.audience = "refresh"; /* so only typ tells it apart at the refresh endpoint */
    ic.ttl = 900;
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &sx_i_access_as_rt));
    ic.audience = "api";
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &sx_i_access));
    ic.key = k_refresh;
    ic.kind = AG_TOKEN_REFRESH;
    ic.audience = "refresh";
    ic.ttl = 3600;
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &sx_i_refresh));
    ic.key = k_forger;
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &sx_i_forger));
    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = ring_refresh;
    vc.kind = AG_TOKEN_REFRESH;
    vc.issuer = ISS;
    vc.audience = "refresh";
    vc.leeway = 0;
    vc.clock = ag_test_clock;
    AG_TEST_SETUP_OK(ag_verifier_new(&vc, &sx_v_refresh));
    vc.leeway = SX_LEEWAY;
    AG_TEST_SETUP_OK(ag_verifier_new(&vc, &sx_v_refresh_leeway));
    vc.leeway = 0;
    vc.keys = ring_access;
    vc.kind = AG_TOKEN_ACCESS;
    vc.audience = "api";
    AG_TEST_SETUP_OK(ag_verifier_new(&vc, &sx_v_access));
}

/* ---- per-test environment ---------------------------------------------- */

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

static void on_evict(void *ctx, const ag_evict_event *ev)
{
    evict_log *l = ctx;
    l->calls++;
    ck_assert_uint_le(ev->sid.len, AG_SID_MAX_LEN);
    ck_assert_uint_le(ev->subject.len, AG_SUBJECT_MAX_LEN);
    memcpy(l->sid, ev->sid.ptr, ev->sid.len);
    l->sid[ev->sid.len] = '\0';
    memcpy(l->subject, ev->subject.ptr, ev->subject.len);
    l->subject[ev->subject.len] = '\0';
    l->now = ev->now;
}

env *env_make(ag_store *st, const env_opts *o)
{
    sx_setup_once();
    ag_test_clock_set(T0);
    env *e = calloc(1, sizeof *e);
    ck_assert_ptr_nonnull(e);
    if (st == NULL) {
        ag_store_memory_config mc = {.size = sizeof(ag_store_memory_config), .capacity = 100000};
        ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    }
    e->st = st;
    ag_session_config c = AG_INIT(ag_session_config);
    c.access_issuer = sx_i_access;
    c.refresh_issuer = sx_i_refresh;
    c.refresh_verifier = o->verifier != NULL ? o->verifier : sx_v_refresh;
    c.store = st;
    c.refresh_ttl = o->ttl;
    c.family_lifetime = o->life;
    c.reuse_interval = o->interval;
    c.reuse_max_replays = o->max_replays;
    c.replay_needs_key = o->needs_key;
    c.max_sessions = o->max_sessions;
    c.secret = sx_secret;
    c.secret_len = sizeof sx_secret;
    c.purge_margin = o->purge_margin;
    c.on_reuse = on_reuse;
    c.on_reuse_ctx = &e->log;
    c.on_evict = on_evict;
    c.on_evict_ctx = &e->evicted;
    c.clock = ag_test_clock;
    ck_assert_int_eq(ag_session_new(&c, &e->s), AG_OK);
    return e;
}

env *env_new(ag_store *st, int64_t ttl, int64_t life, int64_t interval)
{
    env_opts o = {.ttl = ttl, .life = life, .interval = interval, .purge_margin = -1};
    return env_make(st, &o);
}

void env_free(env *e)
{
    ag_session_free(e->s);
    ag_store_close(e->st);
    free(e);
}

ag_session_tokens *tokens_new(void)
{
    ag_session_tokens *t = ag_test_tokens();
    ck_assert_ptr_nonnull(t);
    return t;
}

ag_err refresh(env *e, const char *tok, ag_session_tokens *out)
{
    return ag_session_refresh(e->s, (const uint8_t *)tok, strlen(tok), out);
}

ag_err logout(env *e, const char *tok)
{
    return ag_session_logout(e->s, (const uint8_t *)tok, strlen(tok));
}

ag_err logout_all(env *e, const char *tok, size_t *count)
{
    return ag_session_logout_all(e->s, (const uint8_t *)tok, strlen(tok), count);
}

void swap_tokens(ag_session_tokens **a, ag_session_tokens **b)
{
    ag_session_tokens *t = *a;
    *a = *b;
    *b = t;
}

/* ---- test-side knowledge of tokens and rows ----------------------------- */

/* Claims through the leeway verifier (refresh), so a test can still read
 * a token that expired moments ago. */
ag_claims *claims_of(const char *tok, bool access)
{
    ag_claims *c = malloc(sizeof *c);
    if (c != NULL)
        *c = (ag_claims)AG_INIT(ag_claims);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(ag_verify(access ? sx_v_access : sx_v_refresh_leeway, (const uint8_t *)tok,
                               strlen(tok), AG_TEST_SCRATCH(c), c),
                     AG_OK);
    return c;
}

void jti_of(const char *tok, char out[65])
{
    ag_claims *c = claims_of(tok, false);
    ck_assert_uint_le(c->jti.len, 64);
    memcpy(out, c->jti.ptr, c->jti.len);
    out[c->jti.len] = '\0';
    free(c);
}

void hash_of(const char *tok, uint8_t out[AG_STORE_HASH_LEN])
{
    char jti[65];
    jti_of(tok, jti);
    unsigned int n = 0;
    ck_assert(EVP_Digest(jti, strlen(jti), out, &n, EVP_sha256(), NULL) == 1);
    ck_assert_uint_eq(n, AG_STORE_HASH_LEN);
}

ag_err fam_of(env *e, const char *sid, ag_store_family *f)
{
    return ag_store_lookup_family(e->st, sid, strlen(sid), f);
}

void assert_row(env *e, const char *sid, uint64_t gen, const char *current, const char *prev)
{
    ag_store_family f;
    uint8_t h[AG_STORE_HASH_LEN];
    ck_assert_int_eq(fam_of(e, sid, &f), AG_OK);
    ck_assert_int_eq(f.revoked_at, 0);
    ck_assert_int_eq(f.reason, AG_REVOKE_NONE);
    ck_assert_uint_eq(f.generation, gen);
    hash_of(current, h);
    ck_assert_msg(memcmp(f.current, h, sizeof h) == 0, "current hash is not the newest token's");
    ck_assert(f.has_previous == (gen > 0));
    if (prev != NULL) {
        hash_of(prev, h);
        ck_assert_msg(memcmp(f.previous, h, sizeof h) == 0, "previous hash is not the rotated one");
    }
}

void assert_revoked(env *e, const char *sid, ag_revoke_reason why)
{
    static const uint8_t zero[AG_STORE_HASH_LEN];
    ag_store_family f;
    ck_assert_int_eq(fam_of(e, sid, &f), AG_OK);
    ck_assert_int_ne(f.revoked_at, 0);
    ck_assert_int_eq(f.reason, why);
    ck_assert(!f.has_previous);
    ck_assert(memcmp(f.current, zero, sizeof zero) == 0);
    ck_assert(memcmp(f.previous, zero, sizeof zero) == 0);
}

void mint(const ag_issuer *is, const char *sub, const char *sid, const char *jti, char *buf)
{
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = sub;
    p.sid = sid;
    p.jti = jti;
    ck_assert_int_eq(ag_issue(is, &p, buf, AG_TOKEN_MAX_LEN + 1, NULL), AG_OK);
}

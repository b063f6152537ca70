/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — the token side: issuers, verifiers and the session
 * manager (lib/session) over the chosen store.
 *
 * The model (docs/sessions.md, docs/security.md R-01…R-08), all of it done
 * by ag_session_*:
 *  - a login starts a family (sid), one store row holding SHA-256(jti) of
 *    its current refresh token — never the token, never the jti;
 *  - a refresh verifies the token fully before the store is touched,
 *    then ONE atomic store step exchanges the current hash for the
 *    successor's; any older token of the family revokes it, newest
 *    token included — except the previous one retried within
 *    --reuse-interval (a lost answer), which gets the same successor;
 *  - logout revokes the family; logout-all every family of the subject;
 *    both need the current token (an older one is reuse).
 *
 * Access tokens carry the sid as well: every revocation above also goes
 * into the access verifier's revocation set (and, through a shared store's
 * log, into other instances' sets), so /api/me refuses a revoked session's
 * access tokens at once instead of at their exp.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "demo.h"

/* A login lives at most this long, however often it is refreshed,
 * unless --refresh-ttl asks for more. */
#define DEMO_FAMILY_LIFETIME (30 * 86400)

struct demo_sessions {
    ag_issuer *access_issuer;
    ag_issuer *refresh_issuer;
    ag_verifier *access_verifier;
    ag_verifier *refresh_verifier;
    ag_session *session;
    ag_revset *revoked;      /* access tokens of revoked sessions (revocation.h) */
    ag_revsync *follower;    /* other instances' revocations, from a shared store */
    pthread_mutex_t jwks_mu; /* guards jwks: requests copy it, a reload replaces it */
    char *jwks;
    char refresh_audience[512];
    const char *key_dir;
    ag_alg alg;
    int64_t keep_access, keep_refresh; /* how long a replaced key still verifies */
};

static void log_reuse(void *ctx, const ag_reuse_event *ev)
{
    (void)ctx;
    /* A security event: somebody presented a rotated refresh token. Log
     * the family and subject, never a token or jti. */
    fprintf(stderr, "authgate-demo: refresh token reuse; session %.*s of %.*s revoked\n",
            (int)ev->sid.len, (const char *)ev->sid.ptr, (int)ev->subject.len,
            (const char *)ev->subject.ptr);
}

static void log_evict(void *ctx, const ag_evict_event *ev)
{
    (void)ctx;
    fprintf(stderr, "authgate-demo: session %.*s of %.*s ended: over --max-sessions\n",
            (int)ev->sid.len, (const char *)ev->sid.ptr, (int)ev->subject.len,
            (const char *)ev->subject.ptr);
}

static void log_error(void *ctx, const char *what, ag_err e)
{
    (void)ctx;
    fprintf(stderr, "authgate-demo: %s: %s\n", what, ag_strerror(e));
}

/* Revocations reach /api/me at once here and, through a shared store's
 * revocation log, on every other instance within a poll interval. */
static ag_err make_revocations(demo_sessions *s, const demo_sessions_config *cfg)
{
    ag_revset_config rc;
    memset(&rc, 0, sizeof(rc));
    rc.size = sizeof rc;
    rc.entry_ttl = cfg->access_ttl + cfg->leeway;
    rc.max_staleness = cfg->revocation_staleness;
    return ag_revset_new(&rc, &s->revoked);
}

static ag_err make_tokens(demo_sessions *s, const demo_sessions_config *cfg,
                          ag_keyring *access_ring, ag_keyring *refresh_ring)
{
    ag_issuer_config ic;
    ag_verifier_config vc;
    ag_err e;

    /* Refresh tokens are addressed to the refresh endpoint, not to the
     * API: a different aud as well as a different key and typ (V-12). */
    snprintf(s->refresh_audience, sizeof(s->refresh_audience), "%s/auth/refresh", cfg->issuer);

    /* Each issuer signs with the newest key of its ring (rotation). */
    memset(&ic, 0, sizeof(ic));
    ic.size = sizeof ic;
    ic.keys = access_ring;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = cfg->issuer;
    ic.audience = cfg->audience;
    ic.ttl = cfg->access_ttl;
    e = ag_issuer_new(&ic, &s->access_issuer);
    if (e == AG_OK) {
        ic.keys = refresh_ring;
        ic.kind = AG_TOKEN_REFRESH;
        ic.audience = s->refresh_audience;
        ic.ttl = cfg->refresh_ttl;
        e = ag_issuer_new(&ic, &s->refresh_issuer);
    }
    /* Each verifier knows only its own keys: a refresh token cannot verify
     * as an access token even before typ is looked at (I-01). */
    if (e == AG_OK) {
        memset(&vc, 0, sizeof(vc));
        vc.size = sizeof vc;
        vc.keys = access_ring;
        vc.kind = AG_TOKEN_ACCESS;
        vc.issuer = cfg->issuer;
        vc.audience = cfg->audience;
        vc.leeway = cfg->leeway;
        vc.max_lifetime = cfg->access_ttl; /* V-15: no longer-lived token passes */
        vc.cache_entries = cfg->verify_cache;
        vc.revocations = s->revoked;
        e = ag_verifier_new(&vc, &s->access_verifier);
        vc.cache_entries = 0;
        vc.revocations = NULL;
    }
    if (e == AG_OK) {
        vc.keys = refresh_ring;
        vc.kind = AG_TOKEN_REFRESH;
        vc.audience = s->refresh_audience;
        vc.max_lifetime = cfg->refresh_ttl;
        e = ag_verifier_new(&vc, &s->refresh_verifier);
    }
    /* Only the access keys are published: resource servers verify access
     * tokens; refresh tokens are this server's own business. */
    if (e == AG_OK)
        e = ag_keyring_to_jwks(access_ring, &s->jwks);
    return e;
}

bool demo_sessions_new(const demo_sessions_config *cfg, demo_sessions **out)
{
    demo_sessions *s = calloc(1, sizeof(*s));
    ag_session_config sc;
    ag_keyring *access_ring = NULL, *refresh_ring = NULL;
    ag_err e = s ? make_revocations(s, cfg) : AG_ERR_NOMEM;
    if (e == AG_OK) {
        s->key_dir = cfg->key_dir;
        s->alg = cfg->alg;
        s->keep_access = cfg->access_ttl + cfg->leeway;
        s->keep_refresh = cfg->refresh_ttl + cfg->leeway;
        pthread_mutex_init(&s->jwks_mu, NULL);
        e = demo_keys_rings(cfg->key_dir, cfg->alg, (int64_t)time(NULL), s->keep_access,
                            s->keep_refresh, &access_ring, &refresh_ring)
                ? make_tokens(s, cfg, access_ring, refresh_ring)
                : AG_ERR_KEY_FORMAT;
        ag_keyring_free(access_ring); /* the issuers and verifiers hold what they need */
        ag_keyring_free(refresh_ring);
    }

    if (e == AG_OK) {
        memset(&sc, 0, sizeof(sc));
        sc.size = sizeof sc;
        sc.access_issuer = s->access_issuer;
        sc.refresh_issuer = s->refresh_issuer;
        sc.refresh_verifier = s->refresh_verifier;
        sc.store = cfg->store;
        sc.refresh_ttl = cfg->refresh_ttl;
        sc.family_lifetime =
            cfg->refresh_ttl > DEMO_FAMILY_LIFETIME ? cfg->refresh_ttl : DEMO_FAMILY_LIFETIME;
        sc.reuse_interval = cfg->reuse_interval;
        sc.reuse_max_replays = cfg->max_replays;
        sc.replay_needs_key = true; /* only a keyed retry is not reuse */
        sc.max_sessions = cfg->max_sessions;
        sc.on_reuse = log_reuse;
        sc.on_evict = log_evict;
        sc.revocations = s->revoked;
        sc.on_error = log_error;
        /* The successor secret is derived from the server secret, so the
         * CSRF binding and the successor jtis never share a key. */
        uint8_t succ[32];
        unsigned int n = 0;
        static const char label[] = "authgate-demo successor jti v1";
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
            !EVP_DigestUpdate(md, label, sizeof label) ||
            !EVP_DigestUpdate(md, cfg->secret, DEMO_SECRET_LEN) ||
            !EVP_DigestFinal_ex(md, succ, &n))
            e = AG_ERR_CRYPTO;
        EVP_MD_CTX_free(md);
        sc.secret = succ;
        sc.secret_len = sizeof succ;
        if (e == AG_OK)
            e = ag_session_new(&sc, &s->session);
        OPENSSL_cleanse(succ, sizeof succ);
    }
    if (e == AG_OK && ag_store_has_log(cfg->store)) {
        ag_revsync_config fc;
        memset(&fc, 0, sizeof(fc));
        fc.size = sizeof fc;
        fc.store = cfg->store;
        fc.revocations = s->revoked;
        fc.interval_ms = 200;
        fc.log_retention = cfg->access_ttl + cfg->leeway;
        fc.on_error = log_error;
        e = ag_revsync_start(&fc, &s->follower);
    }
    if (e != AG_OK) {
        fprintf(stderr, "authgate-demo: cannot set up tokens and sessions: %s\n", ag_strerror(e));
        demo_sessions_free(s);
        return false;
    }
    *out = s;
    return true;
}

void demo_sessions_free(demo_sessions *s)
{
    if (s == NULL)
        return;
    ag_revsync_stop(s->follower); /* first: it writes into the set */
    ag_session_free(s->session);  /* before what it references */
    ag_issuer_free(s->access_issuer);
    ag_issuer_free(s->refresh_issuer);
    ag_verifier_free(s->access_verifier);
    ag_verifier_free(s->refresh_verifier);
    ag_revset_free(s->revoked); /* after the verifier that reads it */
    ag_free(s->jwks);
    pthread_mutex_destroy(&s->jwks_mu);
    free(s);
}

bool demo_sessions_reload(demo_sessions *s, int64_t now)
{
    ag_keyring *access_ring = NULL, *refresh_ring = NULL;
    char *jwks = NULL;
    ag_err e = AG_ERR_KEY_FORMAT;
    if (demo_keys_rings(s->key_dir, s->alg, now, s->keep_access, s->keep_refresh, &access_ring,
                        &refresh_ring)) {
        /* verifiers first: a token from the new key must verify as soon as
         * the issuer hands one out */
        e = ag_verifier_set_keys(s->access_verifier, access_ring);
        if (e == AG_OK)
            e = ag_verifier_set_keys(s->refresh_verifier, refresh_ring);
        if (e == AG_OK)
            e = ag_issuer_set_keys(s->access_issuer, access_ring);
        if (e == AG_OK)
            e = ag_issuer_set_keys(s->refresh_issuer, refresh_ring);
        if (e == AG_OK)
            e = ag_keyring_to_jwks(access_ring, &jwks);
    }
    if (e == AG_OK) {
        pthread_mutex_lock(&s->jwks_mu);
        char *old = s->jwks;
        s->jwks = jwks;
        pthread_mutex_unlock(&s->jwks_mu);
        ag_free(old);
        char kid[AG_KID_MAX_LEN + 1] = "";
        if (ag_issuer_kid(s->access_issuer, kid, sizeof(kid)) == AG_OK)
            printf("keys reloaded: %zu access and %zu refresh keys; access tokens signed by %s\n",
                   ag_keyring_count(access_ring), ag_keyring_count(refresh_ring), kid);
        fflush(stdout);
    } else {
        fprintf(stderr, "authgate-demo: key reload failed (%s); keeping the current keys\n",
                ag_strerror(e));
    }
    ag_keyring_free(access_ring);
    ag_keyring_free(refresh_ring);
    return e == AG_OK;
}

const ag_session *demo_sessions_session(const demo_sessions *s)
{
    return s->session;
}

const ag_verifier *demo_sessions_access_verifier(const demo_sessions *s)
{
    return s->access_verifier;
}

const ag_verifier *demo_sessions_refresh_verifier(const demo_sessions *s)
{
    return s->refresh_verifier;
}

char *demo_sessions_jwks(demo_sessions *s)
{
    pthread_mutex_lock(&s->jwks_mu);
    char *copy = strdup(s->jwks);
    pthread_mutex_unlock(&s->jwks_mu);
    return copy;
}

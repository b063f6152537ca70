/* SPDX-License-Identifier: MIT */
/*
 * authgate — sessions: issue pairs, rotate refresh tokens, detect reuse,
 * revoke. The order inside ag_session_refresh is the security argument:
 *
 *   verify (signature first, then typ/iss/aud/exp, sid)   R-04, V-11
 *   → SHA-256(jti)                                          R-03
 *   → ONE ag_store_rotate (read-decide-write of the family)
 *   → issue the pair                                        R-07
 *
 * and every store answer other than AG_OK is returned as an error.
 *
 * @test tests/session/test_session.c
 */
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../common/crypto_int.h"
#include "../common/observe_int.h"
#include "session_int.h"

struct ag_session {
    const ag_allocator *alloc;
    const ag_issuer *access_issuer;
    const ag_issuer *refresh_issuer;
    const ag_verifier *refresh_verifier;
    ag_store *store;
    int64_t refresh_ttl;
    int64_t family_lifetime;
    int64_t reuse_interval;
    uint32_t max_replays;
    bool replay_needs_key;
    int64_t purge_margin;
    size_t max_sessions;
    ag_reuse_fn on_reuse;
    void *on_reuse_ctx;
    ag_evict_fn on_evict;
    void *on_evict_ctx;
    ag_revset *revocations;
    ag_session_error_fn on_error;
    void *on_error_ctx;
    ag_clock_fn clock;
    void *clock_ctx;
    size_t secret_len;
    uint8_t *secret; /* cleansed on free */
};

/* ---- helpers ---------------------------------------------------------- */

ag_err ag__session_hash(const ag_session *s, const uint8_t *p, size_t n,
                        uint8_t out[AG_STORE_HASH_LEN])
{
    (void)s;
    ag_span part = {p, n};
    return ag__sha2(256, &part, 1, out); /* per-thread context: no allocation */
}

ag_err ag__session_derive_jti(const ag_session *s, const uint8_t *parent, size_t n,
                              char out[AG_JTI_LEN + 1])
{
    uint8_t mac[32];
    size_t w = 0;
    if (s->secret == NULL || ag__hmac_sha256(s->secret, s->secret_len, parent, n, mac) != AG_OK)
        return AG_ERR_CRYPTO;
    ag_err e = ag_base64url_encode(mac, 32, out, AG_JTI_LEN + 1, &w);
    ag_cleanse(mac, sizeof mac);
    return e;
}

/* 32 CSPRNG bytes as 43 base64url characters. */
static ag_err random_id(char out[AG_JTI_LEN + 1])
{
    uint8_t r[32];
    size_t w = 0;
    ag_err e = ag__random_id(r, sizeof r); /* per-thread CSPRNG pool */
    if (e == AG_OK)
        e = ag_base64url_encode(r, sizeof r, out, AG_JTI_LEN + 1, &w);
    ag_cleanse(r, sizeof r);
    return e;
}

static int64_t now_of(const ag_session *s)
{
    return s->clock(s->clock_ctx);
}

static void report_error(const ag_session *s, const char *what, ag_err e)
{
    if (s->on_error != NULL)
        s->on_error(s->on_error_ctx, what, e);
}

/* The family's access tokens stop verifying at once: here (the set of this
 * process, revocation.h) and on every instance following the store's
 * revocation log. Either failing leaves them bounded by their exp:
 * reported, not a failure of the call, whose revocation in the store
 * stands. */
static void publish(const ag_session *s, ag_store_rev_kind kind, const char *key, size_t len,
                    int64_t now)
{
    ag_err e;
    if (s->revocations != NULL) {
        e = kind == AG_STORE_REV_SID ? ag_revset_add_sid(s->revocations, key, len, now)
                                     : ag_revset_add_subject(s->revocations, key, len, now);
        if (e != AG_OK)
            report_error(s, "revocation set", e);
    }
    if (ag_store_has_log(s->store) &&
        (e = ag_store_log_append(s->store, kind, key, len, now)) != AG_OK)
        report_error(s, "revocation log", e);
}

static void revoke_access_sid(const ag_session *s, const char *sid, size_t len, int64_t now)
{
    publish(s, AG_STORE_REV_SID, sid, len, now);
}

static void revoke_access_subject(const ag_session *s, const char *sub, size_t len, int64_t now)
{
    publish(s, AG_STORE_REV_SUBJECT, sub, len, now);
}

/* Each family a subject-wide revoke ended, by sid: the subject entry
 * alone misses tokens issued in the revocation's own second. */
typedef struct revoked_ctx {
    const ag_session *s;
    int64_t now;
    ag_revoke_reason why;
    const char *subject;
    size_t subject_len;
} revoked_ctx;

static void on_revoked(void *ctx, const char *sid, size_t len)
{
    const revoked_ctx *x = ctx;
    revoke_access_sid(x->s, sid, len, x->now);
    ag__obs_revoked((int)x->why, sid, len, x->subject, x->subject_len);
}

/* Issues the pair into out. sub/sid are NUL-terminated. */
static ag_err issue_pair(const ag_session *s, const char *sub, const char *sid, const char *jti,
                         int64_t now, int64_t refresh_issued, int64_t refresh_exp,
                         ag_session_tokens *out)
{
    ag_issue_params rp = AG_INIT(ag_issue_params), ap = AG_INIT(ag_issue_params);
    ag_issued ri = AG_INIT(ag_issued), ai = AG_INIT(ag_issued);
    rp.sub = sub;
    rp.sid = sid;
    rp.jti = jti;
    rp.now = refresh_issued;
    rp.ttl = refresh_exp - refresh_issued;
    ag_err e = ag_issue(s->refresh_issuer, &rp, out->refresh, out->cap_, &ri);
    if (e != AG_OK)
        goto out;
    out->refresh_len = ri.len; /* recorded at once, so a failure below wipes it */
    ap.sub = sub;
    ap.sid = sid;
    ap.now = now;
    e = ag_issue(s->access_issuer, &ap, out->access, out->cap_, &ai);
    if (e != AG_OK)
        goto out;
    out->refresh_exp = ri.exp;
    out->access_len = ai.len;
    out->access_exp = ai.exp;
out:
    /* the jtis: on every exit, a failure's too */
    OPENSSL_cleanse(&ri, sizeof ri);
    OPENSSL_cleanse(&ai, sizeof ai);
    return e;
}

/* ---- construction ------------------------------------------------------ */

ag_err ag_session_new(const ag_session_config *cfg, ag_session **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ag_session_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    if (cfg == NULL || cfg->access_issuer == NULL || cfg->refresh_issuer == NULL ||
        cfg->refresh_verifier == NULL || cfg->store == NULL ||
        cfg->store->version != AG_STORE_INTERFACE_VERSION || cfg->refresh_ttl < 0 ||
        cfg->family_lifetime < 0 || cfg->reuse_interval < 0 ||
        cfg->reuse_interval > AG_SESSION_REUSE_INTERVAL_MAX ||
        cfg->reuse_max_replays > AG_SESSION_MAX_REPLAYS_MAX)
        return AG_ERR_INVALID_ARGUMENT;
    if (cfg->reuse_interval > 0 &&
        (cfg->secret == NULL || cfg->secret_len < AG_SESSION_SECRET_MIN ||
         cfg->secret_len > INT32_MAX))
        return AG_ERR_INVALID_ARGUMENT;
    int64_t ttl = cfg->refresh_ttl != 0 ? cfg->refresh_ttl : AG_SESSION_REFRESH_TTL_DEFAULT;
    int64_t life =
        cfg->family_lifetime != 0 ? cfg->family_lifetime : AG_SESSION_FAMILY_LIFETIME_DEFAULT;
    if (ttl > AG_NUMERICDATE_MAX / 2 || life > AG_NUMERICDATE_MAX / 2)
        return AG_ERR_INVALID_ARGUMENT;
    ag_session *s = ag__calloc(cfg->alloc, sizeof *s);
    if (s == NULL)
        return AG_ERR_NOMEM;
    s->alloc = cfg->alloc;
    s->access_issuer = cfg->access_issuer;
    s->refresh_issuer = cfg->refresh_issuer;
    s->refresh_verifier = cfg->refresh_verifier;
    s->store = cfg->store;
    s->refresh_ttl = ttl;
    s->family_lifetime = life;
    s->reuse_interval = cfg->reuse_interval;
    s->max_replays =
        cfg->reuse_max_replays != 0 ? cfg->reuse_max_replays : AG_SESSION_MAX_REPLAYS_DEFAULT;
    s->replay_needs_key = cfg->replay_needs_key;
    /* Never below the verifier's leeway: a token it still accepts must
     * find its family (a purged one would answer "unknown", not "reuse"). */
    int64_t leeway = ag_verifier_leeway(cfg->refresh_verifier);
    s->purge_margin = cfg->purge_margin == 0 ? AG_LEEWAY_MAX : cfg->purge_margin;
    if (s->purge_margin < leeway)
        s->purge_margin = leeway;
    s->max_sessions = cfg->max_sessions != 0 ? cfg->max_sessions : AG_SESSION_MAX_SESSIONS_DEFAULT;
    s->on_reuse = cfg->on_reuse;
    s->on_reuse_ctx = cfg->on_reuse_ctx;
    s->on_evict = cfg->on_evict;
    s->on_evict_ctx = cfg->on_evict_ctx;
    s->revocations = cfg->revocations;
    s->on_error = cfg->on_error;
    s->on_error_ctx = cfg->on_error_ctx;
    s->clock = cfg->clock != NULL ? cfg->clock : ag_clock_system;
    s->clock_ctx = cfg->clock_ctx;
    if (cfg->reuse_interval > 0) {
        s->secret = ag__malloc(cfg->alloc, cfg->secret_len);
        if (s->secret == NULL) {
            ag_session_free(s);
            return AG_ERR_NOMEM;
        }
        memcpy(s->secret, cfg->secret, cfg->secret_len);
        s->secret_len = cfg->secret_len;
    }
    *out = s;
    return AG_OK;
}

void ag_session_free(ag_session *s)
{
    if (s == NULL)
        return;
    ag__free_secret(s->alloc, s->secret, s->secret_len);
    ag__free_secret(s->alloc, s, sizeof *s);
}

/* ---- issue -------------------------------------------------------------- */

typedef struct evict_ctx {
    const ag_session *s;
    const char *subject;
    size_t subject_len;
    int64_t now;
} evict_ctx;

static void on_evicted(void *ctx, const char *sid, size_t sid_len)
{
    const evict_ctx *x = ctx;
    revoke_access_sid(x->s, sid, sid_len, x->now);
    ag__event_session(AG_EVENT_SESSION_EVICTED, AG_OK, sid, sid_len, x->subject, x->subject_len,
                      "session cap");
    ag__obs_revoked(AG_REVOKE_EVICTED, sid, sid_len, x->subject, x->subject_len);
    if (x->s->on_evict == NULL)
        return;
    ag_evict_event ev;
    ev.sid = (ag_span){(const uint8_t *)sid, sid_len};
    ev.subject = (ag_span){(const uint8_t *)x->subject, x->subject_len};
    ev.now = x->now;
    x->s->on_evict(x->s->on_evict_ctx, &ev);
}

/* The per-subject cap: one client cannot fill a store for everyone else
 * by logging in again and again. The new login is kept; the oldest go. */
static ag_err enforce_cap(const ag_session *s, const char *subject, size_t len, const char *sid,
                          int64_t now)
{
    evict_ctx x = {s, subject, len, now};
    return ag_store_evict(s->store, subject, len, s->max_sessions, sid, strlen(sid), now,
                          on_evicted, &x, NULL);
}

ag_err ag_session_issue(const ag_session *s, const char *subject, ag_session_tokens *out)
{
    if (out != NULL)
        ag__tokens_reset(out);
    if (s == NULL || subject == NULL || out == NULL || !ag__tokens_attached(out))
        return AG_ERR_INVALID_ARGUMENT;
    size_t sub_len = strnlen(subject, AG_SUBJECT_MAX_LEN + 1);
    if (sub_len == 0 || sub_len > AG_SUBJECT_MAX_LEN)
        return AG_ERR_INVALID_ARGUMENT;
    int64_t now = now_of(s);
    if (now <= 0 || now > AG_NUMERICDATE_MAX - s->family_lifetime)
        return AG_ERR_INVALID_ARGUMENT;

    ag_store_family fam;
    char jti[AG_JTI_LEN + 1];
    memset(&fam, 0, sizeof fam);
    ag_err e = random_id(out->sid);
    if (e == AG_OK)
        e = random_id(jti);
    if (e == AG_OK)
        e = ag__session_hash(s, (const uint8_t *)jti, AG_JTI_LEN, fam.current);
    if (e != AG_OK)
        goto done;
    ag__str_set(fam.sid, &fam.sid_len, out->sid, AG_JTI_LEN);
    ag__str_set(fam.subject, &fam.subject_len, subject, sub_len);
    fam.created = now;
    fam.expires = now + s->family_lifetime;
    fam.current_issued = now;
    fam.current_expires = now + s->refresh_ttl < fam.expires ? now + s->refresh_ttl : fam.expires;
    /* Issue first: if the store refuses, the tokens are simply dropped. */
    e = issue_pair(s, subject, out->sid, jti, now, now, fam.current_expires, out);
    /* A full bounded store may reclaim rows dead before the purge margin. */
    if (e == AG_OK)
        e = ag_store_create(s->store, &fam, now - s->purge_margin > 0 ? now - s->purge_margin : 1);
    if (e == AG_ERR_EXISTS) /* a 2^-256 collision, or a broken RNG: fail closed */
        e = AG_ERR_STORE;
    if (e == AG_OK && (e = enforce_cap(s, subject, sub_len, out->sid, now)) != AG_OK) {
        /* the login fails: leave no live row the client holds no token for
         * (if this fails too, the row is unreachable and expires) */
        ag_err r = ag_store_revoke_family(s->store, out->sid, AG_JTI_LEN, now, AG_REVOKE_ADMIN);
        (void)r;
    }
    out->family_exp = fam.expires;
    out->generation = 0;
done:
    ag_cleanse(jti, sizeof jti);
    ag_cleanse(&fam, sizeof fam);
    if (e != AG_OK)
        ag__tokens_wipe(out);
    ag__obs_login(e);
    return e;
}

/* ---- verify once, for refresh / logout ---------------------------------- */

/* The verify scratch of one call: on the stack for tokens of the usual few
 * hundred bytes, else from the session's allocator. */
typedef struct vscratch {
    uint8_t small[2048];
    uint8_t *p;
    size_t cap;
} vscratch;

static ag_err scratch_begin(const ag_session *s, vscratch *vs, size_t len)
{
    /* a longer token fails the size cap before the scratch is looked at */
    size_t need = AG_VERIFY_SCRATCH_LEN(len < AG_TOKEN_MAX_LEN ? len : AG_TOKEN_MAX_LEN);
    vs->p = vs->small;
    vs->cap = sizeof vs->small;
    if (need > vs->cap) {
        if ((vs->p = ag__malloc(s->alloc, need)) == NULL)
            return AG_ERR_NOMEM;
        vs->cap = need;
    }
    return AG_OK;
}

/* Cleanses what verifying a token of len bytes can have written — every
 * decoded byte comes from the token — and frees a heap scratch. */
static void scratch_end(const ag_session *s, vscratch *vs, size_t len)
{
    size_t used = AG_VERIFY_SCRATCH_LEN(len < AG_TOKEN_MAX_LEN ? len : AG_TOKEN_MAX_LEN);
    OPENSSL_cleanse(vs->p, used < vs->cap ? used : vs->cap);
    if (vs->p != vs->small)
        ag__free(s->alloc, vs->p);
    vs->p = NULL;
}

/* Claims the session may act on: accepted by its own refresh verifier
 * (ag_verify records which verifier passed them and clears that on
 * failure, and ag_http_refresh_verify clears it when the CSRF binding
 * fails), of a refresh token, with what the store layer needs. */
static ag_err claims_usable(const ag_session *s, const ag_claims *c)
{
    if (c->verifier_ != (const void *)s->refresh_verifier)
        return AG_ERR_INVALID_ARGUMENT;
    if (c->kind != AG_TOKEN_REFRESH) /* a verifier configured with AG_TOKEN_ANY */
        return AG_ERR_WRONG_TYPE;
    if (!ag__str_ok((const char *)c->sid.ptr, c->sid.len, AG_SID_MAX_LEN) ||
        !ag__str_ok((const char *)c->sub.ptr, c->sub.len, AG_SUBJECT_MAX_LEN) || c->jti.len == 0 ||
        c->jti.len > 64)
        return AG_ERR_CLAIM;
    return AG_OK;
}

/* Verifies a refresh token into *c (views into vs) and checks what the
 * store layer needs. */
static ag_err verify_refresh(const ag_session *s, const uint8_t *token, size_t len, vscratch *vs,
                             ag_claims *c)
{
    if (token == NULL || len == 0)
        return AG_ERR_MALFORMED;
    ag_err e = ag_verify(s->refresh_verifier, token, len, vs->p, vs->cap, c);
    return e != AG_OK ? e : claims_usable(s, c);
}

/* Claims handed in by the caller (the *_verified calls): the verify may
 * have been a while ago, so exp is checked again against the session's
 * clock, with the verifier's leeway. */
static ag_err claims_handed_in(const ag_session *s, const ag_claims *c)
{
    if (ag__sized_out(c, sizeof *c) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    ag_err e = claims_usable(s, c);
    if (e == AG_OK && now_of(s) >= c->exp + ag_verifier_leeway(s->refresh_verifier))
        e = AG_ERR_EXPIRED;
    return e;
}

static void report_reuse(const ag_session *s, const ag_claims *c, const uint8_t *hash, int64_t now)
{
    ag__event_session(AG_EVENT_REUSE_DETECTED, AG_ERR_REUSED, (const char *)c->sid.ptr, c->sid.len,
                      (const char *)c->sub.ptr, c->sub.len, "family revoked");
    ag__obs_revoked(AG_REVOKE_REUSE, (const char *)c->sid.ptr, c->sid.len, (const char *)c->sub.ptr,
                    c->sub.len);
    if (s->on_reuse == NULL)
        return;
    static const char hex[] = "0123456789abcdef";
    ag_reuse_event ev;
    memset(&ev, 0, sizeof ev);
    ev.sid = c->sid;
    ev.subject = c->sub;
    for (size_t i = 0; i < AG_SESSION_HASH_PREFIX_LEN / 2; i++) {
        ev.hash_prefix[2 * i] = hex[hash[i] >> 4];
        ev.hash_prefix[2 * i + 1] = hex[hash[i] & 15];
    }
    ev.now = now;
    s->on_reuse(s->on_reuse_ctx, &ev);
}

/* ---- refresh ------------------------------------------------------------- */

/* The successor's jti. Derived (so a replay can get the same one) from
 * the parent jti and, when the client sent one, its retry key, after a
 * NUL that neither holds: a retry with another key, or none, derives
 * another successor, which the store refuses as reuse. Random when
 * replays are off, or need a key and none came: then no replay matches. */
static ag_err successor_jti(const ag_session *s, const ag_claims *c, const uint8_t *key,
                            size_t key_len, char jti[AG_JTI_LEN + 1])
{
    uint8_t in[64 + 1 + AG_SESSION_RETRY_KEY_MAX_LEN]; /* jti ≤ 64: claims_usable */
    size_t n = c->jti.len;
    if (s->reuse_interval == 0 || (key_len == 0 && s->replay_needs_key))
        return random_id(jti);
    memcpy(in, c->jti.ptr, n);
    if (key_len > 0) {
        in[n++] = 0;
        memcpy(in + n, key, key_len);
        n += key_len;
    }
    ag_err e = ag__session_derive_jti(s, in, n, jti);
    ag_cleanse(in, n);
    return e;
}

/* Steps 2-4 of a refresh, for claims that passed claims_usable. */
static ag_err rotate_and_issue(const ag_session *s, const ag_claims *c, const uint8_t *key,
                               size_t key_len, ag_session_tokens *out)
{
    ag_store_rotation rot;
    ag_store_rotated res;
    char jti[AG_JTI_LEN + 1];
    char sub[AG_SUBJECT_MAX_LEN + 1];
    memset(&rot, 0, sizeof rot);
    memset(&res, 0, sizeof res);
    memset(jti, 0, sizeof jti);
    int64_t now = now_of(s);
    /* 2. Hash the verified jti; choose the successor's jti. */
    ag_err e = ag__session_hash(s, c->jti.ptr, c->jti.len, rot.old_hash);
    if (e == AG_OK)
        e = successor_jti(s, c, key, key_len, jti);
    if (e == AG_OK)
        e = ag__session_hash(s, (const uint8_t *)jti, AG_JTI_LEN, rot.new_hash);
    if (e != AG_OK)
        goto done;
    /* 3. One atomic store step. */
    rot.sid = (const char *)c->sid.ptr;
    rot.sid_len = c->sid.len;
    rot.subject = (const char *)c->sub.ptr;
    rot.subject_len = c->sub.len;
    rot.now = now;
    rot.action = AG_STORE_REFRESH;
    rot.new_expires = now + s->refresh_ttl;
    rot.reuse_interval = s->reuse_interval;
    rot.max_replays = s->max_replays;
    e = ag_store_rotate(s->store, &rot, &res);
    if (e == AG_ERR_REUSED) {
        revoke_access_sid(s, rot.sid, rot.sid_len, now);
        report_reuse(s, c, rot.old_hash, now);
    }
    if (e != AG_OK)
        goto done;
    if (res.expires <= now) { /* a replayed successor that has run out meanwhile */
        e = AG_ERR_EXPIRED;
        goto done;
    }
    /* 4. Issue. The replayed successor keeps its original iat/exp. */
    memcpy(sub, c->sub.ptr, c->sub.len);
    sub[c->sub.len] = '\0';
    memcpy(out->sid, c->sid.ptr, c->sid.len);
    out->sid[c->sid.len] = '\0';
    e = issue_pair(s, sub, out->sid, jti, now, res.issued, res.expires, out);
    out->family_exp = res.family_expires;
    out->generation = res.generation;
    out->replayed = res.outcome == AG_STORE_REPLAYED;
    if (e == AG_OK)
        ag__event_session(out->replayed ? AG_EVENT_REFRESH_REPLAYED : AG_EVENT_REFRESH_ROTATED,
                          AG_OK, out->sid, c->sid.len, sub, c->sub.len, "");
done:
    ag_cleanse(jti, sizeof jti);
    ag_cleanse(&rot, sizeof rot);
    return e;
}

ag_err ag_session_refresh(const ag_session *s, const uint8_t *token, size_t len,
                          ag_session_tokens *out)
{
    if (s == NULL || out == NULL || !ag__tokens_attached(out))
        return AG_ERR_INVALID_ARGUMENT;
    /* out is wiped first, so it must not hold the token being consumed */
    if (ag__tokens_overlaps(out, token, len))
        return AG_ERR_INVALID_ARGUMENT;
    ag__tokens_reset(out);
    uint64_t t0 = ag__obs_begin();
    vscratch vs;
    ag_claims c = AG_INIT(ag_claims);
    if (scratch_begin(s, &vs, len) != AG_OK)
        return AG_ERR_NOMEM;
    /* 1. Verify completely. Nothing below runs for a token that fails. */
    ag_err e = verify_refresh(s, token, len, &vs, &c);
    if (e == AG_OK)
        e = rotate_and_issue(s, &c, NULL, 0, out);
    ag_cleanse(&c, sizeof c);
    scratch_end(s, &vs, len);
    if (e != AG_OK)
        ag__tokens_wipe(out);
    ag__obs_refresh(e, e == AG_OK && out->replayed, t0);
    return e;
}

/* A retry key: printable ASCII (so never the NUL successor_jti puts
 * before it), at most AG_SESSION_RETRY_KEY_MAX_LEN bytes; none is NULL, 0. */
static bool retry_key_ok(const uint8_t *key, size_t len)
{
    if (len == 0)
        return true;
    if (key == NULL || len > AG_SESSION_RETRY_KEY_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (key[i] < 0x20 || key[i] > 0x7e)
            return false;
    return true;
}

ag_err ag_session_refresh_verified(const ag_session *s, const ag_claims *claims,
                                   ag_session_tokens *out)
{
    return ag_session_refresh_retryable(s, claims, NULL, 0, out);
}

ag_err ag_session_refresh_retryable(const ag_session *s, const ag_claims *claims,
                                    const uint8_t *key, size_t key_len, ag_session_tokens *out)
{
    if (s == NULL || out == NULL || claims == NULL || !ag__tokens_attached(out) ||
        ag__sized_out(claims, sizeof *claims) != AG_OK || !retry_key_ok(key, key_len))
        return AG_ERR_INVALID_ARGUMENT;
    /* out is wiped first, so the claims must not point into it */
    if (ag__tokens_overlaps(out, claims->sid.ptr, claims->sid.len) ||
        ag__tokens_overlaps(out, claims->sub.ptr, claims->sub.len) ||
        ag__tokens_overlaps(out, claims->jti.ptr, claims->jti.len) ||
        ag__tokens_overlaps(out, key, key_len))
        return AG_ERR_INVALID_ARGUMENT;
    ag__tokens_reset(out);
    uint64_t t0 = ag__obs_begin();
    ag_err e = claims_handed_in(s, claims);
    if (e == AG_OK)
        e = rotate_and_issue(s, claims, key, key_len, out);
    if (e != AG_OK)
        ag__tokens_wipe(out);
    ag__obs_refresh(e, e == AG_OK && out->replayed, t0);
    return e;
}

/* ---- logout -------------------------------------------------------------- */

/* Verifies, then presents the token to the store for `action` in one
 * atomic step: only the family's current token (or, for a single logout,
 * a replay refresh would allow) ends it; anything older is reuse. */
static ag_err end_family(const ag_session *s, ag_store_action action, const ag_claims *c)
{
    ag_err e;
    ag_store_rotation rot;
    ag_store_rotated res;
    memset(&rot, 0, sizeof rot);
    rot.action = action;
    rot.sid = (const char *)c->sid.ptr;
    rot.sid_len = c->sid.len;
    rot.subject = (const char *)c->sub.ptr;
    rot.subject_len = c->sub.len;
    rot.now = now_of(s);
    /* With replay_needs_key only a keyed refresh is a retry: a logout with
     * the previous token is reuse like any other use of it. */
    rot.reuse_interval = s->replay_needs_key ? 0 : s->reuse_interval;
    rot.max_replays = s->max_replays;
    e = ag__session_hash(s, c->jti.ptr, c->jti.len, rot.old_hash);
    if (e == AG_OK)
        e = ag_store_rotate(s->store, &rot, &res);
    if (e == AG_OK || e == AG_ERR_REUSED)
        revoke_access_sid(s, rot.sid, rot.sid_len, rot.now);
    if (e == AG_OK)
        ag__obs_revoked(action == AG_STORE_LOGOUT ? AG_REVOKE_LOGOUT : AG_REVOKE_LOGOUT_ALL,
                        rot.sid, rot.sid_len, rot.subject, rot.subject_len);
    if (e == AG_ERR_REUSED)
        report_reuse(s, c, rot.old_hash, rot.now);
    ag_cleanse(&rot, sizeof rot);
    return e;
}

/* Ends the family of c and then every other family of its subject. */
static ag_err end_subject(const ag_session *s, const ag_claims *c, size_t *count)
{
    size_t others = 0;
    ag_err e = end_family(s, AG_STORE_LOGOUT_ALL, c);
    if (e != AG_OK)
        return e;
    int64_t now = now_of(s);
    e = ag_store_revoke_subject(
        s->store, (const char *)c->sub.ptr, c->sub.len, now, AG_REVOKE_LOGOUT_ALL, on_revoked,
        (void *)&(revoked_ctx){s, now, AG_REVOKE_LOGOUT_ALL, (const char *)c->sub.ptr, c->sub.len},
        &others);
    if (e == AG_OK) {
        revoke_access_subject(s, (const char *)c->sub.ptr, c->sub.len, now);
        if (count != NULL)
            *count = others + 1;
    }
    return e;
}

ag_err ag_session_logout(const ag_session *s, const uint8_t *token, size_t len)
{
    if (s == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    vscratch vs;
    ag_claims c = AG_INIT(ag_claims);
    if (scratch_begin(s, &vs, len) != AG_OK)
        return AG_ERR_NOMEM;
    ag_err e = verify_refresh(s, token, len, &vs, &c);
    if (e == AG_OK)
        e = end_family(s, AG_STORE_LOGOUT, &c);
    ag_cleanse(&c, sizeof c);
    scratch_end(s, &vs, len);
    ag__obs_logout(e);
    return e;
}

ag_err ag_session_logout_verified(const ag_session *s, const ag_claims *claims)
{
    if (s == NULL || claims == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    ag_err e = claims_handed_in(s, claims);
    if (e == AG_OK)
        e = end_family(s, AG_STORE_LOGOUT, claims);
    ag__obs_logout(e);
    return e;
}

ag_err ag_session_logout_all(const ag_session *s, const uint8_t *token, size_t len, size_t *count)
{
    if (count != NULL)
        *count = 0;
    if (s == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    vscratch vs;
    ag_claims c = AG_INIT(ag_claims);
    if (scratch_begin(s, &vs, len) != AG_OK)
        return AG_ERR_NOMEM;
    ag_err e = verify_refresh(s, token, len, &vs, &c);
    if (e == AG_OK)
        e = end_subject(s, &c, count);
    ag_cleanse(&c, sizeof c);
    scratch_end(s, &vs, len);
    ag__obs_logout(e);
    return e;
}

ag_err ag_session_logout_all_verified(const ag_session *s, const ag_claims *claims, size_t *count)
{
    if (count != NULL)
        *count = 0;
    if (s == NULL || claims == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    ag_err e = claims_handed_in(s, claims);
    if (e == AG_OK)
        e = end_subject(s, claims, count);
    ag__obs_logout(e);
    return e;
}

ag_err ag_session_revoke(const ag_session *s, const char *sid, size_t sid_len)
{
    if (s == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    int64_t now = now_of(s);
    ag_err e = ag_store_revoke_family(s->store, sid, sid_len, now, AG_REVOKE_ADMIN);
    if (e == AG_OK) {
        revoke_access_sid(s, sid, sid_len, now);
        ag__obs_revoked(AG_REVOKE_ADMIN, sid, sid_len, NULL, 0);
    }
    return e;
}

ag_err ag_session_revoke_subject(const ag_session *s, const char *subject, size_t subject_len,
                                 size_t *count)
{
    if (count != NULL)
        *count = 0;
    if (s == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    int64_t now = now_of(s);
    ag_err e = ag_store_revoke_subject(
        s->store, subject, subject_len, now, AG_REVOKE_ADMIN, on_revoked,
        (void *)&(revoked_ctx){s, now, AG_REVOKE_ADMIN, subject, subject_len}, count);
    if (e == AG_OK)
        revoke_access_subject(s, subject, subject_len, now);
    return e;
}

ag_err ag_session_check_sid(const ag_session *s, const char *sid, size_t sid_len)
{
    if (s == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    ag_store_family f;
    ag_err e = ag_store_lookup_family(s->store, sid, sid_len, &f);
    if (e == AG_ERR_NOT_FOUND)
        return AG_ERR_UNKNOWN;
    if (e != AG_OK)
        return e;
    if (f.revoked_at != 0)
        return AG_ERR_REVOKED;
    if (ag_store_family_dead(&f, now_of(s)))
        return AG_ERR_EXPIRED;
    return AG_OK;
}

ag_err ag_session_list(const ag_session *s, const char *subject, size_t subject_len,
                       ag_session_info *out, size_t cap, size_t *n, size_t *total)
{
    if (n != NULL)
        *n = 0;
    if (total != NULL)
        *total = 0;
    if (s == NULL || n == NULL || cap > AG_SESSION_LIST_MAX || (out == NULL && cap != 0))
        return AG_ERR_INVALID_ARGUMENT;
    ag_store_family *rows = NULL;
    if (cap > 0 && (rows = ag__malloc(NULL, cap * sizeof *rows)) == NULL)
        return AG_ERR_NOMEM;
    size_t got = 0;
    ag_err e =
        ag_store_list_subject(s->store, subject, subject_len, now_of(s), rows, cap, &got, total);
    for (size_t i = 0; e == AG_OK && i < got; i++) {
        const ag_store_family *f = &rows[i];
        ag_session_info *o = &out[i];
        memset(o, 0, sizeof *o);
        ag__str_set(o->sid, &o->sid_len, f->sid, f->sid_len);
        o->created = f->created;
        o->generation = f->generation;
        o->last_rotated = f->generation > 0 ? f->current_issued : 0;
        o->idle_expires = f->current_expires;
        o->expires = f->expires;
    }
    if (e == AG_OK)
        *n = got;
    ag__free(NULL, rows); /* the store layer already cleared the hashes */
    return e;
}

ag_err ag_session_purge(const ag_session *s, size_t *removed)
{
    if (removed != NULL)
        *removed = 0;
    if (s == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    return ag_store_purge_expired(s->store, now_of(s) - s->purge_margin, removed);
}

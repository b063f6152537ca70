/*
 * authgate-demo — login, refresh rotation and logout on top of a store.
 *
 * The model (DESIGN.md "Refresh rotation", SECURITY.md R-01…R-07):
 *  - a login starts a family (sid) and stores SHA-256(jti) of its first
 *    refresh token — never the token, never the jti;
 *  - a refresh is accepted only after the token is fully verified;
 *    then ONE atomic store step consumes the old row and inserts the
 *    successor; a token that was already used revokes its whole
 *    family, newest token included;
 *  - logout revokes the family; logout-all every family of the subject.
 *
 * Access tokens carry the sid as well; they stay valid until their short
 * exp (--access-ttl) after a logout, which is why that TTL is short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "demo.h"

struct demo_sessions {
    ag_store *store;
    ag_issuer *access_issuer;
    ag_issuer *refresh_issuer;
    ag_verifier *access_verifier;
    ag_verifier *refresh_verifier;
    char *jwks;
    int64_t refresh_ttl;
    char refresh_audience[512];
};

/* Random identifiers: 32 bytes from the CSPRNG in base64url (I-02). */
static ag_err random_id(char out[AG_JTI_LEN + 1])
{
    uint8_t raw[32];
    size_t n = 0;
    ag_err e = ag_random(raw, sizeof(raw));
    if (e == AG_OK)
        e = ag_base64url_encode(raw, sizeof(raw), out, AG_JTI_LEN + 1, &n);
    return e;
}

/* The store key: SHA-256 of the verified jti string. */
static ag_err jti_hash(const uint8_t *jti, size_t len, uint8_t out[AG_STORE_HASH_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(jti, len, out, &n, EVP_sha256(), NULL) != 1 || n != AG_STORE_HASH_LEN)
        return AG_ERR_CRYPTO;
    return AG_OK;
}

static ag_err keyring_of(ag_key *key, ag_keyring **out)
{
    ag_err e = ag_keyring_new(NULL, out);
    if (e == AG_OK)
        e = ag_keyring_add(*out, key);
    return e;
}

bool demo_sessions_new(const demo_sessions_config *cfg, demo_sessions **out)
{
    demo_sessions *s = calloc(1, sizeof(*s));
    ag_keyring *access_ring = NULL, *refresh_ring = NULL;
    ag_issuer_config ic;
    ag_verifier_config vc;
    ag_err e = s ? AG_OK : AG_ERR_NOMEM;

    if (e == AG_OK) {
        s->store = cfg->store;
        s->refresh_ttl = cfg->refresh_ttl;
        /* Refresh tokens are addressed to the refresh endpoint, not to the
         * API: a different aud as well as a different key and typ (V-12). */
        snprintf(s->refresh_audience, sizeof(s->refresh_audience), "%s/auth/refresh",
                 cfg->issuer);
    }
    if (e == AG_OK) {
        memset(&ic, 0, sizeof(ic));
        ic.key = cfg->keys->access;
        ic.kind = AG_TOKEN_ACCESS;
        ic.issuer = cfg->issuer;
        ic.audience = cfg->audience;
        ic.ttl = cfg->access_ttl;
        e = ag_issuer_new(&ic, &s->access_issuer);
    }
    if (e == AG_OK) {
        ic.key = cfg->keys->refresh;
        ic.kind = AG_TOKEN_REFRESH;
        ic.audience = s->refresh_audience;
        ic.ttl = cfg->refresh_ttl;
        e = ag_issuer_new(&ic, &s->refresh_issuer);
    }
    /* Each verifier knows only its own key: a refresh token cannot verify
     * as an access token even before typ is looked at (I-01). */
    if (e == AG_OK)
        e = keyring_of(cfg->keys->access, &access_ring);
    if (e == AG_OK)
        e = keyring_of(cfg->keys->refresh, &refresh_ring);
    if (e == AG_OK) {
        memset(&vc, 0, sizeof(vc));
        vc.keys = access_ring;
        vc.kind = AG_TOKEN_ACCESS;
        vc.issuer = cfg->issuer;
        vc.audience = cfg->audience;
        vc.leeway = cfg->leeway;
        vc.max_lifetime = cfg->access_ttl; /* V-15: no longer-lived token passes */
        e = ag_verifier_new(&vc, &s->access_verifier);
    }
    if (e == AG_OK) {
        vc.keys = refresh_ring;
        vc.kind = AG_TOKEN_REFRESH;
        vc.audience = s->refresh_audience;
        vc.max_lifetime = cfg->refresh_ttl;
        e = ag_verifier_new(&vc, &s->refresh_verifier);
    }
    /* Only the access key is published: resource servers verify access
     * tokens; refresh tokens are this server's own business. */
    if (e == AG_OK)
        e = ag_keyring_to_jwks(access_ring, &s->jwks);
    ag_keyring_free(access_ring); /* the verifiers hold their own references */
    ag_keyring_free(refresh_ring);
    if (e != AG_OK) {
        fprintf(stderr, "authgate-demo: cannot set up tokens: %s\n", ag_strerror(e));
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
    ag_issuer_free(s->access_issuer);
    ag_issuer_free(s->refresh_issuer);
    ag_verifier_free(s->access_verifier);
    ag_verifier_free(s->refresh_verifier);
    ag_free(s->jwks);
    free(s);
}

const ag_verifier *demo_sessions_access_verifier(const demo_sessions *s)
{
    return s->access_verifier;
}

const ag_verifier *demo_sessions_refresh_verifier(const demo_sessions *s)
{
    return s->refresh_verifier;
}

const char *demo_sessions_jwks(const demo_sessions *s)
{
    return s->jwks;
}

/* Issues the access token and the refresh token (with the given jti and
 * lifetime) of one family at time now. */
static ag_err issue_pair(demo_sessions *s, const char *sub, const char *sid, const char *rt_jti,
                         int64_t rt_ttl, int64_t now, demo_pair *out)
{
    ag_issue_params p;
    ag_issued at_info, rt_info;
    ag_err e;

    memset(&p, 0, sizeof(p));
    p.sub = sub;
    p.sid = sid;
    p.now = now;
    e = ag_issue(s->access_issuer, &p, out->access, sizeof(out->access), &at_info);
    if (e != AG_OK)
        return e;
    p.jti = rt_jti;
    p.ttl = rt_ttl;
    e = ag_issue(s->refresh_issuer, &p, out->refresh, sizeof(out->refresh), &rt_info);
    if (e != AG_OK)
        return e;
    out->access_expires_in = at_info.exp - now;
    out->refresh_expires_in = rt_info.exp - now;
    out->refresh_exp = rt_info.exp;
    snprintf(out->sid, sizeof(out->sid), "%s", sid);
    return AG_OK;
}

ag_err demo_sessions_login(demo_sessions *s, const char *sub, demo_pair *out)
{
    char sid[AG_JTI_LEN + 1], jti[AG_JTI_LEN + 1];
    ag_store_family fam;
    ag_store_token tok;
    int64_t now = (int64_t)time(NULL);
    size_t sub_len = strlen(sub);
    ag_err e;

    if (sub_len == 0 || sub_len > AG_SUBJECT_MAX_LEN)
        return AG_ERR_INVALID_ARGUMENT;
    e = random_id(sid);
    if (e == AG_OK)
        e = random_id(jti);
    if (e == AG_OK)
        e = issue_pair(s, sub, sid, jti, s->refresh_ttl, now, out);
    if (e != AG_OK)
        return e;

    memset(&fam, 0, sizeof(fam));
    memcpy(fam.sid, sid, AG_JTI_LEN);
    fam.sid_len = AG_JTI_LEN;
    memcpy(fam.subject, sub, sub_len);
    fam.subject_len = sub_len;
    fam.created = now;
    fam.expires = now + s->refresh_ttl; /* absolute: rotation never extends it */

    memset(&tok, 0, sizeof(tok));
    e = jti_hash((const uint8_t *)jti, AG_JTI_LEN, tok.hash);
    memcpy(tok.sid, sid, AG_JTI_LEN);
    tok.sid_len = AG_JTI_LEN;
    tok.issued = now;
    tok.expires = out->refresh_exp;
    if (e == AG_OK)
        e = ag_store_put(s->store, &fam, &tok);
    ag_cleanse(jti, sizeof(jti));
    return e;
}

ag_err demo_sessions_refresh(demo_sessions *s, const ag_claims *rt, demo_pair *out)
{
    char jti[AG_JTI_LEN + 1], sid[AG_SID_MAX_LEN + 1], sub[AG_SUBJECT_MAX_LEN + 1];
    ag_store_rotation rot;
    ag_store_rotated done;
    int64_t now = (int64_t)time(NULL);
    ag_err e;

    if (rt->sid.len == 0 || rt->sid.len > AG_SID_MAX_LEN || rt->sub.len > AG_SUBJECT_MAX_LEN)
        return AG_ERR_CLAIM;
    memcpy(sid, rt->sid.ptr, rt->sid.len);
    sid[rt->sid.len] = '\0';
    memcpy(sub, rt->sub.ptr, rt->sub.len);
    sub[rt->sub.len] = '\0';

    /* The successor's jti is chosen first so that its hash can go into the
     * same atomic step that consumes the old row. */
    memset(&rot, 0, sizeof(rot));
    e = random_id(jti);
    if (e == AG_OK)
        e = jti_hash(rt->jti.ptr, rt->jti.len, rot.old_hash);
    if (e == AG_OK)
        e = jti_hash((const uint8_t *)jti, AG_JTI_LEN, rot.new_hash);
    rot.sid = sid;
    rot.sid_len = rt->sid.len;
    rot.subject = sub;
    rot.subject_len = rt->sub.len;
    rot.now = now;
    rot.new_expires = now + s->refresh_ttl;
    rot.reuse_interval = 0; /* no grace window (SECURITY.md §8.7) */
    /* Exactly one of N concurrent callers gets AG_OK here; a used
     * token gives AG_ERR_REUSED and its family is already revoked. */
    if (e == AG_OK)
        e = ag_store_rotate(s->store, &rot, &done);
    if (e == AG_OK && done.expires <= now)
        e = AG_ERR_EXPIRED;
    /* The successor never outlives the family. */
    if (e == AG_OK)
        e = issue_pair(s, sub, sid, jti, done.expires - now, now, out);
    ag_cleanse(jti, sizeof(jti));
    return e;
}

ag_err demo_sessions_logout(demo_sessions *s, const ag_claims *rt, bool everywhere)
{
    uint8_t hash[AG_STORE_HASH_LEN];
    ag_store_token tok;
    ag_store_family fam;
    int64_t now = (int64_t)time(NULL);
    ag_err e = jti_hash(rt->jti.ptr, rt->jti.len, hash);

    if (e == AG_OK)
        e = ag_store_lookup(s->store, hash, &tok, &fam);
    if (e == AG_ERR_NOT_FOUND)
        return AG_ERR_UNKNOWN;
    if (e != AG_OK)
        return e;
    /* The row must belong to the family and subject the signed token names. */
    if (fam.sid_len != rt->sid.len || memcmp(fam.sid, rt->sid.ptr, rt->sid.len) != 0 ||
        fam.subject_len != rt->sub.len || memcmp(fam.subject, rt->sub.ptr, rt->sub.len) != 0)
        return AG_ERR_UNKNOWN;
    if (fam.revoked_at != 0)
        return AG_ERR_REVOKED;
    /* Logging out with an already rotated token is reuse like any other
     * presentation of it: the family dies and the caller is told. */
    if (tok.used_at != 0) {
        e = ag_store_revoke_family(s->store, fam.sid, fam.sid_len, now, AG_REVOKE_REUSE);
        return e == AG_OK ? AG_ERR_REUSED : e;
    }
    if (tok.expires <= now || fam.expires <= now)
        return AG_ERR_EXPIRED;
    if (everywhere)
        return ag_store_revoke_subject(s->store, fam.subject, fam.subject_len, now,
                                       AG_REVOKE_LOGOUT_ALL, NULL);
    return ag_store_revoke_family(s->store, fam.sid, fam.sid_len, now, AG_REVOKE_LOGOUT);
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — compact JWS: the verify pipeline (docs/security.md §1) and
 * verifiers. Issuing is in jws_issue.c.
 *
 * The verify path allocates nothing: the header is decoded into a stack
 * buffer, the payload and decoded strings into the caller's scratch, and
 * the JSON is read by the allocation-free scanner (json_scan.c).
 */
#include <stdatomic.h>
#include <string.h>

#include "../common/observe_int.h"
#include "authgate/revocation.h"
#include "token_int.h"

/* Largest signature: RSA-8192 (AG__SIG_MAX); larger moduli are refused at
 * key load (keys.c). */
#define SIG_MAX AG__SIG_MAX

/* ---- header policy ---------------------------------------------------- */

enum { H_OTHER, H_ALG, H_KID, H_TYP, H_FORBIDDEN };

/* What a raw header member name is, compared after unescaping. Names
 * without a backslash are compared byte for byte by length; only an
 * escaped name takes the decoding comparison. */
static int header_id(ag_span raw)
{
    static const struct {
        const char *name;
        size_t len;
        int id;
    } names[] = {{"alg", 3, H_ALG},
                 {"kid", 3, H_KID},
                 {"typ", 3, H_TYP},
                 /* V-07, I-03: their presence rejects the token */
                 {"crit", 4, H_FORBIDDEN},
                 {"b64", 3, H_FORBIDDEN},
                 {"cty", 3, H_FORBIDDEN},
                 {"jku", 3, H_FORBIDDEN},
                 {"jwk", 3, H_FORBIDDEN},
                 {"x5u", 3, H_FORBIDDEN},
                 {"x5c", 3, H_FORBIDDEN},
                 {"x5t", 3, H_FORBIDDEN},
                 {"x5t#S256", 8, H_FORBIDDEN}};
    bool esc = memchr(raw.ptr, '\\', raw.len) != NULL;
    for (size_t i = 0; i < AG__ARRAY_LEN(names); i++) {
        if (esc ? ag__json_str_eq(raw, names[i].name, names[i].len)
                : (raw.len == names[i].len && memcmp(raw.ptr, names[i].name, raw.len) == 0))
            return names[i].id;
    }
    return H_OTHER;
}

/* Decodes a string member into j->strbuf. */
static ag_err take_string(ag__jws *j, const ag__jmember *m, size_t max, ag_span *out)
{
    size_t n = 0;
    if (m->type != AG__J_STRING)
        return AG_ERR_MALFORMED;
    size_t room = j->strbuf_cap - j->strbuf_len;
    if (room > max)
        room = max;
    if (ag__json_str_decode(m->value, j->strbuf + j->strbuf_len, room, &n) != AG_OK)
        return AG_ERR_BUFFER;
    out->ptr = j->strbuf + j->strbuf_len;
    out->len = n;
    j->strbuf_len += n;
    return AG_OK;
}

static bool span_eq_ci(ag_span s, const char *lit)
{
    return ag__ci_eq(s.ptr, s.len, lit, strlen(lit));
}

static ag_err parse_header(ag__jws *j, const uint8_t *hdr, size_t n)
{
    ag__jmember mem[16];
    size_t count = 0;
    /* strict JSON (V-06) and the top-level members in one pass */
    if (ag__json_check_members(hdr, n, mem, AG__ARRAY_LEN(mem), &count) != AG_OK)
        return AG_ERR_MALFORMED;

    ag__jiter it;
    ag__jmember m;
    ag__jmember alg = {{0}, 0, {0}, false}, kid = {{0}, 0, {0}, false};
    bool has_alg = false, has_kid = false;
    ag_err err;

    j->has_typ = false;
    ag__json_iter_object(&it, hdr, n);
    for (size_t i = 0;; i++) {
        if (count <= AG__ARRAY_LEN(mem)) {
            if (i == count)
                break;
            m = mem[i];
        } else if (!ag__json_next(&it, &m)) {
            break;
        }
        switch (header_id(m.name)) {
        case H_ALG:
            alg = m;
            has_alg = true;
            break;
        case H_KID:
            kid = m;
            has_kid = true;
            break;
        case H_TYP:
            if ((err = take_string(j, &m, 255, &j->typ)) != AG_OK)
                return err == AG_ERR_BUFFER ? AG_ERR_HEADER : err;
            j->has_typ = true;
            break;
        case H_FORBIDDEN:
            return AG_ERR_HEADER;
        default:
            break; /* unknown, non-critical: ignored (RFC 7515 §4) */
        }
    }

    /* alg: a string naming a supported algorithm; "none" in any case is
     * simply not one of them (V-01). */
    if (!has_alg)
        return AG_ERR_ALG;
    if (alg.type != AG__J_STRING)
        return AG_ERR_MALFORMED;
    uint8_t algname[16];
    size_t alg_len = 0;
    if (ag__json_str_decode(alg.value, algname, sizeof(algname), &alg_len) != AG_OK ||
        ag_alg_from_name((const char *)algname, alg_len, &j->alg) != AG_OK)
        return AG_ERR_ALG;

    /* kid: required, a map key into the immutable ring only (V-07, V-08). */
    if (has_kid) {
        j->cause = AG_CAUSE_UNKNOWN_KID;
        if ((err = take_string(j, &kid, AG_KID_MAX_LEN, &j->kid)) != AG_OK)
            return err == AG_ERR_BUFFER ? AG_ERR_KEY : err;
        j->key = ag_keyring_find(j->ring, (const char *)j->kid.ptr, j->kid.len);
    } else if (j->kid_optional && ag_keyring_count(j->ring) == 1) {
        j->key = j->ring->keys[0];
        j->kid.ptr = NULL;
        j->kid.len = 0;
    } else {
        j->cause = AG_CAUSE_NO_KID;
        return AG_ERR_KEY;
    }
    if (j->key == NULL)
        return AG_ERR_KEY;
    j->cause = AG_CAUSE_NONE;
    /* The key decides the algorithm; the header must name exactly it (V-01, V-02). */
    if (j->key->alg != j->alg)
        return AG_ERR_ALG;
    return AG_OK;
}

/* Finds the two dots of a compact JWS; any other count is malformed (V-03). */
static bool split3(const uint8_t *t, size_t len, size_t *d1, size_t *d2)
{
    const uint8_t *a = memchr(t, '.', len);
    if (a == NULL)
        return false;
    size_t i = (size_t)(a - t);
    const uint8_t *b = memchr(a + 1, '.', len - i - 1);
    if (b == NULL)
        return false;
    size_t k = (size_t)(b - t);
    if (memchr(b + 1, '.', len - k - 1) != NULL)
        return false;
    *d1 = i;
    *d2 = k;
    return true;
}

/* ---- header memo ------------------------------------------------------ */

/*
 * A verifier sees the same few header segments over and over: one per
 * (kid, typ) its issuers use. What parse_header makes of a header is a pure
 * function of the segment's bytes and the verifier's frozen keyring, so a
 * verifier remembers up to HMEMO_SLOTS segments whose token passed the
 * signature check (only key holders can put one there) and, on a byte-exact
 * match of the raw segment, takes alg, key, kid and typ from the memo
 * instead of decoding and parsing the header again. The payload and the
 * signature are always decoded and checked. Slots are filled once and never
 * change (state FREE → WRITING → READY, published with release/acquire);
 * when all are taken, further headers simply take the full path.
 */
#define HMEMO_SLOTS 8
#define HMEMO_B64_MAX 160 /* a longer header segment is never memoized */

enum { HMEMO_FREE, HMEMO_WRITING, HMEMO_READY };

typedef struct hmemo {
    atomic_int state;
    ag_alg alg;
    const ag_key *key;
    bool has_typ;
    uint8_t seg_len, kid_len, typ_len;
    uint8_t seg[HMEMO_B64_MAX];
    uint8_t strs[AG_B64URL_DECODED_MAX(HMEMO_B64_MAX)]; /* decoded kid, then typ */
} hmemo;

/* The slot holding exactly this header segment, or NULL. */
static const hmemo *hmemo_find(const hmemo *m, const uint8_t *seg, size_t n)
{
    if (m == NULL || n > HMEMO_B64_MAX)
        return NULL;
    for (size_t i = 0; i < HMEMO_SLOTS; i++) {
        if (atomic_load_explicit(&m[i].state, memory_order_acquire) != HMEMO_READY)
            return NULL; /* slots fill in order: the rest are empty too */
        if (m[i].seg_len == n && memcmp(m[i].seg, seg, n) == 0)
            return &m[i];
    }
    return NULL;
}

/* Remembers the header of a token whose signature verified. */
static void hmemo_put(hmemo *m, const uint8_t *seg, size_t n, const ag__jws *j)
{
    if (m == NULL || n > HMEMO_B64_MAX || j->kid.len + j->typ.len > sizeof(m->strs))
        return;
    for (size_t i = 0; i < HMEMO_SLOTS; i++) {
        int st = atomic_load_explicit(&m[i].state, memory_order_acquire);
        if (st == HMEMO_READY) {
            if (m[i].seg_len == n && memcmp(m[i].seg, seg, n) == 0)
                return; /* another thread was first */
            continue;
        }
        int expect = HMEMO_FREE;
        if (st != HMEMO_FREE ||
            !atomic_compare_exchange_strong_explicit(&m[i].state, &expect, HMEMO_WRITING,
                                                     memory_order_acq_rel, memory_order_acquire))
            return; /* a slot being written: let that thread have it */
        hmemo *h = &m[i];
        h->alg = j->alg;
        h->key = j->key;
        h->has_typ = j->has_typ;
        h->seg_len = (uint8_t)n;
        memcpy(h->seg, seg, n);
        h->kid_len = (uint8_t)j->kid.len;
        h->typ_len = (uint8_t)j->typ.len;
        if (j->kid.len > 0)
            memcpy(h->strs, j->kid.ptr, j->kid.len);
        if (j->typ.len > 0)
            memcpy(h->strs + j->kid.len, j->typ.ptr, j->typ.len);
        atomic_store_explicit(&h->state, HMEMO_READY, memory_order_release);
        return;
    }
}

/* What parse_header would have produced, from a memo slot. */
static ag_err hmemo_apply(ag__jws *j, const hmemo *h)
{
    size_t n = (size_t)h->kid_len + h->typ_len;
    if (j->strbuf_cap - j->strbuf_len < n)
        return AG_ERR_BUFFER; /* cannot happen: the same bytes fit when parsed */
    uint8_t *dst = j->strbuf + j->strbuf_len;
    memcpy(dst, h->strs, n);
    j->alg = h->alg;
    j->key = h->key;
    j->has_typ = h->has_typ;
    /* as parse_header leaves them: a present typ (even "") points into
     * strbuf, an absent one is {NULL, 0}; kid is never empty */
    j->kid = (ag_span){h->kid_len > 0 ? dst : NULL, h->kid_len};
    j->typ = (ag_span){h->has_typ ? dst + h->kid_len : NULL, h->typ_len};
    j->strbuf_len += n;
    return AG_OK;
}

static ag_err jws_verify(ag__jws *j, const uint8_t *token, size_t len, hmemo *memo)
{
    size_t d1, d2, hdr_len, sig_len;
    uint8_t hdr[AG_HEADER_MAX_LEN];
    uint8_t sig[SIG_MAX];
    ag_err err;

    j->payload_len = 0;
    j->strbuf_len = 0;
    j->cause = AG_CAUSE_NONE;
    j->key = NULL;
    j->kid.ptr = j->typ.ptr = NULL;
    j->kid.len = j->typ.len = 0;

    /* token != NULL and len <= j->max_len: checked by the callers */
    if (!split3(token, len, &d1, &d2) || d1 == 0 || d2 + 1 == len)
        return AG_ERR_MALFORMED;

    /* strict base64url for all three segments before anything is parsed
     * (a remembered header segment was decoded and accepted before) */
    const hmemo *known = hmemo_find(memo, token, d1);
    if (known == NULL && ag__base64url_decode_fast(token, d1, hdr, sizeof(hdr), &hdr_len) != AG_OK)
        return AG_ERR_MALFORMED;
    if (ag__base64url_decode_fast(token + d1 + 1, d2 - d1 - 1, j->payload, j->payload_cap,
                                  &j->payload_len) != AG_OK)
        return AG_ERR_MALFORMED;
    err = ag__base64url_decode_fast(token + d2 + 1, len - d2 - 1, sig, sizeof(sig), &sig_len);
    if (err == AG_ERR_BUFFER)
        return AG_ERR_SIGNATURE; /* longer than any signature we accept */
    if (err != AG_OK)
        return AG_ERR_MALFORMED;

    /* an empty payload is a valid JWS (and never a valid JWT: ag_verify
     * then fails on its JSON) */
    err = known != NULL ? hmemo_apply(j, known) : parse_header(j, hdr, hdr_len);
    if (err != AG_OK)
        return err;

    /* exact length before any crypto (V-09), then the signature (V-11) */
    if (sig_len != j->key->sig_len)
        return AG_ERR_SIGNATURE;
    err = ag__verify_sig(j->key, token, d2, sig, sig_len);
    if (err == AG_OK && known == NULL)
        hmemo_put(memo, token, d1, j);
    return err;
}

ag_err ag__jws_verify(ag__jws *j, const uint8_t *token, size_t len)
{
    if (token == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (len > j->max_len)
        return AG_ERR_TOO_LARGE;
    return jws_verify(j, token, len, NULL);
}

/* ---- verifier --------------------------------------------------------- */

/* What a verifier's keyring decides: the ring and the header memo made from
 * it (memo slots point at the ring's keys). Replaced as a whole by
 * ag_verifier_set_keys, so a memo never outlives its keys. */
typedef struct vgen {
    ag__swap_node node; /* first: the swap slot's link */
    ag_keyring *keys;
    hmemo memo[HMEMO_SLOTS];
} vgen;

static void vgen_free(const ag_allocator *alloc, vgen *g)
{
    if (g == NULL)
        return;
    ag_keyring_free(g->keys);
    ag__free(alloc, g);
}

static void vgen_release(void *ctx, ag__swap_node *n)
{
    vgen_free(ctx, (vgen *)(void *)n); /* ctx: the verifier's allocator */
}

static ag_err vgen_new(const ag_allocator *alloc, const ag_keyring *ring, vgen **out)
{
    vgen *g = ag__calloc(alloc, sizeof(*g));
    if (g == NULL)
        return AG_ERR_NOMEM;
    for (size_t i = 0; i < HMEMO_SLOTS; i++)
        atomic_init(&g->memo[i].state, HMEMO_FREE);
    g->keys = ag__keyring_hold(ring);
    *out = g;
    return AG_OK;
}

struct ag_verifier {
    const ag_allocator *alloc;
    ag__swap gen; /* vgen *: the keyring in use, replaced by ag_verifier_set_keys */
    ag_token_kind kind;
    char **iss; /* accepted issuers (none: any) */
    size_t *iss_lens;
    size_t niss;
    char **aud; /* accepted audiences (none: any) */
    size_t *aud_lens;
    size_t naud;
    unsigned relax; /* AG_VERIFY_* */
    bool (*on_unknown_kid)(void *ctx);
    void *unknown_kid_ctx;
    int64_t leeway;
    int64_t max_lifetime;
    size_t max_len;
    ag_clock_fn clock;
    void *clock_ctx;
    ag__vcache *cache;        /* NULL unless cfg->cache_entries > 0; entries name keys by
                                 id, checked against the current ring on every hit */
    const ag_revset *revoked; /* NULL unless configured; not owned */
};

#define LIST_MAX 64 /* accepted issuers or audiences */
#define RELAX_ALL                                                                                  \
    (AG_VERIFY_TYP_JWT | AG_VERIFY_TYP_ABSENT | AG_VERIFY_OPTIONAL_JTI | AG_VERIFY_OPTIONAL_IAT |  \
     AG_VERIFY_OPTIONAL_SUB | AG_VERIFY_OPTIONAL_SID)

static void free_list(const ag_allocator *alloc, char **list, size_t *lens, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++)
        ag__free(alloc, list[i]);
    ag__free(alloc, list);
    ag__free(alloc, lens);
}

/* Copies first (when not NULL) and more[0..nmore) into a new list. */
static ag_err copy_list(const ag_allocator *alloc, const char *first, const char *const *more,
                        size_t nmore, char ***out, size_t **lens, size_t *n)
{
    size_t total = nmore + (first != NULL ? 1 : 0);
    *n = 0;
    if (total == 0)
        return AG_OK;
    *out = ag__calloc(alloc, total * sizeof(char *));
    *lens = ag__calloc(alloc, total * sizeof(size_t));
    if (*out == NULL || *lens == NULL)
        return AG_ERR_NOMEM;
    for (size_t i = 0; i < total; i++) {
        const char *src = first != NULL ? (i == 0 ? first : more[i - 1]) : more[i];
        (*out)[i] = ag__strdup(alloc, src);
        if ((*out)[i] == NULL)
            return AG_ERR_NOMEM;
        (*lens)[i] = strlen(src);
        *n = i + 1;
    }
    return AG_OK;
}

ag_err ag_verifier_new(const ag_verifier_config *cfg, ag_verifier **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ag_verifier_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    if (cfg == NULL || cfg->keys == NULL || cfg->kind < AG_TOKEN_ACCESS ||
        cfg->kind > AG_TOKEN_ANY || cfg->leeway > AG_LEEWAY_MAX ||
        cfg->max_token_len > AG_TOKEN_MAX_LEN)
        return AG_ERR_INVALID_ARGUMENT;
    if ((cfg->issuer != NULL && cfg->issuer[0] == '\0') ||
        (cfg->audience != NULL && cfg->audience[0] == '\0'))
        return AG_ERR_INVALID_ARGUMENT;
    if ((cfg->nissuers > 0 && cfg->issuers == NULL) ||
        (cfg->naudiences > 0 && cfg->audiences == NULL) || cfg->nissuers > LIST_MAX ||
        cfg->naudiences > LIST_MAX || (cfg->relax & ~RELAX_ALL) != 0)
        return AG_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < cfg->nissuers; i++)
        if (cfg->issuers[i] == NULL || cfg->issuers[i][0] == '\0')
            return AG_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < cfg->naudiences; i++)
        if (cfg->audiences[i] == NULL || cfg->audiences[i][0] == '\0')
            return AG_ERR_INVALID_ARGUMENT;

    ag_verifier *v = ag__calloc(cfg->alloc, sizeof(*v));
    if (v == NULL)
        return AG_ERR_NOMEM;
    v->alloc = cfg->alloc;
    v->kind = cfg->kind;
    v->leeway = cfg->leeway < 0 ? AG_LEEWAY_DEFAULT : cfg->leeway;
    if (cfg->max_lifetime == 0)
        v->max_lifetime = cfg->kind == AG_TOKEN_ACCESS ? 86400 : 90 * 86400;
    else
        v->max_lifetime = cfg->max_lifetime;
    v->max_len = cfg->max_token_len == 0 ? AG_TOKEN_MAX_LEN : cfg->max_token_len;
    v->clock = cfg->clock != NULL ? cfg->clock : ag_clock_system;
    v->clock_ctx = cfg->clock_ctx;
    v->revoked = cfg->revocations;
    v->relax = cfg->relax;
    v->on_unknown_kid = cfg->on_unknown_kid;
    v->unknown_kid_ctx = cfg->unknown_kid_ctx;
    if (copy_list(cfg->alloc, cfg->issuer, cfg->issuers, cfg->nissuers, &v->iss, &v->iss_lens,
                  &v->niss) != AG_OK ||
        copy_list(cfg->alloc, cfg->audience, cfg->audiences, cfg->naudiences, &v->aud, &v->aud_lens,
                  &v->naud) != AG_OK) {
        ag_verifier_free(v);
        return AG_ERR_NOMEM;
    }
    if (cfg->cache_entries > 0) {
        ag_err err = ag__vcache_new(cfg->alloc, cfg->cache_entries, &v->cache);
        if (err != AG_OK) {
            ag_verifier_free(v);
            return err;
        }
    }
    vgen *g = NULL;
    ag_err err = vgen_new(cfg->alloc, cfg->keys, &g);
    ag__swap_init(&v->gen, g != NULL ? &g->node : NULL, vgen_release,
                  (void *)(uintptr_t)cfg->alloc);
    if (err != AG_OK) {
        ag_verifier_free(v);
        return err;
    }
    *out = v;
    return AG_OK;
}

ag_err ag_verifier_set_keys(ag_verifier *v, const ag_keyring *keys)
{
    if (v == NULL || keys == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    vgen *g = NULL;
    ag_err err = vgen_new(v->alloc, keys, &g);
    if (err != AG_OK)
        return err;
    ag__swap_set(&v->gen, &g->node);
    return AG_OK;
}

void ag_verifier_free(ag_verifier *v)
{
    if (v == NULL)
        return;
    ag__vcache_free(v->cache);
    ag__swap_destroy(&v->gen);
    free_list(v->alloc, v->iss, v->iss_lens, v->niss);
    free_list(v->alloc, v->aud, v->aud_lens, v->naud);
    ag__free(v->alloc, v);
}

size_t ag__verifier_memo_count(const ag_verifier *v)
{
    if (v == NULL)
        return 0;
    ag__swap_ticket t;
    const vgen *g = (const vgen *)(void *)ag__swap_enter((ag__swap *)(uintptr_t)&v->gen, &t);
    size_t n = 0;
    while (n < HMEMO_SLOTS &&
           atomic_load_explicit(&g->memo[n].state, memory_order_acquire) == HMEMO_READY)
        n++;
    ag__swap_leave(&t);
    return n;
}

/* typ per RFC 7515 §4.1.9: case-insensitive, "application/" optional (V-12). */
static ag_token_kind kind_of_typ(ag_span typ)
{
    static const char app[] = "application/";
    ag_span t = typ;
    if (t.len > sizeof(app) - 1 && span_eq_ci((ag_span){t.ptr, sizeof(app) - 1}, app)) {
        t.ptr += sizeof(app) - 1;
        t.len -= sizeof(app) - 1;
    }
    if (span_eq_ci(t, "at+jwt"))
        return AG_TOKEN_ACCESS;
    if (span_eq_ci(t, "rt+jwt"))
        return AG_TOKEN_REFRESH;
    return AG_TOKEN_ANY;
}

/* typ "JWT" (case-insensitive, "application/" optional). */
static bool typ_is_jwt(ag_span typ)
{
    static const char app[] = "application/";
    if (typ.len > sizeof(app) - 1 && span_eq_ci((ag_span){typ.ptr, sizeof(app) - 1}, app)) {
        typ.ptr += sizeof(app) - 1;
        typ.len -= sizeof(app) - 1;
    }
    return span_eq_ci(typ, "jwt");
}

/* The token's typ is acceptable to v (V-12, with the opt-outs of relax). */
static bool typ_accepted(const ag_verifier *v, const ag_claims *c, bool has_typ)
{
    if (v->kind == AG_TOKEN_ANY || c->kind == v->kind)
        return true;
    if (!has_typ)
        return (v->relax & AG_VERIFY_TYP_ABSENT) != 0;
    return (v->relax & AG_VERIFY_TYP_JWT) != 0 && typ_is_jwt(c->typ);
}

static bool iss_accepted(const ag_verifier *v, ag_span iss)
{
    if (v->niss == 0)
        return true;
    for (size_t i = 0; i < v->niss; i++)
        if (iss.len == v->iss_lens[i] && memcmp(iss.ptr, v->iss[i], iss.len) == 0)
            return true;
    return false;
}

static ag_err verify_gen(const ag_verifier *v, vgen *g, const uint8_t *token, size_t len,
                         uint8_t *scratch, size_t scratch_len, ag_claims *out,
                         ag_verify_cause *cause);

ag_err ag_verify_why(const ag_verifier *v, const uint8_t *token, size_t len, void *scratch,
                     size_t scratch_len, ag_claims *out, ag_verify_cause *cause)
{
    ag_verify_cause dummy;
    if (cause == NULL)
        cause = &dummy;
    *cause = AG_CAUSE_NONE;
    /* out's size (AG_INIT) is checked first; every write below keeps it */
    if (out == NULL || ag__sized_out(out, sizeof *out) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    if (v == NULL || scratch == NULL) {
        out->verifier_ = NULL;
        return AG_ERR_INVALID_ARGUMENT;
    }
    uint64_t t0 = ag__obs_verify_begin(); /* metrics.h: counted at the one exit below */
    /* the verifier is const to its callers; only the reader counters of
     * its swap slot change (atomics) */
    ag__swap_ticket t;
    vgen *g = (vgen *)(void *)ag__swap_enter((ag__swap *)(uintptr_t)&v->gen, &t);
    ag_err err = verify_gen(v, g, token, len, scratch, scratch_len, out, cause);
    ag__swap_leave(&t);
    /* a remote key set may have the kid by now: its hook refetches (rate
     * limited) outside the read section, and the token gets one more try */
    if (err == AG_ERR_KEY && *cause == AG_CAUSE_UNKNOWN_KID && v->on_unknown_kid != NULL &&
        v->on_unknown_kid(v->unknown_kid_ctx)) {
        g = (vgen *)(void *)ag__swap_enter((ag__swap *)(uintptr_t)&v->gen, &t);
        err = verify_gen(v, g, token, len, scratch, scratch_len, out, cause);
        ag__swap_leave(&t);
    }
    /* what ag_session_*_verified accept: claims this verifier passed */
    out->verifier_ = err == AG_OK ? v : NULL;
    ag__obs_verify_end(t0, err, (int)*cause);
    return err;
}

ag_err ag_verify(const ag_verifier *v, const uint8_t *token, size_t len, void *scratch,
                 size_t scratch_len, ag_claims *out)
{
    return ag_verify_why(v, token, len, scratch, scratch_len, out, NULL);
}

const char *ag_verify_cause_text(ag_verify_cause cause)
{
    static const char *const text[] = {"",
                                       "token has no kid",
                                       "no key with that kid",
                                       "typ",
                                       "iss",
                                       "sub",
                                       "aud",
                                       "exp",
                                       "nbf",
                                       "iat",
                                       "jti",
                                       "sid",
                                       "lifetime"};
    if ((unsigned)cause >= AG__ARRAY_LEN(text))
        return "";
    return text[cause];
}

/* ag_verify with the keyring generation g held. */
static ag_err verify_gen(const ag_verifier *v, vgen *g, const uint8_t *token, size_t len,
                         uint8_t *scratch, size_t scratch_len, ag_claims *out,
                         ag_verify_cause *cause)
{
    /* the size cap first (V-04), then the scratch: before any other work */
    if (token == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (len > v->max_len)
        return AG_ERR_TOO_LARGE;
    if (scratch_len < AG_VERIFY_SCRATCH_LEN(len))
        return AG_ERR_BUFFER;
    /* scratch: the decoded payload, then kid, typ and unescaped strings */
    ag__jws j;
    j.ring = g->keys;
    j.max_len = v->max_len;
    j.kid_optional = false;
    j.payload = scratch;
    j.payload_cap = AG__SCRATCH_PAYLOAD(len);
    j.strbuf = scratch + j.payload_cap;
    j.strbuf_cap = AG__SCRATCH_STRINGS(len);

    /* The optional cache of verified tokens, keyed by SHA-256 of the whole
     * token text, after the size cap (V-04): a hit stands for the steps up
     * to and including the signature; everything after it runs again. */
    uint8_t hash[32];
    bool hashed = false, hit = false;
    ag_err err;
    if (v->cache != NULL) {
        ag_span whole = {token, len};
        hashed = ag__sha2(256, &whole, 1, hash) == AG_OK;
        hit = hashed && ag__vcache_get(v->cache, hash, &j);
        if (hit) {
            /* the entry names its key by id: it counts only while the
             * current ring still holds that very key under that kid */
            const ag_key *k = j.kid.ptr != NULL
                                  ? ag_keyring_find(g->keys, (const char *)j.kid.ptr, j.kid.len)
                                  : NULL;
            hit = k != NULL && k->id == j.key_id && k->alg == j.alg;
            j.key = hit ? k : NULL;
        }
    }
    if (!hit && (err = jws_verify(&j, token, len, g->memo)) != AG_OK) {
        *cause = j.cause;
        return err;
    }

    /* Only now, with the signature verified, is the payload looked at. */
    out->alg = j.alg;
    out->kid = j.kid;
    out->typ = j.typ;
    out->kind = j.has_typ ? kind_of_typ(j.typ) : AG_TOKEN_ANY;
    out->payload_.ptr = scratch;
    out->payload_.len = j.payload_len;

    if (!typ_accepted(v, out, j.has_typ)) {
        *cause = AG_CAUSE_TYP;
        return AG_ERR_WRONG_TYPE;
    }

    ag__claims_policy pol = {(const char *const *)v->aud, v->aud_lens, v->naud, v->relax};
    bool has_iat = false;
    ag__claims_out co = {out, j.strbuf + j.strbuf_len, j.strbuf_cap - j.strbuf_len, 0};
    if ((err = ag__claims_parse(scratch, j.payload_len, &co, &pol, &has_iat, cause)) != AG_OK)
        return err;

    /* iss: exact, full length (V-16); aud matched inside claims parsing */
    if (!iss_accepted(v, out->iss)) {
        *cause = AG_CAUSE_ISS;
        return AG_ERR_CLAIM;
    }
    if ((out->kind == AG_TOKEN_REFRESH || v->kind == AG_TOKEN_REFRESH) && out->sid.len == 0 &&
        !(v->relax & AG_VERIFY_OPTIONAL_SID)) {
        *cause = AG_CAUSE_SID;
        return AG_ERR_CLAIM;
    }

    /* NumericDate checks against the injectable clock (V-15) */
    int64_t now = v->clock(v->clock_ctx);
    if (now >= out->exp + v->leeway) {
        *cause = AG_CAUSE_EXP;
        return AG_ERR_EXPIRED;
    }
    if (out->has_nbf && now < out->nbf - v->leeway) {
        *cause = AG_CAUSE_NBF;
        return AG_ERR_NOT_YET_VALID;
    }
    if (has_iat && out->iat > now + v->leeway) {
        *cause = AG_CAUSE_IAT;
        return AG_ERR_NOT_YET_VALID;
    }
    if (has_iat && v->max_lifetime > 0 && out->exp - out->iat > v->max_lifetime) {
        *cause = AG_CAUSE_LIFETIME;
        return AG_ERR_CLAIM;
    }
    /* last, and on cache hits too: revocation is about now, not the token */
    if (v->revoked != NULL) {
        ag_err rerr = ag_revset_check(v->revoked, out, now);
        if (rerr != AG_OK)
            return rerr;
    }
    /* only tokens that passed every check are cached (the spans of j still
     * point at kid/typ: claims were appended after them) */
    if (hashed && !hit)
        ag__vcache_put(v->cache, hash, &j);
    return AG_OK;
}

int64_t ag_verifier_leeway(const ag_verifier *v)
{
    return v->leeway;
}

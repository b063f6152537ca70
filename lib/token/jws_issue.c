/* SPDX-License-Identifier: MIT */
/*
 * authgate — compact JWS: issuers and issuing (docs/security.md §1 for
 * what a token must look like; verifying is in jws.c).
 *
 * Not the hot path of a server, but on the refresh path (two tokens per
 * rotation): the common payload is written directly, tokens with custom
 * claims go through jansson, the reference JSON implementation.
 */
#include <string.h>

#include <jansson.h>

#include "token_int.h"

/* Largest signature: RSA-8192 (AG__SIG_MAX). */
#define SIG_MAX AG__SIG_MAX

/* ---- issuer ----------------------------------------------------------- */

/* True when s is a valid UTF-8 C string. */
static bool utf8_ok(const char *s)
{
    return s != NULL && ag__utf8_valid((const uint8_t *)s, strlen(s));
}

/* The signing key and its header, replaced as a whole by
 * ag_issuer_set_keys. */
typedef struct igen {
    ag__swap_node node; /* first: the swap slot's link */
    ag_key *key;
    size_t header_len;
    char header_b64[AG_B64URL_ENCODED_LEN(AG_HEADER_MAX_LEN) + 1];
} igen;

struct ag_issuer {
    const ag_allocator *alloc;
    ag__swap gen; /* igen *: the signing key in use */
    ag_token_kind kind;
    char *issuer;
    char *audience;
    int64_t ttl;
    ag_clock_fn clock;
    void *clock_ctx;
};

/* The fixed header {"alg","typ","kid"} (I-01, I-03), encoded once per key. */
static ag_err build_header(igen *g, ag_token_kind kind)
{
    json_t *h = json_object();
    char *text = NULL;
    ag_err err = AG_ERR_NOMEM;
    if (h != NULL && json_object_set_new(h, "alg", json_string(ag_alg_name(g->key->alg))) == 0 &&
        json_object_set_new(h, "typ", json_string(kind == AG_TOKEN_ACCESS ? "at+jwt" : "rt+jwt")) ==
            0 &&
        json_object_set_new(h, "kid", json_string(g->key->kid)) == 0 &&
        (text = json_dumps(h, JSON_COMPACT)) != NULL) {
        err = ag_base64url_encode((const uint8_t *)text, strlen(text), g->header_b64,
                                  sizeof(g->header_b64), &g->header_len);
    }
    free(text);
    json_decref(h);
    return err;
}

static void igen_free(const ag_allocator *alloc, igen *g)
{
    if (g == NULL)
        return;
    ag_key_free(g->key);
    ag__free(alloc, g);
}

static void igen_release(void *ctx, ag__swap_node *n)
{
    igen_free(ctx, (igen *)(void *)n); /* ctx: the issuer's allocator */
}

static ag_err igen_new(const ag_allocator *alloc, const ag_key *key, ag_token_kind kind, igen **out)
{
    if (!key->is_private)
        return AG_ERR_STATE;
    igen *g = ag__calloc(alloc, sizeof(*g));
    if (g == NULL)
        return AG_ERR_NOMEM;
    g->key = ag_key_ref((ag_key *)(uintptr_t)key);
    ag_err err = build_header(g, kind);
    if (err != AG_OK) {
        igen_free(alloc, g);
        return err;
    }
    *out = g;
    return AG_OK;
}

ag_err ag_issuer_new(const ag_issuer_config *cfg, ag_issuer **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ag_issuer_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    if (cfg == NULL || (cfg->key == NULL) == (cfg->keys == NULL) || cfg->issuer == NULL ||
        cfg->issuer[0] == '\0' || cfg->audience == NULL || cfg->audience[0] == '\0' ||
        cfg->ttl <= 0 || cfg->ttl > AG_NUMERICDATE_MAX ||
        (cfg->kind != AG_TOKEN_ACCESS && cfg->kind != AG_TOKEN_REFRESH))
        return AG_ERR_INVALID_ARGUMENT;
    if (!utf8_ok(cfg->issuer) || !utf8_ok(cfg->audience))
        return AG_ERR_INVALID_ARGUMENT;
    const ag_key *key = cfg->key;
    if (cfg->keys != NULL) {
        ag_keyring_free(ag__keyring_hold(cfg->keys)); /* frozen, as for a verifier */
        key = ag_keyring_newest_signer(cfg->keys);
    }
    if (key == NULL || !key->is_private)
        return AG_ERR_STATE;

    ag_issuer *is = ag__calloc(cfg->alloc, sizeof(*is));
    if (is == NULL)
        return AG_ERR_NOMEM;
    is->alloc = cfg->alloc;
    is->kind = cfg->kind;
    is->ttl = cfg->ttl;
    is->clock = cfg->clock != NULL ? cfg->clock : ag_clock_system;
    is->clock_ctx = cfg->clock_ctx;
    is->issuer = ag__strdup(cfg->alloc, cfg->issuer);
    is->audience = ag__strdup(cfg->alloc, cfg->audience);
    igen *g = NULL;
    ag_err err = (is->issuer == NULL || is->audience == NULL)
                     ? AG_ERR_NOMEM
                     : igen_new(cfg->alloc, key, cfg->kind, &g);
    ag__swap_init(&is->gen, g != NULL ? &g->node : NULL, igen_release,
                  (void *)(uintptr_t)cfg->alloc);
    if (err != AG_OK) {
        ag_issuer_free(is);
        return err;
    }
    *out = is;
    return AG_OK;
}

ag_err ag_issuer_set_keys(ag_issuer *is, const ag_keyring *keys)
{
    if (is == NULL || keys == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    ag_keyring_free(ag__keyring_hold(keys));
    const ag_key *key = ag_keyring_newest_signer(keys);
    if (key == NULL)
        return AG_ERR_STATE;
    igen *g = NULL;
    ag_err err = igen_new(is->alloc, key, is->kind, &g);
    if (err != AG_OK)
        return err;
    ag__swap_set(&is->gen, &g->node);
    return AG_OK;
}

ag_err ag_issuer_kid(const ag_issuer *is, char *buf, size_t cap)
{
    if (is == NULL || buf == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    ag__swap_ticket t;
    const igen *g = (const igen *)(void *)ag__swap_enter((ag__swap *)(uintptr_t)&is->gen, &t);
    size_t n = g->key->kid_len;
    ag_err err = AG_ERR_BUFFER;
    if (n < cap) {
        memcpy(buf, g->key->kid, n + 1);
        err = AG_OK;
    }
    ag__swap_leave(&t);
    return err;
}

void ag_issuer_free(ag_issuer *is)
{
    if (is == NULL)
        return;
    ag__swap_destroy(&is->gen);
    ag__free(is->alloc, is->issuer);
    ag__free(is->alloc, is->audience);
    ag__free(is->alloc, is);
}

static const char *const registered_claims[] = {"iss", "sub", "aud", "exp",
                                                "nbf", "iat", "jti", "sid"};

static bool jti_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static ag_err put(json_t *o, const char *name, json_t *value);

static ag_err add_custom(json_t *obj, const ag_custom_claim *c)
{
    if (c->name == NULL || c->name[0] == '\0')
        return AG_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < AG__ARRAY_LEN(registered_claims); i++)
        if (strcmp(c->name, registered_claims[i]) == 0)
            return AG_ERR_INVALID_ARGUMENT;
    if (json_object_get(obj, c->name) != NULL)
        return AG_ERR_INVALID_ARGUMENT;
    json_t *val = NULL;
    switch (c->type) {
    case AG_CLAIM_STRING:
        val = c->str != NULL ? json_string(c->str) : NULL;
        break;
    case AG_CLAIM_INT:
        val = json_integer((json_int_t)c->i);
        break;
    case AG_CLAIM_BOOL:
        val = json_boolean(c->b);
        break;
    case AG_CLAIM_JSON:
        if (c->str != NULL) {
            json_error_t e;
            val = json_loads(c->str, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
        }
        break;
    default:
        break;
    }
    if (!utf8_ok(c->name)) {
        json_decref(val);
        return AG_ERR_INVALID_ARGUMENT;
    }
    return put(obj, c->name, val);
}

/* ---- the payload writer of the common case (no custom claims) --------
 * Issuing sits on the refresh path (two tokens per rotation), so the
 * registered claims are written directly instead of through a jansson
 * tree; tokens with custom claims still go through jansson. The output is
 * compact RFC 8259 JSON; tests decode it with jansson and compare. */

typedef struct wbuf {
    char *p;
    size_t n, cap;
    bool over;
} wbuf;

static void w_raw(wbuf *w, const char *s, size_t n)
{
    if (w->over || n > w->cap - w->n) {
        w->over = true;
        return;
    }
    memcpy(w->p + w->n, s, n);
    w->n += n;
}

/* A JSON string: quotes, backslash and control characters escaped. */
static void w_str(wbuf *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    w_raw(w, "\"", 1);
    size_t run = 0, i = 0;
    for (; s[i] != '\0'; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        w_raw(w, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        if (c < 0x20) {
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            w_raw(w, esc, 6);
        } else {
            w_raw(w, esc, 2);
        }
    }
    w_raw(w, s + run, i - run);
    w_raw(w, "\"", 1);
}

static void w_int(wbuf *w, int64_t v)
{
    char buf[24];
    size_t n = sizeof(buf);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        buf[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        buf[--n] = '-';
    w_raw(w, buf + n, sizeof(buf) - n);
}

/* Writes {"iss","sub","aud","exp","iat","jti"[,"sid"]} into buf. */
static ag_err write_payload(const ag_issuer *is, const ag_issue_params *p, const char *jti,
                            int64_t iat, int64_t exp, char *buf, size_t cap, size_t *len)
{
    if (!utf8_ok(p->sub) || (p->sid != NULL && !utf8_ok(p->sid)))
        return AG_ERR_INVALID_ARGUMENT;
    wbuf w = {buf, 0, cap, false};
    w_raw(&w, "{\"iss\":", 7);
    w_str(&w, is->issuer);
    w_raw(&w, ",\"sub\":", 7);
    w_str(&w, p->sub);
    w_raw(&w, ",\"aud\":", 7);
    w_str(&w, is->audience);
    w_raw(&w, ",\"exp\":", 7);
    w_int(&w, exp);
    w_raw(&w, ",\"iat\":", 7);
    w_int(&w, iat);
    w_raw(&w, ",\"jti\":", 7);
    w_str(&w, jti);
    if (p->sid != NULL) {
        w_raw(&w, ",\"sid\":", 7);
        w_str(&w, p->sid);
    }
    w_raw(&w, "}", 1);
    if (w.over)
        return AG_ERR_TOO_LARGE;
    *len = w.n;
    return AG_OK;
}

/* Adds name: value to o, taking value (NULL means invalid input, e.g. not
 * UTF-8). json_object_set_new() releases value when it fails. */
static ag_err put(json_t *o, const char *name, json_t *value)
{
    if (value == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    return json_object_set_new(o, name, value) == 0 ? AG_OK : AG_ERR_NOMEM;
}

static ag_err build_payload(const ag_issuer *is, const ag_issue_params *p, const char *jti,
                            int64_t iat, int64_t exp, char **text)
{
    json_t *o = json_object();
    if (o == NULL)
        return AG_ERR_NOMEM;
    ag_err err = put(o, "iss", json_string(is->issuer));
    if (err == AG_OK)
        err = put(o, "sub", json_string(p->sub));
    if (err == AG_OK)
        err = put(o, "aud", json_string(is->audience));
    if (err == AG_OK)
        err = put(o, "exp", json_integer((json_int_t)exp));
    if (err == AG_OK)
        err = put(o, "iat", json_integer((json_int_t)iat));
    if (err == AG_OK)
        err = put(o, "jti", json_string(jti));
    if (err == AG_OK && p->sid != NULL)
        err = put(o, "sid", json_string(p->sid));
    for (size_t i = 0; err == AG_OK && i < p->nclaims; i++)
        err = add_custom(o, &p->claims[i]);
    if (err == AG_OK) {
        *text = json_dumps(o, JSON_COMPACT);
        err = *text != NULL ? AG_OK : AG_ERR_NOMEM;
    }
    json_decref(o);
    return err;
}

static ag_err issue_gen(const ag_issuer *is, const igen *g, const ag_issue_params *p, char *buf,
                        size_t cap, ag_issued *info);

ag_err ag_issue(const ag_issuer *is, const ag_issue_params *p, char *buf, size_t cap,
                ag_issued *info)
{
    if (buf != NULL && cap > 0)
        buf[0] = '\0'; /* empty on every refusal, whichever check refuses */
    ag_issue_params sized;
    AG__SIZED_OR_RETURN(p, sized);
    if (is == NULL || p == NULL || buf == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (info != NULL && ag__sized_out(info, sizeof *info) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT; /* optional, but when given made with AG_INIT */
    ag__swap_ticket t;
    const igen *g = (const igen *)(void *)ag__swap_enter((ag__swap *)(uintptr_t)&is->gen, &t);
    ag_err err = issue_gen(is, g, p, buf, cap, info);
    ag__swap_leave(&t);
    return err;
}

/* ag_issue with the signing key generation g held. */
static ag_err issue_gen(const ag_issuer *is, const igen *g, const ag_issue_params *p, char *buf,
                        size_t cap, ag_issued *info)
{
    if (cap > 0)
        buf[0] = '\0';
    if (p->sub == NULL || p->sub[0] == '\0' || (p->nclaims > 0 && p->claims == NULL) || p->ttl < 0)
        return AG_ERR_INVALID_ARGUMENT;
    if (is->kind == AG_TOKEN_REFRESH && (p->sid == NULL || p->sid[0] == '\0'))
        return AG_ERR_INVALID_ARGUMENT;
    if (p->sid != NULL && p->sid[0] == '\0')
        return AG_ERR_INVALID_ARGUMENT;

    char jti[65];
    if (p->jti != NULL) {
        if (!jti_valid(p->jti))
            return AG_ERR_INVALID_ARGUMENT;
        memcpy(jti, p->jti, strlen(p->jti) + 1);
    } else {
        uint8_t rnd[32];
        size_t n;
        if (ag__random_id(rnd, sizeof(rnd)) != AG_OK)
            return AG_ERR_CRYPTO;
        ag_err e = ag_base64url_encode(rnd, sizeof(rnd), jti, sizeof(jti), &n);
        OPENSSL_cleanse(rnd, sizeof(rnd));
        if (e != AG_OK)
            return e;
    }

    int64_t iat = p->now != 0 ? p->now : is->clock(is->clock_ctx);
    int64_t ttl = p->ttl != 0 ? p->ttl : is->ttl;
    if (iat < 0 || iat > AG_NUMERICDATE_MAX || ttl > AG_NUMERICDATE_MAX - iat)
        return AG_ERR_INVALID_ARGUMENT;
    int64_t exp = iat + ttl;

    char fast[AG_PAYLOAD_MAX_LEN];
    char *payload = fast, *dumped = NULL;
    size_t plen = 0;
    ag_err err;
    if (p->nclaims == 0) {
        err = write_payload(is, p, jti, iat, exp, fast, sizeof(fast), &plen);
    } else {
        err = build_payload(is, p, jti, iat, exp, &dumped);
        if (err == AG_OK) {
            payload = dumped;
            plen = strlen(dumped);
        }
    }
    if (err != AG_OK)
        return err;

    size_t sig_b64 = AG_B64URL_ENCODED_LEN(g->key->sig_len);
    size_t total = g->header_len + 1 + AG_B64URL_ENCODED_LEN(plen) + 1 + sig_b64;
    if (total > AG_TOKEN_MAX_LEN || total + 1 > cap) {
        free(dumped);
        return total > AG_TOKEN_MAX_LEN ? AG_ERR_TOO_LARGE : AG_ERR_BUFFER;
    }

    size_t n = g->header_len, w;
    memcpy(buf, g->header_b64, n);
    buf[n++] = '.';
    err = ag__base64url_encode_fast((const uint8_t *)payload, plen, buf + n, cap - n, &w);
    free(dumped);
    if (err != AG_OK)
        return err;
    n += w;

    uint8_t sig[SIG_MAX];
    size_t sig_len = 0;
    err = ag__sign(g->key, (const uint8_t *)buf, n, sig, sizeof(sig), &sig_len);
    if (err == AG_OK) {
        buf[n++] = '.';
        err = ag__base64url_encode_fast(sig, sig_len, buf + n, cap - n, &w);
        n += w;
    }
    if (err != AG_OK) {
        OPENSSL_cleanse(buf, cap);
        return err;
    }
    buf[n] = '\0';
    if (info != NULL) {
        memcpy(info->jti, jti, sizeof(jti));
        info->iat = iat;
        info->exp = exp;
        info->len = n;
    }
    return AG_OK;
}

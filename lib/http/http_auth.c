/* SPDX-License-Identifier: MIT */
/*
 * authgate — the extraction policy and the calls a server makes:
 * request → verified access claims (the hot path), and request → refresh
 * credential with its channel (H-03, H-04, C-01, C-02).
 */
#include <string.h>

#include "http_int.h"

/* ------------------------------------------------------------------ */
/* Policy                                                              */
/* ------------------------------------------------------------------ */

#define SPAN_LIT(s)                                                                                \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

static const ag_http_policy default_policy = {
    .alloc = NULL,
    .access_sources = AG_SOURCE_HEADER,
    .refresh_sources = AG_SOURCE_HEADER | AG_SOURCE_COOKIE,
    .access_cookie = SPAN_LIT(AG_COOKIE_ACCESS),
    .refresh_cookie = SPAN_LIT(AG_COOKIE_REFRESH),
    .csrf_cookie = SPAN_LIT(AG_COOKIE_CSRF),
    .csrf_header = SPAN_LIT(AG_HEADER_CSRF),
    .origins = NULL,
    .norigins = 0,
    .allow_same_site = false,
    .names_ = NULL,
};

const ag_http_policy *ag__http_policy_default(void)
{
    return &default_policy;
}

static bool is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (!ag__is_tchar((uint8_t)*s))
            return false;
    }
    return true;
}

/* Credential and CSRF cookies need a prefix the browser enforces (H-09). */
static bool is_prefixed_cookie_name(const char *s)
{
    return is_token(s) && (strncmp(s, "__Host-", 7) == 0 || strncmp(s, "__Secure-", 9) == 0) &&
           strlen(s) < AG_COOKIE_MAX_LEN;
}

static bool is_origin(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if ((uint8_t)*s <= 0x20 || (uint8_t)*s >= 0x7f || *s == ',')
            return false;
    }
    return true;
}

static size_t slen(const char *s)
{
    return strlen(s);
}

ag_err ag_http_policy_new(const ag_http_policy_config *cfg, ag_http_policy **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ag_http_policy_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    if (cfg == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    const unsigned all = AG_SOURCE_HEADER | AG_SOURCE_COOKIE;
    if ((cfg->access_sources & ~all) != 0 || (cfg->refresh_sources & ~all) != 0)
        return AG_ERR_INVALID_ARGUMENT;
    const char *names[4] = {
        cfg->access_cookie != NULL ? cfg->access_cookie : AG_COOKIE_ACCESS,
        cfg->refresh_cookie != NULL ? cfg->refresh_cookie : AG_COOKIE_REFRESH,
        cfg->csrf_cookie != NULL ? cfg->csrf_cookie : AG_COOKIE_CSRF,
        cfg->csrf_header != NULL ? cfg->csrf_header : AG_HEADER_CSRF,
    };
    for (size_t i = 0; i < 3; i++) {
        if (!is_prefixed_cookie_name(names[i]))
            return AG_ERR_INVALID_ARGUMENT;
    }
    if (!is_token(names[3]) || slen(names[3]) > 256)
        return AG_ERR_INVALID_ARGUMENT;
    if (cfg->norigins > 0 && cfg->origins == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (cfg->norigins > 64)
        return AG_ERR_INVALID_ARGUMENT;
    size_t total = 0;
    for (size_t i = 0; i < 4; i++)
        total += slen(names[i]) + 1;
    for (size_t i = 0; i < cfg->norigins; i++) {
        if (!is_origin(cfg->origins[i]) || slen(cfg->origins[i]) > 1024)
            return AG_ERR_INVALID_ARGUMENT;
        total += slen(cfg->origins[i]) + 1;
    }

    ag_http_policy *p = ag__calloc(cfg->alloc, sizeof *p);
    if (p == NULL)
        return AG_ERR_NOMEM;
    p->alloc = cfg->alloc;
    p->names_ = ag__malloc(cfg->alloc, total);
    if (cfg->norigins > 0)
        p->origins = ag__calloc(cfg->alloc, cfg->norigins * sizeof *p->origins);
    if (p->names_ == NULL || (cfg->norigins > 0 && p->origins == NULL)) {
        ag_http_policy_free(p);
        return AG_ERR_NOMEM;
    }
    char *w = p->names_;
    ag_span *dst[4] = {&p->access_cookie, &p->refresh_cookie, &p->csrf_cookie, &p->csrf_header};
    for (size_t i = 0; i < 4; i++) {
        size_t n = slen(names[i]);
        memcpy(w, names[i], n + 1);
        *dst[i] = (ag_span){(const uint8_t *)w, n};
        w += n + 1;
    }
    for (size_t i = 0; i < cfg->norigins; i++) {
        size_t n = slen(cfg->origins[i]);
        memcpy(w, cfg->origins[i], n + 1);
        p->origins[i] = (ag_span){(const uint8_t *)w, n};
        w += n + 1;
    }
    p->norigins = cfg->norigins;
    p->access_sources = cfg->access_sources != 0 ? cfg->access_sources : AG_SOURCE_HEADER;
    p->refresh_sources = cfg->refresh_sources != 0 ? cfg->refresh_sources : all;
    p->allow_same_site = cfg->allow_same_site;
    *out = p;
    return AG_OK;
}

void ag_http_policy_free(ag_http_policy *policy)
{
    if (policy == NULL)
        return;
    const ag_allocator *a = policy->alloc;
    ag__free(a, policy->origins);
    ag__free(a, policy->names_);
    ag__free(a, policy);
}

bool ag_http_policy_wants_header(const ag_http_policy *policy, const uint8_t *name, size_t len)
{
    const ag_http_policy *p = policy != NULL ? policy : &default_policy;
    if (name == NULL)
        return false;
    return ag__ci_eq(name, len, "Authorization", 13) || ag__ci_eq(name, len, "Cookie", 6) ||
           ag__ci_eq(name, len, "Host", 4) || ag__ci_eq(name, len, "Origin", 6) ||
           ag__ci_eq(name, len, "Sec-Fetch-Site", 14) ||
           ag__ci_eq(name, len, (const char *)p->csrf_header.ptr, p->csrf_header.len);
}

/* ------------------------------------------------------------------ */
/* Extraction                                                          */
/* ------------------------------------------------------------------ */

/* GET, HEAD, OPTIONS and TRACE never change state (RFC 9110 §9.2.1);
 * methods are case-sensitive. */
static bool method_is_safe(ag_span m)
{
    return (m.len == 3 && memcmp(m.ptr, "GET", 3) == 0) ||
           (m.len == 4 && memcmp(m.ptr, "HEAD", 4) == 0) ||
           (m.len == 7 && memcmp(m.ptr, "OPTIONS", 7) == 0) ||
           (m.len == 5 && memcmp(m.ptr, "TRACE", 5) == 0);
}

/*
 * One credential from the allowed sources: Authorization and/or a cookie.
 * Both present is ambiguous (H-04). csrf_always: the cookie channel needs
 * CSRF proof on every method (refresh), else only on unsafe methods.
 */
static ag_err extract(const ag_http_policy *p, const ag_http_request *req, unsigned sources,
                      ag_span cookie_name, bool csrf_always, ag_http_credential *out)
{
    out->token = (ag_span){NULL, 0};
    out->csrf = (ag_span){NULL, 0};
    out->source = AG_SOURCE_HEADER;
    if (req->headers == NULL && req->nheaders > 0)
        return AG_ERR_INVALID_ARGUMENT;
    ag_err e = ag_http_check_query(req->query.ptr, req->query.len);
    if (e != AG_OK)
        return e;

    ag_span from_header = {NULL, 0}, from_cookie = {NULL, 0};
    bool have_header = false, have_cookie = false;
    if (sources & AG_SOURCE_HEADER) {
        e = ag_http_find_bearer(req->headers, req->nheaders, &from_header);
        if (e == AG_OK)
            have_header = true;
        else if (e != AG_ERR_NO_CREDENTIALS)
            return e;
    }
    if (sources & AG_SOURCE_COOKIE) {
        e = ag_http_find_cookie(req->headers, req->nheaders, cookie_name.ptr, cookie_name.len,
                                &from_cookie);
        if (e == AG_OK)
            have_cookie = true;
        else if (e != AG_ERR_NOT_FOUND)
            return e;
    }
    if (have_header && have_cookie)
        return AG_ERR_AMBIGUOUS;
    if (have_header) {
        out->token = from_header;
        return AG_OK;
    }
    if (!have_cookie)
        return AG_ERR_NO_CREDENTIALS;
    if (csrf_always || !method_is_safe(req->method)) {
        e = ag__csrf_request_check(p, req, &out->csrf);
        if (e != AG_OK)
            return e;
    }
    out->token = from_cookie;
    out->source = AG_SOURCE_COOKIE;
    return AG_OK;
}

ag_err ag_http_authenticate(const ag_http_policy *policy, const ag_verifier *v,
                            const ag_http_request *req, void *scratch, size_t scratch_len,
                            ag_claims *out)
{
    if (v == NULL || req == NULL || out == NULL || scratch == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    /* out made with AG_INIT: refused at once, not only when a token came */
    if (ag__sized_out(out, sizeof *out) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    out->verifier_ = NULL; /* an earlier request's claims: unverified from here */
    ag_http_request sized;
    AG__SIZED_OR_RETURN(req, sized);
    const ag_http_policy *p = policy != NULL ? policy : &default_policy;
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ag_err e = extract(p, req, p->access_sources, p->access_cookie, false, &cred);
    if (e != AG_OK)
        return e;
    return ag_verify(v, cred.token.ptr, cred.token.len, scratch, scratch_len, out);
}

ag_err ag__http_refresh_credential(const ag_http_policy *policy, const ag_http_request *req,
                                   ag_http_credential *out)
{
    if (req == NULL || out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    const ag_http_policy *p = policy != NULL ? policy : &default_policy;
    return extract(p, req, p->refresh_sources, p->refresh_cookie, true, out);
}

ag_err ag_http_refresh_verify(const ag_http_policy *policy, const ag_verifier *v,
                              const uint8_t *csrf_secret, size_t csrf_secret_len,
                              const ag_http_request *req, void *scratch, size_t scratch_len,
                              ag_http_credential *out, ag_claims *claims)
{
    if (v == NULL || req == NULL || out == NULL || claims == NULL || scratch == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (ag__sized_out(out, sizeof *out) != AG_OK || ag__sized_out(claims, sizeof *claims) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    claims->verifier_ = NULL; /* unusable by ag_session_*_verified() unless this call succeeds */
    ag_http_request sized;
    AG__SIZED_OR_RETURN(req, sized);
    const ag_http_policy *p = policy != NULL ? policy : &default_policy;
    if ((p->refresh_sources & AG_SOURCE_COOKIE) &&
        (csrf_secret == NULL || csrf_secret_len < AG_CSRF_SECRET_MIN))
        return AG_ERR_INVALID_ARGUMENT;
    ag_err e = ag__http_refresh_credential(p, req, out);
    if (e != AG_OK)
        return e;
    e = ag_verify(v, out->token.ptr, out->token.len, scratch, scratch_len, claims);
    if (e != AG_OK || out->source != AG_SOURCE_COOKIE)
        return e;
    e = claims->sid.len == 0 ? AG_ERR_CLAIM
                             : ag_csrf_token_check(csrf_secret, csrf_secret_len, claims->sid.ptr,
                                                   claims->sid.len, out->csrf.ptr, out->csrf.len);
    if (e != AG_OK)
        claims->verifier_ = NULL; /* not usable by ag_session_*_verified() */
    return e;
}

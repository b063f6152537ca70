/* SPDX-License-Identifier: MIT */
/*
 * ngx_http_authgate_module — verified claims to the upstream: request
 * headers (authgate_claim_header) and $authgate_claim_<name> variables.
 *
 * A claim header is stripped from what the client sent before the claim's
 * value is added, so a backend can trust it. '-' and '_' count as the same
 * character when stripping: FastCGI, uwsgi and SCGI turn both into '_'.
 *
 * Variables: nginx resolves a prefix variable by name at runtime, but the
 * claims live only while the access handler runs. So the configuration's
 * indexed $authgate_claim_<name> variables are listed once per cycle
 * (init_module) and filled straight into r->variables[] on success; any
 * other lookup finds nothing.
 */
#include "ngx_http_authgate.h"

#define AG_NGX_VAR_PREFIX "authgate_claim_"
/* Most claim values fit here; longer ones are decoded into the pool. */
#define AG_NGX_CLAIM_SMALL 256

/* ---- rendering a claim -------------------------------------------------- */

/* Printable in a header field: no control byte (CR, LF, NUL...) at all. */
static ngx_flag_t ngx_http_authgate_field_safe(const u_char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return 0;
    }
    return 1;
}

/*
 * A claim as text: a string claim decoded, any other JSON value as its JSON
 * text. NGX_DECLINED when absent or not fit for a header field.
 */
static ngx_int_t ngx_http_authgate_render(ngx_pool_t *pool, const ag_claims *claims,
                                          const char *name, ngx_str_t *out)
{
    char small[AG_NGX_CLAIM_SMALL];
    size_t len = 0;
    u_char *p;
    ag_err e = ag_claims_get_string(claims, name, small, sizeof small, &len);
    if (e == AG_OK) {
        p = ngx_pnalloc(pool, len > 0 ? len : 1);
        if (p == NULL)
            return NGX_ERROR;
        ngx_memcpy(p, small, len);
    } else if (e == AG_ERR_BUFFER) {
        p = ngx_pnalloc(pool, len + 1);
        if (p == NULL)
            return NGX_ERROR;
        if (ag_claims_get_string(claims, name, (char *)p, len + 1, &len) != AG_OK)
            return NGX_DECLINED;
    } else if (e == AG_ERR_CLAIM) {
        ag_span json;
        if (ag_claims_get_json(claims, name, &json) != AG_OK)
            return NGX_DECLINED;
        len = json.len;
        p = ngx_pnalloc(pool, len > 0 ? len : 1);
        if (p == NULL)
            return NGX_ERROR;
        ngx_memcpy(p, json.ptr, len);
    } else {
        return NGX_DECLINED;
    }
    if (!ngx_http_authgate_field_safe(p, len))
        return NGX_DECLINED;
    out->data = p;
    out->len = len;
    return NGX_OK;
}

/* ---- authgate_claim_header ---------------------------------------------- */

/* Fields nginx or the upstream connection interprets: never from a claim. */
static const char *const ngx_http_authgate_reserved[] = {"host",
                                                         "authorization",
                                                         "proxy-authorization",
                                                         "cookie",
                                                         "content-length",
                                                         "content-type",
                                                         "transfer-encoding",
                                                         "connection",
                                                         "keep-alive",
                                                         "te",
                                                         "trailer",
                                                         "upgrade",
                                                         "expect",
                                                         NULL};

/* RFC 9110 tchar */
static ngx_flag_t ngx_http_authgate_is_token(const ngx_str_t *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (s->len == 0)
        return 0;
    for (size_t i = 0; i < s->len; i++) {
        u_char c = s->data[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (c == '\0' ||
            ngx_strlchr((u_char *)extra, (u_char *)extra + sizeof extra - 1, c) == NULL)
            return 0;
    }
    return 1;
}

/* Header names equal ignoring case, with '-' and '_' the same. */
static ngx_flag_t ngx_http_authgate_same_field(const u_char *a, size_t alen, const u_char *b,
                                               size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        u_char x = ngx_tolower(a[i]), y = ngx_tolower(b[i]);
        if (x == '_')
            x = '-';
        if (y == '_')
            y = '-';
        if (x != y)
            return 0;
    }
    return 1;
}

char *ngx_http_authgate_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_authgate_loc_conf_t *alcf = conf;
    ngx_str_t *value = cf->args->elts;
    (void)cmd;

    if (value[1].len == 0 || value[1].len > AG_NGX_CLAIM_SMALL)
        return "has an empty or too long claim name";
    if (!ngx_http_authgate_is_token(&value[2]))
        return "has an invalid header name";
    u_char *low = ngx_pnalloc(cf->pool, value[2].len);
    if (low == NULL)
        return NGX_CONF_ERROR;
    ngx_strlow(low, value[2].data, value[2].len);
    for (const char *const *r = ngx_http_authgate_reserved; *r != NULL; r++) {
        if (ngx_http_authgate_same_field(low, value[2].len, (const u_char *)*r, ngx_strlen(*r))) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "authgate_claim_header: \"%V\" cannot carry a claim", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    if (alcf->claim_headers == NGX_CONF_UNSET_PTR || alcf->claim_headers == NULL) {
        alcf->claim_headers =
            ngx_array_create(cf->pool, 4, sizeof(ngx_http_authgate_claim_header_t));
        if (alcf->claim_headers == NULL)
            return NGX_CONF_ERROR;
    }
    ngx_http_authgate_claim_header_t *ch = alcf->claim_headers->elts;
    for (ngx_uint_t i = 0; i < alcf->claim_headers->nelts; i++) {
        if (ngx_http_authgate_same_field(ch[i].lowcase.data, ch[i].lowcase.len, low, value[2].len))
            return "names the same header twice";
    }
    ch = ngx_array_push(alcf->claim_headers);
    if (ch == NULL)
        return NGX_CONF_ERROR;
    ch->claim = value[1]; /* the configuration parser NUL-terminates its words */
    ch->header = value[2];
    ch->lowcase.data = low;
    ch->lowcase.len = value[2].len;
    ch->hash = ngx_hash_key(low, value[2].len);
    return NGX_CONF_OK;
}

/* True when the client sent a field named like one of the claim headers. */
static ngx_flag_t ngx_http_authgate_is_claim_field(const ngx_array_t *chs, const ngx_table_elt_t *h)
{
    const ngx_http_authgate_claim_header_t *ch = chs->elts;
    for (ngx_uint_t k = 0; k < chs->nelts; k++) {
        if (ngx_http_authgate_same_field(h->key.data, h->key.len, ch[k].lowcase.data,
                                         ch[k].lowcase.len))
            return 1;
    }
    return 0;
}

/* Drops the client's fields named like a claim header (usually none: no copy). */
static ngx_int_t ngx_http_authgate_strip(ngx_http_request_t *r, const ngx_array_t *chs)
{
    ngx_uint_t total = 0, hit = 0, i;
    ngx_list_part_t *part;
    ngx_table_elt_t *h;

    for (part = &r->headers_in.headers.part; part != NULL; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            total++;
            hit += ngx_http_authgate_is_claim_field(chs, &h[i]);
        }
    }
    if (hit == 0)
        return NGX_OK;

    /* ngx_list_t has no delete: rebuild it without them, in the request pool */
    ngx_list_t fresh;
    if (ngx_list_init(&fresh, r->pool, total - hit + chs->nelts, sizeof(ngx_table_elt_t)) != NGX_OK)
        return NGX_ERROR;
    for (part = &r->headers_in.headers.part; part != NULL; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (ngx_http_authgate_is_claim_field(chs, &h[i]))
                continue;
            ngx_table_elt_t *e = ngx_list_push(&fresh);
            if (e == NULL)
                return NGX_ERROR;
            *e = h[i];
        }
    }
    r->headers_in.headers = fresh;
    if (fresh.last == &fresh.part) /* it pointed into this stack frame */
        r->headers_in.headers.last = &r->headers_in.headers.part;
    return NGX_OK;
}

static ngx_int_t ngx_http_authgate_set_headers(ngx_http_request_t *r, const ngx_array_t *chs,
                                               const ag_claims *claims)
{
    if (ngx_http_authgate_strip(r, chs) != NGX_OK)
        return NGX_ERROR;
    const ngx_http_authgate_claim_header_t *ch = chs->elts;
    for (ngx_uint_t k = 0; k < chs->nelts; k++) {
        ngx_str_t v;
        ngx_int_t rc =
            ngx_http_authgate_render(r->pool, claims, (const char *)ch[k].claim.data, &v);
        if (rc == NGX_ERROR)
            return NGX_ERROR;
        if (rc != NGX_OK)
            continue; /* absent claim: no header, and the client's is gone */
        ngx_table_elt_t *h = ngx_list_push(&r->headers_in.headers);
        if (h == NULL)
            return NGX_ERROR;
        h->hash = ch[k].hash;
        h->key = ch[k].header;
        h->lowcase_key = ch[k].lowcase.data;
        h->value = v;
    }
    return NGX_OK;
}

/* ---- $authgate_claim_<name> --------------------------------------------- */

static ngx_int_t ngx_http_authgate_var_unset(ngx_http_request_t *r, ngx_http_variable_value_t *v,
                                             uintptr_t data)
{
    (void)r;
    (void)data;
    v->not_found = 1;
    return NGX_OK;
}

ngx_int_t ngx_http_authgate_add_variables(ngx_conf_t *cf)
{
    ngx_str_t name = ngx_string(AG_NGX_VAR_PREFIX);
    ngx_http_variable_t *v = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_PREFIX);
    if (v == NULL)
        return NGX_ERROR;
    v->get_handler = ngx_http_authgate_var_unset;
    v->data = 0;
    return NGX_OK;
}

ngx_int_t ngx_http_authgate_collect_variables(ngx_cycle_t *cycle)
{
    ngx_http_authgate_main_conf_t *amcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_authgate_module);
    ngx_http_core_main_conf_t *cmcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module);
    if (amcf == NULL || cmcf == NULL)
        return NGX_OK; /* no http block */
    const size_t plen = sizeof(AG_NGX_VAR_PREFIX) - 1;
    ngx_http_variable_t *v = cmcf->variables.elts;
    for (ngx_uint_t i = 0; i < cmcf->variables.nelts; i++) {
        if (v[i].name.len <= plen || ngx_strncmp(v[i].name.data, AG_NGX_VAR_PREFIX, plen) != 0)
            continue;
        if (amcf->vars == NULL) {
            amcf->vars = ngx_array_create(cycle->pool, 4, sizeof(ngx_http_authgate_claim_var_t));
            if (amcf->vars == NULL)
                return NGX_ERROR;
        }
        ngx_http_authgate_claim_var_t *cv = ngx_array_push(amcf->vars);
        if (cv == NULL)
            return NGX_ERROR;
        size_t n = v[i].name.len - plen;
        cv->index = i;
        cv->claim = ngx_pnalloc(cycle->pool, n + 1);
        if (cv->claim == NULL)
            return NGX_ERROR;
        ngx_memcpy(cv->claim, v[i].name.data + plen, n);
        cv->claim[n] = '\0';
    }
    return NGX_OK;
}

static ngx_int_t ngx_http_authgate_set_variables(ngx_http_request_t *r, const ngx_array_t *vars,
                                                 const ag_claims *claims)
{
    const ngx_http_authgate_claim_var_t *cv = vars->elts;
    for (ngx_uint_t k = 0; k < vars->nelts; k++) {
        ngx_http_variable_value_t *vv = &r->variables[cv[k].index];
        ngx_str_t s;
        ngx_int_t rc = ngx_http_authgate_render(r->pool, claims, cv[k].claim, &s);
        if (rc == NGX_ERROR)
            return NGX_ERROR;
        vv->valid = 1;
        vv->no_cacheable = 0;
        vv->escape = 0;
        if (rc != NGX_OK) {
            vv->not_found = 1;
            vv->len = 0;
            vv->data = NULL;
            continue;
        }
        vv->not_found = 0;
        vv->len = (unsigned)s.len;
        vv->data = s.data;
    }
    return NGX_OK;
}

ngx_int_t ngx_http_authgate_apply_claims(ngx_http_request_t *r, ngx_http_authgate_loc_conf_t *alcf,
                                         const ag_claims *claims)
{
    if (alcf->claim_headers != NULL && alcf->claim_headers->nelts > 0 &&
        ngx_http_authgate_set_headers(r, alcf->claim_headers, claims) != NGX_OK)
        return NGX_ERROR;
    ngx_http_authgate_main_conf_t *amcf =
        ngx_http_get_module_main_conf(r, ngx_http_authgate_module);
    if (amcf->vars != NULL && ngx_http_authgate_set_variables(r, amcf->vars, claims) != NGX_OK)
        return NGX_ERROR;
    return NGX_OK;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — libmicrohttpd adapter: collects a request's header fields
 * (every occurrence, M-01) and hands them to lib/http; builds JSON, error
 * and Set-Cookie responses.
 *
 * Uses only authgate's public API (this file is linked against the shared
 * libauthgate, which exports nothing else). Never reads MHD_COOKIE_KIND
 * (M-03); reads MHD_GET_ARGUMENT_KIND only to refuse credentials (H-03).
 */
#include <string.h>
#include <strings.h>

#include "authgate/mhd.h"

/* ---- header collection ------------------------------------------------- */

typedef struct collect {
    const ag_http_policy *policy;
    ag_header h[AG_MHD_MAX_FIELDS];
    size_t n;
    bool overflow;
} collect;

static enum MHD_Result collect_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    collect *c = cls;
    (void)kind;
    if (key == NULL)
        return MHD_YES;
    if (!ag_http_policy_wants_header(c->policy, (const uint8_t *)key, key_size))
        return MHD_YES;
    if (c->n == AG_MHD_MAX_FIELDS) {
        c->overflow = true;
        return MHD_NO;
    }
    c->h[c->n].name = (ag_span){(const uint8_t *)key, key_size};
    c->h[c->n].value =
        (ag_span){(const uint8_t *)(value != NULL ? value : ""), value != NULL ? value_size : 0};
    c->n++;
    return MHD_YES;
}

/* True when a piece of a decoded argument, cut at ';', names a URL
 * credential: the name is the piece up to its first '='. */
static bool piece_is_credential(const char *p, size_t n)
{
    size_t eq = 0;
    while (eq < n && p[eq] != '=')
        eq++;
    return ag_http_is_url_credential_name((const uint8_t *)p, eq);
}

/* MHD splits the query at '&' only, so "a=1;access_token=x" arrives as
 * key "a" and value "1;access_token=x", and "a;access_token=x" as key
 * "a;access_token". ag_http_check_query() splits at ';' too (H-03): cut
 * the decoded key and value at ';' and check every name in them. A ';'
 * that was sent as %3B is cut as well — more refusals, never fewer. */
static bool argument_is_credential(const char *key, size_t key_size, const char *value,
                                   size_t value_size)
{
    size_t s = 0;
    for (size_t i = 0; i <= key_size; i++) {
        if (i == key_size || key[i] == ';') {
            if (ag_http_is_url_credential_name((const uint8_t *)key + s, i - s))
                return true;
            s = i + 1;
        }
    }
    if (value == NULL)
        return false;
    size_t i = 0;
    while (i < value_size && value[i] != ';')
        i++; /* the first piece is the key's value */
    while (i < value_size) {
        s = ++i;
        while (i < value_size && value[i] != ';')
            i++;
        if (piece_is_credential(value + s, i - s))
            return true;
    }
    return false;
}

static enum MHD_Result url_cb(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                              const char *value, size_t value_size)
{
    bool *found = cls;
    (void)kind;
    if (key != NULL && argument_is_credential(key, key_size, value, value_size)) {
        *found = true;
        return MHD_NO;
    }
    return MHD_YES;
}

ag_err ag_mhd_check_url(struct MHD_Connection *conn)
{
    if (conn == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    bool found = false;
    (void)MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, url_cb, &found);
    return found ? AG_ERR_URL_CREDENTIALS : AG_OK;
}

/* Idempotency-Key fields, every occurrence (two are enough to refuse). */
typedef struct keys {
    ag_header h[2];
    size_t n;
} keys;

static enum MHD_Result key_cb(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                              const char *value, size_t value_size)
{
    keys *k = cls;
    static const char name[] = "Idempotency-Key";
    (void)kind;
    if (key == NULL || key_size != sizeof name - 1 || strncasecmp(key, name, key_size) != 0)
        return MHD_YES;
    k->h[k->n].name = (ag_span){(const uint8_t *)key, key_size};
    k->h[k->n].value =
        (ag_span){(const uint8_t *)(value != NULL ? value : ""), value != NULL ? value_size : 0};
    return ++k->n < 2 ? MHD_YES : MHD_NO;
}

ag_err ag_mhd_idempotency_key(struct MHD_Connection *conn, ag_span *key)
{
    if (conn == NULL || key == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    keys k = {.n = 0};
    (void)MHD_get_connection_values_n(conn, MHD_HEADER_KIND, key_cb, &k);
    return ag_http_find_idempotency_key(k.h, k.n, key);
}

/* URL check, then the relevant header fields into c and req. */
static ag_err gather(struct MHD_Connection *conn, const char *method, const ag_http_policy *p,
                     collect *c, ag_http_request *req)
{
    if (conn == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    ag_err e = ag_mhd_check_url(conn);
    if (e != AG_OK)
        return e;
    c->policy = p;
    c->n = 0;
    c->overflow = false;
    (void)MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_cb, c);
    if (c->overflow)
        return AG_ERR_REQUEST;
    memset(req, 0, sizeof *req);
    req->size = sizeof *req;
    if (method != NULL)
        req->method = (ag_span){(const uint8_t *)method, strlen(method)};
    req->headers = c->h;
    req->nheaders = c->n;
    return AG_OK;
}

/* Claims the caller may reuse across requests: checked for AG_INIT before
 * anything else, and emptied (size kept) when the request is refused
 * before ag_http_* sees it, so they never stay verified from an earlier
 * request (a zeroed ag_claims is unverified). */
static bool claims_sized(const ag_claims *c)
{
    return c != NULL && c->size >= sizeof *c;
}

static void claims_unverified(ag_claims *c)
{
    size_t n = c->size;
    memset(c, 0, sizeof *c);
    c->size = n;
}

ag_err ag_mhd_authenticate(struct MHD_Connection *conn, const char *method,
                           const ag_http_policy *policy, const ag_verifier *v, void *scratch,
                           size_t scratch_len, ag_claims *out)
{
    if (!claims_sized(out))
        return AG_ERR_INVALID_ARGUMENT;
    collect c;
    ag_http_request req;
    ag_err e = gather(conn, method, policy, &c, &req);
    if (e != AG_OK) {
        claims_unverified(out);
        return e;
    }
    return ag_http_authenticate(policy, v, &req, scratch, scratch_len, out);
}

ag_err ag_mhd_refresh_verify(struct MHD_Connection *conn, const char *method,
                             const ag_http_policy *policy, const ag_verifier *v,
                             const uint8_t *csrf_secret, size_t csrf_secret_len, void *scratch,
                             size_t scratch_len, ag_http_credential *out, ag_claims *claims)
{
    if (!claims_sized(claims) || out == NULL || out->size < sizeof *out)
        return AG_ERR_INVALID_ARGUMENT;
    collect c;
    ag_http_request req;
    ag_err e = gather(conn, method, policy, &c, &req);
    if (e != AG_OK) {
        claims_unverified(claims);
        return e;
    }
    return ag_http_refresh_verify(policy, v, csrf_secret, csrf_secret_len, &req, scratch,
                                  scratch_len, out, claims);
}

/* ---- responses ----------------------------------------------------------- */

struct MHD_Response *ag_mhd_json_response(const char *json, size_t len)
{
    if (json == NULL && len > 0)
        return NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)(json != NULL ? json : ""), MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return NULL;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES ||
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

enum MHD_Result ag_mhd_queue_json(struct MHD_Connection *conn, unsigned int status,
                                  const char *json, size_t len)
{
    struct MHD_Response *r = ag_mhd_json_response(json, len);
    if (r == NULL)
        return MHD_NO;
    enum MHD_Result q = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return q;
}

/* Appends s as a JSON string; s is static printable ASCII from the error
 * map, escaped anyway. Returns false when out of room. */
static bool json_str(char *buf, size_t cap, size_t *n, const char *s)
{
    if (*n + 1 >= cap)
        return false;
    buf[(*n)++] = '"';
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch >= 0x7f)
            continue; /* never in the map's text; dropped rather than escaped */
        if (ch == '"' || ch == '\\') {
            if (*n + 2 >= cap)
                return false;
            buf[(*n)++] = '\\';
        }
        if (*n + 1 >= cap)
            return false;
        buf[(*n)++] = (char)ch;
    }
    if (*n + 1 >= cap)
        return false;
    buf[(*n)++] = '"';
    return true;
}

static bool json_lit(char *buf, size_t cap, size_t *n, const char *s)
{
    size_t l = strlen(s);
    if (*n + l >= cap)
        return false;
    memcpy(buf + *n, s, l);
    *n += l;
    return true;
}

enum MHD_Result ag_mhd_queue_error(struct MHD_Connection *conn, ag_err err,
                                   ag_http_endpoint endpoint, const char *realm)
{
    ag_http_error m = ag_http_error_for(err, endpoint);
    if (m.status < 400) /* AG_OK is not an error to queue */
        m = ag_http_error_for(AG_ERR_INVALID_ARGUMENT, endpoint);
    char body[512];
    size_t n = 0;
    /* No credentials at a resource: no error code in the body either, as
     * in WWW-Authenticate (RFC 6750 §3.1). */
    bool ok = json_lit(body, sizeof body, &n, "{") &&
              (m.error == NULL || (json_lit(body, sizeof body, &n, "\"error\":") &&
                                   json_str(body, sizeof body, &n, m.error) &&
                                   json_lit(body, sizeof body, &n, ","))) &&
              json_lit(body, sizeof body, &n, "\"error_description\":") &&
              json_str(body, sizeof body, &n, m.description) &&
              json_lit(body, sizeof body, &n, "}");
    if (!ok)
        return MHD_NO;
    struct MHD_Response *r = ag_mhd_json_response(body, n);
    if (r == NULL)
        return MHD_NO;
    if (m.www_authenticate) {
        char www[512];
        ag_err e = ag_www_authenticate_build(realm != NULL ? realm : "authgate", m.error,
                                             m.description, www, sizeof www, NULL);
        if (e != AG_OK)
            e = ag_www_authenticate_build("authgate", m.error, m.description, www, sizeof www,
                                          NULL);
        if (e != AG_OK ||
            MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, www) != MHD_YES) {
            MHD_destroy_response(r);
            return MHD_NO;
        }
    }
    enum MHD_Result q = MHD_queue_response(conn, m.status, r);
    MHD_destroy_response(r);
    return q;
}

static ag_err add_cookie(struct MHD_Response *response, const ag_cookie_spec *spec, bool clear)
{
    if (response == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    char buf[AG_COOKIE_MAX_LEN + 512];
    ag_err e = clear ? ag_set_cookie_clear(spec, buf, sizeof buf, NULL)
                     : ag_set_cookie_build(spec, buf, sizeof buf, NULL);
    if (e != AG_OK)
        return e;
    if (MHD_add_response_header(response, MHD_HTTP_HEADER_SET_COOKIE, buf) != MHD_YES)
        return AG_ERR_NOMEM;
    return AG_OK;
}

ag_err ag_mhd_set_cookie(struct MHD_Response *response, const ag_cookie_spec *spec)
{
    return add_cookie(response, spec, false);
}

ag_err ag_mhd_clear_cookie(struct MHD_Response *response, const ag_cookie_spec *spec)
{
    return add_cookie(response, spec, true);
}

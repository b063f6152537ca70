/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — the endpoints, one small function each (docs/demo.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* ---- helpers ---------------------------------------------------------- */

static const char *header_value(const demo_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Login is not authenticated by a cookie, but a cross-site page could
 * still post a crafted text/plain form to it and sign the victim into the
 * attacker's account (login CSRF). Browsers say where a request comes
 * from: refuse Sec-Fetch-Site other than same-origin/none, and an Origin
 * that is not this host. Non-browser clients send neither. */
static bool same_origin(const demo_request *r)
{
    const char *site = header_value(r, "Sec-Fetch-Site");
    const char *origin = header_value(r, "Origin");
    const char *host = header_value(r, MHD_HTTP_HEADER_HOST);
    if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return false;
    if (origin != NULL) {
        const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
                           : strncmp(origin, "https://", 8) == 0 ? origin + 8
                                                                 : NULL;
        return rest != NULL && host != NULL && strcmp(rest, host) == 0;
    }
    return true;
}

/* The JSON body of a token answer (login and refresh). */
static json_t *token_body(const ag_session_tokens *t, const char *csrf, bool refresh_in_body)
{
    int64_t now = ag_clock_system(NULL);
    json_t *b = json_pack("{s:s, s:s, s:I}", "access_token", t->access, "token_type", "Bearer",
                          "expires_in", (json_int_t)(t->access_exp - now));
    if (b == NULL)
        return NULL;
    if (csrf != NULL)
        json_object_set_new(b, "csrf_token", json_string(csrf));
    if (refresh_in_body) {
        json_object_set_new(b, "refresh_token", json_string(t->refresh));
        json_object_set_new(b, "refresh_expires_in", json_integer(t->refresh_exp - now));
    }
    return b;
}

/* Answers with a fresh pair. Cookie mode: the refresh token goes into the
 * HttpOnly __Host-refresh cookie and never into the body, and a new CSRF
 * token bound to this session (C-02) goes into __Host-csrf (readable by
 * script) and the body. Token mode: both tokens in the body, no cookie. */
static enum MHD_Result send_pair(demo_app *app, demo_request *r, const ag_session_tokens *t,
                                 bool cookie_mode)
{
    char csrf[AG_CSRF_TOKEN_LEN + 1];
    struct MHD_Response *resp;
    ag_cookie_spec spec;
    ag_err e;

    if (!cookie_mode)
        return demo_send_json(r, 200, token_body(t, NULL, true));

    e = ag_csrf_token_make(app->keys->secret, sizeof(app->keys->secret), (const uint8_t *)t->sid,
                           strlen(t->sid), csrf);
    if (e != AG_OK)
        return demo_send_ag_error(r, e, AG_ENDPOINT_REFRESH);
    resp = demo_json_response(token_body(t, csrf, false));
    if (resp == NULL)
        return MHD_NO;
    memset(&spec, 0, sizeof(spec)); /* zero = Secure; HttpOnly; SameSite=Strict; Path=/ */
    spec.size = sizeof spec;
    spec.name = AG_COOKIE_REFRESH;
    spec.value.ptr = (const uint8_t *)t->refresh;
    spec.value.len = t->refresh_len;
    spec.expires_at = t->refresh_exp; /* Max-Age = the token's remaining life (H-09) */
    e = ag_mhd_set_cookie(resp, &spec);
    spec.name = AG_COOKIE_CSRF;
    spec.value.ptr = (const uint8_t *)csrf;
    spec.value.len = strlen(csrf);
    spec.script_readable = true; /* the page copies it into X-CSRF-Token */
    if (e == AG_OK)
        e = ag_mhd_set_cookie(resp, &spec);
    if (e != AG_OK) {
        MHD_destroy_response(resp);
        return demo_send_ag_error(r, e, AG_ENDPOINT_REFRESH);
    }
    return demo_queue(r, 200, resp);
}

/* ---- GET endpoints ------------------------------------------------------ */

enum MHD_Result demo_handle_healthz(demo_app *app, demo_request *r)
{
    (void)app;
    return demo_send_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

enum MHD_Result demo_handle_page(demo_app *app, demo_request *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(app->page), app->page, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Content-Security-Policy", app->csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* How long a client may cache the JWKS: a quarter of the rotation period
 * (60 s to 1 h), 5 minutes without a timer. A new key signs as soon as it
 * is made, so a verifier that meets an unknown kid refetches at once (at
 * most once per interval); max-age only bounds how long a removed key may
 * linger in caches. */
static int64_t jwks_max_age(const demo_options *o)
{
    int64_t a = o->rotate_every > 0 ? o->rotate_every / 4 : 300;
    return a < 60 ? 60 : a > 3600 ? 3600 : a;
}

enum MHD_Result demo_handle_jwks(demo_app *app, demo_request *r)
{
    char *text = demo_sessions_jwks(app->sessions);
    json_t *jwks = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(text);
    struct MHD_Response *resp = demo_json_response(jwks);
    if (resp != NULL) {
        /* public keys, meant to be cached (unlike every other JSON answer) */
        char cc[64];
        snprintf(cc, sizeof(cc), "public, max-age=%lld", (long long)jwks_max_age(app->opt));
        MHD_del_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
    }
    return demo_queue(r, 200, resp);
}

/* Appends s as a JSON string. The claims were decoded from strict JSON, so
 * they are valid UTF-8 without NUL; quote, backslash and control bytes are
 * escaped again. Returns false when buf is full. */
static bool put_string(char *buf, size_t cap, size_t *n, ag_span s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = *n;
    if (o >= cap)
        return false;
    buf[o++] = '"';
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (cap - o < 7)
            return false;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20) {
            memcpy(buf + o, "\\u00", 4);
            buf[o + 4] = hex[c >> 4];
            buf[o + 5] = hex[c & 15];
            o += 6;
        } else {
            buf[o++] = (char)c;
        }
    }
    if (o >= cap)
        return false;
    buf[o++] = '"';
    *n = o;
    return true;
}

/* Appends raw text. */
static bool put_raw(char *buf, size_t cap, size_t *n, const char *z)
{
    size_t len = strlen(z);
    if (cap - *n < len)
        return false;
    memcpy(buf + *n, z, len);
    *n += len;
    return true;
}

/* Appends an integer. */
static bool put_int(char *buf, size_t cap, size_t *n, int64_t v)
{
    int w = snprintf(buf + *n, cap - *n, "%lld", (long long)v);
    if (w < 0 || (size_t)w >= cap - *n)
        return false;
    *n += (size_t)w;
    return true;
}

/* {"sub","iss","aud","exp","iat","jti"} written straight into buf (the
 * hot endpoint: no JSON tree, no allocation). */
static size_t me_body(const ag_claims *c, char *buf, size_t cap)
{
    size_t n = 0;
    bool ok = put_raw(buf, cap, &n, "{\"sub\":") && put_string(buf, cap, &n, c->sub) &&
              put_raw(buf, cap, &n, ",\"iss\":") && put_string(buf, cap, &n, c->iss) &&
              put_raw(buf, cap, &n, ",\"aud\":") && put_string(buf, cap, &n, c->aud) &&
              put_raw(buf, cap, &n, ",\"exp\":") && put_int(buf, cap, &n, c->exp) &&
              put_raw(buf, cap, &n, ",\"iat\":") && put_int(buf, cap, &n, c->iat) &&
              put_raw(buf, cap, &n, ",\"jti\":") && put_string(buf, cap, &n, c->jti) &&
              put_raw(buf, cap, &n, "}");
    return ok ? n : 0;
}

uint8_t *demo_verify_scratch(void)
{
    /* 12 KiB: one per pool thread, reused, rather than on the thread's
     * stack or malloc'd per request */
    static _Thread_local uint8_t scratch[DEMO_SCRATCH_LEN];
    return scratch;
}

enum MHD_Result demo_handle_me(demo_app *app, demo_request *r)
{
    ag_claims c = AG_INIT(ag_claims);
    /* the four strings are each at most the payload's size, escaped ×6 */
    static _Thread_local char body[6 * AG_PAYLOAD_MAX_LEN + 128];
    /* Access tokens come from Authorization: Bearer only (H-01…H-05). */
    ag_err e = ag_mhd_authenticate(r->conn, r->method, app->policy,
                                   demo_sessions_access_verifier(app->sessions),
                                   demo_verify_scratch(), DEMO_SCRATCH_LEN, &c);
    if (e != AG_OK) {
        /* 401 + WWW-Authenticate (RFC 6750 §3), or 400 for a malformed
         * or ambiguous request. */
        return demo_send_ag_error(r, e, AG_ENDPOINT_RESOURCE);
    }
    size_t n = me_body(&c, body, sizeof(body));
    if (n == 0)
        return demo_send_error(r, 500, "server_error", "response too large");
    struct MHD_Response *resp = ag_mhd_json_response(body, n);
    if (resp != NULL)
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    return demo_queue(r, 200, resp);
}

/* ---- POST /auth/login ----------------------------------------------------- */

static const struct sockaddr *client_address(const demo_request *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci != NULL ? ci->client_addr : NULL;
}

/* 429 with Retry-After (RFC 6585 §4, RFC 9110 §10.2.3) in whole seconds. */
static enum MHD_Result send_throttled(demo_request *r, int64_t wait)
{
    char secs[24];
    struct MHD_Response *resp = demo_json_response(
        json_pack("{s:s, s:s}", "error", "slow_down", "error_description",
                  "too many failed logins; retry after the time in Retry-After"));
    snprintf(secs, sizeof(secs), "%lld", (long long)wait);
    if (resp != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    r->reason = "throttled";
    return demo_queue(r, 429, resp);
}

typedef struct login_form {
    const char *username;
    size_t username_len;
    const char *password;
    size_t password_len;
    bool cookie_mode;
} login_form;

/* A JSON string field of 1..max bytes (jansson has already refused
 * invalid UTF-8 and \u0000). */
static bool string_field(json_t *v, size_t max, const char **s, size_t *len)
{
    if (!json_is_string(v))
        return false;
    *s = json_string_value(v);
    *len = json_string_length(v);
    return *len >= 1 && *len <= max;
}

/* Validates the body field by field. Unknown fields are refused, so a
 * typo ("pasword") is a clear 400 instead of a confusing 401. */
static const char *parse_login(json_t *root, login_form *f)
{
    const char *key;
    json_t *v;
    const char *mode = "cookie";
    size_t mode_len = 6;

    if (!json_is_object(root))
        return "body must be a JSON object";
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "username") != 0 && strcmp(key, "password") != 0 &&
            strcmp(key, "session") != 0)
            return "unknown field in body";
    }
    if (!string_field(json_object_get(root, "username"), AG_SUBJECT_MAX_LEN, &f->username,
                      &f->username_len))
        return "username must be a string of 1 to 255 bytes";
    if (!string_field(json_object_get(root, "password"), 1024, &f->password, &f->password_len))
        return "password must be a string of 1 to 1024 bytes";
    v = json_object_get(root, "session");
    if (v != NULL && !string_field(v, 16, &mode, &mode_len))
        return "session must be \"cookie\" or \"token\"";
    if (strcmp(mode, "cookie") == 0)
        f->cookie_mode = true;
    else if (strcmp(mode, "token") == 0)
        f->cookie_mode = false;
    else
        return "session must be \"cookie\" or \"token\"";
    return NULL;
}

enum MHD_Result demo_handle_login(demo_app *app, demo_request *r)
{
    login_form f;
    json_t *root;
    const char *problem;
    enum MHD_Result ret;
    ag_session_tokens *t;
    ag_err e;

    if (!same_origin(r)) {
        r->reason = "cross_site";
        return demo_send_error(r, 403, "invalid_request", "cross-site login refused");
    }
    /* JSON_REJECT_DUPLICATES: {"username":"a","username":"b"} is refused. */
    root = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
    memset(&f, 0, sizeof(f));
    problem = root ? parse_login(root, &f) : "body is not valid JSON";
    if (problem != NULL) {
        json_decref(root);
        r->reason = "bad_body";
        return demo_send_error(r, 400, "invalid_request", problem);
    }
    /* Throttled before any hashing: a refused attempt costs no PBKDF2. */
    const struct sockaddr *client = client_address(r);
    int64_t wait = app->throttle != NULL
                       ? demo_throttle_take(app->throttle, client, f.username, f.username_len)
                       : 0;
    if (wait > 0) {
        json_decref(root);
        return send_throttled(r, wait);
    }
    /* The same answer for an unknown user and a wrong password. */
    if (!demo_users_check(app->users, f.username, f.username_len, f.password, f.password_len)) {
        json_decref(root);
        r->reason = "bad_password";
        return demo_send_error(r, 401, "invalid_grant", "invalid username or password");
    }
    /* Only failures count: a right password gives the tokens back. */
    if (app->throttle != NULL)
        demo_throttle_give(app->throttle, client, f.username, f.username_len);
    /* A new family (session) for this user; its first refresh token is
     * stored as SHA-256(jti) only. f.username is NUL-terminated
     * and NUL-free (jansson refuses \u0000 by default). */
    t = NULL;
    e = ag_session_tokens_new(NULL, &t);
    if (e == AG_OK)
        e = ag_session_issue(demo_sessions_session(app->sessions), f.username, t);
    ret = e == AG_OK ? send_pair(app, r, t, f.cookie_mode)
                     : demo_send_ag_error(r, e, AG_ENDPOINT_REFRESH);
    json_decref(root);
    ag_session_tokens_free(t); /* wipes */
    return ret;
}

/* ---- POST /auth/refresh, /auth/logout, /auth/logout-all ------------------- */

/* Takes the refresh token from the request and verifies it: the cookie
 * channel needs X-CSRF-Token equal to __Host-csrf and bound to the
 * token's own session (C-01, C-02); both channels at once, or duplicate
 * headers or cookies, are refused (H-02, H-04, H-07). Nothing of the store
 * is touched here; the session layer then takes these claims as they are
 * (ag_session_*_verified): a refresh verifies its token once. */
static ag_err take_refresh_token(demo_app *app, demo_request *r, ag_http_credential *cred,
                                 ag_claims *claims)
{
    return ag_mhd_refresh_verify(r->conn, r->method, app->policy,
                                 demo_sessions_refresh_verifier(app->sessions), app->keys->secret,
                                 sizeof(app->keys->secret), demo_verify_scratch(), DEMO_SCRATCH_LEN,
                                 cred, claims);
}

enum MHD_Result demo_handle_refresh(demo_app *app, demo_request *r)
{
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ag_claims *claims = malloc(sizeof(*claims));
    if (claims != NULL)
        *claims = (ag_claims)AG_INIT(ag_claims);
    ag_session_tokens *t = NULL;
    enum MHD_Result ret;
    ag_err e = claims ? ag_session_tokens_new(NULL, &t) : AG_ERR_NOMEM;

    /* The client's name for this refresh, the same on its retry: a retry
     * whose first answer was lost gets the same successor. */
    ag_span key = {NULL, 0};
    if (e == AG_OK) {
        e = ag_mhd_idempotency_key(r->conn, &key);
        if (e == AG_ERR_NOT_FOUND)
            e = AG_OK; /* a refresh without a key: it cannot be retried */
        else if (e != AG_OK)
            e = AG_ERR_REQUEST; /* two keys, or a malformed one: 400 */
    }
    if (e == AG_OK)
        e = take_refresh_token(app, r, &cred, claims);
    /* One atomic rotation: of concurrent refreshes of one token exactly
     * one wins, unless they carry one key; a token already used
     * revokes its family. */
    if (e == AG_OK)
        e = ag_session_refresh_retryable(demo_sessions_session(app->sessions), claims, key.ptr,
                                         key.len, t);
    /* The successor goes back the way the old token came. */
    ret = e == AG_OK ? send_pair(app, r, t, cred.source == AG_SOURCE_COOKIE)
                     : demo_send_ag_error(r, e, AG_ENDPOINT_REFRESH);
    ag_session_tokens_free(t); /* wipes */
    free(claims);
    return ret;
}

/* 204; in cookie mode both cookies are cleared (Max-Age=0, same
 * attributes, so the browser replaces them). */
static enum MHD_Result send_logged_out(demo_request *r, bool cookie_mode)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    ag_cookie_spec spec;
    ag_err e = AG_OK;
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (cookie_mode) {
        memset(&spec, 0, sizeof(spec));
        spec.size = sizeof spec;
        spec.name = AG_COOKIE_REFRESH;
        e = ag_mhd_clear_cookie(resp, &spec);
        spec.name = AG_COOKIE_CSRF;
        spec.script_readable = true;
        if (e == AG_OK)
            e = ag_mhd_clear_cookie(resp, &spec);
    }
    if (e != AG_OK) {
        MHD_destroy_response(resp);
        return demo_send_ag_error(r, e, AG_ENDPOINT_REFRESH);
    }
    return demo_queue(r, 204, resp);
}

static enum MHD_Result logout(demo_app *app, demo_request *r, bool everywhere)
{
    const ag_session *session = demo_sessions_session(app->sessions);
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ag_claims *claims = malloc(sizeof(*claims));
    if (claims != NULL)
        *claims = (ag_claims)AG_INIT(ag_claims);
    ag_err e = claims ? AG_OK : AG_ERR_NOMEM;

    if (e == AG_OK)
        e = take_refresh_token(app, r, &cred, claims);
    /* The contract answers logout like refresh: a session that is already
     * revoked, expired or unknown gets 401 invalid_grant, not 204. */
    if (e == AG_OK)
        e = ag_session_check_sid(session, (const char *)claims->sid.ptr, claims->sid.len);
    if (e == AG_OK)
        e = everywhere ? ag_session_logout_all_verified(session, claims, NULL)
                       : ag_session_logout_verified(session, claims);
    free(claims);
    if (e != AG_OK)
        return demo_send_ag_error(r, e, AG_ENDPOINT_REFRESH);
    return send_logged_out(r, cred.source == AG_SOURCE_COOKIE);
}

enum MHD_Result demo_handle_logout(demo_app *app, demo_request *r)
{
    return logout(app, r, false);
}

enum MHD_Result demo_handle_logout_all(demo_app *app, demo_request *r)
{
    return logout(app, r, true);
}

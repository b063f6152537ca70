/*
 * authgate-demo — the endpoints, one small function each (CONTRACTS.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* ---- helpers ---------------------------------------------------------- */

/* A header value by name, for the few plain headers the handlers read
 * themselves (first occurrence; lib/http checks the credential headers). */
static bool find_header(const demo_request *r, const char *name, ag_span *out)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++) {
        const ag_header *h = &r->headers[i];
        if (h->name.len != n)
            continue;
        bool same = true;
        for (size_t k = 0; k < n && same; k++) {
            unsigned char a = h->name.ptr[k], b = (unsigned char)name[k];
            if (a >= 'A' && a <= 'Z')
                a = (unsigned char)(a + 32);
            if (b >= 'A' && b <= 'Z')
                b = (unsigned char)(b + 32);
            same = a == b;
        }
        if (same) {
            *out = h->value;
            return true;
        }
    }
    return false;
}

static bool span_is(ag_span s, const char *text)
{
    size_t n = strlen(text);
    return s.len == n && memcmp(s.ptr, text, n) == 0;
}

/* Login is not authenticated by a cookie, but a cross-site page could
 * still post a crafted text/plain form to it and sign the victim into the
 * attacker's account (login CSRF). Browsers say where a request comes
 * from: refuse Sec-Fetch-Site other than same-origin/none, and an Origin
 * that is not this host. Non-browser clients send neither. */
static bool same_origin(const demo_request *r)
{
    ag_span site, origin, host;
    if (find_header(r, "Sec-Fetch-Site", &site) && !span_is(site, "same-origin") &&
        !span_is(site, "none"))
        return false;
    if (find_header(r, "Origin", &origin)) {
        char want[300];
        int n;
        if (!find_header(r, "Host", &host) || host.len > 255)
            return false;
        for (int scheme = 0; scheme < 2; scheme++) {
            n = snprintf(want, sizeof(want), "%s://%.*s", scheme ? "https" : "http",
                         (int)host.len, (const char *)host.ptr);
            if (n > 0 && (size_t)n == origin.len && memcmp(want, origin.ptr, origin.len) == 0)
                return true;
        }
        return false;
    }
    return true;
}

/* The JSON body of a token answer (login and refresh). */
static json_t *token_body(const demo_pair *p, const char *csrf, bool refresh_in_body)
{
    json_t *b = json_pack("{s:s, s:s, s:I}", "access_token", p->access, "token_type", "Bearer",
                          "expires_in", (json_int_t)p->access_expires_in);
    if (b == NULL)
        return NULL;
    if (csrf != NULL)
        json_object_set_new(b, "csrf_token", json_string(csrf));
    if (refresh_in_body) {
        json_object_set_new(b, "refresh_token", json_string(p->refresh));
        json_object_set_new(b, "refresh_expires_in", json_integer(p->refresh_expires_in));
    }
    return b;
}

/* Answers with a fresh pair. Cookie mode: the refresh token goes into the
 * HttpOnly __Host-refresh cookie and never into the body, and a new CSRF
 * token bound to this session (C-02) goes into __Host-csrf (readable by
 * script) and the body. Token mode: both tokens in the body, no cookie. */
static enum MHD_Result send_pair(demo_app *app, const demo_request *r, const demo_pair *p,
                                 bool cookie_mode)
{
    char csrf[AG_CSRF_TOKEN_LEN + 1];
    char c_refresh[AG_COOKIE_MAX_LEN + 256], c_csrf[512];
    const char *cookies[2] = {c_refresh, c_csrf};
    ag_cookie_spec spec;
    ag_err e;

    if (!cookie_mode)
        return demo_send_json(r, 200, token_body(p, NULL, true), NULL, 0);

    e = ag_csrf_token_make(app->keys->secret, sizeof(app->keys->secret),
                           (const uint8_t *)p->sid, strlen(p->sid), csrf);
    memset(&spec, 0, sizeof(spec)); /* zero = Secure; HttpOnly; SameSite=Strict; Path=/ */
    spec.name = AG_COOKIE_REFRESH;
    spec.value.ptr = (const uint8_t *)p->refresh;
    spec.value.len = strlen(p->refresh);
    spec.expires_at = p->refresh_exp; /* Max-Age = the token's remaining life (H-09) */
    if (e == AG_OK)
        e = ag_set_cookie_build(&spec, c_refresh, sizeof(c_refresh), NULL);
    spec.name = AG_COOKIE_CSRF;
    spec.value.ptr = (const uint8_t *)csrf;
    spec.value.len = strlen(csrf);
    spec.script_readable = true; /* the page copies it into X-CSRF-Token */
    if (e == AG_OK)
        e = ag_set_cookie_build(&spec, c_csrf, sizeof(c_csrf), NULL);
    if (e != AG_OK)
        return demo_send_grant_error(r, e);
    return demo_send_json(r, 200, token_body(p, csrf, false), cookies, 2);
}

/* ---- GET endpoints ------------------------------------------------------ */

enum MHD_Result demo_handle_healthz(demo_app *app, demo_request *r)
{
    (void)app;
    return demo_send_json(r, 200, json_pack("{s:s}", "status", "ok"), NULL, 0);
}

enum MHD_Result demo_handle_page(demo_app *app, demo_request *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(app->page), app->page, MHD_RESPMEM_PERSISTENT);
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

enum MHD_Result demo_handle_jwks(demo_app *app, demo_request *r)
{
    json_t *jwks = json_loads(demo_sessions_jwks(app->sessions), JSON_REJECT_DUPLICATES, NULL);
    return demo_send_json(r, 200, jwks, NULL, 0);
}

static json_t *span_string(ag_span s)
{
    return json_stringn((const char *)s.ptr, s.len);
}

enum MHD_Result demo_handle_me(demo_app *app, demo_request *r)
{
    /* ag_claims is about 13 KiB: on the heap, not on a pool thread's stack. */
    ag_claims *c = malloc(sizeof(*c));
    enum MHD_Result ret;
    ag_err e;
    if (c == NULL)
        return MHD_NO;
    /* Access tokens come from Authorization: Bearer only (H-01…H-05). */
    e = ag_http_authenticate(app->policy, demo_sessions_access_verifier(app->sessions), &r->http,
                             c);
    if (e != AG_OK) {
        ret = demo_send_resource_error(r, e);
    } else {
        json_t *b = json_object();
        json_object_set_new(b, "sub", span_string(c->sub));
        json_object_set_new(b, "iss", span_string(c->iss));
        json_object_set_new(b, "aud", span_string(c->aud));
        json_object_set_new(b, "exp", json_integer(c->exp));
        json_object_set_new(b, "iat", json_integer(c->iat));
        json_object_set_new(b, "jti", span_string(c->jti));
        ret = demo_send_json(r, 200, b, NULL, 0);
    }
    free(c);
    return ret;
}

/* ---- POST /auth/login ----------------------------------------------------- */

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
    json_object_foreach(root, key, v) {
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
    demo_pair *pair;
    ag_err e;

    if (!same_origin(r))
        return demo_send_error(r, 403, "invalid_request", "cross-site login refused");
    /* JSON_REJECT_DUPLICATES: {"username":"a","username":"b"} is refused. */
    root = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
    memset(&f, 0, sizeof(f));
    problem = root ? parse_login(root, &f) : "body is not valid JSON";
    if (problem != NULL) {
        json_decref(root);
        return demo_send_error(r, 400, "invalid_request", problem);
    }
    /* The same answer for an unknown user and a wrong password. */
    if (!demo_users_check(app->users, f.username, f.username_len, f.password,
                          f.password_len)) {
        json_decref(root);
        return demo_send_error(r, 401, "invalid_grant", "invalid username or password");
    }
    pair = malloc(sizeof(*pair));
    e = pair ? demo_sessions_login(app->sessions, f.username, pair) : AG_ERR_NOMEM;
    ret = e == AG_OK ? send_pair(app, r, pair, f.cookie_mode) : demo_send_grant_error(r, e);
    json_decref(root);
    if (pair != NULL) {
        ag_cleanse(pair, sizeof(*pair));
        free(pair);
    }
    return ret;
}

/* ---- POST /auth/refresh, /auth/logout, /auth/logout-all ------------------- */

/* Takes the refresh token from the request and verifies it: the cookie
 * channel needs X-CSRF-Token equal to __Host-csrf and bound to the
 * token's own session (C-01, C-02); both channels at once, or duplicate
 * headers or cookies, are refused (H-02, H-04, H-07). The store is not
 * touched before the token has fully verified. */
static ag_err take_refresh_token(demo_app *app, demo_request *r, ag_http_credential *cred,
                                 ag_claims *claims)
{
    return ag_http_refresh_verify(app->policy, demo_sessions_refresh_verifier(app->sessions),
                                  app->keys->secret, sizeof(app->keys->secret), &r->http, cred,
                                  claims);
}

enum MHD_Result demo_handle_refresh(demo_app *app, demo_request *r)
{
    ag_http_credential cred;
    ag_claims *claims = malloc(sizeof(*claims));
    demo_pair *pair = malloc(sizeof(*pair));
    enum MHD_Result ret;
    ag_err e = (claims && pair) ? AG_OK : AG_ERR_NOMEM;

    if (e == AG_OK)
        e = take_refresh_token(app, r, &cred, claims);
    if (e == AG_OK)
        e = demo_sessions_refresh(app->sessions, claims, pair);
    /* The successor goes back the way the old token came. */
    ret = e == AG_OK ? send_pair(app, r, pair, cred.source == AG_SOURCE_COOKIE)
                     : demo_send_grant_error(r, e);
    if (pair != NULL)
        ag_cleanse(pair, sizeof(*pair));
    free(pair);
    free(claims);
    return ret;
}

static enum MHD_Result logout(demo_app *app, demo_request *r, bool everywhere)
{
    ag_http_credential cred;
    ag_claims *claims = malloc(sizeof(*claims));
    char c_refresh[512], c_csrf[512];
    const char *cookies[2] = {c_refresh, c_csrf};
    ag_cookie_spec spec;
    ag_err e = claims ? AG_OK : AG_ERR_NOMEM;
    bool cookie_mode;

    if (e == AG_OK)
        e = take_refresh_token(app, r, &cred, claims);
    if (e == AG_OK)
        e = demo_sessions_logout(app->sessions, claims, everywhere);
    free(claims);
    if (e != AG_OK)
        return demo_send_grant_error(r, e);
    cookie_mode = cred.source == AG_SOURCE_COOKIE;
    if (!cookie_mode)
        return demo_send_empty(r, 204, NULL, 0);
    /* Cookie mode: clear both cookies (Max-Age=0, same attributes). */
    memset(&spec, 0, sizeof(spec));
    spec.name = AG_COOKIE_REFRESH;
    e = ag_set_cookie_clear(&spec, c_refresh, sizeof(c_refresh), NULL);
    spec.name = AG_COOKIE_CSRF;
    spec.script_readable = true;
    if (e == AG_OK)
        e = ag_set_cookie_clear(&spec, c_csrf, sizeof(c_csrf), NULL);
    if (e != AG_OK)
        return demo_send_grant_error(r, e);
    return demo_send_empty(r, 204, cookies, 2);
}

enum MHD_Result demo_handle_logout(demo_app *app, demo_request *r)
{
    return logout(app, r, false);
}

enum MHD_Result demo_handle_logout_all(demo_app *app, demo_request *r)
{
    return logout(app, r, true);
}

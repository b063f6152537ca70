/*
 * authgate-demo — libmicrohttpd glue: daemon limits, request bodies,
 * routing and the response helpers the handlers use.
 */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "server.h"

/* Beyond DEMO_BODY_MAX a body is read and thrown away, so that a client
 * that sends everything before reading still gets its 413; beyond this
 * much the connection is simply closed. */
#define DEMO_DRAIN_MAX (4u * 1024 * 1024)

/* Per-request state, from the first callback to the completion notice. */
typedef struct demo_upload {
    uint8_t *body;     /* DEMO_BODY_MAX bytes, allocated on the first byte */
    size_t len;
    size_t seen;       /* every body byte received, kept or not */
    bool too_large;
} demo_upload;

/* ---- responses ------------------------------------------------------ */

static enum MHD_Result queue(const demo_request *r, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result ret;
    if (resp == NULL)
        return MHD_NO;
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void add_cookies(struct MHD_Response *resp, const char *const *cookies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookies[i]);
}

/* A JSON response with the headers every JSON answer gets, the cookies to
 * set, and at most one extra header (Allow, WWW-Authenticate). Takes
 * ownership of body. */
static enum MHD_Result respond_json(const demo_request *r, unsigned status, json_t *body,
                                    const char *const *set_cookies, size_t ncookies,
                                    const char *extra_name, const char *extra_value)
{
    struct MHD_Response *resp;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    /* Token responses must never be cached (RFC 6749 §5.1); the demo
     * says so on every JSON answer. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (extra_name != NULL)
        MHD_add_response_header(resp, extra_name, extra_value);
    add_cookies(resp, set_cookies, ncookies);
    return queue(r, status, resp);
}

static json_t *error_body(const char *error, const char *description)
{
    return json_pack("{s:s, s:s}", "error", error, "error_description", description);
}

enum MHD_Result demo_send_json(const demo_request *r, unsigned status, json_t *body,
                               const char *const *set_cookies, size_t ncookies)
{
    return respond_json(r, status, body, set_cookies, ncookies, NULL, NULL);
}

enum MHD_Result demo_send_error(const demo_request *r, unsigned status, const char *error,
                                const char *description)
{
    return respond_json(r, status, error_body(error, description), NULL, 0, NULL, NULL);
}

enum MHD_Result demo_send_empty(const demo_request *r, unsigned status,
                                const char *const *set_cookies, size_t ncookies)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    add_cookies(resp, set_cookies, ncookies);
    return queue(r, status, resp);
}

enum MHD_Result demo_send_grant_error(const demo_request *r, ag_err err)
{
    /* One mapping for every error (SECURITY.md §5): the wire gets the
     * class, never the precise reason (V-18). Note 401 invalid_grant where
     * RFC 6749 §5.2 says 400: the project contract keeps 401. */
    ag_http_error m = ag_http_error_for(err, AG_ENDPOINT_REFRESH);
    return demo_send_error(r, m.status, m.error ? m.error : "invalid_grant", m.description);
}

enum MHD_Result demo_send_resource_error(const demo_request *r, ag_err err)
{
    ag_http_error m = ag_http_error_for(err, AG_ENDPOINT_RESOURCE);
    char www[512];
    size_t n = 0;
    bool have_www = m.www_authenticate &&
                    ag_www_authenticate_for("authgate-demo", err, www, sizeof(www), &n) == AG_OK;
    /* RFC 6750 §3: when no credential was sent at all, WWW-Authenticate
     * carries no error code; the JSON body still names the class. */
    return respond_json(r, m.status,
                        error_body(m.error ? m.error : "invalid_token", m.description), NULL, 0,
                        have_www ? MHD_HTTP_HEADER_WWW_AUTHENTICATE : NULL,
                        have_www ? www : NULL);
}

/* ---- request plumbing ------------------------------------------------ */

typedef struct header_walk {
    demo_app *app;
    demo_request *r;
    bool overflow;
} header_walk;

/* Keeps every header field lib/http cares about, duplicates included, in
 * arrival order: libmicrohttpd's lookup returns only the first of a name,
 * which would hide a second Authorization or Cookie field (M-01, H-02). */
static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    header_walk *w = cls;
    (void)kind;
    if (!ag_http_policy_wants_header(w->app->policy, (const uint8_t *)key, key_size))
        return MHD_YES;
    if (w->r->nheaders == DEMO_MAX_HEADERS) {
        w->overflow = true;
        return MHD_NO;
    }
    w->r->headers[w->r->nheaders].name.ptr = (const uint8_t *)key;
    w->r->headers[w->r->nheaders].name.len = key_size;
    w->r->headers[w->r->nheaders].value.ptr = (const uint8_t *)value;
    w->r->headers[w->r->nheaders].value.len = value_size;
    w->r->nheaders++;
    return MHD_YES;
}

/* Credentials in the URL are refused on every endpoint (H-03), before
 * routing, so that a client bug surfaces at once. libmicrohttpd hands out
 * the query only as decoded arguments; their names are checked. */
static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    bool *bad = cls;
    (void)kind;
    (void)value;
    if (ag_http_is_url_credential_name((const uint8_t *)key, strlen(key))) {
        *bad = true;
        return MHD_NO;
    }
    return MHD_YES;
}

typedef enum MHD_Result (*demo_handler)(demo_app *app, demo_request *r);

typedef struct demo_route {
    const char *path;
    const char *method; /* GET routes also answer HEAD */
    demo_handler handler;
} demo_route;

static const demo_route routes[] = {
    {"/", "GET", demo_handle_page},
    {"/healthz", "GET", demo_handle_healthz},
    {"/.well-known/jwks.json", "GET", demo_handle_jwks},
    {"/api/me", "GET", demo_handle_me},
    {"/auth/login", "POST", demo_handle_login},
    {"/auth/refresh", "POST", demo_handle_refresh},
    {"/auth/logout", "POST", demo_handle_logout},
    {"/auth/logout-all", "POST", demo_handle_logout_all},
};

static enum MHD_Result dispatch(demo_app *app, demo_request *r)
{
    bool url_credentials = false;
    header_walk w = {app, r, false};

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &url_credentials);
    if (url_credentials)
        return demo_send_error(r, 400, "invalid_request",
                               ag_strerror(AG_ERR_URL_CREDENTIALS));

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const demo_route *rt = &routes[i];
        bool method_ok;
        if (strcmp(r->path, rt->path) != 0)
            continue;
        method_ok = strcmp(r->method, rt->method) == 0 ||
                    (strcmp(rt->method, "GET") == 0 && strcmp(r->method, "HEAD") == 0);
        if (!method_ok)
            return respond_json(r, 405, error_body("invalid_request", "method not allowed"),
                                NULL, 0, MHD_HTTP_HEADER_ALLOW,
                                strcmp(rt->method, "GET") == 0 ? "GET, HEAD" : "POST");
        MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, collect_header, &w);
        if (w.overflow)
            return demo_send_error(r, 400, "invalid_request", "too many header fields");
        r->http.method.ptr = (const uint8_t *)r->method;
        r->http.method.len = strlen(r->method);
        r->http.headers = r->headers;
        r->http.nheaders = r->nheaders;
        return rt->handler(app, r);
    }
    return demo_send_error(r, 404, "invalid_request", "no such endpoint");
}

static enum MHD_Result too_large(struct MHD_Connection *conn)
{
    demo_request r;
    memset(&r, 0, sizeof(r));
    r.conn = conn;
    return demo_send_error(&r, 413, "invalid_request", "request body over 16 KiB");
}

static bool expects_continue(struct MHD_Connection *conn)
{
    const char *e = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return e != NULL && strcmp(e, "100-continue") == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    demo_app *app = cls;
    demo_upload *up = *req_cls;
    demo_request *r;
    enum MHD_Result ret;
    (void)version;

    if (up == NULL) { /* first call: headers are in, no body yet */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        up = calloc(1, sizeof(*up));
        if (up == NULL)
            return MHD_NO;
        *req_cls = up;
        /* Announced too large: answer before reading anything when the
         * client waits for 100-continue or announces more than we would
         * ever drain. */
        if (cl != NULL && strtoull(cl, NULL, 10) > DEMO_BODY_MAX) {
            up->too_large = true;
            if (expects_continue(conn) || strtoull(cl, NULL, 10) > DEMO_DRAIN_MAX)
                return too_large(conn);
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* a piece of the body */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        up->seen += n;
        if (up->seen > DEMO_DRAIN_MAX)
            return MHD_NO; /* close the connection */
        if (up->too_large || up->len + n > DEMO_BODY_MAX) {
            up->too_large = true; /* keep reading, keep nothing */
            return MHD_YES;
        }
        if (up->body == NULL && (up->body = malloc(DEMO_BODY_MAX)) == NULL)
            return MHD_NO;
        memcpy(up->body + up->len, upload_data, n);
        up->len += n;
        return MHD_YES;
    }
    if (up->too_large)
        return too_large(conn);

    /* The whole request is in: route it. demo_request is large (headers),
     * so it lives on the heap rather than on a pool thread's stack. */
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return MHD_NO;
    r->conn = conn;
    r->method = method;
    r->path = url;
    r->body = up->body;
    r->body_len = up->len;
    ret = dispatch(app, r);
    free(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    demo_upload *up = *req_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (up == NULL)
        return;
    if (up->body != NULL) {
        ag_cleanse(up->body, up->len); /* may hold a password */
        free(up->body);
    }
    free(up);
    *req_cls = NULL;
}

/* ---- the daemon -------------------------------------------------------- */

/* "HOST:PORT" or "[V6]:PORT" → a socket address. Only numeric hosts and
 * names that resolve locally are accepted; nothing listens anywhere else. */
static bool parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen,
                         char *host, size_t host_cap, bool *v6)
{
    const char *colon = strrchr(spec, ':');
    char port[8];
    struct addrinfo hints, *res = NULL;
    size_t hlen;
    if (colon == NULL || colon == spec || strlen(colon + 1) == 0 || strlen(colon + 1) > 5)
        return false;
    hlen = (size_t)(colon - spec);
    if (spec[0] == '[') {
        if (hlen < 3 || spec[hlen - 1] != ']')
            return false;
        spec++;
        hlen -= 2;
    }
    if (hlen >= host_cap)
        return false;
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    snprintf(port, sizeof(port), "%s", colon + 1);
    for (const char *p = port; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
        return false;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return true;
}

struct MHD_Daemon *demo_server_start(demo_app *app)
{
    static struct sockaddr_storage ss; /* must outlive the call */
    socklen_t sslen = 0;
    char host[256];
    bool v6 = false;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;

    if (!parse_listen(app->opt->listen, &ss, &sslen, host, sizeof(host), &v6)) {
        fprintf(stderr, "authgate-demo: --listen %s: want HOST:PORT or [V6]:PORT\n",
                app->opt->listen);
        return NULL;
    }
    if (v6)
        flags |= MHD_USE_IPv6;
    (void)sslen;
    d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, app,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, app->opt->threads,
        /* Per-connection pool: room for an 8 KiB token in a header plus
         * cookies; a header section beyond it gets 431 from MHD (M-05). */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_CONNECTION_LIMIT, 1024u,
        /* Host required on HTTP/1.1, no spaces in the URI (M-06). */
        MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "authgate-demo: cannot listen on %s\n", app->opt->listen);
        return NULL;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf(v6 ? "listening on http://[%s]:%u\n" : "listening on http://%s:%u\n", host,
           info ? (unsigned)info->port : 0u);
    fflush(stdout);
    return d;
}

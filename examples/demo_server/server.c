/* SPDX-License-Identifier: MIT */
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
    uint8_t *body; /* DEMO_BODY_MAX bytes, allocated on the first byte */
    size_t len;
    size_t seen; /* every body byte received, kept or not */
    bool too_large;
} demo_upload;

/* ---- responses ------------------------------------------------------ */

struct MHD_Response *demo_json_response(json_t *body)
{
    struct MHD_Response *resp;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL)
        return NULL;
    /* Content-Type: application/json and Cache-Control: no-store: token
     * responses must never be cached (RFC 6749 §5.1); the demo says so on
     * every JSON answer. */
    resp = ag_mhd_json_response(text, strlen(text));
    free(text);
    if (resp != NULL)
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    return resp;
}

enum MHD_Result demo_queue(const demo_request *r, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result ret;
    if (resp == NULL)
        return MHD_NO;
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result demo_send_json(const demo_request *r, unsigned status, json_t *body)
{
    return demo_queue(r, status, demo_json_response(body));
}

enum MHD_Result demo_send_error(const demo_request *r, unsigned status, const char *error,
                                const char *description)
{
    return demo_send_json(
        r, status, json_pack("{s:s, s:s}", "error", error, "error_description", description));
}

/* ---- routing ---------------------------------------------------------- */

typedef enum MHD_Result (*demo_handler)(demo_app *app, demo_request *r);

typedef struct demo_route {
    const char *path;
    const char *method; /* GET routes also answer HEAD */
    demo_handler handler;
} demo_route;

static const demo_route routes[] = {
    {"/", "GET", demo_handle_page},
    {"/healthz", "GET", demo_handle_healthz},
    {"/metrics", "GET", demo_handle_metrics}, /* metrics.c */
    {"/.well-known/jwks.json", "GET", demo_handle_jwks},
    {"/api/me", "GET", demo_handle_me},
    {"/auth/login", "POST", demo_handle_login},
    {"/auth/refresh", "POST", demo_handle_refresh},
    {"/auth/logout", "POST", demo_handle_logout},
    {"/auth/logout-all", "POST", demo_handle_logout_all},
    {"/api/sessions", "GET", demo_handle_sessions},
    {"/api/sessions/revoke", "POST", demo_handle_sessions_revoke},
    {"/demo/replay", "POST", demo_handle_replay},
};

static enum MHD_Result method_not_allowed(const demo_request *r, const char *allow)
{
    struct MHD_Response *resp = demo_json_response(json_pack(
        "{s:s, s:s}", "error", "invalid_request", "error_description", "method not allowed"));
    if (resp != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return demo_queue(r, 405, resp);
}

static enum MHD_Result dispatch(demo_app *app, demo_request *r)
{
    /* Credentials in the URL are refused on every endpoint (H-03), before
     * routing, so that a client bug surfaces at once. */
    if (ag_mhd_check_url(r->conn) != AG_OK)
        return ag_mhd_queue_error(r->conn, AG_ERR_URL_CREDENTIALS, AG_ENDPOINT_RESOURCE,
                                  DEMO_REALM);

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const demo_route *rt = &routes[i];
        bool is_get = strcmp(rt->method, "GET") == 0;
        if (strcmp(r->path, rt->path) != 0)
            continue;
        if (strcmp(r->method, rt->method) != 0 && !(is_get && strcmp(r->method, "HEAD") == 0))
            return method_not_allowed(r, is_get ? "GET, HEAD" : "POST");
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
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
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
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, app, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, app->opt->threads,
                         /* Per-connection pool: room for an 8 KiB token in a header plus
                          * cookies; a header section beyond it gets 431 from MHD (M-05). */
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 1024u,
                         /* Host required on HTTP/1.1, no spaces in the URI (M-06). */
                         MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                         NULL, MHD_OPTION_END);
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

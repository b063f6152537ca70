/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — libmicrohttpd glue: daemon limits, request bodies,
 * routing, the access log and the response helpers the handlers use.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "server.h"

/* Beyond DEMO_BODY_MAX a body is read and thrown away, so that a client
 * that sends everything before reading still gets its 413; beyond this
 * much the connection is simply closed. */
#define DEMO_DRAIN_MAX (4u * 1024 * 1024)

/* Per-request state, from the URI callback to the completion notice. */
typedef struct demo_upload {
    uint8_t *body; /* DEMO_BODY_MAX bytes, allocated on the first byte */
    size_t len;
    size_t seen; /* every body byte received, kept or not */
    bool too_large;
    bool started;         /* the access handler has seen the headers */
    bool url_credentials; /* the raw query names a credential (H-03) */
    struct timespec t0;   /* when the request line arrived */
    char method[16];      /* for the access log, printable ASCII */
    char path[160];       /* raw path, query cut off, printable ASCII */
    const char *reason;   /* demo_request.reason, static text */
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

enum MHD_Result demo_send_ag_error(demo_request *r, ag_err e, ag_http_endpoint endpoint)
{
    r->reason = ag_err_name(e);
    return ag_mhd_queue_error(r->conn, e, endpoint, DEMO_REALM);
}

/* ---- the access log ------------------------------------------------------ */

/* Copies at most cap-1 bytes of s (up to stop or NUL) as printable ASCII:
 * anything else, and '"', '\\' and SP, as %XX; a cut is marked "...". */
static void log_text(char *out, size_t cap, const char *s, char stop)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s != '\0' && *s != stop; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '%';
        if (o + (plain ? 1 : 3) + 4 > cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* One line per request: time, client, method, path (never the query: it
 * may carry a credential), status, latency and, on refusal, why. Nothing
 * else of the request is written: no header, cookie, token or body. */
static void access_log(const demo_app *app, struct MHD_Connection *conn, const demo_upload *up)
{
    char client[INET6_ADDRSTRLEN] = "-", when[32];
    unsigned status = 0;
    struct timespec t1;
    time_t now = time(NULL);
    struct tm tm;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, client, sizeof(client));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, client,
                      sizeof(client));
    }
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
    if (ci != NULL)
        status = ci->http_status;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms =
        (double)(t1.tv_sec - up->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - up->t0.tv_nsec) / 1e6;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* one fprintf: stdio locks the stream, so lines never interleave */
    fprintf(app->access_log, "%s access client=%s method=%s path=%s status=%u ms=%.3f%s%s\n", when,
            client, up->method[0] ? up->method : "-", up->path[0] ? up->path : "-", status, ms,
            up->reason != NULL ? " reason=" : "", up->reason != NULL ? up->reason : "");
    fflush(app->access_log);
}

/* Called by MHD with the raw request URI before the headers are parsed:
 * the per-request state starts here, so the access log times the whole
 * request and the raw query goes through the library's own check
 * (ag_http_check_query splits at '&' and ';'; MHD's argument parser
 * splits at '&' only, so "?a=1;access_token=…" would pass it). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    demo_upload *up = calloc(1, sizeof(*up));
    (void)cls;
    (void)conn;
    if (up == NULL)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &up->t0);
    if (uri != NULL) {
        const char *q = strchr(uri, '?');
        log_text(up->path, sizeof(up->path), uri, '?');
        if (q != NULL)
            up->url_credentials =
                ag_http_check_query((const uint8_t *)q + 1, strlen(q + 1)) != AG_OK;
    }
    return up;
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

/* Content-Type: application/json, optionally with charset=utf-8 (any
 * case, the value may be quoted); exactly one field. A text/plain body is
 * what a cross-site form can send without a preflight: refusing it is
 * also a CSRF defence. */
static enum MHD_Result count_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    (void)value;
    if (key != NULL && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
        ++*(unsigned *)cls;
    return MHD_YES;
}

static bool is_json(struct MHD_Connection *conn)
{
    unsigned n = 0;
    const char *v;
    (void)MHD_get_connection_values(conn, MHD_HEADER_KIND, count_cb, &n);
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (n != 1 || v == NULL)
        return false;
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, "application/json", 16) != 0)
        return false;
    v += 16;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v == ';') {
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strncasecmp(v, "charset=utf-8", 13) == 0)
            v += 13;
        else if (strncasecmp(v, "charset=\"utf-8\"", 15) == 0)
            v += 15;
        else
            return false;
        while (*v == ' ' || *v == '\t')
            v++;
    }
    return *v == '\0';
}

/* Routes whose body must be JSON even when empty; any other route with a
 * body must send JSON too. */
static const char *const json_body_routes[] = {"/auth/login"};

static bool wants_json(const demo_request *r)
{
    if (r->body_len > 0)
        return true;
    for (size_t i = 0; i < sizeof(json_body_routes) / sizeof(json_body_routes[0]); i++) {
        if (strcmp(r->path, json_body_routes[i]) == 0)
            return true;
    }
    return false;
}

static enum MHD_Result method_not_allowed(demo_request *r, const char *allow)
{
    struct MHD_Response *resp = demo_json_response(json_pack(
        "{s:s, s:s}", "error", "invalid_request", "error_description", "method not allowed"));
    if (resp != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    r->reason = "method";
    return demo_queue(r, 405, resp);
}

static enum MHD_Result dispatch(demo_app *app, demo_request *r, bool url_credentials)
{
    /* Credentials in the URL are refused on every endpoint (H-03), before
     * routing, so that a client bug surfaces at once: the raw query through
     * ag_http_check_query (on_uri), and MHD's parsed arguments too. */
    if (url_credentials || ag_mhd_check_url(r->conn) != AG_OK)
        return demo_send_ag_error(r, AG_ERR_URL_CREDENTIALS, AG_ENDPOINT_RESOURCE);

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const demo_route *rt = &routes[i];
        bool is_get = strcmp(rt->method, "GET") == 0;
        if (strcmp(r->path, rt->path) != 0)
            continue;
        if (strcmp(r->method, rt->method) != 0 && !(is_get && strcmp(r->method, "HEAD") == 0))
            return method_not_allowed(r, is_get ? "GET, HEAD" : "POST");
        /* JSON endpoints take JSON only: a body of another type gets 415 */
        if (wants_json(r) && !is_json(r->conn)) {
            r->reason = "media_type";
            return demo_send_error(r, 415, "invalid_request",
                                   "the body must be Content-Type: application/json");
        }
        return rt->handler(app, r);
    }
    r->reason = "not_found";
    return demo_send_error(r, 404, "invalid_request", "no such endpoint");
}

static enum MHD_Result too_large(struct MHD_Connection *conn, demo_upload *up)
{
    demo_request r;
    memset(&r, 0, sizeof(r));
    r.conn = conn;
    up->reason = "too_large";
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

    if (up == NULL)
        return MHD_NO;  /* on_uri could not allocate */
    if (!up->started) { /* first call: headers are in, no body yet */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        up->started = true;
        log_text(up->method, sizeof(up->method), method, '\0');
        /* Announced too large: answer before reading anything when the
         * client waits for 100-continue or announces more than we would
         * ever drain. */
        if (cl != NULL && strtoull(cl, NULL, 10) > DEMO_BODY_MAX) {
            up->too_large = true;
            if (expects_continue(conn) || strtoull(cl, NULL, 10) > DEMO_DRAIN_MAX)
                return too_large(conn, up);
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
        return too_large(conn, up);

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
    ret = dispatch(app, r, up->url_credentials);
    up->reason = r->reason;
    free(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    demo_app *app = cls;
    demo_upload *up = *req_cls;
    (void)toe;
    if (up == NULL)
        return;
    if (app->access_log != NULL)
        access_log(app, conn, up);
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
                         app, MHD_OPTION_URI_LOG_CALLBACK, on_uri, app, MHD_OPTION_END);
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

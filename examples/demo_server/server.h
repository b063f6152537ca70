/*
 * authgate-demo — the request/response vocabulary shared by server.c
 * (libmicrohttpd glue) and handlers.c (the endpoints).
 */
#ifndef AUTHGATE_DEMO_SERVER_H
#define AUTHGATE_DEMO_SERVER_H

#include <jansson.h>
#include <microhttpd.h>

#include "demo.h"

/** Request bodies above this many bytes get 413 (CONTRACTS.md). */
#define DEMO_BODY_MAX (16 * 1024)
/** Header fields kept per request; more is refused with 400. */
#define DEMO_MAX_HEADERS 64

/** One request as the handlers see it. */
typedef struct demo_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    /* The header list for lib/http: every field, in arrival order, with
     * duplicates kept (M-01), as views into libmicrohttpd's buffers. */
    ag_header headers[DEMO_MAX_HEADERS];
    size_t nheaders;
    ag_http_request http;
    const uint8_t *body;
    size_t body_len;
} demo_request;

/* Responses. Each returns the MHD_queue_response result. */
enum MHD_Result demo_send_json(const demo_request *r, unsigned status, json_t *body,
                               const char *const *set_cookies, size_t ncookies);
enum MHD_Result demo_send_error(const demo_request *r, unsigned status, const char *error,
                                const char *description);
enum MHD_Result demo_send_empty(const demo_request *r, unsigned status,
                                const char *const *set_cookies, size_t ncookies);
/* An ag_err at a refresh-style endpoint (SECURITY.md §5). */
enum MHD_Result demo_send_grant_error(const demo_request *r, ag_err err);
/* An ag_err at a protected resource: RFC 6750 §3 with WWW-Authenticate. */
enum MHD_Result demo_send_resource_error(const demo_request *r, ag_err err);

/* Endpoints (handlers.c). */
enum MHD_Result demo_handle_healthz(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_page(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_jwks(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_me(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_login(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_refresh(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_logout(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_logout_all(demo_app *app, demo_request *r);

/* Starts the daemon on opt->listen; prints "listening on http://HOST:PORT". */
struct MHD_Daemon *demo_server_start(demo_app *app);

#endif

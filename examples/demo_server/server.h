/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — the request/response vocabulary shared by server.c
 * (libmicrohttpd glue) and handlers.c (the endpoints).
 */
#ifndef AUTHGATE_DEMO_SERVER_H
#define AUTHGATE_DEMO_SERVER_H

#include <jansson.h>
#include <microhttpd.h>

#include <authgate/mhd.h>

#include "demo.h"

/** Request bodies above this many bytes get 413 (docs/demo.md). */
#define DEMO_BODY_MAX (16 * 1024)
/** The realm in WWW-Authenticate (docs/demo.md). */
#define DEMO_REALM "authgate-demo"

/** One request as the handlers see it. Credentials are never read from
 * here: the handlers ask libauthgate-mhd, which sees every header field. */
typedef struct demo_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const uint8_t *body;
    size_t body_len;
    /* Why the request was refused, for the access log: static text (an
     * ag_err name or a word), never request bytes. NULL: not refused. */
    const char *reason;
} demo_request;

/* A JSON response (Content-Type: application/json, Cache-Control:
 * no-store, nosniff). Takes ownership of body; NULL when out of memory. */
struct MHD_Response *demo_json_response(json_t *body);
/* Queues resp with status and drops our reference. */
enum MHD_Result demo_queue(const demo_request *r, unsigned status, struct MHD_Response *resp);
/* demo_queue(demo_json_response(body)). */
enum MHD_Result demo_send_json(const demo_request *r, unsigned status, json_t *body);
/* {"error": error, "error_description": description}. */
enum MHD_Result demo_send_error(const demo_request *r, unsigned status, const char *error,
                                const char *description);
/* ag_mhd_queue_error() for e, noting ag_err_name(e) as the reason. */
enum MHD_Result demo_send_ag_error(demo_request *r, ag_err e, ag_http_endpoint endpoint);
/* The calling thread's verify scratch (AG_VERIFY_SCRATCH_MAX bytes) that
 * the claims of ag_mhd_* calls point into: handlers never nest, so one per
 * pool thread serves every request it runs. */
uint8_t *demo_verify_scratch(void);
#define DEMO_SCRATCH_LEN AG_VERIFY_SCRATCH_MAX

/* Endpoints (handlers.c). */
enum MHD_Result demo_handle_healthz(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_metrics(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_page(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_jwks(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_me(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_login(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_refresh(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_logout(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_logout_all(demo_app *app, demo_request *r);
/* What the page shows of the session model (api_sessions.c). */
enum MHD_Result demo_handle_sessions(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_sessions_revoke(demo_app *app, demo_request *r);
enum MHD_Result demo_handle_replay(demo_app *app, demo_request *r);

/* Starts the daemon on opt->listen; prints "listening on http://HOST:PORT". */
struct MHD_Daemon *demo_server_start(demo_app *app);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — GET /metrics: the library's process-wide counters and
 * latency histograms (authgate/metrics.h) in the Prometheus text format,
 * on the demo's own listening address (docs/demo.md, docs/operations.md).
 * The text holds fixed words and numbers only: no token, subject or
 * password can reach it.
 */
#include <stdlib.h>

#include <authgate/metrics.h>

#include "server.h"

enum MHD_Result demo_handle_metrics(demo_app *app, demo_request *r)
{
    (void)app;
    ag_metrics *m = malloc(sizeof *m);
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    ag_err e = AG_ERR_NOMEM;
    if (m != NULL && buf != NULL) {
        *m = (ag_metrics)AG_INIT(ag_metrics);
        e = ag_metrics_snapshot(m);
        if (e == AG_OK)
            e = ag_metrics_write_prometheus(m, buf, cap, &len);
        if (e == AG_ERR_BUFFER) { /* not with today's series; stay correct if they grow */
            char *bigger = realloc(buf, len + 1);
            if (bigger != NULL) {
                buf = bigger;
                cap = len + 1;
                e = ag_metrics_write_prometheus(m, buf, cap, &len);
            }
        }
    }
    free(m);
    if (e != AG_OK) {
        free(buf);
        return demo_send_error(r, 500, "server_error", "metrics unavailable");
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    return demo_queue(r, 200, resp);
}

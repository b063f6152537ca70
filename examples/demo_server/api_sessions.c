/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — what the page shows of the session model (docs/demo.md):
 *
 *   GET  /api/sessions         the caller's live sessions (ag_session_list)
 *   POST /api/sessions/revoke  end one of them by sid
 *   POST /demo/replay          a teaching action: replay a rotated refresh
 *                              token and watch reuse detection end the session
 *
 * The first two authenticate with the access token (Authorization: Bearer,
 * like /api/me): a header a cross-site page cannot make a browser send, so
 * they need no CSRF token; no cookie is read. /demo/replay takes the
 * refresh token like /auth/refresh (the HttpOnly cookie with X-CSRF-Token,
 * or the Authorization header) and does the whole attack server-side
 * within the one request, so no refresh token is ever kept or shown.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* Sessions shown per call; `total` says how many there are. */
#define SESSIONS_SHOWN 64

/* The caller's verified access-token claims, or an answer already queued. */
static ag_claims *bearer(demo_app *app, demo_request *r, enum MHD_Result *ret)
{
    ag_claims *c = malloc(sizeof(*c));
    if (c != NULL)
        *c = (ag_claims)AG_INIT(ag_claims);
    ag_err e = c ? ag_mhd_authenticate(r->conn, r->method, app->policy,
                                       demo_sessions_access_verifier(app->sessions),
                                       demo_verify_scratch(), DEMO_SCRATCH_LEN, c)
                 : AG_ERR_NOMEM;
    if (e == AG_OK)
        return c;
    free(c);
    *ret = ag_mhd_queue_error(r->conn, e, AG_ENDPOINT_RESOURCE, DEMO_REALM);
    return NULL;
}

/* 501 when the store cannot list sessions; 503 when it failed (as every
 * store failure of the demo: never a success); 500 otherwise. */
static enum MHD_Result store_failure(const demo_request *r, ag_err e)
{
    if (e == AG_ERR_STATE)
        return demo_send_error(r, 501, "server_error", "this store cannot list sessions");
    return demo_send_error(r, e == AG_ERR_STORE ? 503 : 500, "server_error", ag_strerror(e));
}

static json_t *session_json(const ag_session_info *i, const ag_claims *c)
{
    return json_pack("{s:s#, s:I, s:I, s:I, s:I, s:I, s:b}", "sid", i->sid, (int)i->sid_len,
                     "created", (json_int_t)i->created, "last_rotated", (json_int_t)i->last_rotated,
                     "generation", (json_int_t)i->generation, "idle_expires",
                     (json_int_t)i->idle_expires, "expires", (json_int_t)i->expires, "current",
                     c->sid.len == i->sid_len && memcmp(c->sid.ptr, i->sid, i->sid_len) == 0);
}

enum MHD_Result demo_handle_sessions(demo_app *app, demo_request *r)
{
    enum MHD_Result ret = MHD_NO;
    ag_claims *c = bearer(app, r, &ret);
    if (c == NULL)
        return ret;
    ag_session_info *v = malloc(SESSIONS_SHOWN * sizeof(*v));
    size_t n = 0, total = 0;
    ag_err e = v ? ag_session_list(demo_sessions_session(app->sessions), (const char *)c->sub.ptr,
                                   c->sub.len, v, SESSIONS_SHOWN, &n, &total)
                 : AG_ERR_NOMEM;
    json_t *list = e == AG_OK ? json_array() : NULL;
    for (size_t i = 0; list != NULL && i < n; i++)
        json_array_append_new(list, session_json(&v[i], c));
    free(v);
    if (list == NULL) {
        free(c);
        return store_failure(r, e == AG_OK ? AG_ERR_NOMEM : e);
    }
    /* "now" lets the page count down against the server's clock */
    json_t *body =
        json_pack("{s:s#, s:s#, s:I, s:I, s:o}", "sub", (const char *)c->sub.ptr, (int)c->sub.len,
                  "current", (const char *)c->sid.ptr, (int)c->sid.len, "now",
                  (json_int_t)ag_clock_system(NULL), "total", (json_int_t)total, "sessions", list);
    free(c);
    return demo_send_json(r, 200, body);
}

/* {"sid": "..."} and nothing else. */
static bool parse_sid(const demo_request *r, char sid[AG_SID_MAX_LEN + 1], size_t *len)
{
    json_t *root = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
    json_t *v = json_object_get(root, "sid");
    bool ok = json_is_object(root) && json_object_size(root) == 1 && json_is_string(v) &&
              json_string_length(v) >= 1 && json_string_length(v) <= AG_SID_MAX_LEN;
    if (ok) {
        *len = json_string_length(v);
        memcpy(sid, json_string_value(v), *len);
        sid[*len] = '\0';
    }
    json_decref(root);
    return ok;
}

enum MHD_Result demo_handle_sessions_revoke(demo_app *app, demo_request *r)
{
    enum MHD_Result ret = MHD_NO;
    char sid[AG_SID_MAX_LEN + 1];
    size_t sid_len = 0;
    ag_claims *c = bearer(app, r, &ret);
    if (c == NULL)
        return ret;
    if (!parse_sid(r, sid, &sid_len)) {
        free(c);
        return demo_send_error(r, 400, "invalid_request",
                               "body must be {\"sid\": a string of 1 to 64 bytes}");
    }
    /* Only the caller's own live sessions: anything else is "no such
     * session", so a sid of somebody else is neither ended nor confirmed. */
    const ag_session *s = demo_sessions_session(app->sessions);
    ag_session_info *v = malloc(AG_SESSION_LIST_MAX * sizeof(*v));
    size_t n = 0;
    bool mine = false;
    ag_err e = v ? ag_session_list(s, (const char *)c->sub.ptr, c->sub.len, v, AG_SESSION_LIST_MAX,
                                   &n, NULL)
                 : AG_ERR_NOMEM;
    for (size_t i = 0; e == AG_OK && i < n && !mine; i++)
        mine = v[i].sid_len == sid_len && memcmp(v[i].sid, sid, sid_len) == 0;
    free(v);
    free(c);
    /* ag_session_revoke also refuses the session's access tokens at once */
    if (e == AG_OK && mine)
        e = ag_session_revoke(s, sid, sid_len);
    if ((e == AG_OK && !mine) || e == AG_ERR_NOT_FOUND) /* NOT_FOUND: purged meanwhile */
        return demo_send_error(r, 404, "invalid_request", "no such session");
    if (e != AG_OK)
        return store_failure(r, e);
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (resp != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return demo_queue(r, 204, resp);
}

/* ---- POST /demo/replay ---------------------------------------------------- */

static json_t *step(const char *action, ag_err e, const char *result)
{
    return json_pack("{s:s, s:s, s:s}", "action", action, "outcome",
                     e == AG_OK ? "ok" : ag_err_reason(e), "result", result);
}

/* The attack the rotation model is built to catch, acted out on the
 * caller's own session: the token the client presents (T0) is rotated
 * once, as if by the real client (T0 → T1); then T0 is presented again,
 * as a thief holding a copy would. Reuse detection revokes the family,
 * so even the newest token T1 is refused, and so are the session's access
 * tokens (the revocation set). T1 never leaves this function. The thief
 * has no Idempotency-Key of the client's, so even inside the retry window
 * the replay is reuse at once. */
enum MHD_Result demo_handle_replay(demo_app *app, demo_request *r)
{
    const ag_session *s = demo_sessions_session(app->sessions);
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ag_claims *claims = malloc(sizeof(*claims));
    if (claims != NULL)
        *claims = (ag_claims)AG_INIT(ag_claims);
    ag_session_tokens *t1 = NULL, *t2 = NULL;
    json_t *steps = json_array();
    ag_err e = claims && steps ? AG_OK : AG_ERR_NOMEM;
    if (e == AG_OK)
        e = ag_session_tokens_new(NULL, &t1);
    if (e == AG_OK)
        e = ag_session_tokens_new(NULL, &t2);
    enum MHD_Result ret;

    if (e == AG_OK)
        e = ag_mhd_refresh_verify(r->conn, r->method, app->policy,
                                  demo_sessions_refresh_verifier(app->sessions), app->keys->secret,
                                  sizeof(app->keys->secret), demo_verify_scratch(),
                                  DEMO_SCRATCH_LEN, &cred, claims);
    if (e == AG_OK)
        e = ag_session_refresh_verified(s, claims, t1);
    if (e != AG_OK) { /* not a live session's current token: answered like /auth/refresh */
        ret = ag_mhd_queue_error(r->conn, e, AG_ENDPOINT_REFRESH, DEMO_REALM);
        goto out;
    }
    json_array_append_new(steps, step("refresh with your refresh token (the client's rotation)",
                                      AG_OK, "rotated: a new refresh token is current"));
    ag_err re = AG_OK;
    for (unsigned k = 0; k <= AG_SESSION_MAX_REPLAYS_MAX + 1 && re == AG_OK; k++) {
        re = ag_session_refresh(s, cred.token.ptr, cred.token.len, t2);
        json_array_append_new(
            steps, step("replay the previous refresh token (the thief's copy)", re,
                        re == AG_OK           ? "accepted as a lost-answer retry"
                        : re == AG_ERR_REUSED ? "reuse detected: the whole session is revoked"
                                              : "refused"));
        ag_session_tokens_clear(t2);
    }
    ag_err ne = ag_session_refresh(s, (const uint8_t *)t1->refresh, t1->refresh_len, t2);
    json_array_append_new(steps,
                          step("refresh with the newest refresh token", ne,
                               ne == AG_OK ? "still works" : "refused: the session is over"));
    ag_err ce = ag_session_check_sid(s, (const char *)claims->sid.ptr, claims->sid.len);
    json_t *body = json_pack(
        "{s:s#, s:s, s:s, s:O}", "sid", (const char *)claims->sid.ptr, (int)claims->sid.len,
        "session", ce == AG_OK ? "live" : ag_err_reason(ce), "outcome",
        re == AG_ERR_REUSED ? "reuse_detected" : "not_detected", "steps", steps);
    ret = demo_send_json(r, 200, body);
out:
    json_decref(steps);
    ag_session_tokens_free(t1); /* wipes */
    ag_session_tokens_free(t2);
    free(claims);
    return ret;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — libmicrohttpd adapter (library authgate-mhd).
 *
 * Plugs lib/http into a libmicrohttpd access handler:
 *
 *     static _Thread_local uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
 *     ag_claims claims = AG_INIT(ag_claims);
 *     ag_err e = ag_mhd_authenticate(conn, method, NULL, verifier, scratch,
 *                                    sizeof scratch, &claims);
 *     if (e != AG_OK)
 *         return ag_mhd_queue_error(conn, e, AG_ENDPOINT_RESOURCE, "my-realm");
 *     ... claims.sub ...
 *     return ag_mhd_queue_json(conn, MHD_HTTP_OK, body, body_len);
 *
 * What the adapter does for you (docs/security.md §4):
 *  - collects header fields with MHD_get_connection_values_n(), so a second
 *    Authorization or Cookie field is seen (M-01) — MHD's lookup functions
 *    return only the first;
 *  - never reads MHD_COOKIE_KIND (M-03: 0.9.75 parses only the first Cookie
 *    field, splits on ',' too, strips quotes and keeps nameless cookies);
 *    every raw Cookie field goes to authgate's strict parser;
 *  - reads MHD_GET_ARGUMENT_KIND only to refuse URL credentials (H-03).
 *
 * What it cannot see with libmicrohttpd 0.9.75 (documented limits):
 *  - obs-fold (M-04): a header continued on the next line arrives joined,
 *    with no separator, so a token folded across two lines is accepted;
 *  - NUL bytes (M-02): MHD stores values by strlen, so a NUL in a header
 *    line silently truncates the value before authgate sees it;
 *  - bare LF line ends are accepted (M-05); "Authorization : x" (space
 *    before the colon) becomes another header name and fails closed (M-06).
 * On libmicrohttpd ≥ 0.9.77 start the daemon with
 * MHD_OPTION_CLIENT_DISCIPLINE_LVL set to 1 or more (obs-fold and bare LF
 * then get 400, and a NUL gets 400 at levels ≥ 0); on 0.9.75 use
 * MHD_OPTION_STRICT_FOR_CLIENT = 1 (M-06, M-07). See docs/http.md.
 *
 * Thread safety: every function is safe to call from MHD's worker threads
 * concurrently; the policy and verifier are shared, read-only.
 */
#ifndef AUTHGATE_MHD_H
#define AUTHGATE_MHD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "http.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Most header fields the adapter collects per request (only the fields
 * ag_http_policy_wants_header() names are collected). More than this is
 * refused as AG_ERR_REQUEST rather than silently cut.
 */
#define AG_MHD_MAX_FIELDS 64

/**
 * Refuses URL credentials on any endpoint (H-03): fails when a query
 * parameter is named access_token, refresh_token, token, jwt or id_token
 * (after MHD's own percent-decoding; ASCII case-insensitive). MHD splits
 * the query at '&' only; this call also cuts every argument at ';', as
 * ag_http_check_query() does, so "?a=1;access_token=x" is refused (a ';'
 * sent as %3B is cut too). A server that has the raw query (from
 * MHD_OPTION_URI_LOG_CALLBACK) may call ag_http_check_query() on it.
 *
 * @param[in] conn  the connection, in MHD's access handler
 * Returns: AG_OK or AG_ERR_URL_CREDENTIALS; AG_ERR_INVALID_ARGUMENT for NULL.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_mhd_check_url(struct MHD_Connection *conn);

/**
 * The hot path for a protected resource: URL check, header collection,
 * then ag_http_authenticate().
 *
 * @param[in]  conn     the connection
 * @param[in]  method   the method string MHD passed to the handler
 * @param[in]  policy   or NULL for the default policy
 * @param[in]  v        access-token verifier; not NULL
 * @param[out] scratch  as for ag_verify() (AG_VERIFY_SCRATCH_MAX bytes, e.g.
 *                      one per thread); the claims point into it
 * @param[in]  scratch_len  its size
 * @param[out] out      the claims; made with AG_INIT(ag_claims) (error.h)
 * Returns: as ag_http_authenticate(), plus AG_ERR_REQUEST when more than
 * AG_MHD_MAX_FIELDS relevant fields were sent.
 * Allocation: none by authgate.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_mhd_authenticate(struct MHD_Connection *conn, const char *method,
                                               const ag_http_policy *policy, const ag_verifier *v,
                                               void *scratch, size_t scratch_len, ag_claims *out);

/**
 * For /auth/refresh, /auth/logout…: URL check, header collection, then
 * ag_http_refresh_verify() (extraction, verification and the CSRF session
 * binding in one call; there is no call without the binding). out (made
 * with AG_INIT(ag_http_credential)) and claims (AG_INIT(ag_claims)) as
 * there; out->token and out->csrf are views into MHD's connection memory,
 * valid until the response is queued.
 * Returns: as ag_http_refresh_verify(), plus AG_ERR_REQUEST when more than
 * AG_MHD_MAX_FIELDS relevant fields were sent.
 * @since 0.1 (0.2: the only refresh extraction call)
 */
AG_API AG_NODISCARD ag_err ag_mhd_refresh_verify(struct MHD_Connection *conn, const char *method,
                                                 const ag_http_policy *policy, const ag_verifier *v,
                                                 const uint8_t *csrf_secret, size_t csrf_secret_len,
                                                 void *scratch, size_t scratch_len,
                                                 ag_http_credential *out, ag_claims *claims);

/**
 * The request's Idempotency-Key (ag_http_find_idempotency_key() on every
 * occurrence of the field): pass it to ag_session_refresh_retryable() so a
 * retried refresh whose answer was lost gets the same successor.
 * @param[out] key  view into MHD's connection memory, valid until the
 *                  response is queued
 * Returns: AG_OK; AG_ERR_NOT_FOUND (no such field: refresh without a key);
 * AG_ERR_AMBIGUOUS (two or more); AG_ERR_REQUEST or AG_ERR_TOO_LARGE (a
 * malformed key); AG_ERR_INVALID_ARGUMENT for NULL.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_mhd_idempotency_key(struct MHD_Connection *conn, ag_span *key);

/**
 * Makes a JSON response: Content-Type: application/json and
 * Cache-Control: no-store. The body is copied.
 *
 * @param[in] json  the body bytes (NULL allowed when len is 0)
 * Returns: the response (the caller adds headers or cookies, queues it and
 * calls MHD_destroy_response), or NULL when out of memory.
 * @since 0.1
 */
AG_API struct MHD_Response *ag_mhd_json_response(const char *json, size_t len);

/**
 * Queues a JSON response (ag_mhd_json_response) with status and destroys
 * the local reference.
 * Returns: MHD_YES when queued, MHD_NO otherwise.
 * @since 0.1
 */
AG_API enum MHD_Result ag_mhd_queue_json(struct MHD_Connection *conn, unsigned int status,
                                         const char *json, size_t len);

/**
 * Queues the answer for a failure: status, JSON body
 * {"error": CODE, "error_description": TEXT} from ag_http_error_for(), and
 * for 401 at a resource WWW-Authenticate: Bearer realm="…" (with error and
 * error_description unless no credentials were sent, H-05). When no
 * credentials were sent to a resource, the body carries no error code
 * either, only {"error_description": TEXT} (RFC 6750 §3.1).
 *
 * @param[in] realm  NUL-terminated printable ASCII; NULL → "authgate"
 * Returns: MHD_YES when queued, MHD_NO otherwise.
 * @since 0.1
 */
AG_API enum MHD_Result ag_mhd_queue_error(struct MHD_Connection *conn, ag_err err,
                                          ag_http_endpoint endpoint, const char *realm);

/**
 * Adds a Set-Cookie header built by ag_set_cookie_build().
 * Returns: as ag_set_cookie_build(); AG_ERR_NOMEM when MHD refuses the header.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_mhd_set_cookie(struct MHD_Response *response,
                                             const ag_cookie_spec *spec);

/**
 * Adds a clearing Set-Cookie header (ag_set_cookie_clear(): Max-Age=0).
 * Returns: as ag_set_cookie_clear(); AG_ERR_NOMEM when MHD refuses the header.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_mhd_clear_cookie(struct MHD_Response *response,
                                               const ag_cookie_spec *spec);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_MHD_H */

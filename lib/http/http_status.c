/* SPDX-License-Identifier: MIT */
/*
 * authgate — errors on the wire: the one ag_err → HTTP mapping
 * (docs/security.md §5, RFC 6750 §3, docs/http.md) and WWW-Authenticate.
 *
 * Descriptions are fixed text: never token bytes, key material or expected
 * values (V-18). Token failures are coarse on the wire; the ag_err keeps
 * the precise reason for the server's logs.
 */
#include <string.h>

#include "http_int.h"

static const char D_NONE[] = "no credentials were sent";
static const char D_AMBIG[] =
    "ambiguous credentials: duplicate Authorization header or cookie, or more than one channel";
static const char D_REQUEST[] = "malformed Authorization or Cookie header";
static const char D_URL[] = "credentials in the URL are not accepted";
static const char D_CSRF[] = "missing or invalid CSRF proof";
static const char D_TOKEN[] = "the access token is invalid or expired";
static const char D_GRANT[] = "the refresh token is invalid, expired or revoked";
static const char D_NOGRANT[] = "no refresh token was sent";
static const char D_SERVER[] = "internal server error";
static const char D_UNAVAIL[] = "service temporarily unavailable";

static ag_http_error mk(unsigned status, const char *error, const char *desc, bool www)
{
    ag_http_error r = {status, error, desc, www};
    return r;
}

ag_http_error ag_http_error_for(ag_err err, ag_http_endpoint endpoint)
{
    const bool resource = endpoint != AG_ENDPOINT_REFRESH;
    switch (err) {
    case AG_OK:
        return mk(200, NULL, "", false);

    /* the request itself is wrong: 400 invalid_request (H-02, H-03, H-04) */
    case AG_ERR_AMBIGUOUS:
        return mk(400, "invalid_request", D_AMBIG, false);
    case AG_ERR_REQUEST:
        return mk(400, "invalid_request", D_REQUEST, false);
    case AG_ERR_URL_CREDENTIALS:
        return mk(400, "invalid_request", D_URL, false);

    /* no credential: 401 without an error code at a resource (H-05) */
    case AG_ERR_NO_CREDENTIALS:
        return resource ? mk(401, NULL, D_NONE, true) : mk(401, "invalid_grant", D_NOGRANT, false);

    /* CSRF proof missing or wrong: 403 (C-01) */
    case AG_ERR_CSRF:
        return mk(403, "invalid_request", D_CSRF, false);

    /* the token fails: 401 invalid_token, or invalid_grant at refresh */
    case AG_ERR_TOO_LARGE:
    case AG_ERR_MALFORMED:
    case AG_ERR_ALG:
    case AG_ERR_HEADER:
    case AG_ERR_KEY:
    case AG_ERR_SIGNATURE:
    case AG_ERR_EXPIRED:
    case AG_ERR_NOT_YET_VALID:
    case AG_ERR_CLAIM:
    case AG_ERR_WRONG_TYPE:
    case AG_ERR_UNKNOWN:
    case AG_ERR_REVOKED:
    case AG_ERR_REUSED:
        return resource ? mk(401, "invalid_token", D_TOKEN, true)
                        : mk(401, "invalid_grant", D_GRANT, false);

    /* the store cannot answer now: 503; never 200 */
    case AG_ERR_STORE:
    case AG_ERR_STORE_FULL:
    case AG_ERR_NOMEM:
        return mk(503, "server_error", D_UNAVAIL, false);

    /* server-side faults and configuration errors */
    case AG_ERR_INVALID_ARGUMENT:
    case AG_ERR_BUFFER:
    case AG_ERR_CRYPTO:
    case AG_ERR_WEAK_KEY:
    case AG_ERR_KEY_FORMAT:
    case AG_ERR_STORE_VERSION:
    case AG_ERR_NOT_FOUND:
    case AG_ERR_EXISTS:
    case AG_ERR_STATE:
    default:
        return mk(500, "server_error", D_SERVER, false);
    }
}

/* RFC 6750 §3: error = 1*( %x20-21 / %x23-5B / %x5D-7E ). */
static bool error_code_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        uint8_t c = (uint8_t)*s;
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* Printable ASCII (and SP) only: a quoted-string we can escape. */
static bool quotable(const char *s)
{
    for (; *s != '\0'; s++) {
        uint8_t c = (uint8_t)*s;
        if (c < 0x20 || c > 0x7e)
            return false;
    }
    return true;
}

typedef struct qw {
    char *buf;
    size_t cap, len;
    bool overflow;
} qw;

static void qput(qw *w, char c)
{
    if (w->len + 1 >= w->cap) {
        w->overflow = true;
        return;
    }
    w->buf[w->len++] = c;
}

static void qputs(qw *w, const char *s)
{
    for (; *s != '\0'; s++)
        qput(w, *s);
}

static void qquoted(qw *w, const char *s)
{
    qput(w, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            qput(w, '\\');
        qput(w, *s);
    }
    qput(w, '"');
}

ag_err ag_www_authenticate_build(const char *realm, const char *error, const char *description,
                                 char *buf, size_t cap, size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (realm == NULL || buf == NULL || cap == 0)
        return AG_ERR_INVALID_ARGUMENT;
    buf[0] = '\0';
    if (!quotable(realm) || (error != NULL && !error_code_ok(error)) ||
        (error != NULL && description != NULL && !quotable(description)))
        return AG_ERR_INVALID_ARGUMENT;
    qw w = {buf, cap, 0, false};
    qputs(&w, "Bearer realm=");
    qquoted(&w, realm);
    if (error != NULL) {
        qputs(&w, ", error=");
        qquoted(&w, error);
        if (description != NULL) {
            qputs(&w, ", error_description=");
            qquoted(&w, description);
        }
    }
    if (w.overflow) {
        memset(buf, 0, cap);
        return AG_ERR_BUFFER;
    }
    buf[w.len] = '\0';
    if (len != NULL)
        *len = w.len;
    return AG_OK;
}

ag_err ag_www_authenticate_for(const char *realm, ag_err err, char *buf, size_t cap, size_t *len)
{
    ag_http_error m = ag_http_error_for(err, AG_ENDPOINT_RESOURCE);
    return ag_www_authenticate_build(realm, m.error, m.description, buf, cap, len);
}

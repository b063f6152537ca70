/* SPDX-License-Identifier: MIT */
/*
 * authgate — CSRF proof for cookie-carried credentials (C-01, C-02).
 *
 * Three checks, cheapest first: Fetch Metadata (Sec-Fetch-Site), Origin,
 * then the double submit (the CSRF header equals the __Host-csrf cookie,
 * both decoded, compared in constant time). The session binding of the
 * token itself (HMAC over the sid) is checked after the refresh token is
 * verified, because only then is its sid known: ag_csrf_token_check().
 */
#include <string.h>

#include "../common/crypto_int.h"
#include "http_int.h"

#define CSRF_LABEL "authgate-csrf"
#define CSRF_LABEL_LEN 13
#define CSRF_SID_MAX 256

/* ------------------------------------------------------------------ */
/* Session-bound tokens (C-02)                                         */
/* ------------------------------------------------------------------ */

/* mac = HMAC-SHA256(secret, label ‖ u16be(len(sid)) ‖ sid ‖ r)[0..16]. */
static ag_err csrf_mac(const uint8_t *secret, size_t secret_len, const uint8_t *sid, size_t sid_len,
                       const uint8_t r[AG__CSRF_RAND_LEN],
                       uint8_t mac[AG__CSRF_RAW_LEN - AG__CSRF_RAND_LEN])
{
    uint8_t msg[CSRF_LABEL_LEN + 2 + CSRF_SID_MAX + AG__CSRF_RAND_LEN];
    size_t k = 0;
    memcpy(msg, CSRF_LABEL, CSRF_LABEL_LEN);
    k += CSRF_LABEL_LEN;
    msg[k++] = (uint8_t)(sid_len >> 8);
    msg[k++] = (uint8_t)(sid_len & 0xff);
    memcpy(msg + k, sid, sid_len);
    k += sid_len;
    memcpy(msg + k, r, AG__CSRF_RAND_LEN);
    k += AG__CSRF_RAND_LEN;

    uint8_t full[32];
    ag_err e = ag__hmac_sha256(secret, secret_len, msg, k, full) == AG_OK ? AG_OK : AG_ERR_CRYPTO;
    if (e == AG_OK)
        memcpy(mac, full, AG__CSRF_RAW_LEN - AG__CSRF_RAND_LEN);
    ag_cleanse(full, sizeof full);
    return e;
}

static bool csrf_args_ok(const uint8_t *secret, size_t secret_len, const uint8_t *sid,
                         size_t sid_len)
{
    return secret != NULL && secret_len >= AG_CSRF_SECRET_MIN && secret_len <= 1024 &&
           sid != NULL && sid_len > 0 && sid_len <= CSRF_SID_MAX;
}

ag_err ag_csrf_token_make(const uint8_t *secret, size_t secret_len, const uint8_t *sid,
                          size_t sid_len, char out[AG_CSRF_TOKEN_LEN + 1])
{
    if (out == NULL || !csrf_args_ok(secret, secret_len, sid, sid_len))
        return AG_ERR_INVALID_ARGUMENT;
    uint8_t raw[AG__CSRF_RAW_LEN];
    ag_err e = ag_random(raw, AG__CSRF_RAND_LEN);
    if (e == AG_OK)
        e = csrf_mac(secret, secret_len, sid, sid_len, raw, raw + AG__CSRF_RAND_LEN);
    size_t n = 0;
    if (e == AG_OK)
        e = ag_base64url_encode(raw, sizeof raw, out, AG_CSRF_TOKEN_LEN + 1, &n);
    if (e == AG_OK && n != AG_CSRF_TOKEN_LEN)
        e = AG_ERR_CRYPTO;
    if (e != AG_OK)
        memset(out, 0, AG_CSRF_TOKEN_LEN + 1);
    ag_cleanse(raw, sizeof raw);
    return e;
}

/* Decodes a CSRF token strictly to exactly AG__CSRF_RAW_LEN bytes. */
static bool csrf_decode(const uint8_t *tok, size_t len, uint8_t raw[AG__CSRF_RAW_LEN])
{
    size_t n = 0;
    if (len != AG_CSRF_TOKEN_LEN)
        return false;
    return ag_base64url_decode(tok, len, raw, AG__CSRF_RAW_LEN, &n) == AG_OK &&
           n == AG__CSRF_RAW_LEN;
}

ag_err ag_csrf_token_check(const uint8_t *secret, size_t secret_len, const uint8_t *sid,
                           size_t sid_len, const uint8_t *token, size_t token_len)
{
    if (!csrf_args_ok(secret, secret_len, sid, sid_len) || (token == NULL && token_len > 0))
        return AG_ERR_INVALID_ARGUMENT;
    uint8_t raw[AG__CSRF_RAW_LEN];
    uint8_t mac[AG__CSRF_RAW_LEN - AG__CSRF_RAND_LEN];
    if (!csrf_decode(token, token_len, raw))
        return AG_ERR_CSRF;
    ag_err e = csrf_mac(secret, secret_len, sid, sid_len, raw, mac);
    if (e == AG_OK && !ag__ct_eq(mac, raw + AG__CSRF_RAND_LEN, sizeof mac))
        e = AG_ERR_CSRF;
    ag_cleanse(raw, sizeof raw);
    ag_cleanse(mac, sizeof mac);
    return e;
}

/* ------------------------------------------------------------------ */
/* Request checks (C-01)                                               */
/* ------------------------------------------------------------------ */

static ag_err check_fetch_site(const ag_http_policy *p, const ag_http_request *req)
{
    ag_span v;
    ag_err e = ag__header_single(req->headers, req->nheaders, "Sec-Fetch-Site", 14, &v);
    if (e == AG_ERR_NOT_FOUND)
        return AG_OK; /* older browsers and non-browser clients */
    if (e != AG_OK)
        return e;
    v = ag__trim_ows(v);
    /* Structured-field tokens, lower case: compare exactly. */
    if ((v.len == 11 && memcmp(v.ptr, "same-origin", 11) == 0) ||
        (v.len == 4 && memcmp(v.ptr, "none", 4) == 0))
        return AG_OK;
    if (v.len == 9 && memcmp(v.ptr, "same-site", 9) == 0 && p->allow_same_site)
        return AG_OK;
    return AG_ERR_CSRF; /* cross-site, same-site by default, anything unknown */
}

static bool origin_is_host(ag_span origin, ag_span host)
{
    static const char *const schemes[] = {"https://", "http://"};
    for (size_t k = 0; k < 2; k++) {
        size_t sl = strlen(schemes[k]);
        if (origin.len == sl + host.len && ag__ci_eq(origin.ptr, sl, schemes[k], sl) &&
            host.len > 0 && ag__ci_eq(origin.ptr + sl, host.len, (const char *)host.ptr, host.len))
            return true;
    }
    return false;
}

static ag_err check_origin(const ag_http_policy *p, const ag_http_request *req)
{
    ag_span origin;
    ag_err e = ag__header_single(req->headers, req->nheaders, "Origin", 6, &origin);
    if (e == AG_ERR_NOT_FOUND)
        return AG_OK;
    if (e != AG_OK)
        return e;
    origin = ag__trim_ows(origin);
    if (p->norigins > 0) {
        for (size_t i = 0; i < p->norigins; i++) {
            if (origin.len == p->origins[i].len &&
                memcmp(origin.ptr, p->origins[i].ptr, origin.len) == 0)
                return AG_OK;
        }
        return AG_ERR_CSRF;
    }
    ag_span host;
    e = ag__header_single(req->headers, req->nheaders, "Host", 4, &host);
    if (e == AG_ERR_AMBIGUOUS)
        return e;
    if (e != AG_OK)
        return AG_ERR_CSRF;
    return origin_is_host(origin, ag__trim_ows(host)) ? AG_OK : AG_ERR_CSRF;
}

ag_err ag__csrf_request_check(const ag_http_policy *p, const ag_http_request *req, ag_span *csrf)
{
    csrf->ptr = NULL;
    csrf->len = 0;
    ag_err e = check_fetch_site(p, req);
    if (e == AG_OK)
        e = check_origin(p, req);
    if (e != AG_OK)
        return e;

    ag_span hdr, cookie;
    e = ag__header_single(req->headers, req->nheaders, (const char *)p->csrf_header.ptr,
                          p->csrf_header.len, &hdr);
    if (e == AG_ERR_NOT_FOUND)
        return AG_ERR_CSRF;
    if (e != AG_OK)
        return e;
    e = ag_http_find_cookie(req->headers, req->nheaders, p->csrf_cookie.ptr, p->csrf_cookie.len,
                            &cookie);
    if (e == AG_ERR_NOT_FOUND)
        return AG_ERR_CSRF;
    if (e != AG_OK)
        return e;
    hdr = ag__trim_ows(hdr);

    uint8_t a[AG__CSRF_RAW_LEN] = {0}, b[AG__CSRF_RAW_LEN] = {0};
    bool ok_a = csrf_decode(hdr.ptr, hdr.len, a);
    bool ok_b = csrf_decode(cookie.ptr, cookie.len, b);
    int same = ag__ct_eq(a, b, sizeof a);
    ag_cleanse(a, sizeof a);
    ag_cleanse(b, sizeof b);
    if (!ok_a || !ok_b || !same)
        return AG_ERR_CSRF;
    *csrf = hdr;
    return AG_OK;
}

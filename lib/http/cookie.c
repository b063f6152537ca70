/* SPDX-License-Identifier: MIT */
/*
 * authgate — strict Cookie parsing for our own cookies (RFC 6265 §4.2.1;
 * H-06, H-07, H-08).
 *
 *   cookie-string = cookie-pair *( ";" SP cookie-pair )
 *   cookie-pair   = cookie-name "=" cookie-value
 *   cookie-name   = token
 *   cookie-value  = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
 *
 * Several Cookie fields are read one after the other, which is the same as
 * parsing their "; "-concatenation (RFC 9113 §8.2.3) without allocating.
 *
 * Strict where it matters, tolerant where it cannot hurt: the string is
 * cut at every ';' (no cookie-octet, quoted or not, is a ';'), and a piece
 * that is not exactly [SP] cookie-pair is skipped unless the wanted name
 * occurs anywhere in it — a sibling subdomain may set "x=a,b" for the
 * parent domain, and that must not lock every user out of refresh and
 * logout; but "x=1, __Host-refresh=…" or "__Host-refresh =…" is a piece a
 * lenient parser in front of us could read as our cookie, so it fails.
 * Control bytes other than HTAB make the whole field fail: they are not
 * HTTP, whoever sent them.
 */
#include <string.h>

#include "http_int.h"

/* True when name occurs in p[0..n). An empty name occurs everywhere, so a
 * caller asking for no name stays strict about every piece. */
static bool contains(const uint8_t *p, size_t n, const uint8_t *name, size_t name_len)
{
    if (name_len > n)
        return false;
    for (size_t i = 0; i + name_len <= n; i++) {
        if (name_len == 0 || (p[i] == name[0] && memcmp(p + i, name, name_len) == 0))
            return true;
    }
    return false;
}

/* Parses p[0..n) as exactly one cookie-pair. Returns false when it is not
 * one; else the name and value (without quotes). */
static bool parse_pair(const uint8_t *p, size_t n, ag_span *name, ag_span *value, bool *quoted)
{
    size_t i = 0;
    while (i < n && ag__is_tchar(p[i]))
        i++;
    if (i == 0 || i == n || p[i] != '=')
        return false; /* no nameless pairs */
    *name = (ag_span){p, i};
    i++; /* '=' */
    *quoted = i < n && p[i] == '"';
    if (*quoted)
        i++;
    size_t vs = i;
    while (i < n && ag__is_cookie_octet(p[i]))
        i++;
    *value = (ag_span){p + vs, i - vs};
    if (*quoted) {
        if (i == n || p[i] != '"')
            return false;
        i++;
    }
    return i == n;
}

ag_err ag_http_parse_cookie(const uint8_t *field, size_t len, const uint8_t *name, size_t name_len,
                            ag_span *value, size_t *count)
{
    if (value == NULL || count == NULL || (field == NULL && len > 0) ||
        (name == NULL && name_len > 0))
        return AG_ERR_INVALID_ARGUMENT;
    ag_span s = ag__trim_ows((ag_span){field, len});
    const uint8_t *p = s.ptr;
    size_t n = s.len;
    for (size_t i = 0; i < n; i++) {
        if (ag__http_class[p[i]] & AG__HC_CTL) /* HTAB is not in the class */
            return AG_ERR_REQUEST;
    }
    bool want_quoted = false;
    size_t start = 0;
    while (start <= n && n > 0) {
        size_t end = start;
        while (end < n && p[end] != ';')
            end++;
        /* every piece but the first starts with exactly one SP */
        size_t ps = start;
        bool sep_ok = start == 0 || (end > start && p[start] == ' ');
        if (start > 0 && sep_ok)
            ps++;
        ag_span pn, pv;
        bool quoted = false;
        bool ok = sep_ok && parse_pair(p + ps, end - ps, &pn, &pv, &quoted);
        bool ours =
            ok ? pn.len == name_len && (name_len == 0 || memcmp(pn.ptr, name, name_len) == 0)
               : contains(p + start, end - start, name, name_len);
        if (ours) {
            if (!ok)
                return AG_ERR_REQUEST;
            if (pn.len + pv.len + (quoted ? 2u : 0u) > AG_COOKIE_MAX_LEN)
                return AG_ERR_TOO_LARGE;
            ++*count;
            *value = pv;
            want_quoted = want_quoted || quoted;
        }
        start = end + 1;
    }
    if (*count > 1)
        return AG_ERR_AMBIGUOUS;
    if (want_quoted)
        return AG_ERR_REQUEST; /* no quotes for credentials (H-06) */
    return AG_OK;
}
ag_err ag_http_find_cookie(const ag_header *headers, size_t n, const uint8_t *name, size_t name_len,
                           ag_span *value)
{
    if (value == NULL || (headers == NULL && n > 0) || name == NULL || name_len == 0)
        return AG_ERR_INVALID_ARGUMENT;
    value->ptr = NULL;
    value->len = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ag__ci_eq(headers[i].name.ptr, headers[i].name.len, "Cookie", 6))
            continue;
        ag_err e = ag_http_parse_cookie(headers[i].value.ptr, headers[i].value.len, name, name_len,
                                        value, &count);
        if (e != AG_OK) {
            value->ptr = NULL;
            value->len = 0;
            return e;
        }
    }
    return count == 0 ? AG_ERR_NOT_FOUND : AG_OK;
}

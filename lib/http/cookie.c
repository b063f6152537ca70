/* SPDX-License-Identifier: MIT */
/*
 * authgate — strict Cookie parsing (RFC 6265 §4.2.1; H-06, H-07, H-08).
 *
 *   cookie-string = cookie-pair *( ";" SP cookie-pair )
 *   cookie-pair   = cookie-name "=" cookie-value
 *   cookie-name   = token
 *   cookie-value  = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
 *
 * Several Cookie fields are read one after the other, which is the same as
 * parsing their "; "-concatenation (RFC 9113 §8.2.3) without allocating.
 * The whole string must parse: a string that does not parse cannot be said
 * to hold exactly one credential, and a lenient parser that disagrees with
 * the browser or a proxy in front of us is how cookie smuggling works.
 */
#include <string.h>

#include "http_int.h"

ag_err ag_http_parse_cookie(const uint8_t *field, size_t len, const uint8_t *name, size_t name_len,
                            ag_span *value, size_t *count)
{
    if (value == NULL || count == NULL || (field == NULL && len > 0) ||
        (name == NULL && name_len > 0))
        return AG_ERR_INVALID_ARGUMENT;
    ag_span s = ag__trim_ows((ag_span){field, len});
    const uint8_t *p = s.ptr;
    size_t n = s.len;
    bool want_quoted = false;
    size_t i = 0;

    while (i < n) {
        /* cookie-name = token (1*tchar): no nameless pairs. */
        size_t ns = i;
        while (i < n && ag__is_tchar(p[i]))
            i++;
        size_t nlen = i - ns;
        if (nlen == 0 || i == n || p[i] != '=')
            return AG_ERR_REQUEST;
        i++; /* '=' */
        bool quoted = false;
        if (i < n && p[i] == '"') {
            quoted = true;
            i++;
        }
        size_t vs = i;
        while (i < n && ag__is_cookie_octet(p[i]))
            i++;
        size_t vlen = i - vs;
        if (quoted) {
            if (i == n || p[i] != '"')
                return AG_ERR_REQUEST;
            i++;
        }
        if (nlen + vlen + (quoted ? 2u : 0u) > AG_COOKIE_MAX_LEN)
            return AG_ERR_TOO_LARGE;
        if (nlen == name_len && (name_len == 0 || memcmp(p + ns, name, name_len) == 0)) {
            ++*count;
            value->ptr = p + vs;
            value->len = vlen;
            want_quoted = want_quoted || quoted;
        }
        if (i == n)
            break;
        /* exactly "; " and then another pair */
        if (p[i] != ';' || n - i < 3 || p[i + 1] != ' ')
            return AG_ERR_REQUEST;
        i += 2;
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

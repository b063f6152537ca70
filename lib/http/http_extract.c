/* SPDX-License-Identifier: MIT */
/*
 * authgate — Authorization extraction (H-01, H-02), header lookup and the
 * refusal of URL credentials (H-03).
 *
 * Every function reads (pointer, length) spans only, never past len, never
 * with C string functions: a NUL byte is data and is refused where the
 * grammar forbids it. Nothing allocates. The b64token scan of the hot
 * path has an AVX2 twin (b64token_avx2.c).
 */
#include <string.h>

#include "http_int.h"

/* ------------------------------------------------------------------ */
/* Character classes                                                   */
/* ------------------------------------------------------------------ */

/* One table for every byte class the parsers test (no branches per class):
 * bit 1 RFC 9110 tchar, bit 2 RFC 6265 cookie-octet, bit 4 RFC 6750
 * b64token body character, bit 8 a control byte forbidden in a field value
 * (CTL except HTAB, and DEL). Generated from the RFC definitions; checked
 * against them by tests/http/test_http_extract.c. */
const uint8_t ag__http_class[256] = {
    8, 8, 8, 8, 8, 8, 8, 8, 8, 0, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    0, 3, 0, 3, 3, 3, 3, 3, 2, 2, 3, 7, 0, 7, 7, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2, 0, 2, 2, 2, 2,
    2, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2, 0, 2, 3, 7,
    3, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2, 3, 2, 7, 8,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

bool ag__is_tchar(uint8_t c)
{
    return (ag__http_class[c] & AG__HC_TCHAR) != 0;
}

bool ag__is_cookie_octet(uint8_t c)
{
    return (ag__http_class[c] & AG__HC_COOKIE) != 0;
}

static bool is_b64token_char(uint8_t c)
{
    return (ag__http_class[c] & AG__HC_B64TOKEN) != 0;
}

/* Contract in http_int.h. */
size_t ag__b64token_span(const uint8_t *p, size_t n)
{
    size_t i = 0;
    if (n >= 32 && (ag__cpu_features() & AG__CPU_AVX2) != 0)
        i = ag__b64token_span_avx2(p, n); /* exact when n >= 32: the loops stop at once */
    /* eight bytes per step while all are b64token characters */
    while (n - i >= 8) {
        const uint8_t *q = p + i;
        uint8_t m = ag__http_class[q[0]] & ag__http_class[q[1]] & ag__http_class[q[2]] &
                    ag__http_class[q[3]] & ag__http_class[q[4]] & ag__http_class[q[5]] &
                    ag__http_class[q[6]] & ag__http_class[q[7]];
        if ((m & AG__HC_B64TOKEN) == 0)
            break;
        i += 8;
    }
    while (i < n && is_b64token_char(p[i]))
        i++;
    return i;
}

ag_span ag__trim_ows(ag_span s)
{
    while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* ------------------------------------------------------------------ */
/* Header lookup                                                       */
/* ------------------------------------------------------------------ */

ag_err ag__header_single(const ag_header *h, size_t n, const char *name, size_t name_len,
                         ag_span *value)
{
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        if (ag__ci_eq(h[i].name.ptr, h[i].name.len, name, name_len)) {
            if (++found > 1)
                return AG_ERR_AMBIGUOUS;
            *value = h[i].value;
        }
    }
    return found == 1 ? AG_OK : AG_ERR_NOT_FOUND;
}

/* ------------------------------------------------------------------ */
/* Authorization: Bearer (RFC 6750 §2.1, H-01, H-02)                   */
/* ------------------------------------------------------------------ */

/* True when s holds ',' OWS "Bearer" (SP / end): a comma-combined list
 * that carries a Bearer credential after another one. */
static bool has_listed_bearer(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ',')
            continue;
        size_t j = i + 1;
        while (j < n && (p[j] == ' ' || p[j] == '\t'))
            j++;
        if (n - j >= 6 && ag__ci_eq(p + j, 6, "bearer", 6) && (n - j == 6 || p[j + 6] == ' '))
            return true;
    }
    return false;
}

/* True when the value holds a control character other than HTAB (RFC 9110
 * §5.5): NUL, CR, LF and the rest are refused. */
static bool has_ctl(const uint8_t *value, size_t len)
{
    uint8_t any = 0;
    for (size_t i = 0; i < len; i++)
        any |= ag__http_class[value[i]];
    return (any & AG__HC_CTL) != 0;
}

/* The grammar proper; the caller turns every failure into AG_ERR_REQUEST
 * when the value holds a control character, so that check (a second pass
 * over the bytes) is only paid on the failure path: a successful parse has
 * seen only tchar, SP, HTAB, b64token and "=" bytes. */
static ag_err parse_bearer(const uint8_t *value, size_t len, ag_span *token)
{
    ag_span v = ag__trim_ows((ag_span){value, len});
    if (v.len == 0)
        return AG_ERR_REQUEST;

    size_t i = 0;
    while (i < v.len && v.ptr[i] != ' ' && v.ptr[i] != '\t') {
        if (!ag__is_tchar(v.ptr[i]) && v.ptr[i] != ',')
            return AG_ERR_REQUEST;
        i++;
    }
    if (!ag__ci_eq(v.ptr, i, "bearer", 6)) {
        /* Another scheme is not ours to judge, but "Basic x, Bearer y"
         * smuggles a second credential (H-02). */
        return has_listed_bearer(v.ptr, v.len) ? AG_ERR_AMBIGUOUS : AG_ERR_NO_CREDENTIALS;
    }
    if (i == v.len)
        return AG_ERR_REQUEST; /* "Bearer" alone */
    /* 1*SP: HTAB is not allowed here (H-01). */
    while (i < v.len && v.ptr[i] == ' ')
        i++;
    if (v.ptr[i - 1] != ' ' || (i < v.len && v.ptr[i] == '\t')) {
        return memchr(v.ptr, ',', v.len) != NULL ? AG_ERR_AMBIGUOUS : AG_ERR_REQUEST;
    }
    size_t start = i;
    i += ag__b64token_span(v.ptr + i, v.len - i); /* the hot path */
    if (i == start)                               /* 1*( … ) before any "=" */
        return memchr(v.ptr, ',', v.len) != NULL ? AG_ERR_AMBIGUOUS : AG_ERR_REQUEST;
    while (i < v.len && v.ptr[i] == '=')
        i++;
    if (i != v.len) {
        /* "Bearer a, Bearer b" or "Bearer a,b" is a list: ambiguous. */
        return memchr(v.ptr + start, ',', v.len - start) != NULL ? AG_ERR_AMBIGUOUS
                                                                 : AG_ERR_REQUEST;
    }
    if (i - start > AG_TOKEN_MAX_LEN)
        return AG_ERR_TOO_LARGE;
    token->ptr = v.ptr + start;
    token->len = i - start;
    return AG_OK;
}

ag_err ag_http_parse_bearer(const uint8_t *value, size_t len, ag_span *token)
{
    if (token == NULL || (value == NULL && len > 0))
        return AG_ERR_INVALID_ARGUMENT;
    token->ptr = NULL;
    token->len = 0;
    if (len > AG_AUTHORIZATION_MAX_LEN)
        return AG_ERR_TOO_LARGE;
    ag_err err = parse_bearer(value, len, token);
    if (err != AG_OK && err != AG_ERR_TOO_LARGE && has_ctl(value, len)) {
        token->ptr = NULL;
        token->len = 0;
        return AG_ERR_REQUEST; /* RFC 9110 §5.5: NUL, CR, LF, other CTLs */
    }
    return err;
}

ag_err ag_http_find_bearer(const ag_header *headers, size_t n, ag_span *token)
{
    if (token == NULL || (headers == NULL && n > 0))
        return AG_ERR_INVALID_ARGUMENT;
    token->ptr = NULL;
    token->len = 0;
    ag_span value;
    ag_err e = ag__header_single(headers, n, "Authorization", 13, &value);
    if (e == AG_ERR_NOT_FOUND)
        return AG_ERR_NO_CREDENTIALS;
    if (e != AG_OK)
        return e;
    return ag_http_parse_bearer(value.ptr, value.len, token);
}

/* ------------------------------------------------------------------ */
/* Idempotency-Key (a refresh's retry key)                             */
/* ------------------------------------------------------------------ */

ag_err ag_http_parse_idempotency_key(const uint8_t *value, size_t len, ag_span *key)
{
    if (key == NULL || (value == NULL && len > 0))
        return AG_ERR_INVALID_ARGUMENT;
    key->ptr = NULL;
    key->len = 0;
    ag_span v = ag__trim_ows((ag_span){value, len});
    value = v.ptr;
    len = v.len;
    if (len < 3 || value[0] != '"' || value[len - 1] != '"')
        return AG_ERR_REQUEST;
    if (len - 2 > AG_IDEMPOTENCY_KEY_MAX_LEN)
        return AG_ERR_TOO_LARGE;
    for (size_t i = 1; i + 1 < len; i++) /* RFC 8941 unescaped chars, no escapes */
        if (value[i] < 0x20 || value[i] > 0x7e || value[i] == '"' || value[i] == '\\')
            return AG_ERR_REQUEST;
    key->ptr = value + 1;
    key->len = len - 2;
    return AG_OK;
}

ag_err ag_http_find_idempotency_key(const ag_header *headers, size_t n, ag_span *key)
{
    if (key == NULL || (headers == NULL && n > 0))
        return AG_ERR_INVALID_ARGUMENT;
    key->ptr = NULL;
    key->len = 0;
    ag_span value;
    ag_err e = ag__header_single(headers, n, "Idempotency-Key", 15, &value);
    return e != AG_OK ? e : ag_http_parse_idempotency_key(value.ptr, value.len, key);
}

/* ------------------------------------------------------------------ */
/* URL credentials (H-03)                                              */
/* ------------------------------------------------------------------ */

static const struct {
    const char *name;
    size_t len;
} url_cred_names[] = {
    {"access_token", 12}, {"refresh_token", 13}, {"token", 5}, {"jwt", 3}, {"id_token", 8},
};

#define URL_NAME_MAX 13

bool ag_http_is_url_credential_name(const uint8_t *name, size_t len)
{
    if (name == NULL)
        return false;
    for (size_t k = 0; k < AG__ARRAY_LEN(url_cred_names); k++) {
        if (ag__ci_eq(name, len, url_cred_names[k].name, url_cred_names[k].len))
            return true;
    }
    return false;
}

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a form-urlencoded name (WHATWG URL "percent-decode" after '+' →
 * SP) and tells whether it is a refused name. Names longer than the longest
 * refused one stop decoding early. */
static bool name_is_credential(const uint8_t *p, size_t n)
{
    uint8_t buf[URL_NAME_MAX + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > URL_NAME_MAX)
            return false;
        uint8_t c = p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && n - i >= 3 && hex_val(p[i + 1]) >= 0 && hex_val(p[i + 2]) >= 0) {
            c = (uint8_t)(hex_val(p[i + 1]) * 16 + hex_val(p[i + 2]));
            i += 2;
        }
        buf[k++] = c;
    }
    return k <= URL_NAME_MAX && ag_http_is_url_credential_name(buf, k);
}

ag_err ag_http_check_query(const uint8_t *query, size_t len)
{
    if (query == NULL)
        return len == 0 ? AG_OK : AG_ERR_INVALID_ARGUMENT;
    size_t i = 0;
    if (len > 0 && query[0] == '?')
        i = 1;
    while (i <= len) {
        size_t start = i;
        while (i < len && query[i] != '&' && query[i] != ';')
            i++;
        size_t end = i;
        size_t eq = start;
        while (eq < end && query[eq] != '=')
            eq++;
        if (name_is_credential(query + start, eq - start))
            return AG_ERR_URL_CREDENTIALS;
        i = end + 1;
    }
    return AG_OK;
}

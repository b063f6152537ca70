/* SPDX-License-Identifier: MIT */
/*
 * authgate — Set-Cookie values with safe defaults (H-09).
 *
 * Zero-initialised specs give "Secure; HttpOnly; SameSite=Strict; Path=/"
 * with no Domain. The cookie-prefix invariants are enforced here, so a
 * cookie the browser would silently drop is refused at build time:
 * __Secure- needs Secure; __Host- needs Secure, Path=/ and no Domain
 * (6265bis §4.1.3; the prefix is matched case-insensitively, as 6265bis
 * browsers do).
 */
#include <string.h>

#include "http_int.h"

typedef struct writer {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
} writer;

static void put(writer *w, const char *s, size_t n)
{
    if (w->overflow || n >= w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void puts_(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_u64(writer *w, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(w, tmp + sizeof tmp - n, n);
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strlen(s) >= n && ag__ci_eq((const uint8_t *)s, n, prefix, n);
}

/* av-octet without ';' and CTLs; a path must start with '/'. */
static bool path_ok(const char *s)
{
    if (s[0] != '/')
        return false;
    for (; *s != '\0'; s++) {
        uint8_t c = (uint8_t)*s;
        if (c < 0x20 || c >= 0x7f || c == ';')
            return false;
    }
    return true;
}

static bool domain_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 253)
        return false;
    for (; *s != '\0'; s++) {
        uint8_t c = (uint8_t)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

static ag_err check_spec(const ag_cookie_spec *c, size_t *name_len)
{
    if (c->name == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    size_t n = 0;
    for (const char *s = c->name; *s != '\0'; s++, n++) {
        if (!ag__is_tchar((uint8_t)*s) || n >= AG_COOKIE_MAX_LEN)
            return AG_ERR_INVALID_ARGUMENT;
    }
    if (n == 0)
        return AG_ERR_INVALID_ARGUMENT;
    bool host = has_prefix_ci(c->name, "__Host-");
    bool secure_prefix = host || has_prefix_ci(c->name, "__Secure-");
    if (secure_prefix && c->insecure)
        return AG_ERR_INVALID_ARGUMENT;
    if (host && (c->domain != NULL || (c->path != NULL && strcmp(c->path, "/") != 0)))
        return AG_ERR_INVALID_ARGUMENT;
    if (c->same_site != AG_SAMESITE_STRICT && c->same_site != AG_SAMESITE_LAX &&
        c->same_site != AG_SAMESITE_NONE)
        return AG_ERR_INVALID_ARGUMENT;
    if (c->same_site == AG_SAMESITE_NONE && c->insecure)
        return AG_ERR_INVALID_ARGUMENT;
    if (c->path != NULL && !path_ok(c->path))
        return AG_ERR_INVALID_ARGUMENT;
    if (c->domain != NULL && !domain_ok(c->domain))
        return AG_ERR_INVALID_ARGUMENT;
    *name_len = n;
    return AG_OK;
}

static ag_err emit(const ag_cookie_spec *c, size_t name_len, ag_span value, uint64_t max_age,
                   char *buf, size_t cap, size_t *len)
{
    writer w = {buf, cap, 0, false};
    put(&w, c->name, name_len);
    put(&w, "=", 1);
    put(&w, (const char *)value.ptr, value.len);
    puts_(&w, "; Max-Age=");
    put_u64(&w, max_age);
    puts_(&w, "; Path=");
    puts_(&w, c->path != NULL ? c->path : "/");
    if (c->domain != NULL) {
        puts_(&w, "; Domain=");
        puts_(&w, c->domain);
    }
    if (!c->insecure)
        puts_(&w, "; Secure");
    if (!c->script_readable)
        puts_(&w, "; HttpOnly");
    static const char *const ss[] = {"Strict", "Lax", "None"};
    puts_(&w, "; SameSite=");
    puts_(&w, ss[c->same_site]);
    if (w.overflow) {
        memset(buf, 0, cap);
        if (len != NULL)
            *len = 0;
        return AG_ERR_BUFFER;
    }
    buf[w.len] = '\0';
    if (len != NULL)
        *len = w.len;
    return AG_OK;
}

ag_err ag_set_cookie_build(const ag_cookie_spec *spec, char *buf, size_t cap, size_t *len)
{
    if (len != NULL)
        *len = 0;
    ag_cookie_spec sized;
    AG__SIZED_OR_RETURN(spec, sized);
    if (spec == NULL || buf == NULL || cap == 0)
        return AG_ERR_INVALID_ARGUMENT;
    buf[0] = '\0';
    size_t name_len = 0;
    ag_err e = check_spec(spec, &name_len);
    if (e != AG_OK)
        return e;
    if (spec->value.ptr == NULL && spec->value.len > 0)
        return AG_ERR_INVALID_ARGUMENT;
    if (spec->value.len > AG_COOKIE_MAX_LEN - name_len)
        return AG_ERR_TOO_LARGE;
    for (size_t i = 0; i < spec->value.len; i++) {
        if (!ag__is_cookie_octet(spec->value.ptr[i]))
            return AG_ERR_INVALID_ARGUMENT;
    }
    int64_t now = spec->now != 0 ? spec->now : ag_clock_system(NULL);
    if (spec->expires_at <= now || now < 0)
        return AG_ERR_INVALID_ARGUMENT;
    return emit(spec, name_len, spec->value, (uint64_t)(spec->expires_at - now), buf, cap, len);
}

ag_err ag_set_cookie_clear(const ag_cookie_spec *spec, char *buf, size_t cap, size_t *len)
{
    if (len != NULL)
        *len = 0;
    ag_cookie_spec sized;
    AG__SIZED_OR_RETURN(spec, sized);
    if (spec == NULL || buf == NULL || cap == 0)
        return AG_ERR_INVALID_ARGUMENT;
    buf[0] = '\0';
    size_t name_len = 0;
    ag_err e = check_spec(spec, &name_len);
    if (e != AG_OK)
        return e;
    return emit(spec, name_len, (ag_span){(const uint8_t *)"", 0}, 0, buf, cap, len);
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — iterators over JSON text that json_scan.c validated: members
 * of an object, elements of an array. They stay in bounds on any text, so
 * a caller's mistake cannot turn into an over-read.
 *
 * @test tests/token/test_json_scan_accessors.c
 */
#include <string.h>

#include "json_int.h"
#include "token_int.h"

/* ------------------------------------------------------------------ */
/* Iterators over validated text (always in bounds on any text)         */
/* ------------------------------------------------------------------ */

/* Skips string content after the opening quote; returns the position
 * after the closing quote, or e. */
const uint8_t *ag__json_skip_string_raw(const uint8_t *s, const uint8_t *e)
{
    for (;;) {
        while (e - s >= 8) {
            uint64_t v, q, b;
            memcpy(&v, s, 8);
            q = v ^ (ONES * '"');
            b = v ^ (ONES * '\\');
            uint64_t m = (((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
            if (m != 0) {
                s += FIRST_FLAGGED(m);
                break;
            }
            s += 8;
        }
        while (s < e && *s != '"' && *s != '\\')
            s++;
        if (s >= e)
            return e;
        if (*s == '"')
            return s + 1;
        s += 2; /* an escape: its second byte is never a quote that ends the string */
        if (s > e)
            return e;
    }
}

/* Skips one value starting at s (no leading whitespace); returns its end. */
static const uint8_t *skip_value(const uint8_t *s, const uint8_t *e, ag__jtype *type)
{
    switch (*s) {
    case '"':
        *type = AG__J_STRING;
        return ag__json_skip_string_raw(s + 1, e);
    case '{':
    case '[': {
        *type = *s == '{' ? AG__J_OBJECT : AG__J_ARRAY;
        size_t level = 0;
        while (s < e) {
            uint8_t c = *s;
            if (c == '"') {
                s = ag__json_skip_string_raw(s + 1, e);
                continue;
            }
            s++;
            if (c == '{' || c == '[') {
                level++;
            } else if (c == '}' || c == ']') {
                if (--level == 0)
                    return s;
            }
        }
        return e;
    }
    case 't':
    case 'f':
    case 'n':
        *type = *s == 't' ? AG__J_TRUE : *s == 'f' ? AG__J_FALSE : AG__J_NULL;
        while (s < e && is_alpha(*s))
            s++;
        return s;
    default:
        *type = AG__J_NUMBER;
        while (s < e &&
               (is_digit(*s) || *s == '-' || *s == '+' || *s == '.' || *s == 'e' || *s == 'E'))
            s++;
        return s;
    }
}

void ag__json_iter_object(ag__jiter *it, const uint8_t *p, size_t n)
{
    const uint8_t *e = p != NULL ? p + n : NULL;
    const uint8_t *s = p != NULL ? skip_ws(p, e) : NULL;
    it->end = e;
    it->is_array = false;
    it->p = (s != NULL && s < e && *s == '{') ? s + 1 : e;
}

void ag__json_iter_array(ag__jiter *it, ag_span array_value)
{
    const uint8_t *p = array_value.ptr;
    const uint8_t *e = p != NULL ? p + array_value.len : NULL;
    const uint8_t *s = p != NULL ? skip_ws(p, e) : NULL;
    it->end = e;
    it->is_array = true;
    it->p = (s != NULL && s < e && *s == '[') ? s + 1 : e;
}

bool ag__json_next(ag__jiter *it, ag__jmember *m)
{
    const uint8_t *s = it->p, *e = it->end;
    if (s == NULL)
        return false;
    s = skip_ws(s, e);
    if (s >= e || *s == '}' || *s == ']')
        goto done;
    m->name = (ag_span){s, 0};
    if (!it->is_array) {
        if (*s != '"')
            goto done;
        const uint8_t *name = s + 1;
        s = ag__json_skip_string_raw(name, e);
        if (s <= name || s[-1] != '"')
            goto done;
        m->name = (ag_span){name, (size_t)(s - 1 - name)};
        s = skip_ws(s, e);
        if (s >= e || *s != ':')
            goto done;
        s = skip_ws(s + 1, e);
        if (s >= e)
            goto done;
    }
    const uint8_t *v = s;
    m->value_esc = true; /* not known here: callers decode or look */
    s = skip_value(v, e, &m->type);
    if (s == v)
        goto done; /* not a value (only in text that failed the check) */
    if (m->type == AG__J_STRING) {
        if (s <= v + 1 || s[-1] != '"')
            goto done;
        m->value = (ag_span){v + 1, (size_t)(s - 2 - v)};
    } else {
        m->value = (ag_span){v, (size_t)(s - v)};
        if (m->type != AG__J_OBJECT && m->type != AG__J_ARRAY && s < e && *s == '\0')
            s++; /* the NUL jansson loses after a number or literal */
    }
    s = skip_ws(s, e);
    if (s < e && *s == ',')
        s++;
    it->p = s;
    return true;

done:
    it->p = e;
    return false;
}

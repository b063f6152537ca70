/* SPDX-License-Identifier: MIT */
/*
 * authgate — a strict, allocation-free JSON scanner for the verify hot
 * path. ag__json_check_object() accepts exactly what jansson 2.14's
 * json_loadb(JSON_REJECT_DUPLICATES) accepts as an object (V-06), with
 * bounded work and no allocation. The rules byte for byte, the cost bounds
 * and the exact overflow check for reals: docs/internals.md, "The strict
 * JSON scanner". Numbers live in json_num.c, the iterators in json_iter.c.
 *
 * @test tests/token/test_json_scan_verdicts.c, tests/token/test_json_scan_differential.c,
 * fuzz/fuzz_json.c
 */
#include <stdlib.h>
#include <string.h>

#include "json_int.h"
#include "token_int.h"

#ifdef AG__X86_SIMD
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------ */
/* Byte classes                                                        */
/* ------------------------------------------------------------------ */

/* String byte classes: 0 plain, 1 '"', 2 '\\', 3 control, 4 UTF-8 lead of
 * 2 bytes, 5 E0, 6 E1-EC/EE-EF, 7 ED, 8 F0, 9 F1-F3, 10 F4, 11 invalid. */
static const uint8_t str_class[256] = {
    3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,
    3,  3,  3,  3,  3,  3,  3,  3,  0,  0,  1,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  5,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  7,  6,  6,
    8,  9,  9,  9,  10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
};

/* The value of one hex digit, or -1. */
static inline int hex_val(uint8_t c)
{
    if (is_digit(c))
        return c - '0';
    unsigned l = (unsigned)(c | 0x20) - 'a';
    return l < 6u ? (int)l + 10 : -1;
}

/* Four hex digits at s (which has at least 4 bytes), or -1. */
static long hex4(const uint8_t *s)
{
    int a = hex_val(s[0]), b = hex_val(s[1]), c = hex_val(s[2]), d = hex_val(s[3]);
    if ((a | b | c | d) < 0)
        return -1;
    return (long)a << 12 | (long)b << 8 | (long)c << 4 | (long)d;
}

/* ------------------------------------------------------------------ */
/* Strict string scan                                                  */
/* ------------------------------------------------------------------ */

/*
 * Validates a string whose opening quote is just before s. Returns the
 * position after the closing quote, or NULL on any error. *esc is set when
 * the string holds an escape.
 */
static const uint8_t *scan_string_slow(const uint8_t *s, const uint8_t *e, bool *esc)
{
    for (;;) {
        while (e - s >= 8) {
            uint64_t v;
            memcpy(&v, s, 8);
            uint64_t m = special8(v);
            if (m != 0) {
                s += FIRST_FLAGGED(m);
                break;
            }
            s += 8;
        }
        while (s < e && str_class[*s] == 0)
            s++;
        if (s >= e)
            return NULL;
        switch (str_class[*s]) {
        case 1:
            return s + 1;
        case 2: {
            if (e - s < 2)
                return NULL;
            *esc = true;
            uint8_t c = s[1];
            if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
                c == 't') {
                s += 2;
                break;
            }
            if (c != 'u' || e - s < 6)
                return NULL;
            long u = hex4(s + 2);
            if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
                return NULL; /* invalid hex, \u0000, lone low surrogate */
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (e - s < 12 || s[6] != '\\' || s[7] != 'u')
                    return NULL;
                long u2 = hex4(s + 8);
                if (u2 < 0xDC00 || u2 > 0xDFFF)
                    return NULL;
                s += 12;
            } else {
                s += 6;
            }
            break;
        }
        case 4:
            if (e - s < 2 || !is_cont(s[1]))
                return NULL;
            s += 2;
            break;
        case 5: /* E0 A0-BF: no overlong 3-byte forms */
            if (e - s < 3 || s[1] < 0xA0 || s[1] > 0xBF || !is_cont(s[2]))
                return NULL;
            s += 3;
            break;
        case 6:
            if (e - s < 3 || !is_cont(s[1]) || !is_cont(s[2]))
                return NULL;
            s += 3;
            break;
        case 7: /* ED 80-9F: no surrogates */
            if (e - s < 3 || s[1] < 0x80 || s[1] > 0x9F || !is_cont(s[2]))
                return NULL;
            s += 3;
            break;
        case 8: /* F0 90-BF: no overlong 4-byte forms */
            if (e - s < 4 || s[1] < 0x90 || s[1] > 0xBF || !is_cont(s[2]) || !is_cont(s[3]))
                return NULL;
            s += 4;
            break;
        case 9:
            if (e - s < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3]))
                return NULL;
            s += 4;
            break;
        case 10: /* F4 80-8F: nothing above U+10FFFF */
            if (e - s < 4 || s[1] < 0x80 || s[1] > 0x8F || !is_cont(s[2]) || !is_cont(s[3]))
                return NULL;
            s += 4;
            break;
        default: /* control characters, stray continuation bytes, C0, C1, F5-FF */
            return NULL;
        }
    }
}

/* The common case inline: plain ASCII up to the closing quote. */
static inline const uint8_t *scan_string(const uint8_t *s, const uint8_t *e, bool *esc, bool wide)
{
#ifdef AG__X86_SIMD
    /* 16 bytes per step (SSE2 is part of x86-64): a signed compare with
     * 0x20 flags control bytes and every byte >= 0x80 at once. Most token
     * strings end inside the first block, so the loop rarely iterates and
     * its exit is rarely mispredicted. Loads stay inside [s, e). wide is
     * false only when tests hide AG__CPU_SSE2, to run the portable loop. */
    while (wide && e - s >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                              _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0) {
            s += __builtin_ctz(bits);
            if (*s == '"')
                return s + 1;
            return scan_string_slow(s, e, esc);
        }
        s += 16;
    }
#else
    (void)wide;
#endif
    while (e - s >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        uint64_t m = special8(v);
        if (m != 0) {
            s += FIRST_FLAGGED(m);
            if (*s == '"')
                return s + 1;
            break;
        }
        s += 8;
    }
    return scan_string_slow(s, e, esc);
}

/* ------------------------------------------------------------------ */
/* Streaming unescape (no buffer)                                      */
/* ------------------------------------------------------------------ */

static size_t utf8_put(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Decodes the escape at s (s[0] == '\\') into out; returns the number of
 * bytes written and sets *adv to the escape's length. Meant for validated
 * text; on anything else it stays in bounds and yields the backslash as is.
 */
static size_t unescape(const uint8_t *s, const uint8_t *e, uint8_t out[4], size_t *adv)
{
    *adv = 1;
    out[0] = '\\';
    if (e - s < 2)
        return 1;
    uint8_t c = s[1];
    switch (c) {
    case '"':
    case '\\':
    case '/':
        out[0] = c;
        break;
    case 'b':
        out[0] = '\b';
        break;
    case 'f':
        out[0] = '\f';
        break;
    case 'n':
        out[0] = '\n';
        break;
    case 'r':
        out[0] = '\r';
        break;
    case 't':
        out[0] = '\t';
        break;
    case 'u': {
        if (e - s < 6)
            return 1;
        long u = hex4(s + 2);
        if (u < 0)
            return 1;
        if (u >= 0xD800 && u <= 0xDBFF && e - s >= 12 && s[6] == '\\' && s[7] == 'u') {
            long u2 = hex4(s + 8);
            if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
                *adv = 12;
                return utf8_put((uint32_t)(0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00)), out);
            }
        }
        *adv = 6;
        return utf8_put((uint32_t)u, out);
    }
    default:
        return 1;
    }
    *adv = 2;
    return 1;
}

/* A decoded byte stream over raw string content (or over plain bytes,
 * taken as they are, when plain is set). */
typedef struct dstream {
    const uint8_t *p, *e;
    bool plain;
    uint8_t buf[4];
    size_t bi, bn;
} dstream;

static inline int ds_next(dstream *d)
{
    if (d->bi < d->bn)
        return d->buf[d->bi++];
    if (d->p >= d->e)
        return -1;
    uint8_t c = *d->p;
    if (c != '\\' || d->plain) {
        d->p++;
        return c;
    }
    size_t adv;
    d->bn = unescape(d->p, d->e, d->buf, &adv);
    d->bi = 1;
    d->p += adv;
    return d->buf[0];
}

/* Equality of a's and b's contents, each unescaped when its esc flag is
 * set and taken as plain bytes otherwise. */
static bool raw_eq(const uint8_t *a, size_t an, bool a_esc, const uint8_t *b, size_t bn, bool b_esc)
{
    if (!a_esc && !b_esc)
        return an == bn && (an == 0 || memcmp(a, b, an) == 0);
    dstream x = {a, a + an, !a_esc, {0}, 0, 0};
    dstream y = {b, b + bn, !b_esc, {0}, 0, 0};
    for (;;) {
        int cx = ds_next(&x), cy = ds_next(&y);
        if (cx != cy)
            return false;
        if (cx < 0)
            return true;
    }
}

bool ag__json_str_eq(ag_span raw, const char *lit, size_t lit_len)
{
    if (raw.len == 0 || raw.ptr == NULL)
        return lit_len == 0;
    if (lit == NULL)
        return false;
    /* Unescaping only shortens a string, and lit has no escapes: a raw text
     * shorter than lit never matches, one of the same length matches only
     * byte for byte, and only a longer one that holds a backslash needs the
     * decoding comparison. Member names are compared here on the verify hot
     * path, so the common cases cost a few instructions. */
    if (raw.len < lit_len)
        return false;
    if (raw.len == lit_len) {
        uint8_t esc = 0;
        for (size_t i = 0; i < lit_len; i++) {
            if (raw.ptr[i] != (uint8_t)lit[i])
                return false;
            esc |= (uint8_t)(raw.ptr[i] == '\\');
        }
        return esc == 0; /* with an escape, raw decodes shorter than lit */
    }
    if (memchr(raw.ptr, '\\', raw.len) == NULL)
        return false;
    return raw_eq(raw.ptr, raw.len, true, (const uint8_t *)lit, lit_len, false);
}

/* As declared in token_int.h, plus: on AG_ERR_BUFFER nothing is written and
 * *out_len holds the length needed; NULL out_len → AG_ERR_INVALID_ARGUMENT. */
ag_err ag__json_str_decode(ag_span raw, uint8_t *out, size_t cap, size_t *out_len)
{
    if (out_len == NULL || (out == NULL && cap > 0))
        return AG_ERR_INVALID_ARGUMENT;
    *out_len = 0;
    if (raw.ptr == NULL || raw.len == 0)
        return AG_OK;
    const uint8_t *s = raw.ptr, *e = raw.ptr + raw.len;
    const uint8_t *bs = memchr(s, '\\', raw.len);
    if (bs == NULL) {
        if (cap < raw.len) {
            *out_len = raw.len;
            return AG_ERR_BUFFER;
        }
        memcpy(out, s, raw.len);
        *out_len = raw.len;
        return AG_OK;
    }
    /* Decoding never grows the text, so cap >= raw.len always fits;
     * otherwise measure first, so a short buffer receives nothing. */
    if (cap < raw.len) {
        size_t need = 0;
        dstream d = {s, e, false, {0}, 0, 0};
        while (ds_next(&d) >= 0)
            need++;
        if (need > cap) {
            *out_len = need;
            return AG_ERR_BUFFER;
        }
    }
    size_t o = (size_t)(bs - s);
    memcpy(out, s, o);
    s = bs;
    while (s < e) {
        if (*s != '\\') {
            out[o++] = *s++;
            continue;
        }
        uint8_t tmp[4];
        size_t adv, k = unescape(s, e, tmp, &adv);
        memcpy(out + o, tmp, k);
        o += k;
        s += adv;
    }
    *out_len = o;
    return AG_OK;
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

/* Names remembered for duplicate checks; an entry with ptr NULL marks the
 * start of an object. */
#define KEY_SLOTS 64

typedef struct keyent {
    const uint8_t *ptr; /* NULL for an object marker */
    size_t len;         /* for a marker: the enclosing object's first slot */
    bool esc;
} keyent;

/*
 * A 64-bit signature of a name's decoded bytes: its first eight bytes in
 * memory order, zero padded, mixed with its length. Equal names have equal
 * signatures, so only a matching signature needs a full comparison. The
 * raw name has at least 8 readable bytes after its start unless e is
 * nearer (it is followed by its closing quote, ':', a value and '}').
 */
static uint64_t name_sig(const uint8_t *name, size_t len, bool esc, const uint8_t *e)
{
    static const uint8_t ff[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    uint64_t head = 0, mask;
    if (!esc) {
        if (e - name >= 8)
            memcpy(&head, name, 8);
        else
            memcpy(&head, name, (size_t)(e - name));
        memcpy(&mask, ff + 8 - (len < 8 ? len : 8), 8);
        head &= mask;
    } else {
        uint8_t first[8] = {0};
        dstream d = {name, name + len, false, {0}, 0, 0};
        len = 0;
        for (int c; (c = ds_next(&d)) >= 0; len++)
            if (len < 8)
                first[len] = (uint8_t)c;
        memcpy(&head, first, 8);
    }
    /* the odd multiplier spreads every input bit into the top bits, which
     * pick the object's filter bit */
    return (head ^ ((uint64_t)len * UINT64_C(0x9E3779B97F4A7C15))) * UINT64_C(0xD6E8FEB86659FD93);
}

/* Duplicate check of one object (s at '{') of validated text, by blocks of
 * KEY_SLOTS names. Returns true when two names are equal. */
static bool object_has_dup(const uint8_t *s, const uint8_t *e)
{
    keyent blk[KEY_SLOTS];
    size_t base = 0;
    for (;;) {
        ag__jiter it = {s + 1, e, false};
        ag__jmember m;
        size_t idx = 0, nb = 0;
        bool more = false;
        while (ag__json_next(&it, &m)) {
            if (idx++ < base)
                continue;
            bool esc = m.name.len > 0 && memchr(m.name.ptr, '\\', m.name.len) != NULL;
            for (size_t j = 0; j < nb; j++)
                if (raw_eq(blk[j].ptr, blk[j].len, blk[j].esc, m.name.ptr, m.name.len, esc))
                    return true;
            if (nb < KEY_SLOTS)
                blk[nb++] = (keyent){m.name.ptr, m.name.len, esc};
            else
                more = true;
        }
        if (!more)
            return false;
        base += KEY_SLOTS;
    }
}

/* Duplicate check of every object of validated text. */
static bool all_objects_have_dup(const uint8_t *s, const uint8_t *e)
{
    while (s < e) {
        if (*s == '"')
            s = ag__json_skip_string_raw(s + 1, e);
        else if (*s == '{' && object_has_dup(s, e))
            return true;
        else
            s++;
    }
    return false;
}

/* Sets bit i of a stack that grows one bit at a time: a word is written
 * whole when its first bit is pushed, so the stack needs no clearing. */
static inline void bit_push(uint64_t *bits, size_t i, bool v)
{
    uint64_t m = UINT64_C(1) << (i & 63);
    if ((i & 63) == 0)
        bits[i >> 6] = v ? m : 0;
    else if (v)
        bits[i >> 6] |= m;
    else
        bits[i >> 6] &= ~m;
}

static inline bool bit_get(const uint64_t *bits, size_t i)
{
    return (bits[i >> 6] >> (i & 63)) & 1u;
}

/* The validator; when mem is not NULL it also records the top-level members
 * (the first cap of them; *count is the total), so that callers need not
 * scan the text a second time to read them. */
static ag_err check_object(const uint8_t *p, size_t n, ag__jmember *mem, size_t cap, size_t *count)
{
    size_t cnt = 0;
    const uint8_t *vstart = NULL; /* the current top-level member's value */
    const bool wide = (ag__cpu_features() & AG__CPU_SSE2) != 0;
    ag__jtype vtype = AG__J_NULL;
    if (count != NULL)
        *count = 0;
    if (p == NULL || n == 0)
        return AG_ERR_MALFORMED;
    const uint8_t *s = p, *e = p + n;
    uint64_t is_obj[AG__JSON_MAX_DEPTH / 64]; /* bit d-1: the container at depth d */
    size_t depth = 1;
    keyent keys[KEY_SLOTS];
    uint64_t sigs[KEY_SLOTS];
    size_t nk = 0, base = 0; /* slots used; first slot of the current object */
    uint64_t seen = 0;       /* one bit per name signature in the current object */
    bool keys_lost = false;  /* too many names: check duplicates in a second pass */

    s = skip_ws(s, e);
    if (s >= e || *s != '{')
        return AG_ERR_MALFORMED;
    s++;
    bit_push(is_obj, 0, true);

object_open:
    if (!keys_lost) {
        if (nk < KEY_SLOTS) {
            keys[nk] = (keyent){NULL, base, false};
            sigs[nk] = seen; /* the marker keeps the enclosing object's bits */
            seen = 0;
            base = ++nk;
        } else {
            keys_lost = true;
        }
    }
    s = skip_ws(s, e);
    if (s < e && *s == '}') {
        s++;
        goto container_close;
    }

member:
    if (s >= e || *s != '"')
        return AG_ERR_MALFORMED;
    {
        bool esc = false;
        const uint8_t *name = s + 1;
        s = scan_string(name, e, &esc, wide);
        if (s == NULL)
            return AG_ERR_MALFORMED;
        size_t len = (size_t)(s - 1 - name);
        if (mem != NULL && depth == 1 && cnt < cap)
            mem[cnt].name = (ag_span){name, len};
        if (!keys_lost) {
            uint64_t sig = name_sig(name, len, esc, e);
            uint64_t bit = UINT64_C(1) << (sig >> 58);
            if (seen & bit) { /* a possible duplicate: compare signatures, then names */
                for (size_t j = base; j < nk; j++) {
                    if (sigs[j] == sig &&
                        raw_eq(keys[j].ptr, keys[j].len, keys[j].esc, name, len, esc))
                        return AG_ERR_MALFORMED;
                }
            }
            seen |= bit;
            if (nk < KEY_SLOTS) {
                keys[nk] = (keyent){name, len, esc};
                sigs[nk++] = sig;
            } else {
                keys_lost = true;
            }
        }
    }
    s = skip_ws(s, e);
    if (s >= e || *s != ':')
        return AG_ERR_MALFORMED;
    s = skip_ws(s + 1, e);

value:
    if (depth >= AG__JSON_MAX_DEPTH || s >= e)
        return AG_ERR_MALFORMED;
    if (depth == 1)
        vstart = s;
    switch (*s) {
    case '"': {
        bool esc = false;
        s = scan_string(s + 1, e, &esc, wide);
        if (s == NULL)
            return AG_ERR_MALFORMED;
        if (depth == 1) {
            if (mem != NULL && cnt < cap) {
                mem[cnt].type = AG__J_STRING;
                mem[cnt].value = (ag_span){vstart + 1, (size_t)(s - 1 - (vstart + 1))};
                mem[cnt].value_esc = esc;
            }
            cnt++;
        }
        break;
    }
    case '{':
        bit_push(is_obj, depth++, true);
        s++;
        goto object_open;
    case '[':
        bit_push(is_obj, depth++, false);
        s = skip_ws(s + 1, e);
        if (s < e && *s == ']') {
            s++;
            goto container_close;
        }
        goto value;
    case 't':
        if (e - s < 4 || memcmp(s, "true", 4) != 0)
            return AG_ERR_MALFORMED;
        s += 4;
        goto after_token;
    case 'f':
        if (e - s < 5 || memcmp(s, "false", 5) != 0)
            return AG_ERR_MALFORMED;
        s += 5;
        goto after_token;
    case 'n':
        if (e - s < 4 || memcmp(s, "null", 4) != 0)
            return AG_ERR_MALFORMED;
        s += 4;
        goto after_token;
    default:
        s = ag__json_scan_number(s, e);
        if (s == NULL)
            return AG_ERR_MALFORMED;
        goto after_token;
    }
    goto after_value;

after_token:
    if (depth == 1) {
        if (mem != NULL && cnt < cap) {
            vtype = *vstart == 't'   ? AG__J_TRUE
                    : *vstart == 'f' ? AG__J_FALSE
                    : *vstart == 'n' ? AG__J_NULL
                                     : AG__J_NUMBER;
            mem[cnt].type = vtype;
            mem[cnt].value = (ag_span){vstart, (size_t)(s - vstart)};
            mem[cnt].value_esc = true;
        }
        cnt++;
    }
    /* jansson loses a pushed-back NUL byte (see the top of this file) */
    if (s < e && *s == '\0')
        s++;

after_value:
    s = skip_ws(s, e);
    if (s >= e)
        return AG_ERR_MALFORMED;
    if (*s == ',') {
        s = skip_ws(s + 1, e);
        if (bit_get(is_obj, depth - 1))
            goto member;
        goto value;
    }
    if (*s != (bit_get(is_obj, depth - 1) ? '}' : ']'))
        return AG_ERR_MALFORMED;
    s++;

container_close:
    if (bit_get(is_obj, depth - 1) && !keys_lost) {
        nk = base - 1; /* drop the object's names and its marker */
        base = keys[nk].len;
        seen = sigs[nk];
    }
    if (--depth == 1) {
        if (mem != NULL && cnt < cap) {
            mem[cnt].type = *vstart == '{' ? AG__J_OBJECT : AG__J_ARRAY;
            mem[cnt].value = (ag_span){vstart, (size_t)(s - vstart)};
            mem[cnt].value_esc = true;
        }
        cnt++;
    }
    if (depth > 0)
        goto after_value;

    s = skip_ws(s, e);
    if (s != e)
        return AG_ERR_MALFORMED;
    if (keys_lost && all_objects_have_dup(p, e))
        return AG_ERR_MALFORMED;
    if (count != NULL)
        *count = cnt;
    return AG_OK;
}

ag_err ag__json_check_object(const uint8_t *p, size_t n)
{
    return check_object(p, n, NULL, 0, NULL);
}

ag_err ag__json_check_members(const uint8_t *p, size_t n, ag__jmember *mem, size_t cap,
                              size_t *count)
{
    ag_err err = check_object(p, n, mem, cap, count);
    if (err != AG_OK && count != NULL)
        *count = 0;
    return err;
}

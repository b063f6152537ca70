/* SPDX-License-Identifier: MIT */
/*
 * authgate — strict base64url (RFC 4648 §5, no padding), V-05.
 *
 * The alphabet mapping is arithmetic on the data, never a table indexed by
 * it, and the loops branch only on lengths (libsodium codecs.c style): a
 * decoded HMAC secret or jti leaks nothing through the cache or the branch
 * predictor. Decoding is all or nothing: on failure *out_len is 0 and the
 * bytes already written are wiped.
 *
 * @test tests/token/test_base64url.c
 */
#include <string.h>

#include "b64_int.h"
#include "token_int.h"

/* All ones when lo <= c <= hi, else 0 (c, lo, hi < 2^31). */
static uint32_t range_mask(uint32_t c, uint32_t lo, uint32_t hi)
{
    return (((c - lo) | (hi - c)) >> 31) - 1u;
}

/* All ones when v >= k, else 0 (v, k < 2^31). */
static uint32_t ge_mask(uint32_t v, uint32_t k)
{
    return 0u - (((k - 1u) - v) >> 31);
}

/* The 6-bit value of one character; sets bit 0 of *err for a character
 * outside [A-Za-z0-9_-]. */
static uint32_t char_value(uint32_t c, uint32_t *err)
{
    uint32_t up = range_mask(c, 'A', 'Z');
    uint32_t lo = range_mask(c, 'a', 'z');
    uint32_t dg = range_mask(c, '0', '9');
    uint32_t mi = range_mask(c, '-', '-');
    uint32_t us = range_mask(c, '_', '_');

    *err |= ~(up | lo | dg | mi | us) & 1u;
    return ((up & (c - 'A')) | (lo & (c - 'a' + 26u)) | (dg & (c - '0' + 52u)) | (mi & 62u) |
            (us & 63u)) &
           63u;
}

/* The character of a 6-bit value. */
static char value_char(uint32_t v)
{
    uint32_t c = v + 'A';
    c += ge_mask(v, 26) & 6u;  /* 'a' - 26 - 'A' */
    c -= ge_mask(v, 52) & 75u; /* to '0' - 52 */
    c -= ge_mask(v, 62) & 13u; /* 62 → '-' */
    c += ge_mask(v, 63) & 49u; /* 63 → '_' */
    return (char)c;
}

ag_err ag_base64url_encode(const uint8_t *in, size_t in_len, char *out, size_t cap, size_t *out_len)
{
    if (out_len == NULL || (in == NULL && in_len > 0) || (out == NULL && cap > 0))
        return AG_ERR_INVALID_ARGUMENT;
    *out_len = 0;
    if (in_len > SIZE_MAX / 4u * 3u - 3u)
        return AG_ERR_BUFFER;
    size_t need = AG_B64URL_ENCODED_LEN(in_len);
    if (cap < need)
        return AG_ERR_BUFFER;

    size_t i = 0, o = 0;
    for (; in_len - i >= 3; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = value_char(w >> 18);
        out[o++] = value_char((w >> 12) & 63u);
        out[o++] = value_char((w >> 6) & 63u);
        out[o++] = value_char(w & 63u);
    }
    if (in_len - i == 1) {
        uint32_t w = in[i];
        out[o++] = value_char(w >> 2);
        out[o++] = value_char((w << 4) & 63u);
    } else if (in_len - i == 2) {
        uint32_t w = (uint32_t)in[i] << 8 | in[i + 1];
        out[o++] = value_char(w >> 10);
        out[o++] = value_char((w >> 4) & 63u);
        out[o++] = value_char((w << 2) & 63u);
    }
    if (o < cap)
        out[o] = '\0';
    *out_len = o;
    return AG_OK;
}

/*
 * Decodes n characters (n % 4 != 1, checked by the caller) into out, which
 * holds AG_B64URL_DECODED_MAX(n) bytes, or only validates when out is NULL.
 * Returns nonzero when any character is outside the alphabet or the unused
 * trailing bits are not zero.
 */
static uint32_t decode_raw(const uint8_t *in, size_t n, uint8_t *out)
{
    uint32_t err = 0;
    size_t i = 0, o = 0;
    for (; n - i >= 4; i += 4) {
        uint32_t w = char_value(in[i], &err) << 18 | char_value(in[i + 1], &err) << 12 |
                     char_value(in[i + 2], &err) << 6 | char_value(in[i + 3], &err);
        if (out != NULL) {
            out[o] = (uint8_t)(w >> 16);
            out[o + 1] = (uint8_t)(w >> 8);
            out[o + 2] = (uint8_t)w;
        }
        o += 3;
    }
    if (n - i == 2) {
        uint32_t w = char_value(in[i], &err) << 6 | char_value(in[i + 1], &err);
        err |= ((w & 15u) + 15u) >> 4; /* 12 bits carry 8: the low 4 must be zero */
        if (out != NULL)
            out[o] = (uint8_t)(w >> 4);
    } else if (n - i == 3) {
        uint32_t w = char_value(in[i], &err) << 12 | char_value(in[i + 1], &err) << 6 |
                     char_value(in[i + 2], &err);
        err |= ((w & 3u) + 3u) >> 2; /* 18 bits carry 16: the low 2 must be zero */
        if (out != NULL) {
            out[o] = (uint8_t)(w >> 10);
            out[o + 1] = (uint8_t)(w >> 2);
        }
    }
    return err;
}

ag_err ag_base64url_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                           size_t *out_len)
{
    if (out_len == NULL || (in == NULL && in_len > 0) || (out == NULL && cap > 0))
        return AG_ERR_INVALID_ARGUMENT;
    *out_len = 0;
    if (in_len % 4u == 1u)
        return AG_ERR_MALFORMED;
    size_t need = AG_B64URL_DECODED_MAX(in_len);
    if (cap < need)
        return AG_ERR_BUFFER;
    if (need == 0)
        return AG_OK;
    if (decode_raw(in, in_len, out) != 0) {
        ag_cleanse(out, need);
        return AG_ERR_MALFORMED;
    }
    *out_len = need;
    return AG_OK;
}

/*
 * The token decoder of the verify hot path: a 256-entry table instead of
 * the branch-free arithmetic above, about 5x faster, and whole 32-character
 * blocks in AVX2 (b64_simd.c) when the CPU has it, about 5x faster again.
 * Its memory access depends on the token's characters, which is acceptable
 * for token text (the same bytes travel in clear over the connection and
 * are compared by the signature anyway); key material (JWK "k", "d", …)
 * keeps using the constant-time ag_base64url_decode. Same strictness, same
 * contract; both paths write nothing past out + AG_B64URL_DECODED_MAX.
 */
static const int8_t dtab[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1, -1, 0,  1,  2,  3,  4,  5,  6,
    7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

ag_err ag__base64url_decode_fast(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    *out_len = 0;
    if (in_len % 4u == 1u)
        return AG_ERR_MALFORMED;
    size_t need = AG_B64URL_DECODED_MAX(in_len);
    if (cap < need)
        return AG_ERR_BUFFER;
    int bad = 0;
    size_t i = 0, o = 0;
    if (in_len >= 32 && (ag__cpu_features() & AG__CPU_AVX2) != 0) {
        i = ag__b64url_decode_avx2(in, in_len, out, need, &bad);
        o = i / 4u * 3u;
    }
    for (; i + 4 <= in_len; i += 4, o += 3) {
        int a = dtab[in[i]], b = dtab[in[i + 1]], c = dtab[in[i + 2]], d = dtab[in[i + 3]];
        bad |= a | b | c | d;
        uint32_t w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o] = (uint8_t)(w >> 16);
        out[o + 1] = (uint8_t)(w >> 8);
        out[o + 2] = (uint8_t)w;
    }
    if (in_len - i == 2) {
        int a = dtab[in[i]], b = dtab[in[i + 1]];
        bad |= a | b | ((b & 15) ? -1 : 0); /* unused low bits must be zero */
        out[o] = (uint8_t)(((uint32_t)a << 2) | ((uint32_t)b >> 4));
    } else if (in_len - i == 3) {
        int a = dtab[in[i]], b = dtab[in[i + 1]], c = dtab[in[i + 2]];
        bad |= a | b | c | ((c & 3) ? -1 : 0);
        uint32_t w = (uint32_t)a << 12 | (uint32_t)b << 6 | (uint32_t)c;
        out[o] = (uint8_t)(w >> 10);
        out[o + 1] = (uint8_t)(w >> 2);
    }
    if (bad < 0) {
        ag_cleanse(out, need);
        return AG_ERR_MALFORMED;
    }
    *out_len = need;
    return AG_OK;
}

/* Table-driven encoder for token segments (payload, signature): the bytes
 * are about to be sent in clear, so a table lookup leaks nothing worth a
 * constant-time loop. Same contract as ag_base64url_encode. */
ag_err ag__base64url_encode_fast(const uint8_t *in, size_t in_len, char *out, size_t cap,
                                 size_t *out_len)
{
    static const char alphabet[64] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    *out_len = 0;
    size_t need = AG_B64URL_ENCODED_LEN(in_len);
    if (cap < need)
        return AG_ERR_BUFFER;
    size_t i = 0, o = 0;
    for (; i + 3 <= in_len; i += 3, o += 4) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o] = alphabet[w >> 18];
        out[o + 1] = alphabet[(w >> 12) & 63];
        out[o + 2] = alphabet[(w >> 6) & 63];
        out[o + 3] = alphabet[w & 63];
    }
    if (in_len - i == 1) {
        uint32_t w = (uint32_t)in[i] << 16;
        out[o++] = alphabet[w >> 18];
        out[o++] = alphabet[(w >> 12) & 63];
    } else if (in_len - i == 2) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[w >> 18];
        out[o++] = alphabet[(w >> 12) & 63];
        out[o++] = alphabet[(w >> 6) & 63];
    }
    if (o < cap)
        out[o] = '\0';
    *out_len = o;
    return AG_OK;
}

/* Strict syntax check of one segment without decoding it. */
static bool segment_valid(const uint8_t *in, size_t n)
{
    return n > 0 && n % 4u != 1u && decode_raw(in, n, NULL) == 0;
}

ag_err ag_token_decode_unverified(const uint8_t *token, size_t len, uint8_t *header,
                                  size_t header_cap, size_t *header_len, uint8_t *payload,
                                  size_t payload_cap, size_t *payload_len)
{
    if (header_len == NULL || payload_len == NULL || (token == NULL && len > 0) ||
        (header == NULL && header_cap > 0) || (payload == NULL && payload_cap > 0))
        return AG_ERR_INVALID_ARGUMENT;
    *header_len = 0;
    *payload_len = 0;
    if (len > AG_TOKEN_MAX_LEN)
        return AG_ERR_TOO_LARGE;

    /* Exactly two dots (V-03); no allocation, one pass. */
    const uint8_t *d1 = len > 0 ? memchr(token, '.', len) : NULL;
    if (d1 == NULL)
        return AG_ERR_MALFORMED;
    size_t rest = len - (size_t)(d1 + 1 - token);
    const uint8_t *d2 = rest > 0 ? memchr(d1 + 1, '.', rest) : NULL;
    if (d2 == NULL)
        return AG_ERR_MALFORMED;
    size_t sig_len = len - (size_t)(d2 + 1 - token);
    if (sig_len > 0 && memchr(d2 + 1, '.', sig_len) != NULL)
        return AG_ERR_MALFORMED;

    const uint8_t *h = token, *p = d1 + 1, *s = d2 + 1;
    size_t hn = (size_t)(d1 - token), pn = (size_t)(d2 - p);
    if (!segment_valid(h, hn) || !segment_valid(p, pn) || !segment_valid(s, sig_len))
        return AG_ERR_MALFORMED;

    ag_err e = ag_base64url_decode(h, hn, header, header_cap, header_len);
    if (e != AG_OK)
        return e;
    e = ag_base64url_decode(p, pn, payload, payload_cap, payload_len);
    if (e != AG_OK) {
        ag_cleanse(header, *header_len);
        *header_len = 0;
        return e;
    }
    return AG_OK;
}

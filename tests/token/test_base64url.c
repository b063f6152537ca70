/* SPDX-License-Identifier: MIT */
/*
 * Tests for lib/token/base64url.c: strict base64url (V-05), the compact
 * split of ag_token_decode_unverified (V-03, V-04), all-or-nothing output,
 * no allocation, and no read past the input (guard page). Every decode in
 * the tables also runs the hot-path decoder (ag__base64url_decode_fast);
 * the tables run twice, with the AVX2 twin (lib/token/b64_simd.c) allowed
 * and with the portable loop only, and a differential test compares the
 * two on 131072 generated inputs ending at a PROT_NONE page.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "testsupport.h"
#include "token/b64_int.h"
#include "token/token_int.h"

#define S(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

static uint64_t prng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t prng(void)
{
    prng_state ^= prng_state << 13;
    prng_state ^= prng_state >> 7;
    prng_state ^= prng_state << 17;
    return prng_state;
}

static bool in_alphabet(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Reference: OpenSSL's standard base64, translated to base64url, padding cut. */
static size_t ref_encode(const uint8_t *in, size_t n, char *out)
{
    unsigned char tmp[1024];
    int len = EVP_EncodeBlock(tmp, in, (int)n);
    while (len > 0 && tmp[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++)
        out[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
    return (size_t)len;
}

/* ag_base64url_decode, and the hot-path decoder (table loop or AVX2, as
 * ag__cpu_features() allows) on the same input and a copy of the output
 * buffer: same result, same length, same bytes over the whole capacity
 * (so neither writes past what it decoded). Returns the first's result. */
static ag_err decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    static uint8_t twin[1024];
    ck_assert_uint_le(cap, sizeof twin);
    if (cap > 0)
        memcpy(twin, out, cap);
    size_t twin_len = 99;
    ag_err e = ag_base64url_decode(in, n, out, cap, out_len);
    ag_err f = ag__base64url_decode_fast(in, n, twin, cap, &twin_len);
    ck_assert_msg(e == f, "decoders disagree: %s / %s", ag_err_name(e), ag_err_name(f));
    ck_assert_uint_eq(*out_len, twin_len);
    ck_assert(cap == 0 || memcmp(out, twin, cap) == 0);
    return e;
}

/* ---- RFC 4648 §10 vectors, base64url without padding (V-05) ---- */

START_TEST(test_rfc4648_vectors)
{
    static const struct {
        const char *plain, *enc;
    } v[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(v); i++) {
        char enc[32];
        uint8_t dec[32];
        size_t n;
        size_t pl = strlen(v[i].plain), el = strlen(v[i].enc);
        ck_assert_int_eq(ag_base64url_encode((const uint8_t *)v[i].plain, pl, enc, sizeof enc, &n),
                         AG_OK);
        ck_assert_uint_eq(n, el);
        ck_assert_str_eq(enc, v[i].enc); /* NUL written when room allows */
        ck_assert_int_eq(decode((const uint8_t *)v[i].enc, el, dec, sizeof dec, &n), AG_OK);
        ck_assert_uint_eq(n, pl);
        ck_assert(memcmp(dec, v[i].plain, pl) == 0);
    }
    /* the two url-safe characters: 0xFB 0xFF is "+/8=" in base64 */
    static const uint8_t fbff[] = {0xFB, 0xFF};
    char enc[8];
    size_t n;
    ck_assert_int_eq(ag_base64url_encode(fbff, 2, enc, sizeof enc, &n), AG_OK);
    ck_assert_str_eq(enc, "-_8");
    uint8_t dec[4];
    ck_assert_int_eq(decode(S("-_8"), dec, sizeof dec, &n), AG_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(dec, fbff, 2) == 0);
    ck_assert_int_eq(decode(S("+/8"), dec, sizeof dec, &n), AG_ERR_MALFORMED);
}
END_TEST

/* ---- round trips of every length 0..300 against OpenSSL's encoder ---- */

START_TEST(test_round_trip_all_lengths)
{
    prng_state = 12345;
    for (size_t len = 0; len <= 300; len++) {
        uint8_t in[300] = {0}, dec[300];
        char enc[512], ref[512];
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)prng();
        size_t n, m;
        ck_assert_int_eq(ag_base64url_encode(in, len, enc, sizeof enc, &n), AG_OK);
        ck_assert_uint_eq(n, AG_B64URL_ENCODED_LEN(len));
        m = ref_encode(in, len, ref);
        ck_assert_uint_eq(n, m);
        ck_assert(memcmp(enc, ref, n) == 0);
        ck_assert_int_eq(decode((const uint8_t *)enc, n, dec, sizeof dec, &m), AG_OK);
        ck_assert_uint_eq(m, len);
        ck_assert(len == 0 || memcmp(dec, in, len) == 0);
        ck_assert_uint_eq(AG_B64URL_DECODED_MAX(n), len);
    }
}
END_TEST

/* ---- the size macros agree with reality ---- */

START_TEST(test_size_macros)
{
    for (size_t len = 0; len < 2000; len++) {
        size_t enc = AG_B64URL_ENCODED_LEN(len);
        ck_assert_uint_eq(enc, (len * 4 + 2) / 3); /* ceil(8n/6) */
        ck_assert_uint_ne(enc % 4, 1);
        ck_assert_uint_eq(AG_B64URL_DECODED_MAX(enc), len);
    }
    for (size_t chars = 0; chars < 2000; chars++) {
        if (chars % 4 == 1)
            continue;
        ck_assert_uint_eq(AG_B64URL_DECODED_MAX(chars), chars * 6 / 8);
    }
}
END_TEST

/* ---- V-05: every byte outside [A-Za-z0-9_-] at every position class ---- */

START_TEST(test_non_alphabet_rejected_everywhere)
{
    /* a full group, a tail of 2 and a tail of 3 characters */
    static const char *bases[] = {"QUJD", "QUJDRA", "QUJDREU", "QUJDREVG"};
    int rejected = 0;
    for (size_t b = 0; b < AG__ARRAY_LEN(bases); b++) {
        size_t len = strlen(bases[b]);
        for (size_t pos = 0; pos < len; pos++) {
            for (int c = 0; c < 256; c++) {
                uint8_t in[16], out[16];
                memcpy(in, bases[b], len);
                in[pos] = (uint8_t)c;
                memset(out, 0xAA, sizeof out);
                size_t n = 99;
                ag_err e = decode(in, len, out, sizeof out, &n);
                if (in_alphabet(c)) {
                    /* tails may still fail on their unused bits */
                    ck_assert(e == AG_OK || (pos == len - 1 && len % 4 != 0));
                    continue;
                }
                ck_assert_msg(e == AG_ERR_MALFORMED, "byte 0x%02x at %zu of %s accepted", c, pos,
                              bases[b]);
                ck_assert_uint_eq(n, 0);
                size_t need = AG_B64URL_DECODED_MAX(len);
                for (size_t i = 0; i < need; i++)
                    ck_assert_uint_eq(out[i], 0); /* wiped */
                for (size_t i = need; i < sizeof out; i++)
                    ck_assert_uint_eq(out[i], 0xAA); /* never touched */
                rejected++;
            }
        }
    }
    ck_assert_int_eq(rejected, (4 + 6 + 7 + 8) * (256 - 64));
}
END_TEST

START_TEST(test_padding_rejected)
{
    uint8_t out[16];
    size_t n;
    ck_assert_int_eq(decode(S("Zg=="), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("Zm8="), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("Zg="), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("Zm9vYg=="), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("===="), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_whitespace_rejected)
{
    uint8_t out[16];
    size_t n;
    static const char *bad[] = {"Zm9v\n", " Zm9v",  "Zm 9v",    "Zm9v\r\n", "Zm\t9v",
                                "Zm9v ",  "Zm9\nv", "Zm9v\x0b", "Zm9v\f"};
    for (size_t i = 0; i < AG__ARRAY_LEN(bad); i++)
        ck_assert_int_eq(decode((const uint8_t *)bad[i], strlen(bad[i]), out, sizeof out, &n),
                         AG_ERR_MALFORMED);
}
END_TEST

START_TEST(test_length_mod4_is_1_rejected)
{
    uint8_t out[16];
    size_t n;
    ck_assert_int_eq(decode(S("Z"), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("Zm9vY"), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("Zm9vYmFyZ"), out, sizeof out, &n), AG_ERR_MALFORMED);
    /* checked before the capacity, so even with no room it is MALFORMED */
    ck_assert_int_eq(decode(S("Z"), NULL, 0, &n), AG_ERR_MALFORMED);
}
END_TEST

/* V-05: one spelling per byte string — unused trailing bits must be zero. */
START_TEST(test_nonzero_trailing_bits_rejected)
{
    uint8_t out[8];
    size_t n;
    ck_assert_int_eq(decode(S("QQ"), out, sizeof out, &n), AG_OK);
    ck_assert_int_eq(decode(S("QR"), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("Zg"), out, sizeof out, &n), AG_OK);
    ck_assert_int_eq(decode(S("Zh"), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("Zm8"), out, sizeof out, &n), AG_OK);
    ck_assert_int_eq(decode(S("Zm9"), out, sizeof out, &n), AG_ERR_MALFORMED);
    ck_assert_int_eq(decode(S("Zm9vYmE"), out, sizeof out, &n), AG_OK);
    ck_assert_int_eq(decode(S("Zm9vYmF"), out, sizeof out, &n), AG_ERR_MALFORMED);

    /* exhaustive over the last character of 2- and 3-character tails */
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int ok2 = 0, ok3 = 0;
    for (int v = 0; v < 64; v++) {
        uint8_t t2[2] = {'Q', (uint8_t)alpha[v]};
        uint8_t t3[3] = {'Q', 'Q', (uint8_t)alpha[v]};
        ag_err e2 = decode(t2, 2, out, sizeof out, &n);
        ck_assert_int_eq(e2, (v & 15) == 0 ? AG_OK : AG_ERR_MALFORMED);
        ok2 += e2 == AG_OK;
        ag_err e3 = decode(t3, 3, out, sizeof out, &n);
        ck_assert_int_eq(e3, (v & 3) == 0 ? AG_OK : AG_ERR_MALFORMED);
        ok3 += e3 == AG_OK;
    }
    ck_assert_int_eq(ok2, 4);
    ck_assert_int_eq(ok3, 16);
}
END_TEST

/* All or nothing: a bad character at the very end wipes everything. */
START_TEST(test_late_error_wipes_output)
{
    char enc[200];
    uint8_t in[120], out[120];
    size_t n;
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7 + 1);
    ck_assert_int_eq(ag_base64url_encode(in, sizeof in, enc, sizeof enc, &n), AG_OK);
    enc[n - 1] = '*';
    memset(out, 0xAA, sizeof out);
    size_t m = 7;
    ck_assert_int_eq(decode((const uint8_t *)enc, n, out, sizeof out, &m), AG_ERR_MALFORMED);
    ck_assert_uint_eq(m, 0);
    for (size_t i = 0; i < sizeof out; i++)
        ck_assert_uint_eq(out[i], 0);
}
END_TEST

/* The table-driven hot-path decoder agrees with the constant-time one on
 * every input class: random valid text of every length, every byte at
 * every position, non-canonical tails (V-05). */
START_TEST(test_fast_decoder_agrees)
{
    uint8_t raw[300], a[300], b[300];
    char enc[420];
    size_t n, al, bl;
    unsigned seed = 12345;
    for (size_t len = 0; len < 300; len++) {
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            raw[i] = (uint8_t)(seed >> 16);
        }
        ck_assert_int_eq(ag_base64url_encode(raw, len, enc, sizeof(enc), &n), AG_OK);
        for (size_t pos = 0; pos < n || pos == 0; pos += 7) {
            for (int c = 0; c < 256; c += (n > 40 ? 17 : 1)) {
                char saved = n > 0 ? enc[pos] : 0;
                if (n > 0)
                    enc[pos] = (char)c;
                ag_err ea = ag_base64url_decode((const uint8_t *)enc, n, a, sizeof(a), &al);
                ag_err eb = ag__base64url_decode_fast((const uint8_t *)enc, n, b, sizeof(b), &bl);
                ck_assert_int_eq(ea, eb);
                ck_assert_uint_eq(al, bl);
                if (ea == AG_OK)
                    ck_assert(memcmp(a, b, al) == 0);
                if (n > 0)
                    enc[pos] = saved;
            }
            if (n == 0)
                break;
        }
    }
    /* the fast encoder writes exactly what the constant-time one writes */
    for (size_t len = 0; len < 200; len++) {
        char e1[300], e2[300];
        size_t n1, n2;
        for (size_t i = 0; i < len; i++)
            raw[i] = (uint8_t)(i * 37u + len);
        ck_assert_int_eq(ag_base64url_encode(raw, len, e1, sizeof(e1), &n1), AG_OK);
        ck_assert_int_eq(ag__base64url_encode_fast(raw, len, e2, sizeof(e2), &n2), AG_OK);
        ck_assert_uint_eq(n1, n2);
        ck_assert(memcmp(e1, e2, n1 + 1) == 0);
        if (n1 > 0)
            ck_assert_int_eq(ag__base64url_encode_fast(raw, len, e2, n1 - 1, &n2), AG_ERR_BUFFER);
    }
    /* capacity and length classes */
    ck_assert_int_eq(ag__base64url_decode_fast((const uint8_t *)"QUJD", 4, b, 2, &bl),
                     AG_ERR_BUFFER);
    ck_assert_int_eq(ag__base64url_decode_fast((const uint8_t *)"QUJDR", 5, b, 9, &bl),
                     AG_ERR_MALFORMED);
    ck_assert_int_eq(ag__base64url_decode_fast((const uint8_t *)"QR", 2, b, 9, &bl),
                     AG_ERR_MALFORMED);
    ck_assert_int_eq(ag__base64url_decode_fast((const uint8_t *)"QQ", 2, b, 9, &bl), AG_OK);
}
END_TEST

START_TEST(test_capacity_too_small)
{
    uint8_t out[8];
    char enc[16];
    size_t n = 5;
    memset(out, 0xAA, sizeof out);
    ck_assert_int_eq(decode(S("Zm9vYmFy"), out, 5, &n), AG_ERR_BUFFER);
    ck_assert_uint_eq(n, 0);
    for (size_t i = 0; i < sizeof out; i++)
        ck_assert_uint_eq(out[i], 0xAA);
    ck_assert_int_eq(decode(S("Zm9vYmFy"), out, 6, &n), AG_OK);
    ck_assert_uint_eq(n, 6);

    memset(enc, 'x', sizeof enc);
    ck_assert_int_eq(ag_base64url_encode((const uint8_t *)"foobar", 6, enc, 7, &n), AG_ERR_BUFFER);
    ck_assert_uint_eq(n, 0);
    for (size_t i = 0; i < sizeof enc; i++)
        ck_assert_int_eq(enc[i], 'x');
    /* exactly the text, no room for the NUL: fine, and no NUL written */
    ck_assert_int_eq(ag_base64url_encode((const uint8_t *)"foobar", 6, enc, 8, &n), AG_OK);
    ck_assert_uint_eq(n, 8);
    ck_assert(memcmp(enc, "Zm9vYmFy", 8) == 0);
    ck_assert_int_eq(enc[8], 'x');
    ck_assert_int_eq(ag_base64url_encode((const uint8_t *)"foobar", 6, enc, 9, &n), AG_OK);
    ck_assert_int_eq(enc[8], '\0');
    /* an absurd input length is refused before any arithmetic overflows */
    ck_assert_int_eq(ag_base64url_encode((const uint8_t *)"x", SIZE_MAX, enc, sizeof enc, &n),
                     AG_ERR_BUFFER);
}
END_TEST

START_TEST(test_null_arguments)
{
    size_t n;
    uint8_t out[4];
    ck_assert_int_eq(ag_base64url_decode(NULL, 0, NULL, 0, &n), AG_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(ag_base64url_decode(NULL, 4, out, 4, &n), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_base64url_decode(S("Zm9v"), out, 4, NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_base64url_encode(NULL, 0, NULL, 0, &n), AG_OK);
    ck_assert_int_eq(ag_base64url_encode(NULL, 3, (char *)out, 4, &n), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- ag_token_decode_unverified: V-03 split, V-04 size, V-05 segments ---- */

START_TEST(test_decode_unverified)
{
    uint8_t h[64], p[64];
    size_t hn, pn;
    /* {"alg":"HS256"} . {"sub":"x"} . 32 zero bytes */
    static const char tok[] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0."
                              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    ck_assert_int_eq(ag_token_decode_unverified(S(tok), h, sizeof h, &hn, p, sizeof p, &pn), AG_OK);
    ck_assert_uint_eq(hn, 15);
    ck_assert(memcmp(h, "{\"alg\":\"HS256\"}", 15) == 0);
    ck_assert_uint_eq(pn, 11);
    ck_assert(memcmp(p, "{\"sub\":\"x\"}", 11) == 0);

    static const char *bad[] = {
        "",                                                    /* nothing */
        "eyJhbGciOiJIUzI1NiJ9",                                /* one segment */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0",                /* two (no signature part) */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.",               /* empty signature */
        ".eyJzdWIiOiJ4In0.AAAA",                               /* empty header */
        "eyJhbGciOiJIUzI1NiJ9..AAAA",                          /* empty payload */
        "..",                                                  /* all empty */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA.AAAA",      /* four */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA.AAAA.AAAA", /* JWE-like five */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAB",  /* sig: stray bits are fine in a full group */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AB",    /* sig: nonzero trailing bits */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AA==",  /* sig: padding */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.A",     /* sig: length % 4 == 1 */
        "eyJhbGciOiJIUzI1NiJ9=.eyJzdWIiOiJ4In0.AAAA", /* header padding */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0=.AAAA", /* payload padding */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AA AA", /* whitespace */
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AA+/",  /* standard alphabet */
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(bad); i++) {
        ag_err want = i == 9 ? AG_OK : AG_ERR_MALFORMED;
        hn = pn = 77;
        ag_err e = ag_token_decode_unverified((const uint8_t *)bad[i], strlen(bad[i]), h, sizeof h,
                                              &hn, p, sizeof p, &pn);
        ck_assert_msg(e == want, "case %zu (%s): %s", i, bad[i], ag_err_name(e));
        if (e != AG_OK) {
            ck_assert_uint_eq(hn, 0);
            ck_assert_uint_eq(pn, 0);
        }
    }
    /* an embedded NUL is data, and not base64url */
    static const uint8_t nul[] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AA\0A";
    ck_assert_int_eq(
        ag_token_decode_unverified(nul, sizeof nul - 1, h, sizeof h, &hn, p, sizeof p, &pn),
        AG_ERR_MALFORMED);
}
END_TEST

START_TEST(test_decode_unverified_size_cap)
{
    static uint8_t big[AG_TOKEN_MAX_LEN + 2];
    static uint8_t hb[16], pb[16];
    size_t hn, pn;
    /* 10 + '.' + 10 + '.' + the rest: every segment is valid base64url */
    memset(big, 'A', sizeof big);
    big[10] = '.';
    big[21] = '.';
    /* V-04: the cap is checked before anything else, even a valid split */
    ck_assert_int_eq(ag_token_decode_unverified(big, AG_TOKEN_MAX_LEN + 1, hb, sizeof hb, &hn, pb,
                                                sizeof pb, &pn),
                     AG_ERR_TOO_LARGE);
    ck_assert_int_eq(
        ag_token_decode_unverified(big, SIZE_MAX, hb, sizeof hb, &hn, pb, sizeof pb, &pn),
        AG_ERR_TOO_LARGE);
    /* at the cap itself the token is split and decoded */
    ck_assert_uint_eq((AG_TOKEN_MAX_LEN - 22) % 4, 2);
    ck_assert_int_eq(
        ag_token_decode_unverified(big, AG_TOKEN_MAX_LEN, hb, sizeof hb, &hn, pb, sizeof pb, &pn),
        AG_OK);
    ck_assert_uint_eq(hn, 7);
    ck_assert_uint_eq(pn, 7);
}
END_TEST

START_TEST(test_decode_unverified_buffers)
{
    static const char tok[] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA";
    uint8_t h[64], p[64];
    size_t hn = 9, pn = 9;
    ck_assert_int_eq(ag_token_decode_unverified(S(tok), h, 14, &hn, p, sizeof p, &pn),
                     AG_ERR_BUFFER);
    ck_assert_uint_eq(hn, 0);
    ck_assert_uint_eq(pn, 0);
    /* payload too small: the header already written is wiped too */
    memset(h, 0xAA, sizeof h);
    ck_assert_int_eq(ag_token_decode_unverified(S(tok), h, sizeof h, &hn, p, 10, &pn),
                     AG_ERR_BUFFER);
    ck_assert_uint_eq(hn, 0);
    ck_assert_uint_eq(pn, 0);
    for (size_t i = 0; i < 15; i++)
        ck_assert_uint_eq(h[i], 0);
    ck_assert_uint_eq(h[15], 0xAA);
    /* MALFORMED wins over BUFFER: syntax is checked before any output */
    ck_assert_int_eq(ag_token_decode_unverified(S("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.A"), h, 1,
                                                &hn, p, 1, &pn),
                     AG_ERR_MALFORMED);
}
END_TEST

/* ---- no allocation (STYLE "Memory": decode allocates nothing) ---- */

START_TEST(test_no_allocation)
{
    static const char tok[] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA";
    uint8_t h[64], p[64], out[64];
    char enc[128];
    size_t hn, pn, n;
    ag_test_alloc_reset();
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(ag_token_decode_unverified(S(tok), h, sizeof h, &hn, p, sizeof p, &pn),
                         AG_OK);
        ck_assert_int_eq(ag_base64url_decode(S("Zm9vYmFy"), out, sizeof out, &n), AG_OK);
        ck_assert_int_eq(ag_base64url_decode(S("Zm9vYmF"), out, sizeof out, &n), AG_ERR_MALFORMED);
        ck_assert_int_eq(ag_base64url_encode(out, 6, enc, sizeof enc, &n), AG_OK);
        /* 52 characters: the AVX2 path where the CPU has it */
        ck_assert_int_eq(
            ag__base64url_decode_fast(S("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xt"),
                                      out, sizeof out, &n),
            AG_OK);
    }
    ck_assert_int_eq(ag_test_alloc_count(), 0);
}
END_TEST

/* ---- guard page: input ends exactly where a PROT_NONE page begins ---- */

static ag_test_guard guard;

static void guard_setup(void)
{
    memset(&guard, 0, sizeof(guard));
}

static void guard_teardown(void)
{
    ag_test_guard_release(&guard);
}

/* Copies n bytes so that they end at a PROT_NONE page (tests/support);
 * the previous copy is released. */
static const uint8_t *at_guard(const void *src, size_t n)
{
    ag_test_guard_release(&guard);
    return ag_test_guard_place(&guard, src, n);
}

START_TEST(test_guard_page)
{
    uint8_t out[512], in[300], h[256], p[256];
    char enc[512];
    size_t n, hn, pn;
    prng_state = 777;
    for (size_t len = 0; len <= 300; len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)prng();
        ck_assert_int_eq(ag_base64url_encode(at_guard(in, len), len, enc, sizeof enc, &n), AG_OK);
        const uint8_t *g = at_guard(enc, n);
        ck_assert_int_eq(decode(g, n, out, sizeof out, &n), AG_OK);
        ck_assert_uint_eq(n, len);
        /* truncated and corrupted inputs at the boundary */
        size_t el = AG_B64URL_ENCODED_LEN(len);
        for (size_t cut = 1; cut <= 3 && cut <= el; cut++) {
            ag_err e = decode(at_guard(enc, el - cut), el - cut, out, sizeof out, &n);
            ck_assert(e == AG_OK || e == AG_ERR_MALFORMED);
        }
        if (el > 0) {
            enc[el - 1] = '=';
            ck_assert_int_eq(decode(at_guard(enc, el), el, out, sizeof out, &n), AG_ERR_MALFORMED);
        }
    }
    static const char tok[] = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA";
    for (size_t len = 0; len <= sizeof tok - 1; len++) {
        ag_err e =
            ag_token_decode_unverified(at_guard(tok, len), len, h, sizeof h, &hn, p, sizeof p, &pn);
        /* the last three lengths end in "AAAA", "AAA" or "AA": all valid */
        ck_assert(e == (len >= sizeof tok - 3 ? AG_OK : AG_ERR_MALFORMED));
    }
}
END_TEST

/* ---- the AVX2 twin against the table loop (issue 6) ---- */

static const char alpha64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ag__base64url_decode_fast with the CPU features limited to mask. */
static ag_err decode_fast_as(unsigned mask, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                             size_t *len)
{
    ag__cpu_restrict(mask);
    ag_err e = ag__base64url_decode_fast(in, n, out, cap, len);
    ag__cpu_restrict(AG__CPU_ALL);
    return e;
}

/*
 * 131072 inputs of 0..700 characters, each ending at a PROT_NONE page and
 * decoded into buffers of exactly AG_B64URL_DECODED_MAX bytes that end at
 * one too (an over-read or over-write faults). Input k carries byte k % 256
 * and, by (k / 256) % 8: 0 nothing (random alphabet text: non-canonical
 * last characters, lengths % 4 == 1); 1 that byte at 31, 32, 33, 63 or 64;
 * 2 at one of the last three characters; 3-5 at block position
 * (k / 2048) % 32 of a random block (every byte at every block position,
 * six times); 6 there and at up to three random places with random bytes;
 * 7 nothing, canonical text. The AVX2 path, the table loop and the
 * constant-time decoder must agree: result, length, every output byte.
 */
START_TEST(test_fast_decoder_simd_differential)
{
    enum { MAXLEN = 700, CASES = 1 << 17 };
    static uint8_t zeros[MAXLEN], ct[MAXLEN], raw[MAXLEN];
    ag_test_guard gi = {0}, gs = {0}, gv = {0};
    uint8_t *in_end = ag_test_guard_place(&gi, zeros, MAXLEN) + MAXLEN;
    uint8_t *s_end = ag_test_guard_place(&gs, zeros, MAXLEN) + MAXLEN;
    uint8_t *v_end = ag_test_guard_place(&gv, zeros, MAXLEN) + MAXLEN;
    long accepted = 0;
    prng_state = 6;
    for (uint32_t k = 0; k < CASES; k++) {
        const uint8_t c = (uint8_t)k;
        /* never len % 4 == 1: that case is refused before any decoding */
        const ag_test_simd_case tc = ag_test_simd_case_plan(k, MAXLEN, prng, 1);
        const unsigned mode = tc.mode;
        size_t len = tc.len;
        const size_t pos = tc.pos;
        uint8_t *in = in_end - len;
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)alpha64[prng() & 63];
        if (mode == 7) {
            size_t rn = len * 3 / 4, en;
            for (size_t i = 0; i < rn; i++)
                raw[i] = (uint8_t)prng();
            ck_assert_int_eq(ag__base64url_encode_fast(raw, rn, (char *)ct, sizeof ct, &en), AG_OK);
            len = en;
            in = in_end - len;
            memcpy(in, ct, len);
        } else if (mode >= 1) {
            for (unsigned x = prng() % 4; mode == 6 && x > 0; x--)
                in[prng() % len] = (uint8_t)prng();
            in[pos] = c;
        }

        size_t need = len % 4 == 1 ? 0 : AG_B64URL_DECODED_MAX(len);
        uint8_t *so = s_end - need, *vo = v_end - need;
        memset(so, 0xA5, need);
        memset(vo, 0xA5, need);
        size_t sl = 11, vl = 22, cl = 33;
        ag_err es = decode_fast_as(0, in, len, so, need, &sl);
        ag_err ev = decode_fast_as(AG__CPU_ALL, in, len, vo, need, &vl);
        ag_err ec = ag_base64url_decode(in, len, ct, need, &cl);
        ck_assert_msg(es == ev && es == ec, "case %u (len %zu): table %s, avx2 %s, ct %s", k, len,
                      ag_err_name(es), ag_err_name(ev), ag_err_name(ec));
        ck_assert_uint_eq(sl, vl);
        ck_assert_uint_eq(sl, cl);
        ck_assert_msg(memcmp(so, vo, need) == 0, "case %u: output differs", k);
        ck_assert(need == 0 || memcmp(so, ct, need) == 0);
        if ((ag__cpu_features() & AG__CPU_AVX2) != 0 && len >= 32 && len % 4 != 1) {
            /* the twin alone consumes every whole group (the table loop
             * after it would hide a short count) and flags what ct did */
            int bad = 0;
            ck_assert_uint_eq(ag__b64url_decode_avx2(in, len, vo, need, &bad), len / 4 * 4);
            if (bad != 0)
                ck_assert_int_eq(ec, AG_ERR_MALFORMED);
            if (ec == AG_OK)
                ck_assert(bad == 0 && memcmp(vo, ct, len / 4 * 3) == 0);
        }
        if (mode == 7)
            ck_assert_int_eq(ev, AG_OK);
        if (mode >= 1 && mode <= 6 && !in_alphabet(c))
            ck_assert_int_eq(ev, AG_ERR_MALFORMED);
        accepted += ev == AG_OK;
    }
    ck_assert_int_gt(accepted, CASES / 8); /* mode 7 alone is 1/8 */
    ck_assert_int_lt(accepted, CASES / 2);
    ag_test_guard_release(&gi);
    ag_test_guard_release(&gs);
    ag_test_guard_release(&gv);
}
END_TEST

/* The AVX2 twin's edges by hand: exact multiples of 32, the overlapping
 * last block, a bad byte in the part the last block re-reads, and the
 * exact-store path when fewer than 32 bytes of room are left. */
START_TEST(test_fast_decoder_simd_edges)
{
    static const size_t lens[] = {32, 34, 35, 36, 60, 63, 64, 66, 67, 68, 96, 100, 128, 131};
    uint8_t in[160], a[128], b[128];
    for (size_t t = 0; t < AG__ARRAY_LEN(lens); t++) {
        size_t n = lens[t], need = AG_B64URL_DECODED_MAX(n), al, bl;
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)alpha64[(i * 7 + t) & 63];
        in[n - 1] = 'A'; /* canonical whatever n % 4 */
        for (size_t pos = 0; pos <= n; pos++) {
            uint8_t saved = pos < n ? in[pos] : 0;
            if (pos < n)
                in[pos] = '.';
            memset(a, 0x5A, sizeof a);
            memset(b, 0x5A, sizeof b);
            ag_err ea = decode_fast_as(0, in, n, a, need, &al);
            ag_err eb = decode_fast_as(AG__CPU_ALL, in, n, b, need, &bl);
            ck_assert_int_eq(ea, pos < n ? AG_ERR_MALFORMED : AG_OK);
            ck_assert_int_eq(ea, eb);
            ck_assert_uint_eq(al, bl);
            ck_assert(memcmp(a, b, sizeof a) == 0); /* nothing past need either */
            if (pos < n)
                in[pos] = saved;
        }
    }
}
END_TEST

static void cpu_portable(void)
{
    ag__cpu_restrict(0);
}

static void cpu_restore(void)
{
    ag__cpu_restrict(AG__CPU_ALL);
}

static Suite *base64url_suite(void)
{
    Suite *s = suite_create("base64url");
    /* every table twice: AVX2 allowed (where the CPU has it), then the
     * portable loops only */
    for (int portable = 0; portable <= 1; portable++) {
        TCase *tc = tcase_create(portable ? "codec_portable" : "codec");
        tcase_add_test(tc, test_rfc4648_vectors);
        tcase_add_test(tc, test_round_trip_all_lengths);
        tcase_add_test(tc, test_size_macros);
        tcase_add_test(tc, test_non_alphabet_rejected_everywhere);
        tcase_add_test(tc, test_padding_rejected);
        tcase_add_test(tc, test_whitespace_rejected);
        tcase_add_test(tc, test_length_mod4_is_1_rejected);
        tcase_add_test(tc, test_nonzero_trailing_bits_rejected);
        tcase_add_test(tc, test_late_error_wipes_output);
        tcase_add_test(tc, test_capacity_too_small);
        tcase_add_test(tc, test_fast_decoder_agrees);
        tcase_add_test(tc, test_null_arguments);

        TCase *tt = tcase_create(portable ? "token_split_portable" : "token_split");
        tcase_add_test(tt, test_decode_unverified);
        tcase_add_test(tt, test_decode_unverified_size_cap);
        tcase_add_test(tt, test_decode_unverified_buffers);
        tcase_add_test(tt, test_no_allocation);

        TCase *tg = tcase_create(portable ? "guard_page_portable" : "guard_page");
        tcase_add_checked_fixture(tg, guard_setup, guard_teardown);
        tcase_add_test(tg, test_guard_page);

        TCase *all[] = {tc, tt, tg};
        for (size_t i = 0; i < AG__ARRAY_LEN(all); i++) {
            if (portable)
                tcase_add_checked_fixture(all[i], cpu_portable, cpu_restore);
            suite_add_tcase(s, all[i]);
        }
    }

    TCase *td = tcase_create("simd_twin");
    tcase_set_timeout(td, 120);
    tcase_add_test(td, test_fast_decoder_simd_edges);
    tcase_add_test(td, test_fast_decoder_simd_differential);
    suite_add_tcase(s, td);
    return s;
}

int main(void)
{
    ag_test_alloc_hooks_install();
    return ag_test_run(base64url_suite());
}

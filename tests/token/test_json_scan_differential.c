/* SPDX-License-Identifier: MIT */
/*
 * The differential loop of lib/token/json_scan.c: random mutations of seed
 * documents and generated objects with frequent duplicate names, and random
 * numbers near the edges, each given the same verdict and the same values
 * as jansson (json_scan_util.h); again with the SIMD string scan hidden.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "json_scan_util.h"
#include "testsupport.h"
#include "token/token_int.h"

static uint64_t prng_state;

static uint64_t prng(void)
{
    prng_state ^= prng_state << 13;
    prng_state ^= prng_state >> 7;
    prng_state ^= prng_state << 17;
    return prng_state;
}

static size_t rnd(size_t n)
{
    return n == 0 ? 0 : (size_t)(prng() % n);
}

/* Random mutation: byte flip, interesting byte, insertion, deletion, splice. */
static size_t mutate(uint8_t *buf, size_t n, size_t cap)
{
    static const char interesting[] = "{}[]\",:\\0123456789-+.eEtrufalsn \t\r\nu\x00\x7f\x80\xbf"
                                      "\xc0\xc2\xc3\xe0\xed\xef\xf0\xf4\xf5\xff";
    size_t muts = 1 + rnd(3);
    for (size_t m = 0; m < muts; m++) {
        size_t pos = rnd(n);
        uint8_t ch =
            (prng() & 1) ? (uint8_t)interesting[rnd(sizeof interesting - 1)] : (uint8_t)prng();
        switch (rnd(6)) {
        case 0:
            if (n > 0)
                buf[pos] = ch;
            break;
        case 1:
            if (n > 0)
                buf[pos] ^= (uint8_t)(1u << rnd(8));
            break;
        case 2:
            if (n < cap) {
                memmove(buf + pos + 1, buf + pos, n - pos);
                buf[pos] = ch;
                n++;
            }
            break;
        case 3:
            if (n > 0) {
                size_t len = 1 + rnd(n - pos < 8 ? n - pos : 8);
                memmove(buf + pos, buf + pos + len, n - pos - len);
                n -= len;
            }
            break;
        default: { /* splice: copy a chunk of the text over another place */
            if (n == 0)
                break;
            uint8_t tmp[64];
            size_t from = rnd(n), len = rnd(n - from < 64 ? n - from : 64);
            memcpy(tmp, buf + from, len);
            if (n + len <= cap) {
                memmove(buf + pos + len, buf + pos, n - pos);
                memcpy(buf + pos, tmp, len);
                n += len;
            }
            break;
        }
        }
    }
    return n;
}

/* A random object whose names come from a tiny set, spelled with random
 * escapes, so that duplicates (and near misses) are frequent. */
static size_t gen_object(uint8_t *buf, size_t cap, int depth)
{
    static const char *names[] = {"a", "b", "ab", "\xc3\xa9", "/", "k9abcdefgh"};
    size_t n = 0;
    buf[n++] = '{';
    size_t members = rnd(5);
    for (size_t m = 0; m < members && n + 200 < cap; m++) {
        if (m)
            buf[n++] = ',';
        buf[n++] = '"';
        const char *nm = names[rnd(AG__ARRAY_LEN(names))];
        for (const char *q = nm; *q; q++) {
            unsigned char c = (unsigned char)*q;
            if (c == 0xc3 && (prng() & 1)) { /* é as \u00e9 or \u00E9 */
                n += (size_t)sprintf((char *)buf + n, (prng() & 1) ? "\\u00e9" : "\\u00E9");
                q++;
            } else if (c < 0x80 && (prng() % 3) == 0) {
                n += (size_t)sprintf((char *)buf + n, "\\u%04x", c);
            } else if (c == '/' && (prng() & 1)) {
                n += (size_t)sprintf((char *)buf + n, "\\/");
            } else {
                buf[n++] = c;
            }
        }
        buf[n++] = '"';
        buf[n++] = ':';
        if (depth < 3 && (prng() % 3) == 0)
            n += gen_object(buf + n, cap - n, depth + 1);
        else
            n += (size_t)sprintf((char *)buf + n, "%d", (int)rnd(100));
    }
    buf[n++] = '}';
    return n;
}

/* Deep comparison of our iterators with jansson's tree (same values). */
static bool same_value(json_t *j, ag__jtype t, ag_span v);

static bool same_members(json_t *j, ag__jiter *it, bool is_array)
{
    ag__jmember m;
    size_t count = 0;
    static uint8_t name[8192];
    while (ag__json_next(it, &m)) {
        json_t *jv;
        if (is_array) {
            jv = json_array_get(j, count);
        } else {
            size_t nl;
            if (ag__json_str_decode(m.name, name, sizeof name, &nl) != AG_OK)
                return false;
            if (!ag__json_str_eq(m.name, (const char *)name, nl))
                return false;
            jv = json_object_getn(j, (const char *)name, nl);
        }
        if (jv == NULL || !same_value(jv, m.type, m.value))
            return false;
        count++;
    }
    return count == (is_array ? json_array_size(j) : json_object_size(j));
}

static bool same_value(json_t *j, ag__jtype t, ag_span v)
{
    switch (t) {
    case AG__J_STRING: {
        static uint8_t b[8192];
        size_t n;
        if (ag__json_str_decode(v, b, sizeof b, &n) != AG_OK)
            return false;
        return json_is_string(j) && json_string_length(j) == n &&
               memcmp(json_string_value(j), b, n) == 0;
    }
    case AG__J_NUMBER: {
        double d;
        int64_t i;
        bool is_int;
        ag__json_number(v, &d, &i, &is_int);
        if (is_int)
            return json_is_integer(j) && json_integer_value(j) == i;
        return json_is_real(j) && json_real_value(j) == d &&
               signbit(json_real_value(j)) == signbit(d) && i == 0;
    }
    case AG__J_TRUE:
        return json_is_true(j);
    case AG__J_FALSE:
        return json_is_false(j);
    case AG__J_NULL:
        return json_is_null(j);
    case AG__J_OBJECT: {
        ag__jiter it;
        ag__json_iter_object(&it, v.ptr, v.len);
        return json_is_object(j) && same_members(j, &it, false);
    }
    case AG__J_ARRAY: {
        ag__jiter it;
        ag__json_iter_array(&it, v);
        return json_is_array(j) && same_members(j, &it, true);
    }
    }
    return false;
}

static bool same_as_jansson(const uint8_t *p, size_t n)
{
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
    ag__jiter it;
    ag__json_iter_object(&it, p, n);
    bool same = j != NULL && same_members(j, &it, false);
    json_decref(j);
    return same;
}

START_TEST(test_differential_mutations)
{
    static uint8_t buf[4096];
    const long iters = getenv("AG_UNDER_SANITIZER") != NULL ? 150000 : 400000;
    long accepted = 0, mismatches = 0;
    prng_state = UINT64_C(0x5EED5EED12345678);
    for (long it = 0; it < iters; it++) {
        size_t n;
        if (it % 4 == 3) {
            n = gen_object(buf, sizeof buf / 2, 0);
            ck_assert_uint_lt(n, sizeof buf / 2);
            if (prng() & 1)
                n = mutate(buf, n, sizeof buf);
        } else {
            const char *s = seeds[rnd(seeds_len)];
            /* seeds may hold NUL bytes: their lengths are known */
            n = s == seeds[9] ? sizeof("{\"a\":1\0,\"b\":true\0}") - 1 : strlen(s);
            memcpy(buf, s, n);
            n = mutate(buf, n, sizeof buf);
        }
        bool o = ours_ok(buf, n), j = jansson_ok(buf, n);
        if (o != j) {
            mismatches++;
            if (mismatches <= 10) {
                fprintf(stderr, "mismatch: ours %d, jansson %d\n", o, j);
                print_hex("input", buf, n);
            }
        } else if (o) {
            accepted++;
            if (!same_as_jansson(buf, n)) {
                mismatches++;
                print_hex("values differ", buf, n);
            }
        }
    }
    fprintf(stderr, "json_scan differential: %ld inputs, %ld accepted, %ld mismatches\n", iters,
            accepted, mismatches);
    ck_assert_int_eq(mismatches, 0);
    ck_assert_int_gt(accepted, iters / 20); /* the loop must exercise both verdicts */
    ck_assert_int_lt(accepted, iters - iters / 20);
}
END_TEST

/* Random numbers near the edges: the integer limits, the real overflow
 * threshold, long mantissas, tiny and huge exponents. Same verdict and the
 * same value (bit for bit) as jansson's strtoll/strtod. */
START_TEST(test_differential_numbers)
{
    static const char limit[] =
        "17976931348623158079372897140530341507993413271003782693617377898044496829276475094"
        "66490179775872070963302864166928879109465555478519404026306574886715058206819089020"
        "00708383676273854845817711531764475730270069855571366959622842914819860834936475292"
        "719074168444365510704342711559699508093042880177904174497792";
    static char num[2048], doc[2100];
    const long iters = getenv("AG_UNDER_SANITIZER") != NULL ? 30000 : 150000;
    long bad = 0;
    prng_state = 4242;
    for (long it = 0; it < iters; it++) {
        size_t o = 0;
        if (prng() & 1)
            num[o++] = '-';
        switch (rnd(6)) {
        case 0: { /* around 2^1024 - 2^970 */
            size_t keep = rnd(310);
            memcpy(num + o, limit, keep);
            o += keep;
            if (keep < 309) {
                int c = limit[keep] - '0' + (int)rnd(3) - 1;
                num[o++] = (char)('0' + (c < 0 ? 0 : c > 9 ? 9 : c));
            }
            while (o < 300 + rnd(20))
                num[o++] = (char)('0' + rnd(10));
            if (prng() & 1)
                o += (size_t)sprintf(num + o, ".%u", (unsigned)rnd(1000));
            if (rnd(3) == 0)
                o += (size_t)sprintf(num + o, "e%d", (int)rnd(7) - 3);
            break;
        }
        case 1: /* integers around 2^63 */
            o += (size_t)sprintf(num + o, "92233720368547758%02u", (unsigned)rnd(100));
            break;
        case 2: { /* decimals with exponents */
            o += (size_t)sprintf(num + o, "%u.%u", (unsigned)(1 + rnd(999999)),
                                 (unsigned)rnd(1000000));
            if (prng() & 1)
                o += (size_t)sprintf(num + o, "e%d", (int)rnd(700) - 350);
            break;
        }
        case 3: { /* long mantissas below 1 */
            num[o++] = '0';
            num[o++] = '.';
            for (size_t z = rnd(400); z > 0; z--)
                num[o++] = '0';
            for (size_t d = 1 + rnd(900); d > 0; d--)
                num[o++] = (char)('0' + rnd(10));
            if (prng() & 1)
                o += (size_t)sprintf(num + o, "E+%u", (unsigned)rnd(800));
            break;
        }
        case 4: /* near-halfway doubles printed with few digits */
            o += (size_t)sprintf(num + o, "%.*e", (int)rnd(25),
                                 ldexp((double)(prng() >> 11) + 0.5, (int)rnd(2000) - 1074));
            break;
        default: /* short integers and integers with exponents */
            o += (size_t)sprintf(num + o, "%u", (unsigned)rnd(4000000000u));
            if (prng() & 1)
                o += (size_t)sprintf(num + o, "e%d", (int)rnd(60) - 30);
            break;
        }
        num[o] = '\0';
        const char *q = num + (num[0] == '-');
        if (q[0] == '0' && q[1] != '\0' && q[1] != '.')
            continue; /* leading zeros: not a number at all */
        int dn = snprintf(doc, sizeof doc, "{\"a\":%s}", num);
        ck_assert(dn > 0 && (size_t)dn < sizeof doc);
        bool o_ok = ours_ok((const uint8_t *)doc, (size_t)dn);
        bool j_ok = jansson_ok((const uint8_t *)doc, (size_t)dn);
        if (o_ok != j_ok || (o_ok && !same_as_jansson((const uint8_t *)doc, (size_t)dn))) {
            if (++bad <= 10)
                fprintf(stderr, "number mismatch (ours %d, jansson %d): %s\n", o_ok, j_ok, num);
        }
    }
    ck_assert_int_eq(bad, 0);
}
END_TEST

static Suite *json_scan_suite(void)
{
    Suite *s = suite_create("json_scan_differential");
    TCase *tv = verdicts_tcase(s, "verdicts", false);
    tcase_add_test(tv, test_differential_mutations);
    tcase_add_test(tv, test_differential_numbers);

    /* the same verdicts with the SSE2 string scan hidden */
    TCase *tp = verdicts_tcase(s, "verdicts_portable", true);
    tcase_add_test(tp, test_differential_mutations);
    tcase_add_test(tp, test_differential_numbers);
    return s;
}

int main(void)
{
    return json_scan_main(json_scan_suite);
}

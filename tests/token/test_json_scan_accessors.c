/* SPDX-License-Identifier: MIT */
/*
 * The accessors of lib/token/json_scan.c and json_iter.c: the member and
 * array iterators, ag__json_str_eq, ag__json_str_decode and numbers at
 * their limits (V-14); zero allocations over the whole table; and every
 * input placed against a PROT_NONE page, so that no read goes past it.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
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

/* ------------------------------------------------------------------ */
/* (c) iterators, str_eq, str_decode, numbers                           */
/* ------------------------------------------------------------------ */

static ag_span sp(const char *s)
{
    return (ag_span){(const uint8_t *)s, strlen(s)};
}

START_TEST(test_iterate_claims)
{
    static const char doc[] =
        " {\"iss\":\"https://i\",\"aud\":[\"a\",\"b\\u0063\"],\"exp\":1700000000,"
        "\"x\":{\"y\":[1,{\"z\":\"}]\"}]},\"t\":true,\"f\":false,\"n\":null,"
        "\"s\\/\":\"q\\\"\",\"r\":-1.5e3} ";
    ck_assert_int_eq(ag__json_check_object((const uint8_t *)doc, sizeof doc - 1), AG_OK);
    static const struct {
        const char *name;
        ag__jtype type;
        const char *value;
    } want[] = {
        {"iss", AG__J_STRING, "https://i"},  {"aud", AG__J_ARRAY, "[\"a\",\"b\\u0063\"]"},
        {"exp", AG__J_NUMBER, "1700000000"}, {"x", AG__J_OBJECT, "{\"y\":[1,{\"z\":\"}]\"}]}"},
        {"t", AG__J_TRUE, "true"},           {"f", AG__J_FALSE, "false"},
        {"n", AG__J_NULL, "null"},           {"s\\/", AG__J_STRING, "q\\\""},
        {"r", AG__J_NUMBER, "-1.5e3"},
    };
    ag__jiter it;
    ag__jmember m;
    ag__json_iter_object(&it, (const uint8_t *)doc, sizeof doc - 1);
    size_t k = 0;
    while (ag__json_next(&it, &m)) {
        ck_assert_uint_lt(k, AG__ARRAY_LEN(want));
        ck_assert_uint_eq(m.name.len, strlen(want[k].name));
        ck_assert(memcmp(m.name.ptr, want[k].name, m.name.len) == 0);
        ck_assert_int_eq(m.type, want[k].type);
        ck_assert_uint_eq(m.value.len, strlen(want[k].value));
        ck_assert(memcmp(m.value.ptr, want[k].value, m.value.len) == 0);
        if (k == 1) { /* the aud array */
            ag__jiter ai;
            ag__jmember e;
            ag__json_iter_array(&ai, m.value);
            ck_assert(ag__json_next(&ai, &e));
            ck_assert_int_eq(e.type, AG__J_STRING);
            ck_assert_uint_eq(e.name.len, 0);
            ck_assert(ag__json_str_eq(e.value, "a", 1));
            ck_assert(ag__json_next(&ai, &e));
            ck_assert(ag__json_str_eq(e.value, "bc", 2));
            ck_assert(!ag__json_next(&ai, &e));
            ck_assert(!ag__json_next(&ai, &e)); /* stays at the end */
        }
        k++;
    }
    ck_assert_uint_eq(k, AG__ARRAY_LEN(want));
    ck_assert(!ag__json_next(&it, &m));

    /* empty object and array */
    ag__json_iter_object(&it, (const uint8_t *)"{}", 2);
    ck_assert(!ag__json_next(&it, &m));
    ag__json_iter_array(&it, sp("[ ]"));
    ck_assert(!ag__json_next(&it, &m));
    /* the NUL jansson skips after a scalar is not part of the value */
    static const char q[] = "{\"a\":12\0,\"b\":null\0}";
    ck_assert_int_eq(ag__json_check_object((const uint8_t *)q, sizeof q - 1), AG_OK);
    ag__json_iter_object(&it, (const uint8_t *)q, sizeof q - 1);
    ck_assert(ag__json_next(&it, &m));
    ck_assert_uint_eq(m.value.len, 2);
    ck_assert(ag__json_next(&it, &m));
    ck_assert(ag__json_str_eq(m.name, "b", 1));
    ck_assert_int_eq(m.type, AG__J_NULL);
    ck_assert_uint_eq(m.value.len, 4);
    ck_assert(!ag__json_next(&it, &m));
}
END_TEST

START_TEST(test_str_eq)
{
    ck_assert(ag__json_str_eq(sp("alg"), "alg", 3));
    ck_assert(!ag__json_str_eq(sp("alg"), "al", 2));
    ck_assert(!ag__json_str_eq(sp("al"), "alg", 3));
    ck_assert(!ag__json_str_eq(sp("alg"), "ALG", 3));
    ck_assert(ag__json_str_eq(sp(""), "", 0));
    ck_assert(!ag__json_str_eq(sp(""), "a", 1));
    ck_assert(ag__json_str_eq(sp("\\u0061lg"), "alg", 3));
    ck_assert(ag__json_str_eq(sp("\\u0061\\u006C\\u0067"), "alg", 3));
    ck_assert(ag__json_str_eq(sp("a\\/b"), "a/b", 3));
    ck_assert(!ag__json_str_eq(sp("a\\/b"), "a\\/b", 4)); /* the literal is never unescaped */
    ck_assert(ag__json_str_eq(sp("a\\\\/b"), "a\\/b", 4));
    ck_assert(ag__json_str_eq(sp("\\\"\\b\\f\\n\\r\\t"), "\"\b\f\n\r\t", 6));
    ck_assert(ag__json_str_eq(sp("\\u00e9"), "\xc3\xa9", 2));
    ck_assert(ag__json_str_eq(sp("\\u20AC"), "\xe2\x82\xac", 3));
    ck_assert(ag__json_str_eq(sp("\\ud83d\\ude00"), "\xf0\x9f\x98\x80", 4));
    ck_assert(!ag__json_str_eq(sp("\\ud83d\\ude00"), "\xf0\x9f\x98", 3));
    ck_assert(!ag__json_str_eq(sp("\\u00e9"), "\xc3", 1));
    ck_assert(!ag__json_str_eq(sp("none"), "none\0", 5)); /* NUL is data */
    /* V-12 style: "at+jwt" with escapes matches, a prefix does not */
    ck_assert(ag__json_str_eq(sp("at\\u002bjwt"), "at+jwt", 6));
    ck_assert(!ag__json_str_eq(sp("at+jwt"), "at+jw", 5));
}
END_TEST

START_TEST(test_str_decode)
{
    uint8_t out[16];
    size_t n = 99;
    ck_assert_int_eq(ag__json_str_decode(sp("a\\u00e9\\ud83d\\ude00\\n"), out, sizeof out, &n),
                     AG_OK);
    ck_assert_uint_eq(n, 8);
    ck_assert(memcmp(out, "a\xc3\xa9\xf0\x9f\x98\x80\n", 8) == 0);
    ck_assert_int_eq(ag__json_str_decode(sp(""), out, sizeof out, &n), AG_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(ag__json_str_decode(sp("abc"), out, 3, &n), AG_OK);
    ck_assert_uint_eq(n, 3);
    /* too small: AG_ERR_BUFFER, nothing written, *out_len = bytes needed */
    memset(out, 'x', sizeof out);
    ck_assert_int_eq(ag__json_str_decode(sp("abcd"), out, 3, &n), AG_ERR_BUFFER);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(ag__json_str_decode(sp("\\u00e9\\u00e9"), out, 3, &n), AG_ERR_BUFFER);
    ck_assert_uint_eq(n, 4);
    for (size_t i = 0; i < sizeof out; i++)
        ck_assert_int_eq(out[i], 'x');
    /* decoded shorter than raw: fits although raw.len > cap */
    ck_assert_int_eq(ag__json_str_decode(sp("\\u00e9\\u00e9"), out, 4, &n), AG_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert(memcmp(out, "\xc3\xa9\xc3\xa9", 4) == 0);
}
END_TEST

static void num(const char *text, bool want_int, int64_t want_i, double want_d)
{
    double d = -1;
    int64_t i = -1;
    bool is_int = !want_int;
    ag__json_number(sp(text), &d, &i, &is_int);
    ck_assert_msg(is_int == want_int, "%s: is_int", text);
    ck_assert_msg(i == (want_int ? want_i : 0), "%s: i = %lld", text, (long long)i);
    ck_assert_msg(d == want_d && signbit(d) == signbit(want_d), "%s: d = %.17g", text, d);
}

START_TEST(test_numbers_at_limits)
{
    num("0", true, 0, 0.0);
    num("-0", true, 0, 0.0);
    num("-0.0", false, 0, -0.0);
    num("1700000000", true, 1700000000, 1700000000.0);
    num("253402300799", true, INT64_C(253402300799), 253402300799.0); /* AG_NUMERICDATE_MAX */
    num("253402300800", true, INT64_C(253402300800), 253402300800.0);
    num("9223372036854775807", true, INT64_MAX, 9223372036854775807.0);
    num("-9223372036854775808", true, INT64_MIN, -9223372036854775808.0);
    num("1700000000.5", false, 0, 1700000000.5);
    num("1.7e9", false, 0, 1.7e9);
    num("1e308", false, 0, 1e308);
    num("1e-400", false, 0, 0.0);
    num("-1e-400", false, 0, -0.0);
    num("4.9e-324", false, 0, 4.9e-324);
    num("1.7976931348623157e308", false, 0, 1.7976931348623157e308);
    num("0.1", false, 0, 0.1);
    num("123456789012345678901234567890", false, 0, 123456789012345678901234567890.0);
    /* V-14: out of int64 is never an integer and never wraps: it is
     * rejected by the check, and read as a double if asked anyway */
    ck_assert_int_eq(ag__json_check_object((const uint8_t *)"{\"a\":9223372036854775808}", 25),
                     AG_ERR_MALFORMED);
    num("9223372036854775808", false, 0, 9223372036854775808.0);
    num("-9223372036854775809", false, 0, -9223372036854775809.0);
    /* 1.8e308 overflows: the check rejects it (jansson: "real number overflow") */
    ck_assert_int_eq(ag__json_check_object((const uint8_t *)"{\"a\":1.8e308}", 13),
                     AG_ERR_MALFORMED);
    ck_assert_int_eq(ag__json_check_object((const uint8_t *)"{\"a\":1e308}", 11), AG_OK);
    /* NULL outputs are allowed */
    ag__json_number(sp("1"), NULL, NULL, NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* (d) zero allocations                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_no_allocation)
{
    static uint8_t big[4096];
    size_t bn = 0;
    big[bn++] = '{';
    for (int k = 0; k < 150; k++) /* beyond the name slots: the second pass */
        bn += (size_t)sprintf((char *)big + bn, "%s\"n%d\":%d.5e-3", k ? "," : "", k, k);
    big[bn++] = '}';
    ag_test_alloc_reset();
    for (int r = 0; r < 50; r++) {
        for (size_t i = 0; i < table_len; i++) {
            ag_err e = ag__json_check_object((const uint8_t *)table[i].text, table[i].len);
            ck_assert_int_eq(e == AG_OK, table[i].ok);
            if (e != AG_OK)
                continue;
            ag__jiter it;
            ag__jmember m;
            ag__json_iter_object(&it, (const uint8_t *)table[i].text, table[i].len);
            while (ag__json_next(&it, &m)) {
                uint8_t out[64];
                size_t n;
                (void)ag__json_str_eq(m.name, "a", 1);
                (void)ag__json_str_decode(m.name, out, sizeof out, &n);
                if (m.type == AG__J_NUMBER) {
                    double d;
                    int64_t v;
                    bool is_int;
                    ag__json_number(m.value, &d, &v, &is_int);
                }
            }
        }
        ck_assert_int_eq(ag__json_check_object(big, bn), AG_OK);
    }
    ck_assert_int_eq(ag_test_alloc_count(), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* (e) guard page                                                       */
/* ------------------------------------------------------------------ */

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

static void walk(const uint8_t *p, size_t n)
{
    ag__jiter it;
    ag__jmember m;
    ag__json_iter_object(&it, p, n);
    while (ag__json_next(&it, &m)) {
        uint8_t out[256];
        size_t len;
        (void)ag__json_str_eq(m.name, "zz", 2);
        (void)ag__json_str_decode(m.value, out, sizeof out, &len);
        if (m.type == AG__J_NUMBER) {
            double d;
            int64_t i;
            bool is_int;
            ag__json_number(m.value, &d, &i, &is_int);
        }
        if (m.type == AG__J_ARRAY) {
            ag__jiter ai;
            ag__jmember e;
            ag__json_iter_array(&ai, m.value);
            while (ag__json_next(&ai, &e)) {
            }
        }
    }
}

START_TEST(test_guard_page)
{
    for (size_t s = 0; s < seeds_len; s++) {
        size_t n = s == 9 ? sizeof("{\"a\":1\0,\"b\":true\0}") - 1 : strlen(seeds[s]);
        /* every prefix: valid only when complete (trailing space aside) */
        for (size_t len = 0; len <= n; len++) {
            const uint8_t *g = at_guard(seeds[s], len);
            bool o = ours_ok(g, len);
            ck_assert_int_eq(o, jansson_ok(g, len));
            /* the iterators stay in bounds on any text, valid or not */
            walk(g, len);
        }
    }
    for (size_t i = 0; i < table_len; i++) {
        const uint8_t *g = at_guard(table[i].text, table[i].len);
        ck_assert_int_eq(ours_ok(g, table[i].len), table[i].ok);
        walk(g, table[i].len);
        /* and every truncation of it */
        for (size_t cut = 1; cut <= table[i].len && cut <= 8; cut++) {
            g = at_guard(table[i].text, table[i].len - cut);
            ck_assert_int_eq(ours_ok(g, table[i].len - cut), jansson_ok(g, table[i].len - cut));
            walk(g, table[i].len - cut);
        }
    }
    /* spans ending at the guard */
    static const char *strs[] = {"\\u00e9", "\\ud83d\\ude00", "abc\\", "\\u12", "\\ud83d\\u"};
    for (size_t i = 0; i < AG__ARRAY_LEN(strs); i++) {
        size_t n = strlen(strs[i]), len;
        uint8_t out[32];
        ag_span g = {at_guard(strs[i], n), n};
        (void)ag__json_str_eq(g, "x", 1);
        (void)ag__json_str_decode(g, out, sizeof out, &len);
    }
    static const char *nums[] = {"1", "-0", "1.5", "1e5", "9223372036854775807", "1e-400", "0.1e"};
    for (size_t i = 0; i < AG__ARRAY_LEN(nums); i++) {
        double d;
        int64_t v;
        bool is_int;
        size_t n = strlen(nums[i]);
        ag__json_number((ag_span){at_guard(nums[i], n), n}, &d, &v, &is_int);
    }
}
END_TEST

static Suite *json_scan_suite(void)
{
    Suite *s = suite_create("json_scan_accessors");
    TCase *ta = tcase_create("accessors");
    tcase_add_test(ta, test_iterate_claims);
    tcase_add_test(ta, test_str_eq);
    tcase_add_test(ta, test_str_decode);
    tcase_add_test(ta, test_numbers_at_limits);
    tcase_add_test(ta, test_no_allocation);
    suite_add_tcase(s, ta);

    TCase *tg = tcase_create("guard_page");
    tcase_add_checked_fixture(tg, guard_setup, guard_teardown);
    tcase_add_test(tg, test_guard_page);
    suite_add_tcase(s, tg);
    return s;
}

int main(void)
{
    return json_scan_main(json_scan_suite);
}

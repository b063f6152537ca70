/* SPDX-License-Identifier: MIT */
/*
 * Verdicts of lib/token/json_scan.c, the strict allocation-free JSON
 * scanner of the verify hot path (V-06): the adversarial table, the depth
 * limit, duplicate names beyond the fixed slots, and pathological shapes.
 * Every verdict is also jansson's (json_scan_util.h); the portable case
 * runs the table again with the SIMD string scan hidden.
 *
 * Known deviations from jansson: none. One jansson quirk is matched on
 * purpose and pinned in the table: a single NUL byte right after a number
 * or a literal is skipped by jansson's lexer.
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

START_TEST(test_adversarial_table)
{
    size_t nok = 0, nbad = 0;
    for (size_t i = 0; i < table_len; i++) {
        const uint8_t *p = (const uint8_t *)table[i].text;
        size_t n = table[i].len;
        bool j = jansson_ok(p, n), o = ours_ok(p, n);
        if (j != table[i].ok || o != table[i].ok)
            print_hex("table case", p, n);
        ck_assert_msg(j == table[i].ok, "case %zu: jansson says %d, table says %d", i, j,
                      table[i].ok);
        ck_assert_msg(o == table[i].ok, "case %zu: we say %d, table says %d", i, o, table[i].ok);
        if (table[i].ok)
            nok++;
        else
            nbad++;
    }
    ck_assert_uint_ge(nok + nbad, 120);
    ck_assert_uint_ge(nok, 40);
    ck_assert_uint_ge(nbad, 80);
}
END_TEST

/* V-06 depth: a value deeper than 2048 is refused, so a container at depth
 * 2048 must be empty (jansson's JSON_PARSER_MAX_DEPTH, probed). */
static size_t nest(uint8_t *buf, size_t depth, bool objects, const char *inner)
{
    size_t n = 0;
    buf[n++] = '{';
    for (size_t i = 1; i < depth; i++) {
        if (objects) {
            memcpy(buf + n, "\"k\":{", 5);
            n += 5;
        } else {
            if (i == 1) {
                memcpy(buf + n, "\"k\":", 4);
                n += 4;
            }
            buf[n++] = '[';
        }
    }
    size_t il = strlen(inner);
    memcpy(buf + n, inner, il);
    n += il;
    for (size_t i = 1; i < depth; i++)
        buf[n++] = objects ? '}' : ']';
    buf[n++] = '}';
    return n;
}

START_TEST(test_depth_limit)
{
    static uint8_t buf[32768];
    static const struct {
        size_t depth;
        bool objects;
        const char *inner;
        bool ok;
    } c[] = {
        {2047, true, "\"x\":1", true},   {2048, true, "", true},
        {2048, true, "\"x\":1", false},  {2049, true, "", false},
        {2047, false, "1", true},        {2048, false, "", true},
        {2048, false, "1", false},       {2049, false, "", false},
        {2048, false, "[]", false},      {3000, false, "", false},
        {2048, true, "\"x\":{}", false},
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(c); i++) {
        size_t n = nest(buf, c[i].depth, c[i].objects, c[i].inner);
        ck_assert_msg(jansson_ok(buf, n) == c[i].ok, "jansson, case %zu", i);
        ck_assert_msg(ours_ok(buf, n) == c[i].ok, "ours, case %zu", i);
    }
}
END_TEST

/* Duplicate checks beyond the fixed name slots: many names in one object,
 * and names open in many nested objects at once (the second pass). */
START_TEST(test_duplicates_beyond_slots)
{
    static uint8_t buf[65536];
    for (size_t count = 1; count <= 300; count += (count < 140 ? 1 : 37)) {
        for (int variant = 0; variant < 4; variant++) {
            size_t n = 0;
            buf[n++] = '{';
            for (size_t k = 0; k < count; k++)
                n += (size_t)sprintf((char *)buf + n, "%s\"k%zu\":%zu", k ? "," : "", k, k);
            if (variant == 1) /* a duplicate of the first, at the end */
                n += (size_t)sprintf((char *)buf + n, ",\"k0\":0");
            if (variant == 2) /* a duplicate spelled with an escape */
                n += (size_t)sprintf((char *)buf + n, ",\"\\u006b%zu\":0", count / 2);
            if (variant == 3) /* a nested object with a late duplicate */
                n += (size_t)sprintf((char *)buf + n, ",\"in\":{\"x\":1,\"y\":{\"k0\":1},\"x\":2}");
            buf[n++] = '}';
            bool want = variant == 0;
            ck_assert_msg(jansson_ok(buf, n) == want, "jansson count %zu variant %d", count,
                          variant);
            ck_assert_msg(ours_ok(buf, n) == want, "count %zu variant %d", count, variant);
        }
    }
    /* 200 nested objects, each with one name: the slots run out; a
     * duplicate at the innermost and at the outermost level */
    for (int variant = 0; variant < 3; variant++) {
        size_t n = 0;
        buf[n++] = '{';
        for (int d = 0; d < 200; d++)
            n += (size_t)sprintf((char *)buf + n, "\"a\":1,\"n\":{");
        if (variant == 1)
            n += (size_t)sprintf((char *)buf + n, "\"z\":1,\"z\":2");
        for (int d = 0; d < 200; d++)
            buf[n++] = '}';
        if (variant == 2)
            n += (size_t)sprintf((char *)buf + n, ",\"a\":2");
        buf[n++] = '}';
        bool want = variant == 0;
        ck_assert_int_eq(jansson_ok(buf, n), want);
        ck_assert_int_eq(ours_ok(buf, n), want);
    }
}
END_TEST

/* Pathological shapes within the verify path's 8 KiB cap: bounded work.
 * Times are printed for the record, never asserted (house rule). */
START_TEST(test_pathological_inputs_bounded)
{
    static uint8_t buf[AG_TOKEN_MAX_LEN];
    struct timespec t0, t1;
    /* ~1600 distinct one-letter-ish names in one object */
    size_t n = 0;
    buf[n++] = '{';
    for (size_t k = 0; n < sizeof buf - 16; k++)
        n += (size_t)sprintf((char *)buf + n, "%s\"%zx\":0", k ? "," : "", k);
    buf[n++] = '}';
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert(ours_ok(buf, n));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "json_scan: %zu-byte object with many names: %.3f ms\n", n,
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    ck_assert(jansson_ok(buf, n));
    /* nesting as deep as the cap allows, one name per level */
    n = 0;
    size_t d = 0;
    buf[n++] = '{';
    while (n + 6 + d + 2 < sizeof buf && d < 2000) {
        memcpy(buf + n, "\"a\":{", 5);
        n += 5;
        d++;
    }
    for (size_t i = 0; i < d; i++)
        buf[n++] = '}';
    buf[n++] = '}';
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert(ours_ok(buf, n));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "json_scan: %zu-byte object nested %zu deep: %.3f ms\n", n, d,
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    ck_assert(jansson_ok(buf, n));
}
END_TEST

static Suite *json_scan_suite(void)
{
    Suite *s = suite_create("json_scan_verdicts");
    TCase *tv = verdicts_tcase(s, "verdicts", false);
    tcase_add_test(tv, test_adversarial_table);
    tcase_add_test(tv, test_depth_limit);
    tcase_add_test(tv, test_duplicates_beyond_slots);
    tcase_add_test(tv, test_pathological_inputs_bounded);

    /* the same verdicts with the SSE2 string scan hidden */
    TCase *tp = verdicts_tcase(s, "verdicts_portable", true);
    tcase_add_test(tp, test_adversarial_table);
    return s;
}

int main(void)
{
    return json_scan_main(json_scan_suite);
}

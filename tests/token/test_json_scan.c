/* SPDX-License-Identifier: MIT */
/*
 * Tests for lib/token/json_scan.c, the strict allocation-free JSON scanner
 * of the verify hot path (V-06). Its contract is differential: for every
 * input, ag__json_check_object(p, n) == AG_OK exactly when jansson's
 * json_loadb(p, n, JSON_REJECT_DUPLICATES) returns an object. Every case
 * here is checked against jansson as well as against the written verdict.
 *
 * Known deviations from jansson: none. One jansson quirk is matched on
 * purpose and pinned below (jansson_quirk_nul_after_scalar): a single NUL
 * byte right after a number or a literal is skipped by jansson's lexer.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

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

static bool jansson_ok(const uint8_t *p, size_t n)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &err);
    bool ok = j != NULL && json_is_object(j);
    json_decref(j);
    return ok;
}

static bool span_same(ag_span a, ag_span b)
{
    return a.ptr == b.ptr && a.len == b.len;
}

/* ag__json_check_members gives the verdict of ag__json_check_object and
 * exactly the members ag__json_next yields (same spans, same types). */
static void members_agree(const uint8_t *p, size_t n, ag_err verdict)
{
    ag__jmember mem[6];
    size_t count = 99;
    ag_err e = ag__json_check_members(p, n, mem, AG__ARRAY_LEN(mem), &count);
    ck_assert_int_eq(e, verdict);
    if (e != AG_OK) {
        ck_assert_uint_eq(count, 0);
        return;
    }
    ag__jiter it;
    ag__jmember m;
    size_t i = 0;
    ag__json_iter_object(&it, p, n);
    while (ag__json_next(&it, &m)) {
        if (i < AG__ARRAY_LEN(mem)) {
            ck_assert(span_same(m.name, mem[i].name));
            ck_assert(span_same(m.value, mem[i].value));
            ck_assert_int_eq(m.type, mem[i].type);
            /* the validator's escape flag is exact for strings (claims
             * take unescaped strings as views on it) */
            if (mem[i].type == AG__J_STRING)
                ck_assert_int_eq(mem[i].value_esc,
                                 mem[i].value.len > 0 &&
                                     memchr(mem[i].value.ptr, '\\', mem[i].value.len) != NULL);
        }
        i++;
    }
    ck_assert_uint_eq(i, count);
}

static bool ours_ok(const uint8_t *p, size_t n)
{
    ag_err e = ag__json_check_object(p, n);
    ck_assert(e == AG_OK || e == AG_ERR_MALFORMED);
    members_agree(p, n, e);
    return e == AG_OK;
}

static void print_hex(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "%s (%zu bytes):", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------ */
/* (a) the adversarial table, each case also checked against jansson    */
/* ------------------------------------------------------------------ */

typedef struct jcase {
    const char *text;
    size_t len;
    bool ok;
} jcase;

#define Y(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1, true                                                                 \
    }
#define N(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1, false                                                                \
    }

static const jcase table[] = {
    /* top level and whitespace (SP HT LF CR only) */
    Y("{}"),
    Y(" {} "),
    Y("\t\r\n{}\n\r\t "),
    Y("{ }"),
    Y("{\n\"a\"\n:\n1\n}"),
    N(""),
    N(" "),
    N("[]"),
    N("[{}]"),
    N("\"a\""),
    N("1"),
    N("null"),
    N("true"),
    N("\xef\xbb\xbf{}"), /* BOM */
    N("\x0c{}"),
    N("{}\x0c"),
    N("{\x0b\"a\":1}"),
    N("{\"a\":\xc2\xa0"
      "1}"), /* FF VT NBSP */
    N("{"),
    N("}"),
    N("{}}"),
    N("{}{}"),
    N("{}x"),
    N("{}\0"),
    N("\0{}"),
    N("{\0}"),
    N("{\"a\":1}//c"),
    N("{/*c*/\"a\":1}"),
    N("{\"a\":1}\0"),
    /* members */
    Y("{\"a\":1}"),
    Y("{\"\":1}"),
    Y("{\"a\":1,\"b\":2}"),
    Y("{ \"a\" : 1 , \"b\" : [ 1 , { } ] }"),
    N("{\"a\":1"),
    N("{\"a\":1,}"),
    N("{,}"),
    N("{,\"a\":1}"),
    N("{\"a\"}"),
    N("{\"a\":}"),
    N("{\"a\" 1}"),
    N("{\"a\"::1}"),
    N("{a:1}"),
    N("{'a':1}"),
    N("{\"a\":1;\"b\":2}"),
    N("{\"a\":1 \"b\":2}"),
    N("{1:1}"),
    N("{null:1}"),
    N("{\"a\":1,\"b\"}"),
    /* arrays and nesting */
    Y("{\"a\":[]}"),
    Y("{\"a\":{}}"),
    Y("{\"a\":[1,2,3]}"),
    Y("{\"a\":[[],[[]],{}]}"),
    Y("{\"a\":[{\"a\":[{\"a\":1}]}]}"),
    N("{\"a\":[1,]}"),
    N("{\"a\":[,1]}"),
    N("{\"a\":[1 2]}"),
    N("{\"a\":[}"),
    N("{\"a\":]}"),
    N("{\"a\":{\"b\":1]}"),
    N("{\"a\":[1}}"),
    N("{\"a\":[1]]}"),
    N("{\"a\":[\"b\":1]}"),
    /* literals */
    Y("{\"a\":true,\"b\":false,\"c\":null}"),
    N("{\"a\":True}"),
    N("{\"a\":nul}"),
    N("{\"a\":truex}"),
    N("{\"a\":tru}"),
    N("{\"a\":nulll}"),
    N("{\"a\":NULL}"),
    N("{\"a\":undefined}"),
    N("{\"a\":true1}"),
    N("{\"a\":t}"),
    /* numbers */
    Y("{\"a\":0}"),
    Y("{\"a\":-0}"),
    Y("{\"a\":-0.0}"),
    Y("{\"a\":1.5e10}"),
    Y("{\"a\":1E+2}"),
    Y("{\"a\":1e-2}"),
    Y("{\"a\":0e0}"),
    Y("{\"a\":0.0e-0}"),
    Y("{\"a\":-1}"),
    Y("{\"a\":9223372036854775807}"),
    Y("{\"a\":-9223372036854775808}"),
    Y("{\"a\":1e308}"),
    Y("{\"a\":1.7976931348623157e308}"),
    Y("{\"a\":-1.7976931348623157e308}"),
    Y("{\"a\":1e-400}"),
    Y("{\"a\":4.9e-324}"),
    Y("{\"a\":2.4e-324}"),
    Y("{\"a\":1e-99999999999}"),
    Y("{\"a\":0e99999999999}"),
    Y("{\"a\":253402300799}"),
    Y("{\"a\":9223372036854775807.0}"),
    Y("{\"a\":92233720368547758080e-1}"),
    Y("{\"a\":0.000000000000000000000000000001e330}"),
    N("{\"a\":01}"),
    N("{\"a\":-01}"),
    N("{\"a\":00}"),
    N("{\"a\":-}"),
    N("{\"a\":+1}"),
    N("{\"a\":.5}"),
    N("{\"a\":1.}"),
    N("{\"a\":1.e5}"),
    N("{\"a\":1e}"),
    N("{\"a\":1e+}"),
    N("{\"a\":1E-}"),
    N("{\"a\":0x10}"),
    N("{\"a\":1_000}"),
    N("{\"a\":Infinity}"),
    N("{\"a\":NaN}"),
    N("{\"a\":-Infinity}"),
    N("{\"a\":- 1}"),
    N("{\"a\":1.5.5}"),
    N("{\"a\":9223372036854775808}"),
    N("{\"a\":-9223372036854775809}"),
    N("{\"a\":99999999999999999999}"),
    N("{\"a\":1e309}"),
    N("{\"a\":-1e309}"),
    N("{\"a\":1.8e308}"),
    N("{\"a\":1.7976931348623159e308}"),
    N("{\"a\":1e99999999999}"),
    /* 2^1024 - 2^970 is the exact rounding threshold; one below it is finite */
    N("{\"a\":179769313486231580793728971405303415079934132710037826936173778980444968292764"
      "750946649017977587207096330286416692887910946555547851940402630657488671505820681908"
      "902000708383676273854845817711531764475730270069855571366959622842914819860834936475"
      "292719074168444365510704342711559699508093042880177904174497792.0}"),
    Y("{\"a\":179769313486231580793728971405303415079934132710037826936173778980444968292764"
      "750946649017977587207096330286416692887910946555547851940402630657488671505820681908"
      "902000708383676273854845817711531764475730270069855571366959622842914819860834936475"
      "292719074168444365510704342711559699508093042880177904174497791.9999}"),
    /* strings: escapes */
    Y("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"),
    Y("{\"a\":\"\\u00e9\"}"),
    Y("{\"a\":\"\\u00E9\"}"),
    Y("{\"a\":\"\\uD83D\\uDE00\"}"),
    Y("{\"a\":\"\\ud83d\\ude00\"}"),
    Y("{\"a\":\"\\uFFFF\"}"),
    Y("{\"a\":\"\\uFEFF\"}"),
    Y("{\"a\":\"\\u0001\"}"),
    Y("{\"a\":\"\\uDBFF\\uDFFF\"}"),
    N("{\"a\":\"\\x\"}"),
    N("{\"a\":\"\\u12\"}"),
    N("{\"a\":\"\\u12G4\"}"),
    N("{\"a\":\"\\U0041\"}"),
    N("{\"a\":\"\\a\"}"),
    N("{\"a\":\"\\'\"}"),
    N("{\"a\":\"\\0\"}"),
    N("{\"a\":\"\\\"}"),
    N("{\"a\":\"\\u0000\"}"),
    N("{\"\\u0000\":1}"),
    N("{\"a\":[\"\\u0000\"]}"),
    N("{\"a\":\"\\uD800\"}"),
    N("{\"a\":\"\\uDC00\"}"),
    N("{\"a\":\"\\uD800\\u0041\"}"),
    N("{\"a\":\"\\uDC00\\uD800\"}"),
    N("{\"a\":\"\\uD800\\uD800\"}"),
    N("{\"a\":\"\\uD800x\"}"),
    N("{\"a\":\"\\uD800\\n\"}"),
    N("{\"a\":\"\\uDBFF\\uE000\"}"),
    N("{\"a\":\"\\uD83D\\\\uDE00\"}"),
    /* strings: raw bytes */
    Y("{\"a\":\"\x7f\"}"),
    Y("{\"a\":\"caf\xc3\xa9\"}"),
    Y("{\"a\":\"\xe2\x82\xac\"}"),
    Y("{\"a\":\"\xf0\x9f\x98\x80\"}"),
    Y("{\"a\":\"\xf4\x8f\xbf\xbf\"}"),
    Y("{\"a\":\"\xed\x9f\xbf\"}"),
    Y("{\"a\":\"\xee\x80\x80\"}"),
    Y("{\"a\":\"\xc2\x80\"}"),
    Y("{\"a\":\"\xe0\xa0\x80\"}"),
    Y("{\"a\":\"\xf0\x90\x80\x80\"}"),
    Y("{\"a\":\"\xe2\x80\xa8\"}"),
    Y("{\"\xc3\xa9\":1}"),
    N("{\"a\":\"x\x01\"}"),
    N("{\"a\":\"tab\there\"}"),
    N("{\"a\":\"line\nbreak\"}"),
    N("{\"a\":\"\x1f\"}"),
    N("{\"a\":\"\0\"}"),
    N("{\"a\":\"\x80\"}"),
    N("{\"a\":\"\xbf\"}"),
    N("{\"a\":\"\xc0\x80\"}"),
    N("{\"a\":\"\xc1\xbf\"}"),
    N("{\"a\":\"\xe0\x80\x80\"}"),
    N("{\"a\":\"\xe0\x9f\xbf\"}"),
    N("{\"a\":\"\xf0\x80\x80\x80\"}"),
    N("{\"a\":\"\xf0\x8f\xbf\xbf\"}"),
    N("{\"a\":\"\xed\xa0\x80\"}"),
    N("{\"a\":\"\xed\xbf\xbf\"}"),
    N("{\"a\":\"\xf4\x90\x80\x80\"}"),
    N("{\"a\":\"\xf5\x80\x80\x80\"}"),
    N("{\"a\":\"\xf8\x88\x80\x80\x80\"}"),
    N("{\"a\":\"\xff\"}"),
    N("{\"a\":\"\xfe\"}"),
    N("{\"a\":\"\xc3\"}"),
    N("{\"a\":\"\xe2\x82\"}"),
    N("{\"a\":\"\xf0\x9f\x98\"}"),
    N("{\"a\":\"\xc3\x28\"}"),
    N("{\"a\":\"\xe2\x28\xa1\"}"),
    N("{\"a\":\"x}"),
    N("{\"a\":\"x\\\"}"),
    N("{\"a\xff\":1}"),
    N("{\"a\":1,\"\xed\xa0\x80\":2}"),
    N("{\"a\":\xc3\xa9}"),
    N("{\"a\":1}\xc3\xa9"),
    /* duplicate member names, compared after unescaping, at every level */
    N("{\"a\":1,\"a\":2}"),
    N("{\"a\":1,\"\\u0061\":2}"),
    N("{\"\\u0061\":1,\"a\":2}"),
    N("{\"\\/\":1,\"/\":2}"),
    N("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"),
    N("{\"\xc3\xa9\":1,\"\\u00e9\":2}"),
    N("{\"\\u00E9\":1,\"\\u00e9\":2}"),
    N("{\"b\":{\"a\":1,\"a\":2}}"),
    N("{\"b\":[{\"a\":1,\"a\":2}]}"),
    N("{\"a\":1,\"b\":2,\"a\":3}"),
    N("{\"a\":{},\"a\":{}}"),
    N("{\"ab\":1,\"a\\u0062\":2}"),
    N("{\"\":1,\"\":2}"),
    N("{\"abcdefghij\":1,\"abcdefghij\":2}"),
    N("{\"abcdefghij\":1,\"abcdefgh\\u0069j\":2}"),
    N("{\"\\n\":1,\"\\u000a\":2}"),
    N("{\"x\":{\"y\":{\"z\":{}}},\"x\":1}"),
    Y("{\"a\":{\"a\":1}}"),
    Y("{\"a\":1,\"A\":1}"),
    Y("{\"a\":1,\"a \":2}"),
    Y("{\"a\\u0062\":1,\"ab \":2}"),
    Y("{\"abcdefghij\":1,\"abcdefghik\":2}"),
    Y("{\"abcdefgh\":1,\"abcdefghi\":2}"),
    Y("{\"a\":[{\"a\":1},{\"a\":1}]}"),
    Y("{\"\\u00e9\":1,\"\\u00e8\":2}"),
    Y("{\"\\\\\":1,\"\\/\":2}"),
    Y("{\"\\ud83d\\ude00\":1,\"\\ud83d\\ude01\":2}"),
    /* jansson quirk: one NUL right after a number or literal is skipped */
    Y("{\"a\":1\0}"),
    Y("{\"a\":1\0 }"),
    Y("{\"a\":true\0}"),
    Y("{\"a\":null\0,\"b\":2}"),
    Y("{\"a\":1.5\0}"),
    Y("{\"a\":[1\0,false\0]}"),
    Y("{\"a\":1e5\0,\"b\":2}"),
    Y("{\"a\":-0\0}"),
    N("{\"a\":1\0\0}"),
    N("{\"a\":1 \0}"),
    N("{\"a\":\"x\"\0}"),
    N("{\"a\":{}\0}"),
    N("{\"a\":[]\0}"),
    N("{\"a\"\0:1}"),
    N("{\"a\":\0"
      "1}"),
    N("{\"a\":1,\0\"b\":2}"),
    N("{\"a\":1.\0"
      "5}"),
    N("{\"a\":tr\0ue}"),
};

static void portable_on(void)
{
    ag__cpu_restrict(0);
}

static void portable_off(void)
{
    ag__cpu_restrict(AG__CPU_ALL);
}

START_TEST(test_adversarial_table)
{
    size_t nok = 0, nbad = 0;
    for (size_t i = 0; i < AG__ARRAY_LEN(table); i++) {
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

/* ------------------------------------------------------------------ */
/* (b) the differential loop                                           */
/* ------------------------------------------------------------------ */

static const char *const seeds[] = {
    "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
    "{\"alg\":\"ES256\",\"typ\":\"application/at+jwt\",\"kid\":\"2024-01\",\"crit\":[\"exp\"]}",
    "{\"alg\":\"RS256\",\"kid\":\"a\\/b\",\"x5t#S256\":\"abc\",\"jku\":\"https://x\"}",
    "{\"iss\":\"https://issuer.example\",\"sub\":\"user-123\",\"aud\":[\"api\",\"x\"],"
    "\"exp\":1700003600,\"iat\":1700000000,\"jti\":\"abcDEF_-0123456789abcdefghijABCDEFGHIJ12345\","
    "\"sid\":\"s\"}",
    "{\"iss\":\"i\",\"sub\":\"\\u00e9l\\u00e8ve\",\"aud\":\"a\",\"exp\":1.7e9,\"nbf\":-0,"
    "\"iat\":253402300799,\"roles\":[\"admin\",{\"x\":null}],\"ok\":true}",
    "{\"a\":1.5e3,\"b\":-0,\"c\":[true,false,null,{\"d\":\"\\u00e9\\ud83d\\ude00\\n\"}],"
    "\"e\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
    " { \"x\" : { \"y\" : [ 1 , 2 , { } , [ ] ] } , \"\\u0078y\" : 0.000001 } ",
    "{\"n\":9223372036854775807,\"m\":-9223372036854775808,\"r\":1.7976931348623157e308,"
    "\"u\":1e-400}",
    "{\"a\":1,\"b\":{\"a\":1},\"\\/\":\"/\",\"\\\\\":\"\\\\\"}",
    "{\"a\":1\0,\"b\":true\0}",
    "{\"\\u0061b\":1,\"ac\":2,\"\\ud83d\\ude00\":3,\"k\":\"\\\"\\b\\f\\r\\t\"}",
};

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
            const char *s = seeds[rnd(AG__ARRAY_LEN(seeds))];
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
        for (size_t i = 0; i < AG__ARRAY_LEN(table); i++) {
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
    for (size_t s = 0; s < AG__ARRAY_LEN(seeds); s++) {
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
    for (size_t i = 0; i < AG__ARRAY_LEN(table); i++) {
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
    Suite *s = suite_create("json_scan");
    TCase *tv = tcase_create("verdicts");
    tcase_set_timeout(tv, 600);
    tcase_add_test(tv, test_adversarial_table);
    tcase_add_test(tv, test_depth_limit);
    tcase_add_test(tv, test_duplicates_beyond_slots);
    tcase_add_test(tv, test_pathological_inputs_bounded);
    tcase_add_test(tv, test_differential_mutations);
    tcase_add_test(tv, test_differential_numbers);
    suite_add_tcase(s, tv);

    /* the same verdicts with the SSE2 string scan hidden: the portable
     * 8-byte loop runs (x86-64 always has SSE2) */
    TCase *tp = tcase_create("verdicts_portable");
    tcase_set_timeout(tp, 600);
    tcase_add_checked_fixture(tp, portable_on, portable_off);
    tcase_add_test(tp, test_adversarial_table);
    tcase_add_test(tp, test_differential_mutations);
    tcase_add_test(tp, test_differential_numbers);
    suite_add_tcase(s, tp);

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
    ag_test_alloc_hooks_install();
    return ag_test_run(json_scan_suite());
}

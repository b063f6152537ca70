/* SPDX-License-Identifier: MIT */
/*
 * What the lib/token/json_scan.c tests share: the differential verdict
 * (ours against jansson's json_loadb with JSON_REJECT_DUPLICATES, members
 * included), the adversarial table, the seed documents and the switch that
 * hides the SIMD string scan. See json_scan_util.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "json_scan_util.h"
#include "testsupport.h"
#include "token/token_int.h"

bool jansson_ok(const uint8_t *p, size_t n)
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

bool ours_ok(const uint8_t *p, size_t n)
{
    ag_err e = ag__json_check_object(p, n);
    ck_assert(e == AG_OK || e == AG_ERR_MALFORMED);
    members_agree(p, n, e);
    return e == AG_OK;
}

void print_hex(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "%s (%zu bytes):", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------ */
/* the adversarial table, each case also checked against jansson        */
/* ------------------------------------------------------------------ */

#define Y(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1, true                                                                 \
    }
#define N(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1, false                                                                \
    }

const jcase table[] = {
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

const size_t table_len = AG__ARRAY_LEN(table);

static void portable_on(void)
{
    ag__cpu_restrict(0);
}

static void portable_off(void)
{
    ag__cpu_restrict(AG__CPU_ALL);
}

/* Seed documents of the mutation loop and of the guard-page walk. */
const char *const seeds[] = {
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

const size_t seeds_len = AG__ARRAY_LEN(seeds);

TCase *verdicts_tcase(Suite *s, const char *name, bool portable)
{
    TCase *t = tcase_create(name);
    tcase_set_timeout(t, 600);
    if (portable)
        tcase_add_checked_fixture(t, portable_on, portable_off);
    suite_add_tcase(s, t);
    return t;
}

int json_scan_main(Suite *(*make)(void))
{
    ag_test_alloc_hooks_install();
    return ag_test_run(make());
}

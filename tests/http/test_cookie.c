/* SPDX-License-Identifier: MIT */
/*
 * tests for lib/http/cookie.c: strict RFC 6265 cookie-string parsing of
 * our own cookies, foreign malformed pairs skipped (H-06), duplicate names in one field or across
 * fields (H-07, H-08), the name+value cap (V-04). Every row also runs at the end of a guard page.
 */
#include <stdlib.h>
#include <string.h>

#include "authgate/http.h"
#include "testsupport.h"

#define B(s) (const uint8_t *)(s), sizeof(s) - 1
#define NAME "__Host-refresh"

typedef struct cookie_case {
    const char *rule;
    const uint8_t *in;
    size_t len;
    ag_err want;
    size_t count;      /* occurrences of NAME on AG_OK */
    const char *value; /* expected value when count == 1 */
} cookie_case;

static const cookie_case cookie_cases[] = {
    {"H-06 single pair", B(NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 among others", B("a=1; " NAME "=abc; b=2"), AG_OK, 1, "abc"},
    {"H-06 last pair", B("a=1; b=2; " NAME "=abc.def-_~"), AG_OK, 1, "abc.def-_~"},
    {"H-06 OWS around the field trimmed", B(" \t" NAME "=abc \t"), AG_OK, 1, "abc"},
    {"H-06 empty value", B(NAME "="), AG_OK, 1, ""},
    {"H-06 '=' is a cookie-octet", B(NAME "==abc="), AG_OK, 1, "=abc="},
    {"H-06 other cookie quoted is fine", B("a=\"x\"; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 other cookie quoted empty", B("a=\"\"; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 empty field", B(""), AG_OK, 0, NULL},
    {"H-06 whitespace-only field", B(" \t"), AG_OK, 0, NULL},
    {"H-06 names are case-sensitive", B("__host-refresh=abc"), AG_OK, 0, NULL},
    {"H-06 longer name", B(NAME "X=abc"), AG_OK, 0, NULL},
    {"H-06 name with prefix", B("X" NAME "=abc"), AG_OK, 0, NULL},
    {"H-06 name without prefix", B("refresh=abc"), AG_OK, 0, NULL},
    {"H-06 name appears as a value",
     B("a="
       "__Host-refresh"),
     AG_OK, 0, NULL},
    {"H-06 quoted credential refused", B(NAME "=\"abc\""), AG_ERR_REQUEST, 0, NULL},
    {"H-06 quoted empty credential refused", B(NAME "=\"\""), AG_ERR_REQUEST, 0, NULL},
    {"H-06 unterminated quote", B(NAME "=\"abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 foreign text after the quote skipped", B("a=\"x\"y; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 no SP after ;", B("a=1;" NAME "=abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 two SP after ;", B("a=1;  " NAME "=abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 tab after ;", B("a=1;\t" NAME "=abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 tab inside value", B(NAME "=a\tb"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 foreign pair with SP before ; skipped", B("a=1 ; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 empty pair skipped", B("a=1; ; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 double ; skipped", B("a=1;; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 trailing ; skipped", B(NAME "=abc;"), AG_OK, 1, "abc"},
    {"H-06 trailing ; SP skipped", B(NAME "=abc; "), AG_OK, 1, "abc"},
    {"H-06 leading ; skipped", B("; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 foreign nameless pair, no =, skipped", B("abc; " NAME "=x"), AG_OK, 1, "x"},
    {"H-06 foreign nameless pair with = skipped", B("=abc; " NAME "=x"), AG_OK, 1, "x"},
    {"H-06 nameless pair carrying the name", B("=" NAME "=x"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 credential name without =", B(NAME), AG_ERR_REQUEST, 0, NULL},
    {"H-06 SP before =", B(NAME " =abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 SP after =", B(NAME "= abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 SP inside value", B(NAME "=a b"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 comma separator (M-03)", B("a=1, " NAME "=abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 comma in value", B(NAME "=a,b"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 backslash in value", B(NAME "=a\\b"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 NUL in value", B(NAME "=a\0b"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 NUL at the end", B(NAME "=ab\0"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 NUL in another name", B("a\0b=1; " NAME "=abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 non-ASCII in value", B(NAME "=\xc3\xa9"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 foreign non-ASCII name skipped", B("\xc3\xa9=1; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 CR LF at the end", B(NAME "=abc\r\n"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 DEL in value", B(NAME "=ab\x7f"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 foreign separator in name skipped", B("a/b=1; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 malformed foreign pair after the credential skipped", B(NAME "=abc; x y=1"), AG_OK, 1,
     "abc"},
    /* a sibling subdomain's malformed cookie is not ours: skipped, but a
     * piece that holds our name anywhere stays an error (smuggling) */
    {"H-06 foreign comma value skipped", B("x=a,b; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 foreign comma value after ours", B(NAME "=abc; x=a,b"), AG_OK, 1, "abc"},
    {"H-06 only a foreign malformed pair", B("x=a,b"), AG_OK, 0, NULL},
    {"H-06 foreign tab in value skipped", B("x=a\tb; " NAME "=abc"), AG_OK, 1, "abc"},
    {"H-06 foreign pair without SP after ; skipped", B(NAME "=abc;x=1"), AG_OK, 1, "abc"},
    {"H-06 our name inside a foreign value", B("x=a," NAME "=evil; " NAME "=abc"), AG_ERR_REQUEST,
     0, NULL},
    {"H-06 our name after a comma", B("x=a, " NAME "=evil"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 our name in a nameless pair", B("=" NAME "; a=1"), AG_ERR_REQUEST, 0, NULL},
    {"H-06 CR in a foreign value", B("x=a\rb; " NAME "=abc"), AG_ERR_REQUEST, 0, NULL},
    {"H-07 twice with a foreign malformed pair between", B(NAME "=abc; x=a,b; " NAME "=def"),
     AG_ERR_AMBIGUOUS, 0, NULL},
    {"H-07 same name twice", B(NAME "=abc; " NAME "=def"), AG_ERR_AMBIGUOUS, 0, NULL},
    {"H-07 same name twice, same value", B(NAME "=abc; a=1; " NAME "=abc"), AG_ERR_AMBIGUOUS, 0,
     NULL},
    {"H-07 twice, one empty", B(NAME "=; " NAME "=abc"), AG_ERR_AMBIGUOUS, 0, NULL},
};

static void check_cookie(const cookie_case *c, const uint8_t *in)
{
    ag_span v = {NULL, 0};
    size_t count = 0;
    ag_err e = ag_http_parse_cookie(in, c->len, (const uint8_t *)NAME, strlen(NAME), &v, &count);
    ck_assert_msg(e == c->want, "%s: got %s want %s", c->rule, ag_err_name(e),
                  ag_err_name(c->want));
    if (e == AG_OK) {
        ck_assert_msg(count == c->count, "%s: count %zu", c->rule, count);
        if (count == 1) {
            size_t n = strlen(c->value);
            ck_assert_msg(v.len == n && (n == 0 || memcmp(v.ptr, c->value, n) == 0), "%s: value",
                          c->rule);
            ck_assert(v.ptr >= in && v.ptr + v.len <= in + c->len); /* zero-copy */
        }
    }
}

START_TEST(cookie_table)
{
    check_cookie(&cookie_cases[_i], cookie_cases[_i].in);
}
END_TEST

START_TEST(cookie_table_guard_page)
{
    const cookie_case *c = &cookie_cases[_i];
    ag_test_guard g;
    const uint8_t *in = ag_test_guard_place(&g, c->in, c->len);
    check_cookie(c, in);
    ag_test_guard_release(&g);
}
END_TEST

/* V-04: name+value ≤ AG_COOKIE_MAX_LEN for every pair, quotes included. */
START_TEST(cookie_size_cap)
{
    size_t nl = strlen(NAME);
    size_t max = nl + 1 + AG_COOKIE_MAX_LEN + 8;
    uint8_t *buf = malloc(max);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, NAME "=", nl + 1);
    memset(buf + nl + 1, 'a', max - nl - 1);
    ag_span v;
    size_t count = 0;
    ag_test_guard g;

    size_t ok_len = nl + 1 + (AG_COOKIE_MAX_LEN - nl);
    const uint8_t *in = ag_test_guard_place(&g, buf, ok_len);
    ck_assert_int_eq(ag_http_parse_cookie(in, ok_len, (const uint8_t *)NAME, nl, &v, &count),
                     AG_OK);
    ck_assert_uint_eq(v.len, AG_COOKIE_MAX_LEN - nl);
    ag_test_guard_release(&g);

    count = 0;
    in = ag_test_guard_place(&g, buf, ok_len + 1);
    ck_assert_int_eq(ag_http_parse_cookie(in, ok_len + 1, (const uint8_t *)NAME, nl, &v, &count),
                     AG_ERR_TOO_LARGE);
    ag_test_guard_release(&g);

    /* another, oversized cookie is not ours: skipped like any foreign pair */
    memcpy(buf, "x=", 2);
    count = 0;
    ck_assert_int_eq(
        ag_http_parse_cookie(buf, AG_COOKIE_MAX_LEN + 2, (const uint8_t *)NAME, nl, &v, &count),
        AG_OK);
    ck_assert_uint_eq(count, 0);
    free(buf);
}
END_TEST

#define H(n, v)                                                                                    \
    {                                                                                              \
        {(const uint8_t *)(n), sizeof(n) - 1},                                                     \
        {                                                                                          \
            (const uint8_t *)(v), sizeof(v) - 1                                                    \
        }                                                                                          \
    }

/* H-08: several Cookie fields are one cookie-string joined with "; ". */
START_TEST(cookie_fields)
{
    ag_span v;
    const uint8_t *name = (const uint8_t *)NAME;
    size_t nl = strlen(NAME);

    const ag_header split[] = {H("Cookie", "a=1"), H("Host", "x"), H("cookie", NAME "=abc")};
    ck_assert_int_eq(ag_http_find_cookie(split, 3, name, nl, &v), AG_OK);
    ck_assert_uint_eq(v.len, 3);

    const ag_header dup[] = {H("Cookie", NAME "=abc"), H("COOKIE", "b=2; " NAME "=abc")};
    ck_assert_int_eq(ag_http_find_cookie(dup, 2, name, nl, &v), AG_ERR_AMBIGUOUS);
    ck_assert_ptr_null(v.ptr);

    /* a malformed foreign pair in another field is skipped; our own name
     * malformed in another field fails the lookup */
    const ag_header foreign_second[] = {H("Cookie", NAME "=abc"), H("Cookie", "x\ty=1; z=a,b")};
    ck_assert_int_eq(ag_http_find_cookie(foreign_second, 2, name, nl, &v), AG_OK);
    ck_assert_uint_eq(v.len, 3);
    const ag_header bad_second[] = {H("Cookie", NAME "=abc"), H("Cookie", "x=1; " NAME "=a,b")};
    ck_assert_int_eq(ag_http_find_cookie(bad_second, 2, name, nl, &v), AG_ERR_REQUEST);
    ck_assert_ptr_null(v.ptr);

    const ag_header empty_field[] = {H("Cookie", ""), H("Cookie", NAME "=abc")};
    ck_assert_int_eq(ag_http_find_cookie(empty_field, 2, name, nl, &v), AG_OK);

    const ag_header none[] = {H("Cookie", "a=1"), H("Set-Cookie", NAME "=abc"),
                              H("X-Cookie", NAME "=abc")};
    ck_assert_int_eq(ag_http_find_cookie(none, 3, name, nl, &v), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(ag_http_find_cookie(NULL, 0, name, nl, &v), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(ag_http_find_cookie(split, 3, name, 0, &v), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_http_find_cookie(split, 3, NULL, nl, &v), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cookie");
    TCase *tc = tcase_create("cookie");
    int n = (int)(sizeof cookie_cases / sizeof cookie_cases[0]);
    tcase_add_loop_test(tc, cookie_table, 0, n);
    tcase_add_loop_test(tc, cookie_table_guard_page, 0, n);
    tcase_add_test(tc, cookie_size_cap);
    tcase_add_test(tc, cookie_fields);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ag_test_run(suite());
}

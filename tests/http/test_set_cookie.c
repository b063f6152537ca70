/* SPDX-License-Identifier: MIT */
/*
 * tests for lib/http/set_cookie.c: Set-Cookie values with the H-09
 * defaults and the cookie-prefix invariants.
 */
#include <string.h>

#include "authgate/http.h"
#include "testsupport.h"

#define NOW 1700000000

static ag_cookie_spec spec(const char *name, const char *value)
{
    ag_cookie_spec s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    s.name = name;
    s.value = (ag_span){(const uint8_t *)value, strlen(value)};
    s.now = NOW;
    s.expires_at = NOW + 900;
    return s;
}

/* H-09: zero defaults are Secure, HttpOnly, SameSite=Strict, Path=/. */
START_TEST(defaults)
{
    char buf[256];
    size_t len = 0;
    ag_cookie_spec s = spec("__Host-refresh", "abc.def");
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, &len), AG_OK);
    ck_assert_str_eq(buf, "__Host-refresh=abc.def; Max-Age=900; Path=/; Secure; HttpOnly; "
                          "SameSite=Strict");
    ck_assert_uint_eq(len, strlen(buf));
}
END_TEST

/* H-09: the CSRF cookie is readable by scripts (no HttpOnly). */
START_TEST(csrf_cookie)
{
    char buf[256];
    ag_cookie_spec s = spec("__Host-csrf", "tok");
    s.script_readable = true;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_OK);
    ck_assert_str_eq(buf, "__Host-csrf=tok; Max-Age=900; Path=/; Secure; SameSite=Strict");
}
END_TEST

START_TEST(clear)
{
    char buf[256];
    ag_cookie_spec s = spec("__Host-refresh", "ignored");
    s.expires_at = 0;
    ck_assert_int_eq(ag_set_cookie_clear(&s, buf, sizeof buf, NULL), AG_OK);
    ck_assert_str_eq(buf, "__Host-refresh=; Max-Age=0; Path=/; Secure; HttpOnly; "
                          "SameSite=Strict");
}
END_TEST

START_TEST(options)
{
    char buf[256];
    ag_cookie_spec s = spec("session", "v");
    s.path = "/app";
    s.domain = "example.com";
    s.insecure = true;
    s.same_site = AG_SAMESITE_LAX;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_OK);
    ck_assert_str_eq(buf, "session=v; Max-Age=900; Path=/app; Domain=example.com; HttpOnly; "
                          "SameSite=Lax");
    s = spec("__Secure-x", "v");
    s.domain = "example.com";
    s.same_site = AG_SAMESITE_NONE;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_OK);
    ck_assert_str_eq(buf, "__Secure-x=v; Max-Age=900; Path=/; Domain=example.com; Secure; "
                          "HttpOnly; SameSite=None");
}
END_TEST

/* H-09 and 6265bis prefixes: what the browser would drop is refused. */
START_TEST(invariants)
{
    char buf[256];
    ag_cookie_spec s = spec("__Host-refresh", "v");
    s.domain = "example.com";
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(buf, "");
    s = spec("__Host-refresh", "v");
    s.path = "/api";
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s.path = "/";
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_OK);
    s = spec("__Host-refresh", "v");
    s.insecure = true;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s = spec("__host-refresh", "v"); /* prefix matched case-insensitively */
    s.insecure = true;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s = spec("__Secure-x", "v");
    s.insecure = true;
    ck_assert_int_eq(ag_set_cookie_clear(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s = spec("x", "v");
    s.insecure = true;
    s.same_site = AG_SAMESITE_NONE;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s = spec("x", "v");
    s.same_site = (ag_samesite)7;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s = spec("x", "v");
    s.path = "/a;b";
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s.path = "a";
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s = spec("x", "v");
    s.domain = "evil.com; Secure";
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

/* H-06: values outside cookie-octet, and bad names, are refused. */
START_TEST(bad_names_and_values)
{
    char buf[256];
    static const char *const bad_values[] = {"a b",  "a;b",  "a,b",      "a\"b",
                                             "a\\b", "a\tb", "\xc3\xa9", "\"quoted\""};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        ag_cookie_spec s = spec("__Host-refresh", bad_values[i]);
        ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    }
    ag_cookie_spec s = spec("__Host-refresh", "ab");
    const uint8_t nul[] = {'a', 0, 'b'};
    s.value = (ag_span){nul, 3};
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    static const char *const bad_names[] = {"", "a b", "a=b", "a;b", "a\"", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        s = spec(bad_names[i], "v");
        ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    }
    s = spec("x", "v");
    s.name = NULL;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_set_cookie_build(NULL, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

/* Max-Age from the token's expiry; an expired token sets nothing. */
START_TEST(max_age)
{
    char buf[256];
    ag_cookie_spec s = spec("__Host-refresh", "v");
    s.expires_at = NOW + 1209600;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_OK);
    ck_assert_ptr_nonnull(strstr(buf, "; Max-Age=1209600;"));
    s.expires_at = NOW;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s.expires_at = NOW - 1;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_INVALID_ARGUMENT);
    s.now = 0; /* system clock: a far expiry still works */
    s.expires_at = INT64_C(253402300799);
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_OK);
}
END_TEST

/* V-04 and buffer capacity: all or nothing. */
START_TEST(sizes)
{
    static char value[AG_COOKIE_MAX_LEN + 1];
    static char buf[AG_COOKIE_MAX_LEN + 256];
    memset(value, 'a', sizeof value - 1);
    ag_cookie_spec s = spec("__Host-refresh", "");
    size_t nl = strlen(s.name);
    s.value = (ag_span){(const uint8_t *)value, AG_COOKIE_MAX_LEN - nl};
    size_t len = 0;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, &len), AG_OK);
    s.value.len++;
    ck_assert_int_eq(ag_set_cookie_build(&s, buf, sizeof buf, NULL), AG_ERR_TOO_LARGE);

    s = spec("__Host-refresh", "abc");
    char small[256];
    ck_assert_int_eq(ag_set_cookie_build(&s, small, sizeof small, &len), AG_OK);
    size_t need = len + 1;
    for (size_t cap = 1; cap < need; cap++) {
        ck_assert_int_eq(ag_set_cookie_build(&s, small, cap, &len), AG_ERR_BUFFER);
        ck_assert_uint_eq(len, 0);
        ck_assert_int_eq(small[0], 0);
    }
    ck_assert_int_eq(ag_set_cookie_build(&s, small, need, &len), AG_OK);
    ck_assert_int_eq(ag_set_cookie_build(&s, small, 0, &len), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("set_cookie");
    TCase *tc = tcase_create("set_cookie");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, csrf_cookie);
    tcase_add_test(tc, clear);
    tcase_add_test(tc, options);
    tcase_add_test(tc, invariants);
    tcase_add_test(tc, bad_names_and_values);
    tcase_add_test(tc, max_age);
    tcase_add_test(tc, sizes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ag_test_run(suite());
}

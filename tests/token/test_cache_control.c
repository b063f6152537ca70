/* SPDX-License-Identifier: MIT */
/*
 * Tests for lib/token/cache_control.c: the max-age a remote JWKS response
 * asks for (RFC 9111 §5.2, §5.2.2.1), read from one header line as libcurl
 * hands it over.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "testsupport.h"
#include "token/token_int.h"

static int64_t age(const char *line)
{
    return ag__cache_max_age(line, strlen(line));
}

START_TEST(reads_max_age)
{
    ck_assert_int_eq(age("Cache-Control: max-age=300\r\n"), 300);
    ck_assert_int_eq(age("cache-control:max-age=0\r\n"), 0);
    ck_assert_int_eq(age("CACHE-CONTROL: public, MAX-AGE=60, must-revalidate\r\n"), 60);
    ck_assert_int_eq(age("Cache-Control: no-transform,max-age=7"), 7);
    ck_assert_int_eq(age("Cache-Control:\t public ,\tmax-age=15 \t, private\r\n"), 15);
    /* the first max-age counts (RFC 9111 §4.2.1) */
    ck_assert_int_eq(age("Cache-Control: max-age=5, max-age=500\r\n"), 5);
    /* a number too long for any clock saturates instead of wrapping */
    ck_assert_int_eq(age("Cache-Control: max-age=99999999999999999999999\r\n"),
                     AG__CACHE_MAX_AGE_CAP);
}
END_TEST

START_TEST(refuses_what_is_not_max_age)
{
    /* other fields, and field names that only start the same */
    ck_assert_int_eq(age("Expires: max-age=300\r\n"), -1);
    ck_assert_int_eq(age("Cache-Controlx: max-age=300\r\n"), -1);
    ck_assert_int_eq(age("X-Cache-Control: max-age=300\r\n"), -1);
    /* directives that merely contain the name */
    ck_assert_int_eq(age("Cache-Control: x-max-age=300\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control: s-maxage=300\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control: max-agex=300\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control: x-max-age=1, max-age=30\r\n"), 30);
    /* not a delta-seconds */
    ck_assert_int_eq(age("Cache-Control: max-age=\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control: max-age=-5\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control: max-age=12abc\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control: max-age=\"60\"\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control: max-age = 60\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control: no-store\r\n"), -1);
    ck_assert_int_eq(age("Cache-Control:"), -1);
    ck_assert_int_eq(age(""), -1);
    ck_assert_int_eq(ag__cache_max_age(NULL, 0), -1);
    /* bytes past n are never read */
    ck_assert_int_eq(ag__cache_max_age("Cache-Control: max-age=3000", 24), 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache_control");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reads_max_age);
    tcase_add_test(tc, refuses_what_is_not_max_age);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

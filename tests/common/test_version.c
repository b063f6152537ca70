/* SPDX-License-Identifier: MIT */
/*
 * ag_version() and the AG_VERSION_* macros agree with each other and with
 * the version in project() of the top-level CMakeLists.txt, read here from
 * the source tree (not from what CMake passed), so a hand-edited header or
 * a stale generated one fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/authgate.h"
#include "testsupport.h"

/* "project(authgate VERSION x.y.z" from the top-level CMakeLists.txt */
static void project_version(char *out, size_t cap)
{
    size_t len = 0;
    char *text = ag_test_read_file(AG_SOURCE_DIR "/CMakeLists.txt", &len);
    ck_assert_ptr_nonnull(text);
    const char *p = strstr(text, "project(authgate VERSION ");
    ck_assert_ptr_nonnull(p);
    p += strlen("project(authgate VERSION ");
    size_t n = strspn(p, "0123456789.");
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(n, cap);
    memcpy(out, p, n);
    out[n] = '\0';
    free(text);
}

START_TEST(runtime_matches_project)
{
    char want[32];
    project_version(want, sizeof want);
    ck_assert_str_eq(ag_version(), want);
    ck_assert_str_eq(AG_VERSION_STRING, want);
}
END_TEST

START_TEST(number_matches_parts)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", AG_VERSION_MAJOR, AG_VERSION_MINOR, AG_VERSION_PATCH);
    ck_assert_str_eq(buf, ag_version());
    unsigned long n = ag_version_number();
    ck_assert_uint_eq(n, (unsigned long)AG_VERSION_NUMBER);
    ck_assert_uint_eq(n / 10000, (unsigned long)AG_VERSION_MAJOR);
    ck_assert_uint_eq(n / 100 % 100, (unsigned long)AG_VERSION_MINOR);
    ck_assert_uint_eq(n % 100, (unsigned long)AG_VERSION_PATCH);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("version");
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, runtime_matches_project);
    tcase_add_test(tc, number_matches_parts);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

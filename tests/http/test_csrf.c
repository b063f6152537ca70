/* SPDX-License-Identifier: MIT */
/*
 * tests for lib/http/csrf.c: session-bound CSRF tokens (C-02). The request
 * checks (C-01) run in test_http_auth.c's table.
 */
#include <string.h>

#include "authgate/http.h"
#include "testsupport.h"

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t secret2[32] = "fedcba9876543210fedcba9876543210";
#define SID (const uint8_t *)"sid-1", 5

START_TEST(csrf_roundtrip)
{
    char a[AG_CSRF_TOKEN_LEN + 1], b[AG_CSRF_TOKEN_LEN + 1];
    ck_assert_int_eq(ag_csrf_token_make(secret, 32, SID, a), AG_OK);
    ck_assert_int_eq(ag_csrf_token_make(secret, 32, SID, b), AG_OK);
    ck_assert_uint_eq(strlen(a), AG_CSRF_TOKEN_LEN);
    ck_assert_str_ne(a, b); /* fresh randomness each time */
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, (const uint8_t *)a, 43), AG_OK);
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, (const uint8_t *)b, 43), AG_OK);
}
END_TEST

/* C-02: a token of another session or secret fails. */
START_TEST(csrf_bound_to_session)
{
    char a[AG_CSRF_TOKEN_LEN + 1];
    ck_assert_int_eq(ag_csrf_token_make(secret, 32, SID, a), AG_OK);
    const uint8_t *t = (const uint8_t *)a;
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, (const uint8_t *)"sid-2", 5, t, 43),
                     AG_ERR_CSRF);
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, (const uint8_t *)"sid-", 4, t, 43),
                     AG_ERR_CSRF);
    ck_assert_int_eq(ag_csrf_token_check(secret2, 32, SID, t, 43), AG_ERR_CSRF);
}
END_TEST

START_TEST(csrf_malformed)
{
    char a[AG_CSRF_TOKEN_LEN + 1];
    ck_assert_int_eq(ag_csrf_token_make(secret, 32, SID, a), AG_OK);
    uint8_t t[64];
    memcpy(t, a, 43);
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, t, 42), AG_ERR_CSRF); /* short */
    t[43] = 'A';
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, t, 44), AG_ERR_CSRF); /* long */
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, t, 0), AG_ERR_CSRF);
    /* every single-byte change fails: MAC bytes, random bytes, alphabet */
    for (size_t i = 0; i < 43; i++) {
        memcpy(t, a, 43);
        t[i] = (uint8_t)(t[i] == 'A' ? 'B' : 'A');
        ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, t, 43), AG_ERR_CSRF);
        t[i] = '=';
        ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, t, 43), AG_ERR_CSRF);
    }
    /* V-05: the last character's unused bits must be zero (one spelling) */
    memcpy(t, a, 43);
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *pos = strchr(alpha, t[42]);
    ck_assert_ptr_nonnull(pos);
    t[42] = (uint8_t)alpha[((size_t)(pos - alpha)) ^ 1u];
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, t, 43), AG_ERR_CSRF);
}
END_TEST

START_TEST(csrf_arguments)
{
    char a[AG_CSRF_TOKEN_LEN + 1];
    ck_assert_int_eq(ag_csrf_token_make(secret, 31, SID, a), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_csrf_token_make(NULL, 32, SID, a), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_csrf_token_make(secret, 32, (const uint8_t *)"", 0, a),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_csrf_token_make(secret, 32, SID, NULL), AG_ERR_INVALID_ARGUMENT);
    uint8_t big[257] = {0};
    ck_assert_int_eq(ag_csrf_token_make(secret, 32, big, sizeof big, a), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_csrf_token_make(secret, 32, big, 256, a), AG_OK);
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, big, 256, (const uint8_t *)a, 43), AG_OK);
    ck_assert_int_eq(ag_csrf_token_check(secret, 16, SID, (const uint8_t *)a, 43),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_csrf_token_check(secret, 32, SID, NULL, 43), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("csrf");
    TCase *tc = tcase_create("csrf");
    tcase_add_test(tc, csrf_roundtrip);
    tcase_add_test(tc, csrf_bound_to_session);
    tcase_add_test(tc, csrf_malformed);
    tcase_add_test(tc, csrf_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ag_test_run(suite());
}

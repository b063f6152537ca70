/* SPDX-License-Identifier: MIT */
/*
 * tests for lib/http/http_status.c: the ag_err → HTTP mapping for every
 * code (docs/security.md §5, H-05, docs/http.md) and WWW-Authenticate (RFC 6750
 * §3) with quoted-string escaping; no token bytes on the wire (V-18).
 */
#include <string.h>

#include "authgate/http.h"
#include "testsupport.h"

typedef struct row {
    ag_err err;
    unsigned res_status;
    const char *res_error;
    unsigned ref_status;
    const char *ref_error;
} row;

/* docs/security.md §5: one row per class, resource then refresh endpoint. */
static const row rows[] = {
    {AG_OK, 200, NULL, 200, NULL},
    {AG_ERR_NO_CREDENTIALS, 401, NULL, 401, "invalid_grant"},
    {AG_ERR_AMBIGUOUS, 400, "invalid_request", 400, "invalid_request"},
    {AG_ERR_REQUEST, 400, "invalid_request", 400, "invalid_request"},
    {AG_ERR_URL_CREDENTIALS, 400, "invalid_request", 400, "invalid_request"},
    {AG_ERR_TOO_LARGE, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_MALFORMED, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_ALG, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_HEADER, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_KEY, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_SIGNATURE, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_EXPIRED, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_NOT_YET_VALID, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_CLAIM, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_WRONG_TYPE, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_UNKNOWN, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_REVOKED, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_REUSED, 401, "invalid_token", 401, "invalid_grant"},
    {AG_ERR_CSRF, 403, "invalid_request", 403, "invalid_request"},
    {AG_ERR_STORE, 503, "server_error", 503, "server_error"},
    {AG_ERR_STORE_FULL, 503, "server_error", 503, "server_error"},
    {AG_ERR_NOMEM, 503, "server_error", 503, "server_error"},
    {AG_ERR_STORE_VERSION, 500, "server_error", 500, "server_error"},
    {AG_ERR_INVALID_ARGUMENT, 500, "server_error", 500, "server_error"},
    {AG_ERR_BUFFER, 500, "server_error", 500, "server_error"},
    {AG_ERR_CRYPTO, 500, "server_error", 500, "server_error"},
    {AG_ERR_WEAK_KEY, 500, "server_error", 500, "server_error"},
    {AG_ERR_KEY_FORMAT, 500, "server_error", 500, "server_error"},
    {AG_ERR_NOT_FOUND, 500, "server_error", 500, "server_error"},
    {AG_ERR_EXISTS, 500, "server_error", 500, "server_error"},
    {AG_ERR_STATE, 500, "server_error", 500, "server_error"},
};

static void same_str(const char *got, const char *want, int code)
{
    if (want == NULL)
        ck_assert_msg(got == NULL, "code %d: error should be absent", code);
    else
        ck_assert_msg(got != NULL && strcmp(got, want) == 0, "code %d: error %s", code,
                      got != NULL ? got : "(null)");
}

/* Every ag_err value has exactly one row, and the row holds. */
START_TEST(every_error_mapped)
{
    size_t n = sizeof rows / sizeof rows[0];
    ck_assert_uint_eq(n, AG_ERR_COUNT_);
    for (int code = 0; code < AG_ERR_COUNT_; code++) {
        const row *r = NULL;
        for (size_t i = 0; i < n; i++)
            if ((int)rows[i].err == code)
                r = &rows[i];
        ck_assert_msg(r != NULL, "no row for %s", ag_err_name((ag_err)code));
        ag_http_error a = ag_http_error_for((ag_err)code, AG_ENDPOINT_RESOURCE);
        ag_http_error b = ag_http_error_for((ag_err)code, AG_ENDPOINT_REFRESH);
        ck_assert_msg(a.status == r->res_status, "%s: resource %u", ag_err_name((ag_err)code),
                      a.status);
        ck_assert_msg(b.status == r->ref_status, "%s: refresh %u", ag_err_name((ag_err)code),
                      b.status);
        same_str(a.error, r->res_error, code);
        same_str(b.error, r->ref_error, code);
        ck_assert_ptr_nonnull(a.description);
        ck_assert_ptr_nonnull(b.description);
        /* H-05: WWW-Authenticate exactly on 401 at a resource */
        ck_assert(a.www_authenticate == (a.status == 401));
        ck_assert(!b.www_authenticate);
        /* the description is static text we can quote */
        for (const char *d = a.description; *d; d++)
            ck_assert(*d >= 0x20 && *d < 0x7f && *d != '"' && *d != '\\');
    }
    /* out-of-range values fail closed */
    ck_assert_uint_eq(ag_http_error_for((ag_err)999, AG_ENDPOINT_RESOURCE).status, 500);
    ck_assert_uint_eq(ag_http_error_for((ag_err)-1, AG_ENDPOINT_REFRESH).status, 500);
    ck_assert_str_eq(ag_http_error_for(AG_ERR_URL_CREDENTIALS, AG_ENDPOINT_RESOURCE).description,
                     "credentials in the URL are not accepted");
}
END_TEST

START_TEST(www_authenticate)
{
    char buf[512];
    size_t len = 0;
    /* H-05: no credentials → no error attribute */
    ck_assert_int_eq(
        ag_www_authenticate_for("authgate-demo", AG_ERR_NO_CREDENTIALS, buf, sizeof buf, &len),
        AG_OK);
    ck_assert_str_eq(buf, "Bearer realm=\"authgate-demo\"");
    ck_assert_uint_eq(len, strlen(buf));
    ck_assert_int_eq(
        ag_www_authenticate_for("authgate-demo", AG_ERR_EXPIRED, buf, sizeof buf, NULL), AG_OK);
    ck_assert_str_eq(buf, "Bearer realm=\"authgate-demo\", error=\"invalid_token\", "
                          "error_description=\"the access token is invalid or expired\"");
    ck_assert_int_eq(ag_www_authenticate_for("r", AG_ERR_AMBIGUOUS, buf, sizeof buf, NULL), AG_OK);
    ck_assert_ptr_nonnull(strstr(buf, "error=\"invalid_request\""));

    /* quoted-string escaping */
    ck_assert_int_eq(
        ag_www_authenticate_build("a \"b\" \\c", "invalid_token", "x\"y", buf, sizeof buf, NULL),
        AG_OK);
    ck_assert_str_eq(buf, "Bearer realm=\"a \\\"b\\\" \\\\c\", error=\"invalid_token\", "
                          "error_description=\"x\\\"y\"");
    /* no description */
    ck_assert_int_eq(ag_www_authenticate_build("r", "invalid_token", NULL, buf, sizeof buf, NULL),
                     AG_OK);
    ck_assert_str_eq(buf, "Bearer realm=\"r\", error=\"invalid_token\"");
    /* refused: controls (header injection), non-ASCII, bad error codes */
    ck_assert_int_eq(
        ag_www_authenticate_build("r\r\nSet-Cookie: x=y", NULL, NULL, buf, sizeof buf, NULL),
        AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_www_authenticate_build("r", "bad\"code", NULL, buf, sizeof buf, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_www_authenticate_build("r", "", NULL, buf, sizeof buf, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_www_authenticate_build("r", "e", "caf\xc3\xa9", buf, sizeof buf, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_www_authenticate_build(NULL, NULL, NULL, buf, sizeof buf, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    /* capacity: all or nothing */
    ck_assert_int_eq(ag_www_authenticate_build("realm", NULL, NULL, buf, 15, &len), AG_ERR_BUFFER);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(buf[0], 0);
    ck_assert_int_eq(ag_www_authenticate_build("realm", NULL, NULL, buf, 21, &len), AG_OK);
    ck_assert_uint_eq(len, 20);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http_status");
    TCase *tc = tcase_create("status");
    tcase_add_test(tc, every_error_mapped);
    tcase_add_test(tc, www_authenticate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ag_test_run(suite());
}

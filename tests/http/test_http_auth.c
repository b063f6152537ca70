/* SPDX-License-Identifier: MIT */
/*
 * tests for lib/http/http_auth.c: the adversarial request table (H-01…H-08,
 * C-01, C-02, V-04, V-12, M-02, M-06; its rows are in http_auth_table.c,
 * run here), the credential call without verification, the policy
 * object, and the zero-allocation hot path.
 *
 * Tokens are real: HS256 access and refresh tokens issued at start-up, so
 * every accepted row went through ag_verify.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/http.h"
#include "common/common_int.h"
#include "http/http_int.h"
#include "http_auth_table.h"
#include "http_fixture.h"
#include "testsupport.h"

/* ---- fixtures ----------------------------------------------------------- */

static ag_test_http fx;
static char csrf_ok2[AG_CSRF_TOKEN_LEN + 1], csrf_other[AG_CSRF_TOKEN_LEN + 1];

static void fixtures(void)
{
    ag_test_http_init(&fx);
    const uint8_t *sid = (const uint8_t *)AG_TEST_HTTP_SID;
    ck_assert_int_eq(
        ag_csrf_token_make(ag_test_http_csrf_secret, 32, sid, strlen(AG_TEST_HTTP_SID), csrf_ok2),
        AG_OK);
    ck_assert_int_eq(ag_csrf_token_make(ag_test_http_csrf_secret, 32, (const uint8_t *)"family-2",
                                        8, csrf_other),
                     AG_OK);
}

static void teardown_fixtures(void)
{
    ag_test_http_free(&fx);
}

/* ---- the adversarial table (its rows: http_auth_table.c) ------------- */

/* Expands placeholders into arena: @AT @RT tokens, @CS @C2 CSRF tokens of
 * the session, @CX of another session, @CT a truncated one, @0 a NUL,
 * @BIG 9000 bytes, @HUGE 4100 bytes. */
static size_t expand(const char *t, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*t != '\0') {
        const char *rep = NULL;
        size_t rlen = 0, skip = 1, fill = 0;
        if (t[0] == '@') {
            if (strncmp(t, "@AT", 3) == 0)
                rep = fx.tok_at, skip = 3;
            else if (strncmp(t, "@RT", 3) == 0)
                rep = fx.tok_rt, skip = 3;
            else if (strncmp(t, "@CS", 3) == 0)
                rep = fx.csrf, skip = 3;
            else if (strncmp(t, "@C2", 3) == 0)
                rep = csrf_ok2, skip = 3;
            else if (strncmp(t, "@CX", 3) == 0)
                rep = csrf_other, skip = 3;
            else if (strncmp(t, "@CT", 3) == 0)
                rep = fx.csrf, rlen = AG_CSRF_TOKEN_LEN - 1, skip = 3;
            else if (strncmp(t, "@0", 2) == 0)
                rep = "\0", rlen = 1, skip = 2;
            else if (strncmp(t, "@BIG", 4) == 0)
                fill = 9000, skip = 4;
            else if (strncmp(t, "@HUGE", 5) == 0)
                fill = 4100, skip = 5;
        }
        if (rep != NULL && rlen == 0)
            rlen = strlen(rep);
        if (rep == NULL && fill == 0) {
            rep = t;
            rlen = 1;
        }
        ck_assert(n + rlen + fill < cap);
        if (fill > 0)
            memset(out + n, 'a', fill), n += fill;
        else
            memcpy(out + n, rep, rlen), n += rlen;
        t += skip;
    }
    return n;
}

static ag_http_policy *pol_cookie, *pol_origin;

static void policies(void)
{
    ag_http_policy_config c = AG_INIT(ag_http_policy_config);
    c.access_sources = AG_SOURCE_HEADER | AG_SOURCE_COOKIE;
    ck_assert_int_eq(ag_http_policy_new(&c, &pol_cookie), AG_OK);
    static const char *const origins[] = {"https://app.example", "https://other.example"};
    ag_http_policy_config o = AG_INIT(ag_http_policy_config);
    o.origins = origins;
    o.norigins = 2;
    o.allow_same_site = true;
    ck_assert_int_eq(ag_http_policy_new(&o, &pol_origin), AG_OK);
}

static ag_claims claims = AG_INIT(ag_claims);

static ag_err run_case(const req_case *c, ag_http_credential *cred)
{
    static uint8_t arena[64 * 1024];
    ag_header h[6];
    size_t nh = 0, used = 0;
    for (size_t i = 0; i < 6 && c->h[i] != NULL; i++) {
        const char *colon = strchr(c->h[i], ':');
        ck_assert_ptr_nonnull(colon);
        size_t nl = (size_t)(colon - c->h[i]);
        memcpy(arena + used, c->h[i], nl);
        h[nh].name = (ag_span){arena + used, nl};
        used += nl;
        size_t vl = expand(colon + 1, arena + used, sizeof arena - used);
        h[nh].value = (ag_span){arena + used, vl};
        used += vl;
        nh++;
    }
    size_t ql = expand(c->query, arena + used, sizeof arena - used);
    ag_http_request req = AG_INIT(ag_http_request);
    req.method = (ag_span){(const uint8_t *)c->method, strlen(c->method)};
    req.headers = h;
    req.nheaders = nh;
    req.query = (ag_span){arena + used, ql};
    switch (c->m) {
    case M_A:
        return ag_http_authenticate(NULL, fx.v_access, &req, AG_TEST_SCRATCH(&claims), &claims);
    case M_AC:
        return ag_http_authenticate(pol_cookie, fx.v_access, &req, AG_TEST_SCRATCH(&claims),
                                    &claims);
    case M_R:
        return ag_http_refresh_verify(NULL, fx.v_refresh, ag_test_http_csrf_secret, 32, &req,
                                      AG_TEST_SCRATCH(&claims), cred, &claims);
    case M_RO:
    default:
        return ag_http_refresh_verify(pol_origin, fx.v_refresh, ag_test_http_csrf_secret, 32, &req,
                                      AG_TEST_SCRATCH(&claims), cred, &claims);
    }
}

START_TEST(request_table)
{
    const req_case *c = &http_auth_cases[_i];
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ag_err e = run_case(c, &cred);
    ck_assert_msg(e == c->want, "[%d] %s: got %s want %s", _i, c->rule, ag_err_name(e),
                  ag_err_name(c->want));
    if (e == AG_OK) {
        ck_assert(ag__span_eq_str(claims.sub, "alice"));
        if (c->m == M_R || c->m == M_RO) {
            ck_assert_msg(cred.source == c->src, "%s: channel", c->rule);
            ck_assert(ag__span_eq_str(cred.token, fx.tok_rt));
            ck_assert_uint_eq(cred.csrf.len, c->src == AG_SOURCE_COOKIE ? AG_CSRF_TOKEN_LEN : 0);
        }
    }
    /* claims count as verified (for ag_session_refresh_verified) only on
     * AG_OK: a CSRF proof bound to another session fails after the token
     * itself verified, and must not leave usable claims behind */
    if (c->m == M_R || c->m == M_RO)
        ck_assert_msg((claims.verifier_ != NULL) == (e == AG_OK), "%s: claims marked", c->rule);
}
END_TEST

/* The table is at least 60 rows and each rule family is present. */
START_TEST(table_coverage)
{
    size_t n = http_auth_ncases;
    ck_assert_uint_ge(n, 60);
    static const char *const rules[] = {"H-01", "H-02", "H-03", "H-04", "H-05", "H-06", "H-07",
                                        "H-08", "C-01", "C-02", "V-04", "V-12", "M-06"};
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        size_t hits = 0;
        for (size_t i = 0; i < n; i++)
            hits += strncmp(http_auth_cases[i].rule, rules[r], 4) == 0;
        ck_assert_msg(hits > 0, "no row for %s", rules[r]);
    }
}
END_TEST

/* ---- the credential call without verification ------------------------- */

#define H(n, v)                                                                                    \
    {                                                                                              \
        {(const uint8_t *)(n), sizeof(n) - 1},                                                     \
        {                                                                                          \
            (const uint8_t *)(v), sizeof(v) - 1                                                    \
        }                                                                                          \
    }

START_TEST(refresh_credential_views)
{
    const ag_header h[] = {H("Authorization", "Bearer abc.def.ghi")};
    ag_http_request req = AG_INIT(ag_http_request);
    req.headers = h;
    req.nheaders = 1;
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ck_assert_int_eq(ag__http_refresh_credential(NULL, &req, &cred), AG_OK);
    ck_assert_int_eq(cred.source, AG_SOURCE_HEADER);
    ck_assert(cred.token.ptr == h[0].value.ptr + 7); /* zero-copy */
    ck_assert_uint_eq(cred.token.len, 11);

    /* policy: refresh from the cookie only — Authorization is then ignored */
    ag_http_policy_config c = AG_INIT(ag_http_policy_config);
    c.refresh_sources = AG_SOURCE_COOKIE;
    ag_http_policy *p = NULL;
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_OK);
    ck_assert_int_eq(ag__http_refresh_credential(p, &req, &cred), AG_ERR_NO_CREDENTIALS);
    ag_http_policy_free(p);

    ck_assert_int_eq(ag__http_refresh_credential(NULL, NULL, &cred), AG_ERR_INVALID_ARGUMENT);
    req.headers = NULL;
    ck_assert_int_eq(ag__http_refresh_credential(NULL, &req, &cred), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

/* C-02: ag_http_refresh_verify needs a CSRF secret when cookies are allowed. */
START_TEST(refresh_verify_needs_secret)
{
    ag_http_request req = AG_INIT(ag_http_request);
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ck_assert_int_eq(ag_http_refresh_verify(NULL, fx.v_refresh, NULL, 0, &req,
                                            AG_TEST_SCRATCH(&claims), &cred, &claims),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_http_refresh_verify(NULL, fx.v_refresh, ag_test_http_csrf_secret, 16, &req,
                                            AG_TEST_SCRATCH(&claims), &cred, &claims),
                     AG_ERR_INVALID_ARGUMENT);
    ag_http_policy_config c = AG_INIT(ag_http_policy_config);
    c.refresh_sources = AG_SOURCE_HEADER;
    ag_http_policy *p = NULL;
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_OK);
    ck_assert_int_eq(ag_http_refresh_verify(p, fx.v_refresh, NULL, 0, &req,
                                            AG_TEST_SCRATCH(&claims), &cred, &claims),
                     AG_ERR_NO_CREDENTIALS);
    ag_http_policy_free(p);
}
END_TEST

/* Claims from an earlier request stop counting as verified the moment a
 * later call with them fails, whatever step refused it (http.h): a caller
 * that reuses one ag_claims per thread must not rotate with stale claims. */
START_TEST(failure_unverifies_reused_claims)
{
    char bearer[AG_TOKEN_MAX_LEN + 16];
    int n = snprintf(bearer, sizeof bearer, "Bearer %s", fx.tok_rt);
    ag_header good[] = {
        {{(const uint8_t *)"Authorization", 13}, {(const uint8_t *)bearer, (size_t)n}}};
    ag_http_request req = AG_INIT(ag_http_request);
    req.method = (ag_span){(const uint8_t *)"POST", 4};
    req.headers = good;
    req.nheaders = 1;
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ag_claims c = AG_INIT(ag_claims);
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    ck_assert_int_eq(ag_http_refresh_verify(NULL, fx.v_refresh, ag_test_http_csrf_secret, 32, &req,
                                            scratch, sizeof scratch, &cred, &c),
                     AG_OK);
    ck_assert_ptr_nonnull(c.verifier_);
    /* no credential at all: refused before any verify */
    req.nheaders = 0;
    ck_assert_int_eq(ag_http_refresh_verify(NULL, fx.v_refresh, ag_test_http_csrf_secret, 32, &req,
                                            scratch, sizeof scratch, &cred, &c),
                     AG_ERR_NO_CREDENTIALS);
    ck_assert_ptr_null(c.verifier_);
    /* the same for the access side */
    n = snprintf(bearer, sizeof bearer, "Bearer %s", fx.tok_at);
    good[0].value.len = (size_t)n;
    req.nheaders = 1;
    ck_assert_int_eq(ag_http_authenticate(NULL, fx.v_access, &req, scratch, sizeof scratch, &c),
                     AG_OK);
    ck_assert_ptr_nonnull(c.verifier_);
    req.query = (ag_span){(const uint8_t *)"access_token=x", 14};
    ck_assert_int_eq(ag_http_authenticate(NULL, fx.v_access, &req, scratch, sizeof scratch, &c),
                     AG_ERR_URL_CREDENTIALS);
    ck_assert_ptr_null(c.verifier_);
}
END_TEST

/* A request struct shorter than the library's is refused, not read with
 * its missing members as zero: a short size would skip the URL check. */
START_TEST(short_request_is_refused)
{
    ag_http_request req = AG_INIT(ag_http_request);
    req.query = (ag_span){(const uint8_t *)"access_token=x", 14};
    ag_claims c = AG_INIT(ag_claims);
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    ck_assert_int_eq(ag_http_authenticate(NULL, fx.v_access, &req, scratch, sizeof scratch, &c),
                     AG_ERR_URL_CREDENTIALS);
    req.size = offsetof(ag_http_request, query);
    ck_assert_int_eq(ag_http_authenticate(NULL, fx.v_access, &req, scratch, sizeof scratch, &c),
                     AG_ERR_INVALID_ARGUMENT);
    req.size = (size_t)1 << 40; /* garbage: refused before any byte past the struct is read */
    ck_assert_int_eq(ag_http_authenticate(NULL, fx.v_access, &req, scratch, sizeof scratch, &c),
                     AG_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- the policy object ------------------------------------------------- */

START_TEST(policy_validation)
{
    ag_http_policy *p = (ag_http_policy *)1;
    ag_http_policy_config c = AG_INIT(ag_http_policy_config);
    ck_assert_int_eq(ag_http_policy_new(NULL, &p), AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(ag_http_policy_new(&c, NULL), AG_ERR_INVALID_ARGUMENT);

    c.access_sources = 4;
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_ERR_INVALID_ARGUMENT);
    c.access_sources = 0;

    /* H-09: credential cookies carry a browser-enforced prefix */
    c.refresh_cookie = "refresh";
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_ERR_INVALID_ARGUMENT);
    c.refresh_cookie = "__Host-re fresh";
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_ERR_INVALID_ARGUMENT);
    c.refresh_cookie = "__Secure-refresh";
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_OK);
    ag_http_policy_free(p);
    c.refresh_cookie = NULL;

    c.csrf_header = "X-CSRF Token";
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_ERR_INVALID_ARGUMENT);
    c.csrf_header = "X-XSRF-Token";
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_OK);
    const uint8_t hn[] = "x-xsrf-token";
    ck_assert(ag_http_policy_wants_header(p, hn, sizeof hn - 1));
    ck_assert(!ag_http_policy_wants_header(NULL, hn, sizeof hn - 1));
    ag_http_policy_free(p);
    c.csrf_header = NULL;

    const char *bad_origins[] = {""};
    c.origins = bad_origins;
    c.norigins = 1;
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_ERR_INVALID_ARGUMENT);
    c.origins = NULL;
    ck_assert_int_eq(ag_http_policy_new(&c, &p), AG_ERR_INVALID_ARGUMENT);
    ag_http_policy_free(NULL);

    static const char *const wanted[] = {"Authorization", "cookie",         "HOST",
                                         "Origin",        "sec-fetch-site", "X-CSRF-Token"};
    for (size_t i = 0; i < 6; i++)
        ck_assert(ag_http_policy_wants_header(NULL, (const uint8_t *)wanted[i], strlen(wanted[i])));
    ck_assert(!ag_http_policy_wants_header(NULL, (const uint8_t *)"Accept", 6));
}
END_TEST

/* ---- zero allocations on the hot path (DESIGN: allocs_per_op = 0) ------ */

START_TEST(hot_path_allocates_nothing)
{
    char value[AG_TOKEN_MAX_LEN + 16];
    int n = snprintf(value, sizeof value, "Bearer %s", fx.tok_at);
    ag_header h[] = {H("Host", "app.example"),
                     H("Accept", "*/*"),
                     {{(const uint8_t *)"Authorization", 13}, {(const uint8_t *)value, (size_t)n}}};
    ag_http_request req = AG_INIT(ag_http_request);
    req.method = (ag_span){(const uint8_t *)"GET", 3};
    req.headers = h;
    req.nheaders = 3;
    req.query = (ag_span){(const uint8_t *)"a=1&b=2", 7};
    ck_assert_int_eq(
        ag_http_authenticate(NULL, fx.v_access, &req, AG_TEST_SCRATCH(&claims), &claims),
        AG_OK); /* warm */
    ag_test_alloc_reset();
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(
            ag_http_authenticate(NULL, fx.v_access, &req, AG_TEST_SCRATCH(&claims), &claims),
            AG_OK);
    ck_assert_int_eq(ag_test_alloc_count(), 0);

    /* the refresh extraction (cookie channel, CSRF checks) too */
    char ck[AG_TOKEN_MAX_LEN + 128];
    int m = snprintf(ck, sizeof ck, "__Host-refresh=%s; __Host-csrf=%s", fx.tok_rt, fx.csrf);
    ag_header hr[] = {
        {{(const uint8_t *)"Cookie", 6}, {(const uint8_t *)ck, (size_t)m}},
        {{(const uint8_t *)"X-CSRF-Token", 12}, {(const uint8_t *)fx.csrf, AG_CSRF_TOKEN_LEN}},
        H("Sec-Fetch-Site", "same-origin")};
    req.headers = hr;
    ag_http_credential cred = AG_INIT(ag_http_credential);
    ag_test_alloc_reset();
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(ag__http_refresh_credential(NULL, &req, &cred), AG_OK);
    ck_assert_int_eq(ag_test_alloc_count(), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http_auth");
    TCase *tc = tcase_create("requests");
    tcase_add_unchecked_fixture(tc, fixtures, teardown_fixtures);
    tcase_add_unchecked_fixture(tc, policies, NULL);
    tcase_add_loop_test(tc, request_table, 0, (int)http_auth_ncases);
    tcase_add_test(tc, table_coverage);
    tcase_add_test(tc, refresh_credential_views);
    tcase_add_test(tc, refresh_verify_needs_secret);
    tcase_add_test(tc, failure_unverifies_reused_claims);
    tcase_add_test(tc, short_request_is_refused);
    tcase_add_test(tc, policy_validation);
    tcase_add_test(tc, hot_path_allocates_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ag_test_alloc_hooks_install(); /* first: before any OpenSSL call */
    return ag_test_run(suite());
}

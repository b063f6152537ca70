/* SPDX-License-Identifier: MIT */
/*
 * Compiles and runs the example of docs/http.md ("Plugging the core into
 * another server"), extracted at configure time into docs_example.c.
 */
#include <string.h>

#include "docs_example.c"
#include "testsupport.h"

static ag_verifier *v;
static char tok[AG_TOKEN_MAX_LEN + 1];
static ag_claims claims = AG_INIT(ag_claims);

static void setup(void)
{
    uint8_t s[32];
    ag_key *k = NULL;
    ag_keyring *ring = NULL;
    ag_issuer *iss = NULL;
    ck_assert_int_eq(ag_random(s, 32), AG_OK);
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, s, 32, "k", &k), AG_OK);
    ck_assert_int_eq(ag_keyring_new(NULL, &ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, k), AG_OK);
    ag_issuer_config ic = {.size = sizeof(ag_issuer_config),
                           .key = k,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = "i",
                           .audience = "a",
                           .ttl = 600};
    ck_assert_int_eq(ag_issuer_new(&ic, &iss), AG_OK);
    ag_issue_params ip = {.size = sizeof(ag_issue_params), .sub = "bob"};
    ck_assert_int_eq(ag_issue(iss, &ip, tok, sizeof tok, NULL), AG_OK);
    ag_verifier_config vc = {.size = sizeof(ag_verifier_config),
                             .keys = ring,
                             .kind = AG_TOKEN_ACCESS,
                             .issuer = "i",
                             .audience = "a",
                             .leeway = -1};
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_OK);
    ag_issuer_free(iss);
    ag_keyring_free(ring);
    ag_key_free(k);
}

static void teardown(void)
{
    ag_verifier_free(v);
}

START_TEST(docs_example_runs)
{
    char auth[AG_TOKEN_MAX_LEN + 16] = "Bearer ";
    strcat(auth, tok);
    struct my_header h[] = {{"Host", 4, "x", 1}, {"Authorization", 13, auth, strlen(auth)}};
    char www[256];
    ag_err err;
    ck_assert_uint_eq(my_authenticate(v, "GET", 3, "", 0, h, 2, &claims, www, sizeof www, &err),
                      200);
    ck_assert_int_eq(err, AG_OK);
    ck_assert_str_eq(www, "");
    ck_assert_uint_eq(claims.sub.len, 3);

    /* H-05: nothing sent */
    ck_assert_uint_eq(my_authenticate(v, "GET", 3, "", 0, h, 1, &claims, www, sizeof www, &err),
                      401);
    ck_assert_int_eq(err, AG_ERR_NO_CREDENTIALS);
    ck_assert_str_eq(www, "Bearer realm=\"my-api\"");

    /* H-03: the query */
    ck_assert_uint_eq(
        my_authenticate(v, "GET", 3, "access_token=1", 14, h, 2, &claims, www, sizeof www, &err),
        400);
    ck_assert_int_eq(err, AG_ERR_URL_CREDENTIALS);

    /* H-02: twice */
    struct my_header two[] = {h[1], h[1]};
    ck_assert_uint_eq(my_authenticate(v, "GET", 3, "", 0, two, 2, &claims, www, sizeof www, &err),
                      400);
    ck_assert_int_eq(err, AG_ERR_AMBIGUOUS);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http_docs");
    TCase *tc = tcase_create("example");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, docs_example_runs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ag_test_run(suite());
}

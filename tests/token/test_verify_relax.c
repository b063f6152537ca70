/* SPDX-License-Identifier: MIT */
/*
 * Verifier options for tokens from other issuers (ag_verifier_config
 * issuers/audiences/relax) and the causes ag_verify_why reports: every
 * opt-out is off by default (the 0.1 verdicts stay), each one relaxes only
 * its own rule, and every refusal names the claim or key problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/token.h"
#include "testsupport.h"

/* ag_test_clock stays at AG_TEST_T0 (1700000000), the tokens' iat */

static ag_key *key;
static ag_keyring *ring;
static ag_claims claims = AG_INIT(ag_claims);

static void setup(void)
{
    uint8_t s[32];
    memset(s, 0x33, sizeof(s));
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s, sizeof(s), "idp-1", &key));
    AG_TEST_SETUP_OK(ag_keyring_new(NULL, &ring));
    AG_TEST_SETUP_OK(ag_keyring_add(ring, key));
}

static void teardown(void)
{
    ag_keyring_free(ring);
    ag_key_free(key);
}

static ag_verifier *make(ag_token_kind kind, const char *iss, const char *const *more_iss,
                         size_t nmi, const char *aud, const char *const *more_aud, size_t nma,
                         unsigned relax)
{
    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = ring;
    vc.kind = kind;
    vc.issuer = iss;
    vc.issuers = more_iss;
    vc.nissuers = nmi;
    vc.audience = aud;
    vc.audiences = more_aud;
    vc.naudiences = nma;
    vc.relax = relax;
    vc.leeway = 0;
    vc.clock = ag_test_clock;
    ag_verifier *v = NULL;
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_OK);
    return v;
}

/* Verifies a token made of hdr and payload; returns the error, cause in *why. */
static ag_err run(const ag_verifier *v, const char *hdr, const char *payload, ag_verify_cause *why)
{
    char tok[AG_TOKEN_MAX_LEN + 1];
    size_t n = ag_test_jws(key, hdr, payload, tok, sizeof(tok));
    ck_assert_uint_gt(n, 0);
    return ag_verify_why(v, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&claims), &claims, why);
}

#define HDR_AT "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"idp-1\"}"
#define HDR_JWT "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"idp-1\"}"
#define HDR_NOTYP "{\"alg\":\"HS256\",\"kid\":\"idp-1\"}"
/* what an identity provider sends: no jti, a client-credentials token without sub */
#define P_FULL                                                                                     \
    "{\"iss\":\"https://a\",\"sub\":\"u\",\"aud\":\"api\",\"exp\":1700000600,"                     \
    "\"iat\":1700000000,\"jti\":\"j\"}"
#define P_NOJTI                                                                                    \
    "{\"iss\":\"https://a\",\"sub\":\"u\",\"aud\":\"api\",\"exp\":1700000600,"                     \
    "\"iat\":1700000000}"
#define P_NOIAT                                                                                    \
    "{\"iss\":\"https://a\",\"sub\":\"u\",\"aud\":\"api\",\"exp\":1800000000,\"jti\":\"j\"}"
#define P_NOSUB                                                                                    \
    "{\"iss\":\"https://a\",\"aud\":\"api\",\"exp\":1700000600,"                                   \
    "\"iat\":1700000000,\"jti\":\"j\"}"

START_TEST(defaults_stay_strict)
{
    ag_verifier *v = make(AG_TOKEN_ACCESS, "https://a", NULL, 0, "api", NULL, 0, 0);
    ag_verify_cause why;
    ck_assert_int_eq(run(v, HDR_AT, P_FULL, &why), AG_OK);
    ck_assert_int_eq(why, AG_CAUSE_NONE);
    ck_assert_int_eq(run(v, HDR_JWT, P_FULL, &why), AG_ERR_WRONG_TYPE);
    ck_assert_int_eq(why, AG_CAUSE_TYP);
    ck_assert_int_eq(run(v, HDR_NOTYP, P_FULL, &why), AG_ERR_WRONG_TYPE);
    ck_assert_int_eq(run(v, HDR_AT, P_NOJTI, &why), AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_JTI);
    ck_assert_int_eq(run(v, HDR_AT, P_NOIAT, &why), AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_IAT);
    ck_assert_int_eq(run(v, HDR_AT, P_NOSUB, &why), AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_SUB);
    ag_verifier_free(v);
}
END_TEST

START_TEST(each_opt_out_relaxes_only_its_rule)
{
    ag_verify_cause why;
    ag_verifier *v = make(AG_TOKEN_ACCESS, "https://a", NULL, 0, "api", NULL, 0, AG_VERIFY_TYP_JWT);
    ck_assert_int_eq(run(v, HDR_JWT, P_FULL, &why), AG_OK);
    ck_assert_int_eq(claims.kind, AG_TOKEN_ANY); /* the kind says what typ said */
    ck_assert_int_eq(
        run(v, "{\"alg\":\"HS256\",\"typ\":\"application/jwt\",\"kid\":\"idp-1\"}", P_FULL, &why),
        AG_OK);
    ck_assert_int_eq(run(v, HDR_NOTYP, P_FULL, &why), AG_ERR_WRONG_TYPE);
    ck_assert_int_eq(
        run(v, "{\"alg\":\"HS256\",\"typ\":\"rt+jwt\",\"kid\":\"idp-1\"}", P_FULL, &why),
        AG_ERR_WRONG_TYPE); /* never another kind */
    ck_assert_int_eq(run(v, HDR_JWT, P_NOJTI, &why), AG_ERR_CLAIM);
    ag_verifier_free(v);

    v = make(AG_TOKEN_ACCESS, "https://a", NULL, 0, "api", NULL, 0, AG_VERIFY_TYP_ABSENT);
    ck_assert_int_eq(run(v, HDR_NOTYP, P_FULL, &why), AG_OK);
    ck_assert_int_eq(run(v, HDR_JWT, P_FULL, &why), AG_ERR_WRONG_TYPE);
    ag_verifier_free(v);

    v = make(AG_TOKEN_ACCESS, "https://a", NULL, 0, "api", NULL, 0, AG_VERIFY_OPTIONAL_JTI);
    ck_assert_int_eq(run(v, HDR_AT, P_NOJTI, &why), AG_OK);
    ck_assert_uint_eq(claims.jti.len, 0);
    /* present but empty is still refused */
    ck_assert_int_eq(run(v, HDR_AT,
                         "{\"iss\":\"https://a\",\"sub\":\"u\",\"aud\":\"api\",\"exp\":1700000600,"
                         "\"iat\":1700000000,\"jti\":\"\"}",
                         &why),
                     AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_JTI);
    ck_assert_int_eq(run(v, HDR_AT, P_NOIAT, &why), AG_ERR_CLAIM);
    ag_verifier_free(v);

    /* no iat: no iat check and no lifetime cap (exp is 100M s away) */
    v = make(AG_TOKEN_ACCESS, "https://a", NULL, 0, "api", NULL, 0, AG_VERIFY_OPTIONAL_IAT);
    ck_assert_int_eq(run(v, HDR_AT, P_NOIAT, &why), AG_OK);
    ck_assert_int_eq(claims.iat, 0);
    /* with iat, the lifetime cap still applies */
    ck_assert_int_eq(run(v, HDR_AT,
                         "{\"iss\":\"https://a\",\"sub\":\"u\",\"aud\":\"api\",\"exp\":1800000000,"
                         "\"iat\":1700000000,\"jti\":\"j\"}",
                         &why),
                     AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_LIFETIME);
    ag_verifier_free(v);

    v = make(AG_TOKEN_ACCESS, "https://a", NULL, 0, "api", NULL, 0, AG_VERIFY_OPTIONAL_SUB);
    ck_assert_int_eq(run(v, HDR_AT, P_NOSUB, &why), AG_OK);
    ag_verifier_free(v);

    /* refresh tokens need sid unless opted out */
    const char *rt = "{\"alg\":\"HS256\",\"typ\":\"rt+jwt\",\"kid\":\"idp-1\"}";
    v = make(AG_TOKEN_REFRESH, "https://a", NULL, 0, "api", NULL, 0, 0);
    ck_assert_int_eq(run(v, rt, P_FULL, &why), AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_SID);
    ag_verifier_free(v);
    v = make(AG_TOKEN_REFRESH, "https://a", NULL, 0, "api", NULL, 0, AG_VERIFY_OPTIONAL_SID);
    ck_assert_int_eq(run(v, rt, P_FULL, &why), AG_OK);
    ag_verifier_free(v);
}
END_TEST

START_TEST(several_issuers_and_audiences)
{
    static const char *const more_iss[] = {"https://b", "https://c"};
    static const char *const more_aud[] = {"other"};
    ag_verify_cause why;
    ag_verifier *v = make(AG_TOKEN_ACCESS, "https://a", more_iss, 2, "api", more_aud, 1, 0);
    ck_assert_int_eq(run(v, HDR_AT, P_FULL, &why), AG_OK);
    ck_assert_int_eq(run(v, HDR_AT,
                         "{\"iss\":\"https://c\",\"sub\":\"u\",\"aud\":[\"x\",\"other\"],"
                         "\"exp\":1700000600,\"iat\":1700000000,\"jti\":\"j\"}",
                         &why),
                     AG_OK);
    ck_assert(claims.aud.len == 5 && memcmp(claims.aud.ptr, "other", 5) == 0);
    ck_assert_int_eq(run(v, HDR_AT,
                         "{\"iss\":\"https://d\",\"sub\":\"u\",\"aud\":\"api\","
                         "\"exp\":1700000600,\"iat\":1700000000,\"jti\":\"j\"}",
                         &why),
                     AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_ISS);
    /* a prefix of an accepted issuer is not accepted (V-16) */
    ck_assert_int_eq(run(v, HDR_AT,
                         "{\"iss\":\"https://\",\"sub\":\"u\",\"aud\":\"api\","
                         "\"exp\":1700000600,\"iat\":1700000000,\"jti\":\"j\"}",
                         &why),
                     AG_ERR_CLAIM);
    ck_assert_int_eq(run(v, HDR_AT,
                         "{\"iss\":\"https://b\",\"sub\":\"u\",\"aud\":[\"x\",\"y\"],"
                         "\"exp\":1700000600,\"iat\":1700000000,\"jti\":\"j\"}",
                         &why),
                     AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_AUD);
    ag_verifier_free(v);

    /* only lists, no single issuer/audience */
    v = make(AG_TOKEN_ACCESS, NULL, more_iss, 2, NULL, more_aud, 1, 0);
    ck_assert_int_eq(run(v, HDR_AT, P_FULL, &why), AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_AUD);
    ck_assert_int_eq(run(v, HDR_AT,
                         "{\"iss\":\"https://a\",\"sub\":\"u\",\"aud\":\"other\","
                         "\"exp\":1700000600,\"iat\":1700000000,\"jti\":\"j\"}",
                         &why),
                     AG_ERR_CLAIM);
    ck_assert_int_eq(why, AG_CAUSE_ISS);
    ag_verifier_free(v);

    /* bad lists are refused */
    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = ring;
    vc.kind = AG_TOKEN_ACCESS;
    ag_verifier *bad = NULL;
    vc.nissuers = 1;
    ck_assert_int_eq(ag_verifier_new(&vc, &bad), AG_ERR_INVALID_ARGUMENT);
    static const char *const empty[] = {""};
    vc.issuers = empty;
    ck_assert_int_eq(ag_verifier_new(&vc, &bad), AG_ERR_INVALID_ARGUMENT);
    vc.nissuers = 0;
    vc.relax = 0x80000000u;
    ck_assert_int_eq(ag_verifier_new(&vc, &bad), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(key_causes)
{
    ag_verifier *v = make(AG_TOKEN_ANY, NULL, NULL, 0, NULL, NULL, 0, 0);
    ag_verify_cause why;
    ck_assert_int_eq(run(v, "{\"alg\":\"HS256\"}", P_FULL, &why), AG_ERR_KEY);
    ck_assert_int_eq(why, AG_CAUSE_NO_KID);
    ck_assert_int_eq(run(v, "{\"alg\":\"HS256\",\"kid\":\"nope\"}", P_FULL, &why), AG_ERR_KEY);
    ck_assert_int_eq(why, AG_CAUSE_UNKNOWN_KID);
    ck_assert_str_eq(ag_verify_cause_text(AG_CAUSE_NO_KID), "token has no kid");
    ck_assert_str_eq(ag_verify_cause_text(AG_CAUSE_AUD), "aud");
    ck_assert_str_eq(ag_verify_cause_text((ag_verify_cause)99), "");
    ck_assert_int_eq(ag_verify_why(v, NULL, 0, AG_TEST_SCRATCH(&claims), &claims, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ag_verifier_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("verify_relax");
    TCase *tc = tcase_create("relax");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_stay_strict);
    tcase_add_test(tc, each_opt_out_relaxes_only_its_rule);
    tcase_add_test(tc, several_issuers_and_audiences);
    tcase_add_test(tc, key_causes);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

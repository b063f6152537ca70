/* SPDX-License-Identifier: MIT */
/* The HTTP-layer tests' shared fixture (see http_fixture.h). */
#include "http_fixture.h"

#include <string.h>

#include <check.h>

const uint8_t ag_test_http_csrf_secret[32] = "0123456789abcdef0123456789abcdef";

void ag_test_http_init(ag_test_http *f)
{
    uint8_t s1[32], s2[32];
    ag_key *ka = NULL, *kr = NULL;
    ag_keyring *ring = NULL;
    memset(f, 0, sizeof *f);
    ck_assert_int_eq(ag_random(s1, sizeof s1), AG_OK);
    ck_assert_int_eq(ag_random(s2, sizeof s2), AG_OK);
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, s1, 32, "at-1", &ka), AG_OK);
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, s2, 32, "rt-1", &kr), AG_OK);
    ck_assert_int_eq(ag_keyring_new(NULL, &ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, ka), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, kr), AG_OK);

    ag_issuer *ia = NULL, *ir = NULL;
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = ka;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = AG_TEST_HTTP_ISS;
    ic.audience = "api";
    ic.ttl = 600;
    ck_assert_int_eq(ag_issuer_new(&ic, &ia), AG_OK);
    ic.key = kr;
    ic.kind = AG_TOKEN_REFRESH;
    ic.audience = "refresh";
    ic.ttl = 3600;
    ck_assert_int_eq(ag_issuer_new(&ic, &ir), AG_OK);
    ag_issue_params ip = AG_INIT(ag_issue_params);
    ip.sub = AG_TEST_HTTP_SUB;
    ip.sid = AG_TEST_HTTP_SID;
    ck_assert_int_eq(ag_issue(ia, &ip, f->tok_at, sizeof f->tok_at, NULL), AG_OK);
    ck_assert_int_eq(ag_issue(ir, &ip, f->tok_rt, sizeof f->tok_rt, NULL), AG_OK);

    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = ring;
    vc.kind = AG_TOKEN_ACCESS;
    vc.issuer = AG_TEST_HTTP_ISS;
    vc.audience = "api";
    vc.leeway = -1;
    ck_assert_int_eq(ag_verifier_new(&vc, &f->v_access), AG_OK);
    vc.kind = AG_TOKEN_REFRESH;
    vc.audience = "refresh";
    ck_assert_int_eq(ag_verifier_new(&vc, &f->v_refresh), AG_OK);

    ck_assert_int_eq(ag_csrf_token_make(ag_test_http_csrf_secret, 32,
                                        (const uint8_t *)AG_TEST_HTTP_SID,
                                        sizeof AG_TEST_HTTP_SID - 1, f->csrf),
                     AG_OK);
    ag_issuer_free(ia);
    ag_issuer_free(ir);
    ag_keyring_free(ring);
    ag_key_free(ka);
    ag_key_free(kr);
}

void ag_test_http_free(ag_test_http *f)
{
    ag_verifier_free(f->v_access);
    ag_verifier_free(f->v_refresh);
    f->v_access = NULL;
    f->v_refresh = NULL;
}

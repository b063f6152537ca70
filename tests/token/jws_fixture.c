/* SPDX-License-Identifier: MIT */
/*
 * The keys, keyring and verifiers the lib/token/jws.c tests share, and the
 * helpers that make and verify their tokens (jws_fixture.h).
 */
#include <stdio.h>
#include <string.h>

#include "authgate/token.h"
#include "jws_fixture.h"
#include "testsupport.h"
#include "token/token_int.h"

static const uint8_t hs_secret[32] = "0123456789abcdef0123456789abcdef";
ag_key *k_hs, *k_es, *k_rs, *k_ps, *k_ed, *k_es384, *k_hs512, *k_ed2, *k_es2;
ag_keyring *ring;
ag_verifier *v_access, *v_refresh, *v_any;

void setup_keys(void)
{
    if (k_hs != NULL)
        return;
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, hs_secret, 32, "k1", &k_hs));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_ES256, "es", &k_es));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_RS256, "rs", &k_rs));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_PS256, "ps", &k_ps));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_EDDSA, "ed", &k_ed));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_ES384, "es384", &k_es384));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_HS512, "hs512", &k_hs512));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_EDDSA, "ed2", &k_ed2));
    AG_TEST_SETUP_OK(ag_key_generate(AG_ALG_ES256, "es2", &k_es2));
    AG_TEST_SETUP_OK(ag_keyring_new(NULL, &ring));
    ag_key *all[] = {k_hs, k_es, k_rs, k_ps, k_ed, k_es384, k_hs512, k_ed2, k_es2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        AG_TEST_SETUP_OK(ag_keyring_add(ring, all[i]));

    ag_verifier_config c = AG_INIT(ag_verifier_config);
    c.keys = ring;
    c.issuer = ISS;
    c.audience = AUD;
    c.leeway = -1;
    c.clock = ag_test_clock;
    c.kind = AG_TOKEN_ACCESS;
    AG_TEST_SETUP_OK(ag_verifier_new(&c, &v_access));
    c.kind = AG_TOKEN_REFRESH;
    AG_TEST_SETUP_OK(ag_verifier_new(&c, &v_refresh));
    c.kind = AG_TOKEN_ANY;
    AG_TEST_SETUP_OK(ag_verifier_new(&c, &v_any));
}

/* Builds b64(hdr).b64(payload).b64(sig) signed with key (or with sig_override). */
size_t mk_token(const ag_key *key, const char *hdr, const char *payload, char *out, size_t cap)
{
    size_t n = ag_test_jws(key, hdr, payload, out, cap);
    ck_assert_uint_gt(n, 0);
    return n;
}

static char good_payload[512];
const char *payload_ok(void)
{
    snprintf(good_payload, sizeof(good_payload),
             "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"" AUD
             "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j1\"}",
             (long long)(T0 + 600), (long long)T0);
    return good_payload;
}

ag_err verify_str(const ag_verifier *v, const char *tok)
{
    static ag_claims c = AG_INIT(ag_claims);
    return ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&c), &c);
}

/* ---- issue → verify round trips ------------------------------------------ */

ag_err issue(const ag_key *key, ag_token_kind kind, const char *sid, char *buf, size_t cap,
             ag_issued *info)
{
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = key;
    ic.kind = kind;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 600;
    ic.clock = ag_test_clock;
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = "alice";
    p.sid = sid;
    ag_err err = ag_issue(is, &p, buf, cap, info);
    ag_issuer_free(is);
    return err;
}

int jws_test_main(Suite *(*make)(void))
{
    ag_test_alloc_hooks_install();
    setup_keys(); /* once, before Check forks per test: RSA generation is slow */
    return ag_test_run(make());
}

/* SPDX-License-Identifier: MIT */
/*
 * Issuing with lib/token/jws.c: round trips for every algorithm, refresh
 * tokens and their sid, every flipped byte refused, the payload writer's
 * escaping, the jti pool (I-02), decoded registered claims, custom claims
 * and configuration errors. Rule IDs refer to docs/security.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authgate/token.h"
#include "jws_fixture.h"
#include "testsupport.h"
#include "token/token_int.h"

/* ---- issue → verify round trips ------------------------------------------ */
START_TEST(roundtrip_every_alg)
{
    setup_keys();
    ag_test_clock_set(T0);
    ag_key *keys[] = {k_hs, k_es, k_rs, k_ps, k_ed, k_es384, k_hs512};
    static const ag_alg want[] = {AG_ALG_HS256, AG_ALG_ES256, AG_ALG_RS256, AG_ALG_PS256,
                                  AG_ALG_EDDSA, AG_ALG_ES384, AG_ALG_HS512};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char tok[AG_TOKEN_MAX_LEN + 1];
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(issue(keys[i], AG_TOKEN_ACCESS, "fam", tok, sizeof(tok), &info), AG_OK);
        ck_assert_uint_eq(info.len, strlen(tok));
        ck_assert_uint_eq(strlen(info.jti), AG_JTI_LEN);
        ag_claims c = AG_INIT(ag_claims);
        ck_assert_int_eq(
            ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c), AG_OK);
        ck_assert_int_eq(c.alg, want[i]);
        ck_assert_int_eq(c.kind, AG_TOKEN_ACCESS);
        ck_assert(ag__span_eq_str(c.sub, "alice"));
        ck_assert(ag__span_eq_str(c.iss, ISS));
        ck_assert(ag__span_eq_str(c.aud, AUD));
        ck_assert(ag__span_eq_str(c.sid, "fam"));
        ck_assert(ag__span_eq_str(c.jti, info.jti));
        ck_assert(ag__span_eq_str(c.kid, ag_key_kid(keys[i])));
        ck_assert_int_eq(c.exp, T0 + 600);
        ck_assert_int_eq(c.iat, T0);
        /* explicit typing (V-12): the refresh verifier refuses it */
        ck_assert_int_eq(
            ag_verify(v_refresh, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c),
            AG_ERR_WRONG_TYPE);
        ck_assert_int_eq(ag_verify(v_any, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c),
                         AG_OK);
    }
}
END_TEST

START_TEST(refresh_requires_sid)
{
    setup_keys();
    ag_test_clock_set(T0);
    char tok[AG_TOKEN_MAX_LEN + 1];
    ck_assert_int_eq(issue(k_es, AG_TOKEN_REFRESH, NULL, tok, sizeof(tok), NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(issue(k_es, AG_TOKEN_REFRESH, "s1", tok, sizeof(tok), NULL), AG_OK);
    ck_assert_int_eq(verify_str(v_refresh, tok), AG_OK);
    ck_assert_int_eq(verify_str(v_access, tok), AG_ERR_WRONG_TYPE);
    /* a refresh-typed token without sid, signed by us: V-12 / V-13 */
    char t2[1024];
    mk_token(k_hs, "{\"alg\":\"HS256\",\"typ\":\"rt+jwt\",\"kid\":\"k1\"}", payload_ok(), t2,
             sizeof(t2));
    ck_assert_int_eq(verify_str(v_refresh, t2), AG_ERR_CLAIM);
}
END_TEST

/* Every single-byte change of a valid token is rejected. */
START_TEST(every_byte_flipped)
{
    setup_keys();
    ag_test_clock_set(T0);
    ag_key *keys[] = {k_hs, k_es, k_ed};
    for (size_t k = 0; k < 3; k++) {
        char tok[AG_TOKEN_MAX_LEN + 1];
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(issue(keys[k], AG_TOKEN_ACCESS, NULL, tok, sizeof(tok), &info), AG_OK);
        for (size_t i = 0; i < info.len; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                tok[i] = (char)(tok[i] ^ (1 << bit));
                ag_claims c = AG_INIT(ag_claims);
                ag_err e =
                    ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c);
                if (e == AG_OK)
                    ck_abort_msg("flip at %zu bit %d accepted", i, bit);
                tok[i] = (char)(tok[i] ^ (1 << bit));
            }
        }
        ck_assert_int_eq(verify_str(v_access, tok), AG_OK);
    }
}
END_TEST

/* The direct payload writer (no custom claims) escapes like a JSON encoder
 * must: every awkward string comes back unchanged through jansson and
 * through our own verifier, and non-UTF-8 is refused. */
START_TEST(payload_writer_escapes)
{
    ag_test_clock_set(T0);
    static const char *const subs[] = {"plain",
                                       "quote\"q",
                                       "back\\slash",
                                       "new\nline\ttab\r",
                                       "\x01\x1f\x7f ctl",
                                       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                       "</script>",
                                       "\\u0000 literal"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        ag_issuer_config ic = AG_INIT(ag_issuer_config);
        ic.key = k_hs;
        ic.kind = AG_TOKEN_REFRESH;
        ic.issuer = "iss \"x\"";
        ic.audience = AUD;
        ic.ttl = 60;
        ic.clock = ag_test_clock;
        ag_issuer *is = NULL;
        ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
        ag_issue_params p = AG_INIT(ag_issue_params);
        p.sub = subs[i];
        p.sid = subs[i];
        char tok[AG_TOKEN_MAX_LEN + 1];
        ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_OK);
        uint8_t hdr[256], pl[1024];
        size_t hl, plen;
        ck_assert_int_eq(ag_token_decode_unverified((const uint8_t *)tok, strlen(tok), hdr,
                                                    sizeof(hdr), &hl, pl, sizeof(pl), &plen),
                         AG_OK);
        json_error_t e;
        json_t *o = json_loadb((const char *)pl, plen, JSON_REJECT_DUPLICATES, &e);
        ck_assert_msg(o != NULL, "payload not JSON: %s", e.text);
        ck_assert_str_eq(json_string_value(json_object_get(o, "sub")), subs[i]);
        ck_assert_str_eq(json_string_value(json_object_get(o, "sid")), subs[i]);
        ck_assert_str_eq(json_string_value(json_object_get(o, "iss")), "iss \"x\"");
        ck_assert_int_eq(json_integer_value(json_object_get(o, "exp")), T0 + 60);
        ck_assert_int_eq((int)json_object_size(o), 7);
        json_decref(o);
        ag_issuer_free(is);
    }
    /* not UTF-8: refused, for sub and for sid */
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = k_hs;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 60;
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    static const char *const bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x82",
                                      "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ag_issue_params p = AG_INIT(ag_issue_params);
        char tok[AG_TOKEN_MAX_LEN + 1];
        p.sub = bad[i];
        ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
        p.sub = "ok";
        p.sid = bad[i];
        ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    }
    ag_issuer_free(is);
}
END_TEST

/* jtis come from a per-thread pool of CSPRNG bytes: all distinct, and a
 * forked child never hands out the bytes its parent will (I-02). */
START_TEST(jti_pool_distinct_and_fork_safe)
{
    ag_test_clock_set(T0);
    char tok[AG_TOKEN_MAX_LEN + 1];
    static char seen[200][AG_JTI_LEN + 1];
    for (int i = 0; i < 200; i++) { /* crosses several pool refills */
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(issue(k_hs, AG_TOKEN_ACCESS, NULL, tok, sizeof(tok), &info), AG_OK);
        memcpy(seen[i], info.jti, sizeof(seen[i]));
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
    }
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ag_issued info = AG_INIT(ag_issued);
        ssize_t w = -1;
        if (issue(k_hs, AG_TOKEN_ACCESS, NULL, tok, sizeof(tok), &info) == AG_OK)
            w = write(fds[1], info.jti, AG_JTI_LEN);
        _exit(w == AG_JTI_LEN ? 0 : 1);
    }
    char child_jti[AG_JTI_LEN + 1] = {0};
    ck_assert_int_eq((int)read(fds[0], child_jti, AG_JTI_LEN), AG_JTI_LEN);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ag_issued mine = AG_INIT(ag_issued);
    ck_assert_int_eq(issue(k_hs, AG_TOKEN_ACCESS, NULL, tok, sizeof(tok), &mine), AG_OK);
    ck_assert_str_ne(child_jti, mine.jti);
    close(fds[0]);
    close(fds[1]);
}
END_TEST

/* Registered string claims come back decoded: escaped ones through the
 * decoder, plain ones as views on the payload (V-06, V-13). */
START_TEST(escaped_claims_decoded)
{
    setup_keys();
    ag_test_clock_set(T0);
    static char tok[2048];
    static char body[512];
    snprintf(body, sizeof(body),
             "{\"iss\":\"https:\\/\\/issuer.example\",\"sub\":\"al\\u0069ce \\\"A\\\"\","
             "\"aud\":\"" AUD "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\\n1\"}",
             (long long)(T0 + 600), (long long)T0);
    size_t n = mk_token(k_hs, "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}", body, tok,
                        sizeof(tok));
    static ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, n, AG_TEST_SCRATCH(&c), &c), AG_OK);
    ck_assert_uint_eq(c.iss.len, strlen(ISS));
    ck_assert(memcmp(c.iss.ptr, ISS, c.iss.len) == 0);
    ck_assert_uint_eq(c.sub.len, 9);
    ck_assert(memcmp(c.sub.ptr, "alice \"A\"", 9) == 0);
    ck_assert_uint_eq(c.jti.len, 3);
    ck_assert(memcmp(c.jti.ptr, "j\n1", 3) == 0);
    ck_assert_uint_eq(c.aud.len, strlen(AUD));
    ck_assert(memcmp(c.aud.ptr, AUD, c.aud.len) == 0);
}
END_TEST

START_TEST(custom_claims)
{
    setup_keys();
    ag_test_clock_set(T0);
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = k_es;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 300;
    ic.clock = ag_test_clock;
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    ag_custom_claim cc[4] = {{"role", AG_CLAIM_STRING, "admin \"x\" \xc3\xa9", 0, false},
                             {"n", AG_CLAIM_INT, NULL, -42, false},
                             {"ok", AG_CLAIM_BOOL, NULL, 0, true},
                             {"obj", AG_CLAIM_JSON, "{\"a\":[1,2]}", 0, false}};
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = "bob";
    p.claims = cc;
    p.nclaims = 4;
    char tok[AG_TOKEN_MAX_LEN + 1];
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_OK);
    ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(
        ag_verify(v_access, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&c), &c), AG_OK);
    char buf[64];
    size_t len;
    ck_assert_int_eq(ag_claims_get_string(&c, "role", buf, sizeof(buf), &len), AG_OK);
    ck_assert_str_eq(buf, "admin \"x\" \xc3\xa9");
    ck_assert_int_eq(ag_claims_get_string(&c, "role", buf, 4, &len), AG_ERR_BUFFER);
    int64_t i;
    ck_assert_int_eq(ag_claims_get_int(&c, "n", &i), AG_OK);
    ck_assert_int_eq(i, -42);
    bool b;
    ck_assert_int_eq(ag_claims_get_bool(&c, "ok", &b), AG_OK);
    ck_assert(b);
    ag_span js;
    ck_assert_int_eq(ag_claims_get_json(&c, "obj", &js), AG_OK);
    ck_assert_int_eq((int)js.len, 11);
    ck_assert(memcmp(js.ptr, "{\"a\":[1,2]}", 11) == 0);
    ck_assert_int_eq(ag_claims_get_json(&c, "role", &js), AG_OK);
    ck_assert_int_eq(js.ptr[0], '"');
    ck_assert_int_eq(ag_claims_get_int(&c, "missing", &i), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(ag_claims_get_int(&c, "role", &i), AG_ERR_CLAIM);
    ck_assert_int_eq(ag_claims_get_bool(&c, "n", &b), AG_ERR_CLAIM);

    /* registered, duplicate, invalid custom claims are refused */
    ag_custom_claim bad1 = {"exp", AG_CLAIM_INT, NULL, 1, false};
    ag_custom_claim bad2[2] = {{"x", AG_CLAIM_INT, NULL, 1, false},
                               {"x", AG_CLAIM_INT, NULL, 2, false}};
    ag_custom_claim bad3 = {"j", AG_CLAIM_JSON, "{\"a\":1,\"a\":2}", 0, false};
    ag_custom_claim bad4 = {"s", AG_CLAIM_STRING, "\xc3\x28", 0, false};
    p.claims = &bad1;
    p.nclaims = 1;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    p.claims = bad2;
    p.nclaims = 2;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    p.claims = &bad3;
    p.nclaims = 1;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    p.claims = &bad4;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    /* too small a buffer, too large a token */
    p.claims = NULL;
    p.nclaims = 0;
    ck_assert_int_eq(ag_issue(is, &p, tok, 100, NULL), AG_ERR_BUFFER);
    static char huge[7000];
    memset(huge, 'x', sizeof(huge) - 1);
    ag_custom_claim big = {"big", AG_CLAIM_STRING, huge, 0, false};
    p.claims = &big;
    p.nclaims = 1;
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_TOO_LARGE);
    /* a given jti is used as is; a bad one refused */
    p.claims = NULL;
    p.nclaims = 0;
    p.jti = "abc_DEF-123";
    ag_issued info = AG_INIT(ag_issued);
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), &info), AG_OK);
    ck_assert_str_eq(info.jti, "abc_DEF-123");
    p.jti = "a.b";
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    ag_issuer_free(is);
}
END_TEST

START_TEST(config_errors)
{
    setup_keys();
    ag_verifier *v = NULL;
    ag_verifier_config c = AG_INIT(ag_verifier_config);
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT);
    c.keys = ring;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT); /* no kind */
    c.kind = AG_TOKEN_ACCESS;
    c.leeway = AG_LEEWAY_MAX + 1;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT);
    c.leeway = 0;
    c.max_token_len = AG_TOKEN_MAX_LEN + 1;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT);
    c.max_token_len = 0;
    c.issuer = "";
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_ERR_INVALID_ARGUMENT);
    /* the ring is frozen by the verifiers made in setup */
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS256, "late", &k), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, k), AG_ERR_STATE);
    ag_key_free(k);
    /* an issuer needs a private key */
    char *jwk = NULL;
    ck_assert_int_eq(ag_key_to_jwk(k_es, false, &jwk), AG_OK);
    ag_key *pub = NULL;
    ck_assert_int_eq(ag_key_from_jwk(jwk, strlen(jwk), 0, &pub, NULL, 0), AG_OK);
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = pub;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 60;
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_STATE);
    ic.key = k_es;
    ic.ttl = 0;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_INVALID_ARGUMENT);
    /* iss/aud must be UTF-8: refused up front, not as "out of memory" later */
    ic.ttl = 60;
    ic.issuer = "\xc0\xaf";
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_INVALID_ARGUMENT);
    ic.issuer = ISS;
    ic.audience = "\xff";
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_ERR_INVALID_ARGUMENT);
    /* a custom claim name that is not UTF-8 (and no leak on that path) */
    ic.audience = AUD;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    ag_custom_claim cc = {"\xc3\x28", AG_CLAIM_INT, NULL, 1, false};
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = "a";
    p.claims = &cc;
    p.nclaims = 1;
    char tok[AG_TOKEN_MAX_LEN + 1];
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    p.nclaims = 0;
    p.sub = "\xc3\x28";
    ck_assert_int_eq(ag_issue(is, &p, tok, sizeof(tok), NULL), AG_ERR_INVALID_ARGUMENT);
    ag_issuer_free(is);
    ag_key_free(pub);
    ag_free(jwk);
    ag_verifier_free(NULL);
    ag_issuer_free(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jws_issue");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, roundtrip_every_alg);
    tcase_add_test(tc, refresh_requires_sid);
    tcase_add_test(tc, every_byte_flipped);
    tcase_add_test(tc, payload_writer_escapes);
    tcase_add_test(tc, jti_pool_distinct_and_fork_safe);
    tcase_add_test(tc, escaped_claims_decoded);
    tcase_add_test(tc, custom_claims);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return jws_test_main(suite);
}

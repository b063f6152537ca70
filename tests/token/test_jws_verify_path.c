/* SPDX-License-Identifier: MIT */
/*
 * The machinery under lib/token/jws.c's verify path: signature contexts
 * per key, the EdDSA backends against OpenSSL, the opt-in verified-token
 * cache, the scratch contract, and the HS256 path that allocates nothing.
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

/* Regression: per-thread signature contexts are per key. A thread that
 * verified with one EdDSA (or ECDSA) key must not verify another key's
 * kid with it: OpenSSL 3.0 keeps the first key of a re-initialised
 * EVP_MD_CTX, which once let key A's token verify under key B's kid. */
START_TEST(contexts_are_per_key)
{
    ag_test_clock_set(T0);
    struct {
        ag_key *a, *b;
        const char *alg;
    } pairs[] = {{k_ed, k_ed2, "EdDSA"}, {k_es, k_es2, "ES256"}};
    for (size_t i = 0; i < 2; i++) {
        char ta[AG_TOKEN_MAX_LEN + 1], tb[AG_TOKEN_MAX_LEN + 1], forged[AG_TOKEN_MAX_LEN + 1];
        char ha[128], hb[128];
        snprintf(ha, sizeof(ha), "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", pairs[i].alg,
                 ag_key_kid(pairs[i].a));
        snprintf(hb, sizeof(hb), "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", pairs[i].alg,
                 ag_key_kid(pairs[i].b));
        mk_token(pairs[i].a, ha, P(TIMES), ta, sizeof(ta));
        mk_token(pairs[i].b, hb, P(TIMES), tb, sizeof(tb));
        mk_token(pairs[i].a, hb, P(TIMES), forged, sizeof(forged)); /* A's signature, B's kid */
        for (int round = 0; round < 3; round++) {
            ck_assert_int_eq(verify_str(v_access, ta), AG_OK);
            ck_assert_int_eq(verify_str(v_access, forged), AG_ERR_SIGNATURE);
            ck_assert_int_eq(verify_str(v_access, tb), AG_OK);
            ck_assert_int_eq(verify_str(v_access, forged), AG_ERR_SIGNATURE);
        }
    }
}
END_TEST

/* EdDSA: whichever backend the build uses (libsodium when found) gives
 * OpenSSL's verdict on valid signatures, every single-bit change, S + L
 * (non-canonical), all-zero and all-ones signatures, and the RFC 8037
 * A.4 example. */
START_TEST(eddsa_backends_agree)
{
    static const uint8_t L[32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10}; /* the group order,
                                                                        little-endian */
    uint8_t msg[100], sig[64], bad[64];
    size_t sl;
    int agree = 0;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof(msg); i++)
            msg[i] = (uint8_t)(i * 7 + round);
        ck_assert_int_eq(ag__sign(k_ed, msg, sizeof(msg), sig, sizeof(sig), &sl), AG_OK);
        ck_assert_int_eq(ag__verify_sig(k_ed, msg, sizeof(msg), sig, 64), AG_OK);
        ck_assert_int_eq(ag__verify_ed25519_openssl(k_ed, msg, sizeof(msg), sig, 64), AG_OK);
        ck_assert_int_eq(ag__verify_sig(k_ed2, msg, sizeof(msg), sig, 64), AG_ERR_SIGNATURE);
        for (int bit = round; bit < 512; bit += 20) {
            memcpy(bad, sig, 64);
            bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            ag_err a = ag__verify_sig(k_ed, msg, sizeof(msg), bad, 64);
            ag_err b = ag__verify_ed25519_openssl(k_ed, msg, sizeof(msg), bad, 64);
            ck_assert_int_eq(a, b);
            agree++;
        }
        /* S + L: the same signature in a non-canonical spelling */
        memcpy(bad, sig, 64);
        unsigned carry = 0;
        for (int i = 0; i < 32; i++) {
            unsigned v = bad[32 + i] + L[i] + carry;
            bad[32 + i] = (uint8_t)v;
            carry = v >> 8;
        }
        ck_assert_int_eq(ag__verify_sig(k_ed, msg, sizeof(msg), bad, 64), AG_ERR_SIGNATURE);
        ck_assert_int_eq(ag__verify_ed25519_openssl(k_ed, msg, sizeof(msg), bad, 64),
                         AG_ERR_SIGNATURE);
    }
    memset(bad, 0, 64);
    ck_assert_int_eq(ag__verify_sig(k_ed, msg, sizeof(msg), bad, 64), AG_ERR_SIGNATURE);
    memset(bad, 0xff, 64);
    ck_assert_int_eq(ag__verify_sig(k_ed, msg, sizeof(msg), bad, 64), AG_ERR_SIGNATURE);
    ck_assert_int_gt(agree, 400);

    /* RFC 8037 Appendix A.4 */
    static const char jwk[] =
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"kid\":\"rfc8037\","
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
    static const char jws[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
                              "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVs"
                              "Pt9g7sVvpAr_MuM0KAg";
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_jwk(jwk, sizeof(jwk) - 1, 0, &k, NULL, 0), AG_OK);
    const char *d2 = strrchr(jws, '.');
    uint8_t s8037[64];
    ck_assert_int_eq(ag_base64url_decode((const uint8_t *)d2 + 1, strlen(d2 + 1), s8037, 64, &sl),
                     AG_OK);
    size_t in_len = (size_t)(d2 - jws);
    ck_assert_int_eq(ag__verify_sig(k, (const uint8_t *)jws, in_len, s8037, 64), AG_OK);
    ck_assert_int_eq(ag__verify_ed25519_openssl(k, (const uint8_t *)jws, in_len, s8037, 64), AG_OK);
    s8037[0] ^= 1;
    ck_assert_int_eq(ag__verify_sig(k, (const uint8_t *)jws, in_len, s8037, 64), AG_ERR_SIGNATURE);
    ag_key_free(k);
}
END_TEST

/* The opt-in verified-token cache: a hit skips only the signature; the
 * claims and times are checked again on every call, a changed byte misses,
 * and a hit allocates nothing even for ES256. */
START_TEST(verified_token_cache)
{
    ag_test_clock_set(T0);
    ag_verifier *v = NULL;
    ag_verifier_config c = AG_INIT(ag_verifier_config);
    c.keys = ring;
    c.kind = AG_TOKEN_ACCESS;
    c.issuer = ISS;
    c.audience = AUD;
    c.leeway = 0;
    c.clock = ag_test_clock;
    c.cache_entries = 64;
    ck_assert_int_eq(ag_verifier_new(&c, &v), AG_OK);
    ag_key *keys[] = {k_es, k_ed, k_hs};
    for (size_t k = 0; k < 3; k++) {
        char tok[AG_TOKEN_MAX_LEN + 1];
        ag_issued info = AG_INIT(ag_issued);
        ck_assert_int_eq(issue(keys[k], AG_TOKEN_ACCESS, "fam", tok, sizeof(tok), &info), AG_OK);
        static ag_claims a = AG_INIT(ag_claims), b = AG_INIT(ag_claims);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&a), &a),
                         AG_OK); /* miss */
        ag_test_alloc_reset();
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_OK); /* hit */
        if (keys[k] != k_hs)
            ck_assert_int_eq(ag_test_alloc_count(), 0);
        ck_assert_int_eq(a.alg, b.alg);
        ck_assert(ag__span_eq_str(b.sub, "alice") && ag__span_eq_str(b.sid, "fam"));
        ck_assert(b.kid.len == a.kid.len && memcmp(b.kid.ptr, a.kid.ptr, a.kid.len) == 0);
        ck_assert(ag__span_eq_str(b.jti, info.jti));
        ck_assert_int_eq(b.exp, a.exp);
        /* a cached token still expires on time (V-15) */
        ag_test_clock_set(info.exp);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_ERR_EXPIRED);
        ag_test_clock_set(T0);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_OK);
        /* one changed byte is another token: a miss, and a bad signature */
        tok[info.len - 2] = tok[info.len - 2] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_ERR_SIGNATURE);
        ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&b), &b),
                         AG_ERR_SIGNATURE);
    }
    /* a verifier for refresh tokens with its own cache: kind is re-checked */
    char tok[AG_TOKEN_MAX_LEN + 1];
    ck_assert_int_eq(issue(k_es, AG_TOKEN_REFRESH, "s", tok, sizeof(tok), NULL), AG_OK);
    static ag_claims r = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&r), &r),
                     AG_ERR_WRONG_TYPE);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&r), &r),
                     AG_ERR_WRONG_TYPE);
    ag_verifier_free(v);
}
END_TEST

/* The scratch contract: AG_VERIFY_SCRATCH_LEN(len) suffices exactly (the
 * buffer ends at a PROT_NONE page), one byte less is AG_ERR_BUFFER before
 * any byte is written, the size cap comes first, and the claims point into
 * the scratch, not into the token. */
START_TEST(verify_scratch_contract)
{
    setup_keys();
    ag_test_clock_set(T0);
    char payload[512], tok[2048];
    /* escaped strings take the scratch's string room, not views */
    snprintf(payload, sizeof payload,
             "{\"iss\":\"" ISS "\",\"sub\":\"\\u0061lice\",\"aud\":\"" AUD
             "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\\u0031\"}",
             (long long)(T0 + 600), (long long)T0);
    size_t n = mk_token(k_hs, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}", payload, tok,
                        sizeof tok);
    size_t need = AG_VERIFY_SCRATCH_LEN(n);
    ck_assert_uint_le(need, AG_VERIFY_SCRATCH_MAX);
    uint8_t *fill = malloc(need);
    ck_assert_ptr_nonnull(fill);
    memset(fill, 0xa5, need);
    ag_test_guard g = {0};
    uint8_t *scr = ag_test_guard_place(&g, fill, need);
    ck_assert_ptr_nonnull(scr);
    ag_claims c = AG_INIT(ag_claims);

    /* one byte short: refused before anything is written */
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, n, scr + 1, need - 1, &c),
                     AG_ERR_BUFFER);
    ck_assert_int_eq(memcmp(scr, fill, need), 0);
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, n, NULL, need, &c),
                     AG_ERR_INVALID_ARGUMENT);
    /* the size cap before the scratch */
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, AG_TOKEN_MAX_LEN + 1, scr, 1, &c),
                     AG_ERR_TOO_LARGE);

    /* exactly enough: verifies, and the claims live in the scratch */
    char copy[2048];
    memcpy(copy, tok, n);
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)copy, n, scr, need, &c), AG_OK);
    memset(copy, 0, sizeof copy);
    ck_assert_uint_eq(c.sub.len, 5);
    ck_assert_int_eq(memcmp(c.sub.ptr, "alice", 5), 0);
    ck_assert_int_eq(memcmp(c.jti.ptr, "j1", 2), 0);
    ck_assert(c.sub.ptr >= scr && c.sub.ptr + c.sub.len <= scr + need);
    ck_assert(c.iss.ptr >= scr && c.iss.ptr + c.iss.len <= scr + need);
    ag_span pl = ag_claims_payload(&c);
    ck_assert(pl.ptr >= scr && pl.ptr + pl.len <= scr + need);
    ck_assert_uint_eq(pl.len, strlen(payload));
    ag_test_guard_release(&g);
    free(fill);
}
END_TEST

/* The HS256 verify path allocates nothing, not even in OpenSSL (docs/tokens.md). */
START_TEST(hs256_verify_allocates_nothing)
{
    setup_keys();
    ag_test_clock_set(T0);
    char tok[AG_TOKEN_MAX_LEN + 1];
    ag_issued info = AG_INIT(ag_issued);
    ck_assert_int_eq(issue(k_hs, AG_TOKEN_ACCESS, "s", tok, sizeof(tok), &info), AG_OK);
    static ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c),
                     AG_OK); /* warm */
    ag_test_alloc_reset();
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(
            ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c), AG_OK);
    tok[info.len - 2] ^= 1; /* the failure path too */
    for (int i = 0; i < 100; i++)
        ck_assert_int_ne(
            ag_verify(v_access, (const uint8_t *)tok, info.len, AG_TEST_SCRATCH(&c), &c), AG_OK);
    ck_assert_int_eq(ag_test_alloc_count(), 0);
    /* the hooks really count: issuing allocates (jansson) */
    ag_test_alloc_reset();
    ck_assert_int_eq(issue(k_hs, AG_TOKEN_ACCESS, "s", tok, sizeof(tok), &info), AG_OK);
    ck_assert_int_gt(ag_test_alloc_count(), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("jws_verify_path");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, contexts_are_per_key);
    tcase_add_test(tc, eddsa_backends_agree);
    tcase_add_test(tc, verified_token_cache);
    tcase_add_test(tc, hs256_verify_allocates_nothing);
    tcase_add_test(tc, verify_scratch_contract);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return jws_test_main(suite);
}

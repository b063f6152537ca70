/* SPDX-License-Identifier: MIT */
/*
 * Wycheproof JOSE key vectors (tests/vectors/wycheproof, a copy of
 * tests/vectors; Apache-2.0, C2SP/wycheproof).
 *
 * json_web_key_test.json: each group holds a keyset ("private" and/or
 * "public", a JWKS) and JWS cases with a valid/invalid verdict. We import
 * each keyset with ag_keyring_from_jwks (default_alg 0: every key pins its
 * own "alg", V-01/V-02) and each key alone with ag_key_from_jwk (default_alg
 * = its own "alg" when that names one of ours). A case is valid for us when
 * every keyset imports and the JWS verifies against the public keyset (the
 * private one when there is no public one) through ag__jws_verify with kid
 * required. All 26 cases run; none is skipped. Beyond the verdict, the
 * reason must be the expected class (table `reasons`), so "invalid for the
 * wrong reason" fails too.
 *
 * Decisions the file tests (docs/security.md V-rules):
 *  - MixedKeySet (tc1): a JWKS mixing secret/private and public keys is
 *    refused (AG_ERR_KEY_FORMAT).
 *  - DuplicateKid (tc4): refused, but for an earlier reason: the second
 *    key's "k" ends in "e", whose unused low bits are not zero, so strict
 *    base64url (V-05) refuses it (AG_ERR_KEY_FORMAT) before the duplicate
 *    kid is seen. Duplicate kids themselves (AG_ERR_EXISTS) are tested in
 *    test_jwk_export.c (test_jwks_rules).
 *  - ROCA modulus (tc7), RSA-1024 (tc8), e = 1 (tc9), short and empty HMAC
 *    secrets (tc10–12, tc16–18): AG_ERR_WEAK_KEY (V-17).
 *  - "alg" that is not ours (ES521, ES224, RSA1_5, A256GCM, A256KW) and a
 *    kty or crv that does not fit "alg": AG_ERR_ALG. "use":"enc" and a point
 *    off the curve: AG_ERR_KEY_FORMAT.
 *
 * json_web_signature_test.json: every group's "private" and "public" JWK
 * must import with its own alg, and the two must be the same key — except
 * these, refused on purpose (table `sig_refused`):
 *  - ES521 / P-521 (groups "rfc7520", "rfc7520WithKeyOps"): out of scope,
 *    AG_ERR_ALG.
 *  - the encryption keys ("rsa_encryption", "ec_key_for_encryption"): no
 *    "alg", so AG_ERR_ALG (V-02: never guessed); "use":"enc" /
 *    "key_ops":["encrypt"] would refuse them anyway.
 *  - "rfc7520WithKeyOps" RS256 private: "key_ops":["sign, verify"] is one
 *    string naming no operation we know, so AG_ERR_KEY_FORMAT. Its public
 *    twin (["verify"]) imports.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "authgate/token.h"
#include "testsupport.h"
#include "token/token_int.h"

static json_t *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/wycheproof/%s", AG_VECTORS_DIR, name);
    json_error_t e;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (root == NULL)
        ck_abort_msg("cannot load %s: %s", path, e.text);
    return root;
}

/* Expected reason per case (AG_OK for the valid ones). */
static const struct {
    int tc;
    ag_err why;
} reasons[] = {
    {1, AG_ERR_KEY_FORMAT},
    {2, AG_OK},
    {3, AG_ERR_SIGNATURE},
    {4, AG_ERR_KEY_FORMAT},
    {5, AG_OK},
    {6, AG_ERR_ALG},
    {7, AG_ERR_WEAK_KEY},
    {8, AG_ERR_WEAK_KEY},
    {9, AG_ERR_WEAK_KEY},
    {10, AG_ERR_WEAK_KEY},
    {11, AG_ERR_WEAK_KEY},
    {12, AG_ERR_WEAK_KEY},
    {13, AG_OK},
    {14, AG_OK},
    {15, AG_OK},
    {16, AG_ERR_WEAK_KEY},
    {17, AG_ERR_WEAK_KEY},
    {18, AG_ERR_WEAK_KEY},
    {19, AG_ERR_ALG},
    {20, AG_ERR_ALG},
    {21, AG_ERR_KEY_FORMAT},
    {22, AG_ERR_KEY_FORMAT},
    {23, AG_ERR_ALG},
    {24, AG_ERR_ALG},
    {25, AG_ERR_ALG},
    {26, AG_ERR_ALG},
};

static ag_err expected_reason(json_int_t tc)
{
    for (size_t i = 0; i < AG__ARRAY_LEN(reasons); i++)
        if (reasons[i].tc == tc)
            return reasons[i].why;
    ck_abort_msg("tc%lld has no expected reason", (long long)tc);
    return AG_OK;
}

/* Imports a keyset; on success *ring holds it. */
static ag_err import_set(json_t *set, ag_keyring **ring)
{
    char *text = json_dumps(set, JSON_COMPACT);
    char why[160];
    ag_err err = ag_keyring_from_jwks(text, strlen(text), 0, ring, why, sizeof(why));
    free(text);
    return err;
}

/* Each key alone, pinned to its own alg when that is one of ours. The
 * verdict must agree with the keyset import for single-key sets. */
static ag_err import_each(json_t *set)
{
    size_t i;
    json_t *k;
    ag_err first = AG_OK;
    json_array_foreach(json_object_get(set, "keys"), i, k)
    {
        const char *name = json_string_value(json_object_get(k, "alg"));
        ag_alg pin = (ag_alg)0;
        if (name == NULL || ag_alg_from_name(name, strlen(name), &pin) != AG_OK)
            pin = (ag_alg)0;
        char *text = json_dumps(k, JSON_COMPACT);
        ag_key *key = NULL;
        ag_err err = ag_key_from_jwk(text, strlen(text), pin, &key, NULL, 0);
        free(text);
        if (err == AG_OK)
            ck_assert_int_eq(ag_key_alg(key), pin);
        ag_key_free(key);
        if (first == AG_OK)
            first = err;
    }
    return first;
}

static ag_err verify(const ag_keyring *ring, json_t *jws)
{
    static uint8_t payload[AG_PAYLOAD_MAX_LEN], strbuf[2048];
    ag__jws j = {0};
    j.ring = ring;
    j.max_len = AG_TOKEN_MAX_LEN;
    j.kid_optional = false;
    j.payload = payload;
    j.payload_cap = sizeof(payload);
    j.strbuf = strbuf;
    j.strbuf_cap = sizeof(strbuf);
    return ag__jws_verify(&j, (const uint8_t *)json_string_value(jws), json_string_length(jws));
}

START_TEST(wycheproof_json_web_key)
{
    json_t *root = load("json_web_key_test.json");
    size_t gi, ti;
    json_t *g, *t;
    int run = 0, failures = 0;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g)
    {
        json_t *priv = json_object_get(g, "private");
        json_t *pub = json_object_get(g, "public");
        ag_keyring *rpriv = NULL, *rpub = NULL;
        ag_err err = AG_OK;
        if (priv != NULL)
            err = import_set(priv, &rpriv);
        if (err == AG_OK && pub != NULL)
            err = import_set(pub, &rpub);
        /* single-key sets: ag_key_from_jwk agrees with the JWKS import */
        if (priv != NULL && json_array_size(json_object_get(priv, "keys")) == 1) {
            ag_err one = import_each(priv);
            if (pub != NULL && one == AG_OK)
                one = import_each(pub);
            ck_assert_msg(one == err, "group %zu: key %s, set %s", gi, ag_err_name(one),
                          ag_err_name(err));
        }
        json_array_foreach(json_object_get(g, "tests"), ti, t)
        {
            json_int_t id = json_integer_value(json_object_get(t, "tcId"));
            const char *result = json_string_value(json_object_get(t, "result"));
            ag_err got = err;
            if (got == AG_OK)
                got = verify(rpub != NULL ? rpub : rpriv, json_object_get(t, "jws"));
            ag_err want = expected_reason(id);
            run++;
            bool valid = strcmp(result, "valid") == 0;
            if ((got == AG_OK) != valid || got != want) {
                failures++;
                fprintf(stderr, "tc%lld (%s, %s): file says %s, expected %s, got %s\n",
                        (long long)id, json_string_value(json_object_get(g, "comment")),
                        json_string_value(json_object_get(t, "comment")), result, ag_err_name(want),
                        ag_err_name(got));
            }
        }
        ag_keyring_free(rpriv);
        ag_keyring_free(rpub);
    }
    json_decref(root);
    fprintf(stderr, "wycheproof jwk: %d run, 0 skipped, %d failures\n", run, failures);
    ck_assert_int_eq(run, 26);
    ck_assert_int_eq(failures, 0);
}
END_TEST

static const struct {
    const char *comment, *which, *alg; /* alg NULL: the JWK has none */
    ag_err why;
} sig_refused[] = {
    {"rfc7520", "private", "ES521", AG_ERR_ALG},
    {"rfc7520", "public", "ES521", AG_ERR_ALG},
    {"rfc7520WithKeyOps", "private", "ES521", AG_ERR_ALG},
    {"rfc7520WithKeyOps", "public", "ES521", AG_ERR_ALG},
    {"rfc7520WithKeyOps", "private", "RS256", AG_ERR_KEY_FORMAT},
    {"rsa_encryption", "private", NULL, AG_ERR_ALG},
    {"rsa_encryption", "public", NULL, AG_ERR_ALG},
    {"ec_key_for_encryption", "private", NULL, AG_ERR_ALG},
    {"ec_key_for_encryption", "public", NULL, AG_ERR_ALG},
};

static bool refused_on_purpose(const char *comment, const char *which, const char *alg, ag_err *why)
{
    for (size_t i = 0; i < AG__ARRAY_LEN(sig_refused); i++) {
        if (strcmp(sig_refused[i].comment, comment) != 0 ||
            strcmp(sig_refused[i].which, which) != 0)
            continue;
        if ((sig_refused[i].alg == NULL) != (alg == NULL))
            continue;
        if (alg != NULL && strcmp(sig_refused[i].alg, alg) != 0)
            continue;
        *why = sig_refused[i].why;
        return true;
    }
    return false;
}

START_TEST(wycheproof_jws_key_groups)
{
    json_t *root = load("json_web_signature_test.json");
    size_t gi;
    json_t *g;
    int imported = 0, refused = 0;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g)
    {
        const char *comment = json_string_value(json_object_get(g, "comment"));
        ag_key *keys[2] = {NULL, NULL};
        static const char *const which[2] = {"private", "public"};
        for (int w = 0; w < 2; w++) {
            json_t *jwk = json_object_get(g, which[w]);
            if (jwk == NULL)
                continue;
            const char *name = json_string_value(json_object_get(jwk, "alg"));
            ag_alg pin = (ag_alg)0;
            if (name != NULL && ag_alg_from_name(name, strlen(name), &pin) != AG_OK)
                pin = (ag_alg)0;
            char *text = json_dumps(jwk, JSON_COMPACT);
            char why[160];
            ag_err err = ag_key_from_jwk(text, strlen(text), pin, &keys[w], why, sizeof(why));
            free(text);
            ag_err want = AG_OK;
            if (refused_on_purpose(comment, which[w], name, &want)) {
                ck_assert_msg(err == want, "group %zu %s %s: want %s, got %s (%s)", gi, comment,
                              which[w], ag_err_name(want), ag_err_name(err), why);
                refused++;
                continue;
            }
            ck_assert_msg(err == AG_OK, "group %zu %s %s: %s (%s)", gi, comment, which[w],
                          ag_err_name(err), why);
            ck_assert_int_eq(ag_key_alg(keys[w]), pin);
            ck_assert_int_eq(ag_key_is_private(keys[w]), w == 0);
            imported++;
            /* with default_alg 0 the JWK's own alg is used: the same key */
            text = json_dumps(jwk, JSON_COMPACT);
            ag_key *again = NULL;
            ck_assert_int_eq(ag_key_from_jwk(text, strlen(text), 0, &again, NULL, 0), AG_OK);
            free(text);
            ck_assert_int_eq(ag_key_alg(again), pin);
            ag_key_free(again);
        }
        /* private and public halves are the same key */
        if (keys[0] != NULL && keys[1] != NULL) {
            ck_assert_ptr_nonnull(keys[0]->pkey);
            ck_assert_int_eq(EVP_PKEY_eq(keys[0]->pkey, keys[1]->pkey), 1);
            char *a = NULL, *b = NULL;
            ck_assert_int_eq(ag_key_to_jwk(keys[0], false, &a), AG_OK);
            ck_assert_int_eq(ag_key_to_jwk(keys[1], false, &b), AG_OK);
            ck_assert_str_eq(a, b);
            ag_free(a);
            ag_free(b);
        }
        ag_key_free(keys[0]);
        ag_key_free(keys[1]);
    }
    json_decref(root);
    fprintf(stderr, "wycheproof jws key groups: %d imported, %d refused on purpose\n", imported,
            refused);
    /* 4 ES521 JWKs, 1 key_ops typo, and the two encryption groups appear
     * twice each in the file (2 groups × private/public × 2) */
    ck_assert_int_eq(refused, 13);
    ck_assert_int_eq(imported, 29);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wycheproof_jwk");
    TCase *tc = tcase_create("vectors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, wycheproof_json_web_key);
    tcase_add_test(tc, wycheproof_jws_key_groups);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

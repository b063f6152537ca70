/* SPDX-License-Identifier: MIT */
/*
 * RFC 7515 Appendix A.1–A.3 and RFC 7520 §4.1, §4.2, §4.4 signature vectors
 * (tests/vectors/rfc_jws_vectors.json). Each JWK is imported with its
 * pinned alg; each compact JWS must verify at the JWS level, and a flipped
 * signature byte must not. RFC 7515's examples carry no kid in their
 * headers, so they run in the internal one-key kid_optional mode.
 */
#include <string.h>

#include <jansson.h>

#include "authgate/token.h"
#include "testsupport.h"
#include "token/token_int.h"

static ag_err jws_verify(const ag_keyring *ring, const char *tok, size_t len)
{
    static uint8_t payload[AG_PAYLOAD_MAX_LEN], strbuf[2048];
    ag__jws j = {0};
    j.ring = ring;
    j.max_len = AG_TOKEN_MAX_LEN;
    j.kid_optional = true;
    j.payload = payload;
    j.payload_cap = sizeof(payload);
    j.strbuf = strbuf;
    j.strbuf_cap = sizeof(strbuf);
    return ag__jws_verify(&j, (const uint8_t *)tok, len);
}

START_TEST(rfc_vectors)
{
    json_error_t e;
    json_t *root = json_load_file(AG_VECTORS_DIR "/rfc_jws_vectors.json", 0, &e);
    ck_assert_msg(root != NULL, "cannot load vectors: %s", e.text);
    size_t i;
    json_t *v;
    int n = 0;
    json_array_foreach(json_object_get(root, "vectors"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        char *jwk = json_dumps(json_object_get(v, "jwk"), JSON_COMPACT);
        ag_key *key = NULL;
        ag_err err = ag_key_from_jwk(jwk, strlen(jwk), 0, &key, NULL, 0);
        free(jwk);
        ck_assert_msg(err == AG_OK, "%s: key import %s", name, ag_err_name(err));
        ag_keyring *ring = NULL;
        ck_assert_int_eq(ag_keyring_new(NULL, &ring), AG_OK);
        ck_assert_int_eq(ag_keyring_add(ring, key), AG_OK);
        const char *tok = json_string_value(json_object_get(v, "compact"));
        size_t len = strlen(tok);
        err = jws_verify(ring, tok, len);
        ck_assert_msg(err == AG_OK, "%s: %s", name, ag_err_name(err));
        char *bad = strdup(tok);
        bad[len - 5] = bad[len - 5] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(jws_verify(ring, bad, len), AG_ERR_SIGNATURE);
        free(bad);
        ag_keyring_free(ring);
        ag_key_free(key);
        n++;
    }
    ck_assert_int_eq(n, 6);
    json_decref(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rfc_vectors");
    TCase *tc = tcase_create("vectors");
    tcase_add_test(tc, rfc_vectors);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

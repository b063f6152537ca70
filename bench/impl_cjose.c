/* SPDX-License-Identifier: MIT */
/*
 * cjose 0.6 rows, written the way its users write them (cjose verifies the
 * JWS; claims are the application's job, done with jansson):
 *   verify: cjose_jws_import, protected header alg == expected, typ ==
 *           "at+jwt", kid == ours, cjose_jws_verify with the JWK (imported
 *           once per thread from ag_key_to_jwk's output),
 *           cjose_jws_get_plaintext, json_loadb(JSON_REJECT_DUPLICATES), iss
 *           and aud equal, sub and jti strings, exp/iat/nbf integers against
 *           time(NULL) with a 30 s leeway; json_decref, cjose_jws_release.
 *   hotpath: the first Authorization header, "Bearer " case-insensitively,
 *           then verify as above (cjose takes a length: no copy needed).
 *   sign:   claims built with jansson and json_dumps'd, a cjose header with
 *           alg/typ/kid, cjose_jws_sign with the private JWK,
 *           cjose_jws_export.
 * cjose 0.6 has no EdDSA: that row is absent.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/rand.h>

typedef struct cj_st {
    bench_fx *fx;
    cjose_jwk_t *pub, *priv;
    const char *tok;
    size_t len;
    bench_request rq;
    cjose_jws_t *last; /* sign: owns the exported text */
    const char *out;
} cj_st;

static void cj_fini(void *p)
{
    cj_st *s = p;
    if (s == NULL)
        return;
    cjose_jwk_release(s->pub);
    cjose_jwk_release(s->priv);
    cjose_jws_release(s->last);
    free(s);
}

static void *cj_init(bench_fx *fx, const char *token, size_t len)
{
    cj_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fx = fx;
    s->tok = token;
    s->len = len;
    bench_request_init(&s->rq, token, len);
    cjose_err err;
    s->pub = cjose_jwk_import(fx->jwk_pub, strlen(fx->jwk_pub), &err);
    s->priv = cjose_jwk_import(fx->jwk_priv, strlen(fx->jwk_priv), &err);
    if (s->pub == NULL || s->priv == NULL) {
        cj_fini(s);
        return NULL;
    }
    return s;
}

static int str_is(json_t *o, const char *name, const char *want)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v != NULL && (want == NULL || strcmp(v, want) == 0);
}

static int aud_ok(json_t *o)
{
    json_t *a = json_object_get(o, "aud");
    if (json_is_string(a))
        return strcmp(json_string_value(a), BENCH_AUD) == 0;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) if (json_is_string(e) &&
                                    strcmp(json_string_value(e), BENCH_AUD) == 0) return 1;
    return 0;
}

static int claims_ok(json_t *c)
{
    if (!json_is_object(c) || !str_is(c, "iss", BENCH_ISS) || !aud_ok(c) ||
        !str_is(c, "sub", NULL) || !str_is(c, "jti", NULL))
        return 0;
    json_t *exp = json_object_get(c, "exp"), *iat = json_object_get(c, "iat"),
           *nbf = json_object_get(c, "nbf");
    if (!json_is_integer(exp) || !json_is_integer(iat) || (nbf != NULL && !json_is_integer(nbf)))
        return 0;
    json_int_t now = (json_int_t)bench_now();
    if (now >= json_integer_value(exp) + BENCH_LEEWAY ||
        json_integer_value(iat) > now + BENCH_LEEWAY)
        return 0;
    if (nbf != NULL && now < json_integer_value(nbf) - BENCH_LEEWAY)
        return 0;
    return 1;
}

static int verify_bytes(cj_st *s, const char *tok, size_t len)
{
    cjose_err err;
    cjose_jws_t *jws = cjose_jws_import(tok, len, &err);
    if (jws == NULL)
        return 0;
    int ok = 0;
    cjose_header_t *h = cjose_jws_get_protected(jws);
    const char *alg = h != NULL ? cjose_header_get(h, CJOSE_HDR_ALG, &err) : NULL;
    const char *typ = h != NULL ? cjose_header_get(h, "typ", &err) : NULL;
    const char *kid = h != NULL ? cjose_header_get(h, CJOSE_HDR_KID, &err) : NULL;
    if (alg == NULL || strcmp(alg, s->fx->jwa) != 0 || typ == NULL || strcmp(typ, "at+jwt") != 0 ||
        kid == NULL || strcmp(kid, s->fx->kid) != 0)
        goto done;
    if (!cjose_jws_verify(jws, s->pub, &err))
        goto done;
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    if (!cjose_jws_get_plaintext(jws, &pt, &pt_len, &err))
        goto done;
    json_error_t jerr;
    json_t *c = json_loadb((const char *)pt, pt_len, JSON_REJECT_DUPLICATES, &jerr);
    ok = c != NULL && claims_ok(c);
    json_decref(c);
done:
    cjose_jws_release(jws);
    return ok;
}

static int cj_verify_benchop(void *p)
{
    cj_st *s = p;
    return verify_bytes(s, s->tok, s->len);
}

static int cj_hotpath_benchop(void *p)
{
    cj_st *s = p;
    for (size_t i = 0; i < s->rq.n; i++) {
        const bench_hdr *h = &s->rq.h[i];
        if (h->name_len == 13 && strncasecmp(h->name, "authorization", 13) == 0) {
            if (h->value_len < 8 || strncasecmp(h->value, "bearer ", 7) != 0)
                return 0;
            return verify_bytes(s, h->value + 7, h->value_len - 7);
        }
    }
    return 0;
}

static int cj_sign_benchop(void *p)
{
    cj_st *s = p;
    uint8_t rnd[32];
    char jti[48];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    bench_b64url_encode(rnd, sizeof(rnd), jti);
    json_int_t now = (json_int_t)bench_now();
    json_t *c = json_object();
    json_object_set_new(c, "iss", json_string(BENCH_ISS));
    json_object_set_new(c, "sub", json_string(BENCH_SUB));
    json_object_set_new(c, "aud", json_string(BENCH_AUD));
    json_object_set_new(c, "exp", json_integer(now + BENCH_TTL));
    json_object_set_new(c, "iat", json_integer(now));
    json_object_set_new(c, "jti", json_string(jti));
    char *pl = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    if (pl == NULL)
        return -1;
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    int ok = h != NULL && cjose_header_set(h, CJOSE_HDR_ALG, s->fx->jwa, &err) &&
             cjose_header_set(h, "typ", "at+jwt", &err) &&
             cjose_header_set(h, CJOSE_HDR_KID, s->fx->kid, &err);
    cjose_jws_t *jws =
        ok ? cjose_jws_sign(s->priv, h, (const uint8_t *)pl, strlen(pl), &err) : NULL;
    cjose_header_release(h);
    free(pl);
    const char *out = NULL;
    if (jws == NULL || !cjose_jws_export(jws, &out, &err)) {
        cjose_jws_release(jws);
        return -1;
    }
    cjose_jws_release(s->last);
    s->last = jws;
    s->out = out;
    return 1;
}

static const char *cj_output(void *p, size_t *len)
{
    cj_st *s = p;
    *len = s->out != NULL ? strlen(s->out) : 0;
    return s->out;
}

void bench_cjose_rows(bench_rows *r, bench_fx *fx)
{
    if (fx->jwa[0] == 'E' && fx->jwa[1] == 'd')
        return;
    bench_row row = {.impl = "cjose", .fx = fx, .timed = true, .init = cj_init, .fini = cj_fini};
    row.case_name = bench_case_name("verify", fx);
    row.kind = KIND_VERIFY;
    row.op = cj_verify_benchop;
    bench_rows_add(r, &row);
    row.case_name = bench_case_name("hotpath", fx);
    row.kind = KIND_HOTPATH;
    row.op = cj_hotpath_benchop;
    bench_rows_add(r, &row);
    row.case_name = bench_case_name("sign", fx);
    row.kind = KIND_SIGN;
    row.op = cj_sign_benchop;
    row.output = cj_output;
    bench_rows_add(r, &row);
}

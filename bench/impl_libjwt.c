/* SPDX-License-Identifier: MIT */
/*
 * libjwt 1.10 rows, written the way its users write them (libjwt 1.10 has no
 * claim validator of its own):
 *   verify: jwt_decode(&jwt, token, key, key_len) — HMAC: the raw secret;
 *           ES/RS: the public key PEM, which libjwt parses on every call —
 *           then jwt_get_alg == the expected alg (libjwt takes the alg from
 *           the token), header typ == "JWT", grants iss and aud equal,
 *           sub and jti present, exp/nbf/iat against time(NULL) with the
 *           same 30 s leeway; jwt_free.
 *   hotpath: the first Authorization header, "Bearer " case-insensitively,
 *           token copied NUL-terminated (jwt_decode wants a C string), then
 *           verify as above.
 *   sign:   jwt_new, grants iss/sub/aud/exp/iat/jti (32 random bytes,
 *           base64url), headers typ and kid, jwt_set_alg with the secret or
 *           the private key PEM, jwt_encode_str.
 * libjwt 1.10 has neither EdDSA nor PS256: those rows are absent. It also
 * refuses every typ but "JWT" (jwt_decode → EINVAL) and writes typ "JWT"
 * over ours when signing, so it verifies the typ "JWT" twins of the tokens
 * (same key, same claims, encoded by fixtures.c) and checks typ == "JWT".
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/rand.h>

typedef struct lj_st {
    bench_fx *fx;
    jwt_alg_t alg;
    const char *tok; /* NUL-terminated */
    bench_request rq;
    char buf[8300];
    char *out;
    size_t out_len;
} lj_st;

static jwt_alg_t alg_of(const bench_fx *fx)
{
    if (strcmp(fx->jwa, "HS256") == 0)
        return JWT_ALG_HS256;
    if (strcmp(fx->jwa, "ES256") == 0)
        return JWT_ALG_ES256;
    if (strcmp(fx->jwa, "RS256") == 0)
        return JWT_ALG_RS256;
    return JWT_ALG_INVAL;
}

static void *lj_init(bench_fx *fx, const char *token, size_t len)
{
    lj_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fx = fx;
    s->alg = alg_of(fx);
    size_t twin_len = 0;
    const char *twin = bench_fx_jwt_twin(fx, token, &twin_len);
    if (twin != NULL) {
        token = twin;
        len = twin_len;
    }
    s->tok = token;
    bench_request_init(&s->rq, token, len);
    return s;
}

static void lj_fini(void *p)
{
    lj_st *s = p;
    if (s != NULL)
        free(s->out);
    free(s);
}

static int check(jwt_t *jwt, jwt_alg_t alg)
{
    if (jwt_get_alg(jwt) != alg)
        return 0;
    const char *typ = jwt_get_header(jwt, "typ");
    if (typ == NULL || strcmp(typ, "JWT") != 0)
        return 0;
    const char *iss = jwt_get_grant(jwt, "iss");
    const char *aud = jwt_get_grant(jwt, "aud");
    if (iss == NULL || strcmp(iss, BENCH_ISS) != 0 || aud == NULL || strcmp(aud, BENCH_AUD) != 0)
        return 0;
    if (jwt_get_grant(jwt, "sub") == NULL || jwt_get_grant(jwt, "jti") == NULL)
        return 0;
    long now = (long)bench_now();
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno != 0 || now >= exp + BENCH_LEEWAY)
        return 0;
    errno = 0;
    long iat = jwt_get_grant_int(jwt, "iat");
    if (errno != 0 || iat > now + BENCH_LEEWAY)
        return 0;
    errno = 0;
    long nbf = jwt_get_grant_int(jwt, "nbf");
    if (errno == 0 && now < nbf - BENCH_LEEWAY)
        return 0;
    return 1;
}

static int verify_str(lj_st *s, const char *tok)
{
    const bench_fx *fx = s->fx;
    const unsigned char *key;
    int key_len;
    if (fx->jwa[0] == 'H') {
        key = fx->secret;
        key_len = (int)sizeof(fx->secret);
    } else {
        key = (const unsigned char *)fx->pub_pem;
        key_len = (int)fx->pub_pem_len;
    }
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, tok, key, key_len) != 0)
        return 0;
    int ok = check(jwt, s->alg);
    jwt_free(jwt);
    return ok;
}

static int lj_verify_benchop(void *p)
{
    lj_st *s = p;
    return verify_str(s, s->tok);
}

static int lj_hotpath_benchop(void *p)
{
    lj_st *s = p;
    if (bench_find_bearer(&s->rq, s->buf, sizeof(s->buf)) < 0)
        return 0;
    return verify_str(s, s->buf);
}

static int lj_sign_benchop(void *p)
{
    lj_st *s = p;
    const bench_fx *fx = s->fx;
    uint8_t rnd[32];
    char jti[48];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    bench_b64url_encode(rnd, sizeof(rnd), jti);
    long now = (long)bench_now();
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return -1;
    int rc = jwt_add_header(jwt, "typ", "at+jwt") | jwt_add_header(jwt, "kid", fx->kid) |
             jwt_add_grant(jwt, "iss", BENCH_ISS) | jwt_add_grant(jwt, "sub", BENCH_SUB) |
             jwt_add_grant(jwt, "aud", BENCH_AUD) | jwt_add_grant_int(jwt, "exp", now + BENCH_TTL) |
             jwt_add_grant_int(jwt, "iat", now) | jwt_add_grant(jwt, "jti", jti);
    if (fx->jwa[0] == 'H')
        rc |= jwt_set_alg(jwt, s->alg, fx->secret, (int)sizeof(fx->secret));
    else
        rc |= jwt_set_alg(jwt, s->alg, (const unsigned char *)fx->priv_pem, (int)fx->priv_pem_len);
    char *out = rc == 0 ? jwt_encode_str(jwt) : NULL;
    jwt_free(jwt);
    if (out == NULL)
        return -1;
    free(s->out);
    s->out = out;
    s->out_len = strlen(out);
    return 1;
}

static const char *lj_output(void *p, size_t *len)
{
    lj_st *s = p;
    *len = s->out_len;
    return s->out;
}

void bench_libjwt_rows(bench_rows *r, bench_fx *fx)
{
    if (alg_of(fx) == JWT_ALG_INVAL)
        return;
    bench_row row = {.impl = "libjwt", .fx = fx, .timed = true, .init = lj_init, .fini = lj_fini};
    row.case_name = bench_case_name("verify", fx);
    row.kind = KIND_VERIFY;
    row.op = lj_verify_benchop;
    bench_rows_add(r, &row);
    row.case_name = bench_case_name("hotpath", fx);
    row.kind = KIND_HOTPATH;
    row.op = lj_hotpath_benchop;
    bench_rows_add(r, &row);
    row.case_name = bench_case_name("sign", fx);
    row.kind = KIND_SIGN;
    row.op = lj_sign_benchop;
    row.output = lj_output;
    bench_rows_add(r, &row);
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate rows: ag_verify (token → verified claims, with the verifier's full
 * policy: typ at+jwt, iss, aud, exp, nbf, iat, lifetime), the same with the
 * verified-token cache on (verify_cached_<alg>: one verifier with
 * cache_entries = BENCH_CACHE_ENTRIES shared by every thread, the same token
 * verified again and again, so every op after the first is a hit: SHA-256 of
 * the token, a cache lookup, then the full claim checks) and ag_issue (a
 * fresh access token: random jti, claims JSON, signature).
 */
#include "bench.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/metrics.h"
#include "authgate/token.h"

typedef struct ag_st {
    bench_fx *fx;
    const uint8_t *tok;
    size_t len;
    ag_claims claims; /* views into scratch, reused per thread */
    uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    char out[AG_TOKEN_MAX_LEN + 1];
    size_t out_len;
} ag_st;

static void *ag_init(bench_fx *fx, const char *token, size_t len)
{
    ag_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fx = fx;
    s->claims.size = sizeof s->claims;
    s->tok = (const uint8_t *)token;
    s->len = len;
    return s;
}

static void ag_fini(void *p)
{
    free(p);
}

static int ag_verify_benchop(void *p)
{
    ag_st *s = p;
    ag_err e =
        ag_verify(s->fx->ag_verifier, s->tok, s->len, s->scratch, sizeof s->scratch, &s->claims);
    if (e == AG_OK)
        return s->claims.sub.len == strlen(BENCH_SUB) ? 1 : -1;
    return e == AG_ERR_NOMEM || e == AG_ERR_CRYPTO || e == AG_ERR_INVALID_ARGUMENT ? -1 : 0;
}

static int ag_verify_cached_benchop(void *p)
{
    ag_st *s = p;
    ag_err e = ag_verify(s->fx->ag_verifier_cached, s->tok, s->len, s->scratch, sizeof s->scratch,
                         &s->claims);
    if (e == AG_OK)
        return s->claims.sub.len == strlen(BENCH_SUB) ? 1 : -1;
    return e == AG_ERR_NOMEM || e == AG_ERR_CRYPTO || e == AG_ERR_INVALID_ARGUMENT ? -1 : 0;
}

static int ag_sign_benchop(void *p)
{
    ag_st *s = p;
    ag_issue_params prm = {.size = sizeof(ag_issue_params), .sub = BENCH_SUB};
    ag_issued info = AG_INIT(ag_issued);
    if (ag_issue(s->fx->ag_issuer, &prm, s->out, sizeof(s->out), &info) != AG_OK)
        return -1;
    s->out_len = info.len;
    return 1;
}

static const char *ag_output(void *p, size_t *len)
{
    ag_st *s = p;
    *len = s->out_len;
    return s->out;
}

/* Metrics off for as long as any thread runs a "-metrics-off" row: the
 * same op with the process-wide counters and sampled clock reads skipped
 * (metrics.h), beside the default rows that run with them on. */
static atomic_int metrics_off_rows;

void *bench_metrics_off_init(void *st)
{
    if (st != NULL && atomic_fetch_add(&metrics_off_rows, 1) == 0)
        ag_metrics_enable(false);
    return st;
}

void bench_metrics_off_fini(void)
{
    if (atomic_fetch_sub(&metrics_off_rows, 1) == 1)
        ag_metrics_enable(true);
}

static void *ag_init_metrics_off(bench_fx *fx, const char *token, size_t len)
{
    return bench_metrics_off_init(ag_init(fx, token, len));
}

static void ag_fini_metrics_off(void *p)
{
    ag_fini(p);
    if (p != NULL)
        bench_metrics_off_fini();
}

void bench_authgate_rows(bench_rows *r, bench_fx *fx)
{
    bench_row v = {.case_name = bench_case_name("verify", fx),
                   .impl = "authgate",
                   .kind = KIND_VERIFY,
                   .fx = fx,
                   .timed = true,
                   .init = ag_init,
                   .op = ag_verify_benchop,
                   .fini = ag_fini};
    bench_rows_add(r, &v);
    if (strcmp(fx->lname, "hs256") == 0) {
        bench_row off = v;
        off.impl = "authgate-metrics-off";
        off.init = ag_init_metrics_off;
        off.fini = ag_fini_metrics_off;
        bench_rows_add(r, &off);
    }
    /* reported against the floor of verify_<alg> (main.c): the crypto it
     * skips is that same work */
    bench_row vc = v;
    vc.case_name = bench_case_name("verify_cached", fx);
    vc.op = ag_verify_cached_benchop;
    bench_rows_add(r, &vc);
    bench_row s = {.case_name = bench_case_name("sign", fx),
                   .impl = "authgate",
                   .kind = KIND_SIGN,
                   .fx = fx,
                   .timed = true,
                   .init = ag_init,
                   .op = ag_sign_benchop,
                   .fini = ag_fini,
                   .output = ag_output};
    bench_rows_add(r, &s);
}

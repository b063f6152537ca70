/* SPDX-License-Identifier: MIT */
/*
 * authgate hotpath row: ag_http_authenticate with the default policy — the
 * request's header list (eight fields, Authorization last) → URL-credential
 * check → the one Authorization field → Bearer token → ag_verify → claims.
 * Built only when the HTTP layer exists (AG_BENCH_HAVE_HTTP).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authgate/http.h"
#include "authgate/revocation.h"

typedef struct agh_st {
    bench_fx *fx;
    const ag_verifier *v; /* fx->ag_verifier, or one with a revocation set */
    bench_request rq;
    ag_header hdr[BENCH_NHDR];
    ag_http_request req;
    ag_claims claims;
    uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
} agh_st;

static void *agh_init(bench_fx *fx, const char *token, size_t len)
{
    agh_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fx = fx;
    s->claims.size = sizeof s->claims;
    s->v = fx->ag_verifier;
    bench_request_init(&s->rq, token, len);
    for (size_t i = 0; i < s->rq.n; i++) {
        s->hdr[i].name = (ag_span){(const uint8_t *)s->rq.h[i].name, s->rq.h[i].name_len};
        s->hdr[i].value = (ag_span){(const uint8_t *)s->rq.h[i].value, s->rq.h[i].value_len};
    }
    s->req.size = sizeof s->req;
    s->req.method = (ag_span){(const uint8_t *)"GET", 3};
    s->req.headers = s->hdr;
    s->req.nheaders = s->rq.n;
    s->req.query = (ag_span){(const uint8_t *)"", 0};
    return s;
}

static void agh_fini(void *p)
{
    free(p);
}

static int agh_benchop(void *p)
{
    agh_st *s = p;
    ag_err e = ag_http_authenticate(NULL, s->v, &s->req, s->scratch, sizeof s->scratch, &s->claims);
    if (e == AG_OK)
        return s->claims.sub.len == strlen(BENCH_SUB) ? 1 : -1;
    return e == AG_ERR_NOMEM || e == AG_ERR_CRYPTO || e == AG_ERR_INVALID_ARGUMENT ? -1 : 0;
}

/* hotpath_hs256 with revocation checking on: the same policy with a set
 * that is empty, and with 1,000,000 entries of other subjects (the bench
 * token has no sid, so the check is one lookup: its sub). */
static ag_revset *g_sets[2];
static ag_verifier *g_rv[2];

static void *agh_init_rs(int which, bench_fx *fx, const char *token, size_t len)
{
    agh_st *s = agh_init(fx, token, len);
    if (s != NULL)
        s->v = g_rv[which];
    return s;
}

static void *agh_init_empty(bench_fx *fx, const char *token, size_t len)
{
    return agh_init_rs(0, fx, token, len);
}

static void *agh_init_metrics_off(bench_fx *fx, const char *token, size_t len)
{
    return bench_metrics_off_init(agh_init(fx, token, len));
}

static void agh_fini_metrics_off(void *p)
{
    agh_fini(p);
    if (p != NULL)
        bench_metrics_off_fini();
}

static void *agh_init_full(bench_fx *fx, const char *token, size_t len)
{
    return agh_init_rs(1, fx, token, len);
}

static int revset_verifiers(bench_fx *fx)
{
    static const size_t sizes[2] = {0, 1000000};
    for (int i = 0; i < 2; i++) {
        ag_revset_config rc = {.size = sizeof(ag_revset_config),
                               .entry_ttl = 86400,
                               .capacity = sizes[i] ? sizes[i] : 1024};
        int64_t now = (int64_t)time(NULL);
        if (ag_revset_new(&rc, &g_sets[i]) != AG_OK)
            return -1;
        char sub[32];
        for (size_t k = 0; k < sizes[i]; k++) {
            int n = snprintf(sub, sizeof sub, "revoked-user-%zu", k);
            if (ag_revset_add_subject(g_sets[i], sub, (size_t)n, now) != AG_OK)
                return -1;
        }
        ag_verifier_config vc = {.size = sizeof(ag_verifier_config),
                                 .keys = fx->ag_ring,
                                 .kind = AG_TOKEN_ACCESS,
                                 .issuer = BENCH_ISS,
                                 .audience = BENCH_AUD,
                                 .leeway = BENCH_LEEWAY,
                                 .revocations = g_sets[i]};
        if (ag_verifier_new(&vc, &g_rv[i]) != AG_OK)
            return -1;
    }
    return 0;
}

void bench_authgate_http_free(void)
{
    for (int i = 0; i < 2; i++) {
        ag_verifier_free(g_rv[i]);
        ag_revset_free(g_sets[i]);
        g_rv[i] = NULL;
        g_sets[i] = NULL;
    }
}

void bench_authgate_http_rows(bench_rows *r, bench_fx *fx)
{
    bench_row row = {.case_name = bench_case_name("hotpath", fx),
                     .impl = "authgate",
                     .kind = KIND_HOTPATH,
                     .fx = fx,
                     .timed = true,
                     .init = agh_init,
                     .op = agh_benchop,
                     .fini = agh_fini};
    bench_rows_add(r, &row);
    if (strcmp(fx->lname, "hs256") == 0 && g_rv[0] == NULL && revset_verifiers(fx) == 0) {
        row.impl = "authgate-revset-empty";
        row.init = agh_init_empty;
        bench_rows_add(r, &row);
        row.impl = "authgate-revset-1m";
        row.init = agh_init_full;
        bench_rows_add(r, &row);
        row.impl = "authgate-metrics-off";
        row.init = agh_init_metrics_off;
        row.fini = agh_fini_metrics_off;
        bench_rows_add(r, &row);
    }
}

/*
 * authgate hotpath row: ag_http_authenticate with the default policy — the
 * request's header list (eight fields, Authorization last) → URL-credential
 * check → the one Authorization field → Bearer token → ag_verify → claims.
 * Built only when the HTTP layer exists (AG_BENCH_HAVE_HTTP).
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include "authgate/http.h"

typedef struct agh_st {
    bench_fx *fx;
    bench_request rq;
    ag_header hdr[BENCH_NHDR];
    ag_http_request req;
    ag_claims claims;
} agh_st;

static void *agh_init(bench_fx *fx, const char *token, size_t len)
{
    agh_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fx = fx;
    bench_request_init(&s->rq, token, len);
    for (size_t i = 0; i < s->rq.n; i++) {
        s->hdr[i].name = (ag_span){(const uint8_t *)s->rq.h[i].name, s->rq.h[i].name_len};
        s->hdr[i].value = (ag_span){(const uint8_t *)s->rq.h[i].value, s->rq.h[i].value_len};
    }
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
    ag_err e = ag_http_authenticate(NULL, s->fx->ag_verifier, &s->req, &s->claims);
    if (e == AG_OK)
        return s->claims.sub.len == strlen(BENCH_SUB) ? 1 : -1;
    return e == AG_ERR_NOMEM || e == AG_ERR_CRYPTO || e == AG_ERR_INVALID_ARGUMENT ? -1 : 0;
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
}

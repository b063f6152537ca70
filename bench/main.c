/* SPDX-License-Identifier: MIT */
/*
 * authgate-bench — the hot path, side by side (bench/README.md, issue 6).
 *
 *   authgate-bench [--json] [--filter SUBSTR] [--threads N] [--seconds S]
 *                  [--reps R] [--smoke] [--list]
 *
 * One process: fixtures (keys, tokens) are made once; then an agreement
 * check (every verifier accepts the valid token and rejects each negative
 * token; tokens signed by every comparator verify with authgate); then each
 * row is timed: a warm-up, then R ≥ 5 repetitions of a fixed slice of S
 * seconds, on 1 thread and, with --threads N, on N threads at once. Reported
 * per row: the median ns/op (per thread), min and max over repetitions,
 * aggregate ops/s, heap allocations per op. The exit status is 1 when any
 * implementation disagrees or fails; timings never fail a run.
 */
#include "bench.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authgate/token.h"
#include "common/isa_hook.h" /* --isa: the library's one test hook */

#ifdef AG_BENCH_HAVE_LIBJWT
#define HAVE_LIBJWT 1
#else
#define HAVE_LIBJWT 0
#endif
#ifdef AG_BENCH_HAVE_CJOSE
#define HAVE_CJOSE 1
#else
#define HAVE_CJOSE 0
#endif
#ifdef AG_BENCH_HAVE_SODIUM
#define HAVE_SODIUM 1
#else
#define HAVE_SODIUM 0
#endif

#define MAX_REPS 50

typedef struct opts {
    bool json, smoke, list;
    const char *filter;
    int threads;
    double seconds;
    int reps;
    uint64_t count;  /* --count: a fixed number of ops per repetition (profiling) */
    const char *isa; /* --isa: which of the library's SIMD paths may run */
} opts;

typedef struct result {
    const bench_row *row;
    const char *impl; /* row->impl, or "openssl-floor" for the synthesised row */
    const char *via;  /* the variant a synthesised floor came from */
    int threads;
    double ns_med, ns_min, ns_max; /* per thread, per op */
    double ops_s;                  /* aggregate, median repetition */
    double allocs;                 /* per op */
    bool failed;
} result;

/* ---- small helpers -------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_rows_add(bench_rows *r, const bench_row *row)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        bench_row *v = realloc(r->v, cap * sizeof(*v));
        if (v == NULL) {
            fprintf(stderr, "authgate-bench: out of memory\n");
            exit(2);
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = *row;
}

static void hdr_set(bench_hdr *h, const char *name, const char *value, size_t value_len)
{
    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->value_len = value_len;
}

void bench_request_init(bench_request *rq, const char *token, size_t len)
{
    static const char *const fixed[][2] = {
        {"Host", "api.bench.example"},
        {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
        {"Accept", "application/json"},
        {"Accept-Encoding", "gzip, deflate, br, zstd"},
        {"Accept-Language", "en-US,en;q=0.5"},
        {"Connection", "keep-alive"},
        {"X-Request-Id", "7b0c6f0e-9d0f-4f5e-8f55-1a2b3c4d5e6f"},
    };
    size_t n = 0;
    for (; n < sizeof(fixed) / sizeof(fixed[0]); n++)
        hdr_set(&rq->h[n], fixed[n][0], fixed[n][1], strlen(fixed[n][1]));
    if (len > sizeof(rq->auth) - 8)
        len = sizeof(rq->auth) - 8;
    memcpy(rq->auth, "Bearer ", 7);
    memcpy(rq->auth + 7, token, len);
    rq->auth[7 + len] = '\0';
    hdr_set(&rq->h[n++], "Authorization", rq->auth, 7 + len);
    rq->n = n;
}

long bench_find_bearer(const bench_request *rq, char *buf, size_t cap)
{
    for (size_t i = 0; i < rq->n; i++) {
        const bench_hdr *h = &rq->h[i];
        if (h->name_len != 13 || strncasecmp(h->name, "authorization", 13) != 0)
            continue;
        if (h->value_len < 8 || strncasecmp(h->value, "bearer ", 7) != 0)
            return -1;
        size_t n = h->value_len - 7;
        if (n + 1 > cap)
            return -1;
        memcpy(buf, h->value + 7, n);
        buf[n] = '\0';
        return (long)n;
    }
    return -1;
}

/* ---- the agreement check ------------------------------------------------- */

static int run_once(const bench_row *row, const char *tok, size_t len)
{
    void *st = row->init(row->fx, tok, len);
    if (st == NULL)
        return -2;
    int rc = row->op(st);
    /* a second call on the same state must give the same answer */
    int rc2 = row->op(st);
    row->fini(st);
    return rc == rc2 ? rc : -3;
}

static const char *verdict(int rc)
{
    switch (rc) {
    case 1:
        return "accept";
    case 0:
        return "reject";
    case -2:
        return "init failed";
    case -3:
        return "unstable";
    default:
        return "error";
    }
}

static int agreement(const bench_rows *rows, bool verbose)
{
    int bad = 0;
    for (size_t i = 0; i < rows->n; i++) {
        const bench_row *r = &rows->v[i];
        bench_fx *fx = r->fx;
        if (r->kind == KIND_VERIFY || r->kind == KIND_HOTPATH) {
            int rc = run_once(r, fx->token, fx->token_len);
            if (rc != 1) {
                fprintf(stderr, "DISAGREE %s/%s: valid token: %s\n", r->case_name, r->impl,
                        verdict(rc));
                bad++;
            }
            for (int b = 0; b < BAD_COUNT_; b++) {
                int want = r->crypto_only && !bench_bad_is_crypto((bench_bad)b) ? 1 : 0;
                rc = run_once(r, fx->bad[b], fx->bad_len[b]);
                if (rc != want) {
                    fprintf(stderr, "DISAGREE %s/%s: %s: %s, expected %s\n", r->case_name, r->impl,
                            bench_bad_name((bench_bad)b), verdict(rc), verdict(want));
                    bad++;
                }
            }
            if (strcmp(r->impl, "authgate") == 0 && r->kind == KIND_VERIFY) {
                rc = run_once(r, fx->foreign, fx->foreign_len);
                if (rc != 1) {
                    fprintf(stderr, "DISAGREE %s/authgate: token encoded by the bench: %s\n",
                            r->case_name, verdict(rc));
                    bad++;
                }
            }
        } else if (r->kind == KIND_SIGN && r->output != NULL) {
            /* what a comparator signs must verify with authgate */
            void *st = r->init(fx, fx->token, fx->token_len);
            int rc = st != NULL ? r->op(st) : -2;
            size_t len = 0;
            const char *out = rc == 1 ? r->output(st, &len) : NULL;
            ag_claims claims = AG_INIT(ag_claims), *c = &claims;
            uint8_t *scratch = malloc(AG_VERIFY_SCRATCH_MAX);
            /* libjwt writes typ "JWT": checked with a verifier that skips typ */
            const ag_verifier *v =
                strcmp(r->impl, "libjwt") == 0 ? fx->ag_verifier_any : fx->ag_verifier;
            ag_err e = out != NULL && scratch != NULL ? ag_verify(v, (const uint8_t *)out, len,
                                                                  scratch, AG_VERIFY_SCRATCH_MAX, c)
                                                      : AG_ERR_INVALID_ARGUMENT;
            if (e != AG_OK) {
                fprintf(stderr, "DISAGREE %s/%s: signed token %s by authgate (%s)\n", r->case_name,
                        r->impl, rc == 1 ? "rejected" : "not made",
                        rc == 1 ? ag_err_reason(e) : verdict(rc));
                bad++;
            }
            free(scratch);
            if (st != NULL)
                r->fini(st);
        }
    }
    if (verbose)
        fprintf(stderr, "agreement check: %zu rows, %d disagreements\n", rows->n, bad);
    return bad;
}

/* ---- timing ---------------------------------------------------------------- */

typedef struct worker {
    pthread_t tid;
    const bench_row *row;
    const opts *o;
    pthread_barrier_t *bar;
    double warm_s;
    /* per repetition */
    uint64_t ops[MAX_REPS];
    double secs[MAX_REPS];
    uint64_t allocs[MAX_REPS];
    uint64_t calls; /* every op call, warm-up included (--count) */
    int failed;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    const bench_row *r = w->row;
    void *st = r->init(r->fx, r->fx->token, r->fx->token_len);
    if (st == NULL)
        w->failed = 1;
    /* warm-up, and the batch size: about 0.5 ms of work between clock reads */
    uint64_t batch = 1, done = 0;
    double t0 = now_s(), t;
    if (!w->failed && w->o->count > 0) {
        for (uint64_t i = 0; i < w->o->count / 10 + 1; i++)
            if (r->op(st) != 1)
                w->failed = 1;
        w->calls += w->o->count / 10 + 1;
        batch = w->o->count;
    } else if (!w->failed) {
        do {
            for (uint64_t i = 0; i < batch; i++)
                if (r->op(st) != 1)
                    w->failed = 1;
            done += batch;
            t = now_s();
            if (t - t0 < 0.0005 * (double)done / (double)batch)
                batch *= 2;
        } while (!w->failed && t - t0 < w->warm_s);
        double per = (t - t0) / (double)done;
        batch = (uint64_t)(0.0005 / per);
        if (batch < 1)
            batch = 1;
    }
    for (int rep = 0; rep < w->o->reps; rep++) {
        pthread_barrier_wait(w->bar);
        if (w->failed)
            continue;
        uint64_t a0 = bench_alloc_count(), n = 0;
        double s0 = now_s(), s1;
        do {
            for (uint64_t i = 0; i < batch; i++)
                if (r->op(st) != 1)
                    w->failed = 1;
            n += batch;
            s1 = now_s();
        } while (w->o->count == 0 && s1 - s0 < w->o->seconds);
        w->calls += n;
        w->allocs[rep] = bench_alloc_count() - a0;
        w->ops[rep] = n;
        w->secs[rep] = s1 - s0;
    }
    if (st != NULL)
        r->fini(st);
    ag_thread_cleanup();
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static result time_row(const bench_row *row, int threads, const opts *o)
{
    result res = {.row = row, .impl = row->impl, .threads = threads};
    worker *w = calloc((size_t)threads, sizeof(*w));
    pthread_barrier_t bar;
    if (w == NULL || pthread_barrier_init(&bar, NULL, (unsigned)threads) != 0) {
        free(w);
        res.failed = true;
        return res;
    }
    for (int i = 0; i < threads; i++) {
        w[i].row = row;
        w[i].o = o;
        w[i].bar = &bar;
        w[i].warm_s = o->smoke ? o->seconds : fmax(0.05, o->seconds / 2);
        if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "authgate-bench: pthread_create failed\n");
            exit(2);
        }
    }
    double ns[MAX_REPS], tput[MAX_REPS];
    uint64_t total_ops = 0, total_allocs = 0;
    uint64_t calls = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].tid, NULL);
        res.failed |= w[i].failed != 0;
        calls += w[i].calls;
    }
    if (o->count > 0)
        fprintf(stderr, "%s/%s: %llu op calls in all (warm-up included)\n", row->case_name,
                row->impl, (unsigned long long)calls);
    for (int rep = 0; rep < o->reps; rep++) {
        uint64_t ops = 0;
        double wall = 0;
        for (int i = 0; i < threads; i++) {
            ops += w[i].ops[rep];
            total_allocs += w[i].allocs[rep];
            if (w[i].secs[rep] > wall)
                wall = w[i].secs[rep];
        }
        total_ops += ops;
        ns[rep] = ops ? wall * 1e9 * threads / (double)ops : 0;
        tput[rep] = wall > 0 ? (double)ops / wall : 0;
    }
    pthread_barrier_destroy(&bar);
    free(w);
    res.allocs = total_ops ? (double)total_allocs / (double)total_ops : 0;
    res.ns_med = median(ns, o->reps);
    res.ns_min = ns[0];
    res.ns_max = ns[o->reps - 1];
    res.ops_s = median(tput, o->reps);
    return res;
}

/* Times every row of v (one case, one thread count) rep by rep in turn:
 * each repetition is one time_row call with its own warm-up. */
static void time_interleaved(result *v, size_t n, int threads, const opts *o)
{
    opts one = *o;
    one.reps = 1;
    double ns[64][MAX_REPS], tput[64][MAX_REPS], allocs[64];
    if (n > 64)
        n = 64;
    for (size_t k = 0; k < n; k++)
        allocs[k] = 0;
    for (int rep = 0; rep < o->reps; rep++) {
        for (size_t k = 0; k < n; k++) {
            result r = time_row(v[k].row, threads, &one);
            v[k].failed |= r.failed;
            ns[k][rep] = r.ns_med;
            tput[k][rep] = r.ops_s;
            allocs[k] += r.allocs;
        }
    }
    for (size_t k = 0; k < n; k++) {
        v[k].allocs = allocs[k] / o->reps;
        v[k].ns_med = median(ns[k], o->reps); /* sorts ns[k] */
        v[k].ns_min = ns[k][0];
        v[k].ns_max = ns[k][o->reps - 1];
        v[k].ops_s = median(tput[k], o->reps);
    }
}

/* ---- output ---------------------------------------------------------------- */

static bool is_floor_variant(const char *impl)
{
    return strncmp(impl, "openssl-", 8) == 0 && strcmp(impl, "openssl-floor") != 0;
}

static const result *find(const result *v, size_t n, const char *case_name, const char *impl,
                          int threads)
{
    for (size_t i = 0; i < n; i++)
        if (!v[i].failed && v[i].threads == threads &&
            strcmp(v[i].row->case_name, case_name) == 0 && strcmp(v[i].impl, impl) == 0)
            return &v[i];
    return NULL;
}

static void print_json(const result *r, const result *one)
{
    printf("{\"case\":\"%s\",\"impl\":\"%s\",\"ns_per_op\":%.1f,\"ops_per_s\":%.0f,"
           "\"allocs_per_op\":%.2f,\"threads\":%d,\"min_ns\":%.1f,\"max_ns\":%.1f",
           r->row->case_name, r->impl, r->ns_med, r->ops_s, r->allocs, r->threads, r->ns_min,
           r->ns_max);
    if (r->via != NULL)
        printf(",\"via\":\"%s\"", r->via);
    if (one != NULL && r->threads > 1 && one->ops_s > 0)
        printf(",\"scaling\":%.2f", r->ops_s / one->ops_s);
    if (r->failed)
        printf(",\"failed\":true");
    printf("}\n");
}

/* The floor row of a case. verify_cached_<alg> has none of its own: what
 * the cache saves is the crypto of verify_<alg>, so it is reported against
 * that case's floor. */
static const result *find_floor(const result *v, size_t n, const char *case_name, int threads)
{
    static const char cached[] = "verify_cached_", rotate[] = "rotate_";
    if (strncmp(case_name, rotate, sizeof(rotate) - 1) == 0) {
        /* rotate_<backend>: the backend's bare compare-and-set, <backend>-floor */
        char impl[64];
        snprintf(impl, sizeof(impl), "%s-floor", case_name + sizeof(rotate) - 1);
        return find(v, n, case_name, impl, threads);
    }
    const result *fl = find(v, n, case_name, "openssl-floor", threads);
    if (fl == NULL && strncmp(case_name, cached, sizeof(cached) - 1) == 0) {
        char plain[64];
        snprintf(plain, sizeof(plain), "verify_%s", case_name + sizeof(cached) - 1);
        fl = find(v, n, plain, "openssl-floor", threads);
    }
    return fl;
}

static void print_table(const result *v, size_t n, const char *case_name)
{
    printf("\n%s\n", case_name);
    printf("  %-18s %3s %11s %21s %12s %7s %8s %8s\n", "impl", "thr", "ns/op", "min..max", "ops/s",
           "allocs", "x floor", "x authg");
    for (size_t i = 0; i < n; i++) {
        const result *r = &v[i];
        if (strcmp(r->row->case_name, case_name) != 0)
            continue;
        if (r->failed) {
            printf("  %-18s %3d   FAILED\n", r->impl, r->threads);
            continue;
        }
        const result *fl = find_floor(v, n, case_name, r->threads);
        const result *ag = find(v, n, case_name, "authgate", r->threads);
        char range[32], xf[16] = "-", xa[16] = "-";
        snprintf(range, sizeof(range), "%.0f..%.0f", r->ns_min, r->ns_max);
        if (fl != NULL)
            snprintf(xf, sizeof(xf), "%.2f", r->ns_med / fl->ns_med);
        if (ag != NULL)
            snprintf(xa, sizeof(xa), "%.2f", r->ns_med / ag->ns_med);
        printf("  %-18s %3d %11.1f %21s %12.0f %7.2f %8s %8s", r->impl, r->threads, r->ns_med,
               range, r->ops_s, r->allocs, xf, xa);
        const result *one = r->threads > 1 ? find(v, n, case_name, r->impl, 1) : NULL;
        if (one != NULL && one->ops_s > 0)
            printf("  scaling %.2fx", r->ops_s / one->ops_s);
        if (r->via != NULL)
            printf("  (= %s)", r->via);
        printf("\n");
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: authgate-bench [--json] [--filter SUBSTR] [--threads N] [--seconds S]\n"
               "                      [--reps R] [--smoke] [--list]\n"
               "  --seconds S  length of one timed repetition (default 0.2)\n"
               "  --reps R     repetitions per row, >= 5 (default 5)\n"
               "  --threads N  also run every row on N threads at once (default 1: only 1)\n"
               "  --filter S   only rows whose \"case/impl\" contains S (hs256, cjose,\n"
               "               verify_es256/authgate; a trailing $ anchors at the end)\n"
               "  --smoke      agreement check plus a token timing run (ctest)\n"
               "  --count N    exactly N ops per repetition, untimed slices (for callgrind:\n"
               "               bench/callgrind.sh)\n"
               "  --isa I      the library's SIMD paths allowed: all (default), avx2 (no\n"
               "               SHA extensions: HMAC and SHA-256 through OpenSSL), none\n");
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.threads = 1, .seconds = 0.2, .reps = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (strcmp(a, "--smoke") == 0)
            o->smoke = true;
        else if (strcmp(a, "--list") == 0)
            o->list = true;
        else if (strcmp(a, "--filter") == 0 && v != NULL)
            o->filter = argv[++i];
        else if (strcmp(a, "--threads") == 0 && v != NULL)
            o->threads = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--seconds") == 0 && v != NULL)
            o->seconds = strtod(argv[++i], NULL);
        else if (strcmp(a, "--count") == 0 && v != NULL)
            o->count = strtoull(argv[++i], NULL, 10);
        else if (strcmp(a, "--isa") == 0 && v != NULL)
            o->isa = argv[++i];
        else if (strcmp(a, "--reps") == 0 && v != NULL)
            o->reps = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            return -1;
        }
    }
    if (o->threads < 1 || o->threads > 256 || !(o->seconds > 0) || o->seconds > 60 || o->reps < 5 ||
        o->reps > MAX_REPS) {
        fprintf(stderr, "authgate-bench: --threads 1..256, --seconds (0, 60], --reps 5..%d\n",
                MAX_REPS);
        return -1;
    }
    return 0;
}

/* The filter is a substring of "case/impl", e.g. "hs256", "cjose" or
 * "verify_es256/authgate"; a trailing '$' anchors it at the end, so
 * "verify_hs256/authgate$" is that row alone, not also
 * "verify_hs256/authgate-metrics-off" (bench/callgrind.sh runs rows so). */
static bool wanted(const opts *o, const bench_row *r)
{
    if (o->filter == NULL)
        return true;
    char name[128];
    int n = snprintf(name, sizeof(name), "%s/%s", r->case_name, r->impl);
    size_t fl = strlen(o->filter);
    if (fl > 0 && o->filter[fl - 1] == '$')
        return n > 0 && (size_t)n >= fl - 1 &&
               memcmp(name + (size_t)n - (fl - 1), o->filter, fl - 1) == 0;
    return strstr(name, o->filter) != NULL;
}

/* Fixtures are made only for the algorithms the filter can select. */
static bool alg_wanted(const opts *o, const char *const *names, size_t n, const char *alg)
{
    if (o->filter == NULL)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strstr(o->filter, names[i]) != NULL)
            return strstr(o->filter, alg) != NULL;
    return true;
}

int main(int argc, char **argv)
{
    bench_alloc_hooks_install(); /* before any other OpenSSL or jansson call */
    opts o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    /* Before any key exists: HS256 keys get their SHA-extensions midstates
     * at import only when that path is allowed. */
    if (o.isa != NULL) {
        if (strcmp(o.isa, "avx2") == 0)
            ag__cpu_restrict(AG__CPU_AVX2 | AG__CPU_SSE2);
        else if (strcmp(o.isa, "none") == 0)
            ag__cpu_restrict(0);
        else if (strcmp(o.isa, "all") != 0) {
            usage(stderr);
            return 2;
        }
        if (!o.json)
            fprintf(stderr, "library SIMD paths: %s%s%s%s\n",
                    (ag__cpu_features() & AG__CPU_SSE2) ? "SSE2 " : "",
                    (ag__cpu_features() & AG__CPU_AVX2) ? "AVX2 " : "",
                    (ag__cpu_features() & AG__CPU_SHANI) ? "SHA-NI" : "",
                    ag__cpu_features() == 0 ? "none" : "");
    }

    static const char *const alg_names[] = {"hs256", "es256", "eddsa", "rs256", "ps256"};
    enum { NALG = sizeof(alg_names) / sizeof(alg_names[0]) };
    bench_fx fx[NALG];
    bool have_fx[NALG] = {false};
    bench_rows rows = {0};
    for (int i = 0; i < NALG; i++) {
        if (!alg_wanted(&o, alg_names, NALG, alg_names[i]))
            continue;
        if (bench_fx_init(&fx[i], alg_names[i]) != 0)
            return 2;
        have_fx[i] = true;
        bench_authgate_rows(&rows, &fx[i]);
#ifdef AG_BENCH_HAVE_HTTP
        bench_authgate_http_rows(&rows, &fx[i]);
#endif
#ifdef AG_BENCH_HAVE_SESSION
        bench_session_rows(&rows, &fx[i]);
        bench_store_rows(&rows, &fx[i]);
#endif
#ifdef AG_BENCH_HAVE_PG
        bench_pg_rows(&rows, &fx[i]);
#endif
        bench_floor_rows(&rows, &fx[i]);
#ifdef AG_BENCH_HAVE_LIBJWT
        bench_libjwt_rows(&rows, &fx[i]);
#endif
#ifdef AG_BENCH_HAVE_CJOSE
        bench_cjose_rows(&rows, &fx[i]);
#endif
#ifdef AG_BENCH_HAVE_SODIUM
        bench_sodium_rows(&rows, &fx[i]);
#endif
    }
    if (o.list) {
        for (size_t i = 0; i < rows.n; i++)
            if (wanted(&o, &rows.v[i]))
                printf("%s %s\n", rows.v[i].case_name, rows.v[i].impl);
        return 0;
    }

    /* --count runs are for callgrind: no other op may run in the process */
    int disagreements = o.count > 0 ? 0 : agreement(&rows, !o.json);

    /* Timed rows, in registration order; cases keep their first-seen order. */
    const char *cases[64];
    size_t ncases = 0;
    result *res = calloc(rows.n * 4 + 8, sizeof(*res));
    size_t nres = 0;
    int tcounts[2] = {1, o.threads};
    int nt = o.threads > 1 ? 2 : 1;
    if (!o.json)
        fprintf(stderr,
                "timing: %d x %.3f s per row, the rows of a case in turn%s, allocations "
                "counted by %s\n",
                o.reps, o.seconds, o.threads > 1 ? " (and again on N threads)" : "",
                bench_alloc_method());
    /* Rows are timed case by case, and within a case repetition by
     * repetition in turn (rep 1 of every row, then rep 2, ...), each
     * repetition with its own warm-up: a slow moment of a shared machine
     * then lands on one repetition of every row alike instead of on all
     * repetitions of one row, and the medians and ratios stay comparable.
     * --count (profiling) keeps one call per row. */
    for (size_t i = 0; i < rows.n; i++) {
        const bench_row *r = &rows.v[i];
        if (!wanted(&o, r) || !r->timed)
            continue;
        size_t c = 0;
        while (c < ncases && strcmp(cases[c], r->case_name) != 0)
            c++;
        if (c == ncases && ncases < 64)
            cases[ncases++] = r->case_name;
    }
    for (size_t c = 0; c < ncases; c++) {
        for (int t = 0; t < nt; t++) {
            size_t first = nres;
            for (size_t i = 0; i < rows.n; i++) {
                const bench_row *r = &rows.v[i];
                if (wanted(&o, r) && r->timed && strcmp(r->case_name, cases[c]) == 0)
                    res[nres++] = (result){.row = r, .impl = r->impl, .threads = tcounts[t]};
            }
            if (o.count > 0) {
                for (size_t k = first; k < nres; k++)
                    res[k] = time_row(res[k].row, tcounts[t], &o);
            } else {
                time_interleaved(res + first, nres - first, tcounts[t], &o);
            }
            for (size_t k = first; k < nres; k++) {
                if (res[k].failed) {
                    fprintf(stderr,
                            "FAILED %s/%s on %d thread(s): an operation failed while timed\n",
                            res[k].row->case_name, res[k].row->impl, tcounts[t]);
                    disagreements++;
                }
            }
        }
    }
    /* openssl-floor for HMAC: the fastest measured variant */
    for (size_t c = 0; c < ncases; c++) {
        for (int t = 0; t < nt; t++) {
            const result *best = NULL;
            for (size_t i = 0; i < nres; i++)
                if (!res[i].failed && res[i].threads == tcounts[t] &&
                    strcmp(res[i].row->case_name, cases[c]) == 0 && is_floor_variant(res[i].impl) &&
                    (best == NULL || res[i].ns_med < best->ns_med))
                    best = &res[i];
            if (best != NULL) {
                res[nres] = *best;
                res[nres].impl = "openssl-floor";
                res[nres].via = best->impl;
                nres++;
            }
        }
    }
    for (size_t c = 0; c < ncases; c++) {
        if (o.json) {
            for (size_t i = 0; i < nres; i++)
                if (strcmp(res[i].row->case_name, cases[c]) == 0)
                    print_json(&res[i], res[i].threads > 1
                                            ? find(res, nres, cases[c], res[i].impl, 1)
                                            : NULL);
        } else {
            print_table(res, nres, cases[c]);
        }
    }
    if (!o.json)
        printf("\nlibjwt %s, cjose %s, libsodium %s; %s\n", HAVE_LIBJWT ? "in" : "absent",
               HAVE_CJOSE ? "in" : "absent", HAVE_SODIUM ? "in" : "absent",
               disagreements ? "DISAGREEMENTS (see stderr)" : "all implementations agree");
    fflush(stdout);
    free(res);
    free(rows.v);
#ifdef AG_BENCH_HAVE_SESSION
    bench_session_free();
    bench_store_free();
#ifdef AG_BENCH_HAVE_HTTP
    bench_authgate_http_free();
#endif
#endif
#ifdef AG_BENCH_HAVE_PG
    bench_pg_free();
#endif
    for (int i = 0; i < NALG; i++)
        if (have_fx[i])
            bench_fx_free(&fx[i]);
    ag_thread_cleanup();
    return disagreements ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate rotation rows: rotate_memory and rotate_sqlite. Each thread logs
 * in once (ag_session_issue: a family of its own), then every op is one
 * ag_session_refresh of the newest refresh token: verify (HS256, rt+jwt) →
 * SHA-256(jti) → one atomic store rotate → a new access + refresh pair. The
 * store and the session manager are shared by the threads, as in a server.
 * Built only when the session layer exists (AG_BENCH_HAVE_SESSION).
 */
#include "bench.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authgate/session.h"
#include "authgate/store.h"

typedef struct rot_ctx {
    ag_store *store;
    ag_session *session;
    ag_issuer *access, *refresh;
    ag_verifier *verifier;
    char path[64];
} rot_ctx;

static rot_ctx g_mem, g_sql;

static int rot_ctx_init(rot_ctx *c, bench_fx *fx, bool sqlite)
{
    ag_err e;
    if (sqlite) {
        snprintf(c->path, sizeof(c->path), "/tmp/authgate-bench-%ld.db", (long)getpid());
        (void)unlink(c->path);
        ag_store_sqlite_config sc = {.size = sizeof(ag_store_sqlite_config), .path = c->path};
        e = ag_store_sqlite_open(&sc, &c->store);
    } else {
        /* Every rotation leaves its used row behind until it expires (that
         * is how reuse is detected), and a full run rotates ~1.2 million
         * times: 16 M rows keep the store from filling (the tables are
         * calloc'd, so untouched buckets cost no memory). */
        ag_store_memory_config mc = {.size = sizeof(ag_store_memory_config), .capacity = 16u << 20};
        e = ag_store_memory_new(&mc, &c->store);
    }
    if (e != AG_OK) {
        fprintf(stderr, "authgate-bench: %s store: %s\n", sqlite ? "sqlite" : "memory",
                ag_strerror(e));
        return -1;
    }
    ag_issuer_config ac = {.size = sizeof(ag_issuer_config),
                           .key = fx->ag_key,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = BENCH_ISS,
                           .audience = BENCH_AUD,
                           .ttl = 900};
    ag_issuer_config rc = {.size = sizeof(ag_issuer_config),
                           .key = fx->ag_key,
                           .kind = AG_TOKEN_REFRESH,
                           .issuer = BENCH_ISS,
                           .audience = BENCH_ISS "/auth/refresh",
                           .ttl = 14 * 86400};
    ag_verifier_config vc = {.size = sizeof(ag_verifier_config),
                             .keys = fx->ag_ring,
                             .kind = AG_TOKEN_REFRESH,
                             .issuer = BENCH_ISS,
                             .audience = BENCH_ISS "/auth/refresh",
                             .leeway = BENCH_LEEWAY};
    if (ag_issuer_new(&ac, &c->access) != AG_OK || ag_issuer_new(&rc, &c->refresh) != AG_OK ||
        ag_verifier_new(&vc, &c->verifier) != AG_OK)
        return -1;
    ag_session_config sc = {.size = sizeof(ag_session_config),
                            .access_issuer = c->access,
                            .refresh_issuer = c->refresh,
                            .refresh_verifier = c->verifier,
                            .store = c->store};
    if ((e = ag_session_new(&sc, &c->session)) != AG_OK) {
        fprintf(stderr, "authgate-bench: session: %s\n", ag_strerror(e));
        return -1;
    }
    return 0;
}

static void rot_ctx_free(rot_ctx *c)
{
    ag_session_free(c->session);
    ag_store_close(c->store);
    ag_issuer_free(c->access);
    ag_issuer_free(c->refresh);
    ag_verifier_free(c->verifier);
    if (c->path[0] != '\0') {
        char p[80];
        (void)unlink(c->path);
        snprintf(p, sizeof(p), "%s-wal", c->path);
        (void)unlink(p);
        snprintf(p, sizeof(p), "%s-shm", c->path);
        (void)unlink(p);
    }
    memset(c, 0, sizeof(*c));
}

typedef struct rot_st {
    rot_ctx *ctx;
    ag_session_tokens *cur, *next;
} rot_st;

static void rot_fini(void *p)
{
    rot_st *s = p;
    if (s == NULL)
        return;
    ag_session_tokens_free(s->cur); /* wipes */
    ag_session_tokens_free(s->next);
    free(s);
}

static void *rot_init(rot_ctx *c)
{
    rot_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->ctx = c;
    if (ag_session_tokens_new(NULL, &s->cur) != AG_OK ||
        ag_session_tokens_new(NULL, &s->next) != AG_OK ||
        ag_session_issue(c->session, BENCH_SUB, s->cur) != AG_OK) {
        rot_fini(s);
        return NULL;
    }
    return s;
}

static void *rot_mem_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    return rot_init(&g_mem);
}

static void *rot_sql_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    return rot_init(&g_sql);
}

static int rot_benchop(void *p)
{
    rot_st *s = p;
    ag_err e = ag_session_refresh(s->ctx->session, (const uint8_t *)s->cur->refresh,
                                  s->cur->refresh_len, s->next);
    if (e != AG_OK) {
        static atomic_flag said = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set(&said)) /* once, not once per op */
            fprintf(stderr, "authgate-bench: refresh: %s\n", ag_strerror(e));
        return -1;
    }
    ag_session_tokens *t = s->cur;
    s->cur = s->next;
    s->next = t;
    return 1;
}

void bench_session_rows(bench_rows *r, bench_fx *fx)
{
    if (strcmp(fx->lname, "hs256") != 0)
        return;
    bench_row row = {.impl = "authgate",
                     .kind = KIND_ROTATE,
                     .fx = fx,
                     .timed = true,
                     .op = rot_benchop,
                     .fini = rot_fini};
    if (rot_ctx_init(&g_mem, fx, false) == 0) {
        row.case_name = "rotate_memory";
        row.init = rot_mem_init;
        bench_rows_add(r, &row);
    }
    if (ag_store_sqlite_available() && rot_ctx_init(&g_sql, fx, true) == 0) {
        row.case_name = "rotate_sqlite";
        row.init = rot_sql_init;
        bench_rows_add(r, &row);
    }
}

void bench_session_free(void)
{
    rot_ctx_free(&g_mem);
    rot_ctx_free(&g_sql);
}

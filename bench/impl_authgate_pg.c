/* SPDX-License-Identifier: MIT */
/*
 * authgate rotation rows on PostgreSQL: the case rotate_postgres, present
 * when AG_PG_CONNINFO names a database the bench may create (and drop) a
 * schema in (bench/pg_compare.sh starts a throwaway cluster for it).
 *
 *   authgate        one ag_session_refresh over the PostgreSQL store, as
 *                   rotate_memory and rotate_sqlite: verify → SHA-256(jti)
 *                   → the store's rotation → a new token pair.
 *   authgate-store  ag_store_rotate alone (hashes ready-made): the store's
 *                   one compare-and-set UPDATE … RETURNING round trip.
 *   postgres-floor    the floor: one prepared UPDATE … RETURNING of one row
 *                   of the same table over one connection with raw libpq,
 *                   binary parameters, nothing else.
 *
 * Each thread has its own family (its own row) and, for the floor, its own
 * connection; the store's pool is as large as the bench's thread count can
 * use, so no thread waits for a connection.
 */
#include "bench.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "authgate/session.h"
#include "authgate/store.h"

#define PG_POOL 64

typedef struct pg_ctx {
    char base[1024]; /* AG_PG_CONNINFO */
    char ci[2048];   /* base with search_path = schema */
    char schema[64];
    ag_store *store;
    ag_session *session;
    ag_issuer *access, *refresh;
    ag_verifier *verifier;
    atomic_uint next_id;
} pg_ctx;

static pg_ctx g_pg;

static void quiet(void *arg, const char *msg)
{
    (void)arg, (void)msg;
}

/* base conninfo (key=value or URI) plus options=-csearch_path=schema. */
static int conninfo_with_schema(const char *base, const char *schema, char *out, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &err);
    if (opts == NULL) {
        fprintf(stderr, "authgate-bench: AG_PG_CONNINFO: %s\n", err != NULL ? err : "invalid");
        PQfreemem(err);
        return -1;
    }
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL && n + 8 < cap; o++) {
        if (o->val == NULL || strcmp(o->keyword, "options") == 0)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s='", o->keyword);
        for (const char *c = o->val; *c != '\0' && n + 4 < cap; c++) {
            if (*c == '\'' || *c == '\\')
                out[n++] = '\\';
            out[n++] = *c;
        }
        n += (size_t)snprintf(out + n, cap - n, "' ");
    }
    PQconninfoFree(opts);
    if (n + 64 >= cap)
        return -1;
    snprintf(out + n, cap - n, "options='-csearch_path=%s'", schema);
    return 0;
}

static PGconn *pg_connect(const char *ci)
{
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "authgate-bench: postgres: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static int pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "authgate-bench: postgres: %s", PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

static int pg_ctx_init(pg_ctx *c, bench_fx *fx, const char *base)
{
    snprintf(c->base, sizeof(c->base), "%s", base);
    snprintf(c->schema, sizeof(c->schema), "ag_bench_%ld", (long)getpid());
    char sql[200];
    PGconn *raw = pg_connect(base);
    if (raw == NULL)
        return -1;
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", c->schema,
             c->schema);
    int rc = pg_exec(raw, sql);
    PQfinish(raw);
    if (rc != 0 || conninfo_with_schema(base, c->schema, c->ci, sizeof(c->ci)) != 0)
        return -1;
    ag_store_pg_config pc = {
        .size = sizeof(ag_store_pg_config), .conninfo = c->ci, .pool_size = PG_POOL};
    ag_err e = ag_store_pg_open(&pc, &c->store);
    if (e != AG_OK) {
        fprintf(stderr, "authgate-bench: postgres store: %s\n", ag_strerror(e));
        return -1;
    }
    ag_issuer_config ac = {.size = sizeof(ag_issuer_config),
                           .key = fx->ag_key,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = BENCH_ISS,
                           .audience = BENCH_AUD,
                           .ttl = 900};
    ag_issuer_config rc2 = {.size = sizeof(ag_issuer_config),
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
    if (ag_issuer_new(&ac, &c->access) != AG_OK || ag_issuer_new(&rc2, &c->refresh) != AG_OK ||
        ag_verifier_new(&vc, &c->verifier) != AG_OK)
        return -1;
    /* every thread of every timing run logs in once: no session cap here */
    ag_session_config sc = {.size = sizeof(ag_session_config),
                            .access_issuer = c->access,
                            .refresh_issuer = c->refresh,
                            .refresh_verifier = c->verifier,
                            .store = c->store,
                            .max_sessions = 1u << 20};
    if ((e = ag_session_new(&sc, &c->session)) != AG_OK) {
        fprintf(stderr, "authgate-bench: session: %s\n", ag_strerror(e));
        return -1;
    }
    return 0;
}

static void pg_ctx_free(pg_ctx *c)
{
    ag_session_free(c->session);
    ag_store_close(c->store);
    ag_issuer_free(c->access);
    ag_issuer_free(c->refresh);
    ag_verifier_free(c->verifier);
    if (c->schema[0] != '\0') {
        PGconn *raw = pg_connect(c->base);
        if (raw != NULL) {
            char sql[100];
            snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", c->schema);
            (void)pg_exec(raw, sql);
            PQfinish(raw);
        }
    }
    memset(c, 0, sizeof(*c));
}

/* ---- authgate: ag_session_refresh ----------------------------------------- */

typedef struct sess_st {
    ag_session_tokens *cur, *next;
} sess_st;

static void sess_fini(void *p)
{
    sess_st *s = p;
    if (s == NULL)
        return;
    ag_session_tokens_free(s->cur); /* wipes */
    ag_session_tokens_free(s->next);
    free(s);
}

static void *sess_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    sess_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    if (ag_session_tokens_new(NULL, &s->cur) != AG_OK ||
        ag_session_tokens_new(NULL, &s->next) != AG_OK ||
        ag_session_issue(g_pg.session, BENCH_SUB, s->cur) != AG_OK) {
        sess_fini(s);
        return NULL;
    }
    return s;
}

static int sess_benchop(void *p)
{
    sess_st *s = p;
    ag_err e = ag_session_refresh(g_pg.session, (const uint8_t *)s->cur->refresh,
                                  s->cur->refresh_len, s->next);
    if (e != AG_OK) {
        static atomic_flag said = ATOMIC_FLAG_INIT;
        if (!atomic_flag_test_and_set(&said))
            fprintf(stderr, "authgate-bench: postgres refresh: %s\n", ag_strerror(e));
        return -1;
    }
    ag_session_tokens *t = s->cur;
    s->cur = s->next;
    s->next = t;
    return 1;
}

/* ---- authgate-store: ag_store_rotate --------------------------------------- */

typedef struct store_st {
    char sid[32];
    uint64_t gen;
    uint8_t salt[24]; /* makes this thread's hashes its own */
} store_st;

static void hash_of(const store_st *s, uint64_t gen, uint8_t h[AG_STORE_HASH_LEN])
{
    memcpy(h, &gen, sizeof(gen));
    memcpy(h + sizeof(gen), s->salt, AG_STORE_HASH_LEN - sizeof(gen));
}

static void *store_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    store_st *s = calloc(1, sizeof(*s));
    if (s == NULL || ag_random(s->salt, sizeof(s->salt)) != AG_OK) {
        free(s);
        return NULL;
    }
    snprintf(s->sid, sizeof(s->sid), "bench-store-%u", atomic_fetch_add(&g_pg.next_id, 1));
    int64_t now = bench_now();
    ag_store_family f;
    memset(&f, 0, sizeof(f));
    f.sid_len = strlen(s->sid);
    memcpy(f.sid, s->sid, f.sid_len);
    f.subject_len = strlen(BENCH_SUB);
    memcpy(f.subject, BENCH_SUB, f.subject_len);
    f.created = now;
    f.expires = now + 14 * 86400;
    hash_of(s, 0, f.current);
    f.current_issued = now;
    f.current_expires = now + 86400;
    if (ag_store_create(g_pg.store, &f, now) != AG_OK) {
        free(s);
        return NULL;
    }
    return s;
}

static int store_benchop(void *p)
{
    store_st *s = p;
    ag_store_rotation r;
    ag_store_rotated out;
    memset(&r, 0, sizeof(r));
    r.action = AG_STORE_REFRESH;
    hash_of(s, s->gen, r.old_hash);
    hash_of(s, s->gen + 1, r.new_hash);
    r.sid = s->sid;
    r.sid_len = strlen(s->sid);
    r.subject = BENCH_SUB;
    r.subject_len = strlen(BENCH_SUB);
    r.now = bench_now();
    r.new_expires = r.now + 86400;
    if (ag_store_rotate(g_pg.store, &r, &out) != AG_OK || out.outcome != AG_STORE_ROTATED)
        return -1;
    s->gen++;
    return 1;
}

static void store_fini(void *p)
{
    free(p);
}

/* ---- postgres-floor: one prepared UPDATE … RETURNING with raw libpq ----------- */

typedef struct floor_st {
    PGconn *c;
    char sid[32];
} floor_st;

static void floor_fini(void *p)
{
    floor_st *s = p;
    if (s == NULL)
        return;
    PQfinish(s->c);
    free(s);
}

static void *floor_init(bench_fx *fx, const char *t, size_t n)
{
    (void)fx, (void)t, (void)n;
    floor_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    snprintf(s->sid, sizeof(s->sid), "bench-floor-%u", atomic_fetch_add(&g_pg.next_id, 1));
    s->c = pg_connect(g_pg.ci);
    if (s->c == NULL) {
        free(s);
        return NULL;
    }
    const char *v[2] = {s->sid, BENCH_SUB};
    PGresult *r = PQexecParams(s->c,
                               "INSERT INTO ag_families (sid, subject, created, expires)"
                               " VALUES ($1, $2, 1, 9000000000)",
                               2, NULL, v, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    r = PQprepare(s->c, "floor",
                  "UPDATE ag_families SET generation = generation + 1 WHERE sid = $1"
                  " RETURNING generation",
                  1, NULL);
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        fprintf(stderr, "authgate-bench: postgres floor: %s", PQerrorMessage(s->c));
        floor_fini(s);
        return NULL;
    }
    return s;
}

static int floor_benchop(void *p)
{
    floor_st *s = p;
    const char *v[1] = {s->sid};
    int len[1] = {(int)strlen(s->sid)};
    int fmt[1] = {1};
    PGresult *r = PQexecPrepared(s->c, "floor", 1, v, len, fmt, 1);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    return ok ? 1 : -1;
}

void bench_pg_rows(bench_rows *r, bench_fx *fx)
{
    const char *base = getenv("AG_PG_CONNINFO");
    if (strcmp(fx->lname, "hs256") != 0 || !ag_store_pg_available())
        return;
    if (base == NULL || base[0] == '\0') {
        fprintf(stderr, "authgate-bench: AG_PG_CONNINFO not set: rotate_postgres absent"
                        " (bench/pg_compare.sh runs it on a throwaway cluster)\n");
        return;
    }
    if (pg_ctx_init(&g_pg, fx, base) != 0) {
        fprintf(stderr, "authgate-bench: rotate_postgres absent\n");
        return;
    }
    bench_row row = {.case_name = "rotate_postgres", .kind = KIND_ROTATE, .fx = fx, .timed = true};
    row.impl = "authgate";
    row.init = sess_init;
    row.op = sess_benchop;
    row.fini = sess_fini;
    bench_rows_add(r, &row);
    row.impl = "authgate-store";
    row.init = store_init;
    row.op = store_benchop;
    row.fini = store_fini;
    bench_rows_add(r, &row);
    row.impl = "postgres-floor";
    row.init = floor_init;
    row.op = floor_benchop;
    row.fini = floor_fini;
    bench_rows_add(r, &row);
}

void bench_pg_free(void)
{
    if (g_pg.store != NULL || g_pg.schema[0] != '\0')
        pg_ctx_free(&g_pg);
}

/* SPDX-License-Identifier: MIT */
/*
 * test_store_pg's fixture (pg_fixture.h): the server (started by pg_cluster.c), raw SQL for the
 * tests (never through the store), a fresh schema per case, stores opened
 * on it, and the store calls the cases share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "testsupport.h"

char base_conninfo[1024];
char own_dir[256];
unsigned seq;

/* ---- raw SQL for the tests (never through the store) ------------------- */

static void quiet(void *arg, const char *msg);

/* base conninfo with search_path = schema (any conninfo form, URIs too). */
static void conninfo_for(const char *base, const char *schema, char *out, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &err);
    ck_assert_msg(opts != NULL, "bad conninfo: %s", err != NULL ? err : "?");
    size_t n = 0;
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || strcmp(o->keyword, "options") == 0)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s='", o->keyword);
        for (const char *c = o->val; *c != '\0' && n + 3 < cap; c++) {
            if (*c == '\'' || *c == '\\')
                out[n++] = '\\';
            out[n++] = *c;
        }
        n += (size_t)snprintf(out + n, cap - n, "' ");
        ck_assert_uint_lt(n, cap);
    }
    if (schema != NULL)
        n += (size_t)snprintf(out + n, cap - n, "options='-csearch_path=%s'", schema);
    ck_assert_uint_lt(n, cap);
    PQconninfoFree(opts);
}

PGconn *raw_connect(const char *base, const char *schema)
{
    char ci[2048];
    conninfo_for(base, schema, ci, sizeof ci);
    PGconn *c = PQconnectdb(ci);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

void raw_exec_on(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(c));
    PQclear(r);
}

void raw_exec(const char *schema, const char *sql)
{
    PGconn *c = raw_connect(base_conninfo, schema);
    raw_exec_on(c, sql);
    PQfinish(c);
}

/* The first column of the first row as text (caller frees). */
char *raw_text(const char *base, const char *schema, const char *sql)
{
    PGconn *c = raw_connect(base, schema);
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                  PQerrorMessage(c));
    char *v = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    ck_assert_ptr_nonnull(v);
    return v;
}

long long raw_int(const char *schema, const char *sql)
{
    char *v = raw_text(base_conninfo, schema, sql);
    long long x = strtoll(v, NULL, 10);
    free(v);
    return x;
}

void new_schema(char *name, size_t cap)
{
    uint8_t r[4];
    ck_assert_int_eq(ag_random(r, sizeof r), AG_OK);
    snprintf(name, cap, "t%d_%u_%02x%02x%02x%02x", (int)getpid(), seq++, r[0], r[1], r[2], r[3]);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", name);
    raw_exec(NULL, sql);
}

void drop_schema(const char *name)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", name);
    raw_exec(NULL, sql);
}

ag_err open_pg(const char *base, const char *schema, unsigned pool, int timeout_ms, ag_store **out)
{
    char ci[2048];
    conninfo_for(base, schema, ci, sizeof ci);
    ag_store_pg_config cfg = {.size = sizeof(ag_store_pg_config),
                              .conninfo = ci,
                              .pool_size = pool,
                              .statement_timeout_ms = timeout_ms};
    return ag_store_pg_open(&cfg, out);
}

ag_store *open_at(const char *schema)
{
    ag_store *st = NULL;
    ck_assert_int_eq(open_pg(base_conninfo, schema, 0, 0, &st), AG_OK);
    ck_assert_ptr_nonnull(st);
    return st;
}

/* ---- helpers ---------------------------------------------------------------- */

void rand_hash(uint8_t h[32])
{
    ck_assert_int_eq(ag_random(h, 32), AG_OK);
}

ag_store_family family_row(const char *sid, const char *sub)
{
    ag_store_family f;
    memset(&f, 0, sizeof f);
    f.sid_len = strlen(sid);
    memcpy(f.sid, sid, f.sid_len);
    f.subject_len = strlen(sub);
    memcpy(f.subject, sub, f.subject_len);
    return f;
}

static ag_err create_at(ag_store *st, const char *sid, const char *sub, const uint8_t *h,
                        int64_t created)
{
    ag_store_family f = family_row(sid, sub);
    f.created = created;
    f.expires = T0 + 1000000;
    memcpy(f.current, h, 32);
    f.current_issued = created;
    f.current_expires = T0 + 500000;
    return ag_store_create(st, &f, created);
}

ag_err create_one(ag_store *st, const char *sid, const char *sub, const uint8_t *h)
{
    return create_at(st, sid, sub, h, T0);
}

ag_store_rotation request(const char *sid, const char *sub, const uint8_t *old, const uint8_t *nw,
                          int64_t interval)
{
    ag_store_rotation r;
    memset(&r, 0, sizeof r);
    r.action = AG_STORE_REFRESH;
    memcpy(r.old_hash, old, 32);
    if (nw != NULL)
        memcpy(r.new_hash, nw, 32);
    r.sid = sid;
    r.sid_len = strlen(sid);
    r.subject = sub;
    r.subject_len = strlen(sub);
    r.now = T0 + 10;
    r.new_expires = T0 + 100000;
    r.reuse_interval = interval;
    r.max_replays = 1;
    return r;
}

ag_err rotate_one(ag_store *st, const char *sid, const char *sub, const uint8_t *old,
                  const uint8_t *nw, int64_t interval, ag_store_rotated *out)
{
    ag_store_rotation r = request(sid, sub, old, nw, interval);
    ag_store_rotated tmp;
    return ag_store_rotate(st, &r, out != NULL ? out : &tmp);
}

/* The stored family; fails the test when there is none. */
ag_store_family family_of(ag_store *st, const char *sid)
{
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, sid, strlen(sid), &f), AG_OK);
    return f;
}

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

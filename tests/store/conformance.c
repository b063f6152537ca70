/* SPDX-License-Identifier: MIT */
/*
 * authgate store conformance suite (see conformance.h): the registry of
 * backends, the helpers the cases share (conformance_int.h), and the
 * single-threaded TCase. The cases are by subject beside it:
 * conformance_rotation.c (create, rotate, reuse, replays, logout),
 * conformance_revoke.c (revoke, evict, list, purge, size and capacity)
 * and conformance_races.c (the threaded cases and their TCase). Cases
 * cite the rules of docs/security.md they hold a backend to (R-01…R-08).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance_int.h"

#define MAX_BACKENDS 8

static const ag_conformance_backend *backends[MAX_BACKENDS];
static char tcase_names[2 * MAX_BACKENDS][96]; /* Check keeps the name pointer */
static int ntcase_names;

const char *conf_tcase_name(const char *backend, const char *what)
{
    if (ntcase_names >= 2 * MAX_BACKENDS)
        abort();
    char *n = tcase_names[ntcase_names++];
    snprintf(n, sizeof tcase_names[0], "%s-%s", backend, what);
    return n;
}
static int nbackends;

int conf_register_backend(const ag_conformance_backend *be)
{
    for (int i = 0; i < nbackends; i++)
        if (backends[i] == be)
            return i;
    if (nbackends >= MAX_BACKENDS)
        abort(); /* outside a test: cannot ck_assert here */
    backends[nbackends] = be;
    return nbackends++;
}

const ag_conformance_backend *conf_backend(int i)
{
    return backends[i];
}

ag_store *conf_fresh(int i, size_t capacity)
{
    ag_store *st = NULL;
    ck_assert_int_eq(backends[i]->make(backends[i]->ctx, capacity, &st), AG_OK);
    ck_assert_ptr_nonnull(st);
    return st;
}

void conf_discard(int i, ag_store *st)
{
    if (backends[i]->discard != NULL)
        backends[i]->discard(backends[i]->ctx, st);
    else
        ag_store_close(st);
}

void conf_rand_hash(uint8_t h[AG_STORE_HASH_LEN])
{
    ck_assert_int_eq(ag_random(h, AG_STORE_HASH_LEN), AG_OK);
}

ag_err conf_put_family(ag_store *st, const char *sid, const char *sub, int64_t now, int64_t life,
                       int64_t ttl, const uint8_t *h)
{
    ag_store_family f;
    memset(&f, 0, sizeof f);
    f.sid_len = strlen(sid);
    memcpy(f.sid, sid, f.sid_len);
    f.subject_len = strlen(sub);
    memcpy(f.subject, sub, f.subject_len);
    f.created = now;
    f.expires = now + life;
    memcpy(f.current, h, AG_STORE_HASH_LEN);
    f.current_issued = now;
    f.current_expires = now + ttl;
    return ag_store_create(st, &f, now);
}

ag_err conf_present_as(ag_store *st, ag_store_action act, const char *sid, const char *sub,
                       const uint8_t *old, const uint8_t *nw, int64_t now, int64_t ttl,
                       int64_t interval, uint32_t replays, ag_store_rotated *out)
{
    ag_store_rotation r;
    ag_store_rotated tmp;
    memset(&r, 0, sizeof r);
    r.action = act;
    memcpy(r.old_hash, old, AG_STORE_HASH_LEN);
    if (nw != NULL)
        memcpy(r.new_hash, nw, AG_STORE_HASH_LEN);
    r.sid = sid;
    r.sid_len = strlen(sid);
    r.subject = sub;
    r.subject_len = strlen(sub);
    r.now = now;
    r.new_expires = now + ttl;
    r.reuse_interval = interval;
    r.max_replays = replays;
    return ag_store_rotate(st, &r, out != NULL ? out : &tmp);
}

ag_err conf_rotate(ag_store *st, const char *sid, const char *sub, const uint8_t *old,
                   const uint8_t *nw, int64_t now, int64_t ttl, int64_t interval,
                   ag_store_rotated *out)
{
    return conf_present_as(st, AG_STORE_REFRESH, sid, sub, old, nw, now, ttl, interval,
                           interval > 0 ? 1u : 0u, out);
}

ag_store_family conf_family(ag_store *st, const char *sid)
{
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(st, sid, strlen(sid), &f), AG_OK);
    return f;
}

size_t conf_nfamilies(ag_store *st)
{
    ag_store_stats s = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    return s.families;
}

const uint8_t conf_zero32[32];

TCase *ag_conformance_tcase(const ag_conformance_backend *be)
{
    int i = conf_register_backend(be);
    TCase *tc = tcase_create(conf_tcase_name(be->name, "conformance"));
    tcase_set_timeout(tc, 120);
    conf_add_rotation_tests(tc, i);
    conf_add_revoke_tests(tc, i);
    return tc;
}

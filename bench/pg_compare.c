/* SPDX-License-Identifier: MIT */
/*
 * pg_compare — PostgreSQL store rotations per second, written against the
 * store interface of either release so that one source measures both: the
 * per-token store (interface version 1, 0.1) and the per-session one
 * (version 2). bench/pg_compare.sh builds it twice, beside each library,
 * and runs both on one throwaway cluster.
 *
 *   pg_compare CONNINFO THREADS SECONDS
 *
 * Each thread logs in once (a family of its own) and rotates its current
 * token for SECONDS; prints "rotations_per_s N". Give it a fresh schema
 * (options=-csearch_path=…) per run: the sids are fixed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authgate/store.h"

#define T0 INT64_C(1700000000)

static ag_store *st;
static double seconds;

typedef struct worker {
    pthread_t tid;
    int id;
    long done;
    int failed;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hash_of(int id, long gen, uint8_t h[AG_STORE_HASH_LEN])
{
    memset(h, 0, AG_STORE_HASH_LEN);
    memcpy(h, &gen, sizeof(gen));
    memcpy(h + 16, &id, sizeof(id));
    h[31] = 0x5a;
}

static ag_err login(const char *sid, int id)
{
    ag_store_family f;
    memset(&f, 0, sizeof(f));
    f.sid_len = strlen(sid);
    memcpy(f.sid, sid, f.sid_len);
    f.subject_len = 5;
    memcpy(f.subject, "bench", 5);
    f.created = T0;
    f.expires = T0 + 14 * 86400;
#if AG_STORE_INTERFACE_VERSION >= 2
    hash_of(id, 0, f.current);
    f.current_issued = T0;
    f.current_expires = T0 + 86400;
    return ag_store_create(st, &f, T0);
#else
    ag_store_token t;
    memset(&t, 0, sizeof(t));
    hash_of(id, 0, t.hash);
    memcpy(t.sid, sid, f.sid_len);
    t.sid_len = f.sid_len;
    t.issued = T0;
    t.expires = T0 + 86400;
    return ag_store_put(st, &f, &t);
#endif
}

static void *run(void *arg)
{
    worker *w = arg;
    char sid[32];
    snprintf(sid, sizeof(sid), "cmp-%d", w->id);
    if (login(sid, w->id) != AG_OK) {
        w->failed = 1;
        return NULL;
    }
    double end = now_s() + seconds;
    for (long gen = 0; now_s() < end; gen++) {
        ag_store_rotation r;
        ag_store_rotated out;
        memset(&r, 0, sizeof(r));
        hash_of(w->id, gen, r.old_hash);
        hash_of(w->id, gen + 1, r.new_hash);
        r.sid = sid;
        r.sid_len = strlen(sid);
        r.subject = "bench";
        r.subject_len = 5;
        r.now = T0 + 10;
        r.new_expires = T0 + 86400;
        if (ag_store_rotate(st, &r, &out) != AG_OK) {
            w->failed = 1;
            return NULL;
        }
        w->done++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: pg_compare CONNINFO THREADS SECONDS\n");
        return 2;
    }
    int threads = atoi(argv[2]);
    seconds = atof(argv[3]);
    if (threads < 1 || threads > 64 || seconds <= 0)
        return 2;
        /* configs are sized (AG_INIT) since 0.2; 0.1's had no size member */
#ifdef AG_INIT
    ag_store_pg_config cfg = AG_INIT(ag_store_pg_config);
#else
    ag_store_pg_config cfg = {0};
#endif
    cfg.conninfo = argv[1];
    cfg.pool_size = (unsigned)threads;
    ag_err e = ag_store_pg_open(&cfg, &st);
    if (e != AG_OK) {
        fprintf(stderr, "pg_compare: open: %s\n", ag_strerror(e));
        return 1;
    }
    worker w[64];
    memset(w, 0, sizeof(w));
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        w[i].id = i;
        pthread_create(&w[i].tid, NULL, run, &w[i]);
    }
    long total = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].tid, NULL);
        total += w[i].done;
        failed |= w[i].failed;
    }
    double s = now_s() - t0;
    ag_store_close(st);
    if (failed) {
        fprintf(stderr, "pg_compare: a rotation failed\n");
        return 1;
    }
    printf("rotations_per_s %.0f\n", (double)total / s);
    return 0;
}

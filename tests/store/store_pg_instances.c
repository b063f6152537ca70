/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL store, two store handles ("instances") on one database:
 * reuse on one revokes for both, 8 threads over the two race one
 * token with one winner, and the revocation log followed across
 * instances, every entry once and in order.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pg_fixture.h"
#include "testsupport.h"

/* R-02 across instances: rotate on A, reuse on B → revoked for both. */
START_TEST(two_instances_reuse_revokes_for_both)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *a = open_at(schema), *b = open_at(schema);
    uint8_t h0[32], h1[32], h2[32], h3[32];
    rand_hash(h0);
    rand_hash(h1);
    rand_hash(h2);
    rand_hash(h3);
    ck_assert_int_eq(create_one(a, "fam", "alice", h0), AG_OK);
    ck_assert_int_eq(rotate_one(a, "fam", "alice", h0, h1, 0, NULL), AG_OK);
    /* B sees the rotation at once */
    ag_store_family f = family_of(b, "fam");
    ck_assert_uint_eq(f.generation, 1);
    ck_assert_mem_eq(f.current, h1, 32);
    ck_assert_mem_eq(f.previous, h0, 32);
    ck_assert_int_eq(rotate_one(b, "fam", "alice", h0, h2, 0, NULL), AG_ERR_REUSED);
    f = family_of(a, "fam");
    ck_assert_int_eq(f.reason, AG_REVOKE_REUSE);
    ck_assert(!f.has_previous); /* a tombstone keeps no hash */
    /* the newest token is dead on both */
    ck_assert_int_eq(rotate_one(a, "fam", "alice", h1, h3, 0, NULL), AG_ERR_REVOKED);
    ck_assert_int_eq(rotate_one(b, "fam", "alice", h1, h3, 0, NULL), AG_ERR_REVOKED);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_families WHERE cur_hash IS NULL"
                                     " AND prev_hash IS NULL AND revoke_reason = 3"),
                     1);
    ag_store_close(a);
    ag_store_close(b);
    drop_schema(schema);
}
END_TEST

typedef struct racer {
    ag_store *st;
    const uint8_t *old;
    uint8_t nw[32];
    pthread_barrier_t *go;
    ag_err e;
} racer;

static void *race_thread(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->go);
    r->e = rotate_one(r->st, "race", "alice", r->old, r->nw, 0, NULL);
    return NULL;
}

/* R-05 across instances: 8 threads over two store handles, one winner. */
START_TEST(two_instances_race_one_winner)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st[2] = {open_at(schema), open_at(schema)};
    for (int round = 0; round < 5; round++) {
        uint8_t h[32];
        rand_hash(h);
        raw_exec(schema, "DELETE FROM ag_families");
        ck_assert_int_eq(create_one(st[round & 1], "race", "alice", h), AG_OK);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 8);
        pthread_t th[8];
        racer r[8];
        for (int k = 0; k < 8; k++) {
            r[k].st = st[k & 1];
            r[k].old = h;
            r[k].go = &go;
            rand_hash(r[k].nw);
            ck_assert_int_eq(pthread_create(&th[k], NULL, race_thread, &r[k]), 0);
        }
        int ok = 0, reused = 0, revoked = 0;
        for (int k = 0; k < 8; k++) {
            pthread_join(th[k], NULL);
            ok += r[k].e == AG_OK;
            reused += r[k].e == AG_ERR_REUSED;
            revoked += r[k].e == AG_ERR_REVOKED;
        }
        pthread_barrier_destroy(&go);
        ck_assert_int_eq(ok, 1);
        ck_assert_int_eq(reused, 1);
        ck_assert_int_eq(revoked, 6);
        ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_families WHERE"
                                         " revoke_reason = 3 AND generation = 1"),
                         1);
    }
    ag_store_close(st[0]);
    ag_store_close(st[1]);
    drop_schema(schema);
}
END_TEST

/* ---- the revocation log ---------------------------------------------------- */

#define LOG_WRITERS 4
#define LOG_PER 150

typedef struct log_writer {
    ag_store *st;
    int k;
    ag_err e;
} log_writer;

static void *log_write_thread(void *arg)
{
    log_writer *w = arg;
    for (int i = 0; i < LOG_PER && w->e == AG_OK; i++) {
        char key[32];
        int n = snprintf(key, sizeof key, "w%d-%d", w->k, i);
        w->e = ag_store_log_append(w->st, i % 2 ? AG_STORE_REV_SUBJECT : AG_STORE_REV_SID, key,
                                   (size_t)n, T0 + i);
    }
    return NULL;
}

/* Writers on two store handles append while a follower reads "id > last
 * seen" in small pages: the follower sees every entry exactly once (an id
 * never commits after a higher one was read), in increasing order; purge
 * removes by time. */
START_TEST(revocation_log_followed_across_instances)
{
    char schema[64];
    new_schema(schema, sizeof schema);
    ag_store *st[2] = {open_at(schema), open_at(schema)};
    ck_assert(ag_store_has_log(st[0]));
    pthread_t th[LOG_WRITERS];
    log_writer w[LOG_WRITERS];
    for (int k = 0; k < LOG_WRITERS; k++) {
        w[k] = (log_writer){st[k & 1], k, AG_OK};
        ck_assert_int_eq(pthread_create(&th[k], NULL, log_write_thread, &w[k]), 0);
    }
    static char seen[LOG_WRITERS][LOG_PER];
    memset(seen, 0, sizeof seen);
    uint64_t last = 0;
    int got = 0;
    for (int spin = 0; spin < 20000 && got < LOG_WRITERS * LOG_PER; spin++) {
        ag_store_revocation page[7];
        size_t n = 0;
        ck_assert_int_eq(ag_store_log_read(st[spin & 1], last, page, 7, &n), AG_OK);
        for (size_t i = 0; i < n; i++) {
            int k = -1, j = -1;
            ck_assert_uint_gt(page[i].id, last);
            last = page[i].id;
            ck_assert_int_eq(sscanf(page[i].key, "w%d-%d", &k, &j), 2);
            ck_assert(k >= 0 && k < LOG_WRITERS && j >= 0 && j < LOG_PER);
            ck_assert_msg(!seen[k][j], "entry %s read twice", page[i].key);
            seen[k][j] = 1;
            ck_assert_int_eq(page[i].kind, j % 2 ? AG_STORE_REV_SUBJECT : AG_STORE_REV_SID);
            ck_assert_int_eq(page[i].at, T0 + j);
            got++;
        }
        if (n == 0)
            sleep_ms(1);
    }
    for (int k = 0; k < LOG_WRITERS; k++) {
        pthread_join(th[k], NULL);
        ck_assert_int_eq(w[k].e, AG_OK);
    }
    ck_assert_int_eq(got, LOG_WRITERS * LOG_PER); /* none passed over */
    size_t removed = 0;
    ck_assert_int_eq(ag_store_log_purge(st[1], T0 + 100, &removed), AG_OK);
    ck_assert_uint_eq(removed, LOG_WRITERS * 100);
    ck_assert_int_eq(raw_int(schema, "SELECT count(*) FROM ag_revocations"),
                     LOG_WRITERS * (LOG_PER - 100));
    ag_store_close(st[0]);
    ag_store_close(st[1]);
    drop_schema(schema);
}
END_TEST

void pg_add_instance_tests(TCase *tc)
{
    tcase_add_test(tc, two_instances_reuse_revokes_for_both);
    tcase_add_test(tc, two_instances_race_one_winner);
}

void pg_add_revlog_tests(TCase *tc)
{
    tcase_add_test(tc, revocation_log_followed_across_instances);
}

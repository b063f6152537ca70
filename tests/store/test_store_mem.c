/* SPDX-License-Identifier: MIT */
/*
 * Memory store: the conformance suite plus what only this backend has
 * (allocator, bounded capacity, measured bytes per token).
 * The race cases live in test_store_threads.c (label `threads`).
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/store.h"
#include "conformance.h"
#include "testsupport.h"

static ag_err make_mem(void *ctx, size_t capacity, ag_store **out)
{
    (void)ctx;
    ag_store_memory_config cfg = {.size = sizeof(ag_store_memory_config),
                                  .capacity = capacity != 0 ? capacity : 4096};
    return ag_store_memory_new(&cfg, out);
}

static const ag_conformance_backend mem_backend = {"memory", make_mem, NULL, NULL, true};

/* A counting allocator: live blocks, live requested bytes, live usable
 * bytes (what glibc really hands out, its per-chunk overhead excluded). */
typedef struct counter {
    atomic_long blocks, bytes, usable;
} counter;

static void *c_malloc(size_t n, void *ctx)
{
    counter *c = ctx;
    size_t *p = malloc(n + 16);
    if (p == NULL)
        return NULL;
    p[0] = n;
    atomic_fetch_add(&c->blocks, 1);
    atomic_fetch_add(&c->bytes, (long)n);
    atomic_fetch_add(&c->usable, (long)malloc_usable_size(p));
    return (char *)p + 16;
}

static void c_free(void *ptr, void *ctx)
{
    counter *c = ctx;
    if (ptr == NULL)
        return;
    size_t *p = (size_t *)((char *)ptr - 16);
    atomic_fetch_sub(&c->blocks, 1);
    atomic_fetch_sub(&c->bytes, (long)p[0]);
    atomic_fetch_sub(&c->usable, (long)malloc_usable_size(p));
    free(p);
}

static void *c_realloc(void *ptr, size_t n, void *ctx)
{
    (void)ptr;
    (void)n;
    (void)ctx;
    return NULL; /* the memory store never reallocates */
}

START_TEST(close_frees_everything)
{
    counter c = {0};
    ag_allocator a = {c_malloc, c_realloc, c_free, &c};
    ag_store_memory_config cfg = {
        .size = sizeof(ag_store_memory_config), .capacity = 1000, .alloc = &a};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(&cfg, &st), AG_OK);
    for (int k = 0; k < 100; k++) {
        ag_store_family f = {0};
        f.sid_len = (size_t)snprintf(f.sid, sizeof f.sid, "s%d", k);
        f.subject_len = (size_t)snprintf(f.subject, sizeof f.subject, "u%d", k % 7);
        f.created = 1;
        f.expires = 1000;
        ck_assert_int_eq(ag_random(f.current, 32), AG_OK);
        f.current_issued = 1;
        f.current_expires = 100;
        ck_assert_int_eq(ag_store_create(st, &f, 1), AG_OK);
    }
    ck_assert_int_gt(atomic_load(&c.blocks), 100);
    ag_store_stats s = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    ck_assert_uint_eq(s.bytes, (size_t)atomic_load(&c.bytes)); /* stats tell the truth */
    size_t removed;
    ck_assert_int_eq(ag_store_purge_expired(st, 500, &removed), AG_OK);
    ck_assert_uint_eq(removed, 100);
    ag_store_close(st);
    ck_assert_int_eq(atomic_load(&c.blocks), 0);
    ck_assert_int_eq(atomic_load(&c.bytes), 0);
    ag_store_close(NULL); /* no-op */
}
END_TEST

static ag_store_family session_row(size_t k)
{
    ag_store_family f = {0};
    uint8_t r[32];
    ck_assert_int_eq(ag_random(r, 32), AG_OK);
    /* 43 characters, like a real sid (32 random bytes in base64url) */
    for (size_t j = 0; j < 43; j++)
        f.sid[j] =
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"[r[j % 32] & 63];
    f.sid_len = 43;
    f.subject_len = (size_t)snprintf(f.subject, sizeof f.subject, "user%zu@example.com", k % 5000);
    f.created = 1;
    f.expires = 1000000;
    ck_assert_int_eq(ag_random(f.current, 32), AG_OK);
    f.current_issued = 1;
    f.current_expires = 500000;
    return f;
}

static void rotate_n(ag_store *st, ag_store_family *f, int times, int64_t *now)
{
    for (int g = 0; g < times; g++) {
        ag_store_rotation rot = {0};
        memcpy(rot.old_hash, f->current, 32);
        ck_assert_int_eq(ag_random(rot.new_hash, 32), AG_OK);
        rot.sid = f->sid;
        rot.sid_len = f->sid_len;
        rot.subject = f->subject;
        rot.subject_len = f->subject_len;
        rot.now = ++*now;
        rot.new_expires = rot.now + 500000;
        ag_store_rotated out;
        ck_assert_int_eq(ag_store_rotate(st, &rot, &out), AG_OK);
        memcpy(f->current, rot.new_hash, 32);
    }
}

/* The measurement reported in docs/sessions.md: bytes per session, the
 * same after 1 rotation and after 10,000. */
START_TEST(bytes_per_session)
{
    counter c = {0};
    ag_allocator a = {c_malloc, c_realloc, c_free, &c};
    const size_t fams = 25000;
    ag_store_memory_config cfg = {
        .size = sizeof(ag_store_memory_config), .capacity = fams, .alloc = &a};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(&cfg, &st), AG_OK);
    long empty_usable = atomic_load(&c.usable);
    int64_t now = 1;
    ag_store_family first;
    for (size_t k = 0; k < fams; k++) {
        ag_store_family f = session_row(k);
        ck_assert_int_eq(ag_store_create(st, &f, 1), AG_OK);
        rotate_n(st, &f, 1, &now);
        if (k == 0)
            first = f;
    }
    ag_store_stats s1 = AG_INIT(ag_store_stats), s2 = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(st, &s1), AG_OK);
    long usable1 = atomic_load(&c.usable);
    rotate_n(st, &first, 10000, &now);
    ck_assert_int_eq(ag_store_stats_get(st, &s2), AG_OK);
    ck_assert_uint_eq(s1.families, fams);
    ck_assert_uint_eq(s2.families, fams);
    ck_assert_uint_eq(s2.bytes, s1.bytes); /* constant, however often it rotates */
    ck_assert_int_eq(atomic_load(&c.usable), usable1);
    double requested = (double)s1.bytes / (double)fams;
    double rows_only = (double)(usable1 - empty_usable) / (double)fams;
    double with_hdr = (double)(usable1 + 8 * atomic_load(&c.blocks)) / (double)fams;
    printf("memory store, %zu sessions: %.1f B/session requested, %.1f with malloc headers "
           "(rows only: %.1f usable); unchanged after 10,000 rotations of one\n",
           fams, requested, with_hdr, rows_only);
    ck_assert_double_lt(with_hdr, 1024.0); /* a regression bound, not a timing */
    ag_store_close(st);
}
END_TEST

/* A client rotating its own session 100,000 times leaves the store as it
 * was, and another user can still log in afterwards. */
START_TEST(rotation_storm_leaves_room)
{
    ag_store_memory_config cfg = {.size = sizeof(ag_store_memory_config), .capacity = 2};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(&cfg, &st), AG_OK);
    ag_store_family f = session_row(0);
    f.current_expires = 200000;
    ck_assert_int_eq(ag_store_create(st, &f, 1), AG_OK);
    ag_store_stats s0 = AG_INIT(ag_store_stats), s1 = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(st, &s0), AG_OK);
    int64_t now = 1;
    rotate_n(st, &f, 100000, &now);
    ck_assert_int_eq(ag_store_stats_get(st, &s1), AG_OK);
    ck_assert_uint_eq(s1.families, 1);
    ck_assert_uint_eq(s1.bytes, s0.bytes);
    ag_store_family g = session_row(1);
    ck_assert_int_eq(ag_store_create(st, &g, now), AG_OK);
    ag_store_close(st);
}
END_TEST

/* Keys of every length the store accepts, in heap blocks of exactly that
 * size (so ASan sees any read past a key): each is found again, and keys
 * that differ in one byte, wherever it is, are different keys. The sid
 * hash reads by word with overlapping tails; this is where a tail goes
 * wrong. */
START_TEST(keys_of_every_length)
{
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(NULL, &st), AG_OK);
    for (size_t len = 1; len <= AG_SID_MAX_LEN; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            ag_store_family f = {0};
            memset(f.sid, 'a', len);
            f.sid[pos] = 'b';
            f.sid_len = len;
            f.subject_len = (size_t)snprintf(f.subject, sizeof f.subject, "u%zu-%zu", len, pos);
            f.created = 1;
            f.expires = 1000;
            ck_assert_int_eq(ag_random(f.current, 32), AG_OK);
            f.current_issued = 1;
            f.current_expires = 100;
            ck_assert_int_eq(ag_store_create(st, &f, 1), AG_OK);
        }
    }
    for (size_t len = 1; len <= AG_SID_MAX_LEN; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            char *sid = malloc(len);
            ck_assert_ptr_nonnull(sid);
            memset(sid, 'a', len);
            sid[pos] = 'b';
            ag_store_family got;
            ck_assert_int_eq(ag_store_lookup_family(st, sid, len, &got), AG_OK);
            char want[32];
            snprintf(want, sizeof want, "u%zu-%zu", len, pos);
            ck_assert_str_eq(got.subject, want);
            free(sid);
        }
        char *none = malloc(len); /* all 'a': never created */
        ck_assert_ptr_nonnull(none);
        memset(none, 'a', len);
        ag_store_family got;
        ck_assert_int_eq(ag_store_lookup_family(st, none, len, &got), AG_ERR_NOT_FOUND);
        free(none);
    }
    /* subjects of every length, for the subject index */
    for (size_t len = 1; len <= AG_SUBJECT_MAX_LEN; len += 7) {
        ag_store_family f = session_row(len);
        memset(f.subject, 's', len);
        f.subject[len] = '\0';
        f.subject_len = len;
        ck_assert_int_eq(ag_store_create(st, &f, 1), AG_OK);
        char *sub = malloc(len);
        ck_assert_ptr_nonnull(sub);
        memset(sub, 's', len);
        size_t n = 0;
        ck_assert_int_eq(ag_store_revoke_subject(st, sub, len, 2, AG_REVOKE_ADMIN, NULL, NULL, &n),
                         AG_OK);
        ck_assert_uint_eq(n, 1);
        free(sub);
    }
    ag_store_close(st);
}
END_TEST

/* The token-hash compare reads every byte: a presented hash that differs
 * from the current one in any single byte is reuse, never a rotation; a
 * successor equal to its parent is refused whatever the bytes. */
START_TEST(hash_compare_every_byte)
{
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(NULL, &st), AG_OK);
    for (size_t pos = 0; pos < AG_STORE_HASH_LEN; pos++) {
        ag_store_family f = session_row(pos);
        ck_assert_int_eq(ag_store_create(st, &f, 1), AG_OK);
        ag_store_rotation rot = {0};
        memcpy(rot.old_hash, f.current, 32);
        memcpy(rot.new_hash, f.current, 32);
        rot.sid = f.sid;
        rot.sid_len = f.sid_len;
        rot.subject = f.subject;
        rot.subject_len = f.subject_len;
        rot.now = 2;
        rot.new_expires = 100;
        ag_store_rotated out;
        ck_assert_int_eq(ag_store_rotate(st, &rot, &out), AG_ERR_INVALID_ARGUMENT);
        rot.old_hash[pos] ^= 0x01;
        ck_assert_int_eq(ag_store_rotate(st, &rot, &out), AG_ERR_REUSED);
        ag_store_family after;
        ck_assert_int_eq(ag_store_lookup_family(st, f.sid, f.sid_len, &after), AG_OK);
        ck_assert_int_eq(after.reason, AG_REVOKE_REUSE);
    }
    ag_store_close(st);
}
END_TEST

START_TEST(config_checks)
{
    ag_store *st = (ag_store *)1;
    ck_assert_int_eq(ag_store_memory_new(NULL, NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_store_memory_new(NULL, &st), AG_OK); /* defaults */
    ag_store_stats s = AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(st, &s), AG_OK);
    ck_assert_uint_eq(s.capacity, 1u << 20);
    ck_assert_str_eq(st->name, "memory");
    ag_store_close(st);
    ag_store_memory_config cfg = {.size = sizeof(ag_store_memory_config), .capacity = SIZE_MAX};
    ck_assert_int_eq(ag_store_memory_new(&cfg, &st), AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_mem");
    suite_add_tcase(s, ag_conformance_tcase(&mem_backend));
    TCase *tc = tcase_create("memory-specific");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, close_frees_everything);
    tcase_add_test(tc, bytes_per_session);
    tcase_add_test(tc, rotation_storm_leaves_room);
    tcase_add_test(tc, keys_of_every_length);
    tcase_add_test(tc, hash_compare_every_byte);
    tcase_add_test(tc, config_checks);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate store conformance suite: the cases every ag_store backend must
 * pass — ours (memory, SQLite, later PostgreSQL) and any a user writes.
 *
 * Usage, in a Check test program:
 *
 *     static ag_err make(void *ctx, size_t capacity, ag_store **out) {...}
 *     static const ag_conformance_backend be = {"mine", make, NULL, NULL, false};
 *     Suite *s = suite_create("store_mine");
 *     suite_add_tcase(s, ag_conformance_tcase(&be));
 *     suite_add_tcase(s, ag_conformance_tcase_races(&be));   // label: threads
 *
 * Several backends may be registered in one program (up to 8). The
 * backend struct must outlive the run. Every case gets a fresh, empty
 * store from make() and gives it back through discard() (or
 * ag_store_close when discard is NULL). Time is passed explicitly to every
 * store call, so expiry is tested with chosen clocks, never by sleeping.
 */
#ifndef AG_TEST_CONFORMANCE_H
#define AG_TEST_CONFORMANCE_H

#include <check.h>
#include <stdbool.h>

#include "authgate/store.h"

typedef struct ag_conformance_backend {
    const char *name;
    /* Makes a fresh, empty store. capacity is 0 (backend default) unless
     * supports_capacity is true. */
    ag_err (*make)(void *ctx, size_t capacity, ag_store **out);
    void *ctx;
    /* Optional: closes the store and removes what it left (files). */
    void (*discard)(void *ctx, ag_store *st);
    bool supports_capacity;
} ag_conformance_backend;

/* Every operation, single-threaded: create, lookup, rotate and each of
 * ag_store_decide's outcomes, bounded replays, logout, revoke, evict,
 * purge, constant size per session, capacity. */
TCase *ag_conformance_tcase(const ag_conformance_backend *be);

/* The races: 8 threads rotating one token (exactly one wins), the same
 * with a reuse interval (one rotation, the rest replays), rotations racing
 * a revocation, and independent families rotated concurrently with
 * lookups and purges.
 * Register it in a test with the ctest label `threads` (run under TSan). */
TCase *ag_conformance_tcase_races(const ag_conformance_backend *be);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the store conformance suite share (private to it;
 * conformance.h stays the one public header): the registered backends,
 * a fresh store per case, and the few calls every case is written in.
 * Names carry conf_ because a user's test program links this library.
 */
#ifndef AG_TEST_CONFORMANCE_INT_H
#define AG_TEST_CONFORMANCE_INT_H

#include <stdint.h>

#include "conformance.h"

#define T0 INT64_C(1700000000)

/* Registers be (once) and returns its index: the loop value _i of its cases. */
int conf_register_backend(const ag_conformance_backend *be);
/* "<backend>-<what>", kept alive for Check (it keeps the name pointer). */
const char *conf_tcase_name(const char *backend, const char *what);
const ag_conformance_backend *conf_backend(int i);

/* A fresh, empty store of backend i, and its disposal. */
ag_store *conf_fresh(int i, size_t capacity);
void conf_discard(int i, ag_store *st);

void conf_rand_hash(uint8_t h[AG_STORE_HASH_LEN]);
/* A family `sid` of `sub` created at `now`, living `life` seconds, with a
 * first token of hash h expiring at now + ttl. */
ag_err conf_put_family(ag_store *st, const char *sid, const char *sub, int64_t now, int64_t life,
                       int64_t ttl, const uint8_t *h);
/* One ag_store_rotate of action act (nw may be NULL; out may be NULL). */
ag_err conf_present_as(ag_store *st, ag_store_action act, const char *sid, const char *sub,
                       const uint8_t *old, const uint8_t *nw, int64_t now, int64_t ttl,
                       int64_t interval, uint32_t replays, ag_store_rotated *out);
/* A refresh; one replay allowed when interval > 0. */
ag_err conf_rotate(ag_store *st, const char *sid, const char *sub, const uint8_t *old,
                   const uint8_t *nw, int64_t now, int64_t ttl, int64_t interval,
                   ag_store_rotated *out);
/* The stored family; fails the case when there is none. */
ag_store_family conf_family(ag_store *st, const char *sid);
size_t conf_nfamilies(ag_store *st);

extern const uint8_t conf_zero32[32];

/* The single-threaded cases, added to tc for backend i, in suite order. */
void conf_add_rotation_tests(TCase *tc, int i);
void conf_add_revoke_tests(TCase *tc, int i);

#endif

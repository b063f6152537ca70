/* SPDX-License-Identifier: MIT */
/* authgate test support: counting allocation hooks and small helpers. */
#ifndef AG_TESTSUPPORT_H
#define AG_TESTSUPPORT_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "authgate/token.h"

/*
 * Installs counting hooks on OpenSSL (CRYPTO_set_mem_functions) and jansson
 * (json_set_alloc_funcs) — the test's own process-wide hooks; the library
 * never installs any. Must run before any other OpenSSL call; safe to call
 * twice. ag_test_alloc_count() then reads the number of allocations
 * (malloc + realloc) made through either since the last reset, counted
 * per thread.
 */
void ag_test_alloc_hooks_install(void);
void ag_test_alloc_reset(void);
long ag_test_alloc_count(void);

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL on error. */
char *ag_test_read_file(const char *path, size_t *len);

/*
 * Guard-page harness (picohttpparser's test.c idea): a copy of the input
 * whose last byte is the last readable byte before a PROT_NONE page, so a
 * parser that reads one byte too far faults at once, with or without ASan.
 * ag_test_guard_place maps fresh pages for each copy; release what it
 * returned with ag_test_guard_release (a zeroed or released guard is a
 * no-op to release).
 */
typedef struct ag_test_guard {
    uint8_t *map;
    size_t map_len;
    uint8_t *data; /* the input, ending exactly at the PROT_NONE page */
} ag_test_guard;

uint8_t *ag_test_guard_place(ag_test_guard *g, const void *p, size_t n);
void ag_test_guard_release(ag_test_guard *g);

/*
 * A compact JWS b64(hdr).b64(payload).b64(signature by key), NUL-terminated
 * in out. Returns its length, or 0 when it does not fit or signing fails
 * (no Check assertion inside: usable from any thread).
 */
struct ag_key;
size_t ag_test_jws(const struct ag_key *key, const char *hdr, const char *payload, char *out,
                   size_t cap);

/*
 * The case plan of the SIMD differential tests (base64url, b64token): case
 * k has mode (k / 256) % 8 and sub = k / 2048; len is random in
 * 0..maxlen; for modes 1-6 pos is where the case's byte goes: 1 at 31, 32,
 * 33, 63 or 64; 2 at one of the last three; 3-6 at block position sub % 32
 * of a random 32-byte block; len is then grown to hold pos (with
 * no_len_mod4_1, never to a length % 4 == 1). rng is the test's generator,
 * called in a fixed order so the cases stay reproducible.
 */
typedef struct ag_test_simd_case {
    unsigned mode, sub;
    size_t len, pos;
} ag_test_simd_case;

ag_test_simd_case ag_test_simd_case_plan(uint32_t k, size_t maxlen, uint64_t (*rng)(void),
                                         int no_len_mod4_1);

/* For fixtures made outside Check's test context (before it forks), where
 * ck_assert cannot report: an expression that is not AG_OK aborts the run
 * with its text. */
#define AG_TEST_SETUP_OK(expr)                                                                     \
    do {                                                                                           \
        if ((expr) != 0) {                                                                         \
            fprintf(stderr, "setup failed: %s\n", #expr);                                          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/*
 * Verify scratch for the claims at `claims` (ag_verify's scratch argument):
 * the calling thread's buffer of AG_VERIFY_SCRATCH_MAX bytes kept for that
 * address, so claims declared side by side in a test keep their own. Up to
 * AG_TEST_SCRATCH_SLOTS addresses per thread, then the oldest is reused.
 * Allocates nothing (the allocation-counting tests use it).
 * AG_TEST_SCRATCH(&c) expands to the two arguments (pointer, length).
 */
#define AG_TEST_SCRATCH_SLOTS 8
uint8_t *ag_test_scratch(const void *claims);
#define AG_TEST_SCRATCH(claims) ag_test_scratch(claims), (size_t)AG_TEST_SCRATCH_LEN
#define AG_TEST_SCRATCH_LEN AG_VERIFY_SCRATCH_MAX

/* Session token pair holders attached to their own buffers, in one
 * calloc'd block (n of them: an array): release with free(). NULL when out
 * of memory. */
struct ag_session_tokens;
struct ag_session_tokens *ag_test_tokens(void);
struct ag_session_tokens *ag_test_tokens_n(size_t n);

/*
 * The one fake clock of the suites: ag_test_clock is an ag_clock_fn (ctx
 * ignored) reading a process-wide atomic time, so a suite's threads may
 * read it while the test moves it. It starts at AG_TEST_T0. Check runs
 * each test in its own process (unless CK_FORK=no), so a test's moves do
 * not reach the next.
 */
#define AG_TEST_T0 INT64_C(1700000000)
int64_t ag_test_clock(void *ctx);
void ag_test_clock_set(int64_t now);
void ag_test_clock_advance(int64_t seconds);
int64_t ag_test_clock_now(void);

/* Runs a suite with CK_NORMAL output; returns the process exit status. */
int ag_test_run(Suite *s);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Shared by the tests of lib/token/json_scan.c (test_json_scan_*.c):
 * the contract is differential, so every verdict is also jansson's.
 */
#ifndef AG_TEST_JSON_SCAN_UTIL_H
#define AG_TEST_JSON_SCAN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

typedef struct jcase {
    const char *text;
    size_t len;
    bool ok;
} jcase;

/* The adversarial table: text, length (NUL bytes are data), verdict. */
extern const jcase table[];
extern const size_t table_len;
/* Seed documents; seeds[9] holds NUL bytes (its length is known). */
extern const char *const seeds[];
extern const size_t seeds_len;

/* jansson's verdict: an object, no duplicate names. */
bool jansson_ok(const uint8_t *p, size_t n);
/* Our verdict (AG_OK or AG_ERR_MALFORMED only), and the member view of
 * ag__json_check_members agrees with the iterator. */
bool ours_ok(const uint8_t *p, size_t n);
void print_hex(const char *what, const uint8_t *p, size_t n);
/* A test case of s for verdicts (600 s: the loops are long); portable:
 * with the SSE2 string scan hidden, so the portable 8-byte loop runs
 * (x86-64 always has SSE2). */
TCase *verdicts_tcase(Suite *s, const char *name, bool portable);
/* main() of each json_scan test: the allocation hooks, then the suite. */
int json_scan_main(Suite *(*make)(void));

#endif

/* authgate test support: counting allocation hooks and small helpers. */
#ifndef AG_TESTSUPPORT_H
#define AG_TESTSUPPORT_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

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

/* Runs a suite with CK_NORMAL output; returns the process exit status. */
int ag_test_run(Suite *s);

#endif

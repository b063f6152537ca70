/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the tests/http suites: a guard-page harness
 * (picohttpparser's test.c idea) so that a parser reading one byte past its
 * input faults at once, with or without ASan.
 */
#ifndef AG_HTTP_TESTUTIL_H
#define AG_HTTP_TESTUTIL_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <check.h>

#include "testsupport.h"

/* The shared harness in tests/support, under the names these suites use. */
typedef ag_test_guard guard_buf;

static inline uint8_t *guard_place(guard_buf *g, const void *p, size_t n)
{
    return ag_test_guard_place(g, p, n);
}

static inline void guard_release(guard_buf *g)
{
    ag_test_guard_release(g);
}

#endif

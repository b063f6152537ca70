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

typedef struct guard_buf {
    uint8_t *map;
    size_t map_len;
    uint8_t *data; /* the input, ending exactly at the PROT_NONE page */
} guard_buf;

/* Copies p[0..n) so that its last byte is the last readable byte. */
static inline uint8_t *guard_place(guard_buf *g, const void *p, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = n / page + 1;
    g->map_len = (data_pages + 1) * page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g->map, MAP_FAILED);
    ck_assert_int_eq(mprotect(g->map + data_pages * page, page, PROT_NONE), 0);
    g->data = g->map + data_pages * page - n;
    if (n > 0)
        memcpy(g->data, p, n);
    return g->data;
}

static inline void guard_release(guard_buf *g)
{
    munmap(g->map, g->map_len);
    g->map = NULL;
}

#endif

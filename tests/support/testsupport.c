/* SPDX-License-Identifier: MIT */
/* MAP_ANONYMOUS is not in POSIX 2008: ask glibc for it. */
#define _DEFAULT_SOURCE 1
#include "testsupport.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "authgate/session.h"
#include "authgate/token.h"
#include "token/token_int.h" /* ag__sign */

static _Thread_local long alloc_count;
static int hooks_installed;

static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    alloc_count++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    alloc_count++;
    return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

static void *json_count_malloc(size_t n)
{
    alloc_count++;
    return malloc(n);
}

void ag_test_alloc_hooks_install(void)
{
    if (hooks_installed)
        return;
    hooks_installed = 1;
    /* Fails once OpenSSL has allocated; the test then notices zero hooks. */
    if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) {
        fprintf(stderr,
                "CRYPTO_set_mem_functions failed: call ag_test_alloc_hooks_install first\n");
        abort();
    }
    json_set_alloc_funcs(json_count_malloc, free);
}

void ag_test_alloc_reset(void)
{
    alloc_count = 0;
}

long ag_test_alloc_count(void)
{
    return alloc_count;
}

char *ag_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (len != NULL)
            *len = n;
    }
    return buf;
}

size_t ag_test_jws(const ag_key *key, const char *hdr, const char *payload, char *out, size_t cap)
{
    size_t n = 0, w = 0, sig_len = 0;
    uint8_t sig[1024];
    if (ag_base64url_encode((const uint8_t *)hdr, strlen(hdr), out, cap, &w) != AG_OK)
        return 0;
    n = w;
    if (cap - n < 2)
        return 0;
    out[n++] = '.';
    if (ag_base64url_encode((const uint8_t *)payload, strlen(payload), out + n, cap - n, &w) !=
        AG_OK)
        return 0;
    n += w;
    if (ag__sign(key, (const uint8_t *)out, n, sig, sizeof(sig), &sig_len) != AG_OK || cap - n < 2)
        return 0;
    out[n++] = '.';
    if (ag_base64url_encode(sig, sig_len, out + n, cap - n, &w) != AG_OK || cap - n - w < 1)
        return 0;
    n += w;
    out[n] = '\0';
    return n;
}

ag_test_simd_case ag_test_simd_case_plan(uint32_t k, size_t maxlen, uint64_t (*rng)(void),
                                         int no_len_mod4_1)
{
    static const size_t spots[] = {31, 32, 33, 63, 64};
    ag_test_simd_case c = {(k >> 8) & 7u, k >> 11, 0, 0};
    c.len = (size_t)(rng() % (maxlen + 1));
    if (c.mode == 1) {
        c.pos = spots[c.sub % 5];
    } else if (c.mode >= 3 && c.mode <= 6) {
        c.pos = c.sub % 32;
        c.pos += 32 * (size_t)(rng() % ((maxlen - 1 - c.pos) / 32 + 1));
    }
    if (c.mode >= 1 && c.mode <= 6) {
        c.len = c.mode == 2 ? 3 + c.len % (maxlen - 2) : c.pos + 1 + c.len % (maxlen - c.pos);
        if (no_len_mod4_1)
            c.len += c.len % 4 == 1;
        if (c.mode == 2)
            c.pos = c.len - 1 - c.sub % 3;
    }
    return c;
}

static _Atomic int64_t clock_now = AG_TEST_T0;

int64_t ag_test_clock(void *ctx)
{
    (void)ctx;
    return atomic_load(&clock_now);
}

void ag_test_clock_set(int64_t now)
{
    atomic_store(&clock_now, now);
}

void ag_test_clock_advance(int64_t seconds)
{
    atomic_fetch_add(&clock_now, seconds);
}

int64_t ag_test_clock_now(void)
{
    return atomic_load(&clock_now);
}

int ag_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

uint8_t *ag_test_guard_place(ag_test_guard *g, const void *p, size_t n)
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

void ag_test_guard_release(ag_test_guard *g)
{
    if (g->map != NULL)
        munmap(g->map, g->map_len);
    g->map = NULL;
    g->data = NULL;
}

uint8_t *ag_test_scratch(const void *claims)
{
    static _Thread_local struct {
        const void *owner;
        uint8_t buf[AG_TEST_SCRATCH_LEN];
    } slot[AG_TEST_SCRATCH_SLOTS];
    static _Thread_local unsigned next;
    for (unsigned i = 0; i < AG_TEST_SCRATCH_SLOTS; i++)
        if (slot[i].owner == claims)
            return slot[i].buf;
    unsigned k = next++ % AG_TEST_SCRATCH_SLOTS;
    slot[k].owner = claims;
    return slot[k].buf;
}

ag_session_tokens *ag_test_tokens_n(size_t n)
{
    /* n holders, then their n buffers: one block, freed with free() */
    ag_session_tokens *t = calloc(1, n * (sizeof *t + AG_SESSION_TOKENS_BUF_LEN));
    char *buf = (char *)(t + n);
    for (size_t i = 0; t != NULL && i < n; i++)
        if ((t[i].size = sizeof t[i]) == 0 ||
            ag_session_tokens_init(&t[i], buf + i * AG_SESSION_TOKENS_BUF_LEN,
                                   AG_SESSION_TOKENS_BUF_LEN) != AG_OK) {
            free(t);
            return NULL;
        }
    return t;
}

ag_session_tokens *ag_test_tokens(void)
{
    return ag_test_tokens_n(1);
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate CLI — helpers (see cli_util.h).
 */
#include "cli_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authgate/error.h"

#if defined(__GLIBC__)
#include <malloc.h>
#define CLI_HAVE_USABLE_SIZE 1
#endif

void cli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("authgate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_read_capped(FILE *f, uint8_t *buf, size_t cap, size_t *n)
{
    size_t got = 0;
    while (got < cap + 1) {
        size_t r = fread(buf + got, 1, cap + 1 - got, f);
        got += r;
        if (r == 0) {
            if (ferror(f)) {
                *n = got;
                return -1;
            }
            break;
        }
    }
    *n = got;
    return got > cap ? 1 : 0;
}

void cli_free_secret(void *p, size_t n)
{
    if (p == NULL)
        return;
    ag_cleanse(p, n);
    free(p);
}

char *cli_read_key_file(const char *what, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cli_err("%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    /* One byte to detect overflow, one for the terminating NUL. */
    uint8_t *buf = malloc(CLI_KEY_FILE_MAX + 2);
    if (buf == NULL) {
        fclose(f);
        cli_err("out of memory");
        return NULL;
    }
    size_t n = 0;
    int rc = cli_read_capped(f, buf, CLI_KEY_FILE_MAX, &n);
    int saved = errno;
    fclose(f);
    if (rc < 0) {
        cli_free_secret(buf, n);
        cli_err("%s %s: read error: %s", what, path, strerror(saved));
        return NULL;
    }
    if (rc > 0) {
        cli_free_secret(buf, n);
        cli_err("%s %s: larger than %u bytes", what, path, CLI_KEY_FILE_MAX);
        return NULL;
    }
    if (memchr(buf, 0, n) != NULL) {
        cli_free_secret(buf, n);
        cli_err("%s %s: contains a NUL byte", what, path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return (char *)buf;
}

bool cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL)
        return false;
    const char *d = s[0] == '-' ? s + 1 : s;
    if (*d < '0' || *d > '9')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    if (v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}

int cli_opt(const char *name, int argc, char **argv, int *i, const char **val)
{
    const char *a = argv[*i];
    size_t nl = strlen(name);
    if (strncmp(a, name, nl) != 0)
        return 0;
    if (a[nl] == '=') {
        *val = a + nl + 1;
        return 1;
    }
    if (a[nl] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_err("option %s needs a value", name);
        return -1;
    }
    *i += 1;
    *val = argv[*i];
    return 1;
}

bool cli_set_once(const char *name, const char **slot, const char *val)
{
    if (*slot != NULL) {
        cli_err("option %s given twice", name);
        return false;
    }
    *slot = val;
    return true;
}

int cli_opt_table(const cli_opt_slot *t, size_t n, int argc, char **argv, int *i)
{
    for (size_t k = 0; k < n; k++) {
        const char *v = NULL;
        int m = cli_opt(t[k].flag, argc, argv, i, &v);
        if (m < 0)
            return -1;
        if (m > 0)
            return cli_set_once(t[k].flag, t[k].slot, v) ? 1 : -1;
    }
    return 0;
}

static void *cli_json_malloc(size_t n)
{
    return malloc(n);
}

static void cli_json_free(void *p)
{
    if (p == NULL)
        return;
#ifdef CLI_HAVE_USABLE_SIZE
    ag_cleanse(p, malloc_usable_size(p));
#endif
    free(p);
}

void cli_json_alloc_install(void)
{
    json_set_alloc_funcs(cli_json_malloc, cli_json_free);
}

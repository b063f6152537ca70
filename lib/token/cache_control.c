/* SPDX-License-Identifier: MIT */
/*
 * authgate — the max-age of a Cache-Control header line (RFC 9111 §5.2),
 * for the remote JWKS refresh (jwks_remote.c). Pure and bounded: the line
 * comes from the network, so it is read as (ptr, len) and only within len.
 *
 * @test tests/token/test_cache_control.c, fuzz/fuzz_cache_control.c
 */
#include <stdbool.h>

#include "token_int.h"

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

int64_t ag__cache_max_age(const char *line, size_t n)
{
    static const char name[] = "cache-control";
    const size_t nl = sizeof(name) - 1;
    if (line == NULL || n <= nl || line[nl] != ':' ||
        !ag__ci_eq((const uint8_t *)line, nl, name, nl))
        return -1;
    /* the field value: up to CR or LF (libcurl hands the line with them) */
    size_t end = nl + 1;
    while (end < n && line[end] != '\r' && line[end] != '\n')
        end++;
    for (size_t i = nl + 1; i < end;) {
        /* one directive: [i, j) up to the next ',' */
        size_t j = i;
        while (j < end && line[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && ows(line[a]))
            a++;
        while (b > a && ows(line[b - 1]))
            b--;
        size_t eq = a;
        while (eq < b && line[eq] != '=')
            eq++;
        if (eq < b && ag__ci_eq((const uint8_t *)line + a, eq - a, "max-age", 7)) {
            /* delta-seconds = 1*DIGIT (§1.2.2); anything else: not a max-age */
            int64_t v = 0;
            size_t k = eq + 1;
            for (; k < b && line[k] >= '0' && line[k] <= '9'; k++)
                v = v >= AG__CACHE_MAX_AGE_CAP / 10 ? AG__CACHE_MAX_AGE_CAP
                                                    : v * 10 + (line[k] - '0');
            if (k == eq + 1 || k != b)
                return -1; /* the first max-age counts, a broken one too */
            return v > AG__CACHE_MAX_AGE_CAP ? AG__CACHE_MAX_AGE_CAP : v;
        }
        i = j + 1;
    }
    return -1;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the strict Cookie parser (H-06…H-08, V-04, V-19).
 * Invariants: never crash or over-read; a found value is a view inside the
 * input made of cookie-octets only and within the size cap; splitting the
 * input into several Cookie fields at '\n' never turns a duplicate into a
 * success.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cookie_octet(uint8_t c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static void check_value(const uint8_t *data, size_t size, ag_span v)
{
    if (v.len > AG_COOKIE_MAX_LEN || (v.len > 0 && (v.ptr < data || v.ptr + v.len > data + size)))
        abort();
    for (size_t i = 0; i < v.len; i++)
        if (!cookie_octet(v.ptr[i]))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t name[] = "__Host-refresh";
    ag_span v = {NULL, 0};
    size_t count = 0;
    ag_err whole = ag_http_parse_cookie(data, size, name, sizeof name - 1, &v, &count);
    if (whole == AG_OK) {
        if (count > 1)
            abort();
        if (count == 1)
            check_value(data, size, v);
    }

    ag_header h[32];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 32; i++) {
        if (i == size || data[i] == '\n') {
            h[n].name = (ag_span){(const uint8_t *)"Cookie", 6};
            h[n].value = (ag_span){data + start, i - start};
            n++;
            start = i + 1;
        }
    }
    ag_err e = ag_http_find_cookie(h, n, name, sizeof name - 1, &v);
    if (e == AG_OK)
        check_value(data, size, v);
    if (n == 1 && (e == AG_OK) != (whole == AG_OK && count == 1))
        abort(); /* one field: both entry points agree */
    return 0;
}

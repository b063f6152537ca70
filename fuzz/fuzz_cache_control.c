/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the Cache-Control max-age reader (remote JWKS).
 * Invariants: never crash or read past the input (ASan: the input is
 * copied into an exact-size heap block); the answer is -1 or within
 * 0..AG__CACHE_MAX_AGE_CAP; a found max-age means the line starts with
 * the field name; and what follows a CR or LF never changes the answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token/token_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size > 0 ? size : 1);
    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    int64_t v = ag__cache_max_age(line, size);
    if (v < -1 || v > AG__CACHE_MAX_AGE_CAP)
        abort();
    if (v >= 0 && (size < 14 || line[13] != ':'))
        abort();
    for (size_t i = 0; i < size; i++)
        if (line[i] == '\r' || line[i] == '\n') {
            if (ag__cache_max_age(line, i + 1) != v)
                abort();
            break;
        }
    free(line);
    return 0;
}

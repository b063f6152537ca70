/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the Authorization parser (H-01, H-02, V-19) and the
 * URL-credential check (H-03). Invariants: never crash or over-read; an
 * accepted token is a view inside the input, in the b64token charset, and
 * parsing the token again as "Bearer <token>" gives it back. The
 * b64token scan gives the RFC's answer with its AVX2 twin
 * (lib/token/b64_simd.c) and with the table loop alone. The same bytes
 * as an Idempotency-Key value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/http.h"
#include "common/common_int.h"
#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int b64token_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t want = 0;
    while (want < size && b64token_char(data[want]) && data[want] != '=')
        want++;
    ag__cpu_restrict(0);
    size_t portable = ag__b64token_span(data, size);
    ag__cpu_restrict(AG__CPU_ALL);
    if (portable != want || ag__b64token_span(data, size) != want)
        abort();
    if ((ag__cpu_features() & AG__CPU_AVX2) != 0 &&
        ag__b64token_span_avx2(data, size) != (size >= 32 ? want : 0))
        abort();

    ag_span tok;
    ag_err e = ag_http_parse_bearer(data, size, &tok);
    if (e == AG_OK) {
        if (tok.len == 0 || tok.ptr < data || tok.ptr + tok.len > data + size)
            abort();
        for (size_t i = 0; i < tok.len; i++)
            if (!b64token_char(tok.ptr[i]))
                abort();
        uint8_t again[AG_TOKEN_MAX_LEN + 8];
        memcpy(again, "Bearer ", 7);
        memcpy(again + 7, tok.ptr, tok.len);
        ag_span t2;
        if (ag_http_parse_bearer(again, tok.len + 7, &t2) != AG_OK || t2.len != tok.len ||
            memcmp(t2.ptr, tok.ptr, tok.len) != 0)
            abort();
    } else if (tok.ptr != NULL || tok.len != 0) {
        abort();
    }

    /* the same bytes as a header list: fields split at '\n' */
    ag_header h[16];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 16; i++) {
        if (i == size || data[i] == '\n') {
            h[n].name = (ag_span){(const uint8_t *)"Authorization", 13};
            h[n].value = (ag_span){data + start, i - start};
            n++;
            start = i + 1;
        }
    }
    e = ag_http_find_bearer(h, n, &tok);
    if (n > 1 && e != AG_ERR_AMBIGUOUS)
        abort(); /* H-02: two fields are always ambiguous */

    /* Idempotency-Key: an accepted key is a view strictly inside the
     * quotes, 1..128 bytes of 0x20..0x7e without '"' or '\\' */
    ag_span key;
    if (ag_http_parse_idempotency_key(data, size, &key) == AG_OK) {
        if (key.len == 0 || key.len > AG_IDEMPOTENCY_KEY_MAX_LEN || key.ptr <= data ||
            key.ptr + key.len >= data + size || key.ptr[-1] != '"' || key.ptr[key.len] != '"')
            abort();
        for (size_t i = 0; i < key.len; i++)
            if (key.ptr[i] < 0x20 || key.ptr[i] > 0x7e || key.ptr[i] == '"' || key.ptr[i] == '\\')
                abort();
    } else if (key.ptr != NULL || key.len != 0) {
        abort();
    }

    (void)ag_http_check_query(data, size);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for lib/token/base64url.c (V-03, V-05). Invariants:
 * never crash or over-read; a decode that succeeds re-encodes to exactly
 * the input (one spelling per byte string); a failed decode reports length
 * 0 and leaves the output wiped; any bytes encode and decode back; the
 * compact split accepts only three non-empty strict segments. The
 * hot-path decoder gives the same answer, byte for byte, with its AVX2
 * twin (lib/token/b64_simd.c) and with the table loop alone, writing into
 * a heap buffer of exactly the decoded size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/token.h"
#include "token/b64_int.h"
#include "token/token_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t dec[AG_TOKEN_MAX_LEN * 2];
static char enc[AG_TOKEN_MAX_LEN * 3];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > AG_TOKEN_MAX_LEN)
        return 0;

    /* decode, then re-encode: must give the input back exactly */
    size_t n = 1, m = 1;
    memset(dec, 0xA5, AG_B64URL_DECODED_MAX(size) + 1);
    ag_err e = ag_base64url_decode(data, size, dec, sizeof dec, &n);
    if (e == AG_OK) {
        if (n != AG_B64URL_DECODED_MAX(size))
            abort();
        if (ag_base64url_encode(dec, n, enc, sizeof enc, &m) != AG_OK || m != size ||
            memcmp(enc, data, size) != 0)
            abort();
    } else {
        if (e != AG_ERR_MALFORMED || n != 0)
            abort();
        size_t need = size % 4 == 1 ? 0 : AG_B64URL_DECODED_MAX(size);
        for (size_t i = 0; i < need; i++)
            if (dec[i] != 0)
                abort(); /* all or nothing: partial output is wiped */
    }

    /* the hot path: AVX2 twin and table loop, each into exactly need bytes */
    size_t need = size % 4 == 1 ? 0 : AG_B64URL_DECODED_MAX(size);
    uint8_t *fa = malloc(need + 1), *fb = malloc(need + 1);
    if (fa == NULL || fb == NULL)
        abort();
    size_t na = 1, nb = 2;
    ag__cpu_restrict(0);
    ag_err ea = ag__base64url_decode_fast(data, size, fa, need, &na);
    ag__cpu_restrict(AG__CPU_ALL);
    ag_err eb = ag__base64url_decode_fast(data, size, fb, need, &nb);
    if (ea != e || eb != e || na != n || nb != n || memcmp(fa, fb, need) != 0 ||
        (e == AG_OK && memcmp(fa, dec, n) != 0))
        abort();
    if ((ag__cpu_features() & AG__CPU_AVX2) != 0 && size >= 32 && size % 4 != 1) {
        int bad = 0; /* the twin alone: every whole group, flagged as above */
        if (ag__b64url_decode_avx2(data, size, fb, need, &bad) != size / 4 * 4 ||
            (e == AG_OK && (bad != 0 || memcmp(fa, fb, size / 4 * 3) != 0)))
            abort();
    }
    free(fa);
    free(fb);

    /* any bytes round-trip */
    if (ag_base64url_encode(data, size, enc, sizeof enc, &m) != AG_OK ||
        m != AG_B64URL_ENCODED_LEN(size))
        abort();
    if (ag_base64url_decode((const uint8_t *)enc, m, dec, sizeof dec, &n) != AG_OK || n != size ||
        memcmp(dec, data, size) != 0)
        abort();

    /* the compact split */
    static uint8_t h[AG_TOKEN_MAX_LEN], p[AG_TOKEN_MAX_LEN];
    size_t hn, pn;
    e = ag_token_decode_unverified(data, size, h, sizeof h, &hn, p, sizeof p, &pn);
    if (e == AG_OK) {
        size_t dots = 0;
        for (size_t i = 0; i < size; i++)
            dots += data[i] == '.';
        if (dots != 2 || data[0] == '.' || data[size - 1] == '.')
            abort();
    } else if (e != AG_ERR_MALFORMED || hn != 0 || pn != 0) {
        abort();
    }
    return 0;
}

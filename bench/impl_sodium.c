/* SPDX-License-Identifier: MIT */
/*
 * libsodium rows for Ed25519 only, the cryptography alone (like the floor):
 * crypto_sign_verify_detached / crypto_sign_detached over the token's
 * signing input with the same key (raw bytes exported from the EVP_PKEY).
 * They answer the question: is libsodium's Ed25519 clearly faster
 * than OpenSSL 3.0's, enough to be worth an optional backend?
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct na_st {
    bench_fx *fx;
    const uint8_t *msg;
    size_t msg_len;
    uint8_t sig[512];
    size_t sig_len;
    uint8_t out[64];
} na_st;

static void *na_init(bench_fx *fx, const char *token, size_t len)
{
    na_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fx = fx;
    s->msg = (const uint8_t *)token;
    if (!bench_split(token, len, &s->msg_len, s->sig, sizeof(s->sig), &s->sig_len)) {
        free(s);
        return NULL;
    }
    return s;
}

static void na_fini(void *p)
{
    free(p);
}

static int na_verify_benchop(void *p)
{
    na_st *s = p;
    if (s->sig_len != crypto_sign_BYTES)
        return 0;
    return crypto_sign_verify_detached(s->sig, s->msg, s->msg_len, s->fx->ed_pub) == 0;
}

static int na_sign_benchop(void *p)
{
    na_st *s = p;
    return crypto_sign_detached(s->out, NULL, s->msg, s->msg_len, s->fx->ed_sk) == 0 ? 1 : -1;
}

void bench_sodium_rows(bench_rows *r, bench_fx *fx)
{
    if (!(fx->jwa[0] == 'E' && fx->jwa[1] == 'd'))
        return;
    if (sodium_init() < 0)
        return;
    bench_row row = {.impl = "libsodium",
                     .fx = fx,
                     .crypto_only = true,
                     .timed = true,
                     .init = na_init,
                     .fini = na_fini};
    row.case_name = bench_case_name("verify", fx);
    row.kind = KIND_VERIFY;
    row.op = na_verify_benchop;
    bench_rows_add(r, &row);
    row.case_name = bench_case_name("sign", fx);
    row.kind = KIND_SIGN;
    row.op = na_sign_benchop;
    bench_rows_add(r, &row);
}

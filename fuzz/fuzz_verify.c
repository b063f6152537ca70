/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for the whole verify pipeline (V-03…V-16, V-19).
 * The first input byte picks what the rest is:
 *   0: a token, verified as is (mostly rejected before the signature);
 *   1: a payload, signed under a fixed header with the fuzzer's key, so
 *      the claims code after the signature sees arbitrary JSON;
 *   2: a header, signed over a fixed valid payload (header policy, kid,
 *      alg and typ paths with a valid signature).
 * Invariants: never crash or over-read; only documented error codes; an
 * accepted token has non-empty iss, sub, aud, jti inside the claims struct.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/token.h"
#include "token/token_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ag_key *key;
static ag_verifier *verifier;
static ag_claims claims = AG_INIT(ag_claims);
static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
static char tok[AG_TOKEN_MAX_LEN * 2];

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return 1700000000;
}

static void setup(void)
{
    static const uint8_t secret[32] = "fuzz-secret-fuzz-secret-fuzz-sec";
    ag_keyring *ring = NULL;
    if (ag_key_from_secret(AG_ALG_HS256, secret, sizeof(secret), "k1", &key) != AG_OK ||
        ag_keyring_new(NULL, &ring) != AG_OK || ag_keyring_add(ring, key) != AG_OK)
        abort();
    ag_verifier_config c = AG_INIT(ag_verifier_config);
    c.keys = ring;
    c.kind = AG_TOKEN_ANY;
    c.audience = "aud";
    c.leeway = -1;
    c.clock = fixed_clock;
    if (ag_verifier_new(&c, &verifier) != AG_OK)
        abort();
    ag_keyring_free(ring);
}

/* b64(hdr).b64(payload).b64(HMAC) into tok; returns its length or 0. */
static size_t sign(const uint8_t *hdr, size_t hn, const uint8_t *pl, size_t pn)
{
    size_t n, w;
    if (AG_B64URL_ENCODED_LEN(hn) + AG_B64URL_ENCODED_LEN(pn) + 50 > sizeof(tok))
        return 0;
    if (ag_base64url_encode(hdr, hn, tok, sizeof(tok), &w) != AG_OK)
        abort();
    n = w;
    tok[n++] = '.';
    if (ag_base64url_encode(pl, pn, tok + n, sizeof(tok) - n, &w) != AG_OK)
        abort();
    n += w;
    uint8_t mac[64];
    size_t ml;
    if (ag__sign(key, (const uint8_t *)tok, n, mac, sizeof(mac), &ml) != AG_OK)
        abort();
    tok[n++] = '.';
    if (ag_base64url_encode(mac, ml, tok + n, sizeof(tok) - n, &w) != AG_OK)
        abort();
    return n + w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}";
    static const char pl[] = "{\"iss\":\"i\",\"sub\":\"s\",\"aud\":\"aud\",\"exp\":1700000600,"
                             "\"iat\":1700000000,\"jti\":\"j\"}";
    if (key == NULL)
        setup();
    if (size == 0)
        return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1, len;
    switch (data[0] % 3) {
    case 0:
        len = n;
        memcpy(tok, in, n < sizeof(tok) ? n : 0);
        if (n >= sizeof(tok))
            return 0;
        break;
    case 1:
        len = sign((const uint8_t *)hdr, sizeof(hdr) - 1, in, n);
        break;
    default:
        len = sign(in, n, (const uint8_t *)pl, sizeof(pl) - 1);
        break;
    }
    if (len == 0 && data[0] % 3 != 0)
        return 0;
    ag_err e = ag_verify(verifier, (const uint8_t *)tok, len, scratch, sizeof scratch, &claims);
    switch (e) {
    case AG_OK:
        if (claims.iss.len == 0 || claims.sub.len == 0 || claims.aud.len == 0 ||
            claims.jti.len == 0)
            abort();
        if (claims.sub.ptr < scratch || claims.sub.ptr + claims.sub.len > scratch + sizeof scratch)
            abort();
        break;
    case AG_ERR_TOO_LARGE:
    case AG_ERR_MALFORMED:
    case AG_ERR_ALG:
    case AG_ERR_HEADER:
    case AG_ERR_KEY:
    case AG_ERR_SIGNATURE:
    case AG_ERR_EXPIRED:
    case AG_ERR_NOT_YET_VALID:
    case AG_ERR_CLAIM:
    case AG_ERR_WRONG_TYPE:
        break;
    default:
        abort(); /* no other code may come out of ag_verify on any input */
    }
    return 0;
}

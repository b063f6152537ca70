/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer driver for JWK and JWKS import (V-01, V-02, V-17, V-19).
 * Invariants: never crash or leak; a JWK that imports exports (public part)
 * to a JWK that imports again with the same alg and kid; an HMAC key has no
 * public export; a JWKS that imports exports as a JWKS that imports.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authgate/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    ag_key *k = NULL;
    char err[128];
    ag_err e = ag_key_from_jwk((const char *)data, size, 0, &k, err, sizeof(err));
    if (e == AG_OK) {
        char *pub = NULL;
        ag_err x = ag_key_to_jwk(k, false, &pub);
        bool hmac = ag_key_alg(k) <= AG_ALG_HS512;
        if (hmac != (x != AG_OK))
            abort();
        if (x == AG_OK) {
            ag_key *k2 = NULL;
            if (ag_key_from_jwk(pub, strlen(pub), 0, &k2, NULL, 0) != AG_OK ||
                ag_key_alg(k2) != ag_key_alg(k) || strcmp(ag_key_kid(k2), ag_key_kid(k)) != 0 ||
                ag_key_is_private(k2))
                abort();
            ag_key_free(k2);
            ag_free(pub);
        }
        ag_key_free(k);
    }
    ag_keyring *ring = NULL;
    if (ag_keyring_from_jwks((const char *)data, size, 0, &ring, NULL, 0) == AG_OK) {
        char *out = NULL;
        if (ag_keyring_to_jwks(ring, &out) != AG_OK)
            abort();
        ag_keyring *r2 = NULL;
        if (ag_keyring_from_jwks(out, strlen(out), 0, &r2, NULL, 0) != AG_OK &&
            strcmp(out, "{\"keys\":[]}") != 0)
            abort();
        ag_keyring_free(r2);
        ag_free(out);
        ag_keyring_free(ring);
    }
    return 0;
}

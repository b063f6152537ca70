/* SPDX-License-Identifier: MIT */
/* authgate — the algorithm table (RFC 7518 §3.1, RFC 8037 §3.1). */
#include <string.h>

#include "token_int.h"

static const ag__alg_info algs[] = {
    {AG_ALG_HS256, "HS256", AG__FAM_HMAC, 256, 32, NULL},
    {AG_ALG_HS384, "HS384", AG__FAM_HMAC, 384, 48, NULL},
    {AG_ALG_HS512, "HS512", AG__FAM_HMAC, 512, 64, NULL},
    {AG_ALG_RS256, "RS256", AG__FAM_RSA_PKCS1, 256, 0, NULL},
    {AG_ALG_RS384, "RS384", AG__FAM_RSA_PKCS1, 384, 0, NULL},
    {AG_ALG_RS512, "RS512", AG__FAM_RSA_PKCS1, 512, 0, NULL},
    {AG_ALG_PS256, "PS256", AG__FAM_RSA_PSS, 256, 0, NULL},
    {AG_ALG_PS384, "PS384", AG__FAM_RSA_PSS, 384, 0, NULL},
    {AG_ALG_PS512, "PS512", AG__FAM_RSA_PSS, 512, 0, NULL},
    {AG_ALG_ES256, "ES256", AG__FAM_ECDSA, 256, 64, "P-256"},
    {AG_ALG_ES384, "ES384", AG__FAM_ECDSA, 384, 96, "P-384"},
    {AG_ALG_EDDSA, "EdDSA", AG__FAM_EDDSA, 0, 64, "Ed25519"},
};

const ag__alg_info *ag__alg_get(ag_alg alg)
{
    size_t i = (size_t)alg - 1;
    if ((int)alg < 1 || i >= AG__ARRAY_LEN(algs))
        return NULL;
    return &algs[i];
}

const char *ag_alg_name(ag_alg alg)
{
    const ag__alg_info *a = ag__alg_get(alg);
    return a != NULL ? a->name : NULL;
}

ag_err ag_alg_from_name(const char *name, size_t len, ag_alg *out)
{
    if (name == NULL || out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < AG__ARRAY_LEN(algs); i++) {
        if (strlen(algs[i].name) == len && memcmp(algs[i].name, name, len) == 0) {
            *out = algs[i].alg;
            return AG_OK;
        }
    }
    return AG_ERR_ALG;
}

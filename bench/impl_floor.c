/* SPDX-License-Identifier: MIT */
/*
 * The raw OpenSSL floor: only the cryptography, on the same bytes, the
 * fastest non-deprecated OpenSSL 3 way we know, with all state set up once
 * per thread. No base64url, no JSON, no claims: the signature is decoded and
 * the signing input located once, in init.
 *
 * HMAC is measured three ways and the fastest becomes "openssl-floor":
 *   openssl-evp-mac   EVP_MAC_CTX keyed once, EVP_MAC_init(ctx, NULL, 0,
 *                     NULL) per call (keeps the key schedule)
 *   openssl-dispatch  SHA-256 provider contexts driven through the
 *                     provider's dispatch table, re-initialised per call,
 *                     ipad/opad blocks absorbed per call (what authgate does)
 *   openssl-md-copy   pre-keyed ipad/opad EVP_MD_CTX copied per call
 *                     (EVP_MD_CTX_copy_ex)
 * Signatures: a pre-parsed EVP_PKEY and a per-thread EVP_PKEY_CTX
 * initialised once; EVP_PKEY_verify over the SHA-256 digest (dispatch
 * context) for RS/PS/ES, R‖S converted to DER by hand for ES;
 * EVP_DigestVerify on a per-thread EVP_MD_CTX for Ed25519.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

/* ---- SHA-256 through the provider's dispatch table --------------------- */

typedef struct sha256_dispatch {
    void *provctx;
    OSSL_FUNC_digest_newctx_fn *newctx;
    OSSL_FUNC_digest_init_fn *init;
    OSSL_FUNC_digest_update_fn *update;
    OSSL_FUNC_digest_final_fn *final;
    OSSL_FUNC_digest_freectx_fn *freectx;
} sha256_dispatch;

static sha256_dispatch g_sha;
static EVP_MD *g_md;
static int g_sha_ready = -1;

static int names_include(const char *names, const char *want)
{
    size_t wl = strlen(want);
    const char *p = names;
    while (*p != '\0') {
        const char *e = strchr(p, ':');
        size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
        if (l == wl && strncmp(p, want, wl) == 0)
            return 1;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return 0;
}

/* Called once from main's thread before workers start. */
static int sha_setup(void)
{
    if (g_sha_ready >= 0)
        return g_sha_ready;
    g_sha_ready = 0;
    g_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    if (g_md == NULL)
        return 0;
    const OSSL_PROVIDER *prov = EVP_MD_get0_provider(g_md);
    int no_cache = 0;
    const OSSL_ALGORITHM *algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_DIGEST, &no_cache);
    for (const OSSL_ALGORITHM *a = algs; a != NULL && a->algorithm_names != NULL; a++) {
        if (!names_include(a->algorithm_names, "SHA2-256"))
            continue;
        for (const OSSL_DISPATCH *d = a->implementation; d->function_id != 0; d++) {
            switch (d->function_id) {
            case OSSL_FUNC_DIGEST_NEWCTX:
                g_sha.newctx = OSSL_FUNC_digest_newctx(d);
                break;
            case OSSL_FUNC_DIGEST_INIT:
                g_sha.init = OSSL_FUNC_digest_init(d);
                break;
            case OSSL_FUNC_DIGEST_UPDATE:
                g_sha.update = OSSL_FUNC_digest_update(d);
                break;
            case OSSL_FUNC_DIGEST_FINAL:
                g_sha.final = OSSL_FUNC_digest_final(d);
                break;
            case OSSL_FUNC_DIGEST_FREECTX:
                g_sha.freectx = OSSL_FUNC_digest_freectx(d);
                break;
            default:
                break;
            }
        }
        break;
    }
    if (algs != NULL)
        OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_DIGEST, algs);
    g_sha.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
    g_sha_ready = g_sha.newctx && g_sha.init && g_sha.update && g_sha.final && g_sha.freectx;
    return g_sha_ready;
}

static int sha256_parts(void *ctx, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
                        uint8_t out[32])
{
    size_t outl = 0;
    return g_sha.init(ctx, NULL) && (an == 0 || g_sha.update(ctx, a, an)) &&
           g_sha.update(ctx, b, bn) && g_sha.final(ctx, out, &outl, 32) && outl == 32;
}

/* ---- ECDSA R‖S ↔ DER --------------------------------------------------- */

static size_t der_put_int(uint8_t *out, const uint8_t *v, size_t n)
{
    size_t i = 0;
    while (i + 1 < n && v[i] == 0)
        i++;
    size_t len = n - i, pad = (v[i] & 0x80) != 0;
    out[0] = 0x02;
    out[1] = (uint8_t)(len + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v + i, len);
    return 2 + pad + len;
}

static size_t rs_to_der(const uint8_t *rs, size_t n, uint8_t *out)
{
    size_t l = der_put_int(out + 2, rs, n);
    l += der_put_int(out + 2 + l, rs + n, n);
    out[0] = 0x30;
    out[1] = (uint8_t)l;
    return l + 2;
}

static int der_get_int(const uint8_t **pp, const uint8_t *end, uint8_t *v, size_t n)
{
    const uint8_t *p = *pp;
    if (end - p < 2 || p[0] != 0x02 || p[1] > end - p - 2)
        return 0;
    size_t len = p[1];
    p += 2;
    while (len > 0 && *p == 0) {
        p++;
        len--;
    }
    if (len > n)
        return 0;
    memset(v, 0, n - len);
    memcpy(v + n - len, p, len);
    *pp = p + len;
    return 1;
}

static int der_to_rs(const uint8_t *der, size_t der_len, uint8_t *rs, size_t n)
{
    const uint8_t *p = der + 2, *end = der + der_len;
    return der_len > 2 && der[0] == 0x30 && der[1] == der_len - 2 && der_get_int(&p, end, rs, n) &&
           der_get_int(&p, end, rs + n, n) && p == end;
}

/* ---- shared helpers ------------------------------------------------------ */

int bench_split(const char *tok, size_t len, size_t *signing_len, uint8_t *sig, size_t cap,
                size_t *sig_len)
{
    const char *d1 = memchr(tok, '.', len);
    if (d1 == NULL)
        return 0;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
    if (d2 == NULL)
        return 0;
    *signing_len = (size_t)(d2 - tok);
    long n = bench_b64url_decode(d2 + 1, len - *signing_len - 1, sig, cap);
    if (n < 0)
        return 0;
    *sig_len = (size_t)n;
    return 1;
}

static int is_hmac(const bench_fx *fx)
{
    return fx->jwa[0] == 'H';
}

static int setup_pkey_ctx(const bench_fx *fx, EVP_PKEY_CTX *c, int verify)
{
    if ((verify ? EVP_PKEY_verify_init(c) : EVP_PKEY_sign_init(c)) <= 0)
        return 0;
    if (fx->jwa[0] == 'E')
        return 1;
    int pss = fx->jwa[0] == 'P';
    if (EVP_PKEY_CTX_set_rsa_padding(c, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(c, g_md) <= 0)
        return 0;
    if (pss && (EVP_PKEY_CTX_set_rsa_mgf1_md(c, g_md) <= 0 ||
                EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) <= 0))
        return 0;
    return 1;
}

int bench_floor_sign_once(const bench_fx *fx, const uint8_t *msg, size_t n, uint8_t *sig,
                          size_t *sig_len)
{
    if (!sha_setup())
        return 0;
    if (is_hmac(fx)) {
        size_t l = 0;
        if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, fx->secret, sizeof(fx->secret), msg, n,
                      sig, 32, &l) == NULL)
            return 0;
        *sig_len = l;
        return l == 32;
    }
    if (fx->jwa[0] == 'E' && fx->jwa[1] == 'd') {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        size_t l = 64;
        int ok = m != NULL &&
                 EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, fx->pkey, NULL) == 1 &&
                 EVP_DigestSign(m, sig, &l, msg, n) == 1;
        EVP_MD_CTX_free(m);
        *sig_len = l;
        return ok;
    }
    uint8_t dg[32];
    unsigned dl = 0;
    if (!EVP_Digest(msg, n, dg, &dl, g_md, NULL))
        return 0;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, fx->pkey, NULL);
    int ok = c != NULL && setup_pkey_ctx(fx, c, 0);
    if (ok && fx->jwa[0] == 'E') {
        uint8_t der[80];
        size_t dlen = sizeof(der);
        ok = EVP_PKEY_sign(c, der, &dlen, dg, 32) == 1 && der_to_rs(der, dlen, sig, 32);
        *sig_len = 64;
    } else if (ok) {
        size_t l = 512;
        ok = EVP_PKEY_sign(c, sig, &l, dg, 32) == 1;
        *sig_len = l;
    }
    EVP_PKEY_CTX_free(c);
    return ok;
}

/* ---- per-thread state ---------------------------------------------------- */

typedef enum hmac_way { WAY_EVP_MAC = 1, WAY_DISPATCH, WAY_MD_COPY } hmac_way;

typedef struct floor_st {
    bench_fx *fx;
    hmac_way way;
    int sign;
    const uint8_t *msg; /* signing input (points into the fixture token) */
    size_t msg_len;
    uint8_t sig[512];
    size_t sig_len;
    uint8_t out[512];
    /* HMAC */
    EVP_MAC_CTX *mac;
    void *sha_in, *sha_out;     /* dispatch contexts */
    uint8_t ipad[64], opad[64]; /* K ^ 0x36.., K ^ 0x5c.. */
    EVP_MD_CTX *keyed_in, *keyed_out, *work;
    /* signatures */
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *ed;
} floor_st;

static void floor_fini(void *p)
{
    floor_st *s = p;
    if (s == NULL)
        return;
    EVP_MAC_CTX_free(s->mac);
    if (s->sha_in != NULL)
        g_sha.freectx(s->sha_in);
    if (s->sha_out != NULL)
        g_sha.freectx(s->sha_out);
    EVP_MD_CTX_free(s->keyed_in);
    EVP_MD_CTX_free(s->keyed_out);
    EVP_MD_CTX_free(s->work);
    EVP_PKEY_CTX_free(s->pctx);
    EVP_MD_CTX_free(s->ed);
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

static floor_st *floor_new(bench_fx *fx, const char *token, size_t len, hmac_way way, int sign)
{
    if (!sha_setup())
        return NULL;
    floor_st *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->fx = fx;
    s->way = way;
    s->sign = sign;
    s->msg = (const uint8_t *)token;
    if (!bench_split(token, len, &s->msg_len, s->sig, sizeof(s->sig), &s->sig_len))
        goto fail;
    s->sha_in = g_sha.newctx(g_sha.provctx);
    if (s->sha_in == NULL)
        goto fail;
    if (is_hmac(fx)) {
        for (size_t i = 0; i < 64; i++) {
            uint8_t k = i < sizeof(fx->secret) ? fx->secret[i] : 0;
            s->ipad[i] = k ^ 0x36;
            s->opad[i] = k ^ 0x5c;
        }
        if (way == WAY_EVP_MAC) {
            EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
            s->mac = m != NULL ? EVP_MAC_CTX_new(m) : NULL;
            EVP_MAC_free(m);
            OSSL_PARAM prm[2] = {
                OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                OSSL_PARAM_construct_end()};
            if (s->mac == NULL || !EVP_MAC_init(s->mac, fx->secret, sizeof(fx->secret), prm))
                goto fail;
        } else if (way == WAY_DISPATCH) {
            s->sha_out = g_sha.newctx(g_sha.provctx);
            if (s->sha_out == NULL)
                goto fail;
        } else {
            s->keyed_in = EVP_MD_CTX_new();
            s->keyed_out = EVP_MD_CTX_new();
            s->work = EVP_MD_CTX_new();
            if (s->work == NULL || !EVP_DigestInit_ex2(s->keyed_in, g_md, NULL) ||
                !EVP_DigestUpdate(s->keyed_in, s->ipad, 64) ||
                !EVP_DigestInit_ex2(s->keyed_out, g_md, NULL) ||
                !EVP_DigestUpdate(s->keyed_out, s->opad, 64))
                goto fail;
        }
        return s;
    }
    if (fx->jwa[0] == 'E' && fx->jwa[1] == 'd') {
        /* Initialised once; EVP_DigestVerify/EVP_DigestSign are one-shot for
         * Ed25519 and leave the context reusable on OpenSSL 3.0. */
        s->ed = EVP_MD_CTX_new();
        int ok =
            s->ed != NULL &&
            (sign ? EVP_DigestSignInit_ex(s->ed, NULL, NULL, NULL, NULL, fx->pkey, NULL)
                  : EVP_DigestVerifyInit_ex(s->ed, NULL, NULL, NULL, NULL, fx->pub, NULL)) == 1;
        if (!ok)
            goto fail;
        return s;
    }
    s->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, sign ? fx->pkey : fx->pub, NULL);
    if (s->pctx == NULL || !setup_pkey_ctx(fx, s->pctx, !sign))
        goto fail;
    return s;
fail:
    floor_fini(s);
    return NULL;
}

static int hmac_compute(floor_st *s, uint8_t mac[32])
{
    size_t l = 0;
    switch (s->way) {
    case WAY_EVP_MAC:
        return EVP_MAC_init(s->mac, NULL, 0, NULL) && EVP_MAC_update(s->mac, s->msg, s->msg_len) &&
               EVP_MAC_final(s->mac, mac, &l, 32);
    case WAY_DISPATCH: {
        uint8_t inner[32];
        return sha256_parts(s->sha_in, s->ipad, 64, s->msg, s->msg_len, inner) &&
               sha256_parts(s->sha_out, s->opad, 64, inner, 32, mac);
    }
    case WAY_MD_COPY: {
        uint8_t inner[32];
        unsigned il = 0, ol = 0;
        return EVP_MD_CTX_copy_ex(s->work, s->keyed_in) &&
               EVP_DigestUpdate(s->work, s->msg, s->msg_len) &&
               EVP_DigestFinal_ex(s->work, inner, &il) &&
               EVP_MD_CTX_copy_ex(s->work, s->keyed_out) && EVP_DigestUpdate(s->work, inner, 32) &&
               EVP_DigestFinal_ex(s->work, mac, &ol);
    }
    }
    return 0;
}

static int floor_verify_benchop(void *p)
{
    floor_st *s = p;
    const bench_fx *fx = s->fx;
    if (is_hmac(fx)) {
        uint8_t mac[32];
        if (!hmac_compute(s, mac))
            return -1;
        return s->sig_len == 32 && CRYPTO_memcmp(mac, s->sig, 32) == 0;
    }
    int rc;
    if (s->ed != NULL) {
        if (s->sig_len != 64)
            return 0;
        rc = EVP_DigestVerify(s->ed, s->sig, s->sig_len, s->msg, s->msg_len);
    } else {
        uint8_t dg[32];
        if (!sha256_parts(s->sha_in, NULL, 0, s->msg, s->msg_len, dg))
            return -1;
        if (fx->jwa[0] == 'E') {
            if (s->sig_len != 64)
                return 0;
            uint8_t der[80];
            size_t dl = rs_to_der(s->sig, 32, der);
            rc = EVP_PKEY_verify(s->pctx, der, dl, dg, 32);
        } else {
            if (s->sig_len != fx->rsa_bytes)
                return 0;
            rc = EVP_PKEY_verify(s->pctx, s->sig, s->sig_len, dg, 32);
        }
    }
    if (rc != 1) {
        ERR_clear_error();
        return 0;
    }
    return 1;
}

static int floor_sign_benchop(void *p)
{
    floor_st *s = p;
    const bench_fx *fx = s->fx;
    if (is_hmac(fx))
        return hmac_compute(s, s->out) ? 1 : -1;
    if (s->ed != NULL) {
        size_t l = 64;
        return EVP_DigestSign(s->ed, s->out, &l, s->msg, s->msg_len) == 1 ? 1 : -1;
    }
    uint8_t dg[32];
    if (!sha256_parts(s->sha_in, NULL, 0, s->msg, s->msg_len, dg))
        return -1;
    if (fx->jwa[0] == 'E') {
        uint8_t der[80];
        size_t dl = sizeof(der);
        return EVP_PKEY_sign(s->pctx, der, &dl, dg, 32) == 1 && der_to_rs(der, dl, s->out, 32) ? 1
                                                                                               : -1;
    }
    size_t l = sizeof(s->out);
    return EVP_PKEY_sign(s->pctx, s->out, &l, dg, 32) == 1 ? 1 : -1;
}

static void *init_v_mac(bench_fx *fx, const char *t, size_t n)
{
    return floor_new(fx, t, n, WAY_EVP_MAC, 0);
}
static void *init_v_dis(bench_fx *fx, const char *t, size_t n)
{
    return floor_new(fx, t, n, WAY_DISPATCH, 0);
}
static void *init_v_cpy(bench_fx *fx, const char *t, size_t n)
{
    return floor_new(fx, t, n, WAY_MD_COPY, 0);
}
static void *init_s_mac(bench_fx *fx, const char *t, size_t n)
{
    return floor_new(fx, t, n, WAY_EVP_MAC, 1);
}
static void *init_s_dis(bench_fx *fx, const char *t, size_t n)
{
    return floor_new(fx, t, n, WAY_DISPATCH, 1);
}
static void *init_s_cpy(bench_fx *fx, const char *t, size_t n)
{
    return floor_new(fx, t, n, WAY_MD_COPY, 1);
}

static char g_case_names[64][32];
static size_t g_case_count;

/* Stable storage for "<prefix>_<alg>" case names. */
static const char *case_name(const char *prefix, const bench_fx *fx)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%s_%s", prefix, fx->lname);
    for (size_t i = 0; i < g_case_count; i++)
        if (strcmp(g_case_names[i], buf) == 0)
            return g_case_names[i];
    if (g_case_count == sizeof(g_case_names) / sizeof(g_case_names[0]))
        return "case-overflow";
    memcpy(g_case_names[g_case_count], buf, sizeof(buf));
    return g_case_names[g_case_count++];
}

const char *bench_case_name(const char *prefix, const bench_fx *fx)
{
    return case_name(prefix, fx);
}

void bench_floor_rows(bench_rows *r, bench_fx *fx)
{
    static const char *const prefixes[2] = {"verify", "hotpath"};
    for (int k = 0; k < 2; k++) {
        bench_row row = {.case_name = case_name(prefixes[k], fx),
                         .kind = k == 0 ? KIND_VERIFY : KIND_HOTPATH,
                         .fx = fx,
                         .crypto_only = true,
                         .timed = true,
                         .op = floor_verify_benchop,
                         .fini = floor_fini};
        if (is_hmac(fx)) {
            row.impl = "openssl-evp-mac";
            row.init = init_v_mac;
            bench_rows_add(r, &row);
            row.impl = "openssl-dispatch";
            row.init = init_v_dis;
            bench_rows_add(r, &row);
            row.impl = "openssl-md-copy";
            row.init = init_v_cpy;
            bench_rows_add(r, &row);
        } else {
            row.impl = "openssl-floor";
            row.init = init_v_dis;
            bench_rows_add(r, &row);
        }
    }
    bench_row row = {.case_name = case_name("sign", fx),
                     .kind = KIND_SIGN,
                     .fx = fx,
                     .crypto_only = true,
                     .timed = true,
                     .op = floor_sign_benchop,
                     .fini = floor_fini};
    if (is_hmac(fx)) {
        row.impl = "openssl-evp-mac";
        row.init = init_s_mac;
        bench_rows_add(r, &row);
        row.impl = "openssl-dispatch";
        row.init = init_s_dis;
        bench_rows_add(r, &row);
        row.impl = "openssl-md-copy";
        row.init = init_s_cpy;
        bench_rows_add(r, &row);
    } else {
        row.impl = "openssl-floor";
        row.init = init_s_dis;
        bench_rows_add(r, &row);
    }
}

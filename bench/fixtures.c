/* SPDX-License-Identifier: MIT */
/*
 * Fixtures: one key per algorithm, created once with OpenSSL and loaded into
 * authgate from the same PEM (HMAC: the same 32 random bytes), exported for
 * cjose with ag_key_to_jwk, and the tokens every implementation verifies,
 * issued once with ag_issue:
 *   token     valid access token (typ at+jwt)
 *   bad[]     negative tokens (see bench_bad)
 *   foreign   the same claims encoded by this file with OpenSSL + jansson-free
 *             printf, signed by the floor: authgate must accept it too
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "authgate/token.h"

int64_t bench_now(void)
{
    return (int64_t)time(NULL);
}

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t bench_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64u[v >> 18];
        out[o++] = b64u[(v >> 12) & 63];
        out[o++] = b64u[(v >> 6) & 63];
        out[o++] = b64u[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64u[v >> 18];
        out[o++] = b64u[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64u[v >> 18];
        out[o++] = b64u[(v >> 12) & 63];
        out[o++] = b64u[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

long bench_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(b64u, in[i], 64);
        if (p == NULL || in[i] == '\0')
            return -1;
        acc = acc << 6 | (uint32_t)(p - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

static const struct {
    const char *lname, *jwa;
    ag_alg alg;
} algs[] = {
    {"hs256", "HS256", AG_ALG_HS256}, {"es256", "ES256", AG_ALG_ES256},
    {"eddsa", "EdDSA", AG_ALG_EDDSA}, {"rs256", "RS256", AG_ALG_RS256},
    {"ps256", "PS256", AG_ALG_PS256},
};

static char *pem_of(EVP_PKEY *k, int private_key, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return NULL;
    int ok = private_key ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_PUBKEY(b, k);
    char *data = NULL, *out = NULL;
    long n = ok ? BIO_get_mem_data(b, &data) : 0;
    if (n > 0 && (out = malloc((size_t)n + 1)) != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
        *len = (size_t)n;
    }
    BIO_free(b);
    return out;
}

static int make_keys(bench_fx *fx)
{
    if (fx->jwa[0] == 'H') {
        if (RAND_bytes(fx->secret, sizeof(fx->secret)) != 1)
            return -1;
        char k[64];
        bench_b64url_encode(fx->secret, sizeof(fx->secret), k);
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "{\"kty\":\"oct\",\"kid\":\"%s\",\"alg\":\"HS256\",\"k\":\"%s\"}", fx->kid, k);
        fx->jwk_priv = strdup(buf);
        fx->jwk_pub = strdup(buf);
        return fx->jwk_pub != NULL ? 0 : -1;
    }
    if (fx->jwa[0] == 'E' && fx->jwa[1] == 'S')
        fx->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (fx->jwa[0] == 'E')
        fx->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else
        fx->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (fx->pkey == NULL)
        return -1;
    fx->priv_pem = pem_of(fx->pkey, 1, &fx->priv_pem_len);
    fx->pub_pem = pem_of(fx->pkey, 0, &fx->pub_pem_len);
    if (fx->priv_pem == NULL || fx->pub_pem == NULL)
        return -1;
    BIO *b = BIO_new_mem_buf(fx->pub_pem, (int)fx->pub_pem_len);
    fx->pub = b != NULL ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (fx->pub == NULL)
        return -1;
    if (fx->jwa[0] == 'E' && fx->jwa[1] == 'd') {
        size_t pl = 32, sl = 32;
        if (!EVP_PKEY_get_raw_public_key(fx->pkey, fx->ed_pub, &pl) ||
            !EVP_PKEY_get_raw_private_key(fx->pkey, fx->ed_sk, &sl))
            return -1;
        memcpy(fx->ed_sk + 32, fx->ed_pub, 32); /* libsodium's sk = seed ‖ pk */
    }
    if (fx->jwa[0] == 'R' || fx->jwa[0] == 'P')
        fx->rsa_bytes = (size_t)EVP_PKEY_get_size(fx->pkey);
    return 0;
}

static int ag_setup(bench_fx *fx)
{
    ag_key *key = NULL;
    ag_err e;
    if (fx->jwa[0] == 'H')
        e = ag_key_from_secret((ag_alg)fx->ag_alg, fx->secret, sizeof(fx->secret), fx->kid, &key);
    else
        e = ag_key_from_pem((ag_alg)fx->ag_alg, (const uint8_t *)fx->priv_pem, fx->priv_pem_len,
                            fx->kid, &key);
    if (e != AG_OK) {
        fprintf(stderr, "authgate-bench: %s key: %s\n", fx->jwa, ag_strerror(e));
        return -1;
    }
    fx->ag_key = key;
    if (fx->jwa[0] != 'H') {
        char *pub = NULL, *priv = NULL;
        if (ag_key_to_jwk(key, false, &pub) != AG_OK || ag_key_to_jwk(key, true, &priv) != AG_OK) {
            fprintf(stderr, "authgate-bench: %s: ag_key_to_jwk failed\n", fx->jwa);
            ag_free(pub);
            return -1;
        }
        fx->jwk_pub = strdup(pub);
        fx->jwk_priv = strdup(priv);
        ag_cleanse(priv, strlen(priv));
        ag_free(pub);
        ag_free(priv);
    }
    ag_keyring *ring = NULL;
    if (ag_keyring_new(NULL, &ring) != AG_OK || ag_keyring_add(ring, key) != AG_OK)
        return -1;
    fx->ag_ring = ring;
    ag_verifier_config vc = {.size = sizeof(ag_verifier_config),
                             .keys = ring,
                             .kind = AG_TOKEN_ACCESS,
                             .issuer = BENCH_ISS,
                             .audience = BENCH_AUD,
                             .leeway = BENCH_LEEWAY};
    ag_verifier *v = NULL;
    if ((e = ag_verifier_new(&vc, &v)) != AG_OK) {
        fprintf(stderr, "authgate-bench: verifier: %s\n", ag_strerror(e));
        return -1;
    }
    fx->ag_verifier = v;
    vc.kind = AG_TOKEN_ANY;
    v = NULL;
    if (ag_verifier_new(&vc, &v) != AG_OK)
        return -1;
    fx->ag_verifier_any = v;
    /* the same policy with a verified-token cache (verify_cached_<alg>) */
    vc.kind = AG_TOKEN_ACCESS;
    vc.cache_entries = BENCH_CACHE_ENTRIES;
    v = NULL;
    if ((e = ag_verifier_new(&vc, &v)) != AG_OK) {
        fprintf(stderr, "authgate-bench: cached verifier: %s\n", ag_strerror(e));
        return -1;
    }
    fx->ag_verifier_cached = v;
    ag_issuer_config ic = {.size = sizeof(ag_issuer_config),
                           .key = key,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = BENCH_ISS,
                           .audience = BENCH_AUD,
                           .ttl = BENCH_TTL};
    ag_issuer *is = NULL;
    if ((e = ag_issuer_new(&ic, &is)) != AG_OK) {
        fprintf(stderr, "authgate-bench: issuer: %s\n", ag_strerror(e));
        return -1;
    }
    fx->ag_issuer = is;
    return 0;
}

/* Issues one token with authgate; kind/iss/aud/now vary for the negatives. */
static char *issue(bench_fx *fx, ag_token_kind kind, const char *iss, const char *aud, int64_t now,
                   size_t *len)
{
    ag_issuer_config ic = {.size = sizeof(ag_issuer_config),
                           .key = fx->ag_key,
                           .kind = kind,
                           .issuer = iss,
                           .audience = aud,
                           .ttl = BENCH_TTL};
    ag_issuer *is = NULL;
    if (ag_issuer_new(&ic, &is) != AG_OK)
        return NULL;
    ag_issue_params p = {.size = sizeof(ag_issue_params),
                         .sub = BENCH_SUB,
                         .now = now,
                         .sid = kind == AG_TOKEN_REFRESH ? "family-1" : NULL};
    char buf[AG_TOKEN_MAX_LEN + 1];
    ag_issued info = AG_INIT(ag_issued);
    ag_err e = ag_issue(is, &p, buf, sizeof(buf), &info);
    ag_issuer_free(is);
    if (e != AG_OK) {
        fprintf(stderr, "authgate-bench: ag_issue %s: %s\n", fx->jwa, ag_strerror(e));
        return NULL;
    }
    *len = info.len;
    return strdup(buf);
}

/* Re-encodes the payload with sub changed, keeping header and signature. */
static char *tamper_payload(const char *tok, size_t len, size_t *out_len)
{
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (d2 == NULL)
        return NULL;
    uint8_t pl[2048];
    long n = bench_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pl, sizeof(pl) - 1);
    if (n < 0)
        return NULL;
    pl[n] = 0;
    char *at = strstr((char *)pl, BENCH_SUB);
    if (at == NULL)
        return NULL;
    at[strlen(BENCH_SUB) - 1] = at[strlen(BENCH_SUB) - 1] == '9' ? '8' : '9';
    char *out = malloc(len + 16);
    if (out == NULL)
        return NULL;
    size_t o = (size_t)(d1 + 1 - tok);
    memcpy(out, tok, o);
    o += bench_b64url_encode(pl, (size_t)n, out + o);
    size_t rest = len - (size_t)(d2 - tok);
    memcpy(out + o, d2, rest);
    o += rest;
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* Changes one character in the middle of the signature segment. */
static char *tamper_signature(const char *tok, size_t len, size_t *out_len)
{
    char *out = strdup(tok);
    if (out == NULL)
        return NULL;
    const char *d2 = strrchr(tok, '.');
    size_t mid = (size_t)(d2 - tok) + 1 + (len - (size_t)(d2 - tok) - 1) / 2;
    out[mid] = out[mid] == 'A' ? 'B' : 'A';
    *out_len = len;
    return out;
}

/* Encodes and signs a token here, independently of authgate (interop, and
 * the typ "JWT" tokens libjwt 1.10 insists on). aud_array: ["other", aud]. */
static char *encode_token(bench_fx *fx, const char *typ, const char *iss, const char *aud,
                          bool aud_array, int64_t iat, const char *extra, size_t *len)
{
    char hdr[256], pl[1024], aud_json[256], rnd_b64[64];
    uint8_t rnd[32];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return NULL;
    bench_b64url_encode(rnd, sizeof(rnd), rnd_b64);
    if (aud_array)
        snprintf(aud_json, sizeof(aud_json), "[\"other\",\"%s\"]", aud);
    else
        snprintf(aud_json, sizeof(aud_json), "\"%s\"", aud);
    int hn = snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}", fx->jwa,
                      typ, fx->kid);
    int pn = snprintf(pl, sizeof(pl),
                      "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":%s,\"exp\":%lld,\"iat\":%lld,"
                      "\"jti\":\"%s\"%s}",
                      iss, BENCH_SUB, aud_json, (long long)(iat + BENCH_TTL), (long long)iat,
                      rnd_b64, extra);
    char *out = malloc(4096);
    if (out == NULL)
        return NULL;
    size_t o = bench_b64url_encode((const uint8_t *)hdr, (size_t)hn, out);
    out[o++] = '.';
    o += bench_b64url_encode((const uint8_t *)pl, (size_t)pn, out + o);
    uint8_t sig[512];
    size_t sl = 0;
    if (!bench_floor_sign_once(fx, (const uint8_t *)out, o, sig, &sl)) {
        free(out);
        return NULL;
    }
    out[o++] = '.';
    o += bench_b64url_encode(sig, sl, out + o);
    *len = o;
    return out;
}

/* The typ "JWT" twin of the valid token or of a negative one (libjwt). */
const char *bench_fx_jwt_twin(const bench_fx *fx, const char *token, size_t *len)
{
    if (token == fx->token) {
        *len = fx->jwt_len;
        return fx->jwt;
    }
    for (int b = 0; b < BAD_COUNT_; b++) {
        if (token == fx->bad[b]) {
            *len = fx->jwt_bad_len[b];
            return fx->jwt_bad[b];
        }
    }
    return NULL;
}

static int make_jwt_twins(bench_fx *fx)
{
    int64_t now = bench_now();
    fx->jwt = encode_token(fx, "JWT", BENCH_ISS, BENCH_AUD, false, now, "", &fx->jwt_len);
    if (fx->jwt == NULL)
        return -1;
    fx->jwt_bad[BAD_SIGNATURE] = tamper_signature(fx->jwt, fx->jwt_len, &fx->jwt_bad_len[0]);
    fx->jwt_bad[BAD_PAYLOAD] = tamper_payload(fx->jwt, fx->jwt_len, &fx->jwt_bad_len[1]);
    fx->jwt_bad[BAD_EXPIRED] = encode_token(fx, "JWT", BENCH_ISS, BENCH_AUD, false,
                                            now - 2 * BENCH_TTL, "", &fx->jwt_bad_len[2]);
    fx->jwt_bad[BAD_ISSUER] = encode_token(fx, "JWT", "https://evil.example", BENCH_AUD, false, now,
                                           "", &fx->jwt_bad_len[3]);
    fx->jwt_bad[BAD_AUDIENCE] =
        encode_token(fx, "JWT", BENCH_ISS, "other-api", false, now, "", &fx->jwt_bad_len[4]);
    /* authgate's refresh token itself (typ rt+jwt): libjwt refuses its typ */
    fx->jwt_bad[BAD_TYPE] = strdup(fx->bad[BAD_TYPE]);
    fx->jwt_bad_len[BAD_TYPE] = fx->bad_len[BAD_TYPE];
    fx->jwt_bad[BAD_NOT_YET] = encode_token(fx, "JWT", BENCH_ISS, BENCH_AUD, false,
                                            now + BENCH_TTL / 2, "", &fx->jwt_bad_len[6]);
    for (int b = 0; b < BAD_COUNT_; b++)
        if (fx->jwt_bad[b] == NULL)
            return -1;
    return 0;
}

bool bench_bad_is_crypto(bench_bad b)
{
    return b == BAD_SIGNATURE || b == BAD_PAYLOAD;
}

const char *bench_bad_name(bench_bad b)
{
    static const char *const names[BAD_COUNT_] = {
        "tampered signature",  "tampered payload", "expired",
        "wrong issuer",        "wrong audience",   "refresh token (typ rt+jwt)",
        "issued in the future"};
    return (unsigned)b < BAD_COUNT_ ? names[b] : "?";
}

int bench_fx_init(bench_fx *fx, const char *lname)
{
    memset(fx, 0, sizeof(*fx));
    size_t i = 0;
    while (i < sizeof(algs) / sizeof(algs[0]) && strcmp(algs[i].lname, lname) != 0)
        i++;
    if (i == sizeof(algs) / sizeof(algs[0]))
        return -1;
    fx->lname = algs[i].lname;
    fx->jwa = algs[i].jwa;
    fx->ag_alg = (int)algs[i].alg;
    fx->kid = fx->lname; /* a short, readable kid: "hs256" */
    if (make_keys(fx) != 0 || ag_setup(fx) != 0) {
        fprintf(stderr, "authgate-bench: %s: fixture setup failed\n", fx->jwa);
        return -1;
    }
    int64_t now = bench_now();
    fx->token = issue(fx, AG_TOKEN_ACCESS, BENCH_ISS, BENCH_AUD, 0, &fx->token_len);
    fx->bad[BAD_SIGNATURE] =
        fx->token ? tamper_signature(fx->token, fx->token_len, &fx->bad_len[BAD_SIGNATURE]) : NULL;
    fx->bad[BAD_PAYLOAD] =
        fx->token ? tamper_payload(fx->token, fx->token_len, &fx->bad_len[BAD_PAYLOAD]) : NULL;
    fx->bad[BAD_EXPIRED] = issue(fx, AG_TOKEN_ACCESS, BENCH_ISS, BENCH_AUD, now - 2 * BENCH_TTL,
                                 &fx->bad_len[BAD_EXPIRED]);
    fx->bad[BAD_ISSUER] =
        issue(fx, AG_TOKEN_ACCESS, "https://evil.example", BENCH_AUD, 0, &fx->bad_len[BAD_ISSUER]);
    fx->bad[BAD_AUDIENCE] =
        issue(fx, AG_TOKEN_ACCESS, BENCH_ISS, "other-api", 0, &fx->bad_len[BAD_AUDIENCE]);
    fx->bad[BAD_TYPE] =
        issue(fx, AG_TOKEN_REFRESH, BENCH_ISS, BENCH_AUD, 0, &fx->bad_len[BAD_TYPE]);
    fx->bad[BAD_NOT_YET] = issue(fx, AG_TOKEN_ACCESS, BENCH_ISS, BENCH_AUD, now + BENCH_TTL / 2,
                                 &fx->bad_len[BAD_NOT_YET]);
    fx->foreign = encode_token(fx, "at+jwt", BENCH_ISS, BENCH_AUD, true, now,
                               ",\"scope\":\"read write\"", &fx->foreign_len);
    if (fx->token == NULL || fx->foreign == NULL)
        return -1;
    for (int b = 0; b < BAD_COUNT_; b++)
        if (fx->bad[b] == NULL)
            return -1;
    return make_jwt_twins(fx);
}

void bench_fx_free(bench_fx *fx)
{
    ag_verifier_free(fx->ag_verifier);
    ag_verifier_free(fx->ag_verifier_any);
    ag_verifier_free(fx->ag_verifier_cached);
    ag_issuer_free(fx->ag_issuer);
    ag_keyring_free(fx->ag_ring);
    ag_key_free(fx->ag_key);
    EVP_PKEY_free(fx->pkey);
    EVP_PKEY_free(fx->pub);
    free(fx->priv_pem);
    free(fx->pub_pem);
    if (fx->jwk_priv != NULL)
        OPENSSL_cleanse(fx->jwk_priv, strlen(fx->jwk_priv));
    free(fx->jwk_priv);
    free(fx->jwk_pub);
    free(fx->token);
    free(fx->foreign);
    free(fx->jwt);
    for (int b = 0; b < BAD_COUNT_; b++) {
        free(fx->bad[b]);
        free(fx->jwt_bad[b]);
    }
    OPENSSL_cleanse(fx->secret, sizeof(fx->secret));
    OPENSSL_cleanse(fx->ed_sk, sizeof(fx->ed_sk));
    memset(fx, 0, sizeof(*fx));
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate-bench — shared declarations of the harness, the fixtures and the
 * implementations under test (authgate, the raw OpenSSL floor, libjwt, cjose,
 * libsodium).
 *
 * A "case" (verify_hs256, sign_es256, …) has one row per implementation. A
 * row is a triple of functions: init builds the per-thread state for one
 * input token, op runs one operation on it, fini frees the state. Op
 * functions are named *_benchop and nothing else is: bench/callgrind.sh
 * toggles collection on that name. Every row
 * of a case gets the same fixture: the same keys and the same token bytes,
 * issued once at start-up.
 */
#ifndef AG_BENCH_H
#define AG_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* ---- allocation counting (alloc_count.c) ------------------------------- */

/* Installs OpenSSL's and jansson's counting hooks; call first in main. */
void bench_alloc_hooks_install(void);
/* Heap allocations (malloc, calloc, realloc; OpenSSL and jansson included)
 * made by the calling thread since it started. */
uint64_t bench_alloc_count(void);
/* "interpose" when every libc malloc is counted, "hooks" when only the
 * OpenSSL and jansson hooks are (sanitizer builds). */
const char *bench_alloc_method(void);

/* ---- fixtures (fixtures.c) --------------------------------------------- */

#define BENCH_ISS "https://auth.bench.example"
#define BENCH_AUD "bench-api"
#define BENCH_SUB "user-1234"
#define BENCH_TTL 3600
#define BENCH_LEEWAY 30
/* capacity of the verified-token cache of the verify_cached_<alg> rows */
#define BENCH_CACHE_ENTRIES 1024

/* The negative tokens of the agreement check. */
typedef enum bench_bad {
    BAD_SIGNATURE = 0, /* one signature character changed */
    BAD_PAYLOAD,       /* sub changed, signature kept */
    BAD_EXPIRED,       /* correctly signed, exp two hours ago */
    BAD_ISSUER,        /* correctly signed, another iss */
    BAD_AUDIENCE,      /* correctly signed, another aud */
    BAD_TYPE,          /* correctly signed refresh token (typ rt+jwt) */
    BAD_NOT_YET,       /* correctly signed, nbf one hour ahead */
    BAD_COUNT_
} bench_bad;

typedef struct bench_fx {
    const char *lname; /* "hs256" */
    const char *jwa;   /* "HS256" */
    int ag_alg;        /* ag_alg value */
    const char *kid;
    /* key material: the same key for everyone */
    uint8_t secret[32]; /* HMAC */
    EVP_PKEY *pkey;     /* private key, asymmetric */
    EVP_PKEY *pub;      /* public half (a separate object, as a verifier has) */
    char *priv_pem, *pub_pem;
    size_t priv_pem_len, pub_pem_len;
    char *jwk_priv, *jwk_pub;      /* from ag_key_to_jwk (HMAC: our own oct JWK) */
    uint8_t ed_pub[32], ed_sk[64]; /* Ed25519 raw keys (libsodium layout) */
    size_t rsa_bytes;
    /* the token everybody verifies, NUL-terminated */
    char *token;
    size_t token_len;
    char *bad[BAD_COUNT_];
    size_t bad_len[BAD_COUNT_];
    char *foreign; /* the same claims, encoded by the bench itself (interop) */
    size_t foreign_len;
    /* typ "JWT" twins of token and bad[] (libjwt 1.10 accepts no other typ) */
    char *jwt;
    size_t jwt_len;
    char *jwt_bad[BAD_COUNT_];
    size_t jwt_bad_len[BAD_COUNT_];
    /* authgate objects (opaque here) */
    void *ag_key, *ag_ring, *ag_verifier, *ag_issuer;
    void *ag_verifier_any;    /* no typ check: for libjwt's typ "JWT" output */
    void *ag_verifier_cached; /* ag_verifier with cache_entries = BENCH_CACHE_ENTRIES */
} bench_fx;

/* Builds the fixture of one algorithm; 0 on success. */
int bench_fx_init(bench_fx *fx, const char *lname);
void bench_fx_free(bench_fx *fx);
/* The typ "JWT" twin of fx->token or of one of fx->bad[], or NULL. */
const char *bench_fx_jwt_twin(const bench_fx *fx, const char *token, size_t *len);
/* Whether a negative token is invalid cryptographically (the floor must
 * reject it too) or only by its claims (the floor accepts it). */
bool bench_bad_is_crypto(bench_bad b);
const char *bench_bad_name(bench_bad b);

/* base64url without padding; returns the length written (out NUL-terminated). */
size_t bench_b64url_encode(const uint8_t *in, size_t n, char *out);
/* Lenient decoder for fixture bytes (trusted); returns -1 on bad input. */
long bench_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* ---- implementations ---------------------------------------------------- */

typedef enum bench_kind { KIND_VERIFY = 1, KIND_HOTPATH, KIND_SIGN, KIND_ROTATE } bench_kind;

/* Result of one op: 1 accepted / done, 0 rejected, -1 harness error. */
typedef struct bench_row {
    const char *case_name; /* "verify_hs256" */
    const char *impl;      /* "authgate", "openssl-floor", … */
    bench_kind kind;
    bench_fx *fx;
    bool crypto_only; /* the floor and libsodium: claims tampering passes */
    bool timed;       /* false: agreement check only */
    void *(*init)(bench_fx *fx, const char *token, size_t len);
    int (*op)(void *st);
    void (*fini)(void *st);
    /* sign rows: the last token produced (for the cross-check), or NULL */
    const char *(*output)(void *st, size_t *len);
} bench_row;

typedef struct bench_rows {
    bench_row *v;
    size_t n, cap;
} bench_rows;

void bench_rows_add(bench_rows *r, const bench_row *row);

/* Rows named "*-metrics-off" wrap their init/fini in these: process-wide
 * metrics are off while any thread runs one (impl_authgate.c). init
 * passes st through; fini only after a successful init. */
void *bench_metrics_off_init(void *st);
void bench_metrics_off_fini(void);

/* Each module appends its rows for a fixture. */
void bench_authgate_rows(bench_rows *r, bench_fx *fx);
void bench_floor_rows(bench_rows *r, bench_fx *fx);
#ifdef AG_BENCH_HAVE_HTTP
void bench_authgate_http_rows(bench_rows *r, bench_fx *fx);
void bench_authgate_http_free(void);
#endif
#ifdef AG_BENCH_HAVE_SESSION
void bench_session_rows(bench_rows *r, bench_fx *fx); /* rotate_memory, rotate_sqlite */
/* The store alone beside each backend's bare compare-and-set (impl_store_floor.c). */
void bench_store_rows(bench_rows *r, bench_fx *fx);
void bench_store_free(void);
void bench_session_free(void);
#endif
#ifdef AG_BENCH_HAVE_PG
void bench_pg_rows(bench_rows *r, bench_fx *fx); /* rotate_postgres (AG_PG_CONNINFO) */
void bench_pg_free(void);
#endif
#ifdef AG_BENCH_HAVE_LIBJWT
void bench_libjwt_rows(bench_rows *r, bench_fx *fx);
#endif
#ifdef AG_BENCH_HAVE_CJOSE
void bench_cjose_rows(bench_rows *r, bench_fx *fx);
#endif
#ifdef AG_BENCH_HAVE_SODIUM
void bench_sodium_rows(bench_rows *r, bench_fx *fx);
#endif

/* ---- the raw OpenSSL primitives, shared by the floor and the fixtures --- */

/* Signs msg with the fixture's key: JWS signature bytes (ES: raw R‖S). */
int bench_floor_sign_once(const bench_fx *fx, const uint8_t *msg, size_t n, uint8_t *sig,
                          size_t *sig_len);

/* Splits a compact JWS: signing input length and decoded signature. */
int bench_split(const char *tok, size_t len, size_t *signing_len, uint8_t *sig, size_t cap,
                size_t *sig_len);

/* time(NULL), as the comparators' users call it per verification. */
int64_t bench_now(void);

/* Stable storage for the case name "<prefix>_<alg>". */
const char *bench_case_name(const char *prefix, const bench_fx *fx);

/* ---- a request's header list, for the hotpath cases -------------------- */

typedef struct bench_hdr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} bench_hdr;

#define BENCH_NHDR 8

/* A typical API request: Host, User-Agent, Accept, Accept-Encoding,
 * Accept-Language, Connection, X-Request-Id and Authorization: Bearer
 * <token>, the Authorization header last. */
typedef struct bench_request {
    bench_hdr h[BENCH_NHDR];
    size_t n;
    char auth[8300];
} bench_request;

void bench_request_init(bench_request *rq, const char *token, size_t len);

/* What a comparator's user writes: the first Authorization header, scheme
 * "Bearer" case-insensitively, then the token copied NUL-terminated into
 * buf. Returns the token length, or -1. */
long bench_find_bearer(const bench_request *rq, char *buf, size_t cap);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * authgate — token layer internals (not installed).
 *
 * Shared by base64url.c, json_scan.c, keys.c, jwk.c, crypto.c, jws.c,
 * claims.c and their tests.
 */
#ifndef AUTHGATE_TOKEN_INT_H
#define AUTHGATE_TOKEN_INT_H

#include <stdatomic.h>
#include <stdbool.h>

#include <openssl/evp.h>

#include "../common/common_int.h"
#include "../common/crypto_int.h"
#include "authgate/token.h"

/* ------------------------------------------------------------------ */
/* Algorithms                                                          */
/* ------------------------------------------------------------------ */

typedef enum ag__family {
    AG__FAM_HMAC = 1,
    AG__FAM_RSA_PKCS1 = 2,
    AG__FAM_RSA_PSS = 3,
    AG__FAM_ECDSA = 4,
    AG__FAM_EDDSA = 5
} ag__family;

typedef struct ag__alg_info {
    ag_alg alg;
    const char *name; /* JWA name */
    ag__family family;
    int hash_bits;     /* 256, 384, 512; 0 for EdDSA (no pre-hash) */
    size_t sig_len;    /* exact signature length; 0 for RSA (= modulus bytes) */
    const char *curve; /* "P-256", "P-384", "Ed25519" or NULL */
} ag__alg_info;

/* The table entry for alg, or NULL when alg is not an ag_alg. */
const ag__alg_info *ag__alg_get(ag_alg alg);

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

#define AG__HMAC_BLOCK_MAX 128

/* Largest RSA modulus a key may have, in bits, and so the largest
 * signature in bytes: keys above it are refused at load (AG_ERR_KEY_FORMAT),
 * so no loaded key can make a signature that jws.c has no room for.
 * @test tests/token/test_keys.c */
#define AG__RSA_MAX_BITS 8192
#define AG__SIG_MAX (AG__RSA_MAX_BITS / 8)

struct ag_key {
    atomic_size_t refs;
    uint64_t id; /* process-unique, never reused (thread caches key on it) */
    ag_alg alg;
    const ag__alg_info *info;
    bool is_private;
    size_t kid_len;
    char kid[AG_KID_MAX_LEN + 1];
    /* asymmetric */
    EVP_PKEY *pkey;     /* NULL for HMAC */
    uint8_t ed_pub[32]; /* EdDSA: the raw public key (libsodium backend) */
    size_t sig_len;     /* exact signature length for this key */
    /* HMAC: the secret and the precomputed pad blocks (K ^ ipad, K ^ opad),
     * where K is the secret, or its hash when longer than the block. */
    uint8_t *secret;
    size_t secret_len;
    size_t block_len; /* 64 for SHA-256, 128 for SHA-384/512 */
    uint8_t ipad[AG__HMAC_BLOCK_MAX];
    uint8_t opad[AG__HMAC_BLOCK_MAX];
    /* HS256 keys imported while ag__cpu_features() had AG__CPU_SHANI: the
     * SHA-256 state after the one ipad block [0] and after the opad block
     * [1], used by ag__hmac when ag__sha256_ni_usable(). Key-equivalent
     * secrets, wiped with the pads (the whole struct is
     * OPENSSL_clear_free'd). */
    uint32_t hmac_mid[2][8];
    bool hmac_mid_ok;
};

/* Allocates a key with refs = 1, a fresh id, alg/info/kid set.
 * kid must be 1..AG_KID_MAX_LEN bytes of printable ASCII (no controls). */
ag_err ag__key_alloc(ag_alg alg, const char *kid, size_t kid_len, ag_key **out);

/* Checks kid syntax: 1..AG_KID_MAX_LEN bytes, 0x21..0x7e only. */
bool ag__kid_valid(const char *kid, size_t len);

/* Binds an EVP_PKEY to a key after checking type/curve/strength for the
 * key's alg (V-17). Takes ownership of pkey on success only. */
ag_err ag__key_set_pkey(ag_key *key, EVP_PKEY *pkey, bool is_private);

/* Sets an HMAC secret (copied) and precomputes the pads. */
ag_err ag__key_set_secret(ag_key *key, const uint8_t *secret, size_t len);

/* Precomputes key's HMAC pads from secret (hashed first when longer than
 * the block) and, for HS256 on a CPU with the SHA extensions, the two
 * midstates (ag__sha256_midstate);
 * sets block_len. No strength rule: ag__key_set_secret applies V-17 first;
 * tests use it directly for the short keys of RFC 4231. Returns AG_OK,
 * AG_ERR_ALG (not an HMAC key) or AG_ERR_CRYPTO.
 * @test tests/token/test_sha256.c, tests/token/test_keys.c */
ag_err ag__key_set_pads(ag_key *key, const uint8_t *secret, size_t len);

/* RFC 7638 thumbprint of the public key (HMAC: of the oct JWK), base64url. */
ag_err ag__key_thumbprint(const ag_key *key, char out[AG_JTI_LEN + 1]);

struct ag_keyring {
    const ag_allocator *alloc;
    atomic_size_t refs;
    atomic_bool frozen;
    size_t count, cap;
    ag_key **keys;
};

/* Freezes the ring and takes a reference (verifier/issuer construction). */
ag_keyring *ag__keyring_hold(const ag_keyring *ring);

/* ------------------------------------------------------------------ */
/* A pointer replaced under readers (swap.c)                            */
/* ------------------------------------------------------------------ */

/* Reader counters per parity; threads spread over the stripes. */
#define AG__SWAP_STRIPES 16

/* First member of every object published through an ag__swap. */
typedef struct ag__swap_node {
    struct ag__swap_node *next; /* retired list link (writers only) */
} ag__swap_node;

typedef void (*ag__swap_free_fn)(void *ctx, ag__swap_node *n);

typedef struct ag__swap {
    _Atomic(ag__swap_node *) cur;
    atomic_uint epoch;
    atomic_flag writer;        /* serialises ag__swap_set */
    ag__swap_node *retired[2]; /* replaced, maybe still read; by parity */
    ag__swap_free_fn free_fn;
    void *free_ctx;
    union {
        atomic_size_t n;
        unsigned char line[64]; /* one counter per cache line */
    } readers[2][AG__SWAP_STRIPES];
} ag__swap;

typedef struct ag__swap_ticket {
    atomic_size_t *counter;
} ag__swap_ticket;

/* Publishes first (may be NULL); free_fn(ctx, n) releases replaced objects.
 * No reader or writer may run yet. */
void ag__swap_init(ag__swap *s, ag__swap_node *first, ag__swap_free_fn free_fn, void *ctx);
/* Returns the current object, which stays valid (is not freed) until
 * ag__swap_leave(t). Never blocks, allocates nothing. */
ag__swap_node *ag__swap_enter(ag__swap *s, ag__swap_ticket *t);
void ag__swap_leave(ag__swap_ticket *t);
/* Publishes next; the replaced object is freed once no reader can still
 * hold it: before returning when no reader is inside (a bounded spin),
 * else by a later set or ag__swap_destroy. Never waits for a reader.
 * Writers are serialised. @test tests/token/test_swap.c */
void ag__swap_set(ag__swap *s, ag__swap_node *next);
/* The current object, for the owner when no writer runs. */
ag__swap_node *ag__swap_current(ag__swap *s);
/* Frees the current and every retired object; no reader or writer may run. */
void ag__swap_destroy(ag__swap *s);

/* Table-driven strict base64url decoder for token text on the verify hot
 * path; same contract as ag_base64url_decode (which stays constant-time for
 * key material). @test tests/token/test_base64url.c */
ag_err ag__base64url_decode_fast(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                                 size_t *out_len);
/* Table-driven encoder for token segments; same contract as
 * ag_base64url_encode. @test tests/token/test_base64url.c */
ag_err ag__base64url_encode_fast(const uint8_t *in, size_t in_len, char *out, size_t cap,
                                 size_t *out_len);

/* ------------------------------------------------------------------ */
/* Strict, allocation-free JSON scanner (json_scan.c)                   */
/* ------------------------------------------------------------------ */

/* Same nesting limit as jansson's JSON_PARSER_MAX_DEPTH. */
#define AG__JSON_MAX_DEPTH 2048

typedef enum ag__jtype {
    AG__J_STRING = 1,
    AG__J_NUMBER = 2,
    AG__J_OBJECT = 3,
    AG__J_ARRAY = 4,
    AG__J_TRUE = 5,
    AG__J_FALSE = 6,
    AG__J_NULL = 7
} ag__jtype;

/*
 * Validates p[0..n) as one strict RFC 8259 JSON text whose top level is an
 * object, with exactly jansson's verdict under json_loadb(p, n,
 * JSON_REJECT_DUPLICATES): surrounding whitespace allowed, no BOM, valid
 * UTF-8 (no overlong forms, no surrogates, ≤ U+10FFFF), valid escapes with
 * paired surrogates, no \u0000, no control characters in strings, duplicate
 * member names (compared after unescaping) rejected in every object,
 * integers within int64, reals that do not overflow a double, nesting ≤
 * AG__JSON_MAX_DEPTH. Allocates nothing; O(n) except duplicate checks.
 * Returns AG_OK or AG_ERR_MALFORMED.
 * @test tests/token/test_json_scan_verdicts.c, tests/token/test_json_scan_differential.c
 */
ag_err ag__json_check_object(const uint8_t *p, size_t n);

/* One member of an object, or one element of an array (name empty). */
typedef struct ag__jmember {
    ag_span name; /* raw bytes between the quotes, escapes not decoded */
    ag__jtype type;
    ag_span value;  /* raw text; for strings the bytes between the quotes */
    bool value_esc; /* a string value may hold an escape: exact from
                       ag__json_check_members, always true from ag__json_next */
} ag__jmember;

/* ag__json_check_object that also records the top-level members in text
 * order: the first cap of them in mem (same spans and types as
 * ag__json_next gives), their total in *count. Callers fall back to the
 * iterator when *count > cap. On failure *count is 0. */
ag_err ag__json_check_members(const uint8_t *p, size_t n, ag__jmember *mem, size_t cap,
                              size_t *count);

typedef struct ag__jiter {
    const uint8_t *p;
    const uint8_t *end;
    bool is_array;
} ag__jiter;

/* Iterates the top-level members of a text that passed
 * ag__json_check_object (or the elements of an array value span). */
void ag__json_iter_object(ag__jiter *it, const uint8_t *p, size_t n);
void ag__json_iter_array(ag__jiter *it, ag_span array_value);
bool ag__json_next(ag__jiter *it, ag__jmember *m);

/* True when the raw (escaped) string content equals lit after unescaping. */
bool ag__json_str_eq(ag_span raw, const char *lit, size_t lit_len);

/* Unescapes raw string content into out (UTF-8). Valid input only.
 * Returns AG_OK or AG_ERR_BUFFER. */
ag_err ag__json_str_decode(ag_span raw, uint8_t *out, size_t cap, size_t *out_len);

/* Reads a validated JSON number. *is_int is true when the text has no
 * fraction and no exponent (then *i holds it); *d always holds its value. */
void ag__json_number(ag_span raw, double *d, int64_t *i, bool *is_int);

/* ------------------------------------------------------------------ */
/* Crypto with per-thread reusable contexts (crypto.c)                  */
/* ------------------------------------------------------------------ */

/* SHA-2, raw-secret HMAC-SHA-256 and random ids: ../common/crypto_int.h. */

/* HMAC with the key's precomputed pads; mac holds the hash length. HS256
 * keys with midstates run on the SHA extensions when
 * ag__sha256_ni_usable(): no allocation, no provider call.
 * @test tests/token/test_sha256.c */
ag_err ag__hmac(const ag_key *key, const uint8_t *msg, size_t n, uint8_t *mac);

/* Ed25519 verification by OpenSSL alone (the reference the libsodium
 * backend is tested against). */
ag_err ag__verify_ed25519_openssl(const ag_key *key, const uint8_t *msg, size_t n,
                                  const uint8_t *sig, size_t sig_len);
/* True unless pk is a malformed or weak Ed25519 public key: a non-canonical
 * encoding, a point off the curve or outside the prime-order subgroup, or
 * one of small order (libsodium's check; without libsodium always true).
 * @test tests/token/test_keys.c */
bool ag__ed25519_public_ok(const uint8_t pk[32]);

/* True when EdDSA verification uses libsodium in this build. */
bool ag__sodium_backend(void);

/* Signs msg with the key's algorithm. sig holds the key's sig_len (ECDSA as
 * raw R‖S with low S). *sig_len receives the length. */
ag_err ag__sign(const ag_key *key, const uint8_t *msg, size_t n, uint8_t *sig, size_t cap,
                size_t *sig_len);

/* Verifies sig over msg; the caller has already checked sig's exact length.
 * Returns AG_OK, AG_ERR_SIGNATURE or AG_ERR_CRYPTO. EdDSA goes through
 * libsodium when built with it (AG_HAVE_SODIUM), else OpenSSL. */
ag_err ag__verify_sig(const ag_key *key, const uint8_t *msg, size_t n, const uint8_t *sig,
                      size_t sig_len);

/* ------------------------------------------------------------------ */
/* JWS compact verification without claims (jws.c)                     */
/* ------------------------------------------------------------------ */

/* How ag_verify splits its scratch (AG_VERIFY_SCRATCH_LEN(n), token.h):
 * room for the decoded payload (AG_B64URL_DECODED_MAX(n) ≤ (n / 4) * 3 + 2),
 * then for kid, typ and the unescaped strings (at most the payload again
 * plus AG_KID_MAX_LEN + 255 bytes of header strings). */
#define AG__SCRATCH_PAYLOAD(n) (((n) / 4u) * 3u + 2u)
#define AG__SCRATCH_STRINGS(n) (AG_VERIFY_SCRATCH_LEN(n) - AG__SCRATCH_PAYLOAD(n))

typedef struct ag__jws {
    /* in */
    const ag_keyring *ring;
    size_t max_len;
    bool kid_optional; /* tests only: no kid and a one-key ring → that key */
    uint8_t *payload;  /* receives the decoded payload */
    size_t payload_cap;
    uint8_t *strbuf; /* receives decoded kid and typ */
    size_t strbuf_cap;
    /* out */
    size_t payload_len;
    size_t strbuf_len;
    const ag_key *key;
    uint64_t key_id; /* from ag__vcache_get only: key's id when it was stored */
    ag_alg alg;
    ag_span kid;
    ag_span typ;
    bool has_typ;
    ag_verify_cause cause; /* AG_CAUSE_NO_KID or _UNKNOWN_KID with AG_ERR_KEY */
} ag__jws;

/* Size → split → strict base64url → strict JSON header → header policy →
 * key by kid → alg equals the key's → signature. The payload is decoded
 * but not parsed. Returns AG_OK or the failure class.
 * @test tests/token/test_jws_rules.c, tests/token/test_wycheproof_jws.c */
ag_err ag__jws_verify(ag__jws *j, const uint8_t *token, size_t len);

/* Tests only: how many header segments v remembers (jws.c's header memo).
 * @test tests/token/test_jws_memo.c */
size_t ag__verifier_memo_count(const ag_verifier *v);

/* ------------------------------------------------------------------ */
/* Verified-token cache (vcache.c)                                     */
/* ------------------------------------------------------------------ */

/* Verified-token cache. Entries hold what ag__jws_verify produced for one
 * token: alg, key, kid, typ, decoded payload. Keyed by SHA-256 of the whole
 * token text; entries whose kid+typ+payload exceed AG__VCACHE_DATA_MAX
 * bytes are not cached. Thread-safe (striped locks); allocation only in
 * ag__vcache_new. The key pointers stay valid because a cache belongs to
 * one verifier, which holds its keyring. @test tests/token/test_vcache.c */
#define AG__VCACHE_DATA_MAX 2048
typedef struct ag__vcache ag__vcache;
/* entries ≥ 1; rounded up to a power of two ≥ 16 */
ag_err ag__vcache_new(const ag_allocator *alloc, size_t entries, ag__vcache **out);
/* cleanses the entries */
void ag__vcache_free(ag__vcache *c);
/* On a hit fills j->alg, key, kid, typ, has_typ, payload[0..payload_len),
 * payload_len, strbuf (kid and typ copied into it; the spans point there)
 * and strbuf_len, and returns true. Respects payload_cap and strbuf_cap (an
 * entry that does not fit counts as a miss). */
bool ag__vcache_get(ag__vcache *c, const uint8_t hash[32], ag__jws *j);
/* Stores the result of a successful ag__jws_verify for hash. */
void ag__vcache_put(ag__vcache *c, const uint8_t hash[32], const ag__jws *j);

/* ------------------------------------------------------------------ */
/* Claims (claims.c)                                                   */
/* ------------------------------------------------------------------ */

/* What the claims must satisfy beyond their types: the accepted
 * audiences (none: any) and the AG_VERIFY_* relax bits of the verifier. */
typedef struct ag__claims_policy {
    const char *const *auds;
    const size_t *aud_lens;
    size_t naud;
    unsigned relax;
} ag__claims_policy;

/* Where ag__claims_parse puts what it decodes: the claims, and the room
 * left in the verify's scratch for unescaped strings (len: used so far). */
typedef struct ag__claims_out {
    ag_claims *c;
    uint8_t *strbuf;
    size_t cap;
    size_t len;
} ag__claims_out;

/* Parses the registered claims of payload into out->c (strict JSON, types
 * checked, required claims present, aud accepted). Strings without an
 * escape become views into payload, which must outlive the claims;
 * unescaped ones are decoded into out->strbuf (room: the payload's length
 * always suffices). *has_iat says whether iat was there (it may be
 * optional); on AG_ERR_CLAIM *cause names the claim. Used by ag_verify
 * after the signature. @test tests/token/test_jws_rules.c, tests/token/test_jws_issue.c,
 * tests/token/test_verify_relax.c */
ag_err ag__claims_parse(const uint8_t *payload, size_t n, ag__claims_out *out,
                        const ag__claims_policy *pol, bool *has_iat, ag_verify_cause *cause);

/* The max-age of one Cache-Control header line ("Cache-Control: …", the
 * field name case-insensitive, CR LF allowed at its end), in seconds,
 * saturating at AG__CACHE_MAX_AGE_CAP; -1 when the line is another field
 * or has no well-formed max-age (the first one counts). Reads only
 * [line, line + n). @test tests/token/test_cache_control.c */
#define AG__CACHE_MAX_AGE_CAP INT64_C(999999999999)
int64_t ag__cache_max_age(const char *line, size_t n);

#endif

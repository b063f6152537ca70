/* SPDX-License-Identifier: MIT */
/*
 * authgate — tokens: algorithms, keys, keyrings, issuing and verifying
 * compact JWS access and refresh tokens.
 *
 * See authgate.h for the conventions (NULL rule, ownership, threads, units).
 */
#ifndef AUTHGATE_TOKEN_H
#define AUTHGATE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

/** Hard upper bound on a token's length in bytes (V-04). */
#define AG_TOKEN_MAX_LEN 8192
/** Largest decoded payload a token within AG_TOKEN_MAX_LEN can carry. */
#define AG_PAYLOAD_MAX_LEN 6144
/** Largest decoded JOSE header. */
#define AG_HEADER_MAX_LEN 1024
/** Longest accepted key id, in bytes (V-08). */
#define AG_KID_MAX_LEN 128
/** Length of a jti as issued: 32 random bytes in base64url. */
#define AG_JTI_LEN 43
/** Default clock leeway in seconds. */
#define AG_LEEWAY_DEFAULT 30
/** Largest accepted leeway in seconds ("a few minutes at most", V-15). */
#define AG_LEEWAY_MAX 300
/** Largest NumericDate accepted (9999-12-31T23:59:59Z), V-14. */
#define AG_NUMERICDATE_MAX INT64_C(253402300799)

/* ------------------------------------------------------------------ */
/* Algorithms                                                          */
/* ------------------------------------------------------------------ */

/** The signature algorithms authgate supports. There is no "none". */
typedef enum ag_alg {
    AG_ALG_HS256 = 1,
    AG_ALG_HS384 = 2,
    AG_ALG_HS512 = 3,
    AG_ALG_RS256 = 4,
    AG_ALG_RS384 = 5,
    AG_ALG_RS512 = 6,
    AG_ALG_PS256 = 7,
    AG_ALG_PS384 = 8,
    AG_ALG_PS512 = 9,
    AG_ALG_ES256 = 10,
    AG_ALG_ES384 = 11,
    AG_ALG_EDDSA = 12
} ag_alg;

/**
 * The JWA name of an algorithm ("HS256", …, "EdDSA").
 * Returns: static text, or NULL for a value that is not an ag_alg.
 * @since 0.1
 */
AG_API const char *ag_alg_name(ag_alg alg);

/**
 * Parses a JWA name, exactly and case-sensitively ("none" is never an
 * algorithm).
 *
 * @param[in]  name  bytes, not necessarily NUL-terminated
 * @param[in]  len   length of name in bytes
 * @param[out] out   the algorithm
 * Returns: AG_OK or AG_ERR_ALG.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_alg_from_name(const char *name, size_t len, ag_alg *out);

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

/**
 * A key bound to exactly one algorithm and one key id (V-01, V-02).
 *
 * Opaque and immutable once made; reference counted, so a keyring and the
 * caller can both hold it. Safe to share between threads. HMAC secrets and
 * private keys are cleansed when the last reference is dropped.
 */
typedef struct ag_key ag_key;

/**
 * Makes an HMAC key (HS256/384/512) from a secret.
 *
 * @param[in]  alg     AG_ALG_HS256, AG_ALG_HS384 or AG_ALG_HS512
 * @param[in]  secret  the secret bytes; copied. Must come from a CSPRNG and be
 *                     at least the hash size (32/48/64 bytes), V-17.
 * @param[in]  len     length of secret in bytes
 * @param[in]  kid     key id, NUL-terminated, 1..AG_KID_MAX_LEN bytes
 * @param[out] out     the new key; release with ag_key_free()
 * Returns: AG_OK; AG_ERR_ALG for a non-HMAC alg; AG_ERR_WEAK_KEY for a short
 * secret; AG_ERR_INVALID_ARGUMENT for a bad kid; AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_key_from_secret(ag_alg alg, const uint8_t *secret, size_t len,
                                              const char *kid, ag_key **out);

/**
 * Loads an asymmetric key from PEM or DER bytes (public or private; SPKI,
 * PKCS#8 or traditional) and binds it to alg.
 *
 * The key type must fit the algorithm (RSA for RS/PS, P-256 for ES256, P-384
 * for ES384, Ed25519 for EdDSA); RSA keys must be ≥ 2048 bits with e > 1.
 *
 * @param[in]  alg   the algorithm the key will be used with, never an HS alg
 * @param[in]  data  PEM text or DER bytes (need not be NUL-terminated)
 * @param[in]  len   length of data in bytes
 * @param[in]  kid   key id, NUL-terminated, 1..AG_KID_MAX_LEN bytes
 * @param[out] out   the new key; release with ag_key_free()
 * Accepted: RSA (rsaEncryption) keys of 2048..8192 bits with e odd, > 1
 * and at most 64 bits, and no ROCA modulus; P-256, P-384, Ed25519.
 * Certificates, encrypted keys, RSA-PSS-typed keys and input over 1 MiB are
 * refused.
 *
 * Returns: AG_OK; AG_ERR_ALG (HS alg or wrong key type for alg);
 * AG_ERR_WEAK_KEY (RSA < 2048 bits, …); AG_ERR_KEY_FORMAT (not parseable,
 * RSA > 8192 bits, or refused as above);
 * AG_ERR_INVALID_ARGUMENT; AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_key_from_pem(ag_alg alg, const uint8_t *data, size_t len,
                                           const char *kid, ag_key **out);

/**
 * Generates a fresh key for alg: 32/48/64 random bytes for HS*, RSA-3072
 * for RS and PS, the algorithm's curve for ES and EdDSA.
 *
 * @param[in]  alg   any supported algorithm
 * @param[in]  kid   key id, or NULL to use the RFC 7638 JWK thumbprint
 *                   (base64url SHA-256) of the public key (HS: of the secret's
 *                   JWK, which never leaves the process)
 * @param[out] out   the new private key; release with ag_key_free()
 * Returns: AG_OK, AG_ERR_ALG, AG_ERR_CRYPTO, AG_ERR_INVALID_ARGUMENT, AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_key_generate(ag_alg alg, const char *kid, ag_key **out);

/**
 * Imports one JWK (RFC 7517/7518/8037): kty oct, RSA, EC (P-256, P-384) or
 * OKP (Ed25519).
 *
 * The algorithm comes from the JWK's "alg" member, or from default_alg when
 * the JWK has none; when both are given they must agree. A JWK without
 * either is refused: authgate never guesses an algorithm (V-02). "kid" is
 * required. "use", when present, must be "sig"; "key_ops", when present,
 * must allow signing or verifying. Private members (d, p, q, …) make a
 * private key; a JWK with only some of them is refused.
 *
 * @param[in]  json        the JWK text (need not be NUL-terminated)
 * @param[in]  len         its length in bytes
 * @param[in]  default_alg algorithm to bind when the JWK has no "alg"; 0 for none
 * @param[out] out         the new key; release with ag_key_free()
 * @param[out] errbuf      optional; receives a one-line reason (never key material)
 * @param[in]  errlen      size of errbuf in bytes
 * Returns: AG_OK;
 * AG_ERR_ALG: no alg, an unsupported alg, alg ≠ default_alg, or a kty/crv
 * that does not fit alg;
 * AG_ERR_KEY_FORMAT: malformed JSON or members, unknown kty, missing or
 * invalid kid, use ≠ "sig", key_ops without sign/verify or with duplicates,
 * non-minimal n/e, off-curve points, partial or inconsistent private
 * members, input over 64 KiB;
 * AG_ERR_WEAK_KEY: short secrets, RSA < 2048 bits, even e or e = 1, ROCA
 * moduli, empty members, small-order or non-canonical Ed25519 public keys
 * (when built with libsodium);
 * AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_key_from_jwk(const char *json, size_t len, ag_alg default_alg,
                                           ag_key **out, char *errbuf, size_t errlen);

/**
 * Exports a key as a JWK with "kty", "kid", "alg" and "use":"sig".
 *
 * @param[in]  key          the key
 * @param[in]  private_too  false: public members only (never d, p, q, dp, dq,
 *                          qi or k); an HMAC key then has no public form and
 *                          the call fails with AG_ERR_KEY_FORMAT.
 *                          true: private members too (needs a private key).
 * @param[out] out          NUL-terminated JSON; free with ag_free() (which
 *                          does not cleanse: the caller cleanses private JWKs)
 * Returns: AG_OK, AG_ERR_KEY_FORMAT, AG_ERR_STATE (no private part), AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_key_to_jwk(const ag_key *key, bool private_too, char **out);

/** The key's algorithm. @since 0.1 */
AG_API ag_alg ag_key_alg(const ag_key *key);
/** The key's id (NUL-terminated, owned by the key). @since 0.1 */
AG_API const char *ag_key_kid(const ag_key *key);
/** True when the key can sign (HMAC keys always can). @since 0.1 */
AG_API bool ag_key_is_private(const ag_key *key);

/**
 * Takes one more reference to key. Returns key.
 * Thread safety: safe (atomic counter).
 * @since 0.1
 */
AG_API ag_key *ag_key_ref(ag_key *key);

/**
 * Drops a reference; the last one cleanses and frees the key.
 * ag_key_free(NULL) is a no-op.
 * @since 0.1
 */
AG_API void ag_key_free(ag_key *key);

/* ------------------------------------------------------------------ */
/* Keyrings                                                            */
/* ------------------------------------------------------------------ */

/**
 * A set of keys selected by kid. Built with ag_keyring_new() and
 * ag_keyring_add(); frozen (immutable) by the first verifier or issuer made
 * from it, after which it is shared by threads without locks and further
 * ag_keyring_add() calls fail with AG_ERR_STATE.
 */
typedef struct ag_keyring ag_keyring;

/**
 * Makes an empty keyring.
 * @param[in]  alloc  allocator, or NULL for the C library's
 * @param[out] out    release with ag_keyring_free()
 * Returns: AG_OK or AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_keyring_new(const ag_allocator *alloc, ag_keyring **out);

/**
 * Adds a key (takes a new reference; the caller keeps its own).
 * Returns: AG_OK; AG_ERR_EXISTS for a duplicate kid; AG_ERR_STATE when
 * frozen; AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_keyring_add(ag_keyring *ring, ag_key *key);

/**
 * Imports a JWKS ({"keys":[…]}) into a new keyring; every key must import
 * (see ag_key_from_jwk), or nothing is returned.
 *
 * @param[in]  default_alg  as for ag_key_from_jwk()
 * Returns: as ag_key_from_jwk(), plus AG_ERR_EXISTS for duplicate kids and
 * AG_ERR_KEY_FORMAT when the set mixes private or secret keys with public
 * keys, or is over 1 MiB.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_keyring_from_jwks(const char *json, size_t len, ag_alg default_alg,
                                                ag_keyring **out, char *errbuf, size_t errlen);

/**
 * Exports the public keys as a JWKS. HMAC keys are left out (they have no
 * public form), so a ring of HMAC keys exports {"keys":[]}.
 *
 * @param[out] out  NUL-terminated JSON; free with ag_free()
 * Returns: AG_OK, AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_keyring_to_jwks(const ag_keyring *ring, char **out);

/**
 * Finds a key by id (exact, full-length, case-sensitive).
 * Returns: the key (owned by the ring), or NULL.
 * @since 0.1
 */
AG_API const ag_key *ag_keyring_find(const ag_keyring *ring, const char *kid, size_t kid_len);

/** Number of keys in the ring. @since 0.1 */
AG_API size_t ag_keyring_count(const ag_keyring *ring);

/** Frees the ring (and drops its key references). NULL is a no-op. @since 0.1 */
AG_API void ag_keyring_free(ag_keyring *ring);

/* ------------------------------------------------------------------ */
/* Token kinds and claims                                              */
/* ------------------------------------------------------------------ */

/** Which kind of token (explicit typing, V-12). */
typedef enum ag_token_kind {
    AG_TOKEN_ACCESS = 1,  /**< typ "at+jwt" */
    AG_TOKEN_REFRESH = 2, /**< typ "rt+jwt"; carries a sid */
    AG_TOKEN_ANY = 3      /**< verify only: typ not checked (CLI without --type) */
} ag_token_kind;

/** Type of a custom claim when issuing. */
typedef enum ag_claim_type {
    AG_CLAIM_STRING = 1,
    AG_CLAIM_INT = 2,
    AG_CLAIM_BOOL = 3,
    AG_CLAIM_JSON = 4 /**< raw JSON text of any value; validated strictly */
} ag_claim_type;

/** A custom claim to add when issuing. Registered names are refused. */
typedef struct ag_custom_claim {
    const char *name; /**< NUL-terminated */
    ag_claim_type type;
    const char *str; /**< AG_CLAIM_STRING (UTF-8) and AG_CLAIM_JSON, NUL-terminated */
    int64_t i;       /**< AG_CLAIM_INT */
    bool b;          /**< AG_CLAIM_BOOL */
} ag_custom_claim;

/**
 * The verified claims of a token: a small struct of views. ag_verify()
 * decodes the payload and the unescaped strings into scratch memory the
 * caller provides (see AG_VERIFY_SCRATCH_LEN), and every span below points
 * into that scratch, so the claims stay valid as long as the scratch is
 * neither freed nor reused by another verify (the token bytes may go).
 * After a failed verify the contents are unspecified and the claims count
 * as unverified (ag_session_refresh_verified() refuses them).
 * Start from AG_INIT: `ag_claims c = AG_INIT(ag_claims);` (error.h, "Structs
 * that grow"); every call that fills it keeps the size.
 * @since 0.1 (0.2: size)
 */
typedef struct ag_claims {
    size_t size;        /**< sizeof(ag_claims): set by AG_INIT (error.h); kept by ag_verify */
    ag_alg alg;         /**< the header's (and key's) algorithm */
    ag_token_kind kind; /**< ACCESS or REFRESH, from typ; ANY if typ absent */
    ag_span kid;        /**< header kid */
    ag_span typ;        /**< header typ as sent, may be empty */
    ag_span iss;        /**< decoded (unescaped) UTF-8 */
    ag_span sub;
    ag_span aud; /**< the audience that matched (or the first one when none configured) */
    ag_span jti;
    ag_span sid; /**< empty when absent */
    int64_t exp; /**< NumericDate, truncated toward zero */
    int64_t iat;
    int64_t nbf; /**< 0 when absent (see has_nbf) */
    bool has_nbf;
    /* private: do not touch */
    ag_span payload_;      /* the verified payload, in the scratch */
    const void *verifier_; /* the verifier that accepted it; NULL otherwise */
} ag_claims;

/**
 * Scratch bytes ag_verify() needs for a token of n bytes: the decoded
 * payload, plus its unescaped strings, kid and typ. AG_VERIFY_SCRATCH_LEN
 * of the verifier's max_token_len always suffices. @since 0.2
 */
#define AG_VERIFY_SCRATCH_LEN(n) (((n) / 4u) * 6u + 4u + AG_KID_MAX_LEN + 256u)
/** Scratch for any token a verifier accepts (AG_TOKEN_MAX_LEN): 12,676
 * bytes. @since 0.2 */
#define AG_VERIFY_SCRATCH_MAX AG_VERIFY_SCRATCH_LEN(AG_TOKEN_MAX_LEN)

/**
 * The verified payload JSON, exactly as signed (for claims not listed in
 * ag_claims). A view into the verify's scratch.
 * @since 0.1
 */
AG_API ag_span ag_claims_payload(const ag_claims *claims);

/**
 * Reads a custom string claim, unescaped, into buf.
 * Returns: AG_OK; AG_ERR_NOT_FOUND when absent; AG_ERR_CLAIM when not a
 * string; AG_ERR_BUFFER when buf is too small (*len then says how much).
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_claims_get_string(const ag_claims *claims, const char *name,
                                                char *buf, size_t cap, size_t *len);

/**
 * Reads a custom integer claim (a JSON number without fraction or exponent
 * that fits int64_t).
 * Returns: AG_OK, AG_ERR_NOT_FOUND, AG_ERR_CLAIM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_claims_get_int(const ag_claims *claims, const char *name,
                                             int64_t *out);

/**
 * Reads a custom boolean claim.
 * Returns: AG_OK, AG_ERR_NOT_FOUND, AG_ERR_CLAIM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_claims_get_bool(const ag_claims *claims, const char *name, bool *out);

/**
 * Gives the raw JSON text of any claim's value (a view into the verify's
 * scratch).
 * Returns: AG_OK or AG_ERR_NOT_FOUND.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_claims_get_json(const ag_claims *claims, const char *name,
                                              ag_span *out);

/* ------------------------------------------------------------------ */
/* Verifying                                                           */
/* ------------------------------------------------------------------ */

/** How to verify. Start from AG_INIT, then set what you need. */
typedef struct ag_verifier_config {
    size_t size;            /**< sizeof(ag_verifier_config): set by AG_INIT (error.h) */
    const ag_keyring *keys; /**< required; frozen by ag_verifier_new() */
    ag_token_kind kind;     /**< required: ACCESS, REFRESH, or ANY (no typ check) */
    const char *issuer;     /**< expected iss (exact); NULL: any, but iss still required */
    const char *audience;   /**< expected aud member (exact); NULL: any, but aud still required */
    int64_t leeway;         /**< seconds, 0..AG_LEEWAY_MAX; negative → AG_LEEWAY_DEFAULT */
    int64_t max_lifetime;   /**< cap on exp − iat in seconds; 0 → 86400 for access,
                                 90 days for refresh and any; negative → no cap */
    size_t max_token_len;   /**< 0 → AG_TOKEN_MAX_LEN; larger values are refused */
    ag_clock_fn clock;      /**< NULL → ag_clock_system */
    void *clock_ctx;
    const ag_allocator *alloc; /**< for the verifier object itself; NULL → stdlib */
    size_t cache_entries;      /**< 0: no cache (default). Else the capacity of a cache of
                                    tokens that verified (see "Verified-token cache") */
    /**
     * Optional: a revocation set (revocation.h) checked after every other
     * check passed; a token of a revoked sid, or of a revoked subject with
     * an earlier iat, is AG_ERR_REVOKED. Referenced, not owned: it must
     * outlive the verifier. @since 0.2
     */
    const struct ag_revset *revocations;
    /* @since 0.2: for tokens from other issuers (an identity provider). Each
     * is an explicit opt-out of a strict default; zero keeps the default. */
    const char *const *issuers; /**< more accepted iss values (exact), besides issuer */
    size_t nissuers;
    const char *const *audiences; /**< more accepted aud members (exact), besides audience */
    size_t naudiences;
    unsigned relax; /**< AG_VERIFY_* bits below; 0: as strict as 0.1 */
    /** Called (outside any lock, from the verifying thread) when a token
     * names a kid the ring lacks; returns true when it installed new keys
     * (ag_verifier_set_keys), and the token is then checked once more.
     * Set by ag_jwks_remote_new(); NULL: none. @since 0.2 */
    bool (*on_unknown_kid)(void *ctx);
    void *unknown_kid_ctx;
} ag_verifier_config;

/** relax: typ "JWT" (any case, "application/" optional) counts as the
 * verifier's kind (many providers send it for access tokens; RFC 9068 says
 * "at+jwt"). @since 0.2 */
#define AG_VERIFY_TYP_JWT 0x01u
/** relax: a token without typ counts as the verifier's kind. @since 0.2 */
#define AG_VERIFY_TYP_ABSENT 0x02u
/** relax: jti may be absent (when present it must still be a non-empty string). @since 0.2 */
#define AG_VERIFY_OPTIONAL_JTI 0x04u
/** relax: iat may be absent; then the iat and lifetime checks are skipped
 * and ag_claims.iat is 0. @since 0.2 */
#define AG_VERIFY_OPTIONAL_IAT 0x08u
/** relax: sub may be absent (client-credentials tokens). @since 0.2 */
#define AG_VERIFY_OPTIONAL_SUB 0x10u
/** relax: refresh tokens need no sid. @since 0.2 */
#define AG_VERIFY_OPTIONAL_SID 0x20u

/*
 * Verified-token cache (opt-in: ag_verifier_config.cache_entries > 0).
 *
 * A token that passed every check is remembered under SHA-256 of its whole
 * text; when the same bytes come again, the steps up to and including the
 * signature are skipped and everything after them — typ, the claims, iss,
 * aud, exp, nbf, iat, lifetime — runs again against the clock, so a cached
 * token still expires on time. A repeated ES256 or EdDSA token then costs
 * one SHA-256 and the claims (under a microsecond, bench/README.md)
 * instead of 50–100 µs.
 *
 * What it trades: memory (about 2.1 KiB per entry, allocated when the
 * verifier is made), and the cache holds decoded payloads of recently seen
 * tokens in memory (cleansed when the verifier is freed). Tokens with more
 * than 2 KiB of kid + typ + payload are never cached. Entries are per
 * verifier and survive ag_verifier_set_keys(), but a hit counts only while
 * the verifier's current ring holds the very key that verified the token
 * (compared by identity, not by kid). Thread-safe; lookups take no lock. For HMAC tokens it buys
 * nothing (the MAC costs about as much as the hash): leave it off.
 */

/**
 * An immutable verification policy bound to a keyring. Shared by threads.
 */
typedef struct ag_verifier ag_verifier;

/**
 * Makes a verifier. Freezes cfg->keys and takes a reference to it; strings
 * are copied.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (no keys, bad kind, leeway or
 * length); AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_verifier_new(const ag_verifier_config *cfg, ag_verifier **out);

/** Frees a verifier. NULL is a no-op. @since 0.1 */
AG_API void ag_verifier_free(ag_verifier *v);

/**
 * The verifier's clock leeway in seconds, after defaults (a negative
 * configured leeway reads as AG_LEEWAY_DEFAULT). The session layer never
 * purges state that a token inside the leeway may still need.
 * @test tests/session/test_session.c
 * @since 0.2
 */
AG_API int64_t ag_verifier_leeway(const ag_verifier *v);

/**
 * Replaces the verifier's keyring while other threads keep verifying (key
 * rotation without a restart, or a refreshed JWKS).
 *
 * Freezes keys and takes a reference to it, as ag_verifier_new() does. A
 * verify that started before the call finishes with the ring it started
 * with; every verify that starts after the call returns uses keys. The
 * previous ring's reference is dropped once the last verify that could see
 * it has returned (so the ring, and keys nobody else holds, are freed then).
 * The header memo starts empty with the new ring; entries of the
 * verified-token cache stay, but a hit counts only when the new ring holds
 * the very key that verified the token under the same kid: a token whose key
 * left the ring fails with AG_ERR_KEY from the next verify on.
 *
 * @param[in] v     the verifier
 * @param[in] keys  the new keyring; the caller keeps its own reference
 * Ownership: the verifier holds keys until the next swap or ag_verifier_free().
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (NULL v or keys); AG_ERR_NOMEM
 * (nothing changed).
 * Thread safety: safe from any thread, concurrently with ag_verify() and
 * other swaps (swaps are serialised). ag_verify() never blocks or
 * allocates because of a swap; the swap itself waits (yielding the CPU)
 * until the verifies in progress at its start have returned, so it must not
 * be called from inside a verify (from the clock callback), where it would
 * wait for itself. Not safe concurrently with ag_verifier_free().
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_verifier_set_keys(ag_verifier *v, const ag_keyring *keys);

/**
 * Verifies a compact JWS token and its claims.
 *
 * Order (docs/security.md §1): size → split → strict base64url → strict JSON
 * header → header policy → key by kid → alg equals the key's → signature →
 * strict JSON claims → typ → iss/aud/sub/jti → exp/nbf/iat → lifetime.
 * Nothing in the payload is looked at before the signature verifies.
 *
 * @param[in]  v            the verifier
 * @param[in]  token        the token bytes (no NUL needed; NUL is rejected)
 * @param[in]  len          length in bytes
 * @param[out] scratch      memory the claims' spans will point into; at
 *                          least AG_VERIFY_SCRATCH_LEN(len) bytes
 *                          (AG_VERIFY_SCRATCH_MAX always suffices). Holds
 *                          decoded token bytes afterwards: cleanse it when
 *                          that matters.
 * @param[in]  scratch_len  its size in bytes
 * @param[out] out          made with AG_INIT(ag_claims) (error.h); filled on
 *                          success, contents unspecified on failure (its
 *                          size is kept)
 * Returns: AG_OK or the failure class: AG_ERR_TOO_LARGE, AG_ERR_MALFORMED,
 * AG_ERR_ALG, AG_ERR_HEADER, AG_ERR_KEY, AG_ERR_SIGNATURE, AG_ERR_WRONG_TYPE,
 * AG_ERR_CLAIM, AG_ERR_EXPIRED, AG_ERR_NOT_YET_VALID, AG_ERR_CRYPTO;
 * AG_ERR_BUFFER when scratch_len is below AG_VERIFY_SCRATCH_LEN(len)
 * (checked right after the size cap, before any other work);
 * AG_ERR_INVALID_ARGUMENT for a NULL v, scratch or out, or an out whose
 * size is below sizeof(ag_claims) (not made with AG_INIT; nothing written).
 * Allocation: none for HS*; for RS/PS/ES/EdDSA only what OpenSSL itself
 * does inside its verify call (after a thread's first call, which sets up
 * per-thread contexts).
 * Thread safety: safe; one verifier serves every thread (each with its own
 * scratch).
 * @since 0.1 (0.2: scratch; ag_claims holds only views and a size)
 */
AG_API AG_NODISCARD ag_err ag_verify(const ag_verifier *v, const uint8_t *token, size_t len,
                                     void *scratch, size_t scratch_len, ag_claims *out);

/* ag_verify_cause, the reason code below, is in error.h: events and
 * metrics (lib/common) name it too. */

/**
 * Short static text for a cause: "token has no kid", "no key with that
 * kid", "typ", "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid",
 * "lifetime"; "" for AG_CAUSE_NONE or an unknown value. Never holds token
 * bytes or expected values (V-18). @since 0.2
 */
AG_API const char *ag_verify_cause_text(ag_verify_cause cause);

/**
 * ag_verify() that also says what it refused (for tools and logs; the
 * HTTP answer stays coarse). Same checks, same cost.
 * @param[out] out    as for ag_verify(): made with AG_INIT(ag_claims)
 * @param[out] cause  optional; AG_CAUSE_NONE on success and on failures
 *                    with nothing more to say (malformed, bad signature, …)
 * Returns: as ag_verify(). Thread safety: safe.
 * @since 0.2 (scratch added in 0.2)
 */
AG_API AG_NODISCARD ag_err ag_verify_why(const ag_verifier *v, const uint8_t *token, size_t len,
                                         void *scratch, size_t scratch_len, ag_claims *out,
                                         ag_verify_cause *cause);

/* ------------------------------------------------------------------ */
/* Remote JWKS (built with libcurl: AG_WITH_CURL)                       */
/* ------------------------------------------------------------------ */

/** Told about every failed fetch or refused document (why: static text or
 * a one-line reason; never key material). From the refresher thread or a
 * verifying thread. @since 0.2 */
typedef void (*ag_jwks_error_fn)(void *ctx, ag_err err, const char *why);

/** Where and how to fetch a provider's JWKS. Start from AG_INIT. */
typedef struct ag_jwks_remote_config {
    size_t size;                  /**< sizeof(ag_jwks_remote_config): set by AG_INIT (error.h) */
    const char *url;              /**< required; https:// only (no redirects are followed) */
    const char *ca_file;          /**< PEM CA bundle; NULL: the system's */
    const char *ca_path;          /**< CA directory; NULL: the system's */
    ag_alg default_alg;           /**< for keys without "alg" (ag_keyring_from_jwks); 0: none */
    long connect_timeout_ms;      /**< 0 → 3000 */
    long timeout_ms;              /**< whole transfer; 0 → 10000 */
    size_t max_size;              /**< document cap in bytes; 0 → 262144 (at most 1 MiB) */
    int64_t min_refresh;          /**< lower clamp of Cache-Control max-age, s; 0 → 60 */
    int64_t max_refresh;          /**< upper clamp and the default without max-age; 0 → 3600 */
    int64_t unknown_kid_interval; /**< at most one unknown-kid refetch per this, s; 0 → 60 */
    int64_t max_stale;            /**< keep serving the last good keys this long after the last
                                       good fetch while fetches fail, s; then no key verifies
                                       (fail closed) until a fetch succeeds; 0 → 86400 */
    bool start_without_keys;      /**< false (default): ag_jwks_remote_new() fails when the first
                                       fetch fails. true: start with no keys and keep retrying */
    ag_jwks_error_fn on_error;    /**< optional */
    void *error_ctx;
    ag_clock_fn clock; /**< NULL → ag_clock_system (tests) */
    void *clock_ctx;
    bool refetch_in_background; /**< false (default): an unknown kid's refetch runs in the
                                     verifying thread, which waits for it. true: it wakes the
                                     refresher thread instead; that verify fails at once
                                     (AG_ERR_KEY) and the kid verifies once the fetch lands.
                                     For event loops that must never block (nginx) */
} ag_jwks_remote_config;

/** A remote key set feeding one verifier. */
typedef struct ag_jwks_remote ag_jwks_remote;

/**
 * Makes a verifier whose keys come from a remote JWKS, fetched now and then
 * refreshed by a background thread.
 *
 * The document is fetched over https with certificate and host name
 * verification, the timeouts and the size cap above, and no redirect. Its
 * keys go through ag_keyring_from_jwks(), the same validation as local keys;
 * a document that fails to fetch, parse or validate leaves the previous keys
 * in place and is reported to on_error. Refresh: after max-age of the last
 * good answer, clamped to [min_refresh, max_refresh]; after a failure, after
 * min_refresh. A token naming a kid the set lacks triggers one refetch at
 * most once per unknown_kid_interval across all threads: by default a
 * synchronous one in the verifying thread (bounded by timeout_ms), so a
 * provider's new key verifies on its first token; with
 * refetch_in_background, one by the refresher thread, so no verify ever
 * waits for the network and the first tokens of a new key fail until it
 * lands. Other verifies never wait for the network. jku/x5u in tokens are
 * never followed (they are refused).
 *
 * @param[in]  rc   where to fetch from
 * @param[in]  vc   the verifier's policy; vc->keys is ignored (may be NULL),
 *                  and on_unknown_kid is set by this call
 * @param[out] out  release with ag_jwks_remote_free() (which frees the verifier)
 * @param[out] verifier  the verifier to pass to ag_verify(); owned by *out
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (not an https URL, bad sizes);
 * AG_ERR_STATE (built without libcurl); the first fetch's error unless
 * start_without_keys (AG_ERR_CRYPTO: transport or TLS failure, AG_ERR_TOO_LARGE,
 * AG_ERR_KEY_FORMAT and the other ag_keyring_from_jwks() errors); AG_ERR_NOMEM.
 * Thread safety: the verifier is shared by threads as usual.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_jwks_remote_new(const ag_jwks_remote_config *rc,
                                              const ag_verifier_config *vc, ag_jwks_remote **out,
                                              ag_verifier **verifier);

/**
 * Fetches the document now (blocking, bounded by timeout_ms) and installs
 * its keys when good. Returns: as the first fetch of ag_jwks_remote_new().
 * Thread safety: safe. @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_jwks_remote_refresh(ag_jwks_remote *r);

/** Number of fetches attempted so far (for monitoring and tests). @since 0.2 */
AG_API uint64_t ag_jwks_remote_fetches(const ag_jwks_remote *r);

/** Stops the refresher thread and frees the remote set and its verifier.
 * NULL is a no-op. Not concurrently with verifies on its verifier. @since 0.2 */
AG_API void ag_jwks_remote_free(ag_jwks_remote *r);

/* ------------------------------------------------------------------ */
/* Issuing                                                             */
/* ------------------------------------------------------------------ */

/** How to issue. Start from AG_INIT, then set what you need. */
typedef struct ag_issuer_config {
    size_t size;          /**< sizeof(ag_issuer_config): set by AG_INIT (error.h) */
    const ag_key *key;    /**< the private signing key, referenced by the issuer;
                               or NULL and keys set */
    ag_token_kind kind;   /**< ACCESS or REFRESH */
    const char *issuer;   /**< iss, required */
    const char *audience; /**< aud, required */
    int64_t ttl;          /**< default lifetime in seconds, > 0 */
    ag_clock_fn clock;    /**< NULL → ag_clock_system */
    void *clock_ctx;
    const ag_allocator *alloc;
    const ag_keyring *keys; /**< instead of key (set exactly one): sign with the
                                 ring's newest private key (see
                                 ag_keyring_newest_signer()). @since 0.2 */
} ag_issuer_config;

/** An issuing policy bound to one signing key at a time. Shared by threads. */
typedef struct ag_issuer ag_issuer;

/**
 * Makes an issuer.
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (also: both or neither of key and
 * keys); AG_ERR_STATE (public key only, or a ring without a private key);
 * AG_ERR_NOMEM.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_issuer_new(const ag_issuer_config *cfg, ag_issuer **out);

/** Frees an issuer. NULL is a no-op. @since 0.1 */
AG_API void ag_issuer_free(ag_issuer *iss);

/**
 * The key an issuer made from keys signs with: the private key added to
 * the ring last (ring order is the order of ag_keyring_add() calls, and
 * for ag_keyring_from_jwks() the order of the document). Public keys after
 * it (another service's, or retired ones) are skipped. To rotate, build a
 * ring with the old keys (still needed to verify the tokens they signed)
 * and then the new key, and give it to ag_issuer_set_keys() and
 * ag_verifier_set_keys().
 *
 * Returns: the key (owned by the ring), or NULL when the ring holds no
 * private key.
 * Thread safety: safe on a frozen ring.
 * @since 0.2
 */
AG_API const ag_key *ag_keyring_newest_signer(const ag_keyring *ring);

/**
 * Switches the issuer to the newest private key of keys
 * (ag_keyring_newest_signer()) while other threads keep issuing.
 *
 * An ag_issue() that started before the call finishes with the previous
 * key; every one that starts after it returns signs with the new key. The
 * previous key's reference is dropped after the last issue using it has
 * returned. Freezes keys; the issuer references only the signing key.
 *
 * @param[in] iss   the issuer
 * @param[in] keys  the ring to take the signing key from
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_STATE (no private key in
 * keys: nothing changed); AG_ERR_NOMEM (nothing changed).
 * Thread safety: safe from any thread, concurrently with ag_issue() and
 * other swaps; waits for the issues in progress (as ag_verifier_set_keys()
 * does). Not safe concurrently with ag_issuer_free().
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_issuer_set_keys(ag_issuer *iss, const ag_keyring *keys);

/**
 * The kid the issuer signs with now (NUL-terminated). The text is copied
 * into buf, since the key may change under a concurrent ag_issuer_set_keys().
 * Returns: AG_OK; AG_ERR_BUFFER (cap < AG_KID_MAX_LEN + 1 always suffices);
 * AG_ERR_INVALID_ARGUMENT.
 * Thread safety: safe.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_issuer_kid(const ag_issuer *iss, char *buf, size_t cap);

/** Per-token parameters. Start from AG_INIT, then set what you need. */
typedef struct ag_issue_params {
    size_t size;     /**< sizeof(ag_issue_params): set by AG_INIT (error.h) */
    const char *sub; /**< required, non-empty UTF-8 */
    const char *sid; /**< family id; required for refresh tokens, optional for access */
    const char *jti; /**< NULL: 32 random bytes, base64url. Else used as given
                          (e.g. a derived successor jti); 1..64 bytes of base64url */
    int64_t ttl;     /**< 0: the issuer's ttl */
    int64_t now;     /**< 0: the issuer's clock */
    const ag_custom_claim *claims; /**< optional extra claims */
    size_t nclaims;
} ag_issue_params;

/** What was issued. Start from AG_INIT (error.h). @since 0.1 (0.2: size) */
typedef struct ag_issued {
    size_t size;  /**< sizeof(ag_issued): set by AG_INIT; kept by ag_issue */
    char jti[65]; /**< NUL-terminated jti */
    int64_t iat;
    int64_t exp;
    size_t len; /**< token length, excluding the NUL */
} ag_issued;

/**
 * Issues a token into a caller buffer, NUL-terminated.
 *
 * The header is exactly {"alg","typ","kid"} (I-01, I-03); the payload has
 * iss, sub, aud, exp, iat, jti, sid (when given) and the custom claims.
 *
 * @param[out] buf   receives the token; AG_TOKEN_MAX_LEN + 1 always suffices
 * @param[in]  cap   size of buf in bytes
 * @param[out] info  optional (NULL): jti, iat, exp, length; when given,
 *                   made with AG_INIT(ag_issued) (error.h), else
 *                   AG_ERR_INVALID_ARGUMENT; its size is kept
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (missing sub, refresh without sid,
 * a registered or duplicate custom claim name, bad custom JSON); AG_ERR_BUFFER;
 * AG_ERR_TOO_LARGE (token would exceed AG_TOKEN_MAX_LEN); AG_ERR_CRYPTO;
 * AG_ERR_NOMEM.
 * Thread safety: safe.
 * @since 0.1 (0.2: ag_issued sized)
 */
AG_API AG_NODISCARD ag_err ag_issue(const ag_issuer *iss, const ag_issue_params *params, char *buf,
                                    size_t cap, ag_issued *info);

/**
 * Frees the calling thread's cached OpenSSL contexts (digest and signature
 * contexts that ag_verify and ag_issue keep per thread so that the hot path
 * does not allocate). They are otherwise freed when the thread exits; call
 * this from a thread that is about to stop using authgate, or from the main
 * thread before OPENSSL_cleanup() in leak-checked programs.
 * Thread safety: affects only the calling thread.
 * @since 0.1
 */
AG_API void ag_thread_cleanup(void);

/* ------------------------------------------------------------------ */
/* base64url (RFC 4648 §5, no padding), strict                          */
/* ------------------------------------------------------------------ */

/** Encoded length of n bytes. @since 0.1 */
#define AG_B64URL_ENCODED_LEN(n) (((n) / 3u) * 4u + (((n) % 3u) ? ((n) % 3u) + 1u : 0u))
/** Upper bound of the decoded length of n characters. @since 0.1 */
#define AG_B64URL_DECODED_MAX(n) (((n) / 4u) * 3u + (((n) % 4u) ? ((n) % 4u) - 1u : 0u))

/**
 * Encodes without padding. Writes a NUL after the text when room allows.
 * @param[out] out_len  characters written (excluding the NUL)
 * Returns: AG_OK; AG_ERR_BUFFER (nothing written); AG_ERR_INVALID_ARGUMENT
 * when out_len is NULL or a NULL buffer comes with a non-zero length.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_base64url_encode(const uint8_t *in, size_t in_len, char *out,
                                               size_t cap, size_t *out_len);

/**
 * Decodes strictly: only [A-Za-z0-9_-], no padding, no whitespace, length
 * mod 4 != 1, unused trailing bits zero (V-05). Branch-free on the data.
 * All or nothing: on failure *out_len is 0 and out holds no partial data.
 * Returns: AG_OK, AG_ERR_MALFORMED, AG_ERR_BUFFER, or AG_ERR_INVALID_ARGUMENT
 * (out_len NULL, or a NULL buffer with a non-zero length).
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_base64url_decode(const uint8_t *in, size_t in_len, uint8_t *out,
                                               size_t cap, size_t *out_len);

/**
 * Splits a compact JWS and decodes header and payload WITHOUT verifying
 * anything (for inspection tools such as `authgate decode`).
 *
 * @param[out] header      decoded header bytes (JSON text, not validated)
 * @param[out] payload     decoded payload bytes
 * Returns: AG_OK, AG_ERR_TOO_LARGE, AG_ERR_MALFORMED, AG_ERR_BUFFER,
 * AG_ERR_INVALID_ARGUMENT. MALFORMED takes precedence over BUFFER; on
 * failure both lengths are 0 and any header bytes written are wiped.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_token_decode_unverified(const uint8_t *token, size_t len,
                                                      uint8_t *header, size_t header_cap,
                                                      size_t *header_len, uint8_t *payload,
                                                      size_t payload_cap, size_t *payload_len);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_TOKEN_H */

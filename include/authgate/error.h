/* SPDX-License-Identifier: MIT */
/*
 * authgate — error codes, export macros and the small shared types.
 *
 * Every fallible authgate function returns an ag_err. AG_OK is 0; every
 * other value names one failure class. The numbers are stable: codes are
 * only ever appended, never renumbered or reused.
 */
#ifndef AUTHGATE_ERROR_H
#define AUTHGATE_ERROR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(AG_BUILDING_DLL)
#define AG_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define AG_API __attribute__((visibility("default")))
#else
#define AG_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define AG_NODISCARD __attribute__((warn_unused_result))
#else
#define AG_NODISCARD
#endif

/* AG_VERSION_* and ag_version(), generated from the project's version. */
#include <authgate/version.h>

/*
 * The error table: X(NAME, number, reason word, description).
 *
 * The reason word is the short, stable text the CLI prints for a rejected
 * token (docs/http.md); the description is what ag_strerror() returns.
 * Append only.
 */
#define AG_ERR_MAP(X)                                                                              \
    X(OK, 0, "ok", "success")                                                                      \
    X(INVALID_ARGUMENT, 1, "invalid argument", "invalid argument")                                 \
    X(NOMEM, 2, "out of memory", "out of memory")                                                  \
    X(BUFFER, 3, "buffer too small", "output buffer too small")                                    \
    X(CRYPTO, 4, "crypto failure", "cryptographic library failure")                                \
    X(TOO_LARGE, 5, "too large", "input exceeds the size limit")                                   \
    X(MALFORMED, 6, "malformed", "malformed token (segments, base64url, JSON or types)")           \
    X(ALG, 7, "algorithm", "algorithm not allowed or not the key's algorithm")                     \
    X(HEADER, 8, "header", "forbidden or unsupported JOSE header parameter")                       \
    X(KEY, 9, "unknown key", "unknown or missing key id (kid)")                                    \
    X(SIGNATURE, 10, "bad signature", "signature has the wrong length or does not verify")         \
    X(EXPIRED, 11, "expired", "token has expired")                                                 \
    X(NOT_YET_VALID, 12, "not yet valid", "token is not yet valid (nbf or iat in the future)")     \
    X(CLAIM, 13, "claim", "claim missing, of the wrong type, out of range or not matching")        \
    X(WRONG_TYPE, 14, "wrong type", "token type (typ) is not the expected one")                    \
    X(WEAK_KEY, 15, "weak key", "key is too weak for its algorithm")                               \
    X(KEY_FORMAT, 16, "key format", "key material is invalid or unsupported")                      \
    X(NO_CREDENTIALS, 17, "no credentials", "request carries no credentials")                      \
    X(AMBIGUOUS, 18, "ambiguous", "ambiguous credentials (duplicate header, cookie or channel)")   \
    X(REQUEST, 19, "invalid request", "malformed request (Authorization or Cookie syntax)")        \
    X(URL_CREDENTIALS, 20, "credentials in URL", "credentials in the URL are not accepted")        \
    X(CSRF, 21, "csrf", "missing or invalid CSRF proof")                                           \
    X(UNKNOWN, 22, "unknown token", "refresh token is not known to the store")                     \
    X(REVOKED, 23, "revoked", "session has been revoked")                                          \
    X(REUSED, 24, "reused", "refresh token reuse detected; session revoked")                       \
    X(STORE, 25, "store failure", "session store failure")                                         \
    X(STORE_FULL, 26, "store full", "session store is full")                                       \
    X(STORE_VERSION, 27, "store version", "store schema version is unknown to this build")         \
    X(NOT_FOUND, 28, "not found", "not found")                                                     \
    X(EXISTS, 29, "exists", "already exists")                                                      \
    X(STATE, 30, "state", "object is in the wrong state for this call")

/** Error codes. AG_OK (0) is success. */
typedef enum ag_err {
#define AG__ERR_ENUM(name, num, reason, text) AG_ERR_##name = num,
    AG_ERR_MAP(AG__ERR_ENUM)
#undef AG__ERR_ENUM
        AG_OK = 0
} ag_err;

/** One past the highest error code (for tables and tests). */
#define AG_ERR_COUNT_ 31

/**
 * Describes an error code in a sentence.
 *
 * @param[in] err  any value; unknown values get "unknown error".
 * Returns: static text, never NULL; never allocates.
 * Thread safety: safe from any thread.
 * @since 0.1
 */
AG_API const char *ag_strerror(ag_err err);

/**
 * The enum constant's name, such as "AG_ERR_EXPIRED".
 *
 * Returns: static text, never NULL ("AG_ERR_?" for unknown values).
 * Thread safety: safe from any thread.
 * @since 0.1
 */
AG_API const char *ag_err_name(ag_err err);

/**
 * The short reason word for an error, such as "expired" or "bad signature".
 *
 * These words are a contract: the CLI prints them for rejected tokens.
 * Returns: static text, never NULL.
 * Thread safety: safe from any thread.
 * @since 0.1
 */
AG_API const char *ag_err_reason(ag_err err);

/** What exactly a verify refused, beyond its ag_err class (the
 * refusals of ag_verify_why(), token.h; events and metrics report it). @since 0.2 */
typedef enum ag_verify_cause {
    AG_CAUSE_NONE = 0,        /**< success, or nothing more to say */
    AG_CAUSE_NO_KID = 1,      /**< AG_ERR_KEY: the header has no kid */
    AG_CAUSE_UNKNOWN_KID = 2, /**< AG_ERR_KEY: no key in the ring has that kid */
    AG_CAUSE_TYP = 3,         /**< AG_ERR_WRONG_TYPE */
    AG_CAUSE_ISS = 4,         /**< the claim is missing, mistyped, or not accepted */
    AG_CAUSE_SUB = 5,
    AG_CAUSE_AUD = 6,
    AG_CAUSE_EXP = 7, /**< also AG_ERR_EXPIRED */
    AG_CAUSE_NBF = 8, /**< also AG_ERR_NOT_YET_VALID */
    AG_CAUSE_IAT = 9, /**< also AG_ERR_NOT_YET_VALID (iat in the future) */
    AG_CAUSE_JTI = 10,
    AG_CAUSE_SID = 11,
    AG_CAUSE_LIFETIME = 12 /**< AG_ERR_CLAIM: exp - iat over the verifier's cap */
} ag_verify_cause;

/*
 * Structs that grow without breaking binaries.
 *
 * Every public config or parameter struct a caller fills in
 * (ag_verifier_config, ag_issuer_config, ag_issue_params,
 * ag_jwks_remote_config, ag_session_config, ag_revset_config,
 * ag_revsync_config, ag_http_policy_config, ag_store_memory_config,
 * ag_store_sqlite_config, ag_store_pg_config, ag_cookie_spec) starts with
 * `size_t size`, which the caller sets to sizeof the struct it was compiled
 * with — AG_INIT does that and zeroes the rest:
 *
 *     ag_verifier_config cfg = AG_INIT(ag_verifier_config);
 *     cfg.keys = ring;
 *
 * or `ag_verifier_config cfg = {.size = sizeof cfg, .keys = ring};`.
 * The library reads only the first `size` bytes and takes every member
 * beyond them as zero (its default), so a binary built against an older,
 * smaller struct keeps working when members are added at the end (the
 * only way these structs change). A size below the struct's first
 * published layout — 0 from a struct zeroed without AG_INIT, or a size
 * left unset; today every struct is in its first layout, so any size
 * below the full struct — is AG_ERR_INVALID_ARGUMENT; so is a size more
 * than 1 KiB above the library's, and a larger size whose extra bytes are
 * not all zero (a newer binary asking for something this library cannot
 * do).
 *
 * ag_http_request, the request a caller fills for the HTTP calls, is sized
 * the same way (it is read like a config).
 *
 * Result structs the caller allocates and the library fills (ag_claims,
 * ag_issued, ag_session_tokens, ag_http_credential, and the snapshots
 * ag_store_stats, ag_revset_stats, ag_metrics) start with the same
 * `size_t size`, set the same way:
 *
 *     ag_claims c = AG_INIT(ag_claims);
 *
 * (ag_session_tokens: AG_INIT before ag_session_tokens_init();
 * ag_session_tokens_new() sets it). A call that fills one first checks
 * that its size is at least the struct's size as of this ABI; below that
 * (0 from a struct zeroed without AG_INIT) it is AG_ERR_INVALID_ARGUMENT
 * and nothing is written. The library never changes `size`: wherever it
 * clears such a struct it keeps it. Members are only appended, and a
 * member added later is written only when the caller's size covers it,
 * so an older binary's smaller struct is never written past its end.
 * An optional result (ag_issue's info) may still be NULL.
 *
 * Fixed for the life of a SONAME, unsized: elements of arrays
 * (ag_header, ag_custom_claim, ag_session_info) and small values passed
 * or returned by value (ag_span, ag_http_error, ag_allocator). They never
 * change within one SONAME; new data about them comes through new
 * functions. The structs of the store interface (ag_store_family,
 * ag_store_rotation, ag_store_rotated, ag_store_revocation) follow
 * AG_STORE_INTERFACE_VERSION (store.h), for backends and for applications
 * calling ag_store_* alike: fixed while it stays the same.
 *
 * ag_event_sink, which ag_events_set() keeps and reads in place, is sized
 * like a config: AG_INIT, then set fn.
 *
 * Structs the library hands to callbacks (ag_event, ag_reuse_event,
 * ag_evict_event) are the library's, valid during the callback only:
 * members are only appended, never removed or reordered, so a callback
 * reads the members it knows through the pointer — and must not copy the
 * struct by value (its size is the library's, not the one it was compiled
 * with).
 * docs/building.md ("ABI policy") has the rules. @since 0.2
 */
#define AG_INIT(type)                                                                              \
    {                                                                                              \
        .size = sizeof(type)                                                                       \
    }

/** A read-only view of bytes owned by someone else. Not NUL-terminated. */
typedef struct ag_span {
    const uint8_t *ptr;
    size_t len;
} ag_span;

/**
 * A caller-supplied allocator. Every long-lived authgate object takes one
 * in its configuration (NULL means the C library's malloc/realloc/free).
 * authgate never installs a process-global allocator hook.
 */
typedef struct ag_allocator {
    void *(*malloc)(size_t size, void *ctx);
    void *(*realloc)(void *ptr, size_t size, void *ctx);
    void (*free)(void *ptr, void *ctx);
    void *ctx;
} ag_allocator;

/**
 * Frees memory that authgate returned to the caller (JWK text, JWKS text,
 * Set-Cookie values…). ag_free(NULL) is a no-op.
 *
 * Ownership: only for pointers documented as "free with ag_free".
 * @since 0.1
 */
AG_API void ag_free(void *ptr);

/**
 * A clock: returns the current time in whole seconds since the Unix epoch.
 * Used wherever authgate needs "now", so tests and the CLI's --now can fix it.
 */
typedef int64_t (*ag_clock_fn)(void *ctx);

/** The default clock: time(NULL). */
AG_API int64_t ag_clock_system(void *ctx);

/**
 * Fills buf with n bytes from the operating system's CSPRNG (OpenSSL's
 * RAND_bytes on the default DRBG).
 *
 * Returns: AG_OK, or AG_ERR_CRYPTO if the generator failed (buf is then
 * cleansed).
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_random(uint8_t *buf, size_t n);

/**
 * Compares two byte strings of length n in time that depends only on n.
 *
 * Returns: 1 when equal, 0 otherwise.
 * @since 0.1
 */
AG_API int ag_ct_equal(const void *a, const void *b, size_t n);

/**
 * Overwrites n bytes at p with zeros in a way the compiler cannot elide
 * (OPENSSL_cleanse).
 * @since 0.1
 */
AG_API void ag_cleanse(void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_ERROR_H */

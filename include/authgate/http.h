/* SPDX-License-Identifier: MIT */
/*
 * authgate — credentials strictly from HTTP headers and cookies.
 *
 * Framework-agnostic: the input is a request's method, its header list as
 * (name, value) byte spans and optionally its raw query string, exactly as
 * any C server has them; nothing here knows a particular server library
 * (lib/mhd adapts libmicrohttpd). Extractors copy nothing: they return views
 * into the caller's header bytes (picohttpparser's shape).
 *
 * The rules are docs/security.md §3 (H-01…H-09, C-01, C-02); docs/http.md
 * explains the extraction policy and the CSRF model with an example.
 *
 * See authgate.h for the conventions (NULL rule, ownership, threads, units).
 */
#ifndef AUTHGATE_HTTP_H
#define AUTHGATE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "token.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Limits and names                                                    */
/* ------------------------------------------------------------------ */

/** Largest cookie name+value accepted, in bytes (V-04; 6265bis storage). */
#define AG_COOKIE_MAX_LEN 4096
/** Largest Authorization field value looked at, in bytes (checked first). */
#define AG_AUTHORIZATION_MAX_LEN (AG_TOKEN_MAX_LEN + 64)
/** Longest Idempotency-Key content, bytes (= AG_SESSION_RETRY_KEY_MAX_LEN). @since 0.2 */
#define AG_IDEMPOTENCY_KEY_MAX_LEN 128
/** Length of a CSRF token in characters: base64url of 32 bytes. */
#define AG_CSRF_TOKEN_LEN 43
/** Smallest accepted CSRF secret, in bytes. */
#define AG_CSRF_SECRET_MIN 32

/** Default cookie names (H-09, docs/http.md). */
#define AG_COOKIE_REFRESH "__Host-refresh"
#define AG_COOKIE_CSRF "__Host-csrf"
#define AG_COOKIE_ACCESS "__Host-access"
/** Default CSRF request header (C-01). */
#define AG_HEADER_CSRF "X-CSRF-Token"

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

/**
 * One request header field as received: name and value are views of bytes
 * owned by the caller (not NUL-terminated; a NUL byte is data). The value
 * may keep its leading/trailing whitespace: authgate trims OWS itself.
 * Repeated fields are passed as repeated entries, in arrival order.
 */
typedef struct ag_header {
    ag_span name;
    ag_span value;
} ag_header;

/**
 * What the core needs from a request. Start from AG_INIT (error.h), then
 * set fields: `ag_http_request req = AG_INIT(ag_http_request);`.
 * Every pointer is borrowed for the duration of the call only.
 * @since 0.1 (0.2: size)
 */
typedef struct ag_http_request {
    size_t size;              /**< sizeof(ag_http_request): set by AG_INIT */
    ag_span method;           /**< e.g. "POST"; empty counts as a non-safe method */
    const ag_header *headers; /**< NULL allowed when nheaders is 0 */
    size_t nheaders;
    ag_span query; /**< raw query string (after '?', still percent-encoded)
                        or empty; only ever read to refuse URL credentials (H-03) */
} ag_http_request;

/** Where a credential came from (bit flags for the policy). */
typedef enum ag_cred_source {
    AG_SOURCE_HEADER = 1, /**< Authorization: Bearer */
    AG_SOURCE_COOKIE = 2  /**< a __Host- cookie; needs CSRF proof (C-01) */
} ag_cred_source;

/* ------------------------------------------------------------------ */
/* Policy                                                              */
/* ------------------------------------------------------------------ */

/**
 * How credentials are taken from requests. Start from AG_INIT, then set what
 * you need: AG_INIT alone is the safe default of docs/http.md (access
 * tokens from Authorization only; refresh tokens from the __Host-refresh
 * cookie or Authorization; CSRF double submit with X-CSRF-Token and
 * __Host-csrf; Sec-Fetch-Site must be same-origin or none).
 */
typedef struct ag_http_policy_config {
    size_t size;                /**< sizeof(ag_http_policy_config): set by AG_INIT (error.h) */
    unsigned access_sources;    /**< AG_SOURCE_* flags; 0 → AG_SOURCE_HEADER */
    unsigned refresh_sources;   /**< 0 → AG_SOURCE_HEADER | AG_SOURCE_COOKIE */
    const char *access_cookie;  /**< NULL → AG_COOKIE_ACCESS (used only when opted in) */
    const char *refresh_cookie; /**< NULL → AG_COOKIE_REFRESH */
    const char *csrf_cookie;    /**< NULL → AG_COOKIE_CSRF */
    const char *csrf_header;    /**< NULL → AG_HEADER_CSRF */
    /**
     * Allowed values of the Origin header for cookie-carried credentials,
     * compared exactly ("https://app.example.com", no trailing slash).
     * With none configured, a present Origin must equal "https://" or
     * "http://" followed by the request's Host field value.
     */
    const char *const *origins;
    size_t norigins;
    bool allow_same_site;      /**< also accept Sec-Fetch-Site: same-site (default: reject) */
    const ag_allocator *alloc; /**< for the policy object; NULL → stdlib */
} ag_http_policy_config;

/**
 * An immutable extraction policy. Built once, then shared by every thread
 * without locks. Every function taking a policy accepts NULL for the
 * default policy (a config of AG_INIT alone).
 */
typedef struct ag_http_policy ag_http_policy;

/**
 * Makes a policy. Strings are copied.
 *
 * @param[in]  cfg  the configuration; not NULL
 * @param[out] out  the policy; release with ag_http_policy_free()
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (unknown source flags, a cookie
 * name that is not an RFC 6265 token, a credential or CSRF cookie name
 * without the __Host- or __Secure- prefix, a header name that is not a
 * token, an empty origin); AG_ERR_NOMEM.
 * Thread safety: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_http_policy_new(const ag_http_policy_config *cfg,
                                              ag_http_policy **out);

/** Frees a policy. NULL is a no-op. @since 0.1 */
AG_API void ag_http_policy_free(ag_http_policy *policy);

/**
 * True when a header field of this name matters to the policy
 * (Authorization, Cookie, Host, Origin, Sec-Fetch-Site, the CSRF header).
 * Adapters may pass only these fields to save copying; passing every field
 * is always correct.
 *
 * @param[in] policy  or NULL for the default policy
 * @param[in] name    header name bytes (compared case-insensitively)
 * @since 0.1
 */
AG_API bool ag_http_policy_wants_header(const ag_http_policy *policy, const uint8_t *name,
                                        size_t len);

/* ------------------------------------------------------------------ */
/* The calls a server makes                                            */
/* ------------------------------------------------------------------ */

/**
 * The hot path: request → verified access-token claims.
 *
 * Refuses URL credentials (H-03), takes the access token from the one
 * Authorization field (H-01, H-02) and, when the policy opts in, from the
 * access cookie (H-06…H-08; both at once is ambiguous, H-04; a cookie on a
 * method other than GET/HEAD/OPTIONS needs CSRF proof, C-01), then verifies
 * it with v, which must be an access-token verifier.
 *
 * @param[in]  policy  or NULL for the default policy
 * @param[in]  v       verifier for access tokens; not NULL
 * @param[in]  req     the request, made with AG_INIT(ag_http_request); not NULL
 * @param[out] scratch as for ag_verify(): AG_VERIFY_SCRATCH_MAX bytes (or
 *                     AG_VERIFY_SCRATCH_LEN of the verifier's max_token_len)
 *                     that the claims point into; not NULL
 * @param[in]  scratch_len  its size
 * @param[out] out     the claims on success; not NULL; made with
 *                     AG_INIT(ag_claims) (error.h), else
 *                     AG_ERR_INVALID_ARGUMENT before the request is read
 * Returns: AG_OK; AG_ERR_URL_CREDENTIALS; AG_ERR_NO_CREDENTIALS (nothing
 * sent, or another scheme); AG_ERR_AMBIGUOUS; AG_ERR_REQUEST;
 * AG_ERR_TOO_LARGE; AG_ERR_CSRF; or any error of ag_verify().
 * Allocation: none by authgate (and none at all for HS* verifiers).
 * Thread safety: safe.
 * @since 0.1 (0.2: scratch)
 */
AG_API AG_NODISCARD ag_err ag_http_authenticate(const ag_http_policy *policy, const ag_verifier *v,
                                                const ag_http_request *req, void *scratch,
                                                size_t scratch_len, ag_claims *out);

/** A credential taken from a request, not yet verified. Start from
 * AG_INIT (error.h). @since 0.1 (0.2: size) */
typedef struct ag_http_credential {
    size_t size;           /**< sizeof(ag_http_credential): set by AG_INIT; kept */
    ag_span token;         /**< view into the caller's header bytes */
    ag_cred_source source; /**< the channel it came in */
    ag_span csrf;          /**< cookie channel: the X-CSRF-Token value that matched the
                                CSRF cookie and its session; empty for the header
                                channel */
} ag_http_credential;

/**
 * The one call for /auth/refresh, /auth/logout and the like: takes the
 * refresh credential from the request, verifies it and, for the cookie
 * channel, checks the CSRF proof including its binding to the verified
 * session. There is deliberately no call that extracts without the binding
 * (C-02 cannot be forgotten). out->source says which channel the token
 * came in, so the successor goes back the same way.
 *
 * Refuses URL credentials (H-03); takes the token from Authorization: Bearer
 * and/or the refresh cookie as the policy allows; both present is ambiguous
 * (H-04). For the cookie channel it requires CSRF proof whatever the method
 * (C-01): Sec-Fetch-Site not cross-site, Origin (when present) allowed, and
 * the CSRF header equal to the CSRF cookie (both decoded, compared in
 * constant time); then ag_verify() with v, then the CSRF token's session
 * binding against the verified sid (C-02). Nothing of the store is touched:
 * hand the claims to ag_session_refresh_verified() or
 * ag_session_logout_verified() (the token is then verified once), or
 * out->token to ag_session_refresh().
 *
 * @param[in]  policy      or NULL
 * @param[in]  v           verifier for refresh tokens; not NULL
 * @param[in]  csrf_secret the server's CSRF secret (≥ AG_CSRF_SECRET_MIN
 *                         bytes); may be NULL only when the policy does not
 *                         accept refresh cookies
 * @param[in]  req         the request, made with AG_INIT(ag_http_request)
 * @param[out] scratch     as for ag_verify(); the claims point into it
 * @param[in]  scratch_len its size
 * @param[out] out         the credential; made with AG_INIT(ag_http_credential)
 * @param[out] claims      made with AG_INIT(ag_claims); the verified claims;
 *                         after any failure (a CSRF one
 *                         included) they count as unverified, so
 *                         ag_session_refresh_verified() refuses them
 * Returns: AG_OK; AG_ERR_URL_CREDENTIALS; AG_ERR_NO_CREDENTIALS;
 * AG_ERR_AMBIGUOUS; AG_ERR_REQUEST; AG_ERR_TOO_LARGE; AG_ERR_CSRF (proof
 * missing or wrong, or bound to another session); the errors of
 * ag_verify(); AG_ERR_CLAIM (cookie channel, no sid);
 * AG_ERR_INVALID_ARGUMENT (a NULL argument; out or claims not made with
 * AG_INIT, refused before the request is read; a policy that accepts
 * refresh cookies without a valid secret).
 * Thread safety: safe.
 * @since 0.1 (0.2: the only refresh extraction call; scratch)
 */
AG_API AG_NODISCARD ag_err ag_http_refresh_verify(const ag_http_policy *policy,
                                                  const ag_verifier *v, const uint8_t *csrf_secret,
                                                  size_t csrf_secret_len,
                                                  const ag_http_request *req, void *scratch,
                                                  size_t scratch_len, ag_http_credential *out,
                                                  ag_claims *claims);

/**
 * Refuses URL credentials: fails when the raw query string carries a
 * parameter named access_token, refresh_token, token, jwt or id_token
 * (ASCII case-insensitive), after application/x-www-form-urlencoded
 * decoding of the name ('+' and %XX; "acc%65ss_token" is caught). Pairs are
 * split on '&' and ';'. One leading '?' is skipped. Call it on every
 * endpoint (docs/http.md); the authenticate calls do it themselves.
 *
 * @param[in] query  raw query bytes, NULL allowed when len is 0
 * Returns: AG_OK or AG_ERR_URL_CREDENTIALS.
 * Allocation: none. Thread safety: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_http_check_query(const uint8_t *query, size_t len);

/**
 * True when an already-decoded parameter name is one of the refused URL
 * credential names (for servers that only expose parsed query arguments).
 * @since 0.1
 */
AG_API bool ag_http_is_url_credential_name(const uint8_t *name, size_t len);

/* ------------------------------------------------------------------ */
/* Parsers (used by the calls above; exposed for other adapters)         */
/* ------------------------------------------------------------------ */

/**
 * Parses one Authorization field value (H-01): OWS trimmed, then
 * "Bearer" (any case) 1*SP b64token, nothing else.
 *
 * @param[in]  value  the field value bytes
 * @param[out] token  view into value: the b64token
 * Returns: AG_OK; AG_ERR_NO_CREDENTIALS (another auth-scheme, which is not
 * an error on the wire); AG_ERR_AMBIGUOUS (a comma-combined list holding a
 * Bearer credential, H-02); AG_ERR_REQUEST (malformed: empty, no token, a
 * tab or second space, a byte outside b64token, a control byte anywhere);
 * AG_ERR_TOO_LARGE (value over AG_AUTHORIZATION_MAX_LEN or token over
 * AG_TOKEN_MAX_LEN).
 * Allocation: none. Thread safety: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_http_parse_bearer(const uint8_t *value, size_t len, ag_span *token);

/**
 * Finds the single Authorization field among headers and parses it.
 * Returns: as ag_http_parse_bearer(), plus AG_ERR_NO_CREDENTIALS when there
 * is none and AG_ERR_AMBIGUOUS when there are two or more (H-02).
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_http_find_bearer(const ag_header *headers, size_t n, ag_span *token);

/**
 * Parses one Idempotency-Key field value: the key a client sends with a
 * refresh so that its retry is recognised (ag_session_refresh_retryable()).
 * The field is a Structured Field String (RFC 8941 §3.3.3): OWS trimmed,
 * then a quoted string of 1..AG_IDEMPOTENCY_KEY_MAX_LEN characters from
 * 0x20..0x7e. Escapes (a backslash) are refused: a key needs no quote.
 *
 * @param[in]  value  the field value bytes
 * @param[out] key    view into value: the characters between the quotes
 * Returns: AG_OK; AG_ERR_REQUEST (not a quoted string, empty, a backslash
 * or a byte outside 0x20..0x7e); AG_ERR_TOO_LARGE (over
 * AG_IDEMPOTENCY_KEY_MAX_LEN characters).
 * Allocation: none. Thread safety: safe.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_http_parse_idempotency_key(const uint8_t *value, size_t len,
                                                         ag_span *key);

/**
 * Finds the single Idempotency-Key field among headers and parses it.
 * Returns: as ag_http_parse_idempotency_key(), plus AG_ERR_NOT_FOUND when
 * there is none and AG_ERR_AMBIGUOUS when there are two or more.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_http_find_idempotency_key(const ag_header *headers, size_t n,
                                                        ag_span *key);

/**
 * Finds a cookie by exact, case-sensitive name across every Cookie field
 * (logically joined with "; ", RFC 9113 §8.2.3, H-08). Each field must be a
 * strict RFC 6265 §4.2.1 cookie-string: pairs separated by exactly "; ",
 * names are tokens, values are cookie-octets, optionally in one pair of
 * DQUOTEs; no tabs, no nameless pairs. Leading/trailing OWS of a field is
 * trimmed; an empty field is skipped.
 *
 * @param[in]  headers  the request's header list
 * @param[in]  name     cookie name bytes
 * @param[out] value    view of the value (without quotes; but see Returns)
 * Returns: AG_OK; AG_ERR_NOT_FOUND; AG_ERR_AMBIGUOUS (the name occurs twice,
 * in one field or across fields, H-07); AG_ERR_REQUEST (any field violates
 * the grammar, or the wanted value is quoted — quotes are refused for
 * credentials); AG_ERR_TOO_LARGE (a pair's name+value over
 * AG_COOKIE_MAX_LEN).
 * Allocation: none. Thread safety: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_http_find_cookie(const ag_header *headers, size_t n,
                                               const uint8_t *name, size_t name_len,
                                               ag_span *value);

/**
 * Parses one cookie-string (one Cookie field value) and looks for name in
 * it; *count is increased by the number of occurrences and *value set to
 * the last one. Same grammar and errors as ag_http_find_cookie(), except
 * that absence is AG_OK with *count unchanged (the fuzz and unit entry
 * point).
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_http_parse_cookie(const uint8_t *field, size_t len,
                                                const uint8_t *name, size_t name_len,
                                                ag_span *value, size_t *count);

/* ------------------------------------------------------------------ */
/* CSRF tokens bound to a session (C-02)                               */
/* ------------------------------------------------------------------ */

/**
 * Makes a CSRF token bound to a session id:
 * base64url(r ‖ HMAC-SHA256(secret, "authgate-csrf" ‖ len(sid) ‖ sid ‖ r)[0..16])
 * with r 16 fresh random bytes. Put it in the __Host-csrf cookie (not
 * HttpOnly) and in the login/refresh response body.
 *
 * @param[in]  secret  server secret, ≥ AG_CSRF_SECRET_MIN bytes from a CSPRNG
 * @param[in]  sid     the session (family) id bytes, 1..256 bytes
 * @param[out] out     AG_CSRF_TOKEN_LEN characters and a NUL
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT; AG_ERR_CRYPTO.
 * Thread safety: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_csrf_token_make(const uint8_t *secret, size_t secret_len,
                                              const uint8_t *sid, size_t sid_len,
                                              char out[AG_CSRF_TOKEN_LEN + 1]);

/**
 * Checks that token was made by ag_csrf_token_make() with this secret for
 * this sid. The MAC is compared in constant time on raw bytes.
 *
 * Returns: AG_OK; AG_ERR_CSRF (malformed, wrong length, other session or
 * secret); AG_ERR_INVALID_ARGUMENT (bad secret or sid); AG_ERR_CRYPTO.
 * Thread safety: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_csrf_token_check(const uint8_t *secret, size_t secret_len,
                                               const uint8_t *sid, size_t sid_len,
                                               const uint8_t *token, size_t token_len);

/* ------------------------------------------------------------------ */
/* Set-Cookie (H-09)                                                   */
/* ------------------------------------------------------------------ */

/** SameSite attribute. The zero value is Strict. */
typedef enum ag_samesite {
    AG_SAMESITE_STRICT = 0,
    AG_SAMESITE_LAX = 1,
    AG_SAMESITE_NONE = 2
} ag_samesite;

/**
 * A cookie to set. Start from AG_INIT, then set name, value and expires_at:
 * the zero defaults are the safe ones (Secure; HttpOnly; SameSite=Strict;
 * Path=/; no Domain).
 */
typedef struct ag_cookie_spec {
    size_t size;           /**< sizeof(ag_cookie_spec): set by AG_INIT (error.h) */
    const char *name;      /**< RFC 6265 token, e.g. "__Host-refresh"; required */
    ag_span value;         /**< cookie-octets only, name+value ≤ AG_COOKIE_MAX_LEN */
    int64_t expires_at;    /**< the token's exp (epoch seconds); Max-Age = expires_at - now */
    int64_t now;           /**< epoch seconds; 0 → the system clock */
    bool script_readable;  /**< omit HttpOnly (the CSRF cookie) */
    bool insecure;         /**< omit Secure; refused for __Host-/__Secure- names */
    ag_samesite same_site; /**< default Strict; None requires Secure */
    const char *path;      /**< NULL → "/"; must be "/" for __Host- */
    const char *domain;    /**< NULL → host-only; refused for __Host- */
} ag_cookie_spec;

/**
 * Builds a Set-Cookie field value:
 * "name=value; Max-Age=N; Path=/; Secure; HttpOnly; SameSite=Strict".
 *
 * @param[in]  spec  the cookie; not NULL
 * @param[out] buf   receives the value and a NUL
 * @param[in]  cap   size of buf in bytes (AG_COOKIE_MAX_LEN + 256 always suffices)
 * @param[out] len   characters written, excluding the NUL; may be NULL
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (bad name, value byte outside
 * cookie-octet, a prefix invariant broken, SameSite=None without Secure,
 * expires_at not after now, bad path or domain); AG_ERR_TOO_LARGE;
 * AG_ERR_BUFFER (nothing usable written).
 * Allocation: none. Thread safety: safe.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_set_cookie_build(const ag_cookie_spec *spec, char *buf, size_t cap,
                                               size_t *len);

/**
 * Builds the clearing variant: empty value, Max-Age=0, the same attributes
 * (a cookie is only replaced when name, path and domain match). spec's
 * value, expires_at and now are ignored.
 * Returns: as ag_set_cookie_build().
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_set_cookie_clear(const ag_cookie_spec *spec, char *buf, size_t cap,
                                               size_t *len);

/* ------------------------------------------------------------------ */
/* Errors on the wire (RFC 6750 §3, docs/security.md §5)                    */
/* ------------------------------------------------------------------ */

/** Which kind of endpoint answers: the mapping differs (docs/security.md §5). */
typedef enum ag_http_endpoint {
    AG_ENDPOINT_RESOURCE = 0, /**< a protected resource (access token, RFC 6750) */
    AG_ENDPOINT_REFRESH = 1   /**< /auth/refresh, /auth/logout…: invalid_grant on 401 */
} ag_http_endpoint;

/** The HTTP answer for an ag_err. Every string is static. */
typedef struct ag_http_error {
    unsigned status;         /**< 200, 400, 401, 403, 500 or 503 */
    const char *error;       /**< OAuth error code, or NULL (success; no credentials
                                  at a resource) */
    const char *description; /**< safe fixed text, never token bytes (V-18); "" on success */
    bool www_authenticate;   /**< send WWW-Authenticate (401 at a resource) */
} ag_http_error;

/**
 * The one mapping from every ag_err to status, OAuth error code and a safe
 * description. Token failures are coarse on the wire (V-18): the enum keeps
 * the reason for logs. Refresh endpoints answer 401 invalid_grant where
 * RFC 6749 §5.2 says 400 (docs/http.md). Unknown values map to 500.
 * @since 0.1
 */
AG_API ag_http_error ag_http_error_for(ag_err err, ag_http_endpoint endpoint);

/**
 * Builds a WWW-Authenticate value: Bearer realm="…"[, error="…"[,
 * error_description="…"]] with quoted-string escaping of '"' and '\'.
 *
 * @param[in]  realm        NUL-terminated, required
 * @param[in]  error        OAuth error code (RFC 6750 charset) or NULL for none
 *                          (no credentials were sent, H-05)
 * @param[in]  description  NUL-terminated or NULL; ignored without error
 * @param[out] buf, cap, len  as ag_set_cookie_build()
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (a control byte or non-ASCII in a
 * string, a bad error code); AG_ERR_BUFFER.
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_www_authenticate_build(const char *realm, const char *error,
                                                     const char *description, char *buf, size_t cap,
                                                     size_t *len);

/**
 * The WWW-Authenticate value for an error at a resource, from
 * ag_http_error_for(err, AG_ENDPOINT_RESOURCE).
 * Returns: as ag_www_authenticate_build().
 * @since 0.1
 */
AG_API AG_NODISCARD ag_err ag_www_authenticate_for(const char *realm, ag_err err, char *buf,
                                                   size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_HTTP_H */

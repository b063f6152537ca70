/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — the reference server (docs/demo.md).
 *
 * This is the code users copy, so it is split by concern and every
 * security decision carries a comment:
 *
 *   main.c      startup, signals, orderly shutdown
 *   options.c   command-line flags
 *   keys.c      signing keys and the server secret in --key-dir
 *   users.c     the user table: salted PBKDF2 hashes, constant-time checks
 *   sessions.c  issuers, verifiers and the session manager over the store
 *   server.c    libmicrohttpd: limits, body cap, routing, responses
 *   handlers.c  one small function per endpoint
 *   throttle.c  login throttling: token buckets per address and user name
 *   page.c      the self-contained HTML page served at GET /
 *   api_sessions.c  the session list, revoke and the replay lesson the page uses
 *
 * Only the public headers of authgate are used.
 */
#ifndef AUTHGATE_DEMO_H
#define AUTHGATE_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <authgate/error.h>
#include <authgate/events.h>
#include <authgate/http.h>
#include <authgate/session.h>
#include <authgate/store.h>
#include <authgate/token.h>

/* ---- options (options.c) ------------------------------------------ */

#define DEMO_MAX_USERS 32

typedef struct demo_user_arg {
    const char *name; /* points into argv */
    size_t name_len;
    const char *password;
} demo_user_arg;

typedef struct demo_options {
    const char *listen; /* "HOST:PORT" */
    ag_alg alg;
    const char *store; /* "memory", "sqlite:PATH", "postgres:CONNINFO" */
    const char *key_dir;
    demo_user_arg users[DEMO_MAX_USERS];
    size_t nusers; /* 0: the default demo/demo user */
    const char *issuer;
    const char *audience;
    int64_t access_ttl;  /* seconds */
    int64_t refresh_ttl; /* seconds */
    int64_t leeway;      /* seconds */
    unsigned threads;
    size_t verify_cache;          /* verified-token cache entries for access tokens; 0: off */
    int64_t reuse_interval;       /* seconds a lost refresh answer may be retried; 0: off */
    uint32_t max_replays;         /* retries allowed per rotation inside it */
    size_t max_sessions;          /* live sessions per user */
    int64_t revocation_staleness; /* 0: keep serving when the shared log is unreadable */
    int64_t rotate_every;         /* seconds between signing-key rotations; 0: SIGHUP only */
    /* the door (docs/demo.md, "Access log" and "Login throttling") */
    const char *access_log;    /* NULL: off; "-": stderr; else a file, appended to */
    const char *event_log;     /* the library's events, same values (eventlog.c) */
    uint32_t login_ip_burst;   /* failed logins a client address may burst; 0: off */
    int64_t login_ip_refill;   /* seconds per token given back */
    uint32_t login_user_burst; /* the same per user name */
    int64_t login_user_refill;
    size_t login_table; /* throttle entries, fixed at start */
} demo_options;

/* Parses argv. Returns 0 to run, 1 after --help (exit 0), -1 on a usage
 * error (message already printed to stderr; exit 2). */
int demo_options_parse(int argc, char **argv, demo_options *out);

/* ---- keys (keys.c) ------------------------------------------------- */

#define DEMO_SECRET_LEN 32

typedef struct demo_keys {
    ag_key *access;                  /* signs access tokens */
    ag_key *refresh;                 /* signs refresh tokens (its own key, I-01) */
    uint8_t secret[DEMO_SECRET_LEN]; /* CSRF binding (C-02) */
} demo_keys;

/* Loads the keys from dir, creating them on first start. Prints a clear
 * message to stderr and returns false when a key is weak, unreadable,
 * too open or does not match alg. */
bool demo_keys_load(const char *dir, ag_alg alg, demo_keys *out);
void demo_keys_free(demo_keys *k);

/* Key rotation. Rotated keys live next to access.jwk and refresh.jwk as
 * access.T.jwk and refresh.T.jwk, T the Unix time they started signing.
 * demo_keys_rings builds the two rings, oldest first, so the issuers sign
 * with the newest key (ag_keyring_newest_signer): access.jwk/refresh.jwk
 * (T = 0), then each rotated key by T. A key is left out once the key after
 * it started signing more than keep_* seconds ago (every token it signed
 * has expired). demo_keys_rotate writes a new pair under new kids. */
bool demo_keys_rings(const char *dir, ag_alg alg, int64_t now, int64_t keep_access,
                     int64_t keep_refresh, ag_keyring **access, ag_keyring **refresh);
bool demo_keys_rotate(const char *dir, ag_alg alg, int64_t now);

/* ---- users (users.c) ----------------------------------------------- */

typedef struct demo_users demo_users;

/* Hashes every password (PBKDF2-HMAC-SHA256, fresh salt per user). */
bool demo_users_new(const demo_user_arg *args, size_t n, demo_users **out);
/* True when name/password match a user. Takes about the same time for an
 * unknown name as for a wrong password. */
bool demo_users_check(const demo_users *u, const char *name, size_t name_len, const char *password,
                      size_t password_len);
void demo_users_free(demo_users *u);

/* ---- login throttling (throttle.c) ----------------------------------- */

struct sockaddr;
typedef struct demo_throttle demo_throttle;

typedef struct demo_throttle_config {
    uint32_t ip_burst; /* 0: no per-address bucket */
    uint32_t ip_refill_ms;
    uint32_t user_burst; /* 0: no per-name bucket */
    uint32_t user_refill_ms;
    size_t entries; /* table size, both kinds together */
} demo_throttle_config;

bool demo_throttle_new(const demo_throttle_config *cfg, demo_throttle **out);
void demo_throttle_free(demo_throttle *t);

/* ---- the event log (eventlog.c) ----------------------------------------- */

/* Installs the library's event sink writing one line per event to out
 * (kept open by the caller until demo_eventlog_stop). */
bool demo_eventlog_start(FILE *out);
void demo_eventlog_stop(void);
/* One login attempt: takes a token from the client's and the name's
 * bucket and returns 0, or takes nothing and returns the seconds (≥ 1)
 * until both have one again. Call before any password work. */
int64_t demo_throttle_take(demo_throttle *t, const struct sockaddr *client, const char *user,
                           size_t user_len);
/* Gives back what demo_throttle_take took: the password was right. */
void demo_throttle_give(demo_throttle *t, const struct sockaddr *client, const char *user,
                        size_t user_len);

/* ---- sessions (sessions.c) ----------------------------------------- */

typedef struct demo_sessions demo_sessions;

typedef struct demo_sessions_config {
    const char *key_dir; /* demo_keys_rings */
    ag_alg alg;
    ag_store *store; /* borrowed; must outlive the sessions; closed by the caller */
    const char *issuer;
    const char *audience; /* of access tokens */
    int64_t access_ttl;
    int64_t refresh_ttl;
    int64_t leeway;
    size_t verify_cache; /* access verifier's cache_entries (0: none) */
    int64_t reuse_interval;
    uint32_t max_replays;
    size_t max_sessions;
    int64_t revocation_staleness;
    const uint8_t *secret; /* the server secret (DEMO_SECRET_LEN bytes) */
} demo_sessions_config;

bool demo_sessions_new(const demo_sessions_config *cfg, demo_sessions **out);
void demo_sessions_free(demo_sessions *s);

/* The session manager: issue, refresh, logout (lib/session). */
const ag_session *demo_sessions_session(const demo_sessions *s);
const ag_verifier *demo_sessions_access_verifier(const demo_sessions *s);
const ag_verifier *demo_sessions_refresh_verifier(const demo_sessions *s);
/* The public JWKS of the access-token keys (current and still-valid
 * previous ones): a copy, NUL-terminated; free with free(). */
char *demo_sessions_jwks(demo_sessions *s);
/* Re-reads the key directory and hands the new rings to the running
 * issuers and verifiers (no restart, no request waits). */
bool demo_sessions_reload(demo_sessions *s, int64_t now);

/* ---- the HTML page (page.c) ---------------------------------------- */

/* Builds the page (*html: free with free()) and its Content-Security-
 * Policy, which allows the inline script and style by their SHA-256
 * hashes and nothing else. */
bool demo_page_build(char **html, char *csp, size_t cap);

/* ---- server (server.c, handlers.c) --------------------------------- */

typedef struct demo_app {
    const demo_options *opt;
    demo_sessions *sessions;
    demo_users *users;
    const demo_keys *keys;
    ag_http_policy *policy;
    char *page;              /* the HTML served at GET / */
    char csp[512];           /* its Content-Security-Policy */
    demo_throttle *throttle; /* login throttling; NULL: off */
    FILE *access_log;        /* one line per request; NULL: off */
} demo_app;

#endif /* AUTHGATE_DEMO_H */

/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — command-line flags (docs/demo.md):
 *
 *   authgate-demo [--listen 127.0.0.1:8080] [--alg ES256|EdDSA|HS256|RS256|PS256|ES384]
 *                 [--store memory | sqlite:PATH | postgres:CONNINFO]
 *                 [--key-dir DIR] [--user NAME:PASSWORD]... [--issuer URL]
 *                 [--audience AUD] [--access-ttl SECONDS] [--refresh-ttl SECONDS]
 *                 [--threads N] [--leeway SECONDS] [--verify-cache ENTRIES]
 *                 [--reuse-interval SECONDS] [--max-replays N] [--max-sessions N]
 *                 [--revocation-staleness SECONDS]
 *                 [--rotate-every SECONDS]
 *                 [--access-log off|-|FILE] [--event-log off|-|FILE]
 *                 [--login-ip-burst N] [--login-ip-refill SECONDS]
 *                 [--login-user-burst N] [--login-user-refill SECONDS]
 *                 [--login-table ENTRIES]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

static const char usage[] =
    "usage: authgate-demo [--listen HOST:PORT] [--alg ES256|EdDSA|HS256|RS256|PS256|ES384]\n"
    "                     [--store memory|sqlite:PATH|postgres:CONNINFO] [--key-dir DIR]\n"
    "                     [--user NAME:PASSWORD]... [--issuer ISS] [--audience AUD]\n"
    "                     [--access-ttl SECONDS] [--refresh-ttl SECONDS] [--threads N]\n"
    "                     [--leeway SECONDS] [--verify-cache ENTRIES] [--rotate-every SECONDS]\n"
    "                     [--reuse-interval SECONDS] [--max-replays N] [--max-sessions N]\n"
    "                     [--revocation-staleness SECONDS] [--access-log off|-|FILE]\n"
    "                     [--event-log off|-|FILE]\n"
    "                     [--login-ip-burst N] [--login-ip-refill SECONDS]\n"
    "                     [--login-user-burst N] [--login-user-refill SECONDS]\n"
    "                     [--login-table ENTRIES]\n"
    "defaults: --listen 127.0.0.1:8080 --alg ES256 --store sqlite:./authgate-demo.db\n"
    "          (memory when built without SQLite) --key-dir ./authgate-demo-keys\n"
    "          --issuer authgate-demo --audience authgate-demo --access-ttl 900\n"
    "          --refresh-ttl 1209600 --threads 4 --leeway 30 --verify-cache 0 (off)\n"
    "          --reuse-interval 5 (a refresh whose answer was lost may be retried with\n"
    "          the same Idempotency-Key; 0: off)\n"
    "          --max-replays 1 --max-sessions 32 --revocation-staleness 0 (keep serving)\n"
    "          --rotate-every 0 (signing keys rotate on SIGHUP only) --access-log off\n"
    "          --event-log off\n"
    "          --login-ip-burst 20 --login-ip-refill 6 --login-user-burst 5\n"
    "          --login-user-refill 30 --login-table 4096;\n"
    "          user demo/demo\n";

/* Algorithms the demo offers (docs/demo.md). */
static const char *const demo_algs[] = {"ES256", "EdDSA", "HS256", "RS256", "PS256", "ES384"};

static bool parse_seconds(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;
    if (s[0] < '0' || s[0] > '9')
        return false; /* no sign, no blanks */
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool parse_alg(const char *s, ag_alg *out)
{
    for (size_t i = 0; i < sizeof(demo_algs) / sizeof(demo_algs[0]); i++) {
        if (strcmp(s, demo_algs[i]) == 0)
            return ag_alg_from_name(s, strlen(s), out) == AG_OK;
    }
    return false;
}

/* NAME:PASSWORD, split at the first colon; the name becomes the token's
 * sub, so it must be printable ASCII without spaces. */
static bool parse_user(const char *s, demo_user_arg *out)
{
    const char *colon = strchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0')
        return false;
    if ((size_t)(colon - s) > AG_SUBJECT_MAX_LEN)
        return false;
    for (const char *p = s; p < colon; p++) {
        if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\')
            return false;
    }
    out->name = s;
    out->name_len = (size_t)(colon - s);
    out->password = colon + 1;
    return true;
}

static int fail(const char *flag, const char *why)
{
    fprintf(stderr, "authgate-demo: %s: %s\n%s", flag, why, usage);
    return -1;
}

int demo_options_parse(int argc, char **argv, demo_options *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = "127.0.0.1:8080";
    o->alg = AG_ALG_ES256;
    o->store = ag_store_sqlite_available() ? "sqlite:./authgate-demo.db" : "memory";
    o->key_dir = "./authgate-demo-keys";
    o->issuer = "authgate-demo";
    o->audience = "authgate-demo";
    o->access_ttl = 900;
    o->refresh_ttl = 14 * 24 * 3600;
    o->leeway = AG_LEEWAY_DEFAULT;
    o->threads = 4;
    /* A lost answer is not an attack: a refresh retried with the same
     * Idempotency-Key within 5 s gets the same successor, once. Replays
     * need the key (sessions.c), so without one, exactly one of concurrent
     * refreshes of a token succeeds and any replay is reuse, as the
     * contract says (docs/sessions.md explains the trade-off). */
    o->reuse_interval = 5;
    o->max_replays = 1;
    o->max_sessions = AG_SESSION_MAX_SESSIONS_DEFAULT;
    /* Failed logins: 20 per address, then one every 6 s (10 a minute);
     * 5 per user name, then one every 30 s. Each costs a PBKDF2 run. */
    o->login_ip_burst = 20;
    o->login_ip_refill = 6;
    o->login_user_burst = 5;
    o->login_user_refill = 30;
    o->login_table = 4096;

    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        const char *val;
        int64_t n;
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
        if (strncmp(flag, "--", 2) != 0)
            return fail(flag, "unexpected argument");
        if (i + 1 >= argc)
            return fail(flag, "needs a value");
        val = argv[++i];
        if (strcmp(flag, "--listen") == 0) {
            o->listen = val;
        } else if (strcmp(flag, "--alg") == 0) {
            if (!parse_alg(val, &o->alg))
                return fail(flag, "one of ES256, EdDSA, HS256, RS256, PS256, ES384");
        } else if (strcmp(flag, "--store") == 0) {
            if (strcmp(val, "memory") != 0 && strncmp(val, "sqlite:", 7) != 0 &&
                strncmp(val, "postgres:", 9) != 0)
                return fail(flag, "memory, sqlite:PATH or postgres:CONNINFO");
            if (strncmp(val, "sqlite:", 7) == 0 && val[7] == '\0')
                return fail(flag, "sqlite: needs a PATH");
            o->store = val;
        } else if (strcmp(flag, "--key-dir") == 0) {
            if (val[0] == '\0')
                return fail(flag, "needs a directory");
            o->key_dir = val;
        } else if (strcmp(flag, "--user") == 0) {
            if (o->nusers == DEMO_MAX_USERS)
                return fail(flag, "too many users");
            if (!parse_user(val, &o->users[o->nusers]))
                return fail(flag, "NAME:PASSWORD, NAME printable ASCII without spaces, "
                                  "PASSWORD not empty");
            for (size_t u = 0; u < o->nusers; u++) {
                if (o->users[u].name_len == o->users[o->nusers].name_len &&
                    memcmp(o->users[u].name, val, o->users[u].name_len) == 0)
                    return fail(flag, "user given twice");
            }
            o->nusers++;
        } else if (strcmp(flag, "--issuer") == 0) {
            if (val[0] == '\0')
                return fail(flag, "must not be empty");
            o->issuer = val;
        } else if (strcmp(flag, "--audience") == 0) {
            if (val[0] == '\0')
                return fail(flag, "must not be empty");
            o->audience = val;
        } else if (strcmp(flag, "--access-ttl") == 0) {
            if (!parse_seconds(val, 1, 86400, &n))
                return fail(flag, "seconds, 1..86400");
            o->access_ttl = n;
        } else if (strcmp(flag, "--refresh-ttl") == 0) {
            if (!parse_seconds(val, 1, 90 * 86400, &n))
                return fail(flag, "seconds, 1..7776000 (90 days)");
            o->refresh_ttl = n;
        } else if (strcmp(flag, "--leeway") == 0) {
            if (!parse_seconds(val, 0, AG_LEEWAY_MAX, &n))
                return fail(flag, "seconds, 0..300");
            o->leeway = n;
        } else if (strcmp(flag, "--verify-cache") == 0) {
            /* access tokens only: a repeated token skips its signature
             * check, not its claims (docs/tokens.md) */
            if (!parse_seconds(val, 0, 65536, &n)) /* about 2.1 KiB each */
                return fail(flag, "entries, 0..65536 (0: off)");
            o->verify_cache = (size_t)n;
        } else if (strcmp(flag, "--reuse-interval") == 0) {
            if (!parse_seconds(val, 0, AG_SESSION_REUSE_INTERVAL_MAX, &n))
                return fail(flag, "seconds, 0..300 (0: off)");
            o->reuse_interval = n;
        } else if (strcmp(flag, "--max-replays") == 0) {
            if (!parse_seconds(val, 1, AG_SESSION_MAX_REPLAYS_MAX, &n))
                return fail(flag, "1..16");
            o->max_replays = (uint32_t)n;
        } else if (strcmp(flag, "--max-sessions") == 0) {
            if (!parse_seconds(val, 1, 100000, &n))
                return fail(flag, "1..100000");
            o->max_sessions = (size_t)n;
        } else if (strcmp(flag, "--revocation-staleness") == 0) {
            if (!parse_seconds(val, 0, 86400, &n))
                return fail(flag, "seconds, 0..86400 (0: keep serving)");
            o->revocation_staleness = n;
        } else if (strcmp(flag, "--rotate-every") == 0) {
            /* new access and refresh keys every SECONDS (and on SIGHUP) */
            if (!parse_seconds(val, 0, 366 * 86400, &n) || (n > 0 && n < 10))
                return fail(flag, "seconds, 10..31622400 (0: on SIGHUP only)");
            o->rotate_every = n;
        } else if (strcmp(flag, "--access-log") == 0) {
            /* "-" is stderr; off is the default so that a caller that
             * pipes stderr without reading it never blocks the server */
            if (val[0] == '\0')
                return fail(flag, "off, - (stderr) or a file");
            o->access_log = strcmp(val, "off") == 0 ? NULL : val;
        } else if (strcmp(flag, "--event-log") == 0) {
            if (val[0] == '\0')
                return fail(flag, "off, - (stderr) or a file");
            o->event_log = strcmp(val, "off") == 0 ? NULL : val;
        } else if (strcmp(flag, "--login-ip-burst") == 0 ||
                   strcmp(flag, "--login-user-burst") == 0) {
            if (!parse_seconds(val, 0, 100000, &n))
                return fail(flag, "attempts, 0..100000 (0: off)");
            if (flag[8] == 'i')
                o->login_ip_burst = (uint32_t)n;
            else
                o->login_user_burst = (uint32_t)n;
        } else if (strcmp(flag, "--login-ip-refill") == 0 ||
                   strcmp(flag, "--login-user-refill") == 0) {
            if (!parse_seconds(val, 1, 86400, &n))
                return fail(flag, "seconds per attempt given back, 1..86400");
            if (flag[8] == 'i')
                o->login_ip_refill = n;
            else
                o->login_user_refill = n;
        } else if (strcmp(flag, "--login-table") == 0) {
            if (!parse_seconds(val, 64, 1 << 20, &n))
                return fail(flag, "entries, 64..1048576 (about 32 bytes each)");
            o->login_table = (size_t)n;
        } else if (strcmp(flag, "--threads") == 0) {
            if (!parse_seconds(val, 1, 256, &n))
                return fail(flag, "1..256");
            o->threads = (unsigned)n;
        } else {
            return fail(flag, "unknown option");
        }
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — startup, signals and orderly shutdown.
 *
 * Startup order: flags → access log → store → keys → users → login
 * throttle → token issuers/verifiers → credential policy → page → daemon. Anything doubtful stops
 * the start with one clear line on stderr (exit 1; usage errors exit 2). SIGINT/SIGTERM stop the
 * daemon (in-flight requests finish), then the store is closed and the process exits 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

/* How often expired store rows are purged, in seconds. */
#define DEMO_PURGE_INTERVAL 60

static ag_store *open_store(const char *spec)
{
    ag_store *st = NULL;
    ag_err e;
    if (strcmp(spec, "memory") == 0) {
        e = ag_store_memory_new(NULL, &st);
    } else if (strncmp(spec, "sqlite:", 7) == 0) {
        ag_store_sqlite_config cfg;
        if (!ag_store_sqlite_available()) {
            fprintf(stderr, "authgate-demo: --store %s: not built with SQLite support\n", spec);
            return NULL;
        }
        memset(&cfg, 0, sizeof(cfg));
        cfg.size = sizeof cfg;
        cfg.path = spec + 7;
        e = ag_store_sqlite_open(&cfg, &st);
    } else if (strncmp(spec, "postgres:", 9) == 0) {
        ag_store_pg_config cfg;
        if (!ag_store_pg_available()) {
            fprintf(stderr,
                    "authgate-demo: --store postgres:…: not built with PostgreSQL support\n");
            return NULL;
        }
        memset(&cfg, 0, sizeof(cfg));
        cfg.size = sizeof cfg;
        cfg.conninfo = spec + 9;
        e = ag_store_pg_open(&cfg, &st);
        /* the conninfo may hold a password: never echo it */
        if (e != AG_OK) {
            fprintf(stderr, "authgate-demo: cannot open store postgres:…: %s\n", ag_strerror(e));
            return NULL;
        }
    } else {
        fprintf(stderr,
                "authgate-demo: --store %.9s…: unknown store (memory, sqlite:PATH, "
                "postgres:CONNINFO)\n",
                spec);
        return NULL;
    }
    if (e != AG_OK) {
        fprintf(stderr, "authgate-demo: cannot open store %s: %s\n", spec, ag_strerror(e));
        return NULL;
    }
    return st;
}

static void print_banner(const demo_options *o)
{
    /* a PostgreSQL conninfo may hold a password: never print it */
    const char *store = strncmp(o->store, "postgres:", 9) == 0 ? "postgres:…" : o->store;
    printf("authgate-demo %s: %s keys in %s, store %s\n", AG_VERSION_STRING, ag_alg_name(o->alg),
           o->key_dir, store);
    if (o->reuse_interval > 0)
        printf("refresh: a refresh whose answer was lost may be retried with the same "
               "Idempotency-Key within %lld s (%u time%s) and gets the same successor; any "
               "other replay of a used token is reuse (--reuse-interval 0: no retries)\n",
               (long long)o->reuse_interval, o->max_replays, o->max_replays == 1 ? "" : "s");
    else
        printf("refresh: no retry window, any replay of a used token is reuse "
               "(--reuse-interval 5 lets a client retry a lost answer)\n");
    if (o->nusers == 0) {
        printf("user: demo / demo (default; --user NAME:PASSWORD replaces it)\n");
    } else {
        printf("users:");
        for (size_t i = 0; i < o->nusers; i++)
            printf(" %.*s", (int)o->users[i].name_len, o->users[i].name);
        printf("\n");
    }
}

/* Waits for SIGINT or SIGTERM, purging expired rows now and then, and
 * rotating the signing keys on SIGHUP and every --rotate-every seconds. */
static void wait_for_signal(ag_store *store, const demo_options *o, demo_sessions *sessions)
{
    sigset_t set;
    int64_t next_purge = (int64_t)time(NULL) + DEMO_PURGE_INTERVAL;
    int64_t next_rotate = o->rotate_every > 0 ? (int64_t)time(NULL) + o->rotate_every : 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int64_t now = (int64_t)time(NULL);
        int64_t wake = next_rotate > 0 && next_rotate < next_purge ? next_rotate : next_purge;
        struct timespec tick = {(time_t)(wake > now ? wake - now : 0), 0};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM)
            return;
        now = (int64_t)time(NULL);
        if (sig == SIGHUP || (next_rotate > 0 && now >= next_rotate)) {
            /* new kids in the key directory, then every issuer and
             * verifier takes its new ring while requests keep running */
            if (demo_keys_rotate(o->key_dir, o->alg, now))
                (void)demo_sessions_reload(sessions, now);
            if (o->rotate_every > 0)
                next_rotate = now + o->rotate_every;
        }
        if (now >= next_purge) {
            /* Used rows are kept until their own exp so late reuse is still
             * recognised; the leeway keeps them a little longer. */
            ag_err e = ag_store_purge_expired(store, now - o->leeway, NULL);
            if (e != AG_OK)
                fprintf(stderr, "authgate-demo: purge failed: %s\n", ag_strerror(e));
            next_purge = now + DEMO_PURGE_INTERVAL;
        }
    }
}

int main(int argc, char **argv)
{
    static const demo_user_arg default_user = {"demo", 4, "demo"};
    demo_options opt;
    demo_keys keys;
    demo_app app;
    demo_sessions_config sc;
    ag_http_policy_config pc;
    ag_store *store = NULL;
    FILE *event_log = NULL; /* --event-log */
    struct MHD_Daemon *daemon = NULL;
    sigset_t set;
    int rc = 1;
    int parsed = demo_options_parse(argc, argv, &opt);

    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    memset(&app, 0, sizeof(app));
    memset(&keys, 0, sizeof(keys));
    app.opt = &opt;
    app.keys = &keys;

    /* Block the stop signals before any thread starts, so that only
     * sigtimedwait() in this thread ever sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP); /* key rotation */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (opt.access_log != NULL) {
        app.access_log = strcmp(opt.access_log, "-") == 0 ? stderr : fopen(opt.access_log, "a");
        if (app.access_log == NULL) {
            fprintf(stderr, "authgate-demo: --access-log %s: cannot open for appending\n",
                    opt.access_log);
            goto out;
        }
    }
    if (opt.event_log != NULL) {
        event_log = strcmp(opt.event_log, "-") == 0 ? stderr : fopen(opt.event_log, "a");
        if (!demo_eventlog_start(event_log)) {
            fprintf(stderr, "authgate-demo: --event-log %s: cannot open for appending\n",
                    opt.event_log);
            goto out;
        }
    }
    store = open_store(opt.store);
    if (store == NULL || !demo_keys_load(opt.key_dir, opt.alg, &keys))
        goto out;
    if (opt.login_ip_burst > 0 || opt.login_user_burst > 0) {
        demo_throttle_config tc = {opt.login_ip_burst, (uint32_t)(opt.login_ip_refill * 1000),
                                   opt.login_user_burst, (uint32_t)(opt.login_user_refill * 1000),
                                   opt.login_table};
        if (!demo_throttle_new(&tc, &app.throttle)) {
            fprintf(stderr, "authgate-demo: cannot allocate the login throttle\n");
            goto out;
        }
    }
    if (!demo_users_new(opt.nusers ? opt.users : &default_user, opt.nusers ? opt.nusers : 1,
                        &app.users)) {
        fprintf(stderr, "authgate-demo: cannot hash the user passwords\n");
        goto out;
    }
    memset(&sc, 0, sizeof(sc));
    sc.key_dir = opt.key_dir;
    sc.alg = opt.alg;
    sc.store = store;
    sc.issuer = opt.issuer;
    sc.audience = opt.audience;
    sc.access_ttl = opt.access_ttl;
    sc.refresh_ttl = opt.refresh_ttl;
    sc.leeway = opt.leeway;
    sc.verify_cache = opt.verify_cache;
    sc.reuse_interval = opt.reuse_interval;
    sc.max_replays = opt.max_replays;
    sc.max_sessions = opt.max_sessions;
    sc.revocation_staleness = opt.revocation_staleness;
    sc.secret = keys.secret;
    if (!demo_sessions_new(&sc, &app.sessions))
        goto out;
    /* The default policy is the one the contract describes: access tokens
     * from Authorization only; refresh tokens from __Host-refresh (with
     * CSRF proof) or Authorization, never both. */
    memset(&pc, 0, sizeof(pc));
    pc.size = sizeof pc;
    if (ag_http_policy_new(&pc, &app.policy) != AG_OK ||
        !demo_page_build(&app.page, app.csp, sizeof(app.csp))) {
        fprintf(stderr, "authgate-demo: cannot set up the HTTP layer\n");
        goto out;
    }
    print_banner(&opt);
    daemon = demo_server_start(&app);
    if (daemon == NULL)
        goto out;

    wait_for_signal(store, &opt, app.sessions);
    printf("stopping\n");
    fflush(stdout);
    rc = 0;
out:
    /* Order matters: no request may run once the store is closed. */
    if (daemon != NULL)
        MHD_stop_daemon(daemon);
    demo_sessions_free(app.sessions);
    ag_store_close(store);
    ag_http_policy_free(app.policy);
    demo_users_free(app.users);
    demo_throttle_free(app.throttle);
    if (app.access_log != NULL && app.access_log != stderr)
        fclose(app.access_log);
    if (event_log != NULL) {
        demo_eventlog_stop(); /* every thread that could emit has stopped */
        if (event_log != stderr)
            fclose(event_log);
    }
    demo_keys_free(&keys);
    free(app.page);
    ag_thread_cleanup();
    return rc;
}

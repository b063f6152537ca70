/* SPDX-License-Identifier: MIT */
/*
 * Test driver for the remote JWKS (lib/token/jwks_remote.c), run by
 * test_jwks_remote.py: reads one command per line on stdin, answers one line
 * on stdout. The clock is injected, so refresh times, intervals and the
 * stale bound are tested without waiting for them.
 *
 *   new URL CAFILE LENIENT [BG]  ag_jwks_remote_new (min_refresh 10, max_refresh
 *                             1000, unknown-kid interval 60, max_stale 300;
 *                             BG 1: refetch_in_background)
 *   clock T                   the injected time
 *   verify TOKEN              err name and cause text
 *   refresh                   ag_jwks_remote_refresh: err name
 *   fetches                   fetches attempted so far
 *   wait_fetches N [S]        waits (up to S s, default 20) until N fetches, then as fetches
 *   errors                    on_error calls so far
 *   events PATH               writes every event (events.h) so far to PATH, one
 *                             line each; answers how many
 *   quit
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authgate/events.h"
#include "authgate/token.h"
#include "testsupport.h"

static atomic_int error_count;

static void on_error(void *ctx, ag_err err, const char *why)
{
    (void)ctx;
    atomic_fetch_add(&error_count, 1);
    fprintf(stderr, "driver: on_error %s: %s\n", ag_err_name(err), why);
}

/* Every event, from this thread and the refresher, as text. */
static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static char ev_rec[1 << 20];
static size_t ev_len;
static int ev_n;

static void on_event(void *ctx, const ag_event *ev)
{
    (void)ctx;
    pthread_mutex_lock(&ev_mu);
    int n = snprintf(ev_rec + ev_len, sizeof ev_rec - ev_len,
                     "%s %s cause=%s detail=%s sid=%.*s sub=%.*s\n", ag_event_type_name(ev->type),
                     ag_err_name(ev->err), ag_verify_cause_text(ev->cause), ev->detail,
                     (int)ev->sid.len, (const char *)ev->sid.ptr, (int)ev->subject.len,
                     (const char *)ev->subject.ptr);
    if (n > 0 && (size_t)n < sizeof ev_rec - ev_len) {
        ev_len += (size_t)n;
        ev_n++;
    }
    pthread_mutex_unlock(&ev_mu);
}

int main(void)
{
    static const ag_event_sink sink = {sizeof(ag_event_sink), on_event, NULL, 0};
    if (ag_events_set(&sink) != AG_OK)
        return 2;
    static char line[16384];
    static ag_claims claims = AG_INIT(ag_claims);
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    ag_jwks_remote *r = NULL;
    ag_verifier *v = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *cmd = strtok(line, " ");
        char *a1 = strtok(NULL, " "), *a2 = strtok(NULL, " "), *a3 = strtok(NULL, " ");
        char *a4 = strtok(NULL, " ");
        if (cmd == NULL)
            continue;
        if (strcmp(cmd, "new") == 0 && a1 && a2 && a3) {
            ag_jwks_remote_config rc = AG_INIT(ag_jwks_remote_config);
            rc.url = a1;
            rc.ca_file = strcmp(a2, "-") == 0 ? NULL : a2;
            rc.start_without_keys = strcmp(a3, "1") == 0;
            rc.refetch_in_background = a4 != NULL && strcmp(a4, "1") == 0;
            rc.min_refresh = 10;
            rc.max_refresh = 1000;
            rc.unknown_kid_interval = 60;
            rc.max_stale = 300;
            rc.max_size = 16384;
            rc.connect_timeout_ms = 2000;
            rc.timeout_ms = 4000;
            rc.on_error = on_error;
            rc.clock = ag_test_clock;
            ag_verifier_config vc = AG_INIT(ag_verifier_config);
            vc.kind = AG_TOKEN_ACCESS;
            vc.leeway = -1;
            vc.clock = ag_test_clock;
            ag_err e = ag_jwks_remote_new(&rc, &vc, &r, &v);
            printf("%s\n", ag_err_name(e));
        } else if (strcmp(cmd, "clock") == 0 && a1) {
            ag_test_clock_set(strtoll(a1, NULL, 10));
            printf("ok\n");
        } else if (strcmp(cmd, "verify") == 0 && a1 && v) {
            ag_verify_cause c = AG_CAUSE_NONE;
            ag_err e = ag_verify_why(v, (const uint8_t *)a1, strlen(a1), scratch, sizeof scratch,
                                     &claims, &c);
            printf("%s %s\n", ag_err_name(e), ag_verify_cause_text(c));
        } else if (strcmp(cmd, "refresh") == 0 && r) {
            printf("%s\n", ag_err_name(ag_jwks_remote_refresh(r)));
        } else if (strcmp(cmd, "fetches") == 0) {
            printf("%llu\n", (unsigned long long)ag_jwks_remote_fetches(r));
        } else if (strcmp(cmd, "wait_fetches") == 0 && a1) {
            uint64_t want = strtoull(a1, NULL, 10);
            int tenths = a2 != NULL ? (int)strtol(a2, NULL, 10) * 10 : 200;
            for (int i = 0; i < tenths && ag_jwks_remote_fetches(r) < want; i++)
                nanosleep(&(struct timespec){0, 100000000}, NULL);
            printf("%llu\n", (unsigned long long)ag_jwks_remote_fetches(r));
        } else if (strcmp(cmd, "errors") == 0) {
            printf("%d\n", atomic_load(&error_count));
        } else if (strcmp(cmd, "events") == 0 && a1) {
            FILE *f = fopen(a1, "w");
            pthread_mutex_lock(&ev_mu);
            int n = f != NULL && fwrite(ev_rec, 1, ev_len, f) == ev_len ? ev_n : -1;
            pthread_mutex_unlock(&ev_mu);
            if (f != NULL && fclose(f) != 0)
                n = -1;
            printf("%d\n", n);
        } else if (strcmp(cmd, "quit") == 0) {
            break;
        } else {
            printf("bad command\n");
        }
    }
    ag_jwks_remote_free(r);
    (void)ag_events_set(NULL);
    ag_thread_cleanup();
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Test driver for the remote JWKS (lib/token/jwks_remote.c), run by
 * test_jwks_remote.py: reads one command per line on stdin, answers one line
 * on stdout. The clock is injected, so refresh times, intervals and the
 * stale bound are tested without waiting for them.
 *
 *   new URL CAFILE LENIENT    ag_jwks_remote_new (min_refresh 10, max_refresh
 *                             1000, unknown-kid interval 60, max_stale 300)
 *   clock T                   the injected time
 *   verify TOKEN              err name and cause text
 *   refresh                   ag_jwks_remote_refresh: err name
 *   fetches                   fetches attempted so far
 *   wait_fetches N [S]        waits (up to S s, default 20) until N fetches, then as fetches
 *   errors                    on_error calls so far
 *   quit
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authgate/token.h"

static _Atomic int64_t now_value = 1700000000;
static atomic_int error_count;

static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return atomic_load(&now_value);
}

static void on_error(void *ctx, ag_err err, const char *why)
{
    (void)ctx;
    atomic_fetch_add(&error_count, 1);
    fprintf(stderr, "driver: on_error %s: %s\n", ag_err_name(err), why);
}

int main(void)
{
    static char line[16384];
    static ag_claims claims;
    ag_jwks_remote *r = NULL;
    ag_verifier *v = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *cmd = strtok(line, " ");
        char *a1 = strtok(NULL, " "), *a2 = strtok(NULL, " "), *a3 = strtok(NULL, " ");
        if (cmd == NULL)
            continue;
        if (strcmp(cmd, "new") == 0 && a1 && a2 && a3) {
            ag_jwks_remote_config rc = {0};
            rc.url = a1;
            rc.ca_file = strcmp(a2, "-") == 0 ? NULL : a2;
            rc.start_without_keys = strcmp(a3, "1") == 0;
            rc.min_refresh = 10;
            rc.max_refresh = 1000;
            rc.unknown_kid_interval = 60;
            rc.max_stale = 300;
            rc.max_size = 16384;
            rc.connect_timeout_ms = 2000;
            rc.timeout_ms = 4000;
            rc.on_error = on_error;
            rc.clock = fake_clock;
            ag_verifier_config vc = {0};
            vc.kind = AG_TOKEN_ACCESS;
            vc.leeway = -1;
            vc.clock = fake_clock;
            ag_err e = ag_jwks_remote_new(&rc, &vc, &r, &v);
            printf("%s\n", ag_err_name(e));
        } else if (strcmp(cmd, "clock") == 0 && a1) {
            atomic_store(&now_value, strtoll(a1, NULL, 10));
            printf("ok\n");
        } else if (strcmp(cmd, "verify") == 0 && a1 && v) {
            ag_verify_cause c = AG_CAUSE_NONE;
            ag_err e = ag_verify_why(v, (const uint8_t *)a1, strlen(a1), &claims, &c);
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
        } else if (strcmp(cmd, "quit") == 0) {
            break;
        } else {
            printf("bad command\n");
        }
    }
    ag_jwks_remote_free(r);
    ag_thread_cleanup();
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — the event log (--event-log): the library's process-wide
 * event sink (authgate/events.h) written one line per event, so that an
 * operator sees reuse, revocations, store trouble and key changes as they
 * happen. Events carry no token, jti, key or password; sid and subject are
 * written with space, '"', '\\', '=' and everything outside printable
 * ASCII escaped (\xNN), so a subject cannot forge a line or a field.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "demo.h"

static FILE *g_out;
static ag_event_sink g_sink;

/* Writes s as \xNN-escaped printable ASCII into dst (cap >= 5). */
static void escape(char *dst, size_t cap, ag_span s)
{
    size_t o = 0;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < s.len && o + 5 < cap; i++) {
        unsigned char c = s.ptr[i];
        if (c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '=') {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (s.len == 0 && cap > 1)
        dst[o++] = '-';
    dst[o] = '\0';
}

static void on_event(void *ctx, const ag_event *ev)
{
    (void)ctx;
    char when[32], sid[4 * 64 + 8], sub[4 * 64 + 8], detail[4 * 64 + 8];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    escape(sid, sizeof(sid), ev->sid);
    escape(sub, sizeof(sub), ev->subject);
    escape(detail, sizeof(detail), (ag_span){(const uint8_t *)ev->detail, strlen(ev->detail)});
    /* one fprintf per line: stdio locks the stream per call, so lines
     * from concurrent request threads never interleave */
    fprintf(g_out, "%s event type=%s err=%s cause=%d sid=%s subject=%s us=%lld detail=%s\n", when,
            ag_event_type_name(ev->type), ag_err_name(ev->err), (int)ev->cause, sid, sub,
            (long long)ev->duration_us, detail);
    fflush(g_out);
}

bool demo_eventlog_start(FILE *out)
{
    if (out == NULL)
        return false;
    g_out = out;
    g_sink = (ag_event_sink)AG_INIT(ag_event_sink);
    g_sink.fn = on_event;
    g_sink.ctx = NULL;
    g_sink.slow_store_us = 0; /* the library's default threshold */
    return ag_events_set(&g_sink) == AG_OK;
}

void demo_eventlog_stop(void)
{
    (void)ag_events_set(NULL);
}

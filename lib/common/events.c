/* SPDX-License-Identifier: MIT */
/*
 * authgate — the process's event sink (events.h).
 *
 * One atomic pointer to a caller-owned sink: installing is a store, an
 * event is a load and, with a sink, one call. Callers build ag_event on
 * their stack from static text and spans of verified data only.
 */
#include <stdatomic.h>
#include <stddef.h>

#include "common_int.h"
#include "observe_int.h"

static _Atomic(const ag_event_sink *) sink;

ag_err ag_events_set(const ag_event_sink *s)
{
    /* read in place for as long as it is installed, so checked here, once,
     * by the rule every sized struct follows (error.h) */
    if (s != NULL && (ag__sized_check(s, sizeof *s, sizeof *s) != AG_OK || s->fn == NULL))
        return AG_ERR_INVALID_ARGUMENT;
    atomic_store_explicit(&sink, s, memory_order_release);
    return AG_OK;
}

void ag__event_emit(const ag_event *ev)
{
    const ag_event_sink *s = atomic_load_explicit(&sink, memory_order_acquire);
    if (s != NULL)
        s->fn(s->ctx, ev);
}

void ag__event_simple(ag_event_type type, ag_err err, const char *detail)
{
    if (atomic_load_explicit(&sink, memory_order_relaxed) == NULL)
        return;
    ag_event ev = {type, err, AG_CAUSE_NONE, {NULL, 0}, {NULL, 0}, 0, detail ? detail : ""};
    ag__event_emit(&ev);
}

void ag__event_session(ag_event_type type, ag_err err, const char *sid, size_t sid_len,
                       const char *subject, size_t subject_len, const char *detail)
{
    if (atomic_load_explicit(&sink, memory_order_relaxed) == NULL)
        return;
    ag_event ev = {type,
                   err,
                   AG_CAUSE_NONE,
                   {(const uint8_t *)sid, sid != NULL ? sid_len : 0},
                   {(const uint8_t *)subject, subject != NULL ? subject_len : 0},
                   0,
                   detail ? detail : ""};
    ag__event_emit(&ev);
}

uint64_t ag__events_slow_ns(void)
{
    const ag_event_sink *s = atomic_load_explicit(&sink, memory_order_acquire);
    if (s == NULL || s->slow_store_us < 0)
        return 0;
    return s->slow_store_us == 0 ? UINT64_C(100000000) : (uint64_t)s->slow_store_us * 1000u;
}

const char *ag_event_type_name(ag_event_type type)
{
    static const char *const names[AG_EVENT_COUNT_] = {
        "",
        "verify_refused",
        "refresh_rotated",
        "refresh_replayed",
        "reuse_detected",
        "family_revoked",
        "session_evicted",
        "store_error",
        "store_slow",
        "keys_changed",
        "jwks_fetch_ok",
        "jwks_fetch_failed",
    };
    if ((unsigned)type >= AG__ARRAY_LEN(names))
        return "";
    return names[type];
}

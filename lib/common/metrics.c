/* SPDX-License-Identifier: MIT */
/*
 * authgate — process-wide counters and latency histograms (metrics.h),
 * and the hooks (observe_int.h) that also turn results into events.
 *
 * Each thread counts into one of SHARDS shards, chosen round-robin at its
 * first count and kept in a thread-local index, so threads on different
 * cores rarely share a cache line. Adds are relaxed atomics: lock-free, and
 * exact when two threads do share a shard. A snapshot sums the shards.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common_int.h"
#include "observe_int.h"

#define SHARDS 32
#define SAMPLE_MASK 7u /* one verify in 8 per thread is timed */
/* ag_revoke_reason's values, AG_REVOKE_NONE..AG_REVOKE_EVICTED (store.h,
 * a layer above: lib/store/store.c checks this number against the enum) */
#define REVOKE_REASONS 6

typedef struct hist {
    _Atomic uint64_t count, sum_ns, bucket[AG_METRICS_BUCKETS];
} hist;

typedef struct shard {
    _Alignas(64) _Atomic uint64_t verify[AG_ERR_COUNT_][AG_VERIFY_CAUSE_COUNT_];
    _Atomic uint64_t refresh[AG_ERR_COUNT_];
    _Atomic uint64_t refresh_replayed;
    _Atomic uint64_t login[AG_ERR_COUNT_];
    _Atomic uint64_t logout[AG_ERR_COUNT_];
    _Atomic uint64_t revoked[REVOKE_REASONS];
    _Atomic uint64_t store[AG_STORE_OP_COUNT_][AG_ERR_COUNT_];
    _Atomic uint64_t jwks_fetch[AG_ERR_COUNT_];
    _Atomic uint64_t keys_changed;
    hist verify_latency, refresh_latency, store_latency[AG_STORE_OP_COUNT_];
} shard;

static shard shards[SHARDS];
static atomic_bool off; /* zero-initialised: counting is on */
static atomic_uint next_shard;
static _Thread_local unsigned my_shard; /* 0: not chosen yet; else index + 1 */
static _Thread_local unsigned my_tick;
static const uint64_t bounds[AG_METRICS_BUCKETS - 1] = AG_METRICS_BOUNDS_NS;

static shard *here(void)
{
    if (my_shard == 0)
        my_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % SHARDS + 1u;
    return &shards[my_shard - 1u];
}

static void add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static bool on(void)
{
    return !atomic_load_explicit(&off, memory_order_relaxed);
}

uint64_t ag__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1u;
}

static void observe(hist *h, uint64_t ns)
{
    size_t i = 0;
    while (i < AG_METRICS_BUCKETS - 1 && ns > bounds[i])
        i++;
    add(&h->bucket[i], 1);
    add(&h->count, 1);
    add(&h->sum_ns, ns);
}

static size_t err_index(ag_err e)
{
    return (unsigned)e < AG_ERR_COUNT_ ? (size_t)e : (size_t)AG_ERR_INVALID_ARGUMENT;
}

void ag_metrics_enable(bool yes)
{
    atomic_store_explicit(&off, !yes, memory_order_relaxed);
}

bool ag_metrics_enabled(void)
{
    return on();
}

/* ---- hooks ---------------------------------------------------------------- */

uint64_t ag__obs_verify_begin(void)
{
    if (!on() || (my_tick++ & SAMPLE_MASK) != 0)
        return 0;
    return ag__now_ns();
}

void ag__obs_verify_end(uint64_t t0, ag_err err, int cause)
{
    size_t c = (unsigned)cause < AG_VERIFY_CAUSE_COUNT_ ? (size_t)cause : 0;
    if (on()) {
        shard *s = here();
        add(&s->verify[err_index(err)][c], 1);
        if (t0 != 0)
            observe(&s->verify_latency, ag__now_ns() - t0);
    }
    if (err != AG_OK) {
        ag_event ev = {AG_EVENT_VERIFY_REFUSED, err, (ag_verify_cause)c, {NULL, 0}, {NULL, 0}, 0,
                       ag_err_reason(err)};
        ag__event_emit(&ev);
    }
}

uint64_t ag__obs_begin(void)
{
    return on() || ag__events_slow_ns() != 0 ? ag__now_ns() : 0;
}

void ag__obs_store(ag_store_op op, ag_err err, uint64_t t0)
{
    uint64_t ns = t0 != 0 ? ag__now_ns() - t0 : 0;
    if ((unsigned)op >= AG_STORE_OP_COUNT_)
        return;
    if (on()) {
        shard *s = here();
        add(&s->store[op][err_index(err)], 1);
        if (t0 != 0)
            observe(&s->store_latency[op], ns);
    }
    if (err == AG_ERR_STORE || err == AG_ERR_STORE_FULL || err == AG_ERR_NOMEM)
        ag__event_simple(AG_EVENT_STORE_ERROR, err, ag_store_op_name(op));
    uint64_t slow = ag__events_slow_ns();
    if (slow != 0 && ns > slow) {
        ag_event ev = {AG_EVENT_STORE_SLOW, err,       AG_CAUSE_NONE,
                       {NULL, 0},           {NULL, 0}, (int64_t)(ns / 1000u),
                       ag_store_op_name(op)};
        ag__event_emit(&ev);
    }
}

void ag__obs_refresh(ag_err err, bool replayed, uint64_t t0)
{
    if (!on())
        return;
    shard *s = here();
    add(&s->refresh[err_index(err)], 1);
    if (err == AG_OK && replayed)
        add(&s->refresh_replayed, 1);
    if (t0 != 0)
        observe(&s->refresh_latency, ag__now_ns() - t0);
}

void ag__obs_login(ag_err err)
{
    if (on())
        add(&here()->login[err_index(err)], 1);
}

void ag__obs_logout(ag_err err)
{
    if (on())
        add(&here()->logout[err_index(err)], 1);
}

static const char *const reason_names[REVOKE_REASONS] = {"none",  "logout", "logout_all",
                                                         "reuse", "admin",  "evicted"};

void ag__obs_revoked(int reason, const char *sid, size_t sid_len, const char *subject,
                     size_t subject_len)
{
    size_t r = reason > 0 && reason < REVOKE_REASONS ? (size_t)reason : 0;
    if (on())
        add(&here()->revoked[r], 1);
    ag__event_session(AG_EVENT_FAMILY_REVOKED, AG_OK, sid, sid_len, subject, subject_len,
                      reason_names[r]);
}

void ag__obs_keys_changed(void)
{
    if (on())
        add(&here()->keys_changed, 1);
    ag__event_simple(AG_EVENT_KEYS_CHANGED, AG_OK, "key set replaced");
}

void ag__obs_jwks(ag_err err, const char *why)
{
    if (on())
        add(&here()->jwks_fetch[err_index(err)], 1);
    ag__event_simple(err == AG_OK ? AG_EVENT_JWKS_FETCH_OK : AG_EVENT_JWKS_FETCH_FAILED, err,
                     err == AG_OK ? "fetched" : why);
}

/* ---- snapshot ------------------------------------------------------------- */

/* The public struct's arrays have fixed capacities (metrics.h); the
 * shards have exactly the counts. */
_Static_assert(AG_ERR_COUNT_ <= AG_METRICS_ERR_SLOTS, "AG_METRICS_ERR_SLOTS");
_Static_assert(AG_VERIFY_CAUSE_COUNT_ <= AG_METRICS_CAUSE_SLOTS, "AG_METRICS_CAUSE_SLOTS");
_Static_assert(AG_STORE_OP_COUNT_ <= AG_METRICS_OP_SLOTS, "AG_METRICS_OP_SLOTS");
_Static_assert(REVOKE_REASONS <= AG_METRICS_REASON_SLOTS, "AG_METRICS_REASON_SLOTS");

static void sum(uint64_t *dst, const _Atomic uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += atomic_load_explicit(&src[i], memory_order_relaxed);
}

static void sum_hist(ag_histogram *d, const hist *h)
{
    sum(&d->count, &h->count, 1);
    sum(&d->sum_ns, &h->sum_ns, 1);
    sum(d->bucket, h->bucket, AG_METRICS_BUCKETS);
}

ag_err ag_metrics_snapshot(ag_metrics *m)
{
    if (m == NULL || ag__sized_out(m, sizeof *m) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    ag__sized_clear(m, sizeof *m);
    for (size_t i = 0; i < SHARDS; i++) {
        const shard *s = &shards[i];
        for (size_t e = 0; e < AG_ERR_COUNT_; e++)
            sum(m->verify[e], s->verify[e], AG_VERIFY_CAUSE_COUNT_);
        sum(m->refresh, s->refresh, AG_ERR_COUNT_);
        sum(&m->refresh_replayed, &s->refresh_replayed, 1);
        sum(m->login, s->login, AG_ERR_COUNT_);
        sum(m->logout, s->logout, AG_ERR_COUNT_);
        sum(m->revoked, s->revoked, REVOKE_REASONS);
        for (size_t op = 0; op < AG_STORE_OP_COUNT_; op++)
            sum(m->store[op], s->store[op], AG_ERR_COUNT_);
        sum(m->jwks_fetch, s->jwks_fetch, AG_ERR_COUNT_);
        sum(&m->keys_changed, &s->keys_changed, 1);
        sum_hist(&m->verify_latency, &s->verify_latency);
        sum_hist(&m->refresh_latency, &s->refresh_latency);
        for (size_t op = 0; op < AG_STORE_OP_COUNT_; op++)
            sum_hist(&m->store_latency[op], &s->store_latency[op]);
    }
    return AG_OK;
}

static void zero(_Atomic uint64_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&p[i], 0, memory_order_relaxed);
}

void ag_metrics_reset(void)
{
    /* every member of a shard is an _Atomic uint64_t, back to back */
    for (size_t i = 0; i < SHARDS; i++)
        zero(&shards[i].verify[0][0], sizeof(shard) / sizeof(uint64_t));
}

const char *ag_store_op_name(ag_store_op op)
{
    static const char *const names[AG_STORE_OP_COUNT_] = {
        "create", "rotate", "lookup",     "revoke_family", "revoke_subject",
        "evict",  "purge",  "log_append", "log_read",      "log_purge"};
    return (unsigned)op < AG_STORE_OP_COUNT_ ? names[op] : "";
}

/* ---- Prometheus text format ------------------------------------------------ */

typedef struct out {
    char *buf;
    size_t cap, len;
} out;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room > 0 ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* "expired", "not_yet_valid", "ok": the error's enum name in lower case. */
static const char *result_word(ag_err e, char *w, size_t cap)
{
    const char *n = ag_err_name(e);
    n += strncmp(n, "AG_ERR_", 7) == 0 ? 7 : strncmp(n, "AG_", 3) == 0 ? 3 : 0;
    size_t i = 0;
    for (; n[i] != '\0' && i + 1 < cap; i++)
        w[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
    w[i] = '\0';
    return w;
}

static const char *const cause_words[AG_VERIFY_CAUSE_COUNT_] = {
    "none", "no_kid", "unknown_kid", "typ", "iss", "sub",     "aud",
    "exp",  "nbf",    "iat",         "jti", "sid", "lifetime"};

static void header(out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP authgate_%s %s\n# TYPE authgate_%s %s\n", name, help, name, type);
}

/* One counter family with a result label: "ok" always, others when > 0. */
static void by_result(out *o, const char *name, const char *help, const uint64_t *v)
{
    char w[32];
    header(o, name, "counter", help);
    for (int e = 0; e < AG_ERR_COUNT_; e++)
        if (e == AG_OK || v[e] != 0)
            put(o, "authgate_%s{result=\"%s\"} %llu\n", name, result_word((ag_err)e, w, sizeof w),
                (unsigned long long)v[e]);
}

static void histogram(out *o, const char *name, const char *labels, const ag_histogram *h)
{
    uint64_t cum = 0;
    const char *sep = labels[0] != '\0' ? "," : "";
    for (size_t i = 0; i < AG_METRICS_BUCKETS; i++) {
        cum += h->bucket[i];
        if (i + 1 < AG_METRICS_BUCKETS)
            put(o, "authgate_%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                (double)bounds[i] / 1e9, (unsigned long long)cum);
        else
            put(o, "authgate_%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                (unsigned long long)cum);
    }
    const char *open = labels[0] != '\0' ? "{" : "", *close = labels[0] != '\0' ? "}" : "";
    put(o, "authgate_%s_sum%s%s%s %.9f\n", name, open, labels, close, (double)h->sum_ns / 1e9);
    put(o, "authgate_%s_count%s%s%s %llu\n", name, open, labels, close,
        (unsigned long long)h->count);
}

ag_err ag_metrics_write_prometheus(const ag_metrics *m, char *buf, size_t cap, size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (m == NULL || len == NULL || (buf == NULL && cap != 0) ||
        ag__sized_out(m, sizeof *m) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    out o = {buf, cap, 0};
    char w[32];

    header(&o, "verify_total", "counter", "Tokens verified, by result and the check that refused.");
    for (int e = 0; e < AG_ERR_COUNT_; e++)
        for (int c = 0; c < AG_VERIFY_CAUSE_COUNT_; c++)
            if ((e == AG_OK && c == 0) || m->verify[e][c] != 0)
                put(&o, "authgate_verify_total{result=\"%s\",cause=\"%s\"} %llu\n",
                    result_word((ag_err)e, w, sizeof w), cause_words[c],
                    (unsigned long long)m->verify[e][c]);
    by_result(&o, "refresh_total", "Refresh token exchanges, by result (reused: reuse detected).",
              m->refresh);
    header(&o, "refresh_replayed_total", "counter",
           "Refreshes answered as replays within the reuse interval.");
    put(&o, "authgate_refresh_replayed_total %llu\n", (unsigned long long)m->refresh_replayed);
    by_result(&o, "login_total", "Sessions created (logins), by result.", m->login);
    by_result(&o, "logout_total", "Logouts, by result.", m->logout);
    header(&o, "sessions_revoked_total", "counter", "Sessions ended, by reason.");
    for (size_t r = 1; r < REVOKE_REASONS; r++)
        put(&o, "authgate_sessions_revoked_total{reason=\"%s\"} %llu\n", reason_names[r],
            (unsigned long long)m->revoked[r]);
    header(&o, "store_operations_total", "counter",
           "Store backend calls, by operation and result.");
    for (int op = 0; op < AG_STORE_OP_COUNT_; op++)
        for (int e = 0; e < AG_ERR_COUNT_; e++)
            if (m->store[op][e] != 0)
                put(&o, "authgate_store_operations_total{op=\"%s\",result=\"%s\"} %llu\n",
                    ag_store_op_name((ag_store_op)op), result_word((ag_err)e, w, sizeof w),
                    (unsigned long long)m->store[op][e]);
    by_result(&o, "jwks_fetch_total", "Remote JWKS fetches, by result.", m->jwks_fetch);
    header(&o, "keys_changed_total", "counter", "Key set swaps of verifiers and issuers.");
    put(&o, "authgate_keys_changed_total %llu\n", (unsigned long long)m->keys_changed);

    header(&o, "verify_duration_seconds", "histogram",
           "Verify latency (one verify in 8 per thread is timed).");
    histogram(&o, "verify_duration_seconds", "", &m->verify_latency);
    header(&o, "refresh_duration_seconds", "histogram",
           "Refresh latency: verify, store rotation and issue.");
    histogram(&o, "refresh_duration_seconds", "", &m->refresh_latency);
    header(&o, "store_duration_seconds", "histogram", "Store backend call latency, by operation.");
    for (int op = 0; op < AG_STORE_OP_COUNT_; op++) {
        if (m->store_latency[op].count == 0)
            continue;
        char lab[40];
        snprintf(lab, sizeof lab, "op=\"%s\"", ag_store_op_name((ag_store_op)op));
        histogram(&o, "store_duration_seconds", lab, &m->store_latency[op]);
    }
    *len = o.len;
    return o.len < cap ? AG_OK : AG_ERR_BUFFER;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — following a store's revocation log into a revocation set
 * (session.h, ag_revsync_*): how a logout on one instance reaches the
 * access verifiers of every other instance sharing the store.
 *
 * The log is read by increasing id from the last id seen, never by time
 * and never only on notification, so an instance that was disconnected or
 * asleep catches up on everything on its next read. The thread reads
 * every interval, and sooner when the store's log_wait says news may have
 * arrived (PostgreSQL: a NOTIFY, or its listener reconnected). Reads are
 * serialised by a mutex (the thread and ag_revsync_poll may both read).
 *
 * @test tests/store/test_revsync.c
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "authgate/session.h"
#include "session_int.h"

#define BATCH 256
#define SLICE_MS 250

struct ag_revsync {
    const ag_allocator *alloc;
    ag_store *store;
    ag_revset *set;
    int interval_ms;
    int64_t retention;
    ag_session_error_fn on_error;
    void *on_error_ctx;
    ag_clock_fn clock;
    void *clock_ctx;
    pthread_mutex_t mu; /* one read at a time; guards last and buf */
    uint64_t last;      /* the highest id applied */
    int64_t purged_at;  /* last log purge */
    ag_store_revocation buf[BATCH];
    atomic_int stop;
    bool running;
    pthread_t thread;
};

static ag_err read_all(ag_revsync *r, size_t *applied)
{
    size_t total = 0;
    ag_err e = AG_OK;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        size_t n = 0;
        e = ag_store_log_read(r->store, r->last, r->buf, BATCH, &n);
        if (e != AG_OK)
            break;
        for (size_t i = 0; i < n; i++) {
            const ag_store_revocation *v = &r->buf[i];
            ag_err a = v->kind == AG_STORE_REV_SID
                           ? ag_revset_add_sid(r->set, v->key, v->key_len, v->at)
                           : ag_revset_add_subject(r->set, v->key, v->key_len, v->at);
            if (a != AG_OK && r->on_error != NULL)
                r->on_error(r->on_error_ctx, "revocation set", a);
            r->last = v->id;
            total++;
        }
        if (n < BATCH)
            break;
    }
    int64_t now = r->clock(r->clock_ctx);
    if (e == AG_OK) {
        ag_revset_mark_synced(r->set, now);
        if (r->retention > 0 && now - r->purged_at >= 60) {
            r->purged_at = now;
            ag_err p = ag_store_log_purge(r->store, now - r->retention, NULL);
            if (p != AG_OK && p != AG_ERR_STATE && r->on_error != NULL)
                r->on_error(r->on_error_ctx, "revocation log purge", p);
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (applied != NULL)
        *applied = total;
    return e;
}

ag_err ag_revsync_poll(ag_revsync *r, size_t *applied)
{
    if (applied != NULL)
        *applied = 0;
    if (r == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    return read_all(r, applied);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads when the store says news may have arrived (a notification, a
 * reconnect), after a failed wait, and at least every interval. Waits in
 * slices of at most SLICE_MS so that ag_revsync_stop never waits longer. */
static void *follow(void *arg)
{
    ag_revsync *r = arg;
    int64_t due = mono_ms() + r->interval_ms;
    while (!atomic_load(&r->stop)) {
        int64_t left = due - mono_ms();
        int slice = left < 0 ? 0 : left > SLICE_MS ? SLICE_MS : (int)left;
        ag_err e = ag_store_log_wait(r->store, slice);
        if (atomic_load(&r->stop))
            break;
        if (e == AG_ERR_NOT_FOUND && mono_ms() < due)
            continue; /* no news, not due yet */
        if (e != AG_OK && e != AG_ERR_NOT_FOUND && r->on_error != NULL)
            r->on_error(r->on_error_ctx, "revocation log wait", e);
        e = read_all(r, NULL);
        if (e != AG_OK && r->on_error != NULL)
            r->on_error(r->on_error_ctx, "revocation log", e);
        due = mono_ms() + r->interval_ms;
    }
    return NULL;
}

ag_err ag_revsync_start(const ag_revsync_config *cfg, ag_revsync **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ag_revsync_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    if (cfg == NULL || cfg->store == NULL || cfg->revocations == NULL || cfg->interval_ms < 0 ||
        cfg->interval_ms > 60000 || cfg->log_retention < 0)
        return AG_ERR_INVALID_ARGUMENT;
    if (!ag_store_has_log(cfg->store))
        return AG_ERR_STATE;
    ag_revsync *r = ag__calloc(cfg->alloc, sizeof *r);
    if (r == NULL)
        return AG_ERR_NOMEM;
    r->alloc = cfg->alloc;
    r->store = cfg->store;
    r->set = cfg->revocations;
    r->interval_ms = cfg->interval_ms != 0 ? cfg->interval_ms : 200;
    r->retention = cfg->log_retention;
    r->on_error = cfg->on_error;
    r->on_error_ctx = cfg->on_error_ctx;
    r->clock = cfg->clock != NULL ? cfg->clock : ag_clock_system;
    r->clock_ctx = cfg->clock_ctx;
    atomic_init(&r->stop, 0);
    pthread_mutex_init(&r->mu, NULL);
    ag_err e = read_all(r, NULL); /* the catch-up, before anything is served */
    if (e == AG_OK && pthread_create(&r->thread, NULL, follow, r) != 0)
        e = AG_ERR_NOMEM;
    if (e != AG_OK) {
        pthread_mutex_destroy(&r->mu);
        ag__free(cfg->alloc, r);
        return e;
    }
    r->running = true;
    *out = r;
    return AG_OK;
}

void ag_revsync_stop(ag_revsync *r)
{
    if (r == NULL)
        return;
    atomic_store(&r->stop, 1);
    if (r->running)
        pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->mu);
    ag__free(r->alloc, r);
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — the store interface: argument checks around a backend's
 * function pointers, and the fail-closed mapping of its answers.
 */
#include <string.h>
#include <time.h>

#include "../common/observe_int.h"
#include "store_int.h"

/* lib/common/metrics.c counts 6 revoke reasons (AG_REVOKE_NONE through
 * AG_REVOKE_EVICTED) into ag_metrics.revoked: a new reason must raise
 * REVOKE_REASONS there (within AG_METRICS_REASON_SLOTS) first. */
_Static_assert(AG_REVOKE_EVICTED + 1 == 6, "metrics.c: REVOKE_REASONS");
_Static_assert(AG_REVOKE_EVICTED < AG_METRICS_REASON_SLOTS, "AG_METRICS_REASON_SLOTS");

/* Any code outside `allowed` (a 0-terminated list; AG_OK is implied)
 * becomes AG_ERR_STORE: a backend can fail, but never open a door. */
static ag_err only(ag_err e, const ag_err *allowed)
{
    if (e == AG_OK || e == AG_ERR_STORE)
        return e;
    for (; *allowed != AG_OK; allowed++)
        if (*allowed == e)
            return e;
    return AG_ERR_STORE;
}

/* Every backend call goes through here: counted, timed, and a failure or
 * a slow call reported (metrics.h, events.h). t0 from ag__obs_begin(). */
static ag_err observed(ag_store_op op, uint64_t t0, ag_err e)
{
    ag__obs_store(op, e, t0);
    return e;
}

static bool store_ok(const ag_store *st)
{
    return st != NULL && st->version == AG_STORE_INTERFACE_VERSION;
}

static bool names_ok(const ag_store_family *f)
{
    return f->sid_len <= AG_SID_MAX_LEN && ag__store_str_ok(f->sid, f->sid_len, AG_SID_MAX_LEN) &&
           f->subject_len <= AG_SUBJECT_MAX_LEN &&
           ag__store_str_ok(f->subject, f->subject_len, AG_SUBJECT_MAX_LEN);
}

ag_err ag_store_create(ag_store *st, const ag_store_family *fam, int64_t reclaim_before)
{
    static const ag_err allowed[] = {AG_ERR_EXISTS, AG_ERR_STORE_FULL, AG_ERR_NOMEM, AG_OK};
    if (!store_ok(st) || st->create == NULL || fam == NULL || !names_ok(fam) ||
        reclaim_before <= 0 || fam->generation != 0 || fam->has_previous || fam->replays != 0 ||
        fam->revoked_at != 0 || fam->reason != AG_REVOKE_NONE ||
        fam->current_issued < fam->created || fam->current_expires <= fam->current_issued ||
        fam->current_expires > fam->expires)
        return AG_ERR_INVALID_ARGUMENT;
    uint64_t t0 = ag__obs_begin();
    return observed(AG_STORE_OP_CREATE, t0, only(st->create(st, fam, reclaim_before), allowed));
}

/* ---- the decision, written once ------------------------------------------ */

bool ag_store_family_dead(const ag_store_family *f, int64_t now)
{
    return ag__store_dead(f, now);
}

bool ag_store_family_live(const ag_store_family *f, int64_t now)
{
    return f->revoked_at == 0 && !ag__store_dead(f, now);
}

void ag__store_revoke_row(ag_store_family *f, int64_t now, ag_revoke_reason why)
{
    f->revoked_at = now;
    f->reason = why;
    /* A tombstone keeps no hash: nothing about the tokens outlives them. */
    memset(f->current, 0, sizeof f->current);
    memset(f->previous, 0, sizeof f->previous);
    f->has_previous = false;
    f->replays = 0;
}

ag_err ag_store_decide(const ag_store_family *cur, const ag_store_rotation *rot,
                       ag_store_family *next, bool *write, ag_store_rotated *out)
{
    if (rot == NULL || next == NULL || write == NULL || out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    return ag__store_decide(cur, rot, next, write, out); /* store_int.h */
}

ag_err ag_store_rotate(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out)
{
    static const ag_err allowed[] = {AG_ERR_UNKNOWN, AG_ERR_REVOKED, AG_ERR_REUSED,
                                     AG_ERR_EXPIRED, AG_ERR_NOMEM,   AG_OK};
    if (!store_ok(st) || st->rotate == NULL || rot == NULL || out == NULL ||
        (rot->action != AG_STORE_REFRESH && rot->action != AG_STORE_LOGOUT &&
         rot->action != AG_STORE_LOGOUT_ALL) ||
        !ag__store_str_ok(rot->sid, rot->sid_len, AG_SID_MAX_LEN) ||
        !ag__store_str_ok(rot->subject, rot->subject_len, AG_SUBJECT_MAX_LEN) ||
        rot->reuse_interval < 0 || rot->now <= 0 ||
        (rot->action == AG_STORE_REFRESH && rot->new_expires <= rot->now))
        return AG_ERR_INVALID_ARGUMENT;
    /* A successor equal to its parent would make the token its own child. */
    if (rot->action == AG_STORE_REFRESH && ag__store_hash_eq(rot->old_hash, rot->new_hash))
        return AG_ERR_INVALID_ARGUMENT;
    ag_store_rotated tmp;
    memset(&tmp, 0, sizeof tmp);
    uint64_t t0 = ag__obs_begin();
    ag_err e = only(st->rotate(st, rot, &tmp), allowed);
    ag_store_outcome want =
        rot->action == AG_STORE_REFRESH ? AG_STORE_ROTATED : AG_STORE_LOGGED_OUT;
    if (e == AG_OK && tmp.outcome != want &&
        !(rot->action == AG_STORE_REFRESH && tmp.outcome == AG_STORE_REPLAYED))
        e = AG_ERR_STORE;
    if (e == AG_OK)
        *out = tmp;
    return observed(AG_STORE_OP_ROTATE, t0, e);
}

ag_err ag_store_lookup_family(ag_store *st, const char *sid, size_t sid_len, ag_store_family *fam)
{
    static const ag_err allowed[] = {AG_ERR_NOT_FOUND, AG_OK};
    if (!store_ok(st) || st->lookup_family == NULL || fam == NULL ||
        !ag__store_str_ok(sid, sid_len, AG_SID_MAX_LEN))
        return AG_ERR_INVALID_ARGUMENT;
    uint64_t t0 = ag__obs_begin();
    return observed(AG_STORE_OP_LOOKUP, t0,
                    only(st->lookup_family(st, sid, sid_len, fam), allowed));
}

static bool reason_ok(ag_revoke_reason r)
{
    return r >= AG_REVOKE_LOGOUT && r <= AG_REVOKE_EVICTED;
}

ag_err ag_store_revoke_family(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                              ag_revoke_reason reason)
{
    static const ag_err allowed[] = {AG_ERR_NOT_FOUND, AG_OK};
    if (!store_ok(st) || st->revoke_family == NULL ||
        !ag__store_str_ok(sid, sid_len, AG_SID_MAX_LEN) || !reason_ok(reason) || now <= 0)
        return AG_ERR_INVALID_ARGUMENT;
    uint64_t t0 = ag__obs_begin();
    return observed(AG_STORE_OP_REVOKE_FAMILY, t0,
                    only(st->revoke_family(st, sid, sid_len, now, reason), allowed));
}

ag_err ag_store_revoke_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                               ag_revoke_reason reason, ag_store_sid_fn fn, void *ctx,
                               size_t *count)
{
    static const ag_err allowed[] = {AG_ERR_NOMEM, AG_OK};
    size_t n = 0;
    if (count != NULL)
        *count = 0;
    if (!store_ok(st) || st->revoke_subject == NULL ||
        !ag__store_str_ok(subject, subject_len, AG_SUBJECT_MAX_LEN) || !reason_ok(reason) ||
        now <= 0)
        return AG_ERR_INVALID_ARGUMENT;
    uint64_t t0 = ag__obs_begin();
    ag_err e = observed(
        AG_STORE_OP_REVOKE_SUBJECT, t0,
        only(st->revoke_subject(st, subject, subject_len, now, reason, fn, ctx, &n), allowed));
    if (e == AG_OK && count != NULL)
        *count = n;
    return e;
}

ag_err ag_store_evict(ag_store *st, const char *subject, size_t subject_len, size_t keep,
                      const char *keep_sid, size_t keep_sid_len, int64_t now, ag_store_sid_fn fn,
                      void *ctx, size_t *count)
{
    static const ag_err allowed[] = {AG_ERR_NOMEM, AG_OK};
    size_t n = 0;
    if (count != NULL)
        *count = 0;
    if (!store_ok(st) || st->evict == NULL ||
        !ag__store_str_ok(subject, subject_len, AG_SUBJECT_MAX_LEN) || keep == 0 || now <= 0 ||
        (keep_sid_len != 0 && !ag__store_str_ok(keep_sid, keep_sid_len, AG_SID_MAX_LEN)))
        return AG_ERR_INVALID_ARGUMENT;
    if (keep_sid_len == 0)
        keep_sid = "";
    uint64_t t0 = ag__obs_begin();
    ag_err e = observed(
        AG_STORE_OP_EVICT, t0,
        only(st->evict(st, subject, subject_len, keep, keep_sid, keep_sid_len, now, fn, ctx, &n),
             allowed));
    if (e == AG_OK && count != NULL)
        *count = n;
    return e;
}

ag_err ag_store_purge_expired(ag_store *st, int64_t now, size_t *removed)
{
    static const ag_err allowed[] = {AG_OK};
    size_t n = 0;
    if (removed != NULL)
        *removed = 0;
    if (!store_ok(st) || st->purge_expired == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    uint64_t t0 = ag__obs_begin();
    ag_err e = observed(AG_STORE_OP_PURGE, t0, only(st->purge_expired(st, now, &n), allowed));
    if (e == AG_OK && removed != NULL)
        *removed = n;
    return e;
}

/* ---- the revocation log ------------------------------------------------ */

/* ---- listing a subject's sessions ------------------------------------------ */

bool ag_store_can_list(const ag_store *st)
{
    return store_ok(st) && st->list_subject != NULL;
}

ag_err ag_store_list_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                             ag_store_family *out, size_t cap, size_t *n, size_t *total)
{
    static const ag_err allowed[] = {AG_ERR_NOMEM, AG_OK};
    size_t got = 0, all = 0;
    if (n != NULL)
        *n = 0;
    if (total != NULL)
        *total = 0;
    if (n == NULL || (out == NULL && cap != 0) ||
        !ag__store_str_ok(subject, subject_len, AG_SUBJECT_MAX_LEN))
        return AG_ERR_INVALID_ARGUMENT;
    if (!ag_store_can_list(st))
        return AG_ERR_STATE;
    ag_err e = only(st->list_subject(st, subject, subject_len, now, out, cap, &got, &all), allowed);
    /* What comes back is checked like a rotation's input: a backend that
     * lists another subject's session, or a dead one, fails closed. */
    if (e == AG_OK && (got > cap || got > all))
        e = AG_ERR_STORE;
    for (size_t i = 0; i < got && i < cap; i++) {
        ag_store_family *f = &out[i];
        if (e == AG_OK &&
            (!names_ok(f) || f->subject_len != subject_len ||
             memcmp(f->subject, subject, subject_len) != 0 || !ag_store_family_live(f, now)))
            e = AG_ERR_STORE;
        /* nothing that identifies a token leaves the store layer */
        ag_cleanse(f->current, sizeof f->current);
        ag_cleanse(f->previous, sizeof f->previous);
        f->has_previous = false;
    }
    if (e != AG_OK)
        return e;
    *n = got;
    if (total != NULL)
        *total = all;
    return AG_OK;
}

bool ag_store_has_log(const ag_store *st)
{
    return store_ok(st) && st->log_append != NULL && st->log_read != NULL;
}

static bool rev_ok(ag_store_rev_kind kind, const char *key, size_t len)
{
    return (kind == AG_STORE_REV_SID && ag__store_str_ok(key, len, AG_SID_MAX_LEN)) ||
           (kind == AG_STORE_REV_SUBJECT && ag__store_str_ok(key, len, AG_SUBJECT_MAX_LEN));
}

ag_err ag_store_log_append(ag_store *st, ag_store_rev_kind kind, const char *key, size_t key_len,
                           int64_t at)
{
    static const ag_err allowed[] = {AG_OK};
    if (!store_ok(st) || !rev_ok(kind, key, key_len) || at <= 0)
        return AG_ERR_INVALID_ARGUMENT;
    if (!ag_store_has_log(st))
        return AG_ERR_STATE;
    ag_store_revocation e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    ag__store_str_set(e.key, &e.key_len, key, key_len);
    e.at = at;
    uint64_t t0 = ag__obs_begin();
    return observed(AG_STORE_OP_LOG_APPEND, t0, only(st->log_append(st, &e), allowed));
}

ag_err ag_store_log_read(ag_store *st, uint64_t after, ag_store_revocation *out, size_t cap,
                         size_t *n)
{
    static const ag_err allowed[] = {AG_OK};
    if (n != NULL)
        *n = 0;
    if (!store_ok(st) || out == NULL || cap == 0 || n == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (!ag_store_has_log(st))
        return AG_ERR_STATE;
    size_t got = 0;
    uint64_t t0 = ag__obs_begin();
    ag_err e =
        observed(AG_STORE_OP_LOG_READ, t0, only(st->log_read(st, after, out, cap, &got), allowed));
    if (e != AG_OK)
        return e;
    if (got > cap)
        return AG_ERR_STORE;
    /* what a backend hands back must be a clean, ordered tail of the log */
    for (size_t i = 0; i < got; i++) {
        if (out[i].id <= after || (i > 0 && out[i].id <= out[i - 1].id) ||
            out[i].key_len > AG_SUBJECT_MAX_LEN ||
            !rev_ok(out[i].kind, out[i].key, out[i].key_len) || out[i].at <= 0)
            return AG_ERR_STORE;
        out[i].key[out[i].key_len] = '\0';
    }
    *n = got;
    return AG_OK;
}

ag_err ag_store_log_purge(ag_store *st, int64_t before, size_t *removed)
{
    static const ag_err allowed[] = {AG_OK};
    size_t n = 0;
    if (removed != NULL)
        *removed = 0;
    if (!store_ok(st))
        return AG_ERR_INVALID_ARGUMENT;
    if (!ag_store_has_log(st) || st->log_purge == NULL)
        return AG_ERR_STATE;
    uint64_t t0 = ag__obs_begin();
    ag_err e = observed(AG_STORE_OP_LOG_PURGE, t0, only(st->log_purge(st, before, &n), allowed));
    if (e == AG_OK && removed != NULL)
        *removed = n;
    return e;
}

ag_err ag_store_log_wait(ag_store *st, int timeout_ms)
{
    static const ag_err allowed[] = {AG_ERR_NOT_FOUND, AG_OK};
    if (!store_ok(st) || timeout_ms < 0)
        return AG_ERR_INVALID_ARGUMENT;
    if (st->log_wait != NULL)
        return only(st->log_wait(st, timeout_ms), allowed);
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return AG_ERR_NOT_FOUND; /* no news to report: the caller reads when its interval is up */
}

ag_err ag_store_stats_get(ag_store *st, ag_store_stats *out)
{
    static const ag_err allowed[] = {AG_OK};
    if (!store_ok(st) || out == NULL || ag__sized_out(out, sizeof *out) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    ag__sized_clear(out, sizeof *out);
    if (st->stats == NULL)
        return AG_OK;
    /* the backend fills a struct of this library's own size; the caller's
     * keeps its size and gets what it has room for */
    ag_store_stats mine = AG_INIT(ag_store_stats);
    ag_err e = only(st->stats(st, &mine), allowed);
    if (e == AG_OK)
        memcpy((uint8_t *)out + sizeof(size_t), (const uint8_t *)&mine + sizeof(size_t),
               sizeof mine - sizeof(size_t));
    return e;
}

void ag_store_close(ag_store *st)
{
    if (st != NULL && st->close != NULL)
        st->close(st);
}

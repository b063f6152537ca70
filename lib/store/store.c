/*
 * authgate — the store interface: argument checks around a backend's
 * function pointers, and the fail-closed mapping of its answers.
 */
#include <string.h>

#include "store_int.h"

bool ag__store_str_ok(const char *p, size_t n, size_t max)
{
    if (p == NULL || n == 0 || n > max)
        return false;
    return memchr(p, '\0', n) == NULL;
}

void ag__store_str_set(char *dst, size_t *dst_len, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    *dst_len = n;
}

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

static bool store_ok(const ag_store *st)
{
    return st != NULL && st->version == AG_STORE_INTERFACE_VERSION;
}

static bool family_ok(const ag_store_family *f)
{
    return f != NULL && f->sid_len <= AG_SID_MAX_LEN &&
           ag__store_str_ok(f->sid, f->sid_len, AG_SID_MAX_LEN) &&
           f->subject_len <= AG_SUBJECT_MAX_LEN &&
           ag__store_str_ok(f->subject, f->subject_len, AG_SUBJECT_MAX_LEN) &&
           f->expires > f->created && f->revoked_at == 0 && f->reason == AG_REVOKE_NONE;
}

ag_err ag_store_put(ag_store *st, const ag_store_family *fam, const ag_store_token *tok)
{
    static const ag_err allowed[] = {AG_ERR_EXISTS, AG_ERR_STORE_FULL, AG_ERR_NOMEM, AG_OK};
    if (!store_ok(st) || st->put == NULL || !family_ok(fam) || tok == NULL ||
        tok->sid_len != fam->sid_len || memcmp(tok->sid, fam->sid, fam->sid_len) != 0 ||
        tok->used_at != 0 || tok->has_successor || tok->revoked_at != 0 ||
        tok->expires <= tok->issued || tok->expires > fam->expires)
        return AG_ERR_INVALID_ARGUMENT;
    return only(st->put(st, fam, tok), allowed);
}

ag_err ag_store_rotate(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out)
{
    static const ag_err allowed[] = {AG_ERR_UNKNOWN,    AG_ERR_REVOKED, AG_ERR_REUSED,
                                     AG_ERR_EXPIRED,    AG_ERR_EXISTS,  AG_ERR_NOMEM,
                                     AG_ERR_STORE_FULL, AG_OK};
    if (!store_ok(st) || st->rotate == NULL || rot == NULL || out == NULL ||
        !ag__store_str_ok(rot->sid, rot->sid_len, AG_SID_MAX_LEN) ||
        !ag__store_str_ok(rot->subject, rot->subject_len, AG_SUBJECT_MAX_LEN) ||
        rot->reuse_interval < 0 || rot->new_expires <= rot->now)
        return AG_ERR_INVALID_ARGUMENT;
    /* A successor equal to its parent would make the row its own child. */
    if (ag__ct_eq(rot->old_hash, rot->new_hash, AG_STORE_HASH_LEN))
        return AG_ERR_INVALID_ARGUMENT;
    ag_store_rotated tmp;
    memset(&tmp, 0, sizeof tmp);
    ag_err e = only(st->rotate(st, rot, &tmp), allowed);
    if (e == AG_OK && tmp.outcome != AG_STORE_ROTATED && tmp.outcome != AG_STORE_REPLAYED)
        e = AG_ERR_STORE;
    if (e == AG_OK)
        *out = tmp;
    return e;
}

ag_err ag_store_lookup(ag_store *st, const uint8_t hash[AG_STORE_HASH_LEN], ag_store_token *tok,
                       ag_store_family *fam)
{
    static const ag_err allowed[] = {AG_ERR_NOT_FOUND, AG_OK};
    if (!store_ok(st) || st->lookup == NULL || hash == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    return only(st->lookup(st, hash, tok, fam), allowed);
}

ag_err ag_store_lookup_family(ag_store *st, const char *sid, size_t sid_len,
                              ag_store_family *fam)
{
    static const ag_err allowed[] = {AG_ERR_NOT_FOUND, AG_OK};
    if (!store_ok(st) || st->lookup_family == NULL || fam == NULL ||
        !ag__store_str_ok(sid, sid_len, AG_SID_MAX_LEN))
        return AG_ERR_INVALID_ARGUMENT;
    return only(st->lookup_family(st, sid, sid_len, fam), allowed);
}

static bool reason_ok(ag_revoke_reason r)
{
    return r >= AG_REVOKE_LOGOUT && r <= AG_REVOKE_ADMIN;
}

ag_err ag_store_revoke_family(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                              ag_revoke_reason reason)
{
    static const ag_err allowed[] = {AG_ERR_NOT_FOUND, AG_OK};
    if (!store_ok(st) || st->revoke_family == NULL ||
        !ag__store_str_ok(sid, sid_len, AG_SID_MAX_LEN) || !reason_ok(reason) || now <= 0)
        return AG_ERR_INVALID_ARGUMENT;
    return only(st->revoke_family(st, sid, sid_len, now, reason), allowed);
}

ag_err ag_store_revoke_subject(ag_store *st, const char *subject, size_t subject_len,
                               int64_t now, ag_revoke_reason reason, size_t *count)
{
    static const ag_err allowed[] = {AG_ERR_NOMEM, AG_OK};
    size_t n = 0;
    if (count != NULL)
        *count = 0;
    if (!store_ok(st) || st->revoke_subject == NULL ||
        !ag__store_str_ok(subject, subject_len, AG_SUBJECT_MAX_LEN) || !reason_ok(reason) ||
        now <= 0)
        return AG_ERR_INVALID_ARGUMENT;
    ag_err e = only(st->revoke_subject(st, subject, subject_len, now, reason, &n), allowed);
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
    ag_err e = only(st->purge_expired(st, now, &n), allowed);
    if (e == AG_OK && removed != NULL)
        *removed = n;
    return e;
}

ag_err ag_store_stats_get(ag_store *st, ag_store_stats *out)
{
    static const ag_err allowed[] = {AG_OK};
    if (!store_ok(st) || out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (st->stats == NULL)
        return AG_OK;
    return only(st->stats(st, out), allowed);
}

void ag_store_close(ag_store *st)
{
    if (st != NULL && st->close != NULL)
        st->close(st);
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — the PostgreSQL store: one row per session (ag_families).
 *
 * A small pool of libpq connections per store object (store_pg_conn.c),
 * statements prepared once per connection with binary bound parameters.
 * A rotation of the current token is one autocommit compare-and-set
 * UPDATE … RETURNING whose WHERE is ag_store_decide()'s "rotate" case;
 * anything else is a READ COMMITTED transaction that locks the row and asks
 * ag_store_decide() (store.c). A call is retried once on a reset
 * connection only when no commit was in flight, so an unknown outcome is
 * AG_ERR_STORE, never a reported success. Why, step by step:
 * docs/operations.md, "How a rotation stays atomic across instances" and
 * "When the database is unreachable". The schema is in
 * store_pg_schema.c, log_wait (LISTEN/NOTIFY) in store_pg_listen.c.
 *
 * @test tests/store/test_store_pg.c, tests/pg/test_pg.py
 */
#include "store_pg_int.h"

#ifndef AG_HAVE_POSTGRES

bool ag_store_pg_available(void)
{
    return false;
}

ag_err ag_store_pg_open(const ag_store_pg_config *cfg, ag_store **out)
{
    (void)cfg;
    if (out != NULL)
        *out = NULL;
    return AG_ERR_STATE;
}

#else

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

bool ag_store_pg_available(void)
{
    return true;
}

/* ---- statements ---------------------------------------------------------- */

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25

enum {
    Q_BEGIN = AG__PG_Q_BEGIN,
    Q_COMMIT = AG__PG_Q_COMMIT,
    Q_ROLLBACK = AG__PG_Q_ROLLBACK,
    Q_FAM,      /* family by sid */
    Q_FAM_LOCK, /* family by sid, row locked until commit */
    Q_CREATE,
    Q_CAS,   /* the one-statement rotation */
    Q_WRITE, /* the slow path's write of ag_store_decide's row */
    Q_REVOKE_FAM,
    Q_REVOKE_SUBJ,
    Q_EVICT,
    Q_PURGE,
    Q_COUNT,
    Q_LOG_ADD,
    Q_LOG_READ,
    Q_LOG_PURGE,
    Q_N
};

#define FAM_COLS                                                                                   \
    "sid, subject, created, expires, revoked_at, revoke_reason, generation, cur_hash,"             \
    " cur_issued, cur_expires, prev_hash, replays"

/* What a revocation does to a row: the same as ag__store_revoke_row. */
#define TOMBSTONE "cur_hash = NULL, prev_hash = NULL, replays = 0"

static const ag__pg_stmt stmts[Q_N] = {
    [Q_BEGIN] = {"ag_begin", "BEGIN ISOLATION LEVEL READ COMMITTED", 0, {0}},
    [Q_COMMIT] = {"ag_commit", "COMMIT", 0, {0}},
    [Q_ROLLBACK] = {"ag_rollback", "ROLLBACK", 0, {0}},
    [Q_FAM] = {"ag_fam", "SELECT " FAM_COLS " FROM ag_families WHERE sid = $1", 1, {OID_TEXT}},
    [Q_FAM_LOCK] = {"ag_fam_lock",
                    "SELECT " FAM_COLS " FROM ag_families WHERE sid = $1 FOR NO KEY UPDATE",
                    1,
                    {OID_TEXT}},
    [Q_CREATE] = {"ag_create",
                  "INSERT INTO ag_families (sid, subject, created, expires, generation,"
                  " cur_hash, cur_issued, cur_expires, prev_hash, replays)"
                  " VALUES ($1, $2, $3, $4, 0, $5, $6, $7, NULL, 0)"
                  " ON CONFLICT (sid) DO NOTHING",
                  7,
                  {OID_TEXT, OID_TEXT, OID_INT8, OID_INT8, OID_BYTEA, OID_INT8, OID_INT8}},
    /* ag_store_decide's case 3, refresh, and nothing else: same subject,
     * not revoked, neither the family nor the current token expired, the
     * presented hash is the current one. */
    [Q_CAS] = {"ag_cas",
               "UPDATE ag_families SET prev_hash = cur_hash, cur_hash = $4,"
               " generation = generation + 1, cur_issued = $5,"
               " cur_expires = LEAST($6, expires), replays = 0"
               " WHERE sid = $1 AND subject = $2 AND cur_hash = $3 AND revoked_at IS NULL"
               " AND expires > $5 AND cur_expires > $5"
               " RETURNING generation, cur_issued, cur_expires, expires",
               6,
               {OID_TEXT, OID_TEXT, OID_BYTEA, OID_BYTEA, OID_INT8, OID_INT8}},
    [Q_WRITE] = {"ag_write",
                 "UPDATE ag_families SET revoked_at = $2, revoke_reason = $3, generation = $4,"
                 " cur_hash = $5, cur_issued = $6, cur_expires = $7, prev_hash = $8,"
                 " replays = $9 WHERE sid = $1",
                 9,
                 {OID_TEXT, OID_INT8, OID_INT2, OID_INT8, OID_BYTEA, OID_INT8, OID_INT8, OID_BYTEA,
                  OID_INT4}},
    /* One self-committing statement: idempotent, the first revocation kept. */
    [Q_REVOKE_FAM] = {"ag_revoke_fam",
                      "UPDATE ag_families SET revoked_at = COALESCE(revoked_at, $2),"
                      " revoke_reason = CASE WHEN revoked_at IS NULL THEN $3 ELSE revoke_reason"
                      " END, " TOMBSTONE " WHERE sid = $1",
                      3,
                      {OID_TEXT, OID_INT8, OID_INT2}},
    [Q_REVOKE_SUBJ] = {"ag_revoke_subj",
                       "UPDATE ag_families SET revoked_at = $2, revoke_reason = $3, " TOMBSTONE
                       " WHERE subject = $1 AND revoked_at IS NULL"
                       " AND expires > $2 AND cur_expires > $2 RETURNING sid",
                       3,
                       {OID_TEXT, OID_INT8, OID_INT2}},
    /* The subject's live families beyond the `keep` first of: the login
     * just made ($4), then newest first (created, then sid bytewise, both
     * descending), ended in one statement. The outer WHERE is re-checked
     * on the newest row version, so a family revoked meanwhile is neither
     * revoked again nor reported. */
    [Q_EVICT] = {"ag_evict",
                 "UPDATE ag_families SET revoked_at = $3, revoke_reason = 5, " TOMBSTONE
                 " WHERE sid IN (SELECT sid FROM ag_families WHERE subject = $1"
                 " AND revoked_at IS NULL AND expires > $3 AND cur_expires > $3"
                 " ORDER BY COALESCE(sid = $4, false) DESC, created DESC, sid COLLATE \"C\" DESC"
                 " OFFSET $2)"
                 " AND revoked_at IS NULL AND expires > $3 AND cur_expires > $3 RETURNING sid",
                 4,
                 {OID_TEXT, OID_INT8, OID_INT8, OID_TEXT}},
    [Q_PURGE] = {"ag_purge",
                 "DELETE FROM ag_families WHERE LEAST(expires, cur_expires) <= $1",
                 1,
                 {OID_INT8}},
    [Q_COUNT] = {"ag_count", "SELECT count(*) FROM ag_families", 0, {0}},
    /* Appends commit in id order: each takes the same transaction-scoped
     * lock before its id is drawn, so a follower reading "id > last seen"
     * can never pass over an id that commits later. */
    /* The NOTIFY goes out when the row commits; its payload is the id
     * only (store_pg_listen.c). */
    [Q_LOG_ADD] = {"ag_log_add",
                   "WITH a AS (INSERT INTO ag_revocations (kind, key, at)"
                   " SELECT $1, $2, $3 FROM (SELECT pg_advisory_xact_lock(" AG__PG_LOG_LOCK ")) l"
                   " RETURNING id) SELECT pg_notify('" AG__PG_CHANNEL "', id::text) FROM a",
                   3,
                   {OID_INT2, OID_TEXT, OID_INT8}},
    [Q_LOG_READ] = {"ag_log_read",
                    "SELECT id, kind, key, at FROM ag_revocations WHERE id > $1 ORDER BY id"
                    " LIMIT $2",
                    2,
                    {OID_INT8, OID_INT8}},
    [Q_LOG_PURGE] = {"ag_log_purge", "DELETE FROM ag_revocations WHERE at < $1", 1, {OID_INT8}},
};

typedef struct pgstore {
    ag_store base; /* first */
    const ag_allocator *alloc;
    ag__pg_pool pool;
    ag__pg_listener listener; /* log_wait's own connection */
} pgstore;

/* ---- reading a row ------------------------------------------------------- */

/* A row of FAM_COLS. Anything out of range is corruption: AG_ERR_STORE
 * upstream, never a guess. */
static bool read_family(const PGresult *r, ag_store_family *f)
{
    int64_t reason = 0, gen = 0, replays = 0;
    bool has_cur = false;
    memset(f, 0, sizeof *f);
    if (!ag__pg_col_text(r, 0, 0, f->sid, &f->sid_len, AG_SID_MAX_LEN) ||
        !ag__pg_col_text(r, 0, 1, f->subject, &f->subject_len, AG_SUBJECT_MAX_LEN) ||
        !ag__pg_col_int(r, 0, 2, &f->created) || !ag__pg_col_int(r, 0, 3, &f->expires) ||
        !ag__pg_col_int(r, 0, 4, &f->revoked_at) || !ag__pg_col_int(r, 0, 5, &reason) ||
        reason < AG_REVOKE_NONE || reason > AG_REVOKE_EVICTED || !ag__pg_col_int(r, 0, 6, &gen) ||
        gen < 0 || !ag__pg_col_hash(r, 7, f->current, &has_cur) ||
        !ag__pg_col_int(r, 0, 8, &f->current_issued) ||
        !ag__pg_col_int(r, 0, 9, &f->current_expires) ||
        !ag__pg_col_hash(r, 10, f->previous, &f->has_previous) ||
        !ag__pg_col_int(r, 0, 11, &replays) || replays < 0 || replays > UINT32_MAX)
        return false;
    if ((f->revoked_at != 0) != (reason != AG_REVOKE_NONE))
        return false;
    f->reason = (ag_revoke_reason)reason;
    f->generation = (uint64_t)gen;
    f->replays = (uint32_t)replays;
    /* A live family without a current token (migrated from a chain whose
     * every token was used) keeps a zero hash: no token's SHA-256 is it,
     * so every token of that family is reuse. */
    return true;
}

static ag_err find_family(ag__pg_call *k, int q, const char *sid, size_t sid_len,
                          ag_store_family *f)
{
    ag__pg_params ps = {0};
    PGresult *r = NULL;
    ag__pg_p_bytes(&ps, sid, sid_len);
    ag_err e = ag__pg_one_row(k, q, &ps, &r);
    if (e == AG_OK && !read_family(r, f))
        e = AG_ERR_STORE;
    PQclear(r);
    return e;
}

/* ---- operations ---------------------------------------------------------- */

typedef struct create_args {
    const ag_store_family *fam;
} create_args;

static ag_err op_create(ag__pg_call *k, void *arg)
{
    const ag_store_family *fam = ((create_args *)arg)->fam;
    ag__pg_params ps = {0};
    size_t n = 0;
    ag__pg_p_bytes(&ps, fam->sid, fam->sid_len);
    ag__pg_p_bytes(&ps, fam->subject, fam->subject_len);
    ag__pg_p_i64(&ps, fam->created);
    ag__pg_p_i64(&ps, fam->expires);
    ag__pg_p_bytes(&ps, fam->current, AG_STORE_HASH_LEN);
    ag__pg_p_i64(&ps, fam->current_issued);
    ag__pg_p_i64(&ps, fam->current_expires);
    /* Self-committing: after a lost answer a retry would find its own
     * row and call it taken, so none is made. */
    k->commit_sent = true;
    if (!ag__pg_exec_count(k, Q_CREATE, &ps, &n))
        return AG_ERR_STORE;
    return n == 1 ? AG_OK : AG_ERR_EXISTS;
}

static ag_err pg_create(ag_store *st, const ag_store_family *fam, int64_t reclaim_before)
{
    (void)reclaim_before; /* unbounded: nothing to reclaim first */
    create_args a = {fam};
    return ag__pg_run(&((pgstore *)st)->pool, op_create, &a);
}

typedef struct rotate_args {
    const ag_store_rotation *rot;
    ag_store_rotated out;
} rotate_args;

/* The common case in one round trip. AG_OK when it rotated, AG_ERR_NOT_FOUND
 * when the row is not in the "rotate the current token" state (nothing
 * changed), AG_ERR_STORE otherwise — a lost answer included: the
 * statement may have committed. */
static ag_err rotate_cas(ag__pg_call *k, const ag_store_rotation *rot, ag_store_rotated *out)
{
    ag__pg_params ps = {0};
    ag__pg_p_bytes(&ps, rot->sid, rot->sid_len);
    ag__pg_p_bytes(&ps, rot->subject, rot->subject_len);
    ag__pg_p_bytes(&ps, rot->old_hash, AG_STORE_HASH_LEN);
    ag__pg_p_bytes(&ps, rot->new_hash, AG_STORE_HASH_LEN);
    ag__pg_p_i64(&ps, rot->now);
    ag__pg_p_i64(&ps, rot->new_expires);
    k->commit_sent = true; /* autocommit: its outcome is unknown until it answers */
    PGresult *r = ag__pg_exec(k, Q_CAS, &ps);
    if (r == NULL)
        return AG_ERR_STORE;
    k->commit_sent = false; /* it answered: the outcome is known */
    int n = PQntuples(r);
    int64_t gen = 0;
    ag_err e = n == 0 ? AG_ERR_NOT_FOUND : AG_ERR_STORE;
    if (n == 1 && ag__pg_col_int(r, 0, 0, &gen) && gen > 0 &&
        ag__pg_col_int(r, 0, 1, &out->issued) && ag__pg_col_int(r, 0, 2, &out->expires) &&
        ag__pg_col_int(r, 0, 3, &out->family_expires)) {
        out->outcome = AG_STORE_ROTATED;
        out->generation = (uint64_t)gen;
        e = AG_OK;
    } else if (n == 1) {
        /* It committed, but the answer makes no sense: do not report a
         * success the caller cannot use; a retry is reuse, as it should
         * be for a row we cannot read. */
        k->commit_sent = true;
    }
    PQclear(r);
    return e;
}

/* Writes the row ag_store_decide returned (a tombstone keeps no hash). */
static bool write_row(ag__pg_call *k, const ag_store_family *f)
{
    ag__pg_params ps = {0};
    bool revoked = f->revoked_at != 0;
    if (f->generation > INT64_MAX || f->replays > INT32_MAX)
        return false;
    ag__pg_p_bytes(&ps, f->sid, f->sid_len);
    if (revoked)
        ag__pg_p_i64(&ps, f->revoked_at);
    else
        ag__pg_p_null(&ps);
    ag__pg_p_i16(&ps, (int)f->reason);
    ag__pg_p_i64(&ps, (int64_t)f->generation);
    if (revoked)
        ag__pg_p_null(&ps);
    else
        ag__pg_p_bytes(&ps, f->current, AG_STORE_HASH_LEN);
    ag__pg_p_i64(&ps, f->current_issued);
    ag__pg_p_i64(&ps, f->current_expires);
    if (revoked || !f->has_previous)
        ag__pg_p_null(&ps);
    else
        ag__pg_p_bytes(&ps, f->previous, AG_STORE_HASH_LEN);
    ag__pg_p_i32(&ps, (int32_t)f->replays);
    size_t n = 0;
    return ag__pg_exec_count(k, Q_WRITE, &ps, &n) && n == 1;
}

/* Everything but the common case: lock the row, decide, write. */
static ag_err rotate_slow(ag__pg_call *k, const ag_store_rotation *rot, ag_store_rotated *out)
{
    ag_store_family cur, next;
    bool write = false;
    ag_err e = AG_ERR_STORE;
    memset(&cur, 0, sizeof cur);
    memset(&next, 0, sizeof next);
    if (!ag__pg_begin(k))
        goto out;
    ag_err fe = find_family(k, Q_FAM_LOCK, rot->sid, rot->sid_len, &cur);
    if (fe != AG_OK && fe != AG_ERR_NOT_FOUND)
        goto out;
    e = ag_store_decide(fe == AG_OK ? &cur : NULL, rot, &next, &write, out);
    if (write && (!write_row(k, &next) || !ag__pg_commit(k)))
        e = AG_ERR_STORE;
out:
    ag__pg_rollback(k);
    ag_cleanse(&cur, sizeof cur);
    ag_cleanse(&next, sizeof next);
    return e;
}

static ag_err op_rotate(ag__pg_call *k, void *arg)
{
    rotate_args *a = arg;
    if (a->rot->action == AG_STORE_REFRESH) {
        ag_err e = rotate_cas(k, a->rot, &a->out);
        if (e != AG_ERR_NOT_FOUND)
            return e;
    }
    return rotate_slow(k, a->rot, &a->out);
}

static ag_err pg_rotate(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out)
{
    rotate_args a;
    memset(&a, 0, sizeof a);
    a.rot = rot;
    ag_err e = ag__pg_run(&((pgstore *)st)->pool, op_rotate, &a);
    if (e == AG_OK)
        *out = a.out;
    return e;
}

typedef struct family_args {
    const char *sid;
    size_t sid_len;
    int64_t now;
    ag_revoke_reason reason;
    ag_store_family f;
} family_args;

static ag_err op_lookup_family(ag__pg_call *k, void *arg)
{
    family_args *a = arg;
    return find_family(k, Q_FAM, a->sid, a->sid_len, &a->f);
}

static ag_err pg_lookup_family(ag_store *st, const char *sid, size_t sid_len, ag_store_family *fam)
{
    family_args a;
    memset(&a, 0, sizeof a);
    a.sid = sid;
    a.sid_len = sid_len;
    ag_err e = ag__pg_run(&((pgstore *)st)->pool, op_lookup_family, &a);
    if (e == AG_OK)
        *fam = a.f;
    ag_cleanse(&a.f, sizeof a.f);
    return e;
}

static ag_err op_revoke_family(ag__pg_call *k, void *arg)
{
    family_args *a = arg;
    ag__pg_params ps = {0};
    size_t n = 0;
    ag__pg_p_bytes(&ps, a->sid, a->sid_len);
    ag__pg_p_i64(&ps, a->now);
    ag__pg_p_i16(&ps, (int)a->reason);
    /* Self-committing, but idempotent: a retry after an unknown outcome
     * gives the same state and the same answer, so commit_sent stays
     * false. */
    if (!ag__pg_exec_count(k, Q_REVOKE_FAM, &ps, &n))
        return AG_ERR_STORE;
    return n == 1 ? AG_OK : AG_ERR_NOT_FOUND;
}

static ag_err pg_revoke_family(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                               ag_revoke_reason reason)
{
    family_args a;
    memset(&a, 0, sizeof a);
    a.sid = sid;
    a.sid_len = sid_len;
    a.now = now;
    a.reason = reason;
    return ag__pg_run(&((pgstore *)st)->pool, op_revoke_family, &a);
}

typedef struct subject_args {
    const char *subject;
    size_t subject_len;
    int64_t now;
    ag_revoke_reason reason;
    size_t keep;
    const char *keep_sid; /* evict: never this one, counted first */
    size_t keep_sid_len;
    ag_store_sid_fn fn;
    void *ctx;
    size_t count;
} subject_args;

/* A committed write RETURNING sid: counts the rows and reports each sid. */
static ag_err report_sids(subject_args *a, PGresult *r)
{
    if (r == NULL)
        return AG_ERR_STORE;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        int len = PQgetlength(r, i, 0);
        const char *sid = PQgetvalue(r, i, 0);
        a->count++;
        if (a->fn != NULL && len > 0 && ag__store_str_ok(sid, (size_t)len, AG_SID_MAX_LEN))
            a->fn(a->ctx, sid, (size_t)len);
    }
    PQclear(r);
    return AG_OK;
}

static ag_err op_revoke_subject(ag__pg_call *k, void *arg)
{
    subject_args *a = arg;
    ag__pg_params ps = {0};
    ag__pg_p_bytes(&ps, a->subject, a->subject_len);
    ag__pg_p_i64(&ps, a->now);
    ag__pg_p_i16(&ps, (int)a->reason);
    k->commit_sent = true; /* self-committing; a retry would miscount */
    return report_sids(a, ag__pg_exec(k, Q_REVOKE_SUBJ, &ps));
}

static ag_err pg_revoke_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                                ag_revoke_reason reason, ag_store_sid_fn fn, void *ctx,
                                size_t *count)
{
    subject_args a = {subject, subject_len, now, reason, 0, NULL, 0, fn, ctx, 0};
    ag_err e = ag__pg_run(&((pgstore *)st)->pool, op_revoke_subject, &a);
    if (e == AG_OK)
        *count = a.count;
    return e;
}

static ag_err op_evict(ag__pg_call *k, void *arg)
{
    subject_args *a = arg;
    ag__pg_params ps = {0};
    ag__pg_p_bytes(&ps, a->subject, a->subject_len);
    ag__pg_p_i64(&ps, a->keep > INT64_MAX ? INT64_MAX : (int64_t)a->keep);
    ag__pg_p_i64(&ps, a->now);
    if (a->keep_sid_len > 0)
        ag__pg_p_bytes(&ps, a->keep_sid, a->keep_sid_len);
    else
        ag__pg_p_null(&ps);
    k->commit_sent = true; /* self-committing; a retry would not report the first */
    return report_sids(a, ag__pg_exec(k, Q_EVICT, &ps));
}

static ag_err pg_evict(ag_store *st, const char *subject, size_t subject_len, size_t keep,
                       const char *keep_sid, size_t keep_sid_len, int64_t now, ag_store_sid_fn fn,
                       void *ctx, size_t *count)
{
    subject_args a = {subject, subject_len, now, AG_REVOKE_EVICTED, keep, keep_sid, keep_sid_len,
                      fn,      ctx,         0};
    ag_err e = ag__pg_run(&((pgstore *)st)->pool, op_evict, &a);
    if (e == AG_OK)
        *count = a.count;
    return e;
}

typedef struct purge_args {
    int64_t now;
    size_t removed;
} purge_args;

static ag_err op_purge(ag__pg_call *k, void *arg)
{
    purge_args *a = arg;
    ag__pg_params ps = {0};
    ag__pg_p_i64(&ps, a->now);
    /* Idempotent (deleting the dead again deletes nothing), so a retry
     * is harmless; only the count of a lost first answer is missed. */
    return ag__pg_exec_count(k, Q_PURGE, &ps, &a->removed) ? AG_OK : AG_ERR_STORE;
}

static ag_err pg_purge(ag_store *st, int64_t now, size_t *removed)
{
    purge_args a = {now, 0};
    ag_err e = ag__pg_run(&((pgstore *)st)->pool, op_purge, &a);
    if (e == AG_OK)
        *removed = a.removed;
    return e;
}

static ag_err op_stats(ag__pg_call *k, void *arg)
{
    ag_store_stats *s = arg;
    PGresult *r = NULL;
    int64_t f = 0;
    ag_err e = ag__pg_one_row(k, Q_COUNT, NULL, &r);
    if (e == AG_OK && (!ag__pg_col_int(r, 0, 0, &f) || f < 0))
        e = AG_ERR_STORE;
    PQclear(r);
    if (e == AG_OK)
        s->families = (size_t)f;
    return e == AG_ERR_NOT_FOUND ? AG_ERR_STORE : e;
}

static ag_err pg_stats(ag_store *st, ag_store_stats *out)
{
    ag_store_stats s;
    memset(&s, 0, sizeof s);
    ag_err e = ag__pg_run(&((pgstore *)st)->pool, op_stats, &s);
    if (e == AG_OK) { /* the counts only: out's size is its owner's */
        out->families = s.families;
        out->capacity = s.capacity;
        out->bytes = s.bytes;
    }
    return e;
}

/* ---- the revocation log --------------------------------------------------- */

typedef struct log_args {
    const ag_store_revocation *in;
    uint64_t after;
    int64_t before;
    ag_store_revocation *out;
    size_t cap;
    size_t n;
} log_args;

static ag_err op_log_append(ag__pg_call *k, void *arg)
{
    const ag_store_revocation *r = ((log_args *)arg)->in;
    ag__pg_params ps = {0};
    ag__pg_p_i16(&ps, (int)r->kind);
    ag__pg_p_bytes(&ps, r->key, r->key_len);
    ag__pg_p_i64(&ps, r->at);
    k->commit_sent = true; /* a retry could log it twice */
    return ag__pg_exec_ok(k, Q_LOG_ADD, &ps) ? AG_OK : AG_ERR_STORE;
}

static ag_err pg_log_append(ag_store *st, const ag_store_revocation *e)
{
    if ((e->kind != AG_STORE_REV_SID && e->kind != AG_STORE_REV_SUBJECT) ||
        !ag__store_str_ok(e->key, e->key_len, AG_SUBJECT_MAX_LEN))
        return AG_ERR_STORE;
    log_args a = {.in = e};
    return ag__pg_run(&((pgstore *)st)->pool, op_log_append, &a);
}

static ag_err op_log_read(ag__pg_call *k, void *arg)
{
    log_args *a = arg;
    ag__pg_params ps = {0};
    ag__pg_p_i64(&ps, (int64_t)a->after);
    ag__pg_p_i64(&ps, (int64_t)a->cap);
    PGresult *r = ag__pg_exec(k, Q_LOG_READ, &ps);
    if (r == NULL)
        return AG_ERR_STORE;
    ag_err e = AG_OK;
    int rows = PQntuples(r);
    a->n = 0;
    for (int i = 0; i < rows && e == AG_OK && a->n < a->cap; i++) {
        ag_store_revocation *o = &a->out[a->n];
        int64_t id = 0, kind = 0;
        memset(o, 0, sizeof *o);
        if (!ag__pg_col_int(r, i, 0, &id) || id <= 0 || !ag__pg_col_int(r, i, 1, &kind) ||
            (kind != AG_STORE_REV_SID && kind != AG_STORE_REV_SUBJECT) ||
            !ag__pg_col_text(r, i, 2, o->key, &o->key_len, AG_SUBJECT_MAX_LEN) ||
            !ag__pg_col_int(r, i, 3, &o->at)) {
            e = AG_ERR_STORE;
            break;
        }
        o->id = (uint64_t)id;
        o->kind = (ag_store_rev_kind)kind;
        a->n++;
    }
    PQclear(r);
    if (e != AG_OK)
        a->n = 0;
    return e;
}

static ag_err pg_log_read(ag_store *st, uint64_t after, ag_store_revocation *out, size_t cap,
                          size_t *n)
{
    *n = 0;
    if (after > INT64_MAX || cap > INT32_MAX)
        return AG_ERR_STORE;
    if (cap == 0)
        return AG_OK;
    log_args a = {.after = after, .out = out, .cap = cap};
    ag_err e = ag__pg_run(&((pgstore *)st)->pool, op_log_read, &a);
    if (e == AG_OK)
        *n = a.n;
    return e;
}

static ag_err op_log_purge(ag__pg_call *k, void *arg)
{
    log_args *a = arg;
    ag__pg_params ps = {0};
    ag__pg_p_i64(&ps, a->before);
    /* idempotent: a retry deletes nothing more */
    return ag__pg_exec_count(k, Q_LOG_PURGE, &ps, &a->n) ? AG_OK : AG_ERR_STORE;
}

static ag_err pg_log_purge(ag_store *st, int64_t before, size_t *removed)
{
    log_args a = {.before = before};
    ag_err e = ag__pg_run(&((pgstore *)st)->pool, op_log_purge, &a);
    if (e == AG_OK && removed != NULL)
        *removed = a.n;
    return e;
}

static ag_err pg_log_wait(ag_store *st, int timeout_ms)
{
    pgstore *p = (pgstore *)st;
    return ag__pg_listen_wait(&p->listener, &p->pool, timeout_ms);
}

static void pg_close(ag_store *st)
{
    pgstore *p = (pgstore *)st;
    ag__pg_listen_close(&p->listener);
    for (size_t i = 0; i < p->pool.n; i++)
        PQfinish(p->pool.conns[i].c);
    pthread_cond_destroy(&p->pool.cv);
    pthread_mutex_destroy(&p->pool.mu);
    ag__free(p->alloc, p->pool.freelist);
    ag__free(p->alloc, p->pool.conns);
    ag__free(p->alloc, p);
}

ag__pg_pool *ag__pg_pool_of(ag_store *st)
{
    return &((pgstore *)st)->pool;
}

/* ---- opening (connecting and the schema: store_pg_schema.c) ------------ */

ag_err ag_store_pg_open(const ag_store_pg_config *cfg, ag_store **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ag_store_pg_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    if (cfg == NULL || cfg->conninfo == NULL || cfg->conninfo[0] == '\0' ||
        cfg->statement_timeout_ms < 0 || cfg->connect_timeout_s < 0 || cfg->pool_size > 1024)
        return AG_ERR_INVALID_ARGUMENT;
    size_t n = cfg->pool_size != 0 ? cfg->pool_size : 4;
    pgstore *p = ag__calloc(cfg->alloc, sizeof *p);
    if (p == NULL)
        return AG_ERR_NOMEM;
    p->alloc = cfg->alloc;
    p->pool.conns = ag__calloc(cfg->alloc, n * sizeof *p->pool.conns);
    p->pool.freelist = ag__calloc(cfg->alloc, n * sizeof *p->pool.freelist);
    if (p->pool.conns == NULL || p->pool.freelist == NULL) {
        ag__free(p->alloc, p->pool.conns);
        ag__free(p->alloc, p->pool.freelist);
        ag__free(p->alloc, p);
        return AG_ERR_NOMEM;
    }
    snprintf(p->pool.timeout, sizeof p->pool.timeout, "%d",
             cfg->statement_timeout_ms > 0 ? cfg->statement_timeout_ms : 5000);
    pthread_mutex_init(&p->pool.mu, NULL);
    pthread_cond_init(&p->pool.cv, NULL);
    p->pool.n = n;
    p->pool.stmts = stmts;
    p->pool.nstmts = Q_N;

    ag_err e = AG_OK;
    for (size_t i = 0; i < n && e == AG_OK; i++) {
        PGconn *c = ag__pg_connect(cfg);
        p->pool.conns[i].c = c;
        if (c == NULL)
            e = AG_ERR_NOMEM;
        else if (PQstatus(c) != CONNECTION_OK || !ag__pg_conn_session(&p->pool, c))
            e = AG_ERR_STORE;
        else if (i == 0)
            e = ag__pg_prepare_schema(c); /* before preparing: the tables may not exist yet */
        if (e == AG_OK && !ag__pg_conn_prepare(&p->pool, c))
            e = AG_ERR_STORE;
        p->pool.conns[i].ready = e == AG_OK;
        p->pool.freelist[p->pool.nfree++] = &p->pool.conns[i];
    }
    if (e != AG_OK) {
        pg_close(&p->base);
        return e;
    }
    p->base.version = AG_STORE_INTERFACE_VERSION;
    p->base.name = "postgres";
    p->base.ctx = p;
    p->base.create = pg_create;
    p->base.rotate = pg_rotate;
    p->base.lookup_family = pg_lookup_family;
    p->base.revoke_family = pg_revoke_family;
    p->base.revoke_subject = pg_revoke_subject;
    p->base.evict = pg_evict;
    p->base.list_subject = ag__pg_list_subject;
    p->base.purge_expired = pg_purge;
    p->base.stats = pg_stats;
    p->base.log_append = pg_log_append;
    p->base.log_read = pg_log_read;
    p->base.log_purge = pg_log_purge;
    p->base.log_wait = pg_log_wait;
    p->base.close = pg_close;
    *out = &p->base;
    return AG_OK;
}

#endif /* AG_HAVE_POSTGRES */

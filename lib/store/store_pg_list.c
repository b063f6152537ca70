/* SPDX-License-Identifier: MIT */
/*
 * authgate — PostgreSQL store: listing a subject's live sessions
 * (list_subject). One read-only statement with bound binary parameters;
 * it selects no hash column, so nothing that identifies a token leaves
 * the database for a listing.
 */
#include "store_pg_int.h"

#ifdef AG_HAVE_POSTGRES

#include <string.h>

#include <libpq-fe.h>

#define OID_INT8 20
#define OID_TEXT 25

/* Live at $2: the same test as ag_store_family_live. Oldest first; sids
 * compare bytewise, like the other backends. */
static const char list_sql[] =
    "SELECT sid, subject, created, expires, generation, cur_issued, cur_expires"
    " FROM ag_families WHERE subject = $1 AND revoked_at IS NULL"
    " AND expires > $2 AND cur_expires > $2 ORDER BY created, sid COLLATE \"C\"";

typedef struct list_args {
    const char *subject;
    size_t subject_len;
    int64_t now;
    ag_store_family *out;
    size_t cap;
    size_t n, total;
} list_args;

static bool read_row(const PGresult *r, int row, ag_store_family *f)
{
    int64_t gen = 0;
    memset(f, 0, sizeof *f);
    return ag__pg_col_text(r, row, 0, f->sid, &f->sid_len, AG_SID_MAX_LEN) &&
           ag__pg_col_text(r, row, 1, f->subject, &f->subject_len, AG_SUBJECT_MAX_LEN) &&
           ag__pg_col_int(r, row, 2, &f->created) && ag__pg_col_int(r, row, 3, &f->expires) &&
           ag__pg_col_int(r, row, 4, &gen) && gen >= 0 &&
           ag__pg_col_int(r, row, 5, &f->current_issued) &&
           ag__pg_col_int(r, row, 6, &f->current_expires) &&
           ((f->generation = (uint64_t)gen), true);
}

static ag_err op_list(ag__pg_call *k, void *arg)
{
    list_args *a = arg;
    static const Oid types[2] = {OID_TEXT, OID_INT8};
    ag__pg_params ps = {0};
    ag__pg_p_bytes(&ps, a->subject, a->subject_len);
    ag__pg_p_i64(&ps, a->now);
    /* PQexecParams: an unnamed statement, parameters bound, binary results */
    PGresult *r = PQexecParams(k->c, list_sql, ps.n, types, ps.v, ps.len, ps.fmt, 1);
    a->n = a->total = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        if (PQstatus(k->c) != CONNECTION_OK)
            k->broken = true; /* read-only: the pool may retry on a fresh connection */
        return AG_ERR_STORE;
    }
    int rows = PQntuples(r);
    ag_err e = AG_OK;
    for (int i = 0; i < rows && e == AG_OK; i++) {
        ag_store_family f;
        if (!read_row(r, i, &f))
            e = AG_ERR_STORE;
        else if (a->n < a->cap)
            a->out[a->n++] = f;
    }
    a->total = (size_t)rows;
    PQclear(r);
    return e;
}

ag_err ag__pg_list_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                           ag_store_family *out, size_t cap, size_t *n, size_t *total)
{
    list_args a = {subject, subject_len, now, out, cap, 0, 0};
    ag_err e = ag__pg_run(ag__pg_pool_of(st), op_list, &a);
    *n = e == AG_OK ? a.n : 0;
    *total = e == AG_OK ? a.total : 0;
    return e;
}

#else

typedef int ag__pg_list_unused; /* ISO C wants a translation unit to declare something */

#endif /* AG_HAVE_POSTGRES */

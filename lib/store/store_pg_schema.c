/* SPDX-License-Identifier: MIT */
/*
 * authgate — the PostgreSQL store's schema: the migration chain (the same
 * ids and parents as the SQLite store's), connecting, and inspecting and
 * migrating a database at open. Migrations of all instances serialise on
 * one transaction-scoped advisory lock; a schema stamped with a version
 * this build does not know is refused untouched.
 *
 * @test tests/store/test_store_pg.c, tests/pg/test_pg.py
 */
#include "store_pg_int.h"

#ifndef AG_HAVE_POSTGRES

const ag__migration *ag__pg_migrations(size_t *count)
{
    *count = 0;
    return NULL;
}

#else

#include <stdio.h>
#include <string.h>

/* ---- the migration chain (same ids as store_sqlite.c) -------------------- */

static const char *const m1_absent[] = {"ag_schema", "ag_families", "ag_tokens", NULL};
static const char *const m2_absent[] = {"ag_tokens_live", "ag_tokens_sid", "ag_families_subject",
                                        "ag_tokens_expires", NULL};
static const char *const m2_columns[] = {"ag_tokens.sid", "ag_tokens.used_at", "ag_tokens.expires",
                                         "ag_families.subject", NULL};

static const char *const m3_absent[] = {"ag_families_subject_created", NULL};
static const char *const m3_columns[] = {"ag_tokens.jti_hash",        "ag_tokens.sid",
                                         "ag_tokens.generation",      "ag_tokens.issued",
                                         "ag_tokens.expires",         "ag_tokens.used_at",
                                         "ag_tokens.successor",       "ag_families.sid",
                                         "ag_families.expires",       "ag_families.revoked_at",
                                         "ag_families.revoke_reason", NULL};

static const char *const m4_absent[] = {"ag_revocations", "ag_revocations_at",
                                        "ag_revocations_id_seq", NULL};
static const char *const m4_columns[] = {"ag_families.cur_hash", NULL};

static const ag__migration migrations[] = {
    {"0001_initial", NULL,
     "CREATE TABLE ag_schema ("
     " seq integer PRIMARY KEY,"
     " id text NOT NULL UNIQUE,"
     " applied_at bigint NOT NULL);"
     "CREATE TABLE ag_families ("
     " sid text PRIMARY KEY,"
     " subject text NOT NULL,"
     " created bigint NOT NULL,"
     " expires bigint NOT NULL,"
     " revoked_at bigint,"
     " revoke_reason smallint NOT NULL DEFAULT 0 CHECK (revoke_reason BETWEEN 0 AND 4));"
     "CREATE TABLE ag_tokens ("
     " jti_hash bytea PRIMARY KEY CHECK (octet_length(jti_hash) = 32),"
     " sid text NOT NULL REFERENCES ag_families(sid),"
     " generation bigint NOT NULL CHECK (generation >= 0),"
     " issued bigint NOT NULL,"
     " expires bigint NOT NULL,"
     " used_at bigint,"
     " successor bytea CHECK (successor IS NULL OR octet_length(successor) = 32),"
     " CHECK ((used_at IS NULL) = (successor IS NULL)));",
     m1_absent, NULL},
    {"0002_indexes", "0001_initial",
     /* At most one unused row per family, enforced by the database itself.
      * ag_tokens_sid serves the foreign key (a family delete probes it)
      * and the purge's "family without rows". */
     "CREATE UNIQUE INDEX ag_tokens_live ON ag_tokens(sid) WHERE used_at IS NULL;"
     "CREATE INDEX ag_tokens_sid ON ag_tokens(sid);"
     "CREATE INDEX ag_tokens_expires ON ag_tokens(expires);"
     "CREATE INDEX ag_families_subject ON ag_families(subject);",
     m2_absent, m2_columns},
    {"0003_sessions", "0002_indexes",
     /* One row per session: the family row takes the rotation state and
      * the token rows go. Every live session is kept: its unused row
      * becomes the current token, the row whose successor that is becomes
      * the previous one (so a replay inside the interval still works). A
      * family whose every row was used keeps no current token (any of its
      * tokens is reuse), its cur_expires the latest expiry of its rows so
      * it stays until its last token could verify; a revoked one is a
      * tombstone (no hash). The same steps as the SQLite chain's 0003;
      * the reason CHECK is recreated to take AG_REVOKE_EVICTED. */
     "ALTER TABLE ag_families"
     " ADD COLUMN generation bigint NOT NULL DEFAULT 0 CHECK (generation >= 0),"
     " ADD COLUMN cur_hash bytea CHECK (cur_hash IS NULL OR octet_length(cur_hash) = 32),"
     " ADD COLUMN cur_issued bigint NOT NULL DEFAULT 0,"
     " ADD COLUMN cur_expires bigint NOT NULL DEFAULT 0,"
     " ADD COLUMN prev_hash bytea CHECK (prev_hash IS NULL OR octet_length(prev_hash) = 32),"
     " ADD COLUMN replays integer NOT NULL DEFAULT 0 CHECK (replays >= 0),"
     " DROP CONSTRAINT ag_families_revoke_reason_check,"
     " ADD CONSTRAINT ag_families_revoke_reason_check CHECK (revoke_reason BETWEEN 0 AND 5);"
     "UPDATE ag_families f SET generation = m.g, cur_expires = m.e"
     " FROM (SELECT sid, max(generation) AS g, max(expires) AS e FROM ag_tokens GROUP BY sid) m"
     " WHERE m.sid = f.sid;"
     "UPDATE ag_families f SET generation = t.generation, cur_hash = t.jti_hash,"
     " cur_issued = t.issued, cur_expires = t.expires"
     " FROM ag_tokens t WHERE t.sid = f.sid AND t.used_at IS NULL;"
     "UPDATE ag_families f SET prev_hash = p.jti_hash FROM ag_tokens p"
     " WHERE p.sid = f.sid AND p.successor = f.cur_hash;"
     "UPDATE ag_families SET cur_hash = NULL, prev_hash = NULL WHERE revoked_at IS NOT NULL;"
     "DROP TABLE ag_tokens;"
     "DROP INDEX ag_families_subject;"
     /* serves revoke-subject and the session cap's newest-first walk */
     "CREATE INDEX ag_families_subject_created ON ag_families(subject, created);"
     /* room for HOT updates: a rotation changes no indexed column */
     "ALTER TABLE ag_families SET (fillfactor = 80);",
     m3_absent, m3_columns},
    {"0004_revocations", "0003_sessions",
     /* The revocation log other instances follow: one row per revoked sid
      * or subject, purged once expired. */
     "CREATE TABLE ag_revocations ("
     " id bigserial PRIMARY KEY,"
     " kind smallint NOT NULL CHECK (kind IN (1, 2)),"
     " key text NOT NULL,"
     " at bigint NOT NULL);"
     "CREATE INDEX ag_revocations_at ON ag_revocations(at);",
     m4_absent, m4_columns},
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

/* What a migration's DDL alters or drops by name, beyond the shared
 * columns list: objects (pg_class) and constraints (pg_constraint) that
 * must exist, columns that must not. Indexed like migrations[]. */
typedef struct pg_extra {
    const char *const *present;     /* tables, indexes */
    const char *const *constraints; /* "table.constraint" */
    const char *const *new_columns; /* "table.column" that must be absent */
} pg_extra;

static const char *const m3_present[] = {"ag_tokens", "ag_families_subject", NULL};
static const char *const m3_constraints[] = {"ag_families.ag_families_revoke_reason_check", NULL};
static const char *const m3_new_columns[] = {"ag_families.generation",
                                             "ag_families.cur_hash",
                                             "ag_families.cur_issued",
                                             "ag_families.cur_expires",
                                             "ag_families.prev_hash",
                                             "ag_families.replays",
                                             NULL};

static const pg_extra extras[NMIGRATIONS] = {
    {NULL, NULL, NULL},
    {NULL, NULL, NULL},
    {m3_present, m3_constraints, m3_new_columns},
    {NULL, NULL, NULL},
};

/* pg_advisory_xact_lock key serialising migrations across instances
 * ("agschema" in ASCII). */
#define MIGRATION_LOCK INT64_C(0x6167736368656d61)

const ag__migration *ag__pg_migrations(size_t *count)
{
    *count = NMIGRATIONS;
    return migrations;
}

/* ---- connect, inspect, migrate ------------------------------------------- */

PGconn *ag__pg_connect(const ag_store_pg_config *cfg)
{
    char ct[16];
    snprintf(ct, sizeof ct, "%d", cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 5);
    /* Defaults first: the expanded conninfo (dbname) overrides them. */
    const char *const keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                                NULL};
    const char *const vals[] = {ct, "authgate", "UTF8", cfg->conninfo, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

/* Runs a catalog probe with text parameters; *yes when it returned a row. */
static ag_err probe(PGconn *c, const char *sql, const char *a, const char *b, bool *yes)
{
    const char *v[2] = {a, b};
    int n = a == NULL ? 0 : b == NULL ? 1 : 2;
    PGresult *r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
    ag_err e = AG_ERR_STORE;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        *yes = PQntuples(r) > 0;
        e = AG_OK;
    }
    PQclear(r);
    return e;
}

/* A table or index of ours exists in the schema we work in. */
static ag_err object_exists(PGconn *c, const char *name, bool *yes)
{
    return probe(c,
                 "SELECT 1 FROM pg_catalog.pg_class c"
                 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                 " WHERE n.nspname = current_schema() AND c.relname = $1",
                 name, NULL, yes);
}

/* "table.column" exists, by information_schema. */
static ag_err column_exists(PGconn *c, const char *tc, bool *yes)
{
    char table[64];
    const char *dot = strchr(tc, '.');
    if (dot == NULL || (size_t)(dot - tc) >= sizeof table)
        return AG_ERR_STORE;
    memcpy(table, tc, (size_t)(dot - tc));
    table[dot - tc] = '\0';
    return probe(c,
                 "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                 " AND table_name = $1 AND column_name = $2",
                 table, dot + 1, yes);
}

/*
 * Reads which migrations the schema has applied (*applied: the length of
 * the chain prefix found). AG_ERR_STORE for no usable schema or a foreign
 * version table, AG_ERR_STORE_VERSION for a stamp this build does not
 * know. Reads only.
 */
static ag_err inspect(PGconn *c, size_t *applied)
{
    bool has = false;
    ag_err e = probe(c, "SELECT 1 WHERE current_schema() IS NOT NULL", NULL, NULL, &has);
    if (e != AG_OK || !has)
        return AG_ERR_STORE; /* search_path names no existing schema */
    *applied = 0;
    if ((e = object_exists(c, "ag_schema", &has)) != AG_OK)
        return e;
    if (!has)
        return AG_OK; /* nothing of ours: the chain's preconditions decide */
    bool c1 = false, c2 = false;
    if ((e = column_exists(c, "ag_schema.seq", &c1)) != AG_OK ||
        (e = column_exists(c, "ag_schema.id", &c2)) != AG_OK)
        return e;
    if (!c1 || !c2)
        return AG_ERR_STORE;
    PGresult *r =
        PQexecParams(c, "SELECT id FROM ag_schema ORDER BY seq", 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return AG_ERR_STORE;
    }
    size_t n = (size_t)PQntuples(r);
    e = n == 0 ? AG_ERR_STORE_VERSION : AG_OK; /* a version table with no stamp */
    for (size_t i = 0; e == AG_OK && i < n; i++) {
        const char *id = PQgetvalue(r, (int)i, 0);
        size_t len = (size_t)PQgetlength(r, (int)i, 0);
        if (i >= NMIGRATIONS || len != strlen(migrations[i].id) ||
            memcmp(id, migrations[i].id, len) != 0)
            e = AG_ERR_STORE_VERSION; /* newer, unknown or out of order */
    }
    PQclear(r);
    *applied = n;
    return e;
}

/* "table.constraint" exists on our table, by pg_constraint. */
static ag_err constraint_exists(PGconn *c, const char *tc, bool *yes)
{
    char table[64];
    const char *dot = strchr(tc, '.');
    if (dot == NULL || (size_t)(dot - tc) >= sizeof table)
        return AG_ERR_STORE;
    memcpy(table, tc, (size_t)(dot - tc));
    table[dot - tc] = '\0';
    return probe(c,
                 "SELECT 1 FROM pg_catalog.pg_constraint k"
                 " JOIN pg_catalog.pg_class c ON c.oid = k.conrelid"
                 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                 " WHERE n.nspname = current_schema() AND c.relname = $1 AND k.conname = $2",
                 table, dot + 1, yes);
}

/* Each name of `names` exists (want true) or not (want false). */
static ag_err all_are(PGconn *c, ag_err (*exists)(PGconn *, const char *, bool *),
                      const char *const *names, bool want)
{
    bool yes = false;
    ag_err e;
    for (; names != NULL && *names != NULL; names++) {
        if ((e = exists(c, *names, &yes)) != AG_OK)
            return e;
        if (yes != want)
            return AG_ERR_STORE;
    }
    return AG_OK;
}

static ag_err check_preconditions(PGconn *c, size_t i)
{
    const ag__migration *m = &migrations[i];
    const pg_extra *x = &extras[i];
    ag_err e;
    if ((e = all_are(c, object_exists, x->present, true)) != AG_OK ||
        (e = all_are(c, constraint_exists, x->constraints, true)) != AG_OK ||
        (e = all_are(c, column_exists, x->new_columns, false)) != AG_OK)
        return e;
    bool yes = false;
    for (const char *const *a = m->absent; a != NULL && *a != NULL; a++) {
        if ((e = object_exists(c, *a, &yes)) != AG_OK)
            return e;
        if (yes)
            return AG_ERR_STORE;
    }
    for (const char *const *col = m->columns; col != NULL && *col != NULL; col++) {
        if ((e = column_exists(c, *col, &yes)) != AG_OK)
            return e;
        if (!yes)
            return AG_ERR_STORE;
    }
    return AG_OK;
}

static bool exec_static(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

/* Applies what is missing, in one transaction, under the advisory lock
 * that serialises every instance's migrations. */
static ag_err migrate(PGconn *c)
{
    char key[24], seq[24];
    snprintf(key, sizeof key, "%lld", (long long)MIGRATION_LOCK);
    const char *kv[1] = {key};
    if (!exec_static(c, "BEGIN ISOLATION LEVEL READ COMMITTED"))
        return AG_ERR_STORE;
    PGresult *r =
        PQexecParams(c, "SELECT pg_advisory_xact_lock($1::bigint)", 1, NULL, kv, NULL, NULL, 0);
    ag_err e = PQresultStatus(r) == PGRES_TUPLES_OK ? AG_OK : AG_ERR_STORE;
    PQclear(r);
    size_t applied = 0;
    if (e == AG_OK)
        e = inspect(c, &applied); /* again, under the lock: another may have won */
    for (size_t i = applied; e == AG_OK && i < NMIGRATIONS; i++) {
        e = check_preconditions(c, i);
        if (e == AG_OK && !exec_static(c, migrations[i].ddl))
            e = AG_ERR_STORE;
        if (e != AG_OK)
            break;
        snprintf(seq, sizeof seq, "%zu", i + 1);
        const char *v[2] = {seq, migrations[i].id};
        r = PQexecParams(c,
                         "INSERT INTO ag_schema (seq, id, applied_at)"
                         " VALUES ($1::integer, $2, extract(epoch from now())::bigint)",
                         2, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            e = AG_ERR_STORE;
        PQclear(r);
    }
    if (e == AG_OK) {
        r = PQexec(c, "COMMIT");
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
        PQclear(r);
        if (ok)
            return AG_OK;
        e = AG_ERR_STORE;
    }
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        (void)exec_static(c, "ROLLBACK");
    return e;
}

/* Inspects, migrates when needed, and checks the result. */
ag_err ag__pg_prepare_schema(PGconn *c)
{
    size_t applied = 0;
    ag_err e = inspect(c, &applied); /* look before touching */
    if (e == AG_OK && applied < NMIGRATIONS)
        e = migrate(c);
    if (e == AG_OK && (e = inspect(c, &applied)) == AG_OK && applied != NMIGRATIONS)
        e = AG_ERR_STORE;
    return e;
}

#endif /* AG_HAVE_POSTGRES */

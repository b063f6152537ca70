/* SPDX-License-Identifier: MIT */
/*
 * authgate — the SQLite store's schema: the migration chain, and what
 * opening does before the store is usable (store_sqlite.c has the rest).
 *
 * Opening never writes before it has inspected the file: a file that is
 * not a database, a database with foreign tables, or one stamped with a
 * migration this build does not know is refused and left untouched.
 *
 * @test tests/store/test_store_sqlite.c
 */
#include "store_sqlite_int.h"

#ifndef AG_HAVE_SQLITE

const ag__migration *ag__sqlite_migrations(size_t *count)
{
    *count = 0;
    return NULL;
}

#else

#include <string.h>

/* ---- the migration chain ------------------------------------------------ */

static const char *const m1_absent[] = {"ag_schema", "ag_families", "ag_tokens", NULL};
static const char *const m2_absent[] = {"ag_tokens_live", "ag_families_subject",
                                        "ag_tokens_expires", NULL};
static const char *const m2_columns[] = {"ag_tokens.sid", "ag_tokens.used_at", "ag_tokens.expires",
                                         "ag_families.subject", NULL};

static const char *const m3_absent[] = {"ag_families_subject_created", NULL};
static const char *const m3_columns[] = {"ag_tokens.jti_hash", "ag_tokens.successor",
                                         "ag_tokens.generation", "ag_families.revoke_reason", NULL};

static const char *const m4_absent[] = {"ag_revocations", "ag_revocations_at", NULL};
static const char *const m4_columns[] = {"ag_families.cur_hash", NULL};

static const ag__migration migrations[] = {
    {"0001_initial", NULL,
     "CREATE TABLE ag_schema ("
     " seq INTEGER PRIMARY KEY,"
     " id TEXT NOT NULL UNIQUE,"
     " applied_at INTEGER NOT NULL);"
     "CREATE TABLE ag_families ("
     " sid TEXT PRIMARY KEY NOT NULL,"
     " subject TEXT NOT NULL,"
     " created INTEGER NOT NULL,"
     " expires INTEGER NOT NULL,"
     " revoked_at INTEGER,"
     " revoke_reason INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
     "CREATE TABLE ag_tokens ("
     " jti_hash BLOB PRIMARY KEY NOT NULL CHECK (length(jti_hash) = 32),"
     " sid TEXT NOT NULL REFERENCES ag_families(sid),"
     " generation INTEGER NOT NULL,"
     " issued INTEGER NOT NULL,"
     " expires INTEGER NOT NULL,"
     " used_at INTEGER,"
     " successor BLOB CHECK (successor IS NULL OR length(successor) = 32),"
     " CHECK ((used_at IS NULL) = (successor IS NULL))) WITHOUT ROWID;",
     m1_absent, NULL},
    {"0002_indexes", "0001_initial",
     /* At most one unused row per family, enforced by the database itself:
      * a fork can never be committed, whatever the code above does. */
     "CREATE UNIQUE INDEX ag_tokens_live ON ag_tokens(sid) WHERE used_at IS NULL;"
     "CREATE INDEX ag_tokens_expires ON ag_tokens(expires);"
     "CREATE INDEX ag_families_subject ON ag_families(subject);",
     m2_absent, m2_columns},
    {"0003_sessions", "0002_indexes",
     /* One row per session (interface version 2): the family row takes
      * its current token and the one before it from the token rows, which
      * go. Every live session survives: its unused row becomes current,
      * the row that names it as successor becomes previous (so a used
      * token still counts as reuse, and the previous one as a replay). */
     "ALTER TABLE ag_families ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE ag_families ADD COLUMN cur_hash BLOB"
     " CHECK (cur_hash IS NULL OR length(cur_hash) = 32);"
     "ALTER TABLE ag_families ADD COLUMN cur_issued INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE ag_families ADD COLUMN cur_expires INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE ag_families ADD COLUMN prev_hash BLOB"
     " CHECK (prev_hash IS NULL OR length(prev_hash) = 32);"
     "ALTER TABLE ag_families ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;"
     "UPDATE ag_families SET (generation, cur_hash, cur_issued, cur_expires) ="
     " (SELECT t.generation, t.jti_hash, t.issued, t.expires FROM ag_tokens t"
     "  WHERE t.sid = ag_families.sid AND t.used_at IS NULL)"
     " WHERE EXISTS (SELECT 1 FROM ag_tokens t"
     "  WHERE t.sid = ag_families.sid AND t.used_at IS NULL);"
     "UPDATE ag_families SET (generation, cur_expires) ="
     " (SELECT max(t.generation), max(t.expires) FROM ag_tokens t"
     "  WHERE t.sid = ag_families.sid)"
     " WHERE cur_hash IS NULL AND EXISTS (SELECT 1 FROM ag_tokens t"
     "  WHERE t.sid = ag_families.sid);"
     "UPDATE ag_families SET prev_hash ="
     " (SELECT t.jti_hash FROM ag_tokens t WHERE t.sid = ag_families.sid"
     "  AND t.successor = ag_families.cur_hash)"
     " WHERE cur_hash IS NOT NULL;"
     "UPDATE ag_families SET cur_hash = NULL, prev_hash = NULL"
     " WHERE revoked_at IS NOT NULL;"
     "DROP TABLE ag_tokens;"
     "CREATE INDEX ag_families_subject_created ON ag_families(subject, created);",
     m3_absent, m3_columns},
    {"0004_revocations", "0003_sessions",
     /* The revocation log other instances follow (docs/sessions.md):
      * one row per revoked sid or subject, purged once expired. */
     "CREATE TABLE ag_revocations ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
     " key TEXT NOT NULL,"
     " at INTEGER NOT NULL);"
     "CREATE INDEX ag_revocations_at ON ag_revocations(at);",
     m4_absent, m4_columns},
};

#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

const ag__migration *ag__sqlite_migrations(size_t *count)
{
    *count = NMIGRATIONS;
    return migrations;
}

/* ---- opening: inspection, then migrations ------------------------------- */

/* Runs a one-column query and reports whether it returned a row. Bound
 * text parameters ?1 and ?2 are optional (NULL: unbound). */
static ag_err probe(sqlite3 *db, const char *sql, const char *a, const char *b, bool *yes)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return AG_ERR_STORE;
    if ((a != NULL && sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC) != SQLITE_OK) ||
        (b != NULL && sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC) != SQLITE_OK)) {
        sqlite3_finalize(s);
        return AG_ERR_STORE;
    }
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return AG_ERR_STORE;
    *yes = rc == SQLITE_ROW;
    return AG_OK;
}

static ag_err object_exists(sqlite3 *db, const char *name, bool *yes)
{
    return probe(db, "SELECT 1 FROM sqlite_master WHERE name = ?1", name, NULL, yes);
}

/* "table.column" exists, by pragma_table_info. */
static ag_err column_exists(sqlite3 *db, const char *tc, bool *yes)
{
    char table[64];
    const char *dot = strchr(tc, '.');
    if (dot == NULL || (size_t)(dot - tc) >= sizeof table)
        return AG_ERR_STORE;
    memcpy(table, tc, (size_t)(dot - tc));
    table[dot - tc] = '\0';
    return probe(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", table, dot + 1, yes);
}

/*
 * Reads which migrations the file has applied. *applied is the length of
 * the chain prefix found. Returns AG_ERR_STORE for an unreadable or foreign
 * file, AG_ERR_STORE_VERSION for a stamp this build does not know.
 */
static ag_err inspect(sqlite3 *db, size_t *applied)
{
    bool has = false, any = false;
    ag_err e = probe(db, "SELECT 1 FROM sqlite_master", NULL, NULL, &any);
    if (e != AG_OK)
        return e; /* not a database, encrypted, corrupt header… */
    *applied = 0;
    if (!any)
        return AG_OK; /* empty: everything to apply */
    if ((e = object_exists(db, "ag_schema", &has)) != AG_OK)
        return e;
    if (!has)
        return AG_ERR_STORE; /* someone else's database */
    bool c1 = false, c2 = false;
    if ((e = column_exists(db, "ag_schema.seq", &c1)) != AG_OK ||
        (e = column_exists(db, "ag_schema.id", &c2)) != AG_OK)
        return e;
    if (!c1 || !c2)
        return AG_ERR_STORE;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id FROM ag_schema ORDER BY seq", -1, &s, NULL) != SQLITE_OK)
        return AG_ERR_STORE;
    size_t n = 0;
    int rc;
    e = AG_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(s, 0);
        int len = sqlite3_column_bytes(s, 0);
        if (n >= NMIGRATIONS || id == NULL || (size_t)len != strlen(migrations[n].id) ||
            memcmp(id, migrations[n].id, (size_t)len) != 0) {
            e = AG_ERR_STORE_VERSION; /* newer, unknown or out of order */
            break;
        }
        n++;
    }
    if (e == AG_OK && rc != SQLITE_DONE)
        e = AG_ERR_STORE;
    sqlite3_finalize(s);
    if (e == AG_OK && n == 0)
        e = AG_ERR_STORE_VERSION; /* a version table with no stamp */
    *applied = n;
    return e;
}

static ag_err check_preconditions(sqlite3 *db, const ag__migration *m)
{
    bool yes = false;
    ag_err e;
    for (const char *const *a = m->absent; a != NULL && *a != NULL; a++) {
        if ((e = object_exists(db, *a, &yes)) != AG_OK)
            return e;
        if (yes)
            return AG_ERR_STORE;
    }
    for (const char *const *c = m->columns; c != NULL && *c != NULL; c++) {
        if ((e = column_exists(db, *c, &yes)) != AG_OK)
            return e;
        if (!yes)
            return AG_ERR_STORE;
    }
    return AG_OK;
}

static bool exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

static ag_err migrate(sqlite3 *db)
{
    if (!exec(db, "BEGIN IMMEDIATE"))
        return AG_ERR_STORE;
    size_t applied = 0;
    ag_err e = inspect(db, &applied); /* again, under the write lock */
    for (size_t i = applied; e == AG_OK && i < NMIGRATIONS; i++) {
        e = check_preconditions(db, &migrations[i]);
        if (e == AG_OK && !exec(db, migrations[i].ddl))
            e = AG_ERR_STORE;
        sqlite3_stmt *s = NULL;
        if (e == AG_OK &&
            (sqlite3_prepare_v2(db,
                                "INSERT INTO ag_schema (seq, id, applied_at)"
                                " VALUES (?1, ?2, strftime('%s','now'))",
                                -1, &s, NULL) != SQLITE_OK ||
             sqlite3_bind_int64(s, 1, (sqlite3_int64)(i + 1)) != SQLITE_OK ||
             sqlite3_bind_text(s, 2, migrations[i].id, -1, SQLITE_STATIC) != SQLITE_OK ||
             sqlite3_step(s) != SQLITE_DONE))
            e = AG_ERR_STORE;
        sqlite3_finalize(s);
    }
    if (e == AG_OK && exec(db, "COMMIT"))
        return AG_OK;
    if (!sqlite3_get_autocommit(db))
        (void)exec(db, "ROLLBACK");
    return e != AG_OK ? e : AG_ERR_STORE;
}

/* Reads the pragma's single text result and compares it. */
static bool pragma_is(sqlite3 *db, const char *sql, const char *want)
{
    sqlite3_stmt *s = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        ok = v != NULL && strcmp((const char *)v, want) == 0;
    }
    sqlite3_finalize(s);
    return ok;
}

ag_err ag__sqlite_prepare_schema(sqlite3 *db, bool synchronous_full)
{
    /* Look before touching: nothing below writes until inspect() passed. */
    size_t applied = 0;
    ag_err e = inspect(db, &applied);
    if (e == AG_OK && !pragma_is(db, "PRAGMA journal_mode=WAL", "wal"))
        e = AG_ERR_STORE;
    if (e == AG_OK &&
        (!exec(db, synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") ||
         !exec(db, "PRAGMA foreign_keys=ON")))
        e = AG_ERR_STORE;
    if (e == AG_OK && applied < NMIGRATIONS)
        e = migrate(db);
    return e;
}

#endif /* AG_HAVE_SQLITE */

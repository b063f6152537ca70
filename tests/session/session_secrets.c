/* SPDX-License-Identifier: MIT */
/*
 * Nothing a store holds is a jti or a token: the SQLite file
 * and its WAL, and every heap block of the memory store, scanned for
 * every jti and token issued, with the stored SHA-256(jti) of each live
 * session's current token as the positive control.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "session_fixture.h"

#define LOGINS 12

typedef struct issued_set {
    size_t n;
    char (*tokens)[AG_TOKEN_MAX_LEN + 1];
    char (*jtis)[65];
    size_t logins;
    char sids[LOGINS][AG_SID_MAX_LEN + 1];
    bool live[LOGINS];
    size_t current[LOGINS], previous[LOGINS]; /* indices into tokens */
} issued_set;

static void record(issued_set *set, const char *tok)
{
    memcpy(set->tokens[set->n], tok, strlen(tok) + 1);
    jti_of(tok, set->jtis[set->n]);
    set->n++;
}

/* A needle: bytes that must not (or, for hashes, must) appear. */
typedef struct needle {
    uint64_t key; /* first 8 bytes */
    const uint8_t *p;
    size_t n;
    bool is_hash;
    const char *what;
} needle;

static uint64_t key8(const uint8_t *p)
{
    uint64_t k;
    memcpy(&k, p, 8);
    return k;
}

static int needle_cmp(const void *a, const void *b)
{
    uint64_t x = ((const needle *)a)->key, y = ((const needle *)b)->key;
    return x < y ? -1 : x > y;
}

/* Scans bytes once for every jti (text, 16-char prefix, decoded bytes and
 * their 12-byte prefix) and 16-character windows of every token's payload
 * and signature, and counts where the SHA-256(jti) of each token is found
 * (seen[k], may be NULL): the positive control proving the scan reads
 * real data. Returns how many hashes it found in all. */
static size_t assert_clean(const uint8_t *bytes, size_t len, const issued_set *set, size_t *seen)
{
    size_t cap = set->n * 80, nn = 0;
    needle *nd = calloc(cap, sizeof *nd);
    uint8_t(*raw)[48] = calloc(set->n, sizeof *raw);
    uint8_t(*hash)[32] = calloc(set->n, sizeof *hash);
    ck_assert(nd != NULL && raw != NULL && hash != NULL);
    for (size_t k = 0; k < set->n; k++) {
        const char *jti = set->jtis[k];
        size_t jl = strlen(jti), rl = 0;
        ck_assert_int_eq(ag_base64url_decode((const uint8_t *)jti, jl, raw[k], 48, &rl), AG_OK);
        unsigned int hl = 0;
        ck_assert(EVP_Digest(jti, jl, hash[k], &hl, EVP_sha256(), NULL) == 1);
        nd[nn++] = (needle){0, (const uint8_t *)jti, jl, false, "jti text"};
        nd[nn++] = (needle){0, (const uint8_t *)jti, 16, false, "jti prefix"};
        nd[nn++] = (needle){0, raw[k], rl, false, "decoded jti"};
        nd[nn++] = (needle){0, raw[k], 12, false, "decoded jti prefix"};
        nd[nn++] = (needle){0, hash[k], 32, true, "hash"};
        const char *tok = set->tokens[k];
        const char *dot = strchr(tok, '.');
        ck_assert_ptr_nonnull(dot);
        size_t tl = strlen(tok);
        for (size_t off = (size_t)(dot - tok) + 1; off + 16 <= tl && nn < cap; off += 8)
            nd[nn++] = (needle){0, (const uint8_t *)tok + off, 16, false, "token substring"};
    }
    for (size_t i = 0; i < nn; i++)
        nd[i].key = key8(nd[i].p);
    qsort(nd, nn, sizeof *nd, needle_cmp);
    size_t hashes_found = 0;
    for (size_t i = 0; i + 8 <= len; i++) {
        needle probe = {.key = key8(bytes + i)};
        needle *hit = bsearch(&probe, nd, nn, sizeof *nd, needle_cmp);
        if (hit == NULL)
            continue;
        while (hit > nd && hit[-1].key == probe.key)
            hit--;
        for (; hit < nd + nn && hit->key == probe.key; hit++) {
            if (i + hit->n > len || memcmp(bytes + i, hit->p, hit->n) != 0)
                continue;
            if (hit->is_hash) {
                hashes_found++;
                if (seen != NULL)
                    seen[(size_t)(hit->p - hash[0]) / sizeof hash[0]]++;
            } else
                ck_abort_msg("%s found in stored bytes at offset %zu", hit->what, i);
        }
    }
    free(nd);
    free(raw);
    free(hash);
    return hashes_found;
}

/* The positive control: the current token of every live session is found
 * (the scan can fail: what IS stored is seen). Returns the live count. */
static size_t assert_current_seen(const uint8_t *bytes, size_t len, const issued_set *set)
{
    size_t *seen = calloc(set->n, sizeof *seen), live = 0;
    ck_assert_ptr_nonnull(seen);
    (void)assert_clean(bytes, len, set, seen);
    for (size_t l = 0; l < set->logins; l++)
        if (set->live[l]) {
            live++;
            ck_assert_msg(seen[set->current[l]] > 0, "login %zu: current hash not found", l);
        }
    ck_assert_uint_gt(live, 0);
    free(seen);
    return live;
}

static void churn(env *e, issued_set *set)
{
    ag_session_tokens *t = tokens_new(), *n = tokens_new();
    for (size_t login = 0; login < LOGINS; login++) {
        ck_assert_int_eq(ag_session_issue(e->s, login % 2 ? "alice" : "bob", t), AG_OK);
        memcpy(set->sids[login], t->sid, sizeof set->sids[login]);
        record(set, t->refresh);
        for (int k = 0; k < 8; k++) {
            ag_test_clock_advance(1);
            ck_assert_int_eq(refresh(e, t->refresh, n), AG_OK);
            record(set, n->refresh);
            swap_tokens(&t, &n);
        }
        set->current[login] = set->n - 1;
        set->previous[login] = set->n - 2;
        set->live[login] = true;
        if (login % 3 == 0) {
            ck_assert_int_eq(logout(e, t->refresh), AG_OK);
            set->live[login] = false;
        }
        if (login % 4 == 1 && login % 3 != 0) { /* a reuse: a revoked-by-reuse family */
            ck_assert_int_eq(refresh(e, set->tokens[set->n - 3], n), AG_ERR_REUSED);
            set->live[login] = false;
        }
        set->logins++;
    }
    free(t);
    free(n);
}

static issued_set *set_new(void)
{
    issued_set *set = calloc(1, sizeof *set);
    ck_assert_ptr_nonnull(set);
    set->tokens = calloc(200, sizeof *set->tokens);
    set->jtis = calloc(200, sizeof *set->jtis);
    ck_assert(set->tokens != NULL && set->jtis != NULL);
    return set;
}

static void set_free(issued_set *set)
{
    free(set->tokens);
    free(set->jtis);
    free(set);
}

START_TEST(sqlite_file_holds_no_jti_or_token)
{
    if (!ag_store_sqlite_available())
        return;
    char dir[] = "/tmp/ag-session-grep-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[96], wal[100];
    snprintf(path, sizeof path, "%s/s.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    ag_store_sqlite_config sc = {.size = sizeof(ag_store_sqlite_config), .path = path};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_sqlite_open(&sc, &st), AG_OK);
    env *e = env_new(st, 3600, 86400, 5);
    issued_set *set = set_new();
    churn(e, set);
    /* while open: the database and its WAL */
    size_t dl = 0, wl = 0;
    char *db = ag_test_read_file(path, &dl);
    char *w = ag_test_read_file(wal, &wl);
    ck_assert_ptr_nonnull(db);
    ck_assert_ptr_nonnull(w);
    uint8_t *all = malloc(dl + wl);
    ck_assert_ptr_nonnull(all);
    memcpy(all, db, dl);
    memcpy(all + dl, w, wl);
    (void)assert_current_seen(all, dl + wl, set);
    free(all);
    free(db);
    free(w);
    env_free(e); /* closes: checkpoint into the main file */
    db = ag_test_read_file(path, &dl);
    ck_assert_ptr_nonnull(db);
    (void)assert_current_seen((const uint8_t *)db, dl, set);
    free(db);
    set_free(set);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The memory store: every live heap block it holds, through a tracking
 * allocator, plus every row through the lookup API. */
#define MAXBLK 4096
typedef struct tracker {
    pthread_mutex_t mu;
    void *blk[MAXBLK];
    size_t len[MAXBLK];
} tracker;

static void *t_malloc(size_t n, void *ctx)
{
    tracker *t = ctx;
    void *p = malloc(n);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; p != NULL && i < MAXBLK; i++)
        if (t->blk[i] == NULL) {
            t->blk[i] = p;
            t->len[i] = n;
            break;
        }
    pthread_mutex_unlock(&t->mu);
    return p;
}

static void t_free(void *p, void *ctx)
{
    tracker *t = ctx;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; p != NULL && i < MAXBLK; i++)
        if (t->blk[i] == p) {
            t->blk[i] = NULL;
            break;
        }
    pthread_mutex_unlock(&t->mu);
    free(p);
}

static void *t_realloc(void *p, size_t n, void *ctx)
{
    (void)p;
    (void)n;
    (void)ctx;
    return NULL;
}

START_TEST(memory_store_holds_no_jti_or_token)
{
    static tracker tr = {.mu = PTHREAD_MUTEX_INITIALIZER};
    ag_allocator a = {t_malloc, t_realloc, t_free, &tr};
    ag_store_memory_config mc = {
        .size = sizeof(ag_store_memory_config), .capacity = 1000, .alloc = &a};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    env *e = env_new(st, 3600, 86400, 5);
    issued_set *set = set_new();
    churn(e, set);
    /* every block the store holds, concatenated */
    size_t total = 0;
    for (size_t i = 0; i < MAXBLK; i++)
        total += tr.blk[i] != NULL ? tr.len[i] : 0;
    uint8_t *all = malloc(total);
    ck_assert_ptr_nonnull(all);
    size_t off = 0, blocks = 0;
    for (size_t i = 0; i < MAXBLK; i++)
        if (tr.blk[i] != NULL) {
            memcpy(all + off, tr.blk[i], tr.len[i]);
            off += tr.len[i];
            blocks++;
        }
    ck_assert_uint_gt(blocks, set->logins); /* a row per family, subjects, tables */
    size_t live = assert_current_seen(all, total, set);
    /* exactly current + previous of each live session; a tombstone keeps
     * no hash, and nothing of a rotated-out token stays */
    ck_assert_uint_eq(assert_clean(all, total, set, NULL), 2 * live);
    free(all);
    /* and what the lookup API returns for each row */
    for (size_t l = 0; l < set->logins; l++) {
        ag_store_family fam;
        ck_assert_int_eq(fam_of(e, set->sids[l], &fam), AG_OK);
        size_t *seen = calloc(set->n, sizeof *seen);
        ck_assert_ptr_nonnull(seen);
        size_t found = assert_clean((const uint8_t *)&fam, sizeof fam, set, seen);
        ck_assert_uint_eq(found, set->live[l] ? 2 : 0);
        if (set->live[l]) {
            ck_assert_uint_eq(seen[set->current[l]], 1);
            ck_assert_uint_eq(seen[set->previous[l]], 1);
        }
        free(seen);
    }
    set_free(set);
    env_free(e);
}
END_TEST

void add_secrets_tests(Suite *s)
{
    TCase *tc = tcase_create("no-secrets-stored");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, sqlite_file_holds_no_jti_or_token);
    tcase_add_test(tc, memory_store_holds_no_jti_or_token);
    suite_add_tcase(s, tc);
}

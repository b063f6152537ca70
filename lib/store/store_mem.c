/*
 * authgate — the memory store: bounded hash tables with striped locks.
 *
 * Three tables:
 *   tokens    SHA-256(jti) → row. The hash is uniformly random, so its
 *             first 8 bytes are the bucket index.
 *   families  sid → family, with the family's rows on a list (the family
 *             index: revoke and purge walk a family, never the table).
 *   subjects  subject → list of its families (the subject index).
 *
 * Locking. A family's stripe lock (fam_locks[bucket % NSTRIPES]) is the
 * unit of atomicity: every change to a family or to any of its rows is made
 * while holding it, so rotate's check-consume-insert is one step against
 * every other call. Token stripe locks only guard bucket chains. Order:
 * family stripe → token stripe (one at a time) → subject lock; never two
 * locks of the same kind at once. A row's immutable fields (hash, fam) may
 * be read under its token stripe lock alone; mutable fields (used_at,
 * successor) only under its family's lock. A family is freed only after
 * all its rows are unlinked, under its stripe lock.
 *
 * Capacity is fixed at creation; tables never resize, so every operation
 * is O(1) expected, except purge (O(table)) and revoke-subject (O(families
 * of the subject)). A full store refuses new rows; it never evicts.
 *
 * @test tests/store/test_store_mem.c, tests/store/test_store_threads.c
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "store_int.h"

#define NSTRIPES 64u
#define DEFAULT_CAPACITY (1u << 20)

typedef struct mfam mfam;

typedef struct mrow {
    struct mrow *next;     /* bucket chain (token stripe lock) */
    struct mrow *fam_next; /* family's rows (family lock) */
    mfam *fam;             /* immutable */
    uint8_t hash[AG_STORE_HASH_LEN]; /* immutable */
    uint8_t successor[AG_STORE_HASH_LEN];
    uint64_t generation;
    int64_t issued, expires, used_at;
    bool has_successor;
} mrow;

typedef struct msubj {
    struct msubj *next;
    mfam *head;
    uint64_t h;
    size_t nfam;
    size_t len;
    char name[AG_SUBJECT_MAX_LEN + 1];
} msubj;

struct mfam {
    mfam *next;            /* bucket chain */
    mfam *subj_prev, *subj_next;
    msubj *subj;           /* immutable while the family lives */
    mrow *rows;
    uint64_t h;            /* keyed hash of sid, immutable */
    int64_t created, expires, revoked_at;
    ag_revoke_reason reason;
    size_t sid_len;
    char sid[AG_SID_MAX_LEN + 1];
};

typedef struct mem {
    ag_store base; /* first: the ag_store * is the mem * */
    const ag_allocator *alloc;
    size_t capacity;
    atomic_size_t ntokens, nfamilies, bytes;
    uint64_t seed[2];
    size_t tok_mask, fam_mask, subj_mask;
    mrow **tok;
    mfam **fam;
    msubj **subj;
    pthread_mutex_t tok_locks[NSTRIPES];
    pthread_mutex_t fam_locks[NSTRIPES];
    pthread_mutex_t subj_lock;
} mem;

/* ---- small helpers ---------------------------------------------------- */

static void *mem_alloc(mem *m, size_t n)
{
    void *p = ag__calloc(m->alloc, n);
    if (p != NULL)
        atomic_fetch_add(&m->bytes, n);
    return p;
}

static void mem_release(mem *m, void *p, size_t n)
{
    if (p == NULL)
        return;
    atomic_fetch_sub(&m->bytes, n);
    ag__free(m->alloc, p);
}

static void lock(pthread_mutex_t *l)
{
    /* A default mutex cannot fail here short of undefined behaviour. */
    (void)pthread_mutex_lock(l);
}

static void unlock(pthread_mutex_t *l)
{
    (void)pthread_mutex_unlock(l);
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

/* Seeded hash of short strings. sids are random and minted by us;
 * subjects come from the application; the per-store random seed keeps
 * bucket placement unpredictable from outside. */
static uint64_t str_hash(const mem *m, const char *p, size_t n)
{
    uint64_t h = m->seed[0] ^ (UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(n + 1));
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= UINT64_C(0x100000001b3);
        h ^= h >> 29;
    }
    return fmix64(h ^ m->seed[1]);
}

static size_t tok_bucket(const mem *m, const uint8_t *hash)
{
    return (size_t)(load64(hash) & m->tok_mask);
}

static pthread_mutex_t *tok_lock_of(mem *m, size_t bucket)
{
    return &m->tok_locks[bucket & (NSTRIPES - 1)];
}

static size_t fam_bucket(const mem *m, uint64_t h)
{
    return (size_t)(h & m->fam_mask);
}

static pthread_mutex_t *fam_lock_of(mem *m, uint64_t h)
{
    return &m->fam_locks[fam_bucket(m, h) & (NSTRIPES - 1)];
}

/* Caller holds the token stripe lock of the hash's bucket. */
static mrow *tok_find(const mem *m, const uint8_t *hash)
{
    for (mrow *r = m->tok[tok_bucket(m, hash)]; r != NULL; r = r->next)
        if (ag__ct_eq(r->hash, hash, AG_STORE_HASH_LEN))
            return r;
    return NULL;
}

/* Caller holds the family stripe lock of h. */
static mfam *fam_find(const mem *m, uint64_t h, const char *sid, size_t len)
{
    for (mfam *f = m->fam[fam_bucket(m, h)]; f != NULL; f = f->next)
        if (f->h == h && f->sid_len == len && memcmp(f->sid, sid, len) == 0)
            return f;
    return NULL;
}

/* Looks a row up and returns it only if it belongs to fam (whose lock the
 * caller holds, so the row cannot go away afterwards). */
static mrow *tok_find_in(mem *m, const uint8_t *hash, const mfam *fam)
{
    size_t b = tok_bucket(m, hash);
    lock(tok_lock_of(m, b));
    mrow *r = tok_find(m, hash);
    if (r != NULL && r->fam != fam)
        r = NULL;
    unlock(tok_lock_of(m, b));
    return r;
}

/* Inserts r unless its hash exists. Caller holds r->fam's lock. */
static bool tok_insert(mem *m, mrow *r)
{
    size_t b = tok_bucket(m, r->hash);
    lock(tok_lock_of(m, b));
    bool ok = tok_find(m, r->hash) == NULL;
    if (ok) {
        r->next = m->tok[b];
        m->tok[b] = r;
    }
    unlock(tok_lock_of(m, b));
    return ok;
}

static void tok_unlink(mem *m, mrow *r)
{
    size_t b = tok_bucket(m, r->hash);
    lock(tok_lock_of(m, b));
    for (mrow **pp = &m->tok[b]; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    unlock(tok_lock_of(m, b));
}

static bool reserve_row(mem *m)
{
    size_t n = atomic_fetch_add(&m->ntokens, 1);
    if (n >= m->capacity) {
        atomic_fetch_sub(&m->ntokens, 1);
        return false;
    }
    return true;
}

static void fill_family(const mfam *f, ag_store_family *out)
{
    memset(out, 0, sizeof *out);
    ag__store_str_set(out->sid, &out->sid_len, f->sid, f->sid_len);
    ag__store_str_set(out->subject, &out->subject_len, f->subj->name, f->subj->len);
    out->created = f->created;
    out->expires = f->expires;
    out->revoked_at = f->revoked_at;
    out->reason = f->reason;
}

static void fill_token(const mrow *r, ag_store_token *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->hash, r->hash, AG_STORE_HASH_LEN);
    ag__store_str_set(out->sid, &out->sid_len, r->fam->sid, r->fam->sid_len);
    out->generation = r->generation;
    out->issued = r->issued;
    out->expires = r->expires;
    out->used_at = r->used_at;
    out->has_successor = r->has_successor;
    if (r->has_successor)
        memcpy(out->successor, r->successor, AG_STORE_HASH_LEN);
    out->revoked_at = r->fam->revoked_at;
    out->reason = r->fam->reason;
}

/* ---- operations --------------------------------------------------------- */

static ag_err mem_put(ag_store *st, const ag_store_family *fam, const ag_store_token *tok)
{
    mem *m = (mem *)st;
    if (!reserve_row(m))
        return AG_ERR_STORE_FULL;
    mfam *f = mem_alloc(m, sizeof *f);
    mrow *r = mem_alloc(m, sizeof *r);
    msubj *spare = mem_alloc(m, sizeof *spare);
    if (f == NULL || r == NULL || spare == NULL) {
        mem_release(m, f, sizeof *f);
        mem_release(m, r, sizeof *r);
        mem_release(m, spare, sizeof *spare);
        atomic_fetch_sub(&m->ntokens, 1);
        return AG_ERR_NOMEM;
    }
    ag__store_str_set(f->sid, &f->sid_len, fam->sid, fam->sid_len);
    f->h = str_hash(m, fam->sid, fam->sid_len);
    f->created = fam->created;
    f->expires = fam->expires;
    f->reason = AG_REVOKE_NONE;
    r->fam = f;
    memcpy(r->hash, tok->hash, AG_STORE_HASH_LEN);
    r->generation = tok->generation;
    r->issued = tok->issued;
    r->expires = tok->expires;
    f->rows = r;

    uint64_t sh = str_hash(m, fam->subject, fam->subject_len);
    ag_err e = AG_OK;
    pthread_mutex_t *fl = fam_lock_of(m, f->h);
    lock(fl);
    if (fam_find(m, f->h, f->sid, f->sid_len) != NULL || !tok_insert(m, r)) {
        e = AG_ERR_EXISTS;
    } else {
        size_t b = fam_bucket(m, f->h);
        f->next = m->fam[b];
        m->fam[b] = f;
        lock(&m->subj_lock);
        size_t sb = (size_t)(sh & m->subj_mask);
        msubj *s = m->subj[sb];
        while (s != NULL && !(s->h == sh && s->len == fam->subject_len &&
                              memcmp(s->name, fam->subject, s->len) == 0))
            s = s->next;
        if (s == NULL) {
            s = spare;
            spare = NULL;
            s->h = sh;
            ag__store_str_set(s->name, &s->len, fam->subject, fam->subject_len);
            s->next = m->subj[sb];
            m->subj[sb] = s;
        }
        f->subj = s;
        f->subj_next = s->head;
        if (s->head != NULL)
            s->head->subj_prev = f;
        s->head = f;
        s->nfam++;
        unlock(&m->subj_lock);
        atomic_fetch_add(&m->nfamilies, 1);
    }
    unlock(fl);
    mem_release(m, spare, sizeof *spare);
    if (e != AG_OK) {
        mem_release(m, f, sizeof *f);
        mem_release(m, r, sizeof *r);
        atomic_fetch_sub(&m->ntokens, 1);
    }
    return e;
}

static ag_err mem_rotate(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out)
{
    mem *m = (mem *)st;
    mrow *nr = mem_alloc(m, sizeof *nr); /* outside the locks; freed if unused */
    if (nr == NULL)
        return AG_ERR_NOMEM;
    uint64_t h = str_hash(m, rot->sid, rot->sid_len);
    pthread_mutex_t *fl = fam_lock_of(m, h);
    ag_err e;
    lock(fl);
    mfam *f = fam_find(m, h, rot->sid, rot->sid_len);
    mrow *r = f != NULL ? tok_find_in(m, rot->old_hash, f) : NULL;
    if (r == NULL || f->subj->len != rot->subject_len ||
        memcmp(f->subj->name, rot->subject, rot->subject_len) != 0) {
        e = AG_ERR_UNKNOWN;
    } else if (f->revoked_at != 0) {
        e = AG_ERR_REVOKED;
    } else if (r->used_at != 0) {
        mrow *succ = NULL;
        if (rot->reuse_interval > 0 && r->used_at >= rot->now - rot->reuse_interval &&
            r->has_successor && ag__ct_eq(r->successor, rot->new_hash, AG_STORE_HASH_LEN))
            succ = tok_find_in(m, rot->new_hash, f);
        if (succ != NULL && succ->used_at == 0) {
            out->outcome = AG_STORE_REPLAYED;
            out->generation = succ->generation;
            out->issued = succ->issued;
            out->expires = succ->expires;
            out->family_expires = f->expires;
            e = AG_OK;
        } else {
            f->revoked_at = rot->now;
            f->reason = AG_REVOKE_REUSE;
            e = AG_ERR_REUSED;
        }
    } else if (r->expires <= rot->now || f->expires <= rot->now) {
        e = AG_ERR_EXPIRED;
    } else if (!reserve_row(m)) {
        e = AG_ERR_STORE_FULL;
    } else {
        nr->fam = f;
        memcpy(nr->hash, rot->new_hash, AG_STORE_HASH_LEN);
        nr->generation = r->generation + 1;
        nr->issued = rot->now;
        nr->expires = rot->new_expires < f->expires ? rot->new_expires : f->expires;
        if (!tok_insert(m, nr)) {
            atomic_fetch_sub(&m->ntokens, 1);
            e = AG_ERR_EXISTS;
        } else {
            nr->fam_next = f->rows;
            f->rows = nr;
            r->used_at = rot->now;
            r->has_successor = true;
            memcpy(r->successor, rot->new_hash, AG_STORE_HASH_LEN);
            out->outcome = AG_STORE_ROTATED;
            out->generation = nr->generation;
            out->issued = nr->issued;
            out->expires = nr->expires;
            out->family_expires = f->expires;
            nr = NULL;
            e = AG_OK;
        }
    }
    unlock(fl);
    mem_release(m, nr, sizeof *nr);
    return e;
}

static ag_err mem_lookup(ag_store *st, const uint8_t hash[AG_STORE_HASH_LEN],
                         ag_store_token *tok, ag_store_family *fam)
{
    mem *m = (mem *)st;
    char sid[AG_SID_MAX_LEN];
    size_t sid_len = 0;
    uint64_t h = 0;
    size_t b = tok_bucket(m, hash);
    lock(tok_lock_of(m, b));
    mrow *r = tok_find(m, hash);
    if (r != NULL) { /* the family outlives its rows: its immutable fields are safe */
        h = r->fam->h;
        sid_len = r->fam->sid_len;
        memcpy(sid, r->fam->sid, sid_len);
    }
    unlock(tok_lock_of(m, b));
    if (r == NULL)
        return AG_ERR_NOT_FOUND;
    ag_err e = AG_ERR_NOT_FOUND;
    pthread_mutex_t *fl = fam_lock_of(m, h);
    lock(fl);
    mfam *f = fam_find(m, h, sid, sid_len);
    r = f != NULL ? tok_find_in(m, hash, f) : NULL;
    if (r != NULL) {
        if (tok != NULL)
            fill_token(r, tok);
        if (fam != NULL)
            fill_family(f, fam);
        e = AG_OK;
    }
    unlock(fl);
    return e;
}

static ag_err mem_lookup_family(ag_store *st, const char *sid, size_t sid_len,
                                ag_store_family *fam)
{
    mem *m = (mem *)st;
    uint64_t h = str_hash(m, sid, sid_len);
    pthread_mutex_t *fl = fam_lock_of(m, h);
    lock(fl);
    mfam *f = fam_find(m, h, sid, sid_len);
    if (f != NULL)
        fill_family(f, fam);
    unlock(fl);
    return f != NULL ? AG_OK : AG_ERR_NOT_FOUND;
}

/* Revokes by sid; *newly tells whether this call did it. */
static ag_err revoke_one(mem *m, const char *sid, size_t sid_len, int64_t now,
                         ag_revoke_reason reason, bool *newly)
{
    uint64_t h = str_hash(m, sid, sid_len);
    pthread_mutex_t *fl = fam_lock_of(m, h);
    lock(fl);
    mfam *f = fam_find(m, h, sid, sid_len);
    *newly = false;
    if (f != NULL && f->revoked_at == 0) {
        f->revoked_at = now;
        f->reason = reason;
        *newly = true;
    }
    unlock(fl);
    return f != NULL ? AG_OK : AG_ERR_NOT_FOUND;
}

static ag_err mem_revoke_family(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                                ag_revoke_reason reason)
{
    bool newly;
    return revoke_one((mem *)st, sid, sid_len, now, reason, &newly);
}

typedef struct sid_copy {
    size_t len;
    char sid[AG_SID_MAX_LEN];
} sid_copy;

static ag_err mem_revoke_subject(ag_store *st, const char *subject, size_t subject_len,
                                 int64_t now, ag_revoke_reason reason, size_t *count)
{
    mem *m = (mem *)st;
    uint64_t sh = str_hash(m, subject, subject_len);
    sid_copy *sids = NULL;
    size_t n = 0;
    /* Snapshot the subject's sids, then revoke each under its own family
     * lock (the lock order forbids family locks under the subject lock). */
    lock(&m->subj_lock);
    msubj *s = m->subj[sh & m->subj_mask];
    while (s != NULL &&
           !(s->h == sh && s->len == subject_len && memcmp(s->name, subject, s->len) == 0))
        s = s->next;
    if (s != NULL && s->nfam > 0) {
        sids = ag__malloc(m->alloc, s->nfam * sizeof *sids);
        if (sids == NULL) {
            unlock(&m->subj_lock);
            return AG_ERR_NOMEM;
        }
        for (mfam *f = s->head; f != NULL; f = f->subj_next, n++) {
            sids[n].len = f->sid_len;
            memcpy(sids[n].sid, f->sid, f->sid_len);
        }
    }
    unlock(&m->subj_lock);
    size_t revoked = 0;
    for (size_t i = 0; i < n; i++) {
        bool newly = false;
        (void)revoke_one(m, sids[i].sid, sids[i].len, now, reason, &newly);
        revoked += newly ? 1u : 0u;
    }
    ag__free(m->alloc, sids);
    *count = revoked;
    return AG_OK;
}

/* Unlinks f from its subject. Caller holds f's family lock. */
static void subj_unlink(mem *m, mfam *f)
{
    lock(&m->subj_lock);
    msubj *s = f->subj;
    if (f->subj_prev != NULL)
        f->subj_prev->subj_next = f->subj_next;
    else
        s->head = f->subj_next;
    if (f->subj_next != NULL)
        f->subj_next->subj_prev = f->subj_prev;
    s->nfam--;
    if (s->nfam == 0) {
        for (msubj **pp = &m->subj[s->h & m->subj_mask]; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        }
        mem_release(m, s, sizeof *s);
    }
    unlock(&m->subj_lock);
}

static ag_err mem_purge(ag_store *st, int64_t now, size_t *removed)
{
    mem *m = (mem *)st;
    size_t gone = 0;
    for (size_t stripe = 0; stripe < NSTRIPES; stripe++) {
        lock(&m->fam_locks[stripe]);
        for (size_t b = stripe; b <= m->fam_mask; b += NSTRIPES) {
            mfam **fp = &m->fam[b];
            while (*fp != NULL) {
                mfam *f = *fp;
                bool fam_dead = f->expires <= now;
                mrow **rp = &f->rows;
                while (*rp != NULL) {
                    mrow *r = *rp;
                    if (fam_dead || r->expires <= now) {
                        *rp = r->fam_next;
                        tok_unlink(m, r);
                        mem_release(m, r, sizeof *r);
                        atomic_fetch_sub(&m->ntokens, 1);
                        gone++;
                    } else {
                        rp = &r->fam_next;
                    }
                }
                if (f->rows == NULL) {
                    *fp = f->next;
                    subj_unlink(m, f);
                    mem_release(m, f, sizeof *f);
                    atomic_fetch_sub(&m->nfamilies, 1);
                } else {
                    fp = &f->next;
                }
            }
        }
        unlock(&m->fam_locks[stripe]);
    }
    *removed = gone;
    return AG_OK;
}

static ag_err mem_stats(ag_store *st, ag_store_stats *out)
{
    mem *m = (mem *)st;
    out->tokens = atomic_load(&m->ntokens);
    out->families = atomic_load(&m->nfamilies);
    out->capacity = m->capacity;
    out->bytes = atomic_load(&m->bytes);
    return AG_OK;
}

static void mem_close(ag_store *st)
{
    mem *m = (mem *)st;
    for (size_t b = 0; b <= m->fam_mask && m->fam != NULL; b++) {
        for (mfam *f = m->fam[b], *fn; f != NULL; f = fn) {
            fn = f->next;
            for (mrow *r = f->rows, *rn; r != NULL; r = rn) {
                rn = r->fam_next;
                ag__free(m->alloc, r);
            }
            ag__free(m->alloc, f);
        }
    }
    for (size_t b = 0; b <= m->subj_mask && m->subj != NULL; b++) {
        for (msubj *s = m->subj[b], *sn; s != NULL; s = sn) {
            sn = s->next;
            ag__free(m->alloc, s);
        }
    }
    ag__free(m->alloc, m->tok);
    ag__free(m->alloc, m->fam);
    ag__free(m->alloc, m->subj);
    for (size_t i = 0; i < NSTRIPES; i++) {
        pthread_mutex_destroy(&m->tok_locks[i]);
        pthread_mutex_destroy(&m->fam_locks[i]);
    }
    pthread_mutex_destroy(&m->subj_lock);
    ag_cleanse(m->seed, sizeof m->seed);
    ag__free(m->alloc, m);
}

static size_t pow2_at_least(size_t n)
{
    size_t p = NSTRIPES;
    while (p < n && p <= SIZE_MAX / 2)
        p <<= 1;
    return p;
}

ag_err ag_store_memory_new(const ag_store_memory_config *cfg, ag_store **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    const ag_allocator *alloc = cfg != NULL ? cfg->alloc : NULL;
    size_t cap = cfg != NULL && cfg->capacity != 0 ? cfg->capacity : DEFAULT_CAPACITY;
    if (cap > (SIZE_MAX / 4) / sizeof(void *))
        return AG_ERR_INVALID_ARGUMENT;
    mem *m = ag__calloc(alloc, sizeof *m);
    if (m == NULL)
        return AG_ERR_NOMEM;
    m->alloc = alloc;
    m->capacity = cap;
    atomic_init(&m->ntokens, 0);
    atomic_init(&m->nfamilies, 0);
    atomic_init(&m->bytes, sizeof *m);
    /* Load factor ≤ 2 at full capacity for tokens; families and subjects
     * are at most as many as tokens and usually far fewer. */
    size_t ntok = pow2_at_least(cap / 2), nfam = pow2_at_least(cap / 4),
           nsubj = pow2_at_least(cap / 8);
    m->tok_mask = ntok - 1;
    m->fam_mask = nfam - 1;
    m->subj_mask = nsubj - 1;
    m->tok = ag__calloc(alloc, ntok * sizeof *m->tok);
    m->fam = ag__calloc(alloc, nfam * sizeof *m->fam);
    m->subj = ag__calloc(alloc, nsubj * sizeof *m->subj);
    atomic_fetch_add(&m->bytes, (ntok + nfam + nsubj) * sizeof(void *));
    ag_err e = ag_random((uint8_t *)m->seed, sizeof m->seed);
    if (m->tok == NULL || m->fam == NULL || m->subj == NULL || e != AG_OK) {
        ag__free(alloc, m->tok);
        ag__free(alloc, m->fam);
        ag__free(alloc, m->subj);
        ag__free(alloc, m);
        return e != AG_OK ? AG_ERR_CRYPTO : AG_ERR_NOMEM;
    }
    for (size_t i = 0; i < NSTRIPES; i++) {
        pthread_mutex_init(&m->tok_locks[i], NULL);
        pthread_mutex_init(&m->fam_locks[i], NULL);
    }
    pthread_mutex_init(&m->subj_lock, NULL);
    m->base.version = AG_STORE_INTERFACE_VERSION;
    m->base.name = "memory";
    m->base.ctx = m;
    m->base.put = mem_put;
    m->base.rotate = mem_rotate;
    m->base.lookup = mem_lookup;
    m->base.lookup_family = mem_lookup_family;
    m->base.revoke_family = mem_revoke_family;
    m->base.revoke_subject = mem_revoke_subject;
    m->base.purge_expired = mem_purge;
    m->base.stats = mem_stats;
    m->base.close = mem_close;
    *out = &m->base;
    return AG_OK;
}

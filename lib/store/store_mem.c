/* SPDX-License-Identifier: MIT */
/*
 * authgate — the memory store: one fixed-size row per session in a
 * bounded hash table with striped locks.
 *
 * Two tables:
 *   families  sid → row (an ag_store_family), keyed by a seeded hash of
 *             the sid.
 *   subjects  subject → list of its families (the subject index, for
 *             revoke-subject and the per-subject cap).
 *
 * Locking. A family's stripe lock (fam_locks[bucket % NSTRIPES]) is the
 * unit of atomicity: every read and write of a row happens under it, so
 * rotate's read-decide-write is one step against every other call. The
 * subject lock guards the subject index only. Order: family stripe →
 * subject lock; never two family stripes at once.
 *
 * Capacity is fixed at creation and counts families; the table never
 * resizes. A full store first reclaims dead rows (expired, and revoked
 * tombstones), so it is never full while it holds one.
 *
 * @test tests/store/test_store_mem.c, tests/store/test_store_threads.c
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define NSTRIPES 64u
#define DEFAULT_CAPACITY (1u << 20)

typedef struct mfam mfam;

typedef struct msubj {
    struct msubj *next;
    mfam *head;
    uint64_t h;
    size_t nfam;
    size_t len;
    char name[AG_SUBJECT_MAX_LEN + 1];
} msubj;

struct mfam {
    mfam *next;                  /* bucket chain (family stripe lock) */
    mfam *subj_prev, *subj_next; /* subject list (subject lock) */
    msubj *subj;                 /* immutable while the family lives */
    uint64_t h;                  /* seeded hash of the sid, immutable */
    int64_t created;             /* immutable copy, read under the subject lock */
    ag_store_family row;
};

typedef struct mem {
    ag_store base; /* first: the ag_store * is the mem * */
    const ag_allocator *alloc;
    size_t capacity;
    atomic_size_t nfamilies, bytes;
    atomic_llong fruitless; /* last `now` at which a reclaim freed nothing */
    uint64_t seed[2];
    size_t fam_mask, subj_mask;
    mfam **fam;
    msubj **subj;
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

/* Seeded hash of short strings. sids are random and minted by us;
 * subjects come from the application; the per-store random seed keeps
 * bucket placement unpredictable from outside. Every rotation hashes its
 * sid, so where the compiler has a 64×64→128 multiply the hash takes 16
 * bytes a step, each folded through one full product (high half into low,
 * so no input bit stays in the high bits), seeds mixed into both factors;
 * the last block overlaps the one before it instead of a byte-wise tail.
 * A 43-byte sid costs four multiplies (ag__hash64 had five rounds and a
 * memcpy call). Elsewhere: ag__hash64. */
#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t str_hash(const mem *m, const char *p, size_t n)
{
    const uint64_t s0 = m->seed[0], s1 = m->seed[1];
    uint64_t h = s0 ^ ((uint64_t)n * UINT64_C(0x9e3779b97f4a7c15)), a = 0, b = 0;
    if (n > 16) {
        for (size_t i = 0; i + 16 < n; i += 16)
            h = fold_mul(load64(p + i) ^ s1, load64(p + i + 8) ^ h);
        a = load64(p + n - 16);
        b = load64(p + n - 8);
    } else if (n >= 8) {
        a = load64(p);
        b = load64(p + n - 8);
    } else if (n >= 4) {
        a = load32(p);
        b = load32(p + n - 4);
    } else if (n > 0) {
        a = ((uint64_t)(unsigned char)p[0] << 16) | ((uint64_t)(unsigned char)p[n / 2] << 8) |
            (unsigned char)p[n - 1];
    }
    h = fold_mul(a ^ s1, b ^ h);
    return fold_mul(h ^ UINT64_C(0xc4ceb9fe1a85ec53), s0 ^ s1 ^ 1u);
}
#else
static uint64_t str_hash(const mem *m, const char *p, size_t n)
{
    return ag__hash64(m->seed[0], m->seed[1], p, n);
}
#endif

static size_t fam_bucket(const mem *m, uint64_t h)
{
    return (size_t)(h & m->fam_mask);
}

static pthread_mutex_t *fam_lock_of(mem *m, uint64_t h)
{
    return &m->fam_locks[fam_bucket(m, h) & (NSTRIPES - 1)];
}

/* Caller holds the family stripe lock of h. Inline: it is most of a
 * rotation's time under the lock. */
static inline mfam *fam_find(const mem *m, uint64_t h, const char *sid, size_t len)
{
    for (mfam *f = m->fam[fam_bucket(m, h)]; f != NULL; f = f->next)
        if (f->h == h && f->row.sid_len == len && memcmp(f->row.sid, sid, len) == 0)
            return f;
    return NULL;
}

static msubj *subj_find(const mem *m, uint64_t sh, const char *name, size_t len)
{
    msubj *s = m->subj[sh & m->subj_mask];
    while (s != NULL && !(s->h == sh && s->len == len && memcmp(s->name, name, len) == 0))
        s = s->next;
    return s;
}

static bool reserve(mem *m)
{
    size_t n = atomic_fetch_add(&m->nfamilies, 1);
    if (n >= m->capacity) {
        atomic_fetch_sub(&m->nfamilies, 1);
        return false;
    }
    return true;
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

/* Deletes dead families, and revoked tombstones too when `tombstones`. */
static size_t sweep(mem *m, int64_t now, bool tombstones)
{
    size_t gone = 0;
    for (size_t stripe = 0; stripe < NSTRIPES; stripe++) {
        lock(&m->fam_locks[stripe]);
        for (size_t b = stripe; b <= m->fam_mask; b += NSTRIPES) {
            mfam **fp = &m->fam[b];
            while (*fp != NULL) {
                mfam *f = *fp;
                if (ag_store_family_dead(&f->row, now) || (tombstones && f->row.revoked_at != 0)) {
                    *fp = f->next;
                    subj_unlink(m, f);
                    mem_release(m, f, sizeof *f);
                    atomic_fetch_sub(&m->nfamilies, 1);
                    gone++;
                } else {
                    fp = &f->next;
                }
            }
        }
        unlock(&m->fam_locks[stripe]);
    }
    return gone;
}

/* A full store makes room from dead rows before refusing. A sweep that
 * found nothing is not repeated within the same second, so a store full
 * of live sessions answers STORE_FULL without a scan per call. */
static bool reserve_or_reclaim(mem *m, int64_t now)
{
    if (reserve(m))
        return true;
    if (atomic_load(&m->fruitless) == now)
        return false;
    if (sweep(m, now, true) == 0)
        atomic_store(&m->fruitless, now);
    return reserve(m);
}

/* ---- operations --------------------------------------------------------- */

static ag_err mem_create(ag_store *st, const ag_store_family *fam, int64_t reclaim_before)
{
    mem *m = (mem *)st;
    if (!reserve_or_reclaim(m, reclaim_before))
        return AG_ERR_STORE_FULL;
    mfam *f = mem_alloc(m, sizeof *f);
    msubj *spare = mem_alloc(m, sizeof *spare);
    if (f == NULL || spare == NULL) {
        mem_release(m, f, sizeof *f);
        mem_release(m, spare, sizeof *spare);
        atomic_fetch_sub(&m->nfamilies, 1);
        return AG_ERR_NOMEM;
    }
    f->row = *fam;
    f->created = fam->created;
    f->h = str_hash(m, fam->sid, fam->sid_len);
    uint64_t sh = str_hash(m, fam->subject, fam->subject_len);
    ag_err e = AG_OK;
    pthread_mutex_t *fl = fam_lock_of(m, f->h);
    lock(fl);
    if (fam_find(m, f->h, fam->sid, fam->sid_len) != NULL) {
        e = AG_ERR_EXISTS;
    } else {
        size_t b = fam_bucket(m, f->h);
        f->next = m->fam[b];
        m->fam[b] = f;
        lock(&m->subj_lock);
        msubj *s = subj_find(m, sh, fam->subject, fam->subject_len);
        if (s == NULL) {
            s = spare;
            spare = NULL;
            s->h = sh;
            ag__store_str_set(s->name, &s->len, fam->subject, fam->subject_len);
            s->next = m->subj[sh & m->subj_mask];
            m->subj[sh & m->subj_mask] = s;
        }
        f->subj = s;
        f->subj_next = s->head;
        if (s->head != NULL)
            s->head->subj_prev = f;
        s->head = f;
        s->nfam++;
        unlock(&m->subj_lock);
    }
    unlock(fl);
    mem_release(m, spare, sizeof *spare);
    if (e != AG_OK) {
        mem_release(m, f, sizeof *f);
        atomic_fetch_sub(&m->nfamilies, 1);
    }
    return e;
}

static ag_err mem_rotate(ag_store *st, const ag_store_rotation *rot, ag_store_rotated *out)
{
    mem *m = (mem *)st;
    uint64_t h = str_hash(m, rot->sid, rot->sid_len);
    pthread_mutex_t *fl = fam_lock_of(m, h);
    bool write = false;
    lock(fl);
    mfam *f = fam_find(m, h, rot->sid, rot->sid_len);
    /* decided and written in place, under the family's lock */
    ag_store_family *row = f != NULL ? &f->row : NULL;
    ag_store_family none;
    ag_err e = ag__store_decide(row, rot, row != NULL ? row : &none, &write, out);
    unlock(fl);
    if (write && row != NULL && e != AG_OK) /* reuse left a tombstone */
        atomic_store(&m->fruitless, 0);
    if (write && e == AG_OK && out->outcome == AG_STORE_LOGGED_OUT)
        atomic_store(&m->fruitless, 0);
    return e;
}

static ag_err mem_lookup_family(ag_store *st, const char *sid, size_t sid_len, ag_store_family *fam)
{
    mem *m = (mem *)st;
    uint64_t h = str_hash(m, sid, sid_len);
    pthread_mutex_t *fl = fam_lock_of(m, h);
    lock(fl);
    mfam *f = fam_find(m, h, sid, sid_len);
    if (f != NULL)
        *fam = f->row;
    unlock(fl);
    return f != NULL ? AG_OK : AG_ERR_NOT_FOUND;
}

/* Revokes by sid; *newly tells whether this call did it. With `only_live`
 * at `now`, a family that is not live is left alone. */
static ag_err revoke_one(mem *m, const char *sid, size_t sid_len, int64_t now,
                         ag_revoke_reason reason, bool only_live, bool *newly)
{
    uint64_t h = str_hash(m, sid, sid_len);
    pthread_mutex_t *fl = fam_lock_of(m, h);
    lock(fl);
    mfam *f = fam_find(m, h, sid, sid_len);
    *newly = false;
    if (f != NULL && f->row.revoked_at == 0 && (!only_live || ag_store_family_live(&f->row, now))) {
        ag__store_revoke_row(&f->row, now, reason);
        atomic_store(&m->fruitless, 0); /* a tombstone: room to reclaim */
        *newly = true;
    }
    unlock(fl);
    return f != NULL ? AG_OK : AG_ERR_NOT_FOUND;
}

static ag_err mem_revoke_family(ag_store *st, const char *sid, size_t sid_len, int64_t now,
                                ag_revoke_reason reason)
{
    bool newly;
    return revoke_one((mem *)st, sid, sid_len, now, reason, false, &newly);
}

typedef struct sid_copy {
    int64_t created;
    size_t len;
    char sid[AG_SID_MAX_LEN];
} sid_copy;

/* Snapshots a subject's families (the lock order forbids family locks
 * under the subject lock). *out is NULL when there are none. */
static ag_err subject_sids(mem *m, const char *subject, size_t subject_len, sid_copy **out,
                           size_t *n)
{
    uint64_t sh = str_hash(m, subject, subject_len);
    *out = NULL;
    *n = 0;
    lock(&m->subj_lock);
    msubj *s = subj_find(m, sh, subject, subject_len);
    if (s != NULL && s->nfam > 0) {
        sid_copy *v = ag__malloc(m->alloc, s->nfam * sizeof *v);
        if (v == NULL) {
            unlock(&m->subj_lock);
            return AG_ERR_NOMEM;
        }
        size_t i = 0;
        for (mfam *f = s->head; f != NULL; f = f->subj_next, i++) {
            v[i].created = f->created;
            v[i].len = f->row.sid_len; /* immutable, like the sid bytes */
            memcpy(v[i].sid, f->row.sid, f->row.sid_len);
        }
        *out = v;
        *n = i;
    }
    unlock(&m->subj_lock);
    return AG_OK;
}

static ag_err mem_revoke_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                                 ag_revoke_reason reason, ag_store_sid_fn fn, void *ctx,
                                 size_t *count)
{
    mem *m = (mem *)st;
    sid_copy *sids;
    size_t n, revoked = 0;
    ag_err e = subject_sids(m, subject, subject_len, &sids, &n);
    for (size_t i = 0; i < n; i++) {
        bool newly = false;
        (void)revoke_one(m, sids[i].sid, sids[i].len, now, reason, true, &newly);
        revoked += newly ? 1u : 0u;
        if (newly && fn != NULL)
            fn(ctx, sids[i].sid, sids[i].len);
    }
    ag__free(m->alloc, sids);
    *count = revoked;
    return e;
}

/* Newest first: created descending, then sid descending. */
static int newest_first(const void *a, const void *b)
{
    const sid_copy *x = a, *y = b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(y->sid, x->sid, n);
    return c != 0 ? c : (x->len < y->len) - (x->len > y->len);
}

static ag_err mem_evict(ag_store *st, const char *subject, size_t subject_len, size_t keep,
                        const char *keep_sid, size_t keep_sid_len, int64_t now, ag_store_sid_fn fn,
                        void *ctx, size_t *count)
{
    mem *m = (mem *)st;
    sid_copy *sids;
    size_t n, live = 0, evicted = 0;
    ag_err e = subject_sids(m, subject, subject_len, &sids, &n);
    if (n > keep) {
        qsort(sids, n, sizeof *sids, newest_first);
        /* the login just made counts first, whatever its place */
        for (size_t i = 0; keep_sid_len > 0 && i < n; i++) {
            if (sids[i].len == keep_sid_len && memcmp(sids[i].sid, keep_sid, keep_sid_len) == 0) {
                sid_copy k = sids[i];
                memmove(sids + 1, sids, i * sizeof *sids);
                sids[0] = k;
                break;
            }
        }
        for (size_t i = 0; i < n; i++) {
            ag_store_family f;
            if (mem_lookup_family(st, sids[i].sid, sids[i].len, &f) != AG_OK ||
                !ag_store_family_live(&f, now) || ++live <= keep)
                continue;
            bool newly = false;
            (void)revoke_one(m, sids[i].sid, sids[i].len, now, AG_REVOKE_EVICTED, true, &newly);
            if (newly) {
                evicted++;
                if (fn != NULL)
                    fn(ctx, sids[i].sid, sids[i].len);
            }
        }
    }
    ag__free(m->alloc, sids);
    *count = evicted;
    return e;
}

/* Oldest first: created ascending, then sid ascending (the listing order). */
static int oldest_first(const void *a, const void *b)
{
    return newest_first(b, a);
}

static ag_err mem_list_subject(ag_store *st, const char *subject, size_t subject_len, int64_t now,
                               ag_store_family *out, size_t cap, size_t *n, size_t *total)
{
    mem *m = (mem *)st;
    sid_copy *sids;
    size_t nsids, got = 0, live = 0;
    ag_err e = subject_sids(m, subject, subject_len, &sids, &nsids);
    if (nsids > 1)
        qsort(sids, nsids, sizeof *sids, oldest_first);
    for (size_t i = 0; i < nsids; i++) {
        ag_store_family f;
        if (mem_lookup_family(st, sids[i].sid, sids[i].len, &f) != AG_OK ||
            !ag_store_family_live(&f, now))
            continue;
        live++;
        if (got < cap)
            out[got++] = f;
        ag_cleanse(&f, sizeof f);
    }
    ag__free(m->alloc, sids);
    *n = got;
    *total = live;
    return e;
}

static ag_err mem_purge(ag_store *st, int64_t now, size_t *removed)
{
    *removed = sweep((mem *)st, now, false);
    return AG_OK;
}

static ag_err mem_stats(ag_store *st, ag_store_stats *out)
{
    mem *m = (mem *)st;
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
            ag__free_secret(m->alloc, f, sizeof *f);
        }
    }
    for (size_t b = 0; b <= m->subj_mask && m->subj != NULL; b++) {
        for (msubj *s = m->subj[b], *sn; s != NULL; s = sn) {
            sn = s->next;
            ag__free(m->alloc, s);
        }
    }
    ag__free(m->alloc, m->fam);
    ag__free(m->alloc, m->subj);
    for (size_t i = 0; i < NSTRIPES; i++)
        pthread_mutex_destroy(&m->fam_locks[i]);
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
    ag_store_memory_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    const ag_allocator *alloc = cfg != NULL ? cfg->alloc : NULL;
    size_t cap = cfg != NULL && cfg->capacity != 0 ? cfg->capacity : DEFAULT_CAPACITY;
    if (cap > (SIZE_MAX / 4) / sizeof(void *))
        return AG_ERR_INVALID_ARGUMENT;
    mem *m = ag__calloc(alloc, sizeof *m);
    if (m == NULL)
        return AG_ERR_NOMEM;
    m->alloc = alloc;
    m->capacity = cap;
    atomic_init(&m->nfamilies, 0);
    atomic_init(&m->bytes, sizeof *m);
    atomic_init(&m->fruitless, 0);
    /* Load factor ≤ 1 for families at capacity; subjects are usually fewer. */
    size_t nfam = pow2_at_least(cap), nsubj = pow2_at_least(cap / 4);
    m->fam_mask = nfam - 1;
    m->subj_mask = nsubj - 1;
    m->fam = ag__calloc(alloc, nfam * sizeof *m->fam);
    m->subj = ag__calloc(alloc, nsubj * sizeof *m->subj);
    atomic_fetch_add(&m->bytes, (nfam + nsubj) * sizeof(void *));
    ag_err e = ag_random((uint8_t *)m->seed, sizeof m->seed);
    if (m->fam == NULL || m->subj == NULL || e != AG_OK) {
        ag__free(alloc, m->fam);
        ag__free(alloc, m->subj);
        ag__free(alloc, m);
        return e != AG_OK ? AG_ERR_CRYPTO : AG_ERR_NOMEM;
    }
    for (size_t i = 0; i < NSTRIPES; i++)
        pthread_mutex_init(&m->fam_locks[i], NULL);
    pthread_mutex_init(&m->subj_lock, NULL);
    m->base.version = AG_STORE_INTERFACE_VERSION;
    m->base.name = "memory";
    m->base.ctx = m;
    m->base.create = mem_create;
    m->base.rotate = mem_rotate;
    m->base.lookup_family = mem_lookup_family;
    m->base.revoke_family = mem_revoke_family;
    m->base.revoke_subject = mem_revoke_subject;
    m->base.evict = mem_evict;
    m->base.list_subject = mem_list_subject;
    m->base.purge_expired = mem_purge;
    m->base.stats = mem_stats;
    m->base.close = mem_close;
    *out = &m->base;
    return AG_OK;
}

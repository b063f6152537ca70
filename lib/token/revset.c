/* SPDX-License-Identifier: MIT */
/*
 * authgate — the revocation set (include/authgate/revocation.h).
 *
 * A fixed open-addressing table. A slot holds a 128-bit tag (a seeded
 * hash of the entry's kind and key: sid or subject), the time until which
 * the entry is in force, and for subjects the iat before which tokens are
 * refused. Slots are written by one writer at a time (a mutex) and read
 * without a lock: each slot has a sequence counter, odd while a write is
 * under way, and a reader retries a slot whose counter moved (a seqlock,
 * with every field an atomic so no read is a data race).
 *
 * Tags are never cleared, so probe chains never break; an expired slot is
 * reused in place by the next insert that reaches it. Readers scan at most
 * `reach` slots from the home slot: the largest displacement of any entry
 * that may still be in force. The writer raises it before publishing a
 * farther entry, so a reader never stops short of a live one.
 *
 * @test tests/token/test_revset.c
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "authgate/revocation.h"
#include "authgate/token.h"
#include "token_int.h"

enum { KIND_SID = 1, KIND_SUBJECT = 2 };

typedef struct rslot {
    atomic_uint_least64_t seq;
    atomic_uint_least64_t t0, t1; /* 0/0: never used */
    atomic_int_least64_t until;   /* in force while now < until */
    atomic_int_least64_t before;  /* subjects: iat < before is refused */
} rslot;

struct ag_revset {
    const ag_allocator *alloc;
    rslot *slots;
    size_t mask;
    size_t capacity;
    int64_t ttl;
    int64_t max_staleness;
    atomic_size_t reach;         /* slots a reader scans from home, ≥ 1 */
    atomic_int_least64_t synced; /* last ag_revset_mark_synced; 0: never */
    uint64_t seed[2];
    pthread_mutex_t wmu;
};

/* A seeded 64-bit hash of kind and key: two independent seeds give the
 * two halves of a tag. */
static uint64_t hash64(uint64_t seed, int kind, const uint8_t *p, size_t n)
{
    return ag__hash64(seed ^ ((uint64_t)kind << 56), ~seed, p, n);
}

static void tag_of(const ag_revset *rs, int kind, const uint8_t *p, size_t n, uint64_t t[2])
{
    t[0] = hash64(rs->seed[0], kind, p, n) | 1u; /* never 0: 0/0 marks an unused slot */
    t[1] = hash64(rs->seed[1], kind, p, n);
}

/* Reads a slot consistently. False when it is unused. */
static bool slot_read(const rslot *s, uint64_t t[2], int64_t *until, int64_t *before)
{
    for (;;) {
        uint64_t q1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (q1 & 1u)
            continue; /* a write is under way: it is short */
        t[0] = atomic_load_explicit(&s->t0, memory_order_relaxed);
        t[1] = atomic_load_explicit(&s->t1, memory_order_relaxed);
        *until = atomic_load_explicit(&s->until, memory_order_relaxed);
        *before = atomic_load_explicit(&s->before, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) == q1)
            return t[0] != 0 || t[1] != 0;
    }
}

/* Writer only (holds wmu). */
static void slot_write(rslot *s, const uint64_t t[2], int64_t until, int64_t before)
{
    uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->t0, t[0], memory_order_relaxed);
    atomic_store_explicit(&s->t1, t[1], memory_order_relaxed);
    atomic_store_explicit(&s->until, until, memory_order_relaxed);
    atomic_store_explicit(&s->before, before, memory_order_relaxed);
    atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

ag_err ag_revset_new(const ag_revset_config *cfg, ag_revset **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    ag_revset_config sized;
    AG__SIZED_OR_RETURN(cfg, sized);
    if (cfg == NULL || cfg->entry_ttl <= 0 || cfg->entry_ttl > AG_NUMERICDATE_MAX / 4 ||
        cfg->capacity > AG_REVSET_CAPACITY_MAX || cfg->max_staleness < 0)
        return AG_ERR_INVALID_ARGUMENT;
    size_t cap = cfg->capacity != 0 ? cfg->capacity : AG_REVSET_CAPACITY_DEFAULT;
    size_t nslots = 64;
    while (nslots < 2 * cap)
        nslots <<= 1;
    ag_revset *rs = ag__calloc(cfg->alloc, sizeof *rs);
    if (rs == NULL)
        return AG_ERR_NOMEM;
    rs->alloc = cfg->alloc;
    rs->slots = ag__calloc(cfg->alloc, nslots * sizeof *rs->slots);
    if (rs->slots == NULL) {
        ag__free(cfg->alloc, rs);
        return AG_ERR_NOMEM;
    }
    if (ag_random((uint8_t *)rs->seed, sizeof rs->seed) != AG_OK) {
        ag__free(cfg->alloc, rs->slots);
        ag__free(cfg->alloc, rs);
        return AG_ERR_CRYPTO;
    }
    for (size_t i = 0; i < nslots; i++) {
        atomic_init(&rs->slots[i].seq, 0);
        atomic_init(&rs->slots[i].t0, 0);
        atomic_init(&rs->slots[i].t1, 0);
        atomic_init(&rs->slots[i].until, 0);
        atomic_init(&rs->slots[i].before, 0);
    }
    rs->mask = nslots - 1;
    rs->capacity = cap;
    rs->ttl = cfg->entry_ttl;
    rs->max_staleness = cfg->max_staleness;
    atomic_init(&rs->reach, 1);
    atomic_init(&rs->synced, 0);
    pthread_mutex_init(&rs->wmu, NULL);
    *out = rs;
    return AG_OK;
}

void ag_revset_free(ag_revset *rs)
{
    if (rs == NULL)
        return;
    pthread_mutex_destroy(&rs->wmu);
    ag__free(rs->alloc, rs->slots);
    ag_cleanse(rs->seed, sizeof rs->seed);
    ag__free(rs->alloc, rs);
}

/* Inserts or extends an entry. An existing entry of the same tag keeps the
 * later until/before; otherwise the first unused or expired slot from home
 * takes it. The scan is bounded by the table, not by `reach`, so room is
 * found whenever fewer than half the slots are in force. */
static ag_err add(ag_revset *rs, int kind, const char *key, size_t len, int64_t at, int64_t before)
{
    if (rs == NULL || key == NULL || len == 0 || len > AG_SUBJECT_MAX_LEN ||
        memchr(key, '\0', len) != NULL || at <= 0 || at > AG_NUMERICDATE_MAX)
        return AG_ERR_INVALID_ARGUMENT;
    uint64_t t[2];
    tag_of(rs, kind, (const uint8_t *)key, len, t);
    int64_t until = at + rs->ttl;
    size_t home = (size_t)(t[0] >> 1) & rs->mask, limit = rs->mask + 1;
    ag_err e = AG_ERR_STORE_FULL;
    pthread_mutex_lock(&rs->wmu);
    size_t reach = atomic_load_explicit(&rs->reach, memory_order_relaxed);
    size_t free_at = SIZE_MAX;
    for (size_t d = 0; d < limit; d++) {
        rslot *s = &rs->slots[(home + d) & rs->mask];
        uint64_t st[2];
        int64_t su, sb;
        bool used = slot_read(s, st, &su, &sb);
        if (used && st[0] == t[0] && st[1] == t[1]) {
            /* the same key: extend it where it is */
            slot_write(s, t, su > until ? su : until, sb > before ? sb : before);
            e = AG_OK;
            break;
        }
        if (free_at == SIZE_MAX && (!used || su <= at))
            free_at = d;
        /* past every slot an entry of this key could be in */
        if (!used || (d + 1 >= reach && free_at != SIZE_MAX)) {
            if (free_at == SIZE_MAX)
                continue;
            if (free_at + 1 > reach) /* before the entry is visible */
                atomic_store_explicit(&rs->reach, free_at + 1, memory_order_release);
            slot_write(&rs->slots[(home + free_at) & rs->mask], t, until, before);
            e = AG_OK;
            break;
        }
    }
    pthread_mutex_unlock(&rs->wmu);
    return e;
}

ag_err ag_revset_add_sid(ag_revset *rs, const char *sid, size_t len, int64_t at)
{
    if (len > AG_SID_MAX_LEN)
        return AG_ERR_INVALID_ARGUMENT;
    return add(rs, KIND_SID, sid, len, at, INT64_MAX);
}

ag_err ag_revset_add_subject(ag_revset *rs, const char *sub, size_t len, int64_t at)
{
    return add(rs, KIND_SUBJECT, sub, len, at, at);
}

/* The entry of this key in force at now: its `before`, or INT64_MIN. The
 * second half of the tag is computed only when the first matches: almost
 * every token looked up is not revoked. */
static int64_t find(const ag_revset *rs, int kind, ag_span key, int64_t now)
{
    uint64_t t0 = hash64(rs->seed[0], kind, key.ptr, key.len) | 1u, t1 = 0;
    bool have_t1 = false;
    size_t home = (size_t)(t0 >> 1) & rs->mask;
    size_t reach = atomic_load_explicit(&rs->reach, memory_order_acquire);
    int64_t hit = INT64_MIN;
    for (size_t d = 0; d < reach; d++) {
        uint64_t st[2];
        int64_t su, sb;
        if (!slot_read(&rs->slots[(home + d) & rs->mask], st, &su, &sb))
            break; /* never used: the chain ends here */
        if (st[0] != t0 || now >= su || sb <= hit)
            continue;
        if (!have_t1) {
            t1 = hash64(rs->seed[1], kind, key.ptr, key.len);
            have_t1 = true;
        }
        if (st[1] == t1)
            hit = sb;
    }
    return hit;
}

ag_err ag_revset_check(const ag_revset *rs, const ag_claims *c, int64_t now)
{
    if (rs == NULL || c == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (rs->max_staleness > 0) {
        int64_t s = atomic_load_explicit(&rs->synced, memory_order_relaxed);
        if (s != 0 && now - s > rs->max_staleness)
            return AG_ERR_STORE;
    }
    if (c->sid.len > 0 && find(rs, KIND_SID, c->sid, now) != INT64_MIN)
        return AG_ERR_REVOKED;
    if (c->sub.len > 0 && c->iat < find(rs, KIND_SUBJECT, c->sub, now))
        return AG_ERR_REVOKED;
    return AG_OK;
}

void ag_revset_mark_synced(ag_revset *rs, int64_t now)
{
    if (rs != NULL)
        atomic_store_explicit(&rs->synced, now, memory_order_relaxed);
}

ag_err ag_revset_stats_get(const ag_revset *rs, int64_t now, ag_revset_stats *out)
{
    if (rs == NULL || out == NULL || ag__sized_out(out, sizeof *out) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    ag__sized_clear(out, sizeof *out);
    for (size_t i = 0; i <= rs->mask; i++) {
        uint64_t st[2];
        int64_t su, sb;
        if (slot_read(&rs->slots[i], st, &su, &sb) && now < su)
            out->live++;
    }
    out->capacity = rs->capacity;
    out->bytes = sizeof *rs + (rs->mask + 1) * sizeof *rs->slots;
    out->last_synced = atomic_load_explicit(&rs->synced, memory_order_relaxed);
    return AG_OK;
}

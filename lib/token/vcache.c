/* SPDX-License-Identifier: MIT */
/*
 * authgate — the verified-token cache: storage. A set-associative table
 * keyed by SHA-256 of the token, CLOCK replacement, lock-free readers
 * under a per-set seqlock whose fields are all atomics (so no data race),
 * nothing allocated after creation. Why each choice, and why a stale key
 * is never used after a key swap: docs/internals.md, "The verified-token
 * cache".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "token_int.h"

#define WAYS 4
#define NSTRIPES_MAX 64
#define ENTRIES_MIN 16
#define CACHE_LINE 64
#define HASH_WORDS 8
#define DATA_WORDS (AG__VCACHE_DATA_MAX / 4)
#define READ_TRIES 4

/* meta word: alg in bits 0..7, then flags */
#define M_USED (1u << 8)
#define M_TYP (1u << 9)
#define M_KID (1u << 10) /* false only for ag__jws.kid_optional (tests) */

typedef struct entry {
    _Atomic uint32_t hash[HASH_WORDS];
    _Atomic(const ag_key *) key; /* as stored; may be stale (see above) */
    _Atomic uint32_t key_id[2];  /* the key's id, low word first */
    _Atomic uint32_t meta;
    _Atomic uint32_t lens; /* kid_len | typ_len << 16 */
    _Atomic uint32_t payload_len;
    atomic_bool ref;                   /* hit since the CLOCK hand last passed */
    _Atomic uint32_t data[DATA_WORDS]; /* kid ‖ typ ‖ payload, zero padded */
} entry;

typedef struct set {
    _Atomic unsigned seq; /* odd while a writer is inside */
    unsigned hand;        /* CLOCK hand, 0..WAYS-1; writers only (under the stripe) */
    entry way[WAYS];
} set;

/* One mutex per cache line, so two stripes never share one. */
typedef union stripe {
    pthread_mutex_t mu;
    unsigned char line[CACHE_LINE * ((sizeof(pthread_mutex_t) + CACHE_LINE - 1) / CACHE_LINE)];
} stripe;

struct ag__vcache {
    const ag_allocator *alloc;
    size_t nsets;    /* power of two */
    size_t nstripes; /* power of two, ≤ nsets */
    size_t nlocks;   /* mutexes initialised (for a partial failure) */
    stripe *stripes;
    set *sets;
};

static void destroy(ag__vcache *c)
{
    for (size_t i = 0; i < c->nlocks; i++)
        pthread_mutex_destroy(&c->stripes[i].mu);
    if (c->sets != NULL)
        ag__free_secret(c->alloc, c->sets, c->nsets * sizeof(set));
    ag__free(c->alloc, c->stripes);
    ag__free(c->alloc, c);
}

ag_err ag__vcache_new(const ag_allocator *alloc, size_t entries, ag__vcache **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (entries == 0)
        return AG_ERR_INVALID_ARGUMENT;

    /* round up to a power of two ≥ ENTRIES_MIN; refuse what cannot be
     * allocated rather than overflow */
    size_t n = ENTRIES_MIN;
    while (n < entries) {
        if (n > SIZE_MAX / 2)
            return AG_ERR_NOMEM;
        n *= 2;
    }
    size_t nsets = n / WAYS;
    if (nsets > SIZE_MAX / sizeof(set))
        return AG_ERR_NOMEM;

    ag__vcache *c = ag__calloc(alloc, sizeof(*c));
    if (c == NULL)
        return AG_ERR_NOMEM;
    c->alloc = alloc;
    c->nsets = nsets;
    c->nstripes = nsets < NSTRIPES_MAX ? nsets : NSTRIPES_MAX;
    c->stripes = ag__calloc(alloc, c->nstripes * sizeof(stripe));
    /* all-zero bytes are a valid empty entry: lock-free atomics of integer
     * and pointer type have no hidden state (C11 7.17.2.1 leaves the
     * representation open; every ABI we build for uses the plain one). */
    c->sets = ag__calloc(alloc, nsets * sizeof(set));
    if (c->stripes == NULL || c->sets == NULL) {
        destroy(c);
        return AG_ERR_NOMEM;
    }
    for (; c->nlocks < c->nstripes; c->nlocks++) {
        if (pthread_mutex_init(&c->stripes[c->nlocks].mu, NULL) != 0) {
            destroy(c);
            return AG_ERR_NOMEM;
        }
    }
    *out = c;
    return AG_OK;
}

void ag__vcache_free(ag__vcache *c)
{
    if (c != NULL)
        destroy(c);
}

/* The set of a hash: the low bits of its first 8 bytes, little-endian. */
static size_t set_of(const ag__vcache *c, const uint8_t hash[32])
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | hash[i];
    return (size_t)(x & (uint64_t)(c->nsets - 1));
}

#define LOAD(p) atomic_load_explicit((p), memory_order_relaxed)
#define STORE(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)

/* The way holding hash in s, or WAYS. Compares every used way in constant
 * time (ag__ct_eq) and does not stop at the first match. Relaxed loads: a
 * reader validates the result with the set's counter. */
static unsigned find_way(const set *s, const uint8_t hash[32])
{
    unsigned found = WAYS;
    for (unsigned w = 0; w < WAYS; w++) {
        const entry *e = &s->way[w];
        uint32_t hw[HASH_WORDS];
        for (int i = 0; i < HASH_WORDS; i++)
            hw[i] = LOAD(&e->hash[i]);
        if ((LOAD(&e->meta) & M_USED) && ag__ct_eq(hw, hash, 32))
            found = w;
    }
    return found;
}

bool ag__vcache_get(ag__vcache *c, const uint8_t hash[32], ag__jws *j)
{
    if (c == NULL || hash == NULL || j == NULL)
        return false;
    set *s = &c->sets[set_of(c, hash)];
    uint32_t buf[DATA_WORDS]; /* the copy, kept only when validated */

    for (int tries = 0; tries < READ_TRIES; tries++) {
        unsigned s0 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (s0 & 1u)
            continue; /* a writer is inside */
        unsigned w = find_way(s, hash);
        bool fits = false;
        entry *e = NULL;
        uint32_t meta = 0, lens = 0, plen = 0;
        const ag_key *key = NULL;
        uint64_t key_id = 0;
        size_t kid_len = 0, typ_len = 0;
        if (w < WAYS) {
            e = &s->way[w];
            meta = LOAD(&e->meta);
            lens = LOAD(&e->lens);
            plen = LOAD(&e->payload_len);
            key = LOAD(&e->key);
            key_id = (uint64_t)LOAD(&e->key_id[0]) | (uint64_t)LOAD(&e->key_id[1]) << 32;
            kid_len = lens & 0xffffu;
            typ_len = lens >> 16;
            /* bound everything before use: a torn read can say anything */
            size_t total = kid_len + typ_len + plen;
            fits = total <= AG__VCACHE_DATA_MAX && plen <= j->payload_cap &&
                   kid_len + typ_len <= j->strbuf_cap && (plen == 0 || j->payload != NULL) &&
                   (kid_len + typ_len == 0 || j->strbuf != NULL);
            if (fits)
                for (size_t i = 0; i < (total + 3) / 4; i++)
                    buf[i] = LOAD(&e->data[i]);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s0)
            continue; /* a writer came and went: the copy may be torn */
        if (!fits)
            return false; /* a consistent miss, or an entry that does not fit */

        const uint8_t *d = (const uint8_t *)buf;
        size_t strings = kid_len + typ_len;
        j->alg = (ag_alg)(meta & 0xffu);
        j->key = key;
        j->key_id = key_id;
        j->has_typ = (meta & M_TYP) != 0;
        if (strings > 0)
            memcpy(j->strbuf, d, strings);
        j->strbuf_len = strings;
        j->kid.ptr = (meta & M_KID) ? j->strbuf : NULL;
        j->kid.len = kid_len;
        j->typ.ptr = (meta & M_TYP) ? j->strbuf + kid_len : NULL;
        j->typ.len = typ_len;
        if (plen > 0)
            memcpy(j->payload, d + strings, plen);
        j->payload_len = plen;
        /* second chance for CLOCK; written only when it changes, so a hot
         * entry's line stays shared between the cores reading it */
        if (!atomic_load_explicit(&e->ref, memory_order_relaxed))
            atomic_store_explicit(&e->ref, true, memory_order_relaxed);
        return true;
    }
    return false; /* writers kept the set busy: a miss, never a torn entry */
}

void ag__vcache_put(ag__vcache *c, const uint8_t hash[32], const ag__jws *j)
{
    if (c == NULL || hash == NULL || j == NULL)
        return;
    size_t kid_len = j->kid.ptr != NULL ? j->kid.len : 0;
    size_t typ_len = j->has_typ ? j->typ.len : 0;
    /* checked one by one so that no sum can wrap */
    if (kid_len > AG__VCACHE_DATA_MAX || typ_len > AG__VCACHE_DATA_MAX ||
        j->payload_len > AG__VCACHE_DATA_MAX ||
        kid_len + typ_len + j->payload_len > AG__VCACHE_DATA_MAX)
        return; /* not cached: it would not fit an entry */
    if ((kid_len > 0 && j->kid.ptr == NULL) || (typ_len > 0 && j->typ.ptr == NULL) ||
        (j->payload_len > 0 && j->payload == NULL))
        return;
    if ((unsigned)j->alg > 0xffu || j->key == NULL)
        return;
    uint64_t key_id = j->key->id;

    /* the entry's bytes, zero padded to whole words, built before locking */
    size_t total = kid_len + typ_len + j->payload_len;
    size_t words = (total + 3) / 4;
    uint32_t buf[DATA_WORDS];
    uint8_t *d = (uint8_t *)buf;
    if (words > 0)
        buf[words - 1] = 0;
    if (kid_len > 0)
        memcpy(d, j->kid.ptr, kid_len);
    if (typ_len > 0)
        memcpy(d + kid_len, j->typ.ptr, typ_len);
    if (j->payload_len > 0)
        memcpy(d + kid_len + typ_len, j->payload, j->payload_len);
    uint32_t meta =
        (uint32_t)j->alg | M_USED | (j->has_typ ? M_TYP : 0u) | (j->kid.ptr != NULL ? M_KID : 0u);
    uint32_t hw[HASH_WORDS];
    memcpy(hw, hash, 32);

    size_t si = set_of(c, hash);
    pthread_mutex_t *mu = &c->stripes[si & (c->nstripes - 1)].mu;
    pthread_mutex_lock(mu);
    set *s = &c->sets[si];
    unsigned w = find_way(s, hash);
    bool replace = w == WAYS;
    /* CLOCK: spare (and clear) referenced ways. Ways are never emptied and
     * the hand starts at 0, so a set's empty ways are always the ones from
     * the hand on: they are taken first, in order. */
    while (w == WAYS) {
        entry *v = &s->way[s->hand];
        if (atomic_load_explicit(&v->ref, memory_order_relaxed))
            atomic_store_explicit(&v->ref, false, memory_order_relaxed);
        else
            w = s->hand;
        s->hand = (s->hand + 1) % WAYS;
    }
    entry *e = &s->way[w];
    uint32_t old_lens = LOAD(&e->lens);
    size_t old_words = ((old_lens & 0xffffu) + (old_lens >> 16) + LOAD(&e->payload_len) + 3) / 4;

    unsigned seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1u, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (int i = 0; i < HASH_WORDS; i++)
        STORE(&e->hash[i], hw[i]);
    STORE(&e->key, j->key);
    STORE(&e->key_id[0], (uint32_t)key_id);
    STORE(&e->key_id[1], (uint32_t)(key_id >> 32));
    STORE(&e->meta, meta);
    STORE(&e->lens, (uint32_t)kid_len | (uint32_t)typ_len << 16);
    STORE(&e->payload_len, (uint32_t)j->payload_len);
    if (replace)
        atomic_store_explicit(&e->ref, false, memory_order_relaxed);
    for (size_t i = 0; i < words; i++)
        STORE(&e->data[i], buf[i]);
    /* a replaced entry keeps nothing of the old token beyond the new one */
    for (size_t i = words; i < old_words && i < DATA_WORDS; i++)
        STORE(&e->data[i], 0u);
    atomic_store_explicit(&s->seq, seq + 2u, memory_order_release);
    pthread_mutex_unlock(mu);
}

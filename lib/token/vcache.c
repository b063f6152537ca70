/*
 * authgate — the verified-token cache: storage (issue 6).
 *
 * What it holds: for a token whose signature ag__jws_verify accepted, what
 * that call produced (alg, key, kid, typ, decoded payload), keyed by
 * SHA-256 of the whole token text. A hit lets ag_verify skip base64url,
 * header policy and the signature check, and go straight to the claim
 * checks, which always run again (exp, nbf, iat are time dependent).
 *
 * Shape: a set-associative table of fixed-size entries, WAYS entries per
 * set. The set is chosen by the low bits of the hash's first 8 bytes read
 * little-endian; SHA-256 makes that uniform, and only tokens signed by a key
 * of the verifier's keyring are ever stored, so nobody can aim at one set
 * without the signing key. Replacement within a set is CLOCK (second
 * chance): the hand sweeps the ways, sparing (and clearing) any entry that
 * was hit since the hand last passed, and takes the first other one (an
 * empty way is never referenced, so empty ways fill first).
 * A token verified again and again stays; one-off tokens replace each other.
 *
 * Threads: sets are guarded by striped pthread mutexes (set i by stripe
 * i mod NSTRIPES), each on its own cache line. Every field of every entry
 * is read and written only under its stripe's lock. A get copies the entry
 * out under the lock, so what it returns never changes under the caller.
 *
 * Memory: everything is allocated in ag__vcache_new through the caller's
 * allocator (about 2.1 KiB per entry: 1024 entries ≈ 2.1 MiB); get and put
 * allocate nothing. ag__vcache_free cleanses the entries (payloads are
 * claims about users) before freeing them.
 *
 * The key pointer stored in an entry is borrowed: it stays valid as long as
 * the keyring that holds the key lives. A cache belongs to one verifier,
 * which holds a reference to its (frozen, immutable) keyring, so every
 * stored pointer outlives the cache.
 */
#include <pthread.h>
#include <string.h>

#include "token_int.h"

#define WAYS 4
#define NSTRIPES_MAX 64
#define ENTRIES_MIN 16
#define CACHE_LINE 64

typedef struct entry {
    uint8_t hash[32];
    const ag_key *key;   /* borrowed from the verifier's keyring */
    ag_alg alg;
    bool used;
    bool ref;            /* hit since the CLOCK hand last passed */
    bool has_typ;
    bool has_kid;        /* false only for ag__jws.kid_optional (tests) */
    uint16_t kid_len;
    uint16_t typ_len;
    uint16_t payload_len;
    /* kid ‖ typ ‖ payload */
    uint8_t data[AG__VCACHE_DATA_MAX];
} entry;

typedef struct set {
    entry way[WAYS];
    unsigned hand; /* CLOCK hand, 0..WAYS-1 */
} set;

/* One mutex per cache line, so two stripes never share one. */
typedef union stripe {
    pthread_mutex_t mu;
    unsigned char line[CACHE_LINE * ((sizeof(pthread_mutex_t) + CACHE_LINE - 1) / CACHE_LINE)];
} stripe;

struct ag__vcache {
    const ag_allocator *alloc;
    size_t nsets;     /* power of two */
    size_t nstripes;  /* power of two, ≤ nsets */
    size_t nlocks;    /* mutexes initialised (for a partial failure) */
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

static pthread_mutex_t *lock_of(ag__vcache *c, size_t s)
{
    return &c->stripes[s & (c->nstripes - 1)].mu;
}

/* The way holding hash in s, or WAYS. Compares every used way in constant
 * time (ag__ct_eq) and does not stop at the first match. */
static unsigned find_way(const set *s, const uint8_t hash[32])
{
    unsigned found = WAYS;
    for (unsigned w = 0; w < WAYS; w++)
        if (s->way[w].used && ag__ct_eq(s->way[w].hash, hash, 32))
            found = w;
    return found;
}

bool ag__vcache_get(ag__vcache *c, const uint8_t hash[32], ag__jws *j)
{
    if (c == NULL || hash == NULL || j == NULL)
        return false;
    size_t si = set_of(c, hash);
    pthread_mutex_t *mu = lock_of(c, si);
    bool hit = false;

    pthread_mutex_lock(mu);
    set *s = &c->sets[si];
    unsigned w = find_way(s, hash);
    if (w < WAYS) {
        entry *e = &s->way[w];
        size_t strings = (size_t)e->kid_len + e->typ_len;
        if (e->payload_len <= j->payload_cap && strings <= j->strbuf_cap &&
            (e->payload_len == 0 || j->payload != NULL) && (strings == 0 || j->strbuf != NULL)) {
            e->ref = true;
            j->alg = e->alg;
            j->key = e->key;
            j->has_typ = e->has_typ;
            if (strings > 0)
                memcpy(j->strbuf, e->data, strings);
            j->strbuf_len = strings;
            j->kid.ptr = e->has_kid ? j->strbuf : NULL;
            j->kid.len = e->kid_len;
            j->typ.ptr = e->has_typ ? j->strbuf + e->kid_len : NULL;
            j->typ.len = e->typ_len;
            if (e->payload_len > 0)
                memcpy(j->payload, e->data + strings, e->payload_len);
            j->payload_len = e->payload_len;
            hit = true;
        }
    }
    pthread_mutex_unlock(mu);
    return hit;
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

    size_t si = set_of(c, hash);
    pthread_mutex_t *mu = lock_of(c, si);
    pthread_mutex_lock(mu);
    set *s = &c->sets[si];
    unsigned w = find_way(s, hash);
    if (w == WAYS) {
        /* CLOCK: spare (and clear) referenced ways. Ways are never emptied
         * and the hand starts at 0, so a set's empty ways are always the
         * ones from the hand on: they are taken first, in order. */
        while (w == WAYS) {
            entry *e = &s->way[s->hand];
            if (e->ref) {
                e->ref = false;
            } else {
                w = s->hand;
            }
            s->hand = (s->hand + 1) % WAYS;
        }
    }
    entry *e = &s->way[w];
    /* a replaced entry of another token: wipe what it held beyond the new one */
    size_t old = (size_t)e->kid_len + e->typ_len + e->payload_len;
    size_t now = kid_len + typ_len + j->payload_len;
    memcpy(e->hash, hash, 32);
    e->key = j->key;
    e->alg = j->alg;
    e->used = true;
    e->has_typ = j->has_typ;
    e->has_kid = j->kid.ptr != NULL;
    e->kid_len = (uint16_t)kid_len;
    e->typ_len = (uint16_t)typ_len;
    e->payload_len = (uint16_t)j->payload_len;
    if (kid_len > 0)
        memcpy(e->data, j->kid.ptr, kid_len);
    if (typ_len > 0)
        memcpy(e->data + kid_len, j->typ.ptr, typ_len);
    if (j->payload_len > 0)
        memcpy(e->data + kid_len + typ_len, j->payload, j->payload_len);
    if (old > now)
        memset(e->data + now, 0, old - now);
    pthread_mutex_unlock(mu);
}

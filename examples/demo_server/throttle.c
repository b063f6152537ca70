/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — login throttling (docs/demo.md, "Login throttling").
 *
 * Every password check costs a PBKDF2 run (about 60 ms of CPU), so an
 * unthrottled login is both a guessing oracle and a CPU lever. Two token
 * buckets gate each attempt before any hashing: one per client address
 * (IPv6 by /64, the block one subscriber usually holds) and one per user
 * name as sent (known or not, so throttling says nothing about which names
 * exist). An attempt takes a token from both; a correct password gives
 * them back, so only failures count.
 *
 * Memory is fixed at start: a table of sets of DEMO_THROTTLE_WAYS entries.
 * A new key takes an empty slot of its set, else evicts the entry with the
 * most tokens (the one that says least: a full bucket is the same as no
 * entry), oldest first on a tie. Flooding with fresh names therefore
 * cannot push out a drained bucket without first draining as many. Keys
 * are a keyed hash (SHA-256 over a random seed), so nobody can aim many
 * names at one set.
 */
#define _POSIX_C_SOURCE 200809L
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/evp.h>

#include "demo.h"

#define DEMO_THROTTLE_WAYS 8

typedef struct bucket {
    uint64_t key; /* 0: empty */
    double tokens;
    int64_t stamp_ms; /* when tokens was last brought up to date */
    uint32_t burst;   /* its kind's size and refill, for the eviction scan */
    uint32_t refill_ms;
} bucket;

struct demo_throttle {
    demo_throttle_config cfg;
    pthread_mutex_t mu;
    uint8_t seed[16];
    size_t nsets;
    bucket *slots; /* nsets × DEMO_THROTTLE_WAYS */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool demo_throttle_new(const demo_throttle_config *cfg, demo_throttle **out)
{
    demo_throttle *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return false;
    t->cfg = *cfg;
    t->nsets = cfg->entries / DEMO_THROTTLE_WAYS;
    if (t->nsets == 0)
        t->nsets = 1;
    t->slots = calloc(t->nsets * DEMO_THROTTLE_WAYS, sizeof(bucket));
    if (t->slots == NULL || ag_random(t->seed, sizeof(t->seed)) != AG_OK ||
        pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t->slots);
        free(t);
        return false;
    }
    *out = t;
    return true;
}

void demo_throttle_free(demo_throttle *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->slots);
    free(t);
}

/* SHA-256(seed ‖ kind ‖ bytes), first 8 bytes; never 0. */
static uint64_t key_of(const demo_throttle *t, char kind, const void *bytes, size_t len)
{
    uint8_t msg[sizeof(t->seed) + 1 + AG_SUBJECT_MAX_LEN + 1];
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    uint64_t k = 0;
    if (len > AG_SUBJECT_MAX_LEN + 1)
        len = AG_SUBJECT_MAX_LEN + 1; /* names are capped before this anyway */
    memcpy(msg, t->seed, sizeof(t->seed));
    msg[sizeof(t->seed)] = (uint8_t)kind;
    memcpy(msg + sizeof(t->seed) + 1, bytes, len);
    if (EVP_Digest(msg, sizeof(t->seed) + 1 + len, md, &mdlen, EVP_sha256(), NULL) == 1)
        memcpy(&k, md, sizeof(k));
    return k != 0 ? k : 1;
}

/* The client's key: IPv4 address, IPv6 /64 (IPv4-mapped as IPv4). */
static uint64_t client_key(const demo_throttle *t, const struct sockaddr *sa)
{
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return key_of(t, '4', &in->sin_addr, 4);
    }
    if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, sizeof(mapped)) == 0)
            return key_of(t, '4', a + 12, 4);
        return key_of(t, '6', a, 8);
    }
    return key_of(t, '?', "", 0);
}

static void refill(bucket *b, int64_t now)
{
    if (now > b->stamp_ms) {
        b->tokens += (double)(now - b->stamp_ms) / (double)b->refill_ms;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->stamp_ms = now;
}

/* The bucket of key, brought up to date; created (full) when create is
 * set, evicting as described above but never keep. NULL when absent. */
static bucket *find(demo_throttle *t, uint64_t key, uint32_t burst, uint32_t refill_ms, int64_t now,
                    bool create, const bucket *keep)
{
    bucket *set = t->slots + (key % t->nsets) * DEMO_THROTTLE_WAYS;
    bucket *victim = NULL;
    for (size_t i = 0; i < DEMO_THROTTLE_WAYS; i++) {
        if (set[i].key == key) {
            refill(&set[i], now);
            return &set[i];
        }
    }
    if (!create)
        return NULL;
    for (size_t i = 0; i < DEMO_THROTTLE_WAYS; i++) {
        bucket *b = &set[i];
        if (b == keep)
            continue;
        if (b->key == 0) {
            victim = b;
            break;
        }
        refill(b, now); /* compare what each holds now, at its own rate */
        if (victim == NULL || b->tokens > victim->tokens ||
            (b->tokens == victim->tokens && b->stamp_ms < victim->stamp_ms))
            victim = b;
    }
    victim->key = key;
    victim->tokens = burst;
    victim->stamp_ms = now;
    victim->burst = burst;
    victim->refill_ms = refill_ms;
    return victim;
}

int64_t demo_throttle_take(demo_throttle *t, const struct sockaddr *client, const char *user,
                           size_t user_len)
{
    const demo_throttle_config *c = &t->cfg;
    int64_t now = now_ms(), wait_ms = 0;
    uint64_t kc = c->ip_burst ? client_key(t, client) : 0;
    uint64_t ku = c->user_burst ? key_of(t, 'u', user, user_len) : 0;
    pthread_mutex_lock(&t->mu);
    bucket *bc = kc ? find(t, kc, c->ip_burst, c->ip_refill_ms, now, true, NULL) : NULL;
    bucket *bu = ku ? find(t, ku, c->user_burst, c->user_refill_ms, now, true, bc) : NULL;
    if (bc != NULL && bc->tokens < 1.0)
        wait_ms = (int64_t)((1.0 - bc->tokens) * (double)c->ip_refill_ms);
    if (bu != NULL && bu->tokens < 1.0) {
        int64_t w = (int64_t)((1.0 - bu->tokens) * (double)c->user_refill_ms);
        wait_ms = w > wait_ms ? w : wait_ms;
    }
    if (wait_ms == 0 && ((bc != NULL && bc->tokens < 1.0) || (bu != NULL && bu->tokens < 1.0)))
        wait_ms = 1;
    if (wait_ms == 0) {
        if (bc != NULL)
            bc->tokens -= 1.0;
        if (bu != NULL)
            bu->tokens -= 1.0;
    }
    pthread_mutex_unlock(&t->mu);
    return wait_ms == 0 ? 0 : (wait_ms + 999) / 1000; /* whole seconds, at least 1 */
}

void demo_throttle_give(demo_throttle *t, const struct sockaddr *client, const char *user,
                        size_t user_len)
{
    const demo_throttle_config *c = &t->cfg;
    int64_t now = now_ms();
    uint64_t kc = c->ip_burst ? client_key(t, client) : 0;
    uint64_t ku = c->user_burst ? key_of(t, 'u', user, user_len) : 0;
    pthread_mutex_lock(&t->mu);
    bucket *bc = kc ? find(t, kc, c->ip_burst, c->ip_refill_ms, now, false, NULL) : NULL;
    bucket *bu = ku ? find(t, ku, c->user_burst, c->user_refill_ms, now, false, NULL) : NULL;
    if (bc != NULL && (bc->tokens += 1.0) > c->ip_burst)
        bc->tokens = c->ip_burst;
    if (bu != NULL && (bu->tokens += 1.0) > c->user_burst)
        bu->tokens = c->user_burst;
    pthread_mutex_unlock(&t->mu);
}

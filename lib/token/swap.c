/* SPDX-License-Identifier: MIT */
/*
 * authgate — a pointer that writers replace while readers use it, without
 * a lock or a wait on the read side (hot key swap): per-thread-striped
 * reader counters per epoch parity, and an old object freed only once
 * both parities that could have seen it drained. The protocol and why it
 * is safe: docs/internals.md, "Replacing keys under readers: the two-epoch
 * grace period".
 *
 * @test tests/token/test_swap.c
 */
#include <sched.h>

#include "../common/observe_int.h"
#include "token_int.h"

/* How many times a writer looks at a parity's counters before it defers
 * the free to a later swap: a few microseconds, about one HS256 verify. */
#define DRAIN_LOOKS 256

static atomic_uint next_stripe;
static _Thread_local unsigned my_stripe; /* 0: not yet chosen; else stripe + 1 */

static unsigned stripe_of_thread(void)
{
    if (my_stripe == 0)
        my_stripe =
            atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed) % AG__SWAP_STRIPES +
            1u;
    return my_stripe - 1u;
}

void ag__swap_init(ag__swap *s, ag__swap_node *first, ag__swap_free_fn free_fn, void *ctx)
{
    atomic_init(&s->cur, first);
    atomic_init(&s->epoch, 0);
    atomic_flag_clear(&s->writer);
    s->retired[0] = s->retired[1] = NULL;
    s->free_fn = free_fn;
    s->free_ctx = ctx;
    for (size_t p = 0; p < 2; p++)
        for (size_t i = 0; i < AG__SWAP_STRIPES; i++)
            atomic_init(&s->readers[p][i].n, 0);
}

ag__swap_node *ag__swap_enter(ag__swap *s, ag__swap_ticket *t)
{
    unsigned stripe = stripe_of_thread();
    for (;;) {
        unsigned e = atomic_load(&s->epoch);
        atomic_size_t *c = &s->readers[e & 1u][stripe].n;
        atomic_fetch_add(c, 1);
        if (atomic_load(&s->epoch) == e) {
            t->counter = c;
            return atomic_load(&s->cur);
        }
        atomic_fetch_sub(c, 1); /* a writer flipped meanwhile: count under the new parity */
    }
}

void ag__swap_leave(ag__swap_ticket *t)
{
    atomic_fetch_sub(t->counter, 1);
}

static bool drained(ag__swap *s, unsigned parity)
{
    for (unsigned looks = 0; looks < DRAIN_LOOKS; looks++) {
        bool zero = true;
        for (size_t i = 0; i < AG__SWAP_STRIPES && zero; i++)
            zero = atomic_load(&s->readers[parity][i].n) == 0;
        if (zero)
            return true;
    }
    return false;
}

static void free_list(ag__swap *s, ag__swap_node *n)
{
    while (n != NULL) {
        ag__swap_node *next = n->next;
        s->free_fn(s->free_ctx, n);
        n = next;
    }
}

void ag__swap_set(ag__swap *s, ag__swap_node *next)
{
    while (atomic_flag_test_and_set(&s->writer))
        sched_yield();
    ag__swap_node *old = atomic_exchange(&s->cur, next);
    unsigned p = atomic_load(&s->epoch) & 1u;
    if (old != NULL) {
        old->next = s->retired[p];
        s->retired[p] = old;
    }
    /* two flips free old itself when no reader is inside */
    for (int flip = 0; flip < 2; flip++) {
        unsigned e = atomic_load(&s->epoch);
        unsigned q = (e + 1u) & 1u;
        if (!drained(s, q))
            break;
        free_list(s, s->retired[q]);
        s->retired[q] = NULL;
        atomic_store(&s->epoch, e + 1u);
    }
    atomic_flag_clear(&s->writer);
    ag__obs_keys_changed(); /* every swap replaces a key set (verifier or issuer) */
}

ag__swap_node *ag__swap_current(ag__swap *s)
{
    return atomic_load(&s->cur);
}

void ag__swap_destroy(ag__swap *s)
{
    free_list(s, s->retired[0]);
    free_list(s, s->retired[1]);
    s->retired[0] = s->retired[1] = NULL;
    ag__swap_node *cur = atomic_exchange(&s->cur, NULL);
    if (cur != NULL)
        s->free_fn(s->free_ctx, cur);
}

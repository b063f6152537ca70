/* SPDX-License-Identifier: MIT */
/*
 * ag_session_list: a subject's live sessions as a "your sessions" page
 * shows them, and the store-layer checks that keep a backend from showing
 * more (another subject's session, a dead one, a hash).
 */
#include <stdlib.h>
#include <string.h>

#include "session_fixture.h"

START_TEST(list_shows_live_sessions)
{
    env *e = env_new(NULL, 3600, 86400, 0);
    ag_session_tokens *a = tokens_new(), *b = tokens_new(), *c = tokens_new(), *n = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", a), AG_OK);
    ag_test_clock_advance(10);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", b), AG_OK);
    ag_test_clock_advance(10);
    ck_assert_int_eq(ag_session_issue(e->s, "alice", c), AG_OK);
    ck_assert_int_eq(ag_session_issue(e->s, "bob", n), AG_OK);
    ag_test_clock_advance(5);
    ck_assert_int_eq(refresh(e, b->refresh, n), AG_OK);
    ag_test_clock_advance(5);
    ck_assert_int_eq(refresh(e, n->refresh, b), AG_OK); /* b: generation 2 */

    ag_session_info out[4];
    size_t got = 9, total = 9;
    ck_assert_int_eq(ag_session_list(e->s, "alice", 5, out, 4, &got, &total), AG_OK);
    ck_assert_uint_eq(got, 3);
    ck_assert_uint_eq(total, 3);
    ck_assert_str_eq(out[0].sid, a->sid);
    ck_assert_uint_eq(out[0].sid_len, 43);
    ck_assert_int_eq(out[0].created, T0);
    ck_assert_int_eq(out[0].last_rotated, 0); /* never refreshed */
    ck_assert_uint_eq(out[0].generation, 0);
    ck_assert_int_eq(out[0].idle_expires, T0 + 3600);
    ck_assert_int_eq(out[0].expires, T0 + 86400);
    ck_assert_str_eq(out[1].sid, b->sid);
    ck_assert_int_eq(out[1].created, T0 + 10);
    ck_assert_uint_eq(out[1].generation, 2);
    ck_assert_int_eq(out[1].last_rotated, T0 + 30);
    ck_assert_int_eq(out[1].idle_expires, T0 + 30 + 3600);
    ck_assert_str_eq(out[2].sid, c->sid);

    /* a revoked session leaves the list; a reused one too */
    ck_assert_int_eq(ag_session_revoke(e->s, a->sid, 43), AG_OK);
    ck_assert_int_eq(refresh(e, a->refresh, n), AG_ERR_REVOKED);
    ag_test_clock_advance(1);
    ag_session_tokens *old = tokens_new();
    ck_assert_int_eq(ag_session_issue(e->s, "alice", old), AG_OK);
    ck_assert_int_eq(refresh(e, old->refresh, n), AG_OK);
    ck_assert_int_eq(ag_session_list(e->s, "alice", 5, out, 4, &got, &total), AG_OK);
    ck_assert_uint_eq(got, 3);
    char csid[AG_SID_MAX_LEN + 1];
    memcpy(csid, c->sid, sizeof csid);
    ck_assert_int_eq(refresh(e, old->refresh, c), AG_ERR_REUSED);
    ck_assert_int_eq(ag_session_list(e->s, "alice", 5, out, 4, &got, &total), AG_OK);
    ck_assert_uint_eq(got, 2);
    ck_assert_str_eq(out[0].sid, b->sid);
    ck_assert_str_eq(out[1].sid, csid);
    /* counting only, a capped call, argument checks */
    ck_assert_int_eq(ag_session_list(e->s, "bob", 3, NULL, 0, &got, &total), AG_OK);
    ck_assert_uint_eq(got, 0);
    ck_assert_uint_eq(total, 1);
    ck_assert_int_eq(ag_session_list(e->s, "bob", 3, NULL, 1, &got, NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_list(e->s, "bob", 3, out, AG_SESSION_LIST_MAX + 1, &got, NULL),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_list(NULL, "bob", 3, out, 1, &got, NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_list(e->s, "", 0, out, 1, &got, NULL), AG_ERR_INVALID_ARGUMENT);
    /* the idle timeout ends a session in the list too */
    ag_test_clock_advance(3600 * 2);
    ck_assert_int_eq(ag_session_list(e->s, "alice", 5, out, 4, &got, &total), AG_OK);
    ck_assert_uint_eq(got, 0);
    free(a);
    free(b);
    free(c);
    free(n);
    free(old);
    env_free(e);
}
END_TEST

/* ---- a backend that lists what it must not ------------------------------------ */

typedef struct liar {
    ag_store base;
    ag_store *real; /* everything else is the memory store's */
    int lie;        /* 0 honest, 1 other subject, 2 revoked row, 3 n > cap, 4 a hash */
} liar;

static ag_err l_create(ag_store *st, const ag_store_family *f, int64_t r)
{
    return ((liar *)st)->real->create(((liar *)st)->real, f, r);
}

static ag_err l_list(ag_store *st, const char *sub, size_t len, int64_t now, ag_store_family *out,
                     size_t cap, size_t *n, size_t *total)
{
    liar *l = (liar *)st;
    ag_err e = l->real->list_subject(l->real, sub, len, now, out, cap, n, total);
    if (e != AG_OK || *n == 0)
        return e;
    switch (l->lie) {
    case 1:
        memcpy(out[0].subject, "mallory", 8);
        out[0].subject_len = 7;
        break;
    case 2:
        out[0].revoked_at = now - 1;
        break;
    case 3:
        *n = cap + 1;
        *total = cap + 1;
        break;
    case 4:
        memset(out[0].current, 0xAB, sizeof out[0].current); /* cleared on the way up */
        break;
    default:
        break;
    }
    return e;
}

static void l_close(ag_store *st)
{
    ag_store_close(((liar *)st)->real);
    free(st);
}

START_TEST(list_checks_the_backend)
{
    for (int lie = 0; lie <= 4; lie++) {
        liar *l = calloc(1, sizeof *l);
        ck_assert_ptr_nonnull(l);
        ck_assert_int_eq(ag_store_memory_new(NULL, &l->real), AG_OK);
        l->base = *l->real;
        l->base.ctx = l;
        l->base.create = l_create;
        l->base.list_subject = l_list;
        l->base.close = l_close;
        l->lie = lie;
        ag_store_family f;
        memset(&f, 0, sizeof f);
        memcpy(f.sid, "s1", 3);
        f.sid_len = 2;
        memcpy(f.subject, "alice", 6);
        f.subject_len = 5;
        f.created = f.current_issued = T0;
        f.expires = T0 + 100;
        f.current_expires = T0 + 50;
        memset(f.current, 0x11, sizeof f.current);
        ck_assert_int_eq(ag_store_create(&l->base, &f, T0), AG_OK);
        ag_store_family out[2];
        size_t n = 9;
        ag_err e = ag_store_list_subject(&l->base, "alice", 5, T0 + 1, out, 1, &n, NULL);
        if (lie == 0 || lie == 4) {
            ck_assert_int_eq(e, AG_OK);
            ck_assert_uint_eq(n, 1);
            ck_assert_str_eq(out[0].sid, "s1");
            for (size_t k = 0; k < sizeof out[0].current; k++)
                ck_assert_uint_eq(out[0].current[k], 0);
        } else {
            ck_assert_int_eq(e, AG_ERR_STORE);
            ck_assert_uint_eq(n, 0);
        }
        ag_store_close(&l->base);
    }
    /* a backend without the operation */
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(NULL, &st), AG_OK);
    st->list_subject = NULL;
    ck_assert(!ag_store_can_list(st));
    size_t n = 9;
    ck_assert_int_eq(ag_store_list_subject(st, "alice", 5, T0, NULL, 0, &n, NULL), AG_ERR_STATE);
    ag_store_close(st);
}
END_TEST

void add_list_tests(Suite *s)
{
    TCase *tc = tcase_create("list");
    tcase_add_test(tc, list_shows_live_sessions);
    tcase_add_test(tc, list_checks_the_backend);
    suite_add_tcase(s, tc);
}

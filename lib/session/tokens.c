/* SPDX-License-Identifier: MIT */
/*
 * authgate — the caller's token pair (ag_session_tokens): attaching a
 * buffer, emptying it on entry, and cleansing what a call wrote.
 *
 * @test tests/session/test_session.c
 */
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "session_int.h"

/* True when t was made with AG_INIT and attached to a buffer big enough
 * for any pair: the check every call that fills t makes. */
static bool has_buffers(const ag_session_tokens *t)
{
    return t->access != NULL && t->refresh != NULL && t->cap_ >= AG_TOKEN_MAX_LEN + 1;
}

bool ag__tokens_attached(const ag_session_tokens *t)
{
    return ag__sized_out(t, sizeof *t) == AG_OK && has_buffers(t);
}

/* Zeroes what a call reports beside the token bytes and the sid. */
static void forget(ag_session_tokens *t)
{
    t->access_len = t->refresh_len = 0;
    t->access_exp = t->refresh_exp = t->family_exp = 0;
    t->generation = 0;
    t->replayed = false;
}

/* True when [p, p + n) overlaps t or the buffer it writes to (both are
 * wiped first). */
bool ag__tokens_overlaps(const ag_session_tokens *t, const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p, b = a + n;
    return p != NULL && ((a < (uintptr_t)(t + 1) && (uintptr_t)t < b) ||
                         (a < (uintptr_t)t->access + t->cap_ && (uintptr_t)t->access < b) ||
                         (a < (uintptr_t)t->refresh + t->cap_ && (uintptr_t)t->refresh < b));
}

/* Empties out on entry. It holds no secret of ours yet, so the 16 KiB are
 * not cleansed here (that cost a fifth of a rotation); the token buffers
 * are cleansed by ag__tokens_wipe() up to what was written. */
void ag__tokens_reset(ag_session_tokens *t)
{
    if (ag__sized_out(t, sizeof *t) != AG_OK)
        return; /* not ours to write: the call refuses it */
    if (has_buffers(t))
        t->access[0] = t->refresh[0] = '\0';
    t->sid[0] = '\0';
    forget(t);
}

static size_t written(size_t len, size_t cap)
{
    return len < cap ? len + 1 : cap;
}

/* Cleanses what a call wrote (lengths are recorded as soon as a token is). */
void ag__tokens_wipe(ag_session_tokens *t)
{
    if (t == NULL || !ag__tokens_attached(t))
        return;
    OPENSSL_cleanse(t->access, written(t->access_len, t->cap_));
    OPENSSL_cleanse(t->refresh, written(t->refresh_len, t->cap_));
    OPENSSL_cleanse(t->sid, sizeof t->sid);
    ag__tokens_reset(t);
}

void ag_session_tokens_clear(ag_session_tokens *t)
{
    if (t == NULL)
        return;
    /* the caller's own clear: everything, the attachment aside */
    if (t->access != NULL)
        OPENSSL_cleanse(t->access, t->cap_);
    if (t->refresh != NULL)
        OPENSSL_cleanse(t->refresh, t->cap_);
    OPENSSL_cleanse(t->sid, sizeof t->sid);
    forget(t);
}

ag_err ag_session_tokens_init(ag_session_tokens *t, void *buf, size_t len)
{
    if (t == NULL || buf == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    if (ag__sized_out(t, sizeof *t) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT; /* AG_INIT first */
    if (len < AG_SESSION_TOKENS_BUF_LEN)
        return AG_ERR_BUFFER;
    ag__sized_clear(t, sizeof *t);
    t->cap_ = len / 2;
    t->access = buf;
    t->refresh = (char *)buf + t->cap_;
    t->access[0] = t->refresh[0] = '\0';
    return AG_OK;
}

ag_err ag_session_tokens_new(const ag_allocator *alloc, ag_session_tokens **out)
{
    if (out == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    /* one block: the struct, then its buffer */
    ag_session_tokens *t = ag__malloc(alloc, sizeof *t + AG_SESSION_TOKENS_BUF_LEN);
    if (t == NULL)
        return AG_ERR_NOMEM;
    t->size = sizeof *t;
    ag_err e = ag_session_tokens_init(t, t + 1, AG_SESSION_TOKENS_BUF_LEN);
    if (e != AG_OK) {
        ag__free(alloc, t);
        return e;
    }
    t->alloc_ = alloc;
    t->owned_ = true;
    *out = t;
    return AG_OK;
}

void ag_session_tokens_free(ag_session_tokens *t)
{
    if (t == NULL || !t->owned_)
        return;
    ag_session_tokens_clear(t);
    ag__free(t->alloc_, t);
}

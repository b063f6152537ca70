/* SPDX-License-Identifier: MIT */
/*
 * authgate — a verifier fed by a remote JWKS, over libcurl.
 *
 * Who waits for the network: ag_jwks_remote_new (the first fetch), a caller
 * of ag_jwks_remote_refresh, the background refresher thread, and a
 * verifying thread that meets an unknown kid — but only the one thread that
 * wins the per-interval slot (an atomic compare-and-swap on the time of the
 * last such refetch), for at most timeout_ms, and only unless
 * refetch_in_background hands that refetch to the refresher (a flag and a
 * wake-up, never a wait: the verify does not even wait for the mutex a
 * running fetch holds). Every other verify runs
 * on the keys in the verifier, which ag_verifier_set_keys replaces without
 * making readers wait.
 *
 * Fetches are serialised by a mutex (the refresher and an unknown-kid
 * refetch never run two transfers at once); the mutex also guards the
 * bookkeeping (last good fetch, next refresh). A document is accepted only
 * when: the transfer succeeded over https with verified TLS, the status is
 * 200, the body fits max_size, and ag_keyring_from_jwks accepts every key.
 * Otherwise the keys stay and on_error hears why; once the last good fetch
 * is older than max_stale, the verifier gets an empty ring (fail closed).
 *
 * @test tests/token/test_jwks_remote.py (through the CLI and the
 * jwks-remote test driver)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/observe_int.h"
#include "token_int.h"

#ifndef AG_HAVE_CURL

ag_err ag_jwks_remote_new(const ag_jwks_remote_config *rc, const ag_verifier_config *vc,
                          ag_jwks_remote **out, ag_verifier **verifier)
{
    (void)rc;
    (void)vc;
    if (out != NULL)
        *out = NULL;
    if (verifier != NULL)
        *verifier = NULL;
    return AG_ERR_STATE; /* built without libcurl (AG_WITH_CURL) */
}

ag_err ag_jwks_remote_refresh(ag_jwks_remote *r)
{
    (void)r;
    return AG_ERR_STATE;
}

uint64_t ag_jwks_remote_fetches(const ag_jwks_remote *r)
{
    (void)r;
    return 0;
}

void ag_jwks_remote_free(ag_jwks_remote *r)
{
    (void)r;
}

#else

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <curl/curl.h>

#define SIZE_CAP_MAX (1u << 20)

struct ag_jwks_remote {
    ag_jwks_remote_config cfg; /* strings below are our copies */
    char *url, *ca_file, *ca_path;
    ag_verifier *verifier;
    pthread_mutex_t mu; /* one fetch at a time; the fields below */
    pthread_cond_t cv;  /* wakes the refresher for shutdown */
    pthread_t thread;
    bool thread_started, stopping;
    int64_t last_good;            /* time of the last accepted document; 0: none */
    int64_t next_fetch;           /* when the refresher fetches next */
    bool failed_closed;           /* the keys were withdrawn after max_stale */
    _Atomic int64_t last_unknown; /* time of the last unknown-kid refetch */
    atomic_bool fetch_asked;      /* an unknown kid asks the refresher to fetch now */
    atomic_uint_fast64_t fetches;
};

typedef struct body {
    char *p;
    size_t n, cap;
    bool over;
    int64_t max_age; /* -1: none given */
} body;

static int64_t now_of(const ag_jwks_remote *r)
{
    return r->cfg.clock != NULL ? r->cfg.clock(r->cfg.clock_ctx) : ag_clock_system(NULL);
}

static void report(const ag_jwks_remote *r, ag_err e, const char *why)
{
    if (r->cfg.on_error != NULL)
        r->cfg.on_error(r->cfg.error_ctx, e, why);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    body *b = ud;
    size_t n = size * nmemb;
    if (n > b->cap - b->n) {
        b->over = true;
        return 0; /* aborts the transfer */
    }
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    return n;
}

/* Cache-Control: max-age=N (cache_control.c). */
static size_t on_header(char *ptr, size_t size, size_t nitems, void *ud)
{
    body *b = ud;
    size_t n = size * nitems;
    int64_t v = ag__cache_max_age(ptr, n);
    if (v >= 0)
        b->max_age = v;
    return n;
}

/* One transfer into b. Returns AG_OK, AG_ERR_TOO_LARGE or AG_ERR_CRYPTO
 * (transport, TLS, status), with a reason in why. */
static ag_err transfer(const ag_jwks_remote *r, body *b, const char **why)
{
    CURL *c = curl_easy_init();
    if (c == NULL) {
        *why = "cannot start a transfer";
        return AG_ERR_NOMEM;
    }
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (r->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
    if (r->ca_path != NULL)
        curl_easy_setopt(c, CURLOPT_CAPATH, r->ca_path);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->cfg.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->cfg.max_size);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, b);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "authgate-jwks");
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (b->over || rc == CURLE_FILESIZE_EXCEEDED) {
        *why = "document larger than the size cap";
        return AG_ERR_TOO_LARGE;
    }
    if (rc != CURLE_OK) {
        *why = curl_easy_strerror(rc); /* static text, e.g. a TLS or connect failure */
        return AG_ERR_CRYPTO;
    }
    if (status != 200) {
        *why = "HTTP status other than 200";
        return AG_ERR_CRYPTO;
    }
    return AG_OK;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Fetches, validates and installs. Caller holds r->mu. */
static ag_err fetch_locked(ag_jwks_remote *r)
{
    body b = {NULL, 0, r->cfg.max_size, false, -1};
    const char *why = "";
    char errbuf[160] = "";
    ag_keyring *ring = NULL;
    int64_t now = now_of(r);
    atomic_fetch_add(&r->fetches, 1);
    b.p = malloc(b.cap > 0 ? b.cap : 1);
    ag_err e = b.p != NULL ? transfer(r, &b, &why) : AG_ERR_NOMEM;
    if (e == AG_OK) {
        e = ag_keyring_from_jwks(b.p, b.n, r->cfg.default_alg, &ring, errbuf, sizeof(errbuf));
        why = errbuf[0] ? errbuf : "document refused";
    }
    if (e == AG_OK && ag_keyring_newest_signer(ring) != NULL) {
        e = AG_ERR_KEY_FORMAT; /* a published set holds public keys only */
        why = "document holds private or secret keys";
    }
    if (e == AG_OK)
        e = ag_verifier_set_keys(r->verifier, ring);
    ag_keyring_free(ring);
    free(b.p);
    if (e == AG_OK) {
        r->last_good = now;
        r->failed_closed = false;
        int64_t age = b.max_age >= 0 ? b.max_age : r->cfg.max_refresh;
        r->next_fetch = now + clamp(age, r->cfg.min_refresh, r->cfg.max_refresh);
        ag__obs_jwks(AG_OK, NULL);
        return AG_OK;
    }
    ag__obs_jwks(e, why);
    report(r, e, why);
    r->next_fetch = now + r->cfg.min_refresh;
    /* stale beyond the bound: withdraw every key (fail closed) */
    if (!r->failed_closed && (r->last_good == 0 || now - r->last_good > r->cfg.max_stale)) {
        ag_keyring *empty = NULL;
        if (ag_keyring_new(NULL, &empty) == AG_OK &&
            ag_verifier_set_keys(r->verifier, empty) == AG_OK && r->last_good != 0) {
            r->failed_closed = true;
            report(r, AG_ERR_KEY, "keys older than max_stale withdrawn");
        }
        ag_keyring_free(empty);
    }
    return e;
}

ag_err ag_jwks_remote_refresh(ag_jwks_remote *r)
{
    if (r == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&r->mu);
    ag_err e = fetch_locked(r);
    pthread_mutex_unlock(&r->mu);
    return e;
}

uint64_t ag_jwks_remote_fetches(const ag_jwks_remote *r)
{
    return r != NULL ? atomic_load(&((ag_jwks_remote *)(uintptr_t)r)->fetches) : 0;
}

/* The verifier's unknown-kid hook: one refetch per interval, process-wide
 * for this set; the losers return at once. */
static bool on_unknown_kid(void *ctx)
{
    ag_jwks_remote *r = ctx;
    int64_t now = now_of(r);
    int64_t last = atomic_load(&r->last_unknown);
    if (last != 0 && now - last < r->cfg.unknown_kid_interval)
        return false;
    if (!atomic_compare_exchange_strong(&r->last_unknown, &last, now))
        return false; /* another thread took this interval */
    if (!r->cfg.refetch_in_background)
        return ag_jwks_remote_refresh(r) == AG_OK;
    atomic_store(&r->fetch_asked, true);
    /* Wake the refresher if it sleeps. When the mutex is busy it is
     * fetching or about to look at the flag: it sees it after that. */
    if (pthread_mutex_trylock(&r->mu) == 0) {
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    return false; /* this verify fails; the key verifies once the fetch lands */
}

static void *refresher(void *arg)
{
    ag_jwks_remote *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        int64_t now = now_of(r);
        if (atomic_exchange(&r->fetch_asked, false) || now >= r->next_fetch) {
            (void)fetch_locked(r);
            continue;
        }
        /* sleep until the next fetch (re-checked at least every second, so
         * an injected clock is followed too) */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        (void)pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ok;
static void curl_init(void)
{
    curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

ag_err ag_jwks_remote_new(const ag_jwks_remote_config *rc, const ag_verifier_config *vc,
                          ag_jwks_remote **out, ag_verifier **verifier)
{
    if (out == NULL || verifier == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    *verifier = NULL;
    ag_jwks_remote_config rc_sized;
    ag_verifier_config vc_sized;
    AG__SIZED_OR_RETURN(rc, rc_sized);
    AG__SIZED_OR_RETURN(vc, vc_sized);
    if (rc == NULL || vc == NULL || rc->url == NULL || strncmp(rc->url, "https://", 8) != 0 ||
        rc->max_size > SIZE_CAP_MAX || rc->connect_timeout_ms < 0 || rc->timeout_ms < 0 ||
        rc->min_refresh < 0 || rc->max_refresh < 0 || rc->unknown_kid_interval < 0 ||
        rc->max_stale < 0)
        return AG_ERR_INVALID_ARGUMENT;
    if (pthread_once(&curl_once, curl_init) != 0 || !curl_ok)
        return AG_ERR_CRYPTO;
    ag_jwks_remote *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return AG_ERR_NOMEM;
    r->cfg = *rc;
    r->cfg.connect_timeout_ms = rc->connect_timeout_ms ? rc->connect_timeout_ms : 3000;
    r->cfg.timeout_ms = rc->timeout_ms ? rc->timeout_ms : 10000;
    r->cfg.max_size = rc->max_size ? rc->max_size : 256 * 1024;
    r->cfg.min_refresh = rc->min_refresh ? rc->min_refresh : 60;
    r->cfg.max_refresh = rc->max_refresh ? rc->max_refresh : 3600;
    if (r->cfg.max_refresh < r->cfg.min_refresh)
        r->cfg.max_refresh = r->cfg.min_refresh;
    r->cfg.unknown_kid_interval = rc->unknown_kid_interval ? rc->unknown_kid_interval : 60;
    r->cfg.max_stale = rc->max_stale ? rc->max_stale : 86400;
    r->url = strdup(rc->url);
    r->ca_file = rc->ca_file ? strdup(rc->ca_file) : NULL;
    r->ca_path = rc->ca_path ? strdup(rc->ca_path) : NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    atomic_init(&r->last_unknown, 0);
    atomic_init(&r->fetch_asked, false);
    atomic_init(&r->fetches, 0);

    ag_keyring *empty = NULL;
    ag_verifier_config v = *vc;
    ag_err e = AG_ERR_NOMEM;
    if (r->url != NULL && (rc->ca_file == NULL || r->ca_file != NULL) &&
        (rc->ca_path == NULL || r->ca_path != NULL) &&
        (e = ag_keyring_new(NULL, &empty)) == AG_OK) {
        v.keys = empty; /* until the first good document */
        v.on_unknown_kid = on_unknown_kid;
        v.unknown_kid_ctx = r;
        e = ag_verifier_new(&v, &r->verifier);
    }
    ag_keyring_free(empty);
    if (e == AG_OK) {
        e = ag_jwks_remote_refresh(r);
        if (e != AG_OK && rc->start_without_keys)
            e = AG_OK;
    }
    if (e == AG_OK) {
        if (pthread_create(&r->thread, NULL, refresher, r) != 0)
            e = AG_ERR_NOMEM;
        else
            r->thread_started = true;
    }
    if (e != AG_OK) {
        ag_jwks_remote_free(r);
        return e;
    }
    *out = r;
    *verifier = r->verifier;
    return AG_OK;
}

void ag_jwks_remote_free(ag_jwks_remote *r)
{
    if (r == NULL)
        return;
    if (r->thread_started) {
        pthread_mutex_lock(&r->mu);
        r->stopping = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    ag_verifier_free(r->verifier);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->url);
    free(r->ca_file);
    free(r->ca_path);
    free(r);
}

#endif /* AG_HAVE_CURL */

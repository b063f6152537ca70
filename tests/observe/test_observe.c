/* SPDX-License-Identifier: MIT */
/*
 * Events and metrics. Each case runs a flow — verify refusals of every
 * kind, a session's login, rotation, replay, reuse, logout, eviction and
 * revocation, a full store, a slow store, a key swap — with a sink that
 * records every event, checks which events came with what, and scans the
 * whole record for every token, jti and key secret the flow used (none may
 * appear). Counters are checked as exact deltas of snapshots; the
 * Prometheus text for its shape (tests/demo runs promtool on it).
 */
#define _GNU_SOURCE /* memmem */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authgate/authgate.h"
#include "testsupport.h"

#define T0 AG_TEST_T0
#define ISS "https://auth.test"

/* ---- the event record ----------------------------------------------------- */

#define REC_CAP (1u << 20)
static char rec[REC_CAP];
static size_t rec_len;
static int counts[AG_EVENT_COUNT_];
static ag_event last[AG_EVENT_COUNT_]; /* spans not kept */
static char last_sid[AG_EVENT_COUNT_][80], last_sub[AG_EVENT_COUNT_][80],
    last_detail[AG_EVENT_COUNT_][80];

static void on_event(void *ctx, const ag_event *ev)
{
    (void)ctx;
    ck_assert_int_gt(ev->type, 0);
    ck_assert_int_lt(ev->type, AG_EVENT_COUNT_);
    ck_assert_ptr_nonnull(ev->detail);
    counts[ev->type]++;
    last[ev->type] = *ev;
    snprintf(last_sid[ev->type], 80, "%.*s", (int)ev->sid.len, (const char *)ev->sid.ptr);
    snprintf(last_sub[ev->type], 80, "%.*s", (int)ev->subject.len, (const char *)ev->subject.ptr);
    snprintf(last_detail[ev->type], 80, "%s", ev->detail);
    /* everything the event carries, raw bytes included */
    int n = snprintf(rec + rec_len, REC_CAP - rec_len,
                     "%s err=%d cause=%d dur=%lld detail=%s sid=", ag_event_type_name(ev->type),
                     (int)ev->err, (int)ev->cause, (long long)ev->duration_us, ev->detail);
    ck_assert(n > 0 && (size_t)n < REC_CAP - rec_len);
    rec_len += (size_t)n;
    ck_assert(rec_len + ev->sid.len + ev->subject.len + 8 < REC_CAP);
    if (ev->sid.len)
        memcpy(rec + rec_len, ev->sid.ptr, ev->sid.len);
    rec_len += ev->sid.len;
    memcpy(rec + rec_len, " sub=", 5);
    rec_len += 5;
    if (ev->subject.len)
        memcpy(rec + rec_len, ev->subject.ptr, ev->subject.len);
    rec_len += ev->subject.len;
    rec[rec_len++] = '\n';
}

static ag_event_sink sink = {sizeof(ag_event_sink), on_event, NULL, 0};

/* ---- what must never appear ------------------------------------------------ */

#define NEEDLES 4096
static char *needle[NEEDLES];
static size_t needle_len[NEEDLES];
static const char *needle_what[NEEDLES];
static size_t nneedles;

static void forbid(const void *p, size_t n, const char *what)
{
    ck_assert(nneedles < NEEDLES && n >= 8);
    needle[nneedles] = malloc(n);
    ck_assert_ptr_nonnull(needle[nneedles]);
    memcpy(needle[nneedles], p, n);
    needle_len[nneedles] = n;
    needle_what[nneedles++] = what;
}

/* A token: whole, each segment, 12-character windows of payload and
 * signature, and its jti (from the claims when it verifies). */
static void forbid_token(const char *tok)
{
    size_t n = strlen(tok);
    forbid(tok, n, "token");
    const char *d1 = memchr(tok, '.', n),
               *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 - tok) - 1) : NULL;
    ck_assert(d1 != NULL && d2 != NULL);
    for (const char *p = d1 + 1; p + 12 <= tok + n; p += 6)
        if (p + 12 <= d2 || p > d2)
            forbid(p, 12, "token window");
    uint8_t hdr[1024], pl[AG_PAYLOAD_MAX_LEN];
    size_t hl = 0, pll = 0;
    if (ag_token_decode_unverified((const uint8_t *)tok, n, hdr, sizeof hdr, &hl, pl, sizeof pl,
                                   &pll) == AG_OK) {
        const char *j = memmem(pl, pll, "\"jti\":\"", 7);
        if (j != NULL) {
            j += 7;
            const char *e = memchr(j, '"', pll - (size_t)(j - (const char *)pl));
            ck_assert_ptr_nonnull(e);
            forbid(j, (size_t)(e - j), "jti");
            forbid(j, 12, "jti prefix");
        }
    }
}

static void forbid_secret(const uint8_t *s, size_t n)
{
    char b64[256];
    size_t bl = 0;
    forbid(s, n, "secret bytes");
    ck_assert_int_eq(ag_base64url_encode(s, n, b64, sizeof b64, &bl), AG_OK);
    forbid(b64, bl, "secret base64url");
    forbid(b64, 12, "secret base64url prefix");
    char hex[2 * 64 + 1];
    for (size_t i = 0; i < n && i < 64; i++)
        snprintf(hex + 2 * i, 3, "%02x", s[i]);
    forbid(hex, 2 * (n < 64 ? n : 64), "secret hex");
}

/* The first needle found in p[0..n), or nneedles. */
static size_t scan(const char *p, size_t n)
{
    for (size_t i = 0; i < nneedles; i++)
        if (memmem(p, n, needle[i], needle_len[i]) != NULL)
            return i;
    return nneedles;
}

static void assert_record_clean(void)
{
    ck_assert_msg(rec_len > 0, "no events recorded");
    size_t i = scan(rec, rec_len);
    ck_assert_msg(i == nneedles, "an event holds a %s: %.*s", needle_what[i], (int)needle_len[i],
                  needle[i]);
}

/* ---- keys, issuers, verifiers ------------------------------------------------ */

static const uint8_t s_access[32] = "access-key-secret-0123456789abcd";
static const uint8_t s_refresh[32] = "refresh-key-secret-0123456789abc";
static const uint8_t s_session[32] = "session-secret-for-derived-jti!!";
static ag_key *k_access, *k_refresh;
static ag_issuer *i_access, *i_refresh, *i_other_aud;
static ag_verifier *v_access, *v_refresh;

static void setup(void)
{
    ck_assert_int_eq(ag_events_set(&sink), AG_OK);
    ag_metrics_reset();
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s_access, 32, "at", &k_access));
    AG_TEST_SETUP_OK(ag_key_from_secret(AG_ALG_HS256, s_refresh, 32, "rt", &k_refresh));
    forbid_secret(s_access, 32);
    forbid_secret(s_refresh, 32);
    forbid_secret(s_session, 32);
    ag_keyring *ra = NULL, *rr = NULL;
    AG_TEST_SETUP_OK(ag_keyring_new(NULL, &ra));
    AG_TEST_SETUP_OK(ag_keyring_add(ra, k_access));
    AG_TEST_SETUP_OK(ag_keyring_new(NULL, &rr));
    AG_TEST_SETUP_OK(ag_keyring_add(rr, k_refresh));
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.issuer = ISS;
    ic.clock = ag_test_clock;
    ic.key = k_access;
    ic.kind = AG_TOKEN_ACCESS;
    ic.audience = "api";
    ic.ttl = 900;
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &i_access));
    ic.audience = "elsewhere";
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &i_other_aud));
    ic.key = k_refresh;
    ic.kind = AG_TOKEN_REFRESH;
    ic.audience = "refresh";
    ic.ttl = 3600;
    AG_TEST_SETUP_OK(ag_issuer_new(&ic, &i_refresh));
    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = ra;
    vc.kind = AG_TOKEN_ACCESS;
    vc.issuer = ISS;
    vc.audience = "api";
    vc.leeway = 0;
    vc.clock = ag_test_clock;
    AG_TEST_SETUP_OK(ag_verifier_new(&vc, &v_access));
    vc.keys = rr;
    vc.kind = AG_TOKEN_REFRESH;
    vc.audience = "refresh";
    AG_TEST_SETUP_OK(ag_verifier_new(&vc, &v_refresh));
    ag_keyring_free(ra);
    ag_keyring_free(rr);
}

static void teardown(void)
{
    ck_assert_int_eq(ag_events_set(NULL), AG_OK);
    ag_verifier_free(v_access);
    ag_verifier_free(v_refresh);
    ag_issuer_free(i_access);
    ag_issuer_free(i_refresh);
    ag_issuer_free(i_other_aud);
    ag_key_free(k_access);
    ag_key_free(k_refresh);
    for (size_t i = 0; i < nneedles; i++)
        free(needle[i]);
    nneedles = 0;
}

static char *issue(const ag_issuer *is, const char *sub, int64_t at)
{
    static char bufs[16][AG_TOKEN_MAX_LEN + 1];
    static unsigned next;
    char *b = bufs[next++ % 16];
    ag_issue_params p = AG_INIT(ag_issue_params);
    p.sub = sub;
    p.sid = "sid-for-access";
    p.now = at;
    ck_assert_int_eq(ag_issue(is, &p, b, AG_TOKEN_MAX_LEN + 1, NULL), AG_OK);
    forbid_token(b);
    return b;
}

static ag_err verify(const ag_verifier *v, const char *tok)
{
    static ag_claims c = AG_INIT(ag_claims);
    return ag_verify(v, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(&c), &c);
}

/* ---- verify ---------------------------------------------------------------- */

START_TEST(verify_refusals_counted_and_reported)
{
    ag_metrics m0 = AG_INIT(ag_metrics), m1 = AG_INIT(ag_metrics);
    ck_assert_int_eq(ag_metrics_snapshot(&m0), AG_OK);
    char *good = issue(i_access, "alice", T0);
    char *expired = issue(i_access, "alice", T0 - 3600);
    char *aud = issue(i_other_aud, "alice", T0);
    char *future = issue(i_access, "alice", T0 + 600);
    char forged[AG_TOKEN_MAX_LEN + 1];
    memcpy(forged, good, strlen(good) + 1);
    /* Another base64url letter: flipping a bit could leave the alphabet
     * ('A' ^ 1 is '@'), making the token malformed about one run in ten. */
    char *flip = &forged[strlen(forged) - 3];
    *flip = *flip == 'A' ? 'B' : 'A'; /* still base64url, wrong MAC */
    forbid_token(forged);
    /* the scan's positive control: a jti or a secret in a line is found */
    char line[256];
    const char *sig = strrchr(good, '.') + 1;
    snprintf(line, sizeof line, "detail=%.20s", sig);
    ck_assert_uint_lt(scan(line, strlen(line)), nneedles);
    uint8_t pl[AG_PAYLOAD_MAX_LEN];
    size_t hl = 0, pll = 0;
    ck_assert_int_eq(ag_token_decode_unverified((const uint8_t *)good, strlen(good),
                                                (uint8_t *)line, sizeof line, &hl, pl, sizeof pl,
                                                &pll),
                     AG_OK);
    const char *jti = memmem(pl, pll, "\"jti\":\"", 7);
    ck_assert_ptr_nonnull(jti);
    ck_assert_str_eq(needle_what[scan(jti + 7, 12)], "jti prefix");
    ck_assert_str_eq(needle_what[scan((const char *)s_access, 32)], "secret bytes");
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(verify(v_access, good), AG_OK);
    ck_assert_int_eq(counts[AG_EVENT_VERIFY_REFUSED], 0); /* success says nothing */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(verify(v_access, expired), AG_ERR_EXPIRED);
    ck_assert_int_eq(last[AG_EVENT_VERIFY_REFUSED].err, AG_ERR_EXPIRED);
    ck_assert_int_eq(last[AG_EVENT_VERIFY_REFUSED].cause, AG_CAUSE_EXP);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(verify(v_access, aud), AG_ERR_CLAIM);
    ck_assert_int_eq(last[AG_EVENT_VERIFY_REFUSED].cause, AG_CAUSE_AUD);
    ck_assert_int_eq(verify(v_access, future), AG_ERR_NOT_YET_VALID);
    ck_assert_int_eq(last[AG_EVENT_VERIFY_REFUSED].cause, AG_CAUSE_IAT);
    ck_assert_int_eq(verify(v_access, forged), AG_ERR_SIGNATURE);
    ck_assert_int_eq(verify(v_refresh, good), AG_ERR_KEY); /* kid "at" unknown there */
    ck_assert_int_eq(last[AG_EVENT_VERIFY_REFUSED].cause, AG_CAUSE_UNKNOWN_KID);
    ck_assert_int_eq(verify(v_access, "not.a.token"), AG_ERR_MALFORMED);
    ck_assert_int_eq(counts[AG_EVENT_VERIFY_REFUSED], 9);
    ck_assert_str_eq(last_detail[AG_EVENT_VERIFY_REFUSED], "malformed");

    ck_assert_int_eq(ag_metrics_snapshot(&m1), AG_OK);
    ck_assert_uint_eq(m1.verify[AG_OK][AG_CAUSE_NONE] - m0.verify[AG_OK][AG_CAUSE_NONE], 100);
    ck_assert_uint_eq(m1.verify[AG_ERR_EXPIRED][AG_CAUSE_EXP], 3);
    ck_assert_uint_eq(m1.verify[AG_ERR_CLAIM][AG_CAUSE_AUD], 2);
    ck_assert_uint_eq(m1.verify[AG_ERR_NOT_YET_VALID][AG_CAUSE_IAT], 1);
    ck_assert_uint_eq(m1.verify[AG_ERR_SIGNATURE][AG_CAUSE_NONE], 1);
    ck_assert_uint_eq(m1.verify[AG_ERR_KEY][AG_CAUSE_UNKNOWN_KID], 1);
    ck_assert_uint_eq(m1.verify[AG_ERR_MALFORMED][AG_CAUSE_NONE], 1);
    /* the latency histogram samples one verify in 8 per thread */
    uint64_t n = m1.verify_latency.count, b = 0;
    ck_assert_uint_ge(n, 108 / 8);
    ck_assert_uint_le(n, 108 / 8 + 1);
    for (size_t i = 0; i < AG_METRICS_BUCKETS; i++)
        b += m1.verify_latency.bucket[i];
    ck_assert_uint_eq(b, n);
    ck_assert_uint_gt(m1.verify_latency.sum_ns, 0);

    /* off: nothing counted, refusals still reported */
    ag_metrics_enable(false);
    ck_assert(!ag_metrics_enabled());
    ck_assert_int_eq(verify(v_access, good), AG_OK);
    ck_assert_int_eq(verify(v_access, expired), AG_ERR_EXPIRED);
    ag_metrics_enable(true);
    ck_assert_int_eq(ag_metrics_snapshot(&m0), AG_OK);
    ck_assert_uint_eq(m0.verify[AG_OK][AG_CAUSE_NONE], m1.verify[AG_OK][AG_CAUSE_NONE]);
    ck_assert_uint_eq(m0.verify[AG_ERR_EXPIRED][AG_CAUSE_EXP], 3);
    ck_assert_int_eq(counts[AG_EVENT_VERIFY_REFUSED], 10);
    assert_record_clean();
}
END_TEST

/* ---- sessions ----------------------------------------------------------------- */

static ag_session *session_new(ag_store *st, int64_t interval, size_t max_sessions)
{
    ag_session_config c = AG_INIT(ag_session_config);
    c.access_issuer = i_access;
    c.refresh_issuer = i_refresh;
    c.refresh_verifier = v_refresh;
    c.store = st;
    c.refresh_ttl = 3600;
    c.family_lifetime = 86400;
    c.reuse_interval = interval;
    c.secret = s_session;
    c.secret_len = sizeof s_session;
    c.max_sessions = max_sessions;
    c.clock = ag_test_clock;
    ag_session *s = NULL;
    ck_assert_int_eq(ag_session_new(&c, &s), AG_OK);
    return s;
}

static ag_store *mem_store(size_t cap)
{
    ag_store_memory_config mc = {.size = sizeof(ag_store_memory_config), .capacity = cap};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    return st;
}

static void login(ag_session *s, const char *sub, ag_session_tokens *t)
{
    ck_assert_int_eq(ag_session_issue(s, sub, t), AG_OK);
    forbid_token(t->access);
    forbid_token(t->refresh);
}

static ag_err refresh(ag_session *s, const char *tok, ag_session_tokens *t)
{
    ag_err e = ag_session_refresh(s, (const uint8_t *)tok, strlen(tok), t);
    if (e == AG_OK) {
        forbid_token(t->access);
        forbid_token(t->refresh);
    }
    return e;
}

START_TEST(session_flow_events_and_counters)
{
    ag_store *st = mem_store(1000);
    ag_session *s = session_new(st, 10, 2);
    ag_session_tokens *a = ag_test_tokens(), *b = ag_test_tokens(), *c = ag_test_tokens();
    ck_assert(a && b && c);
    char first[AG_TOKEN_MAX_LEN + 1];

    login(s, "alice", a);
    memcpy(first, a->refresh, a->refresh_len + 1);
    ag_test_clock_advance(1);
    ck_assert_int_eq(refresh(s, first, b), AG_OK);
    ck_assert_int_eq(counts[AG_EVENT_REFRESH_ROTATED], 1);
    ck_assert_str_eq(last_sid[AG_EVENT_REFRESH_ROTATED], a->sid);
    ck_assert_str_eq(last_sub[AG_EVENT_REFRESH_ROTATED], "alice");
    /* a retry of the same token inside the interval: a replay */
    ck_assert_int_eq(refresh(s, first, c), AG_OK);
    ck_assert(c->replayed);
    ck_assert_int_eq(counts[AG_EVENT_REFRESH_REPLAYED], 1);
    /* the successor used, then the first token again: reuse */
    ag_test_clock_advance(1);
    ck_assert_int_eq(refresh(s, b->refresh, c), AG_OK);
    ag_test_clock_advance(30);
    ck_assert_int_eq(refresh(s, first, a), AG_ERR_REUSED);
    ck_assert_int_eq(counts[AG_EVENT_REUSE_DETECTED], 1);
    ck_assert_str_eq(last_sub[AG_EVENT_REUSE_DETECTED], "alice");
    ck_assert_int_eq(counts[AG_EVENT_FAMILY_REVOKED], 1);
    ck_assert_str_eq(last_detail[AG_EVENT_FAMILY_REVOKED], "reuse");

    /* logout, and the session cap (2 per subject) */
    login(s, "bob", a);
    ck_assert_int_eq(ag_session_logout(s, (const uint8_t *)a->refresh, a->refresh_len), AG_OK);
    ck_assert_str_eq(last_detail[AG_EVENT_FAMILY_REVOKED], "logout");
    ck_assert_str_eq(last_sid[AG_EVENT_FAMILY_REVOKED], a->sid);
    login(s, "carol", a);
    char oldest[AG_SID_MAX_LEN + 1];
    memcpy(oldest, a->sid, sizeof oldest);
    ag_test_clock_advance(1); /* the oldest by creation time goes */
    login(s, "carol", b);
    ag_test_clock_advance(1);
    login(s, "carol", c);
    ck_assert_int_eq(counts[AG_EVENT_SESSION_EVICTED], 1);
    ck_assert_str_eq(last_sid[AG_EVENT_SESSION_EVICTED], oldest);
    ck_assert_str_eq(last_sub[AG_EVENT_SESSION_EVICTED], "carol");
    ck_assert_str_eq(last_detail[AG_EVENT_FAMILY_REVOKED], "evicted");
    ck_assert_int_eq(ag_session_revoke(s, b->sid, strlen(b->sid)), AG_OK);
    ck_assert_str_eq(last_detail[AG_EVENT_FAMILY_REVOKED], "admin");
    size_t n = 0;
    ck_assert_int_eq(ag_session_logout_all(s, (const uint8_t *)c->refresh, c->refresh_len, &n),
                     AG_OK);
    ck_assert_str_eq(last_detail[AG_EVENT_FAMILY_REVOKED], "logout_all");
    ck_assert_int_eq(counts[AG_EVENT_FAMILY_REVOKED], 5);

    ag_metrics m = AG_INIT(ag_metrics);
    ck_assert_int_eq(ag_metrics_snapshot(&m), AG_OK);
    ck_assert_uint_eq(m.login[AG_OK], 5);
    ck_assert_uint_eq(m.refresh[AG_OK], 3);
    ck_assert_uint_eq(m.refresh_replayed, 1);
    ck_assert_uint_eq(m.refresh[AG_ERR_REUSED], 1);
    ck_assert_uint_eq(m.logout[AG_OK], 2);
    ck_assert_uint_eq(m.revoked[AG_REVOKE_REUSE], 1);
    ck_assert_uint_eq(m.revoked[AG_REVOKE_LOGOUT], 1);
    ck_assert_uint_eq(m.revoked[AG_REVOKE_EVICTED], 1);
    ck_assert_uint_eq(m.revoked[AG_REVOKE_ADMIN], 1);
    ck_assert_uint_eq(m.revoked[AG_REVOKE_LOGOUT_ALL], 1);
    ck_assert_uint_eq(m.store[AG_STORE_OP_CREATE][AG_OK], 5);
    ck_assert_uint_eq(m.store[AG_STORE_OP_ROTATE][AG_OK], 5); /* 3 refreshes, 2 logouts */
    ck_assert_uint_eq(m.store[AG_STORE_OP_ROTATE][AG_ERR_REUSED], 1);
    ck_assert_uint_eq(m.store[AG_STORE_OP_EVICT][AG_OK], 5);
    ck_assert_uint_eq(m.refresh_latency.count, 4);
    ck_assert_uint_eq(m.store_latency[AG_STORE_OP_CREATE].count, 5);
    /* the refresh verifies counted as verifies */
    ck_assert_uint_ge(m.verify[AG_OK][AG_CAUSE_NONE], 6);
    assert_record_clean();
    ag_session_free(s);
    ag_store_close(st);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(store_errors_reported)
{
    ag_store *st = mem_store(1);
    ag_session *s = session_new(st, 0, 5);
    ag_session_tokens *a = ag_test_tokens();
    ck_assert_ptr_nonnull(a);
    login(s, "alice", a);
    ck_assert_int_eq(ag_session_issue(s, "bob", a), AG_ERR_STORE_FULL);
    ck_assert_int_eq(counts[AG_EVENT_STORE_ERROR], 1);
    ck_assert_int_eq(last[AG_EVENT_STORE_ERROR].err, AG_ERR_STORE_FULL);
    ck_assert_str_eq(last_detail[AG_EVENT_STORE_ERROR], "create");
    ag_metrics m = AG_INIT(ag_metrics);
    ck_assert_int_eq(ag_metrics_snapshot(&m), AG_OK);
    ck_assert_uint_eq(m.login[AG_ERR_STORE_FULL], 1);
    ck_assert_uint_eq(m.store[AG_STORE_OP_CREATE][AG_ERR_STORE_FULL], 1);
    assert_record_clean();
    ag_session_free(s);
    ag_store_close(st);
    free(a);
}
END_TEST

/* A backend whose lookups take 3 ms, to cross a 1 ms threshold. */
static ag_store *slow_inner;
static ag_err slow_lookup(ag_store *st, const char *sid, size_t n, ag_store_family *f)
{
    (void)st;
    struct timespec ts = {0, 3000000};
    nanosleep(&ts, NULL);
    return slow_inner->lookup_family(slow_inner, sid, n, f);
}

/* The sink is read in place while installed, so its size is checked when
 * it is installed; a refused sink leaves the installed one as it was. */
START_TEST(sink_must_be_sized)
{
    /* the fixture's sink is installed; these are refused and leave it */
    ag_event_sink zeroed = {0};
    zeroed.fn = on_event;
    ck_assert_int_eq(ag_events_set(&zeroed), AG_ERR_INVALID_ARGUMENT);
    ag_event_sink nofn = AG_INIT(ag_event_sink);
    ck_assert_int_eq(ag_events_set(&nofn), AG_ERR_INVALID_ARGUMENT);
    ag_keyring *r = NULL;
    ck_assert_int_eq(ag_keyring_new(NULL, &r), AG_OK);
    ck_assert_int_eq(ag_keyring_add(r, k_access), AG_OK);
    ck_assert_int_eq(ag_verifier_set_keys(v_access, r), AG_OK);
    ck_assert_int_eq(counts[AG_EVENT_KEYS_CHANGED], 1);
    ag_keyring_free(r);
}
END_TEST

START_TEST(slow_store_reported)
{
    ag_event_sink slow = {sizeof slow, on_event, NULL, 1000};
    ck_assert_int_eq(ag_events_set(&slow), AG_OK);
    slow_inner = mem_store(10);
    ag_store wrap = {0};
    wrap.version = AG_STORE_INTERFACE_VERSION;
    wrap.name = "slow";
    wrap.lookup_family = slow_lookup;
    ag_store_family f;
    ck_assert_int_eq(ag_store_lookup_family(&wrap, "nope", 4, &f), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(counts[AG_EVENT_STORE_SLOW], 1);
    ck_assert_int_ge(last[AG_EVENT_STORE_SLOW].duration_us, 3000);
    ck_assert_str_eq(last_detail[AG_EVENT_STORE_SLOW], "lookup");
    ag_event_sink never = {sizeof never, on_event, NULL, -1};
    ck_assert_int_eq(ag_events_set(&never), AG_OK);
    ck_assert_int_eq(ag_store_lookup_family(&wrap, "nope", 4, &f), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(counts[AG_EVENT_STORE_SLOW], 1);
    ag_metrics m = AG_INIT(ag_metrics);
    ck_assert_int_eq(ag_metrics_snapshot(&m), AG_OK);
    ck_assert_uint_eq(m.store[AG_STORE_OP_LOOKUP][AG_ERR_NOT_FOUND], 2);
    ck_assert_uint_eq(m.store_latency[AG_STORE_OP_LOOKUP].count, 2);
    ck_assert_int_eq(ag_events_set(NULL), AG_OK);
    ck_assert_int_eq(ag_store_lookup_family(&wrap, "nope", 4, &f), AG_ERR_NOT_FOUND);
    ck_assert_int_eq(counts[AG_EVENT_STORE_SLOW], 1);
    ag_store_close(slow_inner);
}
END_TEST

START_TEST(key_swap_reported)
{
    ag_keyring *r = NULL;
    ck_assert_int_eq(ag_keyring_new(NULL, &r), AG_OK);
    ck_assert_int_eq(ag_keyring_add(r, k_access), AG_OK);
    ck_assert_int_eq(ag_verifier_set_keys(v_access, r), AG_OK);
    ck_assert_int_eq(counts[AG_EVENT_KEYS_CHANGED], 1);
    ck_assert_int_eq(ag_issuer_set_keys(i_access, r), AG_OK);
    ck_assert_int_eq(counts[AG_EVENT_KEYS_CHANGED], 2);
    ag_metrics m = AG_INIT(ag_metrics);
    ck_assert_int_eq(ag_metrics_snapshot(&m), AG_OK);
    ck_assert_uint_eq(m.keys_changed, 2);
    ag_keyring_free(r);
    assert_record_clean();
}
END_TEST

/* ---- Prometheus text ---------------------------------------------------------- */

START_TEST(prometheus_text)
{
    char *expired = issue(i_access, "alice", T0 - 3600);
    char *aud = issue(i_other_aud, "alice", T0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(verify(v_access, expired), AG_ERR_EXPIRED);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(verify(v_access, aud), AG_ERR_CLAIM);
    ag_metrics m = AG_INIT(ag_metrics);
    ck_assert_int_eq(ag_metrics_snapshot(&m), AG_OK);
    static char buf[65536];
    size_t len = 0;
    ck_assert_int_eq(ag_metrics_write_prometheus(&m, buf, sizeof buf, &len), AG_OK);
    ck_assert_uint_eq(strlen(buf), len);
    ck_assert_ptr_nonnull(
        strstr(buf, "authgate_verify_total{result=\"expired\",cause=\"exp\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(buf, "authgate_verify_total{result=\"claim\",cause=\"aud\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(buf, "authgate_verify_total{result=\"ok\",cause=\"none\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(buf, "# TYPE authgate_verify_duration_seconds histogram\n"));
    ck_assert_ptr_nonnull(strstr(buf, "authgate_verify_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(buf, "authgate_verify_duration_seconds_bucket{le=\"2.5e-07\"} "));
    ck_assert_ptr_nonnull(strstr(buf, "authgate_verify_duration_seconds_count 1\n"));
    ck_assert_ptr_null(strstr(buf, "result=\"signature\""));
    /* too small: AG_ERR_BUFFER, the length needed, NUL-terminated */
    char small[100];
    size_t need = 0;
    ck_assert_int_eq(ag_metrics_write_prometheus(&m, small, sizeof small, &need), AG_ERR_BUFFER);
    ck_assert_uint_eq(need, len);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_int_eq(ag_metrics_write_prometheus(&m, NULL, 0, &need), AG_ERR_BUFFER);
    ck_assert_uint_eq(need, len);
    ck_assert_int_eq(ag_metrics_write_prometheus(NULL, buf, sizeof buf, &need),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(ag_store_op_name(AG_STORE_OP_LOG_PURGE), "log_purge");
    ck_assert_str_eq(ag_store_op_name((ag_store_op)99), "");
    ck_assert_str_eq(ag_event_type_name(AG_EVENT_JWKS_FETCH_FAILED), "jwks_fetch_failed");
    ck_assert_str_eq(ag_event_type_name((ag_event_type)0), "");
}
END_TEST

/* ---- threads: exact sums across shards ------------------------------------------ */

#define THREADS 8
#define PER_THREAD 2000
static void *verifier_thread(void *arg)
{
    const char *tok = arg;
    ag_claims *c = malloc(sizeof *c);
    if (c != NULL)
        *c = (ag_claims)AG_INIT(ag_claims);
    for (int i = 0; i < PER_THREAD; i++)
        if (ag_verify(v_access, (const uint8_t *)tok, strlen(tok), AG_TEST_SCRATCH(c), c) != AG_OK)
            abort();
    free(c);
    return NULL;
}

START_TEST(threads_sum_exactly)
{
    char *good = issue(i_access, "alice", T0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, verifier_thread, good), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ag_metrics m = AG_INIT(ag_metrics);
    ck_assert_int_eq(ag_metrics_snapshot(&m), AG_OK);
    ck_assert_uint_eq(m.verify[AG_OK][AG_CAUSE_NONE], THREADS * PER_THREAD);
    ck_assert_uint_eq(m.verify_latency.count, THREADS * PER_THREAD / 8);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("observe");
    TCase *tc = tcase_create("observe");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, verify_refusals_counted_and_reported);
    tcase_add_test(tc, session_flow_events_and_counters);
    tcase_add_test(tc, store_errors_reported);
    tcase_add_test(tc, slow_store_reported);
    tcase_add_test(tc, key_swap_reported);
    tcase_add_test(tc, prometheus_text);
    tcase_add_test(tc, sink_must_be_sized);
    tcase_add_test(tc, threads_sum_exactly);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

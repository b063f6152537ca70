/* SPDX-License-Identifier: MIT */
/*
 * Sized structs (error.h, AG_INIT): the one helper, and every public call
 * taking a caller's config or parameter struct — a size of 0 (a struct
 * zeroed without AG_INIT) is refused; a struct of an older, smaller layout
 * works, with the members it does not have read as their defaults; a
 * newer, larger one works while its unknown tail is zero.
 */
#include <stddef.h>
#include <string.h>

#include "authgate/http.h"
#include "authgate/metrics.h"
#include "authgate/revocation.h"
#include "authgate/session.h"
#include "authgate/store.h"
#include "authgate/token.h"
#include "common/common_int.h"
#include "testsupport.h"

#define ISS "https://iss.test"
#define AUD "api.test"
#define T0 AG_TEST_T0 /* ag_test_clock, never moved here */

/* A newer caller's larger struct: T, then a tail this library does not
 * know, filled with 0xab (its size member set to the whole) so that any
 * write past T shows. */
#define NEWER(T)                                                                                   \
    struct {                                                                                       \
        T s;                                                                                       \
        unsigned char tail[32];                                                                    \
    }

static void newer_init(void *big, size_t n)
{
    memset(big, 0xab, n);
    memcpy(big, &n, sizeof n); /* every sized struct starts with size_t size */
}

static void tail_untouched(const unsigned char *tail, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(tail[i], 0xab);
}

typedef struct demo_cfg {
    size_t size;
    int a;
    long b;
    const char *c;
} demo_cfg;

START_TEST(helper_rules)
{
    demo_cfg local;
    const size_t full = sizeof local, first = offsetof(demo_cfg, b);
    demo_cfg in = {.size = sizeof in, .a = 1, .b = 2, .c = "x"};
    ck_assert_int_eq(ag__sized_in(&in, &local, full, full), AG_OK);
    ck_assert_int_eq(local.a, 1);
    ck_assert_int_eq(local.b, 2);
    ck_assert_ptr_eq(local.c, in.c);
    /* a struct first published ending before b, from an older binary:
     * what it lacks reads as zero */
    in.size = first;
    memset(&local, 0xff, sizeof local);
    ck_assert_int_eq(ag__sized_in(&in, &local, full, first), AG_OK);
    ck_assert_int_eq(local.a, 1);
    ck_assert_int_eq(local.b, 0);
    ck_assert_ptr_null(local.c);
    /* ... but no layout shorter than the first one ever existed: refused,
     * as is any short size of a struct whose first layout is the full one */
    ck_assert_int_eq(ag__sized_in(&in, &local, full, full), AG_ERR_INVALID_ARGUMENT);
    for (size_t n = 0; n < first; n++) {
        in.size = n;
        ck_assert_int_eq(ag__sized_in(&in, &local, full, first), AG_ERR_INVALID_ARGUMENT);
    }
    /* newer and larger: fine while the tail we do not know is zero */
    struct {
        demo_cfg known;
        int extra;
    } big;
    memset(&big, 0, sizeof big);
    big.known.size = sizeof big;
    big.known.a = 7;
    ck_assert_int_eq(ag__sized_in(&big, &local, full, full), AG_OK);
    ck_assert_int_eq(local.a, 7);
    big.extra = 1;
    ck_assert_int_eq(ag__sized_in(&big, &local, full, full), AG_ERR_INVALID_ARGUMENT);
    /* a size no header of ours could have (stack garbage): refused before
     * anything past the struct is read */
    big.extra = 0;
    big.known.size = full + AG__SIZED_SLACK + 1;
    ck_assert_int_eq(ag__sized_in(&big, &local, full, full), AG_ERR_INVALID_ARGUMENT);
    big.known.size = SIZE_MAX;
    ck_assert_int_eq(ag__sized_in(&big, &local, full, full), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag__sized_in(NULL, &local, full, full), AG_OK);
}
END_TEST

static ag_key *key(void)
{
    static const uint8_t secret[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                       23, 24, 25, 26, 27, 28, 29, 30, 31};
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret, sizeof secret, "k1", &k), AG_OK);
    return k;
}

/* Every public call that takes a sized struct refuses size 0. */
START_TEST(size_zero_refused_everywhere)
{
    ag_key *k = key();
    ag_keyring *ring = NULL;
    ck_assert_int_eq(ag_keyring_new(NULL, &ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, k), AG_OK);

    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = ring;
    vc.kind = AG_TOKEN_ACCESS;
    ag_verifier *v = NULL;
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_OK);
    ag_verifier_free(v);
    vc.size = 0;
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(v);

    ag_issuer_config ic = {.size = sizeof ic,
                           .key = k,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = ISS,
                           .audience = AUD,
                           .ttl = 60};
    ag_issuer *is = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is), AG_OK);
    ic.size = 0;
    ag_issuer *is2 = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &is2), AG_ERR_INVALID_ARGUMENT);

    char tok[AG_TOKEN_MAX_LEN + 1];
    ag_issue_params ip = AG_INIT(ag_issue_params);
    ip.sub = "alice";
    ck_assert_int_eq(ag_issue(is, &ip, tok, sizeof tok, NULL), AG_OK);
    ip.size = 0;
    ck_assert_int_eq(ag_issue(is, &ip, tok, sizeof tok, NULL), AG_ERR_INVALID_ARGUMENT);

    ag_revset_config rc = {.size = 0, .entry_ttl = 60};
    ag_revset *rs = NULL;
    ck_assert_int_eq(ag_revset_new(&rc, &rs), AG_ERR_INVALID_ARGUMENT);

    ag_http_policy_config pc = {.size = 0};
    ag_http_policy *pol = NULL;
    ck_assert_int_eq(ag_http_policy_new(&pc, &pol), AG_ERR_INVALID_ARGUMENT);
    pc.size = sizeof pc;
    ck_assert_int_eq(ag_http_policy_new(&pc, &pol), AG_OK);
    ag_http_policy_free(pol);

    char buf[512];
    size_t n = 0;
    ag_cookie_spec cs = {.size = 0, .name = AG_COOKIE_REFRESH, .expires_at = T0 + 60};
    cs.value = (ag_span){(const uint8_t *)"abc", 3};
    ck_assert_int_eq(ag_set_cookie_build(&cs, buf, sizeof buf, &n), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_set_cookie_clear(&cs, buf, sizeof buf, &n), AG_ERR_INVALID_ARGUMENT);

    ag_store_memory_config mc = {.size = 0};
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_ERR_INVALID_ARGUMENT);
    mc.size = sizeof mc;
    ck_assert_int_eq(ag_store_memory_new(&mc, &st), AG_OK);
    if (ag_store_sqlite_available()) {
        ag_store_sqlite_config sc = {.size = 0, .path = ":memory:"};
        ag_store *sq = NULL;
        ck_assert_int_eq(ag_store_sqlite_open(&sc, &sq), AG_ERR_INVALID_ARGUMENT);
    }
    if (ag_store_pg_available()) {
        ag_store_pg_config gc = {.size = 0, .conninfo = "host=/nonexistent"};
        ag_store *pg = NULL;
        ck_assert_int_eq(ag_store_pg_open(&gc, &pg), AG_ERR_INVALID_ARGUMENT);
    }

    ag_verifier_config rvc = AG_INIT(ag_verifier_config);
    rvc.keys = ring;
    rvc.kind = AG_TOKEN_REFRESH;
    ag_verifier *rv = NULL;
    ck_assert_int_eq(ag_verifier_new(&rvc, &rv), AG_OK);
    ag_issuer_config ric = {.size = sizeof ric,
                            .key = k,
                            .kind = AG_TOKEN_REFRESH,
                            .issuer = ISS,
                            .audience = AUD,
                            .ttl = 60};
    ag_issuer *ris = NULL;
    ck_assert_int_eq(ag_issuer_new(&ric, &ris), AG_OK);
    ag_session_config sc = {
        .size = 0, .access_issuer = is, .refresh_issuer = ris, .refresh_verifier = rv, .store = st};
    ag_session *s = NULL;
    ck_assert_int_eq(ag_session_new(&sc, &s), AG_ERR_INVALID_ARGUMENT);
    sc.size = sizeof sc;
    ck_assert_int_eq(ag_session_new(&sc, &s), AG_OK);

    ag_revset_config rc2 = {.size = sizeof rc2, .entry_ttl = 60};
    ck_assert_int_eq(ag_revset_new(&rc2, &rs), AG_OK);
    ag_revsync_config fc = {.size = 0, .store = st, .revocations = rs};
    ag_revsync *sync = NULL;
    ck_assert_int_eq(ag_revsync_start(&fc, &sync), AG_ERR_INVALID_ARGUMENT);

    ag_jwks_remote_config jc = {.size = 0, .url = "https://jwks.invalid/"};
    ag_verifier_config jv = AG_INIT(ag_verifier_config);
    jv.kind = AG_TOKEN_ACCESS;
    ag_jwks_remote *jr = NULL;
    ag_verifier *jver = NULL;
    ag_err je = ag_jwks_remote_new(&jc, &jv, &jr, &jver);
    ck_assert(je == AG_ERR_INVALID_ARGUMENT || je == AG_ERR_STATE); /* STATE: no libcurl */

    ag_session_free(s);
    ag_revset_free(rs);
    ag_store_close(st);
    ag_issuer_free(is);
    ag_issuer_free(ris);
    ag_verifier_free(rv);
    ag_keyring_free(ring);
    ag_key_free(k);
}
END_TEST

/* Every sized struct is still in its first published layout, so a size
 * that ends before its last member is not an older binary but a mistake
 * (say a struct filled member by member with `size` left unset), and is
 * refused rather than read with its tail as defaults: a shorter verifier
 * config would otherwise drop the relax bits, a shorter session config
 * the checks of reuse_interval. */
START_TEST(short_layout_is_refused)
{
    ag_key *k = key();
    ag_keyring *ring = NULL;
    ck_assert_int_eq(ag_keyring_new(NULL, &ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(ring, k), AG_OK);
    /* a token without typ: only AG_VERIFY_TYP_ABSENT lets it through */
    char pl[256], tok[1024];
    snprintf(pl, sizeof pl,
             "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"aud\":\"" AUD
             "\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"j\"}",
             (long long)(T0 + 60), (long long)T0);
    size_t n = ag_test_jws(k, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", pl, tok, sizeof tok);
    ck_assert_uint_gt(n, 0);

    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = ring;
    vc.kind = AG_TOKEN_ACCESS;
    vc.clock = ag_test_clock;
    vc.relax = AG_VERIFY_TYP_ABSENT;
    ag_verifier *v = NULL;
    ag_claims c = AG_INIT(ag_claims);
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_OK);
    ck_assert_int_eq(ag_verify(v, (const uint8_t *)tok, n, scratch, sizeof scratch, &c), AG_OK);
    ag_verifier_free(v);

    /* the same bytes, declared as a layout that ends before `issuers` */
    vc.size = offsetof(ag_verifier_config, issuers);
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(v);
    vc.size = sizeof vc - 1;
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_ERR_INVALID_ARGUMENT);

    /* a session config ending before reuse_interval: refused too */
    ag_store *st = NULL;
    ck_assert_int_eq(ag_store_memory_new(NULL, &st), AG_OK);
    ag_issuer_config ic = {.size = sizeof ic,
                           .key = k,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = ISS,
                           .audience = AUD,
                           .ttl = 60};
    ag_issuer *ia = NULL, *ir = NULL;
    ck_assert_int_eq(ag_issuer_new(&ic, &ia), AG_OK);
    ic.kind = AG_TOKEN_REFRESH;
    ck_assert_int_eq(ag_issuer_new(&ic, &ir), AG_OK);
    vc.size = sizeof vc;
    vc.kind = AG_TOKEN_REFRESH;
    vc.relax = 0;
    ck_assert_int_eq(ag_verifier_new(&vc, &v), AG_OK);
    ag_session_config sc = AG_INIT(ag_session_config);
    sc.access_issuer = ia;
    sc.refresh_issuer = ir;
    sc.refresh_verifier = v;
    sc.store = st;
    sc.reuse_interval = -5;
    ag_session *s = NULL;
    ck_assert_int_eq(ag_session_new(&sc, &s), AG_ERR_INVALID_ARGUMENT);
    sc.size = offsetof(ag_session_config, reuse_interval);
    ck_assert_int_eq(ag_session_new(&sc, &s), AG_ERR_INVALID_ARGUMENT);
    sc.size = sizeof sc;
    sc.reuse_interval = 0;
    ck_assert_int_eq(ag_session_new(&sc, &s), AG_OK);
    ag_session_free(s);
    ag_verifier_free(v);
    ag_issuer_free(ia);
    ag_issuer_free(ir);
    ag_store_close(st);
    ag_keyring_free(ring);
    ag_key_free(k);
}
END_TEST

/* The check of result structs (caller allocates, library fills): at least
 * the size this library knows; clearing keeps the size. */
START_TEST(helper_out_rules)
{
    demo_cfg out;
    memset(&out, 0xff, sizeof out);
    for (size_t n = 0; n < sizeof out; n++) {
        out.size = n;
        ck_assert_int_eq(ag__sized_out(&out, sizeof out), AG_ERR_INVALID_ARGUMENT);
    }
    out.size = sizeof out;
    ck_assert_int_eq(ag__sized_out(&out, sizeof out), AG_OK);
    out.size = sizeof out + 64; /* a newer caller's larger struct */
    ck_assert_int_eq(ag__sized_out(&out, sizeof out), AG_OK);
    ag__sized_clear(&out, sizeof out);
    ck_assert_uint_eq(out.size, sizeof out + 64);
    ck_assert_int_eq(out.a, 0);
    ck_assert_int_eq(out.b, 0);
    ck_assert_ptr_null(out.c);
}
END_TEST

/* What the result tests share: an HS256 access pair and a session. */
typedef struct results_fx {
    ag_key *k;
    ag_keyring *ring;
    ag_verifier *v, *rv;
    ag_issuer *is, *ris;
    ag_store *st;
    ag_session *s;
} results_fx;

static void results_setup(results_fx *f)
{
    f->k = key();
    ck_assert_int_eq(ag_keyring_new(NULL, &f->ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(f->ring, f->k), AG_OK);
    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = f->ring;
    vc.kind = AG_TOKEN_ACCESS; /* every clock here is the system's */
    ck_assert_int_eq(ag_verifier_new(&vc, &f->v), AG_OK);
    vc.kind = AG_TOKEN_REFRESH;
    ck_assert_int_eq(ag_verifier_new(&vc, &f->rv), AG_OK);
    ag_issuer_config ic = {.size = sizeof ic,
                           .key = f->k,
                           .kind = AG_TOKEN_ACCESS,
                           .issuer = ISS,
                           .audience = AUD,
                           .ttl = 60};
    ck_assert_int_eq(ag_issuer_new(&ic, &f->is), AG_OK);
    ic.kind = AG_TOKEN_REFRESH;
    ck_assert_int_eq(ag_issuer_new(&ic, &f->ris), AG_OK);
    ck_assert_int_eq(ag_store_memory_new(NULL, &f->st), AG_OK);
    ag_session_config sc = AG_INIT(ag_session_config);
    sc.access_issuer = f->is;
    sc.refresh_issuer = f->ris;
    sc.refresh_verifier = f->rv;
    sc.store = f->st;
    static const uint8_t secret[AG_SESSION_SECRET_MIN] = {7};
    sc.secret = secret;
    sc.secret_len = sizeof secret;
    ck_assert_int_eq(ag_session_new(&sc, &f->s), AG_OK);
}

static void results_teardown(results_fx *f)
{
    ag_session_free(f->s);
    ag_store_close(f->st);
    ag_issuer_free(f->is);
    ag_issuer_free(f->ris);
    ag_verifier_free(f->v);
    ag_verifier_free(f->rv);
    ag_keyring_free(f->ring);
    ag_key_free(f->k);
}

/* ag_issued and ag_claims: size 0 refused, AG_INIT and a larger (newer)
 * size accepted, the caller's size kept, nothing written past what this
 * library knows. */
START_TEST(results_issued_claims)
{
    results_fx f;
    results_setup(&f);
    char tok[AG_TOKEN_MAX_LEN + 1];
    ag_issue_params ip = AG_INIT(ag_issue_params);
    ip.sub = "alice";
    ag_issued zero;
    memset(&zero, 0, sizeof zero);
    memset(tok, 'x', sizeof tok);
    ck_assert_int_eq(ag_issue(f.is, &ip, tok, sizeof tok, &zero), AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(zero.len, 0);
    ck_assert_int_eq(tok[0], '\0'); /* the buffer is emptied on this refusal too */
    ck_assert_int_eq(ag_issue(f.is, &ip, tok, sizeof tok, NULL), AG_OK); /* optional */
    NEWER(ag_issued) big;
    newer_init(&big, sizeof big);
    ck_assert_int_eq(ag_issue(f.is, &ip, tok, sizeof tok, &big.s), AG_OK);
    ck_assert_uint_eq(big.s.size, sizeof big);
    ck_assert_uint_eq(big.s.len, strlen(tok));
    tail_untouched(big.tail, sizeof big.tail);
    ag_issued info = AG_INIT(ag_issued);
    ck_assert_int_eq(ag_issue(f.is, &ip, tok, sizeof tok, &info), AG_OK);
    ck_assert_uint_eq(info.size, sizeof info);
    size_t n = info.len;

    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    ag_claims cz;
    memset(&cz, 0, sizeof cz);
    ck_assert_int_eq(ag_verify(f.v, (const uint8_t *)tok, n, scratch, sizeof scratch, &cz),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(cz.sub.len, 0); /* not written */
    cz.size = sizeof cz - 1;
    ck_assert_int_eq(ag_verify(f.v, (const uint8_t *)tok, n, scratch, sizeof scratch, &cz),
                     AG_ERR_INVALID_ARGUMENT);
    ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(f.v, (const uint8_t *)tok, n, scratch, sizeof scratch, &c), AG_OK);
    ck_assert_uint_eq(c.size, sizeof c); /* verify keeps the caller's size */
    ck_assert(ag__span_eq_str(c.sub, "alice"));
    tok[n - 2] ^= 1; /* a refused token keeps it too */
    ck_assert_int_ne(ag_verify(f.v, (const uint8_t *)tok, n, scratch, sizeof scratch, &c), AG_OK);
    ck_assert_uint_eq(c.size, sizeof c);
    tok[n - 2] ^= 1;
    NEWER(ag_claims) bigc;
    newer_init(&bigc, sizeof bigc);
    ck_assert_int_eq(ag_verify(f.v, (const uint8_t *)tok, n, scratch, sizeof scratch, &bigc.s),
                     AG_OK);
    ck_assert_uint_eq(bigc.s.size, sizeof bigc);
    ck_assert(ag__span_eq_str(bigc.s.sub, "alice"));
    tail_untouched(bigc.tail, sizeof bigc.tail);
    results_teardown(&f);
}
END_TEST

/* ag_session_tokens: AG_INIT before init (which keeps the size), _new sets
 * it; size 0 is refused by init and by every call that fills the pair;
 * claims handed to the *_verified calls are checked too. */
START_TEST(results_session_tokens)
{
    results_fx f;
    results_setup(&f);
    static char buf[AG_SESSION_TOKENS_BUF_LEN];
    ag_session_tokens t;
    memset(&t, 0, sizeof t);
    ck_assert_int_eq(ag_session_tokens_init(&t, buf, sizeof buf), AG_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(t.access);
    t.size = sizeof t;
    ck_assert_int_eq(ag_session_tokens_init(&t, buf, sizeof buf), AG_OK);
    ck_assert_uint_eq(t.size, sizeof t);
    ck_assert_int_eq(ag_session_issue(f.s, "alice", &t), AG_OK);
    ck_assert_uint_eq(t.size, sizeof t);
    ag_session_tokens_clear(&t);
    ck_assert_uint_eq(t.size, sizeof t);
    /* attached, then its size spoiled: refused, nothing written */
    t.size = 0;
    ck_assert_int_eq(ag_session_issue(f.s, "alice", &t), AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(t.access_len, 0);
    ck_assert_uint_eq(t.size, 0);

    ag_session_tokens *nt = NULL;
    ck_assert_int_eq(ag_session_tokens_new(NULL, &nt), AG_OK);
    ck_assert_uint_eq(nt->size, sizeof *nt);
    ck_assert_int_eq(ag_session_issue(f.s, "alice", nt), AG_OK);

    /* a newer caller's larger holder */
    static NEWER(ag_session_tokens) big;
    newer_init(&big, sizeof big);
    ck_assert_int_eq(ag_session_tokens_init(&big.s, buf, sizeof buf), AG_OK);
    ck_assert_uint_eq(big.s.size, sizeof big);
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(
        ag_verify(f.rv, (const uint8_t *)nt->refresh, nt->refresh_len, scratch, sizeof scratch, &c),
        AG_OK);
    c.size = 0; /* verified claims, size spoiled: refused before the store */
    ck_assert_int_eq(ag_session_refresh_verified(f.s, &c, &big.s), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_session_logout_verified(f.s, &c), AG_ERR_INVALID_ARGUMENT);
    c.size = sizeof c;
    ck_assert_int_eq(ag_session_refresh_verified(f.s, &c, &big.s), AG_OK);
    ck_assert_uint_eq(big.s.size, sizeof big);
    ck_assert_uint_eq(big.s.generation, 1);
    tail_untouched(big.tail, sizeof big.tail);
    ag_session_tokens_clear(&big.s);
    ag_session_tokens_free(nt);
    results_teardown(&f);
}
END_TEST

/* ag_http_credential and the claims of the HTTP calls: size 0 is refused
 * at once, before the request is looked at (here it carries nothing). */
START_TEST(results_http)
{
    results_fx f;
    results_setup(&f);
    static const uint8_t secret[32] = {9};
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    ag_http_request req = AG_INIT(ag_http_request);
    req.method = (ag_span){(const uint8_t *)"POST", 4};
    ag_claims c = AG_INIT(ag_claims), cz;
    memset(&cz, 0, sizeof cz);
    ag_http_credential cred = AG_INIT(ag_http_credential), credz;
    memset(&credz, 0, sizeof credz);
    ck_assert_int_eq(ag_http_authenticate(NULL, f.v, &req, scratch, sizeof scratch, &cz),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_http_authenticate(NULL, f.v, &req, scratch, sizeof scratch, &c),
                     AG_ERR_NO_CREDENTIALS);
    ck_assert_int_eq(ag_http_refresh_verify(NULL, f.rv, secret, sizeof secret, &req, scratch,
                                            sizeof scratch, &credz, &c),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_http_refresh_verify(NULL, f.rv, secret, sizeof secret, &req, scratch,
                                            sizeof scratch, &cred, &cz),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_http_refresh_verify(NULL, f.rv, secret, sizeof secret, &req, scratch,
                                            sizeof scratch, &cred, &c),
                     AG_ERR_NO_CREDENTIALS);
    ck_assert_uint_eq(cred.size, sizeof cred);
    /* a bearer refresh token: the credential's size is kept */
    ag_session_tokens *t = NULL;
    ck_assert_int_eq(ag_session_tokens_new(NULL, &t), AG_OK);
    ck_assert_int_eq(ag_session_issue(f.s, "alice", t), AG_OK);
    char auth[AG_TOKEN_MAX_LEN + 16];
    int an = snprintf(auth, sizeof auth, "Bearer %s", t->refresh);
    ag_header h = {{(const uint8_t *)"Authorization", 13}, {(const uint8_t *)auth, (size_t)an}};
    req.headers = &h;
    req.nheaders = 1;
    ck_assert_int_eq(ag_http_refresh_verify(NULL, f.rv, secret, sizeof secret, &req, scratch,
                                            sizeof scratch, &cred, &c),
                     AG_OK);
    ck_assert_uint_eq(cred.size, sizeof cred);
    ck_assert_uint_eq(c.size, sizeof c);
    ck_assert_int_eq(cred.source, AG_SOURCE_HEADER);
    ag_session_tokens_free(t);
    results_teardown(&f);
}
END_TEST

/* ag_http_request is a caller-filled input like the configs: size 0
 * refused, a newer layout with a zero tail read. */
START_TEST(request_sized)
{
    results_fx f;
    results_setup(&f);
    static uint8_t scratch[AG_VERIFY_SCRATCH_MAX];
    static const uint8_t secret[32] = {9};
    ag_claims c = AG_INIT(ag_claims);
    ag_http_credential cred = AG_INIT(ag_http_credential);
    struct {
        ag_http_request req;
        unsigned char tail[16];
    } big;
    memset(&big, 0, sizeof big);
    big.req.method = (ag_span){(const uint8_t *)"GET", 3};
    ck_assert_int_eq(ag_http_authenticate(NULL, f.v, &big.req, scratch, sizeof scratch, &c),
                     AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_http_refresh_verify(NULL, f.rv, secret, sizeof secret, &big.req, scratch,
                                            sizeof scratch, &cred, &c),
                     AG_ERR_INVALID_ARGUMENT);
    big.req.size = sizeof big.req;
    ck_assert_int_eq(ag_http_authenticate(NULL, f.v, &big.req, scratch, sizeof scratch, &c),
                     AG_ERR_NO_CREDENTIALS);
    big.req.size = sizeof big; /* newer and larger, unknown tail zero */
    ck_assert_int_eq(ag_http_authenticate(NULL, f.v, &big.req, scratch, sizeof scratch, &c),
                     AG_ERR_NO_CREDENTIALS);
    ck_assert_int_eq(ag_http_refresh_verify(NULL, f.rv, secret, sizeof secret, &big.req, scratch,
                                            sizeof scratch, &cred, &c),
                     AG_ERR_NO_CREDENTIALS);
    big.tail[3] = 1; /* something this library cannot do */
    ck_assert_int_eq(ag_http_authenticate(NULL, f.v, &big.req, scratch, sizeof scratch, &c),
                     AG_ERR_INVALID_ARGUMENT);
    results_teardown(&f);
}
END_TEST

/* The stats and the metrics snapshot: size 0 refused with nothing
 * written, AG_INIT and a larger size accepted, the size kept, nothing
 * written past the struct this library knows. */
START_TEST(stats_and_metrics_sized)
{
    results_fx f;
    results_setup(&f);
    ag_session_tokens *t = NULL;
    ck_assert_int_eq(ag_session_tokens_new(NULL, &t), AG_OK);
    ck_assert_int_eq(ag_session_issue(f.s, "alice", t), AG_OK);

    ag_store_stats ss;
    memset(&ss, 0, sizeof ss);
    ck_assert_int_eq(ag_store_stats_get(f.st, &ss), AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(ss.families, 0);
    ss = (ag_store_stats)AG_INIT(ag_store_stats);
    ck_assert_int_eq(ag_store_stats_get(f.st, &ss), AG_OK);
    ck_assert_uint_eq(ss.size, sizeof ss);
    ck_assert_uint_eq(ss.families, 1);
    NEWER(ag_store_stats) bigs;
    newer_init(&bigs, sizeof bigs);
    ck_assert_int_eq(ag_store_stats_get(f.st, &bigs.s), AG_OK);
    ck_assert_uint_eq(bigs.s.size, sizeof bigs);
    ck_assert_uint_eq(bigs.s.families, 1);
    tail_untouched(bigs.tail, sizeof bigs.tail);

    ag_revset_config rc = AG_INIT(ag_revset_config);
    rc.entry_ttl = 60;
    ag_revset *rs = NULL;
    ck_assert_int_eq(ag_revset_new(&rc, &rs), AG_OK);
    ag_revset_stats rst;
    memset(&rst, 0, sizeof rst);
    ck_assert_int_eq(ag_revset_stats_get(rs, T0, &rst), AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(rst.capacity, 0);
    NEWER(ag_revset_stats) bigr;
    newer_init(&bigr, sizeof bigr);
    ck_assert_int_eq(ag_revset_stats_get(rs, T0, &bigr.s), AG_OK);
    ck_assert_uint_eq(bigr.s.size, sizeof bigr);
    ck_assert_uint_gt(bigr.s.capacity, 0);
    ck_assert_uint_eq(bigr.s.live, 0);
    tail_untouched(bigr.tail, sizeof bigr.tail);
    ag_revset_stats rs2 = AG_INIT(ag_revset_stats);
    ck_assert_int_eq(ag_revset_stats_get(rs, T0, &rs2), AG_OK);
    ck_assert_uint_eq(rs2.size, sizeof rs2);

    static ag_metrics m;
    memset(&m, 0, sizeof m);
    ck_assert_int_eq(ag_metrics_snapshot(&m), AG_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(m.login[AG_OK], 0); /* not written */
    ck_assert_int_eq(ag_metrics_snapshot(NULL), AG_ERR_INVALID_ARGUMENT);
    static char text[64 * 1024];
    size_t n = 0;
    ck_assert_int_eq(ag_metrics_write_prometheus(&m, text, sizeof text, &n),
                     AG_ERR_INVALID_ARGUMENT);
    static NEWER(ag_metrics) bigm;
    newer_init(&bigm, sizeof bigm);
    ck_assert_int_eq(ag_metrics_snapshot(&bigm.s), AG_OK);
    ck_assert_uint_eq(bigm.s.size, sizeof bigm);
    ck_assert_uint_ge(bigm.s.login[AG_OK], 1); /* the login above */
    tail_untouched(bigm.tail, sizeof bigm.tail);
    m = (ag_metrics)AG_INIT(ag_metrics);
    ck_assert_int_eq(ag_metrics_snapshot(&m), AG_OK);
    ck_assert_uint_eq(m.size, sizeof m);
    ck_assert_int_eq(ag_metrics_write_prometheus(&m, text, sizeof text, &n), AG_OK);

    ag_revset_free(rs);
    ag_session_tokens_free(t);
    results_teardown(&f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sized");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, helper_rules);
    tcase_add_test(tc, size_zero_refused_everywhere);
    tcase_add_test(tc, short_layout_is_refused);
    tcase_add_test(tc, helper_out_rules);
    tcase_add_test(tc, results_issued_claims);
    tcase_add_test(tc, results_session_tokens);
    tcase_add_test(tc, results_http);
    tcase_add_test(tc, request_sized);
    tcase_add_test(tc, stats_and_metrics_sized);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ag_test_run(suite());
}

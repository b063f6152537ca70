/* SPDX-License-Identifier: MIT */
/*
 * Tests for lib/common/sha256_ni.c and the SHA-256 / HMAC-SHA-256 fast path
 * of lib/token/crypto.c (midstates made in lib/token/keys.c).
 *
 * Every case runs twice (Check loop index): 0 with ag__cpu_restrict(0), so
 * OpenSSL hashes; 1 with AG__CPU_ALL, so SHA-256 runs on the SHA extensions
 * where this CPU has them. Both must agree with OpenSSL byte for byte.
 * The provider rule (another provider's SHA2-256 keeps everything) runs in
 * a fresh process (this binary re-executed) with a test provider.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include "authgate/token.h"
#include "testsupport.h"
#include "token/token_int.h"

#define ISS "https://issuer.example"
#define AUD "api.example"
#define T0 AG_TEST_T0 /* ag_test_clock, never moved here */

/* Mode 0: OpenSSL; mode 1: the SHA extensions when the CPU has them. */
static void set_mode(int mode)
{
    ag__cpu_restrict(mode ? AG__CPU_ALL : 0u);
}

static bool shani; /* this CPU has the SHA extensions (set in main) */

static bool cpu_has_shani(void)
{
    return shani;
}

/* Deterministic test bytes (splitmix64). */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static void rng_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng_next();
}

/* No ck_* here: also used outside Check (provider_child). */
static void hex_to(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            abort();
        out[i] = (uint8_t)v;
    }
}

static void ref_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned len = 0;
    ck_assert_int_eq(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
    ck_assert_uint_eq(len, 32);
}

static void ref_hmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t n, uint8_t out[32])
{
    size_t len = 0;
    ck_assert_ptr_nonnull(
        EVP_Q_mac(NULL, "HMAC", NULL, "SHA2-256", NULL, key, klen, msg, n, out, 32, &len));
    ck_assert_uint_eq(len, 32);
}

static uint8_t *big_buf(size_t n)
{
    uint8_t *p = malloc(n > 0 ? n : 1);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* An HS256 key with any secret, even shorter than V-17 allows (RFC 4231). */
static ag_key *hs256_raw(const uint8_t *secret, size_t len)
{
    ag_key *k = NULL;
    ck_assert_int_eq(ag__key_alloc(AG_ALG_HS256, "rfc", 3, &k), AG_OK);
    ck_assert_int_eq(ag__key_set_pads(k, secret, len), AG_OK);
    k->sig_len = 32;
    k->is_private = true;
    return k;
}

static void assert_mode_path(int mode)
{
    if (mode == 0)
        ck_assert(!ag__sha256_ni_usable());
    else
        ck_assert_int_eq(ag__sha256_ni_usable(), cpu_has_shani());
}

/* ---- SHA-256 ------------------------------------------------------------ */

START_TEST(nist_vectors)
{
    set_mode(_i);
    assert_mode_path(_i);
    static const struct {
        const char *msg;
        const char *hex;
    } t[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < AG__ARRAY_LEN(t); i++) {
        uint8_t want[32], got[32];
        hex_to(t[i].hex, want, 32);
        ag_span part = {(const uint8_t *)t[i].msg, strlen(t[i].msg)};
        ck_assert_int_eq(ag__sha2(256, &part, 1, got), AG_OK);
        ck_assert_mem_eq(got, want, 32);
    }
    /* one million 'a': whole, and in uneven parts */
    const size_t n = 1000000;
    uint8_t *a = big_buf(n);
    memset(a, 'a', n);
    uint8_t want[32], got[32];
    hex_to("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", want, 32);
    ag_span whole = {a, n};
    ck_assert_int_eq(ag__sha2(256, &whole, 1, got), AG_OK);
    ck_assert_mem_eq(got, want, 32);
    ag_span parts[64];
    size_t np = 0, off = 0;
    while (off < n) {
        size_t len = (size_t)(rng_next() % 70000);
        if (len > n - off || np == AG__ARRAY_LEN(parts) - 1)
            len = n - off;
        parts[np++] = (ag_span){a + off, len};
        off += len;
    }
    ck_assert_int_eq(ag__sha2(256, parts, np, got), AG_OK);
    ck_assert_mem_eq(got, want, 32);
    free(a);
}
END_TEST

START_TEST(lengths_vs_openssl)
{
    set_mode(_i);
    assert_mode_path(_i);
    uint8_t buf[1088 + 16];
    rng_fill(buf, sizeof(buf));
    static const size_t extra[] = {55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 1087, 1088};
    for (size_t k = 0; k <= 300 + AG__ARRAY_LEN(extra); k++) {
        size_t len = k <= 300 ? k : extra[k - 301];
        uint8_t want[32], got[32];
        ref_sha256(buf, len, want);
        ag_span part = {buf, len};
        ck_assert_int_eq(ag__sha2(256, &part, 1, got), AG_OK);
        ck_assert_mem_eq(got, want, 32);
        /* the same bytes at another alignment */
        ag_span moved = {buf + 1 + k % 15, len};
        ref_sha256(moved.ptr, len, want);
        ck_assert_int_eq(ag__sha2(256, &moved, 1, got), AG_OK);
        ck_assert_mem_eq(got, want, 32);
    }
}
END_TEST

START_TEST(multipart_every_split)
{
    set_mode(_i);
    uint8_t buf[300];
    rng_fill(buf, sizeof(buf));
    for (size_t len = 0; len <= 300; len++) {
        uint8_t want[32], got[32];
        ref_sha256(buf, len, want);
        for (size_t cut = 0; cut <= len; cut++) {
            ag_span parts[2] = {{buf, cut}, {buf + cut, len - cut}};
            ck_assert_int_eq(ag__sha2(256, parts, 2, got), AG_OK);
            ck_assert_mem_eq(got, want, 32);
        }
    }
    /* three parts, every pair of cuts, around the block and padding edges */
    static const size_t lens[] = {55, 56, 63, 64, 65, 119, 120, 128, 129, 191};
    for (size_t l = 0; l < AG__ARRAY_LEN(lens); l++) {
        size_t len = lens[l];
        uint8_t want[32], got[32];
        ref_sha256(buf, len, want);
        for (size_t a = 0; a <= len; a++)
            for (size_t b = a; b <= len; b++) {
                ag_span parts[4] = {{buf, a}, {NULL, 0}, {buf + a, b - a}, {buf + b, len - b}};
                ck_assert_int_eq(ag__sha2(256, parts, 4, got), AG_OK);
                ck_assert_mem_eq(got, want, 32);
            }
    }
    /* no parts at all */
    uint8_t want[32], got[32];
    ref_sha256(buf, 0, want);
    ck_assert_int_eq(ag__sha2(256, NULL, 0, got), AG_OK);
    ck_assert_mem_eq(got, want, 32);
}
END_TEST

/* The compressor itself against a midstate made by OpenSSL's HMAC-free
 * route: SHA-256 of one block + padding block == two compressions. */
START_TEST(compressor_direct)
{
#ifdef AG__SHA256_NI
    if (!cpu_has_shani())
        return;
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    uint8_t msg[64 * 9 + 1];
    rng_fill(msg, sizeof(msg));
    for (size_t nb = 0; nb <= 8; nb++) {
        /* msg[1..] at an odd address, nb whole blocks, then the padding block */
        uint8_t m[64 * 9];
        size_t n = nb * 64;
        memcpy(m, msg + 1, n);
        memset(m + n, 0, 64);
        m[n] = 0x80;
        uint64_t bits = (uint64_t)n * 8;
        for (int i = 0; i < 8; i++)
            m[n + 63 - (size_t)i] = (uint8_t)(bits >> (8 * i));
        uint32_t st[8];
        memcpy(st, iv, sizeof(st));
        ag__sha256_ni_blocks(st, msg + 1, nb);
        ag__sha256_ni_blocks(st, m + n, 1);
        uint8_t got[32], want[32];
        for (int i = 0; i < 8; i++) {
            got[4 * i] = (uint8_t)(st[i] >> 24);
            got[4 * i + 1] = (uint8_t)(st[i] >> 16);
            got[4 * i + 2] = (uint8_t)(st[i] >> 8);
            got[4 * i + 3] = (uint8_t)st[i];
        }
        ref_sha256(msg + 1, n, want);
        ck_assert_mem_eq(got, want, 32);
    }
    /* midstates exist exactly when the CPU feature is allowed */
    uint32_t st[8];
    ag__cpu_restrict(0);
    ck_assert(!ag__sha256_midstate(msg, st));
    ag__cpu_restrict(AG__CPU_ALL);
    ck_assert(ag__sha256_midstate(msg, st));
    uint32_t st2[8];
    memcpy(st2, iv, sizeof(st2));
    ag__sha256_ni_blocks(st2, msg, 1);
    ck_assert_mem_eq(st, st2, sizeof(st));
#endif
}
END_TEST

/* ---- HMAC-SHA-256 -------------------------------------------------------- */

/* RFC 4231 §4.2–4.8 */
static const struct {
    size_t klen;
    uint8_t kbyte; /* 0: 0x01, 0x02, ... */
    const char *key_str;
    const char *data;
    size_t dlen;   /* 0: strlen(data) */
    uint8_t dbyte; /* when data is NULL: dlen bytes of dbyte */
    size_t maclen;
    const char *mac;
} rfc4231[] = {
    {20, 0x0b, NULL, "Hi There", 0, 0, 32,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {4, 0, "Jefe", "what do ya want for nothing?", 0, 0, 32,
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {20, 0xaa, NULL, NULL, 50, 0xdd, 32,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {25, 0, NULL, NULL, 50, 0xcd, 32,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {20, 0x0c, NULL, "Test With Truncation", 0, 0, 16, "a3b6167473100ee06e0c796c2955552b"},
    {131, 0xaa, NULL, "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0, 32,
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {131, 0xaa, NULL,
     "This is a test using a larger than block-size key and a larger than block-size data. "
     "The key needs to be hashed before being used by the HMAC algorithm.",
     0, 0, 32, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
};

START_TEST(rfc4231_vectors)
{
    set_mode(_i);
    for (size_t t = 0; t < AG__ARRAY_LEN(rfc4231); t++) {
        uint8_t key[131], data[200], want[32], mac[64];
        size_t klen = rfc4231[t].klen, dlen;
        if (rfc4231[t].key_str != NULL)
            memcpy(key, rfc4231[t].key_str, klen);
        else
            for (size_t i = 0; i < klen; i++)
                key[i] = rfc4231[t].kbyte != 0 ? rfc4231[t].kbyte : (uint8_t)(i + 1);
        if (rfc4231[t].data != NULL) {
            dlen = strlen(rfc4231[t].data);
            memcpy(data, rfc4231[t].data, dlen);
        } else {
            dlen = rfc4231[t].dlen;
            memset(data, rfc4231[t].dbyte, dlen);
        }
        hex_to(rfc4231[t].mac, want, rfc4231[t].maclen);

        /* every key through the internal API (short keys are refused by V-17) */
        ag_key *k = hs256_raw(key, klen);
        ck_assert_int_eq(k->hmac_mid_ok, _i == 1 && cpu_has_shani());
        set_mode(_i);
        ck_assert_int_eq(ag__hmac(k, data, dlen, mac), AG_OK);
        ck_assert_mem_eq(mac, want, rfc4231[t].maclen);
        size_t sig_len = 0;
        ck_assert_int_eq(ag__sign(k, data, dlen, mac, sizeof(mac), &sig_len), AG_OK);
        ck_assert_uint_eq(sig_len, 32);
        ck_assert_mem_eq(mac, want, rfc4231[t].maclen);
        ck_assert_int_eq(ag__verify_sig(k, data, dlen, mac, 32), AG_OK);
        mac[31] ^= 1;
        ck_assert_int_eq(ag__verify_sig(k, data, dlen, mac, 32), AG_ERR_SIGNATURE);
        ag_key_free(k);

        /* the public constructor where V-17 allows the key (cases 6, 7) */
        ag_key *pk = NULL;
        ag_err err = ag_key_from_secret(AG_ALG_HS256, key, klen, "rfc", &pk);
        if (klen < 32) {
            ck_assert_int_eq(err, AG_ERR_WEAK_KEY);
            continue;
        }
        ck_assert_int_eq(err, AG_OK);
        ck_assert_int_eq(ag__hmac(pk, data, dlen, mac), AG_OK);
        ck_assert_mem_eq(mac, want, rfc4231[t].maclen);
        ag_key_free(pk);
    }
}
END_TEST

START_TEST(random_keys_and_messages)
{
    set_mode(_i);
    enum { MSG_MAX = 2000 };
    uint8_t *msg = big_buf(MSG_MAX + 1);
    rng_fill(msg, MSG_MAX + 1);
    uint8_t key[200];
    /* every key length 32..200, messages around the edges; every message
     * length 0..2000, key lengths spread over 32..200 */
    static const size_t edge[] = {0, 1, 55, 56, 63, 64, 65, 119, 120, 306, 1000, 2000};
    size_t nk = 200 - 32 + 1;
    for (size_t c = 0; c < nk * AG__ARRAY_LEN(edge) + MSG_MAX + 1; c++) {
        size_t klen, mlen;
        if (c < nk * AG__ARRAY_LEN(edge)) {
            klen = 32 + c / AG__ARRAY_LEN(edge);
            mlen = edge[c % AG__ARRAY_LEN(edge)];
        } else {
            mlen = c - nk * AG__ARRAY_LEN(edge);
            klen = 32 + (mlen * 37) % nk;
        }
        rng_fill(key, klen);
        ag_key *k = NULL;
        ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, key, klen, "r", &k), AG_OK);
        ck_assert_int_eq(k->hmac_mid_ok, _i == 1 && cpu_has_shani());
        set_mode(_i);
        const uint8_t *m = msg + (c & 1); /* odd and even addresses */
        uint8_t want[32], got[32];
        ref_hmac(key, klen, m, mlen, want);
        ck_assert_int_eq(ag__hmac(k, m, mlen, got), AG_OK);
        ck_assert_mem_eq(got, want, 32);
        ag_key_free(k);
    }
    free(msg);
}
END_TEST

/* A key made while the extensions were hidden has no midstates and goes
 * through OpenSSL even when they are back; a key with midstates falls
 * back to its pads when they are hidden. Same MACs. */
START_TEST(keys_across_modes)
{
    uint8_t secret[48], msg[700], want[32], got[32];
    rng_fill(secret, sizeof(secret));
    rng_fill(msg, sizeof(msg));
    ag__cpu_restrict(0);
    ag_key *plain = NULL;
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret, sizeof(secret), "p", &plain), AG_OK);
    ck_assert(!plain->hmac_mid_ok);
    ag__cpu_restrict(AG__CPU_ALL);
    ag_key *fast = NULL;
    ck_assert_int_eq(ag_key_from_secret(AG_ALG_HS256, secret, sizeof(secret), "f", &fast), AG_OK);
    ck_assert_int_eq(fast->hmac_mid_ok, cpu_has_shani());
    for (size_t n = 0; n <= sizeof(msg); n += 7) {
        ref_hmac(secret, sizeof(secret), msg, n, want);
        for (int mode = 0; mode < 2; mode++) {
            set_mode(mode);
            ck_assert_int_eq(ag__hmac(plain, msg, n, got), AG_OK);
            ck_assert_mem_eq(got, want, 32);
            ck_assert_int_eq(ag__hmac(fast, msg, n, got), AG_OK);
            ck_assert_mem_eq(got, want, 32);
        }
    }
    /* HS384/HS512 never get midstates */
    ag_key *k384 = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS384, "h", &k384), AG_OK);
    ck_assert(!k384->hmac_mid_ok);
    ag_key_free(k384);
    ag_key_free(plain);
    ag_key_free(fast);
}
END_TEST

/* ---- the pipeline ---------------------------------------------------------- */

typedef struct pipeline {
    ag_keyring *ring;
    ag_verifier *v;
    ag_issuer *is;
} pipeline;

static void pipeline_new(pipeline *p, ag_key *key, size_t cache_entries)
{
    ck_assert_int_eq(ag_keyring_new(NULL, &p->ring), AG_OK);
    ck_assert_int_eq(ag_keyring_add(p->ring, key), AG_OK);
    ag_verifier_config vc = AG_INIT(ag_verifier_config);
    vc.keys = p->ring;
    vc.issuer = ISS;
    vc.audience = AUD;
    vc.leeway = -1;
    vc.clock = ag_test_clock;
    vc.kind = AG_TOKEN_ACCESS;
    vc.cache_entries = cache_entries;
    ck_assert_int_eq(ag_verifier_new(&vc, &p->v), AG_OK);
    ag_issuer_config ic = AG_INIT(ag_issuer_config);
    ic.key = key;
    ic.kind = AG_TOKEN_ACCESS;
    ic.issuer = ISS;
    ic.audience = AUD;
    ic.ttl = 600;
    ic.clock = ag_test_clock;
    ck_assert_int_eq(ag_issuer_new(&ic, &p->is), AG_OK);
}

static void pipeline_free(pipeline *p)
{
    ag_issuer_free(p->is);
    ag_verifier_free(p->v);
    ag_keyring_free(p->ring);
}

static size_t pipeline_issue(const pipeline *p, char *tok, size_t cap)
{
    ag_issue_params ip = AG_INIT(ag_issue_params);
    ip.sub = "alice";
    ag_issued info = AG_INIT(ag_issued);
    ck_assert_int_eq(ag_issue(p->is, &ip, tok, cap, &info), AG_OK);
    return info.len;
}

/* Issued on one path, verified on the other, for keys made either way. */
START_TEST(pipeline_across_modes)
{
    static ag_claims c = AG_INIT(ag_claims);
    for (int made = 0; made < 2; made++) {
        set_mode(made);
        ag_key *k = NULL;
        ck_assert_int_eq(ag_key_generate(AG_ALG_HS256, "k1", &k), AG_OK);
        for (size_t cache = 0; cache <= 16; cache += 16) {
            pipeline p;
            pipeline_new(&p, k, cache);
            for (int issue_mode = 0; issue_mode < 2; issue_mode++) {
                char tok[AG_TOKEN_MAX_LEN + 1];
                set_mode(issue_mode);
                size_t len = pipeline_issue(&p, tok, sizeof(tok));
                for (int rep = 0; rep < 2; rep++) /* the second time from the cache */
                    for (int verify_mode = 0; verify_mode < 2; verify_mode++) {
                        set_mode(verify_mode);
                        ck_assert_int_eq(
                            ag_verify(p.v, (const uint8_t *)tok, len, AG_TEST_SCRATCH(&c), &c),
                            AG_OK);
                        ck_assert_int_eq(c.alg, AG_ALG_HS256);
                    }
                tok[len - 3] = tok[len - 3] == 'A' ? 'B' : 'A'; /* a significant char */
                for (int verify_mode = 0; verify_mode < 2; verify_mode++) {
                    set_mode(verify_mode);
                    ck_assert_int_eq(
                        ag_verify(p.v, (const uint8_t *)tok, len, AG_TEST_SCRATCH(&c), &c),
                        AG_ERR_SIGNATURE);
                }
            }
            pipeline_free(&p);
        }
        ag_key_free(k);
    }
}
END_TEST

START_TEST(verify_allocates_nothing)
{
    set_mode(_i);
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS256, "k1", &k), AG_OK);
    pipeline p;
    pipeline_new(&p, k, 0);
    char tok[AG_TOKEN_MAX_LEN + 1];
    size_t len = pipeline_issue(&p, tok, sizeof(tok));
    static ag_claims c = AG_INIT(ag_claims);
    ck_assert_int_eq(ag_verify(p.v, (const uint8_t *)tok, len, AG_TEST_SCRATCH(&c), &c),
                     AG_OK); /* warm */
    ag_test_alloc_reset();
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(ag_verify(p.v, (const uint8_t *)tok, len, AG_TEST_SCRATCH(&c), &c), AG_OK);
    tok[len - 3] = tok[len - 3] == 'A' ? 'B' : 'A';
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(ag_verify(p.v, (const uint8_t *)tok, len, AG_TEST_SCRATCH(&c), &c),
                         AG_ERR_SIGNATURE);
    ck_assert_int_eq(ag_test_alloc_count(), 0);
    /* the hooks count */
    EVP_MD_CTX_free(EVP_MD_CTX_new());
    ck_assert_int_gt(ag_test_alloc_count(), 0);
    pipeline_free(&p);
    ag_key_free(k);
}
END_TEST

static void *fresh_thread_hmac(void *arg)
{
    const ag_key *k = arg;
    static const uint8_t msg[300] = {1};
    uint8_t mac[32];
    ag_span part = {msg, sizeof(msg)};
    ag_test_alloc_reset();
    bool ok = ag__hmac(k, msg, sizeof(msg), mac) == AG_OK && ag__sha2(256, &part, 1, mac) == AG_OK;
    long n = ag_test_alloc_count();
    ag_thread_cleanup();
    return (void *)(intptr_t)(ok ? n : -1);
}

/* On the SHA extensions even a thread's first HMAC and hash allocate
 * nothing: no per-thread state is needed. */
START_TEST(fast_path_needs_no_thread_state)
{
    if (!cpu_has_shani())
        return;
    ag_key *k = NULL;
    ck_assert_int_eq(ag_key_generate(AG_ALG_HS256, "k1", &k), AG_OK);
    ck_assert(ag__sha256_ni_usable()); /* the process-wide setup, once */
    pthread_t th;
    void *ret = NULL;
    ck_assert_int_eq(pthread_create(&th, NULL, fresh_thread_hmac, k), 0);
    ck_assert_int_eq(pthread_join(th, &ret), 0);
    ck_assert_int_eq((intptr_t)ret, 0);
    ag_key_free(k);
}
END_TEST

/* ---- the provider rule ---------------------------------------------------- */

/* A provider "agtest" whose SHA2-256 counts its calls and hashes with the
 * default provider's. */
static long agtest_updates;
static EVP_MD *agtest_inner;

static void *agtest_newctx(void *provctx)
{
    (void)provctx;
    if (agtest_inner == NULL)
        agtest_inner = EVP_MD_fetch(NULL, "SHA2-256", "provider=default");
    return agtest_inner != NULL ? EVP_MD_CTX_new() : NULL;
}
static void agtest_freectx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}
static void *agtest_dupctx(void *ctx)
{
    EVP_MD_CTX *d = EVP_MD_CTX_new();
    if (d != NULL && !EVP_MD_CTX_copy_ex(d, ctx)) {
        EVP_MD_CTX_free(d);
        d = NULL;
    }
    return d;
}
static int agtest_init(void *ctx, const OSSL_PARAM params[])
{
    (void)params;
    return EVP_DigestInit_ex2(ctx, agtest_inner, NULL);
}
static int agtest_update(void *ctx, const unsigned char *p, size_t n)
{
    agtest_updates++;
    return EVP_DigestUpdate(ctx, p, n);
}
static int agtest_final(void *ctx, unsigned char *out, size_t *outl, size_t outsz)
{
    unsigned len = 0;
    if (outsz < 32 || !EVP_DigestFinal_ex(ctx, out, &len))
        return 0;
    *outl = len;
    return 1;
}
static int agtest_get_params(OSSL_PARAM params[])
{
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_BLOCK_SIZE);
    if (p != NULL && !OSSL_PARAM_set_size_t(p, 64))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_SIZE);
    if (p != NULL && !OSSL_PARAM_set_size_t(p, 32))
        return 0;
    return 1;
}
static const OSSL_PARAM *agtest_gettable(void *provctx)
{
    (void)provctx;
    static const OSSL_PARAM t[] = {OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_BLOCK_SIZE, NULL),
                                   OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_SIZE, NULL), OSSL_PARAM_END};
    return t;
}

/* Function pointers of other types go through the dispatch table as
 * void (*)(void), as OpenSSL's own providers do. */
#define AGTEST_FN(f) ((void (*)(void))(f))
static const OSSL_DISPATCH agtest_digest[] = {
    {OSSL_FUNC_DIGEST_NEWCTX, AGTEST_FN(agtest_newctx)},
    {OSSL_FUNC_DIGEST_FREECTX, AGTEST_FN(agtest_freectx)},
    {OSSL_FUNC_DIGEST_DUPCTX, AGTEST_FN(agtest_dupctx)},
    {OSSL_FUNC_DIGEST_INIT, AGTEST_FN(agtest_init)},
    {OSSL_FUNC_DIGEST_UPDATE, AGTEST_FN(agtest_update)},
    {OSSL_FUNC_DIGEST_FINAL, AGTEST_FN(agtest_final)},
    {OSSL_FUNC_DIGEST_GET_PARAMS, AGTEST_FN(agtest_get_params)},
    {OSSL_FUNC_DIGEST_GETTABLE_PARAMS, AGTEST_FN(agtest_gettable)},
    {0, NULL}};
static const OSSL_ALGORITHM agtest_digests[] = {
    {"SHA2-256:SHA-256:SHA256", "provider=agtest", agtest_digest, NULL}, {NULL, NULL, NULL, NULL}};

static const OSSL_ALGORITHM *agtest_query(void *provctx, int op, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    return op == OSSL_OP_DIGEST ? agtest_digests : NULL;
}
static const OSSL_DISPATCH agtest_provider[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, AGTEST_FN(agtest_query)}, {0, NULL}};

static int agtest_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                                const OSSL_DISPATCH **out, void **provctx)
{
    (void)handle;
    (void)in;
    *out = agtest_provider;
    *provctx = NULL;
    return 1;
}

/* Runs in a fresh process: the application prefers agtest's SHA2-256 (as
 * it would the FIPS provider's) before authgate's first hash. */
static int provider_child(void)
{
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "provider child: %s failed (line %d)\n", #c, __LINE__);                \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)
    /* keys first, as an application that loads its key file before
     * configuring OpenSSL: importing must not settle the provider */
    ag_key *k = NULL, *pk = NULL;
    REQUIRE(ag__key_alloc(AG_ALG_HS256, "rfc", 3, &k) == AG_OK);
    REQUIRE(ag__key_set_pads(k, (const uint8_t *)"Jefe", 4) == AG_OK);
    REQUIRE(k->hmac_mid_ok == shani);
    uint8_t secret[40] = "a secret of forty bytes for the provider";
    REQUIRE(ag_key_from_secret(AG_ALG_HS256, secret, sizeof(secret), "k", &pk) == AG_OK);
    REQUIRE(pk->hmac_mid_ok == shani);

    REQUIRE(OSSL_PROVIDER_add_builtin(NULL, "agtest", agtest_provider_init) == 1);
    OSSL_PROVIDER *def = OSSL_PROVIDER_load(NULL, "default");
    OSSL_PROVIDER *test = OSSL_PROVIDER_load(NULL, "agtest");
    REQUIRE(def != NULL && test != NULL);
    REQUIRE(EVP_set_default_properties(NULL, "?provider=agtest") == 1);
    ag__cpu_restrict(AG__CPU_ALL);
    REQUIRE(!ag__sha256_ni_usable());

    /* HMAC and SHA-256 go through agtest, midstates or not */
    uint8_t want[32], got[32];
    hex_to(rfc4231[1].mac, want, 32);
    long before = agtest_updates;
    const char *data = rfc4231[1].data;
    REQUIRE(ag__hmac(k, (const uint8_t *)data, strlen(data), got) == AG_OK);
    REQUIRE(memcmp(got, want, 32) == 0);
    REQUIRE(agtest_updates > before);
    before = agtest_updates;
    size_t sig_len = 0;
    REQUIRE(ag__sign(pk, (const uint8_t *)data, strlen(data), got, sizeof(got), &sig_len) == AG_OK);
    REQUIRE(ag__verify_sig(pk, (const uint8_t *)data, strlen(data), got, sig_len) == AG_OK);
    REQUIRE(agtest_updates > before);
    before = agtest_updates;
    ag_span abc = {(const uint8_t *)"abc", 3};
    REQUIRE(ag__sha2(256, &abc, 1, got) == AG_OK);
    hex_to("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    REQUIRE(memcmp(got, want, 32) == 0);
    REQUIRE(agtest_updates > before);
    ag_key_free(pk);
    ag_key_free(k);
    ag_thread_cleanup();
    EVP_MD_free(agtest_inner);
    OSSL_PROVIDER_unload(test);
    OSSL_PROVIDER_unload(def);
    return 0;
#undef REQUIRE
}

/* This program, for the fresh process (argv[0] rather than /proc/self/exe,
 * which is valgrind's tool when run under valgrind). */
static const char *self_path = "/proc/self/exe";

START_TEST(other_provider_keeps_sha256)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char *const argv[] = {"test_sha256", "--provider-child", NULL};
        execv(self_path, argv);
        _exit(127);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, nist_vectors, 0, 2);
    tcase_add_loop_test(tc, lengths_vs_openssl, 0, 2);
    tcase_add_loop_test(tc, multipart_every_split, 0, 2);
    tcase_add_test(tc, compressor_direct);
    tcase_add_loop_test(tc, rfc4231_vectors, 0, 2);
    tcase_add_loop_test(tc, random_keys_and_messages, 0, 2);
    tcase_add_test(tc, keys_across_modes);
    tcase_add_test(tc, pipeline_across_modes);
    tcase_add_loop_test(tc, verify_allocates_nothing, 0, 2);
    tcase_add_test(tc, fast_path_needs_no_thread_state);
    tcase_add_test(tc, other_provider_keeps_sha256);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    ag_test_alloc_hooks_install();
    shani = (ag__cpu_features() & AG__CPU_SHANI) != 0;
    if (argc > 0 && strchr(argv[0], '/') != NULL)
        self_path = argv[0];
    if (argc == 2 && strcmp(argv[1], "--provider-child") == 0)
        return provider_child();
    return ag_test_run(suite());
}

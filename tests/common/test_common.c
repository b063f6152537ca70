/* SPDX-License-Identifier: MIT */
/* Tests for lib/common: the error table, constant-time compare, helpers. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authgate/error.h"
#include "common/common_int.h"
#include "common/crypto_int.h"
#include "testsupport.h"

START_TEST(error_table_complete_and_distinct)
{
    for (int a = 0; a < AG_ERR_COUNT_; a++) {
        const char *name = ag_err_name((ag_err)a);
        ck_assert_ptr_nonnull(ag_strerror((ag_err)a));
        ck_assert_ptr_nonnull(ag_err_reason((ag_err)a));
        ck_assert_msg(strcmp(ag_strerror((ag_err)a), "unknown error") != 0, "code %d has no text",
                      a);
        ck_assert(strncmp(name, "AG_", 3) == 0);
        for (int b = a + 1; b < AG_ERR_COUNT_; b++) {
            ck_assert_str_ne(name, ag_err_name((ag_err)b));
            ck_assert_str_ne(ag_strerror((ag_err)a), ag_strerror((ag_err)b));
            ck_assert_str_ne(ag_err_reason((ag_err)a), ag_err_reason((ag_err)b));
        }
    }
    ck_assert_str_eq(ag_err_name(AG_OK), "AG_OK");
    ck_assert_str_eq(ag_err_name(AG_ERR_EXPIRED), "AG_ERR_EXPIRED");
    ck_assert_str_eq(ag_strerror((ag_err)AG_ERR_COUNT_), "unknown error");
    ck_assert_str_eq(ag_strerror((ag_err)-1), "unknown error");
    ck_assert_str_eq(ag_err_name((ag_err)999), "AG_ERR_?");
    /* the CLI's reason words are a contract (docs/demo.md, docs/security.md §5) */
    ck_assert_str_eq(ag_err_reason(AG_ERR_EXPIRED), "expired");
    ck_assert_str_eq(ag_err_reason(AG_ERR_SIGNATURE), "bad signature");
    ck_assert_str_eq(ag_err_reason(AG_ERR_MALFORMED), "malformed");
    ck_assert_str_eq(ag_err_reason(AG_ERR_ALG), "algorithm");
    ck_assert_str_eq(ag_err_reason(AG_ERR_HEADER), "header");
    ck_assert_str_eq(ag_err_reason(AG_ERR_KEY), "unknown key");
    ck_assert_str_eq(ag_err_reason(AG_ERR_NOT_YET_VALID), "not yet valid");
    ck_assert_str_eq(ag_err_reason(AG_ERR_CLAIM), "claim");
    ck_assert_str_eq(ag_err_reason(AG_ERR_WRONG_TYPE), "wrong type");
    ck_assert_str_eq(ag_err_reason(AG_ERR_TOO_LARGE), "too large");
    /* numbers are append-only: a few pinned values */
    ck_assert_int_eq(AG_ERR_EXPIRED, 11);
    ck_assert_int_eq(AG_ERR_REUSED, 24);
    ck_assert_int_eq(AG_ERR_STATE, 30);
}
END_TEST

START_TEST(ct_equal)
{
    uint8_t a[32], b[32];
    memset(a, 7, sizeof(a));
    memset(b, 7, sizeof(b));
    ck_assert(ag_ct_equal(a, b, 32));
    ck_assert(ag__ct_eq(a, b, 32));
    b[31] ^= 1;
    ck_assert(!ag_ct_equal(a, b, 32));
    b[31] ^= 1;
    b[0] ^= 0x80;
    ck_assert(!ag__ct_eq(a, b, 32));
    ck_assert(ag_ct_equal(a, b, 0));
}
END_TEST

/* Every length 0..100, a difference at every position and bit: the same
 * verdict as CRYPTO_memcmp, unaligned views included. */
START_TEST(ct_equal_matches_crypto_memcmp)
{
    uint8_t a[112], b[112];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(i * 37 + 11);
    for (size_t off = 0; off < 3; off++) {
        for (size_t n = 0; n <= 100; n++) {
            memcpy(b, a, sizeof b);
            ck_assert(ag__ct_eq(a + off, b + off, n));
            for (size_t pos = 0; pos < n; pos++) {
                for (int bit = 0; bit < 8; bit++) {
                    b[off + pos] ^= (uint8_t)(1u << bit);
                    ck_assert_int_eq(ag__ct_eq(a + off, b + off, n),
                                     CRYPTO_memcmp(a + off, b + off, n) == 0);
                    ck_assert(!ag__ct_eq(a + off, b + off, n));
                    b[off + pos] ^= (uint8_t)(1u << bit);
                }
            }
        }
    }
}
END_TEST

START_TEST(spans_and_random)
{
    ag_span s = {(const uint8_t *)"abc", 3};
    ck_assert(ag__span_eq_str(s, "abc"));
    ck_assert(!ag__span_eq_str(s, "ab"));
    ck_assert(!ag__span_eq_str(s, "abcd"));
    uint8_t r1[32], r2[32];
    ck_assert_int_eq(ag_random(r1, sizeof(r1)), AG_OK);
    ck_assert_int_eq(ag_random(r2, sizeof(r2)), AG_OK);
    ck_assert(memcmp(r1, r2, 32) != 0);
    ck_assert_int_eq(ag_random(NULL, 1), AG_ERR_INVALID_ARGUMENT);
    uint8_t z[16];
    memset(z, 0xaa, sizeof(z));
    ag_cleanse(z, sizeof(z));
    for (size_t i = 0; i < sizeof(z); i++)
        ck_assert_int_eq(z[i], 0);
    ck_assert_int_gt(ag_clock_system(NULL), 1700000000);
}
END_TEST

/* The feature mask agrees with /proc/cpuinfo where there is one, and the
 * test restriction hides features (what the SIMD tests rely on to run the
 * portable twins on this machine). */
/* RFC 4231 §4.2 (short key), §4.7 (a 131-byte key, hashed first) and
 * OpenSSL's HMAC for every key length around the block size, on each
 * instruction set this CPU offers. */
START_TEST(hmac_sha256_raw_secret)
{
    static const uint8_t want1[32] = {0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53,
                                      0x5c, 0xa8, 0xaf, 0xce, 0xaf, 0x0b, 0xf1, 0x2b,
                                      0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83, 0x3d, 0xa7,
                                      0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7};
    static const uint8_t want6[32] = {0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f,
                                      0x0d, 0x8a, 0x26, 0xaa, 0xcb, 0xf5, 0xb7, 0x7f,
                                      0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28, 0xc5, 0x14,
                                      0x05, 0x46, 0x04, 0x0f, 0x0e, 0xe3, 0x7f, 0x54};
    uint8_t key[131], msg[200], mac[32], ref[EVP_MAX_MD_SIZE];
    const unsigned masks[] = {AG__CPU_ALL, 0};
    for (size_t m = 0; m < 2; m++) {
        ag__cpu_restrict(masks[m]);
        memset(key, 0x0b, 20);
        ck_assert_int_eq(ag__hmac_sha256(key, 20, (const uint8_t *)"Hi There", 8, mac), AG_OK);
        ck_assert_mem_eq(mac, want1, 32);
        memset(key, 0xaa, sizeof key);
        static const char t6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
        ck_assert_int_eq(ag__hmac_sha256(key, sizeof key, (const uint8_t *)t6, sizeof t6 - 1, mac),
                         AG_OK);
        ck_assert_mem_eq(mac, want6, 32);
        for (size_t i = 0; i < sizeof msg; i++)
            msg[i] = (uint8_t)(i * 7u + 1u);
        for (size_t kl = 0; kl <= sizeof key; kl += 13) {
            for (size_t i = 0; i < kl; i++)
                key[i] = (uint8_t)(i * 31u + kl);
            unsigned int rl = 0;
            ck_assert_ptr_nonnull(HMAC(EVP_sha256(), kl ? key : (const uint8_t *)"", (int)kl, msg,
                                       kl + 50, ref, &rl));
            ck_assert_int_eq(ag__hmac_sha256(key, kl, msg, kl + 50, mac), AG_OK);
            ck_assert_mem_eq(mac, ref, 32);
        }
    }
    ag__cpu_restrict(AG__CPU_ALL);
}
END_TEST

/* ag__utf8_valid gives jansson's verdict (the reference the issuer used
 * before): every 1- and 2-byte string, every 3-byte string with a lead
 * from E0, ED, EF, and 4-byte strings around the limits. */
static void utf8_same(const uint8_t *b, size_t n)
{
    json_t *j = json_stringn((const char *)b, n);
    ck_assert_msg(ag__utf8_valid(b, n) == (j != NULL), "%02x %02x %02x %02x (%zu)", b[0],
                  n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n > 3 ? b[3] : 0, n);
    json_decref(j);
}

START_TEST(utf8_matches_jansson)
{
    uint8_t b[4];
    for (unsigned x = 0; x < 65536; x++) {
        b[0] = (uint8_t)(x >> 8);
        b[1] = (uint8_t)x;
        utf8_same(b + 1, 1);
        utf8_same(b, 2);
    }
    static const uint8_t leads3[] = {0xe0, 0xe1, 0xed, 0xef};
    for (size_t l = 0; l < sizeof leads3; l++)
        for (unsigned x = 0; x < 65536; x++) {
            b[0] = leads3[l];
            b[1] = (uint8_t)(x >> 8);
            b[2] = (uint8_t)x;
            utf8_same(b, 3);
        }
    static const uint8_t leads4[] = {0xf0, 0xf4, 0xf5};
    static const uint8_t conts[] = {0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0};
    for (size_t l = 0; l < sizeof leads4; l++)
        for (size_t i = 0; i < sizeof conts; i++)
            for (size_t j = 0; j < sizeof conts; j++)
                for (size_t k = 0; k < sizeof conts; k++) {
                    b[0] = leads4[l];
                    b[1] = conts[i];
                    b[2] = conts[j];
                    b[3] = conts[k];
                    utf8_same(b, 4);
                    utf8_same(b, 3); /* truncated */
                }
    ck_assert(ag__ci_eq((const uint8_t *)"BeArEr", 6, "bearer", 6));
    ck_assert(!ag__ci_eq((const uint8_t *)"bearer", 6, "bearer ", 7));
    ck_assert(!ag__ci_eq((const uint8_t *)"@", 1, "`", 1)); /* only A-Z fold */
}
END_TEST

START_TEST(cpu_features)
{
    unsigned f = ag__cpu_features();
    ck_assert_uint_eq(f & ~(unsigned)AG__CPU_ALL, 0);
    FILE *ci = fopen("/proc/cpuinfo", "r");
    if (ci != NULL) {
        char line[4096];
        bool avx2 = false, sha = false, flags = false;
        while (fgets(line, sizeof(line), ci) != NULL) {
            if (strncmp(line, "flags", 5) != 0)
                continue;
            flags = true;
            avx2 = strstr(line, " avx2") != NULL;
            sha = strstr(line, " sha_ni") != NULL;
            break;
        }
        fclose(ci);
#ifndef AG__X86_SIMD
        flags = false; /* AG_PORTABLE or not x86-64: no SIMD is ever reported */
        ck_assert_uint_eq(f, 0);
#endif
        if (flags) {
            ck_assert_int_eq((f & AG__CPU_AVX2) != 0, avx2);
            ck_assert_int_eq((f & AG__CPU_SHANI) != 0, sha);
        }
    }
    ag__cpu_restrict(0);
    ck_assert_uint_eq(ag__cpu_features(), 0);
    ag__cpu_restrict(AG__CPU_SHANI);
    ck_assert_uint_eq(ag__cpu_features(), f & AG__CPU_SHANI);
    ag__cpu_restrict(AG__CPU_ALL);
    ck_assert_uint_eq(ag__cpu_features(), f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("common");
    tcase_add_test(tc, error_table_complete_and_distinct);
    tcase_add_test(tc, ct_equal);
    tcase_add_test(tc, ct_equal_matches_crypto_memcmp);
    tcase_add_test(tc, spans_and_random);
    tcase_add_test(tc, cpu_features);
    tcase_add_test(tc, hmac_sha256_raw_secret);
    tcase_add_test(tc, utf8_matches_jansson);
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

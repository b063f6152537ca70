/* SPDX-License-Identifier: MIT */
/* Tests for lib/common: the error table, constant-time compare, helpers. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authgate/error.h"
#include "common/common_int.h"
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
    suite_add_tcase(s, tc);
    return ag_test_run(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * tests for lib/http/http_extract.c: the Authorization parser (H-01, H-02),
 * single-header lookup and the refusal of URL credentials (H-03). Every
 * table row also runs with its input ending at a PROT_NONE page (V-19).
 * The bearer tables run twice, with the AVX2 b64token scan allowed and
 * with the portable loop only; a differential test compares the two.
 */
#include <stdlib.h>
#include <string.h>

#include "authgate/http.h"
#include "http/http_int.h"
#include "testsupport.h"

#define B(s) (const uint8_t *)(s), sizeof(s) - 1
#define T32 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef" /* a 32-byte block for the AVX2 scan */

typedef struct bearer_case {
    const char *rule;
    const uint8_t *in;
    size_t len;
    ag_err want;
    const char *token; /* expected token on AG_OK */
} bearer_case;

static const bearer_case bearer_cases[] = {
    {"H-01 plain", B("Bearer abc"), AG_OK, "abc"},
    {"H-01 scheme lower case", B("bearer abc"), AG_OK, "abc"},
    {"H-01 scheme upper case", B("BEARER abc"), AG_OK, "abc"},
    {"H-01 scheme mixed case", B("BeArEr abc"), AG_OK, "abc"},
    {"H-01 1*SP: two spaces", B("Bearer  abc"), AG_OK, "abc"},
    {"H-01 trailing SP trimmed", B("Bearer abc  "), AG_OK, "abc"},
    {"H-01 trailing HTAB trimmed", B("Bearer abc\t"), AG_OK, "abc"},
    {"H-01 leading OWS trimmed", B(" \tBearer abc"), AG_OK, "abc"},
    {"H-01 padding at the end", B("Bearer abc=="), AG_OK, "abc=="},
    {"H-01 whole b64token charset", B("Bearer aZ09-._~+/"), AG_OK, "aZ09-._~+/"},
    {"H-01 JWS shape", B("Bearer eyJh.eyJp.c2ln"), AG_OK, "eyJh.eyJp.c2ln"},
    {"H-01 HTAB after scheme", B("Bearer\tabc"), AG_ERR_REQUEST, NULL},
    {"H-01 SP then HTAB after scheme", B("Bearer \tabc"), AG_ERR_REQUEST, NULL},
    {"H-01 scheme alone", B("Bearer"), AG_ERR_REQUEST, NULL},
    {"H-01 scheme and spaces only", B("Bearer   "), AG_ERR_REQUEST, NULL},
    {"H-01 empty value", B(""), AG_ERR_REQUEST, NULL},
    {"H-01 whitespace only", B(" \t "), AG_ERR_REQUEST, NULL},
    {"H-01 space inside token", B("Bearer a b"), AG_ERR_REQUEST, NULL},
    {"H-01 padding only", B("Bearer =="), AG_ERR_REQUEST, NULL},
    {"H-01 padding first", B("Bearer =abc"), AG_ERR_REQUEST, NULL},
    {"H-01 padding inside", B("Bearer ab=c"), AG_ERR_REQUEST, NULL},
    {"H-01 quoted token", B("Bearer \"abc\""), AG_ERR_REQUEST, NULL},
    {"H-01 semicolon", B("Bearer a;b"), AG_ERR_REQUEST, NULL},
    {"H-01 NUL inside (M-02)", B("Bearer a\0b"), AG_ERR_REQUEST, NULL},
    {"H-01 NUL at the end", B("Bearer ab\0"), AG_ERR_REQUEST, NULL},
    {"H-01 CR LF at the end", B("Bearer abc\r\n"), AG_ERR_REQUEST, NULL},
    {"H-01 vertical tab",
     B("Bearer\x0b"
       "abc"),
     AG_ERR_REQUEST, NULL},
    {"H-01 DEL", B("Bearer ab\x7f"), AG_ERR_REQUEST, NULL},
    {"H-01 non-ASCII in token", B("Bearer ab\xc3\xa9"), AG_ERR_REQUEST, NULL},
    {"H-01 non-ASCII in scheme",
     B("B\xc3\xa9"
       "arer abc"),
     AG_ERR_REQUEST, NULL},
    {"H-01 other scheme Basic", B("Basic dXNlcjpwYXNz"), AG_ERR_NO_CREDENTIALS, NULL},
    {"H-01 scheme prefix is not Bearer", B("Bearerx abc"), AG_ERR_NO_CREDENTIALS, NULL},
    {"H-01 scheme Bear", B("Bear abc"), AG_ERR_NO_CREDENTIALS, NULL},
    {"H-01 Digest with auth-params", B("Digest username=\"a\", realm=\"b\""), AG_ERR_NO_CREDENTIALS,
     NULL},
    {"H-02 comma-combined Bearer list", B("Bearer a, Bearer b"), AG_ERR_AMBIGUOUS, NULL},
    {"H-02 comma inside token", B("Bearer a,b"), AG_ERR_AMBIGUOUS, NULL},
    {"H-02 trailing comma", B("Bearer abc,"), AG_ERR_AMBIGUOUS, NULL},
    {"H-02 Basic then Bearer", B("Basic x, Bearer y"), AG_ERR_AMBIGUOUS, NULL},
    {"H-02 Basic then bearer, no space", B("Basic x,bearer y"), AG_ERR_AMBIGUOUS, NULL},
    {"H-01 long token", B("Bearer " T32 "ghij-._~+/0123456789"), AG_OK, T32 "ghij-._~+/0123456789"},
    {"H-01 long token, padding", B("Bearer " T32 T32 "xy=="), AG_OK, T32 T32 "xy=="},
    {"H-01 long token, two blocks exactly", B("Bearer " T32 T32 " "), AG_OK, T32 T32},
    {"H-01 long token, SP at 31",
     B("Bearer "
       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcde fghij"),
     AG_ERR_REQUEST, NULL},
    {"H-01 long token, semicolon at 32", B("Bearer " T32 ";ghijklmnop"), AG_ERR_REQUEST, NULL},
    {"H-01 long token, padding at 33", B("Bearer " T32 "g=hijklmnop"), AG_ERR_REQUEST, NULL},
    {"H-01 long token, DEL last", B("Bearer " T32 T32 "\x7f"), AG_ERR_REQUEST, NULL},
    {"H-01 long token, 0x80 in the tail", B("Bearer " T32 "ghijklmnopqrstuv\x80wxyz"),
     AG_ERR_REQUEST, NULL},
    {"H-01 long token, NUL at 64", B("Bearer " T32 T32 "\0abc"), AG_ERR_REQUEST, NULL},
    {"H-02 long token, comma at 63", B("Bearer " T32 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcde,x"),
     AG_ERR_AMBIGUOUS, NULL},
};

static void check_bearer(const bearer_case *c, const uint8_t *in)
{
    ag_span tok = {(const uint8_t *)"x", 1};
    ag_err e = ag_http_parse_bearer(in, c->len, &tok);
    ck_assert_msg(e == c->want, "%s: got %s want %s", c->rule, ag_err_name(e),
                  ag_err_name(c->want));
    if (c->want == AG_OK) {
        size_t n = strlen(c->token);
        ck_assert_msg(tok.len == n && memcmp(tok.ptr, c->token, n) == 0, "%s: token", c->rule);
        /* zero-copy: a view into the input */
        ck_assert(tok.ptr >= in && tok.ptr + tok.len <= in + c->len);
    } else {
        ck_assert_ptr_null(tok.ptr);
        ck_assert_uint_eq(tok.len, 0);
    }
}

START_TEST(bearer_table)
{
    const bearer_case *c = &bearer_cases[_i];
    check_bearer(c, c->in);
}
END_TEST

/* V-19: the same rows with the input ending at a PROT_NONE page. */
START_TEST(bearer_table_guard_page)
{
    const bearer_case *c = &bearer_cases[_i];
    ag_test_guard g;
    const uint8_t *in = ag_test_guard_place(&g, c->in, c->len);
    check_bearer(c, in);
    ag_test_guard_release(&g);
}
END_TEST

/* V-04: the token cap, and the field cap checked before any scan. */
START_TEST(bearer_size_caps)
{
    size_t n = 7 + AG_TOKEN_MAX_LEN + 1;
    uint8_t *buf = malloc(AG_AUTHORIZATION_MAX_LEN + 2);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, "Bearer ", 7);
    memset(buf + 7, 'a', AG_AUTHORIZATION_MAX_LEN + 2 - 7);
    ag_span tok;
    ag_test_guard g;

    const uint8_t *in = ag_test_guard_place(&g, buf, 7 + AG_TOKEN_MAX_LEN);
    ck_assert_int_eq(ag_http_parse_bearer(in, 7 + AG_TOKEN_MAX_LEN, &tok), AG_OK);
    ck_assert_uint_eq(tok.len, AG_TOKEN_MAX_LEN);
    ag_test_guard_release(&g);

    in = ag_test_guard_place(&g, buf, n);
    ck_assert_int_eq(ag_http_parse_bearer(in, n, &tok), AG_ERR_TOO_LARGE);
    ag_test_guard_release(&g);

    /* a NUL after the cap is not even looked at: size first */
    buf[AG_AUTHORIZATION_MAX_LEN] = 0;
    ck_assert_int_eq(ag_http_parse_bearer(buf, AG_AUTHORIZATION_MAX_LEN + 1, &tok),
                     AG_ERR_TOO_LARGE);
    free(buf);
}
END_TEST

START_TEST(bearer_null_rules)
{
    ag_span tok;
    ck_assert_int_eq(ag_http_parse_bearer(NULL, 0, &tok), AG_ERR_REQUEST);
    ck_assert_int_eq(ag_http_parse_bearer(NULL, 3, &tok), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_http_parse_bearer(B("Bearer a"), NULL), AG_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ag_http_find_bearer(NULL, 0, &tok), AG_ERR_NO_CREDENTIALS);
    ck_assert_int_eq(ag_http_find_bearer(NULL, 1, &tok), AG_ERR_INVALID_ARGUMENT);
}
END_TEST

#define H(n, v)                                                                                    \
    {                                                                                              \
        {(const uint8_t *)(n), sizeof(n) - 1},                                                     \
        {                                                                                          \
            (const uint8_t *)(v), sizeof(v) - 1                                                    \
        }                                                                                          \
    }

/* H-02 / M-01: the field is found case-insensitively, exactly once. */
START_TEST(find_bearer_fields)
{
    ag_span tok;
    const ag_header one[] = {H("Host", "a"), H("authorization", "Bearer t1")};
    ck_assert_int_eq(ag_http_find_bearer(one, 2, &tok), AG_OK);
    ck_assert_uint_eq(tok.len, 2);

    const ag_header two[] = {H("Authorization", "Bearer t1"), H("AUTHORIZATION", "Bearer t1")};
    ck_assert_int_eq(ag_http_find_bearer(two, 2, &tok), AG_ERR_AMBIGUOUS);

    const ag_header two_schemes[] = {H("Authorization", "Basic eA=="),
                                     H("Authorization", "Bearer t1")};
    ck_assert_int_eq(ag_http_find_bearer(two_schemes, 2, &tok), AG_ERR_AMBIGUOUS);

    /* M-06: "Authorization " (space before the colon) is another name */
    const ag_header spaced[] = {H("Authorization ", "Bearer t1")};
    ck_assert_int_eq(ag_http_find_bearer(spaced, 1, &tok), AG_ERR_NO_CREDENTIALS);

    /* H-03: a token in another header is not a credential */
    const ag_header other[] = {H("X-Access-Token", "t1"), H("Proxy-Authorization", "Bearer t")};
    ck_assert_int_eq(ag_http_find_bearer(other, 2, &tok), AG_ERR_NO_CREDENTIALS);

    /* a NUL inside the name does not match a prefix */
    const ag_header nul_name[] = {H("Authorization\0x", "Bearer t1")};
    ck_assert_int_eq(ag_http_find_bearer(nul_name, 1, &tok), AG_ERR_NO_CREDENTIALS);
}
END_TEST

/* Idempotency-Key: an RFC 8941 string, 1..128 characters, no escapes. */
START_TEST(idempotency_key)
{
    static const struct {
        const char *in;
        size_t len;
        ag_err want;
        const char *key;
    } cases[] = {
        {"\"k-1\"", 5, AG_OK, "k-1"},
        {" \t\"a b\" ", 8, AG_OK, "a b"},
        {"\"~!#[]\"", 7, AG_OK, "~!#[]"},
        {"k-1", 3, AG_ERR_REQUEST, NULL},
        {"\"\"", 2, AG_ERR_REQUEST, NULL},
        {"\"", 1, AG_ERR_REQUEST, NULL},
        {"", 0, AG_ERR_REQUEST, NULL},
        {"\"a\\\"b\"", 6, AG_ERR_REQUEST, NULL},
        {"\"a\\b\"", 5, AG_ERR_REQUEST, NULL},
        {"\"a\"b\"", 5, AG_ERR_REQUEST, NULL},
        {"\"a\"\"b\"", 6, AG_ERR_REQUEST, NULL},
        {"\"a\tb\"", 5, AG_ERR_REQUEST, NULL},
        {"\"a\0b\"", 5, AG_ERR_REQUEST, NULL},
        {"\"caf\xc3\xa9\"", 7, AG_ERR_REQUEST, NULL},
        {"\"a\x7f\"", 4, AG_ERR_REQUEST, NULL},
        {"'a'", 3, AG_ERR_REQUEST, NULL},
    };
    ag_span key;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ag_err e = ag_http_parse_idempotency_key((const uint8_t *)cases[i].in, cases[i].len, &key);
        ck_assert_msg(e == cases[i].want, "case %zu: %d", i, (int)e);
        if (cases[i].key == NULL) {
            ck_assert_ptr_null(key.ptr);
            continue;
        }
        ck_assert_uint_eq(key.len, strlen(cases[i].key));
        ck_assert_int_eq(memcmp(key.ptr, cases[i].key, key.len), 0);
    }
    char v[AG_IDEMPOTENCY_KEY_MAX_LEN + 3];
    memset(v, 'x', sizeof v);
    v[0] = '"';
    v[AG_IDEMPOTENCY_KEY_MAX_LEN + 1] = '"';
    ck_assert_int_eq(
        ag_http_parse_idempotency_key((uint8_t *)v, AG_IDEMPOTENCY_KEY_MAX_LEN + 2, &key), AG_OK);
    ck_assert_uint_eq(key.len, AG_IDEMPOTENCY_KEY_MAX_LEN);
    v[AG_IDEMPOTENCY_KEY_MAX_LEN + 1] = 'x';
    v[AG_IDEMPOTENCY_KEY_MAX_LEN + 2] = '"';
    ck_assert_int_eq(ag_http_parse_idempotency_key((uint8_t *)v, sizeof v, &key), AG_ERR_TOO_LARGE);
    ck_assert_int_eq(ag_http_parse_idempotency_key(NULL, 1, &key), AG_ERR_INVALID_ARGUMENT);

    const ag_header one[] = {H("Host", "a"), H("idempotency-key", "\"k\"")};
    ck_assert_int_eq(ag_http_find_idempotency_key(one, 2, &key), AG_OK);
    ck_assert_uint_eq(key.len, 1);
    const ag_header two[] = {H("Idempotency-Key", "\"k\""), H("IDEMPOTENCY-KEY", "\"k\"")};
    ck_assert_int_eq(ag_http_find_idempotency_key(two, 2, &key), AG_ERR_AMBIGUOUS);
    ck_assert_int_eq(ag_http_find_idempotency_key(one, 1, &key), AG_ERR_NOT_FOUND);
}
END_TEST

typedef struct query_case {
    const char *rule;
    const uint8_t *in;
    size_t len;
    ag_err want;
} query_case;

static const query_case query_cases[] = {
    {"H-03 access_token", B("access_token=abc"), AG_ERR_URL_CREDENTIALS},
    {"H-03 after another pair", B("a=1&access_token=abc"), AG_ERR_URL_CREDENTIALS},
    {"H-03 refresh_token", B("refresh_token=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 token", B("token=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 jwt", B("x=1&jwt=x&y=2"), AG_ERR_URL_CREDENTIALS},
    {"H-03 id_token", B("id_token=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 leading ?", B("?access_token=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 name without value", B("access_token"), AG_ERR_URL_CREDENTIALS},
    {"H-03 empty value", B("token="), AG_ERR_URL_CREDENTIALS},
    {"H-03 percent-encoded letter", B("acc%65ss_token=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 percent-encoded underscore", B("refresh%5Ftoken=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 percent-encoded lower hex", B("refresh%5ftoken=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 fully encoded", B("%6a%77%74=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 upper case name", B("ACCESS_TOKEN=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 ; separator", B("a=1;jwt=x"), AG_ERR_URL_CREDENTIALS},
    {"H-03 after empty pairs", B("&&;token=1"), AG_ERR_URL_CREDENTIALS},
    {"H-03 last pair, no value", B("a=b&id_token"), AG_ERR_URL_CREDENTIALS},
    {"H-03 empty query", B(""), AG_OK},
    {"H-03 other names", B("a=1&b=2"), AG_OK},
    {"H-03 name as value", B("x=access_token"), AG_OK},
    {"H-03 longer name", B("access_token_hint=1"), AG_OK},
    {"H-03 plural", B("tokens=1"), AG_OK},
    {"H-03 + decodes to SP", B("access+token=1"), AG_OK},
    {"H-03 double encoding decoded once", B("acc%2565ss_token=1"), AG_OK},
    {"H-03 truncated escape", B("jwt%"), AG_OK},
    {"H-03 bad escape", B("jw%zz=1"), AG_OK},
    {"H-03 NUL in name", B("token%00=1"), AG_OK},
    {"H-03 raw NUL", B("tok\0en=1"), AG_OK},
    {"H-03 lone ?", B("?"), AG_OK},
};

START_TEST(query_table)
{
    const query_case *c = &query_cases[_i];
    ag_test_guard g;
    const uint8_t *in = ag_test_guard_place(&g, c->in, c->len);
    ag_err e = ag_http_check_query(in, c->len);
    ck_assert_msg(e == c->want, "%s: got %s", c->rule, ag_err_name(e));
    ck_assert_int_eq(ag_http_check_query(c->in, c->len), c->want);
    ag_test_guard_release(&g);
}
END_TEST

START_TEST(url_credential_names)
{
    ck_assert(ag_http_is_url_credential_name(B("access_token")));
    ck_assert(ag_http_is_url_credential_name(B("Id_Token")));
    ck_assert(!ag_http_is_url_credential_name(B("access_tokens")));
    ck_assert(!ag_http_is_url_credential_name(B("")));
    ck_assert(!ag_http_is_url_credential_name(NULL, 3));
    ck_assert_int_eq(ag_http_check_query(NULL, 0), AG_OK);
}
END_TEST

/* The byte-class table equals the RFC definitions, written out here. */
START_TEST(class_table_matches_rfcs)
{
    for (int i = 0; i < 256; i++) {
        uint8_t c = (uint8_t)i;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool tchar = alnum || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
        bool octet = c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
                     (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
        bool b64 = alnum || (c != 0 && strchr("-._~+/", c) != NULL);
        bool ctl = (c < 0x20 && c != '\t') || c == 0x7f;
        ck_assert_msg(ag__is_tchar(c) == tchar, "tchar %d", i);
        ck_assert_msg(ag__is_cookie_octet(c) == octet, "cookie-octet %d", i);
        ck_assert_msg(((ag__http_class[c] & AG__HC_B64TOKEN) != 0) == b64, "b64token %d", i);
        ck_assert_msg(((ag__http_class[c] & AG__HC_CTL) != 0) == ctl, "ctl %d", i);
    }
}
END_TEST

START_TEST(trim_and_ci)
{
    ag_span s = ag__trim_ows((ag_span){B("\t a b \t")});
    ck_assert_uint_eq(s.len, 3);
    ck_assert(ag__ci_eq(B("CoOkIe"), "cookie", 6));
    ck_assert(!ag__ci_eq(B("cookie"), "cookies", 7));
    /* only ASCII letters fold: 0xC0 is not 0xE0 */
    ck_assert(!ag__ci_eq(B("\xc0"), "\xe0", 1));
}
END_TEST

/* RFC 6750 b64token, written out: ALPHA DIGIT "-" "." "_" "~" "+" "/". */
static size_t ref_span(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                     (p[i] >= '0' && p[i] <= '9') || (p[i] != 0 && strchr("-._~+/", p[i]))))
        i++;
    return i;
}

static size_t span_as(unsigned mask, const uint8_t *p, size_t n)
{
    ag__cpu_restrict(mask);
    size_t r = ag__b64token_span(p, n);
    ag__cpu_restrict(AG__CPU_ALL);
    return r;
}

static uint64_t prng_state = 42;

static uint64_t prng(void)
{
    prng_state ^= prng_state << 13;
    prng_state ^= prng_state >> 7;
    prng_state ^= prng_state << 17;
    return prng_state;
}

/*
 * 131072 inputs of 0..700 bytes ending at a PROT_NONE page. Input k
 * carries byte k % 256 and, by (k / 256) % 8: 0 nothing (all b64token); 1
 * that byte at 31, 32, 33, 63 or 64; 2 at one of the last three bytes;
 * 3-5 at block position (k / 2048) % 32 of a random block (every byte at
 * every block position, six times); 6 there and at up to three random
 * places with random bytes; 7 nothing, and "=" padding at the end. The
 * AVX2 scan, the table loop and the RFC definition must agree.
 */
START_TEST(b64token_span_differential)
{
    enum { MAXLEN = 700, CASES = 1 << 17 };
    static const char set[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
    static uint8_t zeros[MAXLEN];
    ag_test_guard g = {0};
    uint8_t *end = ag_test_guard_place(&g, zeros, MAXLEN) + MAXLEN;
    for (uint32_t k = 0; k < CASES; k++) {
        const ag_test_simd_case tc = ag_test_simd_case_plan(k, MAXLEN, prng, 0);
        const unsigned mode = tc.mode;
        const size_t len = tc.len, pos = tc.pos;
        uint8_t *p = end - len;
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)set[prng() % (sizeof set - 1)];
        if (mode == 6) {
            for (unsigned x = prng() % 4; x > 0; x--)
                p[prng() % len] = (uint8_t)prng();
        }
        if (mode >= 1 && mode <= 6)
            p[pos] = (uint8_t)k;
        if (mode == 7 && len > 0)
            p[len - 1] = '=';
        if (mode == 7 && len > 1 && (k & 1))
            p[len - 2] = '=';
        size_t want = ref_span(p, len);
        size_t portable = span_as(0, p, len), simd = span_as(AG__CPU_ALL, p, len);
        ck_assert_msg(portable == want && simd == want, "case %u (len %zu): %zu %zu want %zu", k,
                      len, portable, simd, want);
        /* the twin alone (the portable loop after it would hide an early stop) */
        if ((ag__cpu_features() & AG__CPU_AVX2) != 0)
            ck_assert_uint_eq(ag__b64token_span_avx2(p, len), len >= 32 ? want : 0);
        const uint8_t c = (uint8_t)k;
        if (mode >= 1 && mode <= 6 && ref_span(&c, 1) == 0)
            ck_assert_uint_le(want, pos); /* stopped at the injected byte, or before */
    }
    ag_test_guard_release(&g);
}
END_TEST

static void cpu_portable(void)
{
    ag__cpu_restrict(0);
}

static void cpu_restore(void)
{
    ag__cpu_restrict(AG__CPU_ALL);
}

static Suite *suite(void)
{
    Suite *s = suite_create("http_extract");
    /* twice: the AVX2 b64token scan allowed (where the CPU has it), then
     * the portable loop only */
    TCase *tc;
    for (int portable = 0; portable <= 1; portable++) {
        tc = tcase_create(portable ? "bearer_portable" : "bearer");
        if (portable)
            tcase_add_checked_fixture(tc, cpu_portable, cpu_restore);
        tcase_add_loop_test(tc, bearer_table, 0,
                            (int)(sizeof bearer_cases / sizeof bearer_cases[0]));
        tcase_add_loop_test(tc, bearer_table_guard_page, 0,
                            (int)(sizeof bearer_cases / sizeof bearer_cases[0]));
        tcase_add_test(tc, bearer_size_caps);
        tcase_add_test(tc, bearer_null_rules);
        tcase_add_test(tc, find_bearer_fields);
        suite_add_tcase(s, tc);
    }
    tc = tcase_create("b64token_span");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, b64token_span_differential);
    suite_add_tcase(s, tc);
    tc = tcase_create("query");
    tcase_add_loop_test(tc, query_table, 0, (int)(sizeof query_cases / sizeof query_cases[0]));
    tcase_add_test(tc, url_credential_names);
    tcase_add_test(tc, trim_and_ci);
    tcase_add_test(tc, class_table_matches_rfcs);
    tcase_add_test(tc, idempotency_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ag_test_run(suite());
}

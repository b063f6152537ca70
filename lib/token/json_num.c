/* SPDX-License-Identifier: MIT */
/*
 * authgate — JSON numbers for the strict scanner (json_scan.c): validation
 * with jansson's exact limits (int64 integers; reals that do not overflow,
 * decided on the decimal digits without strtod) and reading a validated
 * number as int64 or double (Clinger's exact fast path, else strtod on a
 * bounded, locale-independent copy).
 *
 * @test tests/token/test_json_scan_accessors.c, tests/token/test_json_scan_differential.c,
 * fuzz/fuzz_json.c
 */
#include <stdlib.h>
#include <string.h>

#include "json_int.h"
#include "token_int.h"

/* ------------------------------------------------------------------ */
/* Numbers                                                             */
/* ------------------------------------------------------------------ */

/* 2^1024 - 2^970: strtod rounds every decimal >= this up to infinity. */
static const char real_limit[] =
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094"
    "66490179775872070963302864166928879109465555478519404026306574886715058206819089020"
    "00708383676273854845817711531764475730270069855571366959622842914819860834936475292"
    "719074168444365510704342711559699508093042880177904174497792";
#define REAL_LIMIT_DIGITS 309
_Static_assert(sizeof(real_limit) == REAL_LIMIT_DIGITS + 1, "2^1024 - 2^970 has 309 digits");

/* The parts of a validated number. */
typedef struct numparts {
    bool neg;
    const uint8_t *ip, *ie; /* integer digits */
    const uint8_t *fp, *fe; /* fraction digits (empty when none) */
    int64_t exp;            /* exponent, saturated at about ±1e18 */
    bool is_int;
} numparts;

static void num_split(const uint8_t *s, const uint8_t *e, numparts *np)
{
    np->neg = s < e && *s == '-';
    if (np->neg)
        s++;
    np->ip = s;
    while (s < e && is_digit(*s))
        s++;
    np->ie = s;
    np->fp = np->fe = s;
    np->exp = 0;
    np->is_int = true;
    if (s < e && *s == '.') {
        np->is_int = false;
        np->fp = ++s;
        while (s < e && is_digit(*s))
            s++;
        np->fe = s;
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        np->is_int = false;
        s++;
        bool eneg = s < e && *s == '-';
        if (s < e && (*s == '-' || *s == '+'))
            s++;
        int64_t x = 0;
        for (; s < e && is_digit(*s); s++)
            if (x < INT64_C(100000000000000000))
                x = x * 10 + (*s - '0');
        np->exp = eneg ? -x : x;
    }
}

/* Finds the first nonzero significant digit; returns NULL for zero. *e10 is
 * the decimal exponent E with value = 0.d1d2... * 10^E. */
static const uint8_t *num_first_digit(const numparts *np, int64_t *e10)
{
    const uint8_t *d = np->ip;
    while (d < np->ie && *d == '0')
        d++;
    if (d < np->ie) {
        *e10 = (int64_t)(np->ie - d) + np->exp;
        return d;
    }
    d = np->fp;
    while (d < np->fe && *d == '0')
        d++;
    if (d == np->fe)
        return NULL;
    *e10 = np->exp - (int64_t)(d - np->fp);
    return d;
}

/* The next significant digit after d (skipping the decimal point), or NULL. */
static inline const uint8_t *num_next_digit(const numparts *np, const uint8_t *d)
{
    d++;
    if (d == np->ie)
        d = np->fp;
    return (d < np->ie || d < np->fe) ? d : NULL;
}

/* True when the real text [s, e) rounds to ±infinity in strtod. */
static bool real_overflows(const uint8_t *s, const uint8_t *e)
{
    numparts np;
    num_split(s, e, &np);
    int64_t e10;
    const uint8_t *d = num_first_digit(&np, &e10);
    if (d == NULL || e10 < REAL_LIMIT_DIGITS)
        return false;
    if (e10 > REAL_LIMIT_DIGITS)
        return true;
    for (size_t k = 0; k < REAL_LIMIT_DIGITS; k++) {
        uint8_t c = d != NULL ? *d : (uint8_t)'0';
        if (c != (uint8_t)real_limit[k])
            return c > (uint8_t)real_limit[k];
        if (d != NULL)
            d = num_next_digit(&np, d);
    }
    return true; /* the first 309 digits equal the limit: >= the limit */
}

/* Digits of an integer (no sign) fit int64 (the sign allows one more). */
static bool int_fits(const uint8_t *d, size_t n, bool neg)
{
    static const char max[] = "9223372036854775807";
    if (n < 19)
        return true;
    if (n > 19)
        return false;
    int c = memcmp(d, max, 18);
    if (c != 0)
        return c < 0;
    return d[18] <= (neg ? '8' : '7');
}

/*
 * Validates a number starting at s. Returns the position after it, or NULL.
 */
const uint8_t *ag__json_scan_number(const uint8_t *s, const uint8_t *e)
{
    const uint8_t *start = s;
    bool neg = *s == '-';
    if (neg)
        s++;
    const uint8_t *ds = s;
    if (s >= e)
        return NULL;
    if (*s == '0') {
        s++;
        if (s < e && is_digit(*s))
            return NULL;
    } else if (is_digit(*s)) {
        do
            s++;
        while (s < e && is_digit(*s));
    } else {
        return NULL;
    }
    if (s >= e || (*s != '.' && *s != 'e' && *s != 'E'))
        return int_fits(ds, (size_t)(s - ds), neg) ? s : NULL;
    if (*s == '.') {
        s++;
        if (s >= e || !is_digit(*s))
            return NULL;
        do
            s++;
        while (s < e && is_digit(*s));
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < e && (*s == '+' || *s == '-'))
            s++;
        if (s >= e || !is_digit(*s))
            return NULL;
        do
            s++;
        while (s < e && is_digit(*s));
    }
    return real_overflows(start, s) ? NULL : s;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Significant digits kept for strtod: 767 decide any double's rounding;
 * beyond them one sticky nonzero digit stands for the rest. */
#define STRTOD_DIGITS 780

static double real_value(const uint8_t *s, const uint8_t *e)
{
    numparts np;
    num_split(s, e, &np);
    int64_t e10;
    const uint8_t *d = num_first_digit(&np, &e10);
    if (d == NULL)
        return np.neg ? -0.0 : 0.0;

    /* The significant digits run from d to the last nonzero one. */
    const uint8_t *last_nz = d;
    uint64_t m = 0;
    size_t nsig = 0, k = 0;
    for (const uint8_t *q = d; q != NULL; q = num_next_digit(&np, q)) {
        k++;
        if (*q != '0') {
            last_nz = q;
            nsig = k;
        }
        if (k <= 16)
            m = m * 10 + (uint64_t)(*q - '0');
    }

    /* Clinger's fast path: fewer than 16 digits (< 2^53) times or divided
     * by an exact power of ten is one correctly rounded IEEE operation. */
    if (nsig <= 15) {
        for (size_t z = nsig; z < k && z < 16; z++)
            m /= 10; /* drop the trailing zeros accumulated above */
        int64_t p10 = e10 - (int64_t)nsig;
        if (p10 >= -22 && p10 <= 22) {
            double v = (double)m;
            v = p10 >= 0 ? v * pow10_exact[p10] : v / pow10_exact[-p10];
            return np.neg ? -v : v;
        }
    }

    /* strtod on "[-]DIGITSeEXP": no decimal point, so no locale. */
    char buf[1 + STRTOD_DIGITS + 1 + 2 + 21 + 1];
    size_t o = 0, taken = 0;
    if (np.neg)
        buf[o++] = '-';
    const uint8_t *q = d;
    while (q != NULL && taken < STRTOD_DIGITS) {
        buf[o++] = (char)*q;
        taken++;
        q = q == last_nz ? NULL : num_next_digit(&np, q);
    }
    if (q != NULL) { /* digits were cut: one sticky nonzero digit for the rest */
        buf[o++] = '1';
        taken++;
    }
    int64_t p10 = e10 - (int64_t)taken;
    buf[o++] = 'e';
    if (p10 < 0) {
        buf[o++] = '-';
        p10 = -p10;
    }
    char tmp[21];
    size_t t = 0;
    do {
        tmp[t++] = (char)('0' + p10 % 10);
        p10 /= 10;
    } while (p10 > 0);
    while (t > 0)
        buf[o++] = tmp[--t];
    buf[o] = '\0';
    return strtod(buf, NULL);
}

/* As declared in token_int.h, plus: *i is 0 whenever *is_int is false (a
 * double is never cast to int64_t here, V-14); an integer outside int64
 * (only in text that failed the check) is read as a double; any output
 * pointer may be NULL. */
void ag__json_number(ag_span raw, double *d, int64_t *i, bool *is_int)
{
    double dv = 0.0;
    int64_t iv = 0;
    bool isint = false;
    /* Every NumericDate: a plain non-negative integer of at most 18 digits
     * (validated text, so no leading zero) is read in one pass. */
    size_t k = 0;
    uint64_t acc = 0;
    if (raw.ptr != NULL && raw.len <= 18) {
        while (k < raw.len && is_digit(raw.ptr[k]))
            acc = acc * 10 + (uint64_t)(raw.ptr[k++] - '0');
    }
    if (k > 0 && k == raw.len) {
        iv = (int64_t)acc;
        dv = (double)iv;
        isint = true;
    } else if (raw.ptr != NULL && raw.len > 0) {
        const uint8_t *s = raw.ptr, *e = raw.ptr + raw.len;
        numparts np;
        num_split(s, e, &np);
        size_t nd = (size_t)(np.ie - np.ip);
        if (np.is_int && nd > 0 && int_fits(np.ip, nd, np.neg)) {
            uint64_t m = 0;
            for (const uint8_t *q = np.ip; q < np.ie; q++)
                m = m * 10 + (uint64_t)(*q - '0');
            if (!np.neg)
                iv = (int64_t)m;
            else if (m == UINT64_C(1) << 63)
                iv = INT64_MIN;
            else
                iv = -(int64_t)m;
            dv = (double)iv;
            isint = true;
        } else {
            dv = real_value(s, e);
        }
    }
    if (d != NULL)
        *d = dv;
    if (i != NULL)
        *i = iv;
    if (is_int != NULL)
        *is_int = isint;
}

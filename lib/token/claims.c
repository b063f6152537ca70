/* SPDX-License-Identifier: MIT */
/*
 * authgate — reading the registered and custom claims of a verified payload
 * (RFC 7519 §4.1, docs/security.md V-13, V-14, V-16).
 *
 * Runs only on a payload whose signature verified and which passed
 * ag__json_check_object. Allocates nothing: decoded strings go into the
 * caller's verify scratch.
 */
#include <string.h>

#include "token_int.h"

/* Decodes a string value into the scratch's string room. */
static ag_err keep_string(ag__claims_out *o, const ag__jmember *m, ag_span *out)
{
    size_t n = 0;
    if (m->type != AG__J_STRING)
        return AG_ERR_CLAIM;
    /* Without an escape the raw text is the value: a view into the decoded
     * payload in the same scratch (the validator says whether a string had
     * one). */
    if (m->value.len > 0 && !m->value_esc) {
        *out = m->value;
        return AG_OK;
    }
    if (ag__json_str_decode(m->value, o->strbuf + o->len, o->cap - o->len, &n) != AG_OK)
        return AG_ERR_MALFORMED; /* cannot happen: decoded ≤ encoded */
    out->ptr = o->strbuf + o->len;
    out->len = n;
    o->len += n;
    return AG_OK;
}

/* NumericDate (V-14): a JSON number in [0, AG_NUMERICDATE_MAX]; a
 * non-integer value is truncated toward zero after the range check, so no
 * out-of-range double is ever converted. */
static ag_err numeric_date(const ag__jmember *m, int64_t *out)
{
    double d;
    int64_t i;
    bool is_int;
    if (m->type != AG__J_NUMBER)
        return AG_ERR_CLAIM;
    ag__json_number(m->value, &d, &i, &is_int);
    if (is_int) {
        if (i < 0 || i > AG_NUMERICDATE_MAX)
            return AG_ERR_CLAIM;
        *out = i;
        return AG_OK;
    }
    if (!(d >= 0.0 && d <= (double)AG_NUMERICDATE_MAX))
        return AG_ERR_CLAIM;
    *out = (int64_t)d;
    return AG_OK;
}

/* True when the raw string is one of the accepted audiences. */
static bool aud_accepted(ag_span raw, const ag__claims_policy *pol)
{
    for (size_t i = 0; i < pol->naud; i++)
        if (ag__json_str_eq(raw, pol->auds[i], pol->aud_lens[i]))
            return true;
    return false;
}

/* aud (V-16): a non-empty string, or a non-empty array of non-empty
 * strings; it must contain an accepted audience (exact, case-sensitive)
 * when the policy names any. */
static ag_err audience(ag__claims_out *o, const ag__jmember *m, const ag__claims_policy *pol)
{
    if (m->type == AG__J_STRING) {
        if (m->value.len == 0)
            return AG_ERR_CLAIM;
        if (pol->naud > 0 && !aud_accepted(m->value, pol))
            return AG_ERR_CLAIM;
        return keep_string(o, m, &o->c->aud);
    }
    if (m->type != AG__J_ARRAY)
        return AG_ERR_CLAIM;

    ag__jiter it;
    ag__jmember e, match = {{0}, 0, {0}, false};
    size_t count = 0;
    bool found = false;
    ag__json_iter_array(&it, m->value);
    while (ag__json_next(&it, &e)) {
        count++;
        if (e.type != AG__J_STRING || e.value.len == 0)
            return AG_ERR_CLAIM;
        if (!found && (pol->naud == 0 || aud_accepted(e.value, pol))) {
            match = e;
            found = true;
        }
    }
    if (count == 0 || !found)
        return AG_ERR_CLAIM;
    return keep_string(o, &match, &o->c->aud);
}

enum { C_OTHER, C_ISS, C_SUB, C_AUD, C_EXP, C_IAT, C_NBF, C_JTI, C_SID, C_COUNT };
static const char claim_names[C_COUNT][4] = {"",    "iss", "sub", "aud", "exp",
                                             "iat", "nbf", "jti", "sid"};

/* Which registered claim a raw member name is, compared after unescaping
 * (so "\u0069ss" is iss, as jansson reads it). A raw name of three bytes
 * is compared directly; only a longer one holding a backslash can decode
 * to three letters and takes the decoding comparison. */
static int claim_id(ag_span raw)
{
    if (raw.len == 3) {
        for (int i = 1; i < C_COUNT; i++)
            if (raw.ptr[0] == (uint8_t)claim_names[i][0] &&
                raw.ptr[1] == (uint8_t)claim_names[i][1] &&
                raw.ptr[2] == (uint8_t)claim_names[i][2])
                return i;
        return C_OTHER;
    }
    if (raw.len < 3 || memchr(raw.ptr, '\\', raw.len) == NULL)
        return C_OTHER;
    for (int i = 1; i < C_COUNT; i++)
        if (ag__json_str_eq(raw, claim_names[i], 3))
            return i;
    return C_OTHER;
}

typedef struct seen {
    bool iss, sub, aud, exp, iat, jti;
} seen;

static const ag_verify_cause cause_of[C_COUNT] = {AG_CAUSE_NONE, AG_CAUSE_ISS, AG_CAUSE_SUB,
                                                  AG_CAUSE_AUD,  AG_CAUSE_EXP, AG_CAUSE_IAT,
                                                  AG_CAUSE_NBF,  AG_CAUSE_JTI, AG_CAUSE_SID};

static ag_err claim_member(ag__claims_out *o, const ag__jmember *m, const ag__claims_policy *pol,
                           seen *has, ag_verify_cause *cause)
{
    ag_claims *c = o->c;
    ag_err err = AG_OK;
    int id = claim_id(m->name);
    switch (id) {
    case C_ISS:
        err = keep_string(o, m, &c->iss);
        has->iss = true;
        break;
    case C_SUB:
        err = keep_string(o, m, &c->sub);
        has->sub = true;
        break;
    case C_AUD:
        err = audience(o, m, pol);
        has->aud = true;
        break;
    case C_EXP:
        err = numeric_date(m, &c->exp);
        has->exp = true;
        break;
    case C_IAT:
        err = numeric_date(m, &c->iat);
        has->iat = true;
        break;
    case C_NBF:
        err = numeric_date(m, &c->nbf);
        c->has_nbf = true;
        break;
    case C_JTI:
        err = keep_string(o, m, &c->jti);
        has->jti = true;
        break;
    case C_SID:
        err = keep_string(o, m, &c->sid);
        if (err == AG_OK && c->sid.len == 0)
            err = AG_ERR_CLAIM;
        break;
    default:
        break; /* custom claims: read later with ag_claims_get_* */
    }
    if (err != AG_OK)
        *cause = cause_of[id];
    return err;
}

#define MEMBERS_MAX 32

ag_err ag__claims_parse(const uint8_t *payload, size_t n, ag__claims_out *o,
                        const ag__claims_policy *pol, bool *has_iat, ag_verify_cause *cause)
{
    ag_claims *c = o->c;
    ag__jmember mem[MEMBERS_MAX];
    size_t count = 0;
    ag_err err = AG_OK;
    seen has = {false, false, false, false, false, false};

    *cause = AG_CAUSE_NONE;
    memset(&c->iss, 0, sizeof(c->iss));
    c->sub = c->aud = c->jti = c->sid = c->iss;
    c->exp = c->iat = c->nbf = 0;
    c->has_nbf = false;

    /* strict JSON (V-06) and the top-level members in one pass */
    if (ag__json_check_members(payload, n, mem, MEMBERS_MAX, &count) != AG_OK)
        return AG_ERR_MALFORMED;
    if (count <= MEMBERS_MAX) {
        for (size_t i = 0; err == AG_OK && i < count; i++)
            err = claim_member(o, &mem[i], pol, &has, cause);
    } else {
        ag__jiter it;
        ag__jmember m;
        ag__json_iter_object(&it, payload, n);
        while (err == AG_OK && ag__json_next(&it, &m))
            err = claim_member(o, &m, pol, &has, cause);
    }
    if (err != AG_OK)
        return err;
    /* Required claims (V-13), unless the verifier opted out; sub and jti
     * must be non-empty when present (V-16). */
    unsigned opt = pol->relax;
    if (!has.iss || c->iss.len == 0)
        *cause = AG_CAUSE_ISS;
    else if ((!has.sub && !(opt & AG_VERIFY_OPTIONAL_SUB)) || (has.sub && c->sub.len == 0))
        *cause = AG_CAUSE_SUB;
    else if (!has.aud)
        *cause = AG_CAUSE_AUD;
    else if (!has.exp)
        *cause = AG_CAUSE_EXP;
    else if (!has.iat && !(opt & AG_VERIFY_OPTIONAL_IAT))
        *cause = AG_CAUSE_IAT;
    else if ((!has.jti && !(opt & AG_VERIFY_OPTIONAL_JTI)) || (has.jti && c->jti.len == 0))
        *cause = AG_CAUSE_JTI;
    *has_iat = has.iat;
    return *cause == AG_CAUSE_NONE ? AG_OK : AG_ERR_CLAIM;
}

/* ---- custom claims ------------------------------------------------------ */

ag_span ag_claims_payload(const ag_claims *claims)
{
    ag_span s = {NULL, 0};
    if (claims != NULL)
        s = claims->payload_;
    return s;
}

/* Finds the member name; then, for the typed getters, refuses a NULL output
 * (has_out false) — after NOT_FOUND, so absence is reported first. */
static ag_err find(const ag_claims *c, const char *name, bool has_out, ag__jmember *out)
{
    if (c == NULL || name == NULL || c->payload_.len == 0 || c->payload_.ptr == NULL)
        return AG_ERR_INVALID_ARGUMENT;
    ag__jiter it;
    size_t n = strlen(name);
    ag__json_iter_object(&it, c->payload_.ptr, c->payload_.len);
    while (ag__json_next(&it, out))
        if (ag__json_str_eq(out->name, name, n))
            return has_out ? AG_OK : AG_ERR_INVALID_ARGUMENT;
    return AG_ERR_NOT_FOUND;
}

ag_err ag_claims_get_string(const ag_claims *claims, const char *name, char *buf, size_t cap,
                            size_t *len)
{
    ag__jmember m;
    ag_err err = find(claims, name, true, &m);
    if (err != AG_OK)
        return err;
    if (m.type != AG__J_STRING)
        return AG_ERR_CLAIM;
    if (len == NULL || (buf == NULL && cap > 0))
        return AG_ERR_INVALID_ARGUMENT;
    /* decoded length ≤ raw length; report what is needed if it does not fit */
    size_t n = 0;
    if (cap == 0 || ag__json_str_decode(m.value, (uint8_t *)buf, cap - 1, &n) != AG_OK) {
        *len = m.value.len;
        return AG_ERR_BUFFER;
    }
    buf[n] = '\0';
    *len = n;
    return AG_OK;
}

ag_err ag_claims_get_int(const ag_claims *claims, const char *name, int64_t *out)
{
    ag__jmember m;
    ag_err err = find(claims, name, out != NULL, &m);
    if (err != AG_OK)
        return err;
    double d;
    int64_t i;
    bool is_int;
    if (m.type != AG__J_NUMBER)
        return AG_ERR_CLAIM;
    ag__json_number(m.value, &d, &i, &is_int);
    if (!is_int)
        return AG_ERR_CLAIM;
    *out = i;
    return AG_OK;
}

ag_err ag_claims_get_bool(const ag_claims *claims, const char *name, bool *out)
{
    ag__jmember m;
    ag_err err = find(claims, name, out != NULL, &m);
    if (err != AG_OK)
        return err;
    if (m.type != AG__J_TRUE && m.type != AG__J_FALSE)
        return AG_ERR_CLAIM;
    *out = m.type == AG__J_TRUE;
    return AG_OK;
}

ag_err ag_claims_get_json(const ag_claims *claims, const char *name, ag_span *out)
{
    ag__jmember m;
    ag_err err = find(claims, name, out != NULL, &m);
    if (err != AG_OK)
        return err;
    *out = m.value;
    if (m.type == AG__J_STRING) { /* include the quotes: raw JSON text */
        out->ptr -= 1;
        out->len += 2;
    }
    return AG_OK;
}

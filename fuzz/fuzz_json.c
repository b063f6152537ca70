/* SPDX-License-Identifier: MIT */
/*
 * Differential libFuzzer driver for lib/token/json_scan.c (V-06): for every
 * input, ag__json_check_object() accepts exactly when jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) returns an object, and for accepted
 * input the iterators, ag__json_str_decode/str_eq and ag__json_number read
 * the same members and values as jansson. The iterators also walk rejected
 * input, where they must merely stay in bounds. Any difference aborts.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "token/token_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t scratch[1 << 16];

static bool same_value(json_t *j, ag__jtype t, ag_span v);

static bool same_members(json_t *j, ag__jiter *it, bool is_array)
{
    ag__jmember m;
    size_t count = 0;
    while (ag__json_next(it, &m)) {
        json_t *jv;
        if (is_array) {
            jv = json_array_get(j, count);
        } else {
            size_t nl;
            if (ag__json_str_decode(m.name, scratch, sizeof scratch, &nl) != AG_OK ||
                !ag__json_str_eq(m.name, (const char *)scratch, nl))
                return false;
            jv = json_object_getn(j, (const char *)scratch, nl);
        }
        if (jv == NULL || !same_value(jv, m.type, m.value))
            return false;
        count++;
    }
    return count == (is_array ? json_array_size(j) : json_object_size(j));
}

static bool same_value(json_t *j, ag__jtype t, ag_span v)
{
    switch (t) {
    case AG__J_STRING: {
        size_t n;
        return ag__json_str_decode(v, scratch, sizeof scratch, &n) == AG_OK && json_is_string(j) &&
               json_string_length(j) == n && memcmp(json_string_value(j), scratch, n) == 0;
    }
    case AG__J_NUMBER: {
        double d;
        int64_t i;
        bool is_int;
        ag__json_number(v, &d, &i, &is_int);
        if (is_int)
            return json_is_integer(j) && json_integer_value(j) == i;
        return json_is_real(j) && json_real_value(j) == d &&
               signbit(json_real_value(j)) == signbit(d);
    }
    case AG__J_TRUE:
        return json_is_true(j);
    case AG__J_FALSE:
        return json_is_false(j);
    case AG__J_NULL:
        return json_is_null(j);
    case AG__J_OBJECT: {
        ag__jiter it;
        ag__json_iter_object(&it, v.ptr, v.len);
        return json_is_object(j) && same_members(j, &it, false);
    }
    case AG__J_ARRAY: {
        ag__jiter it;
        ag__json_iter_array(&it, v);
        return json_is_array(j) && same_members(j, &it, true);
    }
    }
    return false;
}

/* Walks any text with every accessor; only memory safety is at stake. */
static void walk(const uint8_t *p, size_t n)
{
    ag__jiter it;
    ag__jmember m;
    ag__json_iter_object(&it, p, n);
    while (ag__json_next(&it, &m)) {
        size_t len;
        double d;
        int64_t i;
        bool is_int;
        (void)ag__json_str_eq(m.name, "kid", 3);
        (void)ag__json_str_decode(m.value, scratch, sizeof scratch, &len);
        ag__json_number(m.value, &d, &i, &is_int);
        if (m.type == AG__J_ARRAY || m.type == AG__J_OBJECT) {
            ag__jiter in;
            ag__jmember e;
            ag__json_iter_array(&in, m.value);
            while (ag__json_next(&in, &e)) {
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 15)
        return 0;
    bool ours = ag__json_check_object(data, size) == AG_OK;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    bool theirs = j != NULL && json_is_object(j);
    if (ours != theirs)
        abort();
    if (ours) {
        ag__jiter it;
        ag__json_iter_object(&it, data, size);
        if (!same_members(j, &it, false))
            abort();
    } else {
        walk(data, size);
    }
    json_decref(j);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * test_http_auth's adversarial request table (http_auth_table.c): what a
 * row is, and the rows. Header values carry placeholders (@AT, @RT, @CS,
 * ...) that test_http_auth.c expands with the fixture's tokens.
 */
#ifndef AG_TEST_HTTP_AUTH_TABLE_H
#define AG_TEST_HTTP_AUTH_TABLE_H

#include <stddef.h>

#include "authgate/http.h"

typedef enum mode {
    M_A,  /* ag_http_authenticate, default policy (Authorization only) */
    M_AC, /* ag_http_authenticate, access cookie opted in */
    M_R,  /* ag_http_refresh_verify, default policy */
    M_RO  /* ag_http_refresh_verify, configured origin, same-site allowed */
} mode;

typedef struct req_case {
    const char *rule;
    mode m;
    const char *method;
    const char *query;
    const char *h[6]; /* "Name:value"; placeholders expanded, see expand() */
    ag_err want;
    ag_cred_source src; /* refresh rows: the channel on AG_OK */
} req_case;

extern const req_case http_auth_cases[];
extern const size_t http_auth_ncases;

#endif

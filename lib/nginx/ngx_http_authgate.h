/* SPDX-License-Identifier: MIT */
/*
 * ngx_http_authgate_module — declarations shared by the module's two files:
 * ngx_http_authgate_module.c (directives, verifier, access handler) and
 * ngx_http_authgate_claims.c (claims to variables and request headers).
 * docs/nginx.md documents the directives.
 */
#ifndef NGX_HTTP_AUTHGATE_H
#define NGX_HTTP_AUTHGATE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <authgate/http.h>
#include <authgate/token.h>

/* One authgate_claim_header: a claim sent upstream as a request header. */
typedef struct {
    ngx_str_t claim;   /* NUL-terminated */
    ngx_str_t header;  /* as configured */
    ngx_str_t lowcase; /* for ngx_table_elt_t.lowcase_key */
    ngx_uint_t hash;
} ngx_http_authgate_claim_header_t;

/* One referenced $authgate_claim_<name> variable: filled on success. */
typedef struct {
    ngx_uint_t index; /* into r->variables */
    char *claim;      /* NUL-terminated claim name */
} ngx_http_authgate_claim_var_t;

typedef struct {
    ngx_array_t *vars; /* of ngx_http_authgate_claim_var_t, or NULL */
} ngx_http_authgate_main_conf_t;

/* A verifier shared by every location with the same settings. */
typedef struct {
    ag_verifier *verifier;
} ngx_http_authgate_gate_t;

typedef struct {
    ngx_flag_t enable;
    ngx_str_t jwks_file; /* full path, NUL-terminated; data NULL when unset */
    ngx_str_t issuer;    /* NUL-terminated; data NULL when unset */
    ngx_str_t audience;
    time_t leeway;
    time_t max_lifetime;
    ngx_uint_t token_type;
    ngx_str_t realm;            /* NUL-terminated */
    ngx_array_t *claim_headers; /* of ngx_http_authgate_claim_header_t */
    ngx_http_authgate_gate_t *gate;
} ngx_http_authgate_loc_conf_t;

extern ngx_module_t ngx_http_authgate_module;

/* authgate_claim_header CLAIM HEADER; */
char *ngx_http_authgate_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* Registers the $authgate_claim_ prefix variable (preconfiguration). */
ngx_int_t ngx_http_authgate_add_variables(ngx_conf_t *cf);

/* Records which $authgate_claim_<name> variables the configuration uses
 * (init_module: after nginx has indexed every variable). */
ngx_int_t ngx_http_authgate_collect_variables(ngx_cycle_t *cycle);

/*
 * After a successful verify: strips the configured claim headers sent by the
 * client, adds them from the claims, and fills the referenced claim
 * variables. Everything is allocated from r->pool.
 * Returns NGX_OK or NGX_ERROR (out of memory).
 */
ngx_int_t ngx_http_authgate_apply_claims(ngx_http_request_t *r, ngx_http_authgate_loc_conf_t *alcf,
                                         const ag_claims *claims);

#endif /* NGX_HTTP_AUTHGATE_H */

/* SPDX-License-Identifier: MIT */
/*
 * ngx_http_authgate_module — declarations shared by the module's files:
 * ngx_http_authgate_module.c (directives, verifier, access handler),
 * ngx_http_authgate_claims.c (claims to variables and request headers) and
 * ngx_http_authgate_worker.c (what each worker starts for itself: remote
 * key sets and revocation-log followers). docs/nginx.md documents the
 * directives.
 */
#ifndef NGX_HTTP_AUTHGATE_H
#define NGX_HTTP_AUTHGATE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <authgate/http.h>
#include <authgate/revocation.h>
#include <authgate/session.h>
#include <authgate/store.h>
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

/* authgate_jwks_url: where and how; fetched by each worker for itself. */
typedef struct {
    ngx_str_t url;     /* NUL-terminated */
    ngx_str_t ca_file; /* full path, NUL-terminated; data NULL: the system's CAs */
    ag_jwks_remote_config rc;
} ngx_http_authgate_remote_t;

enum { AG_NGX_STORE_SQLITE = 1, AG_NGX_STORE_POSTGRES = 2 };

/*
 * authgate_revocations: one revocation set per distinct store, shared by
 * every verifier that names it. The set is memory only and is made with
 * the configuration; the store connection and the thread that follows its
 * log belong to one worker and are started in init_process.
 */
typedef struct {
    ngx_str_t spec;   /* as written: compares configurations (never logged) */
    ngx_uint_t kind;  /* AG_NGX_STORE_* */
    ngx_str_t target; /* SQLite path (full) or PostgreSQL conninfo, NUL-terminated */
    ngx_str_t name;   /* for logs: "sqlite:PATH" or "postgres" (a conninfo may hold a password) */
    ngx_msec_t interval;
    time_t ttl;
    size_t capacity;
    time_t max_staleness;
    ag_revset *set;
    ag_store *store;     /* per worker */
    ag_revsync *sync;    /* per worker */
    ngx_event_t retry;   /* per worker: start again after a failed start */
    int64_t last_logged; /* follower errors are logged at most once a minute */
} ngx_http_authgate_revocations_t;

/* A verifier shared by every location with the same settings. */
typedef struct {
    ag_verifier *verifier;                   /* keys from a file: built with the configuration;
                                                remote keys: set in each worker's init_process */
    ngx_http_authgate_remote_t *remote_conf; /* NULL: keys from a file */
    ag_jwks_remote *remote;                  /* per worker */
    ag_verifier_config vc;                   /* the policy, for the per-worker build */
} ngx_http_authgate_gate_t;

typedef struct {
    ngx_array_t *vars;        /* of ngx_http_authgate_claim_var_t, or NULL */
    ngx_array_t remote_gates; /* of ngx_http_authgate_gate_t *: started per worker */
    ngx_array_t revocations;  /* of ngx_http_authgate_revocations_t * */
} ngx_http_authgate_main_conf_t;

typedef struct {
    ngx_flag_t enable;
    ngx_str_t jwks_file;                  /* full path, NUL-terminated; data NULL when unset */
    ngx_http_authgate_remote_t *jwks_url; /* NULL when unset */
    ngx_http_authgate_revocations_t *revocations; /* NGX_CONF_UNSET_PTR; NULL: off */
    ngx_str_t issuer;                             /* NUL-terminated; data NULL when unset */
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

/* authgate_jwks_url URL [parameters]; (ngx_http_authgate_worker.c) */
char *ngx_http_authgate_jwks_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* authgate_revocations off | sqlite:PATH | postgres:CONNINFO [parameters];
 * (ngx_http_authgate_worker.c) */
char *ngx_http_authgate_revocations(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* Starts this worker's remote key sets and revocation followers. */
ngx_int_t ngx_http_authgate_init_process(ngx_cycle_t *cycle);

/* Stops them (threads joined, connections closed). */
void ngx_http_authgate_exit_process(ngx_cycle_t *cycle);

#endif /* NGX_HTTP_AUTHGATE_H */

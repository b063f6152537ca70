/* SPDX-License-Identifier: MIT */
/*
 * ngx_http_authgate_module — authgate's bearer-token check as an nginx
 * access-phase handler (docs/nginx.md).
 *
 * The verifier is built while the configuration is read (in the master,
 * before the workers fork): one per distinct set of key and policy
 * directives, shared by every location that inherits them. `nginx -s
 * reload` reads the configuration again, so new keys mean new verifiers in
 * new workers while the old workers finish their requests with the old ones.
 * A verifier whose keys come from a URL is built by each worker in
 * init_process instead, and the revocation sets are fed there too
 * (ngx_http_authgate_worker.c).
 *
 * Per request: the Authorization fields and the query go to
 * ag_http_authenticate() (the library's extraction policy and ag_verify()),
 * into one per-worker ag_claims and its verify scratch (about 12 KiB; the
 * access phase runs on the worker's one event thread, and the claims are
 * used before it returns).
 * Refusals are answered with the library's status mapping and its RFC 6750
 * WWW-Authenticate. Uses only authgate's public API.
 */
#include "ngx_http_authgate.h"

/* JWKS files are read whole; the CLI has the same cap. */
#define AG_NGX_JWKS_MAX (1024 * 1024)
/* More than one Authorization field is refused as ambiguous: two suffice. */
#define AG_NGX_AUTH_FIELDS 2
#define AG_NGX_WWW_MAX 512

static ngx_int_t ngx_http_authgate_preconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_authgate_postconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_authgate_init_module(ngx_cycle_t *cycle);
static void *ngx_http_authgate_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_authgate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_authgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static char *ngx_http_authgate_jwks_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

static ngx_conf_enum_t ngx_http_authgate_token_types[] = {{ngx_string("access"), AG_TOKEN_ACCESS},
                                                          {ngx_string("refresh"), AG_TOKEN_REFRESH},
                                                          {ngx_string("any"), AG_TOKEN_ANY},
                                                          {ngx_null_string, 0}};

#define AG_NGX_LOC_CONF (NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF)

static ngx_command_t ngx_http_authgate_commands[] = {
    {ngx_string("authgate"), AG_NGX_LOC_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_authgate_loc_conf_t, enable), NULL},

    {ngx_string("authgate_jwks_file"), AG_NGX_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_authgate_jwks_file, NGX_HTTP_LOC_CONF_OFFSET,
     offsetof(ngx_http_authgate_loc_conf_t, jwks_file), NULL},

    {ngx_string("authgate_jwks_url"), AG_NGX_LOC_CONF | NGX_CONF_1MORE, ngx_http_authgate_jwks_url,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},

    {ngx_string("authgate_revocations"), AG_NGX_LOC_CONF | NGX_CONF_1MORE,
     ngx_http_authgate_revocations, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},

    {ngx_string("authgate_issuer"), AG_NGX_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_authgate_loc_conf_t, issuer), NULL},

    {ngx_string("authgate_audience"), AG_NGX_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_authgate_loc_conf_t, audience), NULL},

    {ngx_string("authgate_leeway"), AG_NGX_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_sec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_authgate_loc_conf_t, leeway), NULL},

    {ngx_string("authgate_max_lifetime"), AG_NGX_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_sec_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_authgate_loc_conf_t, max_lifetime), NULL},

    {ngx_string("authgate_token_type"), AG_NGX_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_enum_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_authgate_loc_conf_t, token_type),
     ngx_http_authgate_token_types},

    {ngx_string("authgate_realm"), AG_NGX_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_authgate_loc_conf_t, realm), NULL},

    {ngx_string("authgate_claim_header"), AG_NGX_LOC_CONF | NGX_CONF_TAKE2,
     ngx_http_authgate_claim_header, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},

    ngx_null_command};

static ngx_http_module_t ngx_http_authgate_module_ctx = {
    ngx_http_authgate_preconf,          /* preconfiguration */
    ngx_http_authgate_postconf,         /* postconfiguration */
    ngx_http_authgate_create_main_conf, /* create main configuration */
    NULL,                               /* init main configuration */
    NULL,                               /* create server configuration */
    NULL,                               /* merge server configuration */
    ngx_http_authgate_create_loc_conf,  /* create location configuration */
    ngx_http_authgate_merge_loc_conf    /* merge location configuration */
};

ngx_module_t ngx_http_authgate_module = {NGX_MODULE_V1,
                                         &ngx_http_authgate_module_ctx,  /* module context */
                                         ngx_http_authgate_commands,     /* module directives */
                                         NGX_HTTP_MODULE,                /* module type */
                                         NULL,                           /* init master */
                                         ngx_http_authgate_init_module,  /* init module */
                                         ngx_http_authgate_init_process, /* init process */
                                         NULL,                           /* init thread */
                                         NULL,                           /* exit thread */
                                         ngx_http_authgate_exit_process, /* exit process */
                                         NULL,                           /* exit master */
                                         NGX_MODULE_V1_PADDING};

/* The claims of the request being checked; see the file comment. */
static ag_claims ngx_http_authgate_claims = AG_INIT(ag_claims);
/* What those claims point into (ag_verify's scratch). */
static uint8_t ngx_http_authgate_scratch[AG_VERIFY_SCRATCH_MAX];
/*
 * The live request those claims belong to, and the verifier that passed
 * them. nginx runs the access phase again after an internal redirect (index,
 * try_files, error_page): the same request under the same verifier is not
 * verified twice. A cleanup on the request's pool forgets the owner when the
 * request ends, so a later request at the same address is never taken for it.
 */
static ngx_http_request_t *ngx_http_authgate_owner;
static const ag_verifier *ngx_http_authgate_owner_v;

/* ---- configuration ------------------------------------------------------ */

static void *ngx_http_authgate_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_authgate_main_conf_t *amcf = ngx_pcalloc(cf->pool, sizeof(*amcf));
    if (amcf == NULL ||
        ngx_array_init(&amcf->remote_gates, cf->pool, 2, sizeof(ngx_http_authgate_gate_t *)) !=
            NGX_OK ||
        ngx_array_init(&amcf->revocations, cf->pool, 1,
                       sizeof(ngx_http_authgate_revocations_t *)) != NGX_OK)
        return NULL;
    return amcf;
}

static void *ngx_http_authgate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_authgate_loc_conf_t *conf = ngx_pcalloc(cf->pool, sizeof(*conf));
    if (conf == NULL)
        return NULL;
    /* ngx_pcalloc leaves the strings empty (data NULL: unset) and gate NULL */
    conf->enable = NGX_CONF_UNSET;
    conf->leeway = NGX_CONF_UNSET;
    conf->max_lifetime = NGX_CONF_UNSET;
    conf->token_type = NGX_CONF_UNSET_UINT;
    conf->claim_headers = NGX_CONF_UNSET_PTR;
    conf->revocations = NGX_CONF_UNSET_PTR;
    return conf;
}

static char *ngx_http_authgate_jwks_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_authgate_loc_conf_t *alcf = conf;
    ngx_str_t *value = cf->args->elts;
    (void)cmd;
    if (alcf->jwks_file.data != NULL || alcf->jwks_url != NULL)
        return "is duplicate (one of authgate_jwks_file and authgate_jwks_url per level)";
    alcf->jwks_file = value[1];
    /* relative to the configuration prefix, like ssl_certificate; NUL-terminated */
    if (ngx_conf_full_name(cf->cycle, &alcf->jwks_file, 1) != NGX_OK)
        return NGX_CONF_ERROR;
    return NGX_CONF_OK;
}

static void ngx_http_authgate_gate_cleanup(void *data)
{
    ngx_http_authgate_gate_t *gate = data;
    if (gate->remote_conf != NULL)
        ag_jwks_remote_free(gate->remote); /* and its verifier; NULL in the master */
    else
        ag_verifier_free(gate->verifier);
    gate->remote = NULL;
    gate->verifier = NULL;
}

/* Reads the whole JWKS file into the temp pool; *len is its length. */
static u_char *ngx_http_authgate_read_file(ngx_conf_t *cf, ngx_str_t *path, size_t *len)
{
    ngx_file_info_t fi;
    ngx_fd_t fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, ngx_open_file_n " \"%V\" failed", path);
        return NULL;
    }
    u_char *buf = NULL;
    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, ngx_fd_info_n " \"%V\" failed", path);
        goto done;
    }
    off_t size = ngx_file_size(&fi);
    if (size <= 0 || size > AG_NGX_JWKS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "authgate: \"%V\" is empty or over %d bytes", path,
                           AG_NGX_JWKS_MAX);
        goto done;
    }
    buf = ngx_pnalloc(cf->temp_pool, (size_t)size);
    if (buf == NULL)
        goto done;
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t n = ngx_read_fd(fd, buf + got, (size_t)size - got);
        if (n <= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, n < 0 ? ngx_errno : 0,
                               ngx_read_fd_n " \"%V\" failed", path);
            ngx_explicit_memzero(buf, (size_t)size);
            buf = NULL;
            goto done;
        }
        got += (size_t)n;
    }
    *len = got;
done:
    ngx_close_file(fd);
    return buf;
}

/*
 * The verifier's policy from c's settings (unset ones take their defaults:
 * c may be an unmerged parent), keys aside. NGX_ERROR after logging.
 */
static ngx_int_t ngx_http_authgate_policy(ngx_conf_t *cf, const ngx_http_authgate_loc_conf_t *c,
                                          ag_verifier_config *vc)
{
    time_t leeway = c->leeway == NGX_CONF_UNSET ? AG_LEEWAY_DEFAULT : c->leeway;
    if (leeway > AG_LEEWAY_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "authgate_leeway must be at most %d seconds",
                           AG_LEEWAY_MAX);
        return NGX_ERROR;
    }
    ngx_memzero(vc, sizeof *vc);
    vc->size = sizeof *vc;
    vc->kind =
        c->token_type == NGX_CONF_UNSET_UINT ? AG_TOKEN_ACCESS : (ag_token_kind)c->token_type;
    vc->issuer = (const char *)c->issuer.data;
    vc->audience = (const char *)c->audience.data;
    vc->leeway = (int64_t)leeway;
    vc->max_lifetime = c->max_lifetime == NGX_CONF_UNSET ? 0 : (int64_t)c->max_lifetime;

    const ngx_http_authgate_revocations_t *rv =
        c->revocations == NGX_CONF_UNSET_PTR ? NULL : c->revocations;
    if (rv != NULL) {
        /* an entry must outlive every token it covers (revocation.h) */
        int64_t life = vc->max_lifetime != 0         ? vc->max_lifetime
                       : vc->kind == AG_TOKEN_ACCESS ? 86400
                                                     : 90 * 86400;
        if (life + vc->leeway > (int64_t)rv->ttl) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "authgate_revocations ttl=%T is shorter than the longest token "
                               "lifetime plus leeway here (%L s): raise ttl= or set a shorter "
                               "authgate_max_lifetime",
                               rv->ttl, life + vc->leeway);
            return NGX_ERROR;
        }
        vc->revocations = rv->set;
    }
    return NGX_OK;
}

/* Reads c's JWKS file into a ring; NULL after logging. */
static ag_keyring *ngx_http_authgate_file_keys(ngx_conf_t *cf, ngx_http_authgate_loc_conf_t *c)
{
    char errbuf[256] = "";
    size_t len = 0;
    u_char *json = ngx_http_authgate_read_file(cf, &c->jwks_file, &len);
    if (json == NULL)
        return NULL;
    ag_keyring *ring = NULL;
    ag_err e =
        ag_keyring_from_jwks((const char *)json, len, (ag_alg)0, &ring, errbuf, sizeof errbuf);
    ngx_explicit_memzero(json, len); /* HMAC keys are secrets */
    if (e != AG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "authgate: cannot load keys from \"%V\": %s%s%s",
                           &c->jwks_file, ag_strerror(e), errbuf[0] ? ": " : "", errbuf);
        return NULL;
    }
    return ring;
}

/*
 * Builds the verifier for c's settings: now for a JWKS file, in each
 * worker's init_process for a JWKS URL (the gate is registered for it).
 * Returns NULL after logging on failure.
 */
static ngx_http_authgate_gate_t *ngx_http_authgate_build(ngx_conf_t *cf,
                                                         ngx_http_authgate_loc_conf_t *c)
{
    ngx_http_authgate_gate_t *gate = ngx_pcalloc(cf->pool, sizeof(*gate));
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (gate == NULL || cln == NULL)
        return NULL;
    if (ngx_http_authgate_policy(cf, c, &gate->vc) != NGX_OK)
        return NULL;
    cln->handler = ngx_http_authgate_gate_cleanup;
    cln->data = gate;

    if (c->jwks_url != NULL) {
        ngx_http_authgate_main_conf_t *amcf =
            ngx_http_conf_get_module_main_conf(cf, ngx_http_authgate_module);
        ngx_http_authgate_gate_t **slot = ngx_array_push(&amcf->remote_gates);
        if (slot == NULL)
            return NULL;
        *slot = gate;
        gate->remote_conf = c->jwks_url;
        return gate;
    }

    ag_keyring *ring = ngx_http_authgate_file_keys(cf, c);
    if (ring == NULL)
        return NULL;
    gate->vc.keys = ring;
    ag_err e = ag_verifier_new(&gate->vc, &gate->verifier);
    ag_keyring_free(ring); /* the verifier holds its own reference */
    gate->vc.keys = NULL;
    if (e != AG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "authgate: cannot make a verifier: %s",
                           ag_strerror(e));
        return NULL;
    }
    return gate;
}

/* True when c sets any directive that shapes the verifier. */
static ngx_flag_t ngx_http_authgate_own_policy(const ngx_http_authgate_loc_conf_t *c)
{
    return c->jwks_file.data != NULL || c->jwks_url != NULL || c->issuer.data != NULL ||
           c->audience.data != NULL || c->leeway != NGX_CONF_UNSET ||
           c->max_lifetime != NGX_CONF_UNSET || c->token_type != NGX_CONF_UNSET_UINT ||
           c->revocations != NGX_CONF_UNSET_PTR;
}

/* Whether c has keys: a file or a URL. */
static ngx_flag_t ngx_http_authgate_has_keys(const ngx_http_authgate_loc_conf_t *c)
{
    return c->jwks_file.data != NULL || c->jwks_url != NULL;
}

static char *ngx_http_authgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_authgate_loc_conf_t *prev = parent;
    ngx_http_authgate_loc_conf_t *conf = child;
    ngx_flag_t own = ngx_http_authgate_own_policy(conf);

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    if (!ngx_http_authgate_has_keys(conf)) { /* a level naming keys replaces both */
        conf->jwks_file = prev->jwks_file;
        conf->jwks_url = prev->jwks_url;
    }
    if (conf->issuer.data == NULL)
        conf->issuer = prev->issuer;
    if (conf->audience.data == NULL)
        conf->audience = prev->audience;
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, NGX_CONF_UNSET);
    ngx_conf_merge_sec_value(conf->max_lifetime, prev->max_lifetime, NGX_CONF_UNSET);
    ngx_conf_merge_uint_value(conf->token_type, prev->token_type, NGX_CONF_UNSET_UINT);
    ngx_conf_merge_str_value(conf->realm, prev->realm, "authgate");
    ngx_conf_merge_ptr_value(conf->claim_headers, prev->claim_headers, NULL);
    ngx_conf_merge_ptr_value(conf->revocations, prev->revocations, NULL);

    if (conf->realm.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "authgate_realm must not be empty");
        return NGX_CONF_ERROR;
    }
    /* the realm goes into a quoted-string: let the library refuse what it cannot quote */
    char probe[AG_NGX_WWW_MAX];
    if (ag_www_authenticate_build((const char *)conf->realm.data, NULL, NULL, probe, sizeof probe,
                                  NULL) != AG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "authgate_realm \"%V\" must be printable ASCII and short", &conf->realm);
        return NGX_CONF_ERROR;
    }

    /* Same policy as the parent: share its verifier (built once, here if need be). */
    if (!own && ngx_http_authgate_has_keys(prev)) {
        if (prev->gate == NULL) {
            prev->gate = ngx_http_authgate_build(cf, prev);
            if (prev->gate == NULL)
                return NGX_CONF_ERROR;
        }
        conf->gate = prev->gate;
    }
    if (conf->gate == NULL && ngx_http_authgate_has_keys(conf)) {
        conf->gate = ngx_http_authgate_build(cf, conf);
        if (conf->gate == NULL)
            return NGX_CONF_ERROR;
    }
    if (conf->enable && conf->gate == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"authgate on\" needs authgate_jwks_file or authgate_jwks_url");
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}

/* ---- the access handler ------------------------------------------------- */

/* Answers a refusal: the library's status, WWW-Authenticate when it says so. */
static ngx_int_t ngx_http_authgate_refuse(ngx_http_request_t *r,
                                          const ngx_http_authgate_loc_conf_t *alcf, ag_err e)
{
    ag_http_error m = ag_http_error_for(e, AG_ENDPOINT_RESOURCE);
    /* the reason stays in the log (never token bytes); the wire gets the coarse code */
    ngx_log_t *log = r->connection->log, bare;
    if (e == AG_ERR_URL_CREDENTIALS) {
        /* nginx's context would add the request line, credential and all */
        bare = *log;
        bare.handler = NULL;
        log = &bare;
    }
    ngx_log_error(NGX_LOG_INFO, log, 0, "authgate: refused (%s)", ag_err_name(e));
    if (m.status == 503) /* a strict revocation set that is out of date */
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    if (m.status < 400 || m.status >= 500)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (m.www_authenticate) {
        u_char *buf = ngx_pnalloc(r->pool, AG_NGX_WWW_MAX);
        if (buf == NULL)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        size_t len = 0;
        if (ag_www_authenticate_build((const char *)alcf->realm.data, m.error, m.description,
                                      (char *)buf, AG_NGX_WWW_MAX, &len) != AG_OK)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_table_elt_t *h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        h->hash = 1;
        ngx_str_set(&h->key, "WWW-Authenticate");
        h->value.data = buf;
        h->value.len = len;
        h->lowcase_key = NULL;
        r->headers_out.www_authenticate = h;
    }
    return (ngx_int_t)m.status;
}

static void ngx_http_authgate_owner_cleanup(void *data)
{
    if (ngx_http_authgate_owner == data)
        ngx_http_authgate_owner = NULL;
}

/* Records r as the owner of the claims; NGX_ERROR when out of memory. */
static ngx_int_t ngx_http_authgate_own(ngx_http_request_t *r, const ag_verifier *v)
{
    if (ngx_http_authgate_owner != r) {
        ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL)
            return NGX_ERROR;
        cln->handler = ngx_http_authgate_owner_cleanup;
        cln->data = r;
    }
    ngx_http_authgate_owner = r;
    ngx_http_authgate_owner_v = v;
    return NGX_OK;
}

/* The query of the request-target as the client sent it (rewrites aside). */
static ag_span ngx_http_authgate_client_query(const ngx_http_request_t *r)
{
    const u_char *q =
        ngx_strlchr(r->unparsed_uri.data, r->unparsed_uri.data + r->unparsed_uri.len, '?');
    if (q == NULL)
        return (ag_span){NULL, 0};
    q++;
    return (ag_span){q, (size_t)(r->unparsed_uri.data + r->unparsed_uri.len - q)};
}

/* The request's Authorization fields (two suffice to refuse) and query to
 * ag_http_authenticate(), claims into the per-worker buffer. */
static ag_err ngx_http_authgate_verify(ngx_http_request_t *r, const ag_verifier *v)
{
    ag_header fields[AG_NGX_AUTH_FIELDS];
    size_t n = 0;
    ngx_list_part_t *part = &r->headers_in.headers.part;
    ngx_table_elt_t *h = part->elts;
    for (ngx_uint_t i = 0; n < AG_NGX_AUTH_FIELDS; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL)
                break;
            part = part->next;
            h = part->elts;
            i = 0;
        }
        if (h[i].key.len == sizeof("Authorization") - 1 &&
            ngx_strncasecmp(h[i].key.data, (u_char *)"Authorization", h[i].key.len) == 0) {
            fields[n].name = (ag_span){h[i].key.data, h[i].key.len};
            fields[n].value = (ag_span){h[i].value.data, h[i].value.len};
            n++;
        }
    }
    ag_http_request req;
    ngx_memzero(&req, sizeof req);
    req.size = sizeof req;
    req.method = (ag_span){r->method_name.data, r->method_name.len};
    req.headers = fields;
    req.nheaders = n;
    req.query = (ag_span){r->args.data, r->args.len};
    ngx_http_authgate_owner = NULL; /* the buffer is about to be overwritten */
    return ag_http_authenticate(NULL, v, &req, ngx_http_authgate_scratch,
                                sizeof ngx_http_authgate_scratch, &ngx_http_authgate_claims);
}

static ngx_int_t ngx_http_authgate_handler(ngx_http_request_t *r)
{
    ngx_http_authgate_loc_conf_t *alcf = ngx_http_get_module_loc_conf(r, ngx_http_authgate_module);
    if (!alcf->enable || alcf->gate == NULL)
        return NGX_DECLINED;

    /* URL credentials are refused as sent, then as rewritten (r->args) */
    ag_span raw = ngx_http_authgate_client_query(r);
    ag_err e = ag_http_check_query(raw.ptr, raw.len);
    if (e != AG_OK)
        return ngx_http_authgate_refuse(r, alcf, e);

    const ag_verifier *v = alcf->gate->verifier;
    if (v == NULL) /* a JWKS URL whose worker could not start it (logged) */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (ngx_http_authgate_owner == r && ngx_http_authgate_owner_v == v) {
        /* checked before this internal redirect; only the query may be new */
        e = ag_http_check_query(r->args.data, r->args.len);
    } else {
        e = ngx_http_authgate_verify(r, v);
        if (e == AG_OK && ngx_http_authgate_own(r, v) != NGX_OK)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (e != AG_OK)
        return ngx_http_authgate_refuse(r, alcf, e);
    if (ngx_http_authgate_apply_claims(r, alcf, &ngx_http_authgate_claims) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return NGX_OK;
}

/* ---- registration ------------------------------------------------------- */

static ngx_int_t ngx_http_authgate_preconf(ngx_conf_t *cf)
{
    return ngx_http_authgate_add_variables(cf);
}

static ngx_int_t ngx_http_authgate_postconf(ngx_conf_t *cf)
{
    ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    ngx_http_handler_pt *h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL)
        return NGX_ERROR;
    *h = ngx_http_authgate_handler;
    return NGX_OK;
}

static ngx_int_t ngx_http_authgate_init_module(ngx_cycle_t *cycle)
{
    return ngx_http_authgate_collect_variables(cycle);
}

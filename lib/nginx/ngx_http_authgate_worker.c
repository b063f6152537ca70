/* SPDX-License-Identifier: MIT */
/*
 * ngx_http_authgate_module — what each worker starts for itself:
 * authgate_jwks_url (a key set fetched over https and refreshed by a
 * thread, ag_jwks_remote_*) and authgate_revocations (a revocation set fed
 * by a thread that follows a store's revocation log, ag_revsync_*).
 *
 * nginx reads the configuration in the master and forks the workers. A
 * thread does not survive fork, and libcurl, SQLite and libpq handles must
 * not be shared across it, so the master only parses and checks: the
 * connections and threads are made in init_process, by every worker for
 * itself, and stopped in exit_process. (The revocation set itself is plain
 * memory and is made with the configuration, so the verifiers built in the
 * master can point at it; each worker fills its own copy.)
 *
 * The threads start with every signal blocked, as nginx's own thread pools
 * do: nginx's signals must reach the worker's event loop, not a thread that
 * never looks at the flags its handlers set.
 */
#include <signal.h>

#include "ngx_http_authgate.h"

/* Entries kept after a revocation by default: the longest access-token
 * lifetime the verifier accepts by default (1 day) plus the largest leeway. */
#define AG_NGX_REV_TTL_DEFAULT (86400 + AG_LEEWAY_MAX)
#define AG_NGX_REV_RETRY 1000 /* ms between attempts to start a follower */

/* ---- authgate_jwks_url -------------------------------------------------- */

/* "name=value" in arg: value in *v. */
static ngx_flag_t ngx_http_authgate_param(ngx_str_t *arg, const char *name, ngx_str_t *v)
{
    size_t n = ngx_strlen(name);
    if (arg->len <= n + 1 || ngx_strncmp(arg->data, name, n) != 0 || arg->data[n] != '=')
        return 0;
    v->data = arg->data + n + 1;
    v->len = arg->len - n - 1;
    return 1;
}

static char *ngx_http_authgate_param_sec(ngx_conf_t *cf, ngx_str_t *v, int64_t *out)
{
    time_t t = ngx_parse_time(v, 1);
    if (t == (time_t)NGX_ERROR || t <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid time \"%V\"", v);
        return NGX_CONF_ERROR;
    }
    *out = (int64_t)t;
    return NGX_CONF_OK;
}

static char *ngx_http_authgate_param_msec(ngx_conf_t *cf, ngx_str_t *v, long *out)
{
    ngx_int_t t = ngx_parse_time(v, 0);
    if (t == NGX_ERROR || t <= 0 || t > 600000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid time \"%V\" (at most 600s)", v);
        return NGX_CONF_ERROR;
    }
    *out = (long)t;
    return NGX_CONF_OK;
}

char *ngx_http_authgate_jwks_url(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_authgate_loc_conf_t *alcf = conf;
    ngx_str_t *value = cf->args->elts, v;
    (void)cmd;
    if (alcf->jwks_url != NULL || alcf->jwks_file.data != NULL)
        return "is duplicate (one of authgate_jwks_file and authgate_jwks_url per level)";
    ngx_http_authgate_remote_t *r = ngx_pcalloc(cf->pool, sizeof(*r));
    if (r == NULL)
        return NGX_CONF_ERROR;
    r->rc.size = sizeof r->rc;
    r->url = value[1];
    if (r->url.len <= sizeof("https://") - 1 ||
        ngx_strncasecmp(r->url.data, (u_char *)"https://", sizeof("https://") - 1) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "authgate_jwks_url must be an https:// URL");
        return NGX_CONF_ERROR;
    }
    for (ngx_uint_t i = 2; i < cf->args->nelts; i++) {
        ngx_str_t *a = &value[i];
        char *rv = NGX_CONF_OK;
        if (ngx_http_authgate_param(a, "ca_file", &v)) {
            r->ca_file = v;
            if (ngx_conf_full_name(cf->cycle, &r->ca_file, 1) != NGX_OK)
                return NGX_CONF_ERROR;
        } else if (ngx_http_authgate_param(a, "connect_timeout", &v)) {
            rv = ngx_http_authgate_param_msec(cf, &v, &r->rc.connect_timeout_ms);
        } else if (ngx_http_authgate_param(a, "timeout", &v)) {
            rv = ngx_http_authgate_param_msec(cf, &v, &r->rc.timeout_ms);
        } else if (ngx_http_authgate_param(a, "min_refresh", &v)) {
            rv = ngx_http_authgate_param_sec(cf, &v, &r->rc.min_refresh);
        } else if (ngx_http_authgate_param(a, "max_refresh", &v)) {
            rv = ngx_http_authgate_param_sec(cf, &v, &r->rc.max_refresh);
        } else if (ngx_http_authgate_param(a, "unknown_kid_interval", &v)) {
            rv = ngx_http_authgate_param_sec(cf, &v, &r->rc.unknown_kid_interval);
        } else if (ngx_http_authgate_param(a, "max_stale", &v)) {
            rv = ngx_http_authgate_param_sec(cf, &v, &r->rc.max_stale);
        } else if (ngx_http_authgate_param(a, "max_size", &v)) {
            ssize_t n = ngx_parse_size(&v);
            if (n <= 0 || n > 1024 * 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid max_size \"%V\" (at most 1m)",
                                   &v);
                return NGX_CONF_ERROR;
            }
            r->rc.max_size = (size_t)n;
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", a);
            return NGX_CONF_ERROR;
        }
        if (rv != NGX_CONF_OK)
            return rv;
    }
    r->rc.url = (const char *)r->url.data;
    r->rc.ca_file = (const char *)r->ca_file.data;
    /* a worker cannot refuse to start: it answers 401 until a fetch succeeds */
    r->rc.start_without_keys = true;
    alcf->jwks_url = r;
    return NGX_CONF_OK;
}

/* ---- authgate_revocations ----------------------------------------------- */

static void ngx_http_authgate_revset_cleanup(void *data)
{
    ngx_http_authgate_revocations_t *rv = data;
    ag_revset_free(rv->set);
    rv->set = NULL;
}

static ngx_flag_t ngx_http_authgate_prefix(ngx_str_t *s, const char *p, ngx_str_t *rest)
{
    size_t n = ngx_strlen(p);
    if (s->len <= n || ngx_strncmp(s->data, p, n) != 0)
        return 0;
    rest->data = s->data + n;
    rest->len = s->len - n;
    return 1;
}

/* The same store twice must come with the same parameters. */
static ngx_flag_t ngx_http_authgate_same_rev(const ngx_http_authgate_revocations_t *a,
                                             const ngx_http_authgate_revocations_t *b)
{
    return a->interval == b->interval && a->ttl == b->ttl && a->capacity == b->capacity &&
           a->max_staleness == b->max_staleness;
}

char *ngx_http_authgate_revocations(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_authgate_loc_conf_t *alcf = conf;
    ngx_str_t *value = cf->args->elts, v;
    (void)cmd;
    if (alcf->revocations != NGX_CONF_UNSET_PTR)
        return "is duplicate";
    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        if (cf->args->nelts > 2)
            return "takes no parameters with \"off\"";
        alcf->revocations = NULL;
        return NGX_CONF_OK;
    }
    ngx_http_authgate_revocations_t probe;
    ngx_memzero(&probe, sizeof probe);
    probe.spec = value[1];
    if (ngx_http_authgate_prefix(&value[1], "sqlite:", &v)) {
        if (!ag_store_sqlite_available())
            return "names a SQLite store, and libauthgate was built without SQLite";
        probe.kind = AG_NGX_STORE_SQLITE;
        probe.target = v;
        /* relative to the configuration prefix; NUL-terminated */
        if (ngx_conf_full_name(cf->cycle, &probe.target, 1) != NGX_OK)
            return NGX_CONF_ERROR;
        probe.name.len = sizeof("sqlite:") - 1 + probe.target.len;
        probe.name.data = ngx_pnalloc(cf->pool, probe.name.len + 1);
        if (probe.name.data == NULL)
            return NGX_CONF_ERROR;
        ngx_sprintf(probe.name.data, "sqlite:%V%Z", &probe.target);
        /* the workers would create an empty store there and follow nothing */
        ngx_file_info_t fi;
        if (ngx_file_info(probe.target.data, &fi) == NGX_FILE_ERROR)
            ngx_conf_log_error(NGX_LOG_WARN, cf, ngx_errno,
                               "authgate_revocations: \"%V\" does not exist (yet?)", &probe.target);
    } else if (ngx_http_authgate_prefix(&value[1], "postgres:", &v)) {
        if (!ag_store_pg_available())
            return "names a PostgreSQL store, and libauthgate was built without PostgreSQL";
        probe.kind = AG_NGX_STORE_POSTGRES;
        probe.target = v; /* the argument is NUL-terminated, so is its tail */
        ngx_str_set(&probe.name, "postgres");
    } else {
        return "must be off, sqlite:PATH or postgres:CONNINFO";
    }
    probe.interval = 200;
    probe.ttl = AG_NGX_REV_TTL_DEFAULT;
    for (ngx_uint_t i = 2; i < cf->args->nelts; i++) {
        ngx_str_t *a = &value[i];
        if (ngx_http_authgate_param(a, "interval", &v)) {
            ngx_int_t t = ngx_parse_time(&v, 0);
            if (t == NGX_ERROR || t <= 0 || t > 60000)
                return "has an invalid interval (1ms to 60s)";
            probe.interval = (ngx_msec_t)t;
        } else if (ngx_http_authgate_param(a, "ttl", &v)) {
            time_t t = ngx_parse_time(&v, 1);
            if (t == (time_t)NGX_ERROR || t <= 0)
                return "has an invalid ttl";
            probe.ttl = t;
        } else if (ngx_http_authgate_param(a, "capacity", &v)) {
            ngx_int_t n = ngx_atoi(v.data, v.len);
            if (n <= 0 || (size_t)n > AG_REVSET_CAPACITY_MAX)
                return "has an invalid capacity";
            probe.capacity = (size_t)n;
        } else if (ngx_http_authgate_param(a, "max_staleness", &v)) {
            time_t t = ngx_parse_time(&v, 1);
            if (t == (time_t)NGX_ERROR || t <= 0)
                return "has an invalid max_staleness";
            probe.max_staleness = t;
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", a);
            return NGX_CONF_ERROR;
        }
    }

    /* one set per store, whatever the number of levels naming it */
    ngx_http_authgate_main_conf_t *amcf =
        ngx_http_conf_get_module_main_conf(cf, ngx_http_authgate_module);
    ngx_http_authgate_revocations_t **all = amcf->revocations.elts;
    for (ngx_uint_t i = 0; i < amcf->revocations.nelts; i++) {
        if (all[i]->kind == probe.kind && all[i]->target.len == probe.target.len &&
            ngx_strncmp(all[i]->target.data, probe.target.data, probe.target.len) == 0) {
            if (!ngx_http_authgate_same_rev(all[i], &probe))
                return "names a store already named with other parameters";
            alcf->revocations = all[i];
            return NGX_CONF_OK;
        }
    }
    ngx_http_authgate_revocations_t *rv = ngx_palloc(cf->pool, sizeof(*rv));
    ngx_http_authgate_revocations_t **slot = ngx_array_push(&amcf->revocations);
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (rv == NULL || slot == NULL || cln == NULL)
        return NGX_CONF_ERROR;
    *rv = probe;
    ag_revset_config rc;
    ngx_memzero(&rc, sizeof rc);
    rc.size = sizeof rc;
    rc.entry_ttl = (int64_t)rv->ttl;
    rc.capacity = rv->capacity;
    rc.max_staleness = (int64_t)rv->max_staleness;
    ag_err e = ag_revset_new(&rc, &rv->set);
    if (e != AG_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "authgate: cannot make a revocation set: %s",
                           ag_strerror(e));
        return NGX_CONF_ERROR;
    }
    cln->handler = ngx_http_authgate_revset_cleanup;
    cln->data = rv;
    *slot = rv;
    alcf->revocations = rv;
    return NGX_CONF_OK;
}

/* ---- per worker --------------------------------------------------------- */

static void ngx_http_authgate_jwks_error(void *ctx, ag_err e, const char *why)
{
    ngx_http_authgate_gate_t *gate = ctx;
    /* from the refresher thread or the event loop: nginx's log writes are
     * single write(2) calls, as in its own thread pools */
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "authgate: JWKS \"%V\": %s (%s)",
                  &gate->remote_conf->url, why, ag_err_name(e));
}

static void ngx_http_authgate_rev_error(void *ctx, const char *what, ag_err e)
{
    ngx_http_authgate_revocations_t *rv = ctx;
    int64_t now = (int64_t)time(NULL);
    if (now - rv->last_logged < 60) /* a store that is down fails every interval */
        return;
    rv->last_logged = now;
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "authgate: %s of \"%V\": %s", what, &rv->name,
                  ag_err_name(e));
}

/* Every signal blocked in threads made between block and restore. */
static void ngx_http_authgate_block_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    (void)pthread_sigmask(SIG_BLOCK, &all, old);
}

static ngx_int_t ngx_http_authgate_start_remote(ngx_cycle_t *cycle, ngx_http_authgate_gate_t *gate)
{
    ag_jwks_remote_config rc = gate->remote_conf->rc;
    rc.on_error = ngx_http_authgate_jwks_error;
    rc.error_ctx = gate;
    rc.refetch_in_background = true; /* the event loop never waits for the network */
    ag_err e = ag_jwks_remote_new(&rc, &gate->vc, &gate->remote, &gate->verifier);
    if (e != AG_OK) {
        /* only a bad setting or no memory: a failed fetch is retried */
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "authgate: JWKS \"%V\": cannot start: %s",
                      &gate->remote_conf->url, ag_strerror(e));
        return NGX_ERROR;
    }
    return NGX_OK;
}

/* Opens the store and follows its log; on failure the retry timer tries again. */
static ag_err ngx_http_authgate_start_rev(ngx_http_authgate_revocations_t *rv)
{
    ag_err e;
    if (rv->store == NULL) {
        if (rv->kind == AG_NGX_STORE_SQLITE) {
            ag_store_sqlite_config sc;
            ngx_memzero(&sc, sizeof sc);
            sc.size = sizeof sc;
            sc.path = (const char *)rv->target.data;
            e = ag_store_sqlite_open(&sc, &rv->store);
        } else {
            ag_store_pg_config pc;
            ngx_memzero(&pc, sizeof pc);
            pc.size = sizeof pc;
            pc.conninfo = (const char *)rv->target.data;
            pc.pool_size = 1; /* the follower is the only user */
            e = ag_store_pg_open(&pc, &rv->store);
        }
        if (e != AG_OK)
            return e;
    }
    ag_revsync_config sc;
    ngx_memzero(&sc, sizeof sc);
    sc.size = sizeof sc;
    sc.store = rv->store;
    sc.revocations = rv->set;
    sc.interval_ms = (int)rv->interval;
    sc.on_error = ngx_http_authgate_rev_error;
    sc.on_error_ctx = rv;
    sigset_t old;
    ngx_http_authgate_block_signals(&old);
    e = ag_revsync_start(&sc, &rv->sync);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e == AG_ERR_STATE) {
        ag_store_close(rv->store);
        rv->store = NULL;
    }
    return e;
}

static void ngx_http_authgate_rev_retry(ngx_event_t *ev)
{
    ngx_http_authgate_revocations_t *rv = ev->data;
    if (ngx_exiting || ngx_terminate || ngx_quit)
        return;
    ag_err e = ngx_http_authgate_start_rev(rv);
    if (e == AG_OK) {
        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "authgate: following the revocation log of \"%V\"", &rv->name);
        return;
    }
    ngx_http_authgate_rev_error(rv, "revocation log", e);
    if (e != AG_ERR_STATE)
        ngx_add_timer(ev, AG_NGX_REV_RETRY);
}

ngx_int_t ngx_http_authgate_init_process(ngx_cycle_t *cycle)
{
    ngx_http_authgate_main_conf_t *amcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_authgate_module);
    if (amcf == NULL)
        return NGX_OK; /* no http block */

    ngx_http_authgate_revocations_t **revs = amcf->revocations.elts;
    for (ngx_uint_t i = 0; i < amcf->revocations.nelts; i++) {
        ngx_http_authgate_revocations_t *rv = revs[i];
        /* a strict staleness bound counts from the worker's start until the
         * first read succeeds: a follower that never starts fails closed */
        ag_revset_mark_synced(rv->set, (int64_t)time(NULL));
        ngx_memzero(&rv->retry, sizeof rv->retry);
        rv->retry.handler = ngx_http_authgate_rev_retry;
        rv->retry.data = rv;
        rv->retry.log = cycle->log;
        rv->retry.cancelable = 1; /* never holds up a graceful exit */
        ag_err e = ngx_http_authgate_start_rev(rv);
        if (e == AG_ERR_STATE) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "authgate: the store \"%V\" keeps no revocation log", &rv->name);
            return NGX_ERROR;
        }
        if (e != AG_OK) {
            ngx_http_authgate_rev_error(rv, "revocation log (retrying every second)", e);
            ngx_add_timer(&rv->retry, AG_NGX_REV_RETRY);
        }
    }

    ngx_http_authgate_gate_t **gates = amcf->remote_gates.elts;
    sigset_t old;
    ngx_http_authgate_block_signals(&old);
    ngx_int_t rc = NGX_OK;
    for (ngx_uint_t i = 0; i < amcf->remote_gates.nelts && rc == NGX_OK; i++)
        rc = ngx_http_authgate_start_remote(cycle, gates[i]);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void ngx_http_authgate_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_authgate_main_conf_t *amcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_authgate_module);
    if (amcf == NULL)
        return;
    ngx_http_authgate_gate_t **gates = amcf->remote_gates.elts;
    for (ngx_uint_t i = 0; i < amcf->remote_gates.nelts; i++) {
        ag_jwks_remote_free(gates[i]->remote); /* frees its verifier too */
        gates[i]->remote = NULL;
        gates[i]->verifier = NULL;
    }
    ngx_http_authgate_revocations_t **revs = amcf->revocations.elts;
    for (ngx_uint_t i = 0; i < amcf->revocations.nelts; i++) {
        if (revs[i]->retry.timer_set)
            ngx_del_timer(&revs[i]->retry);
        ag_revsync_stop(revs[i]->sync);
        revs[i]->sync = NULL;
        ag_store_close(revs[i]->store);
        revs[i]->store = NULL;
    }
}

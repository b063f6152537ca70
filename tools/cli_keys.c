/* SPDX-License-Identifier: MIT */
/*
 * authgate CLI — keygen and jwks: new private JWKs, public JWKS documents
 * (docs/cli.md).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authgate/token.h"
#include "cli.h"
#include "cli_util.h"

static const char usage_keygen[] =
    "usage: authgate keygen --alg ALG [--kid KID]\n"
    "\n"
    "Prints a new private JWK on stdout. ALG is one of HS256 HS384 HS512 RS256\n"
    "RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA. Without --kid the key id\n"
    "is the RFC 7638 thumbprint. Store it privately: (umask 077; authgate keygen\n"
    "--alg ES256 > key.jwk)\n";

static const char usage_jwks[] =
    "usage: authgate jwks FILE...\n"
    "\n"
    "Reads JWK files (private or public; a file may also hold a JWKS) and\n"
    "prints the public keys as one JWKS. HMAC keys have no public form and are\n"
    "left out (with a note on stderr).\n";

/* ------------------------------------------------------------------ */
/* keygen                                                              */
/* ------------------------------------------------------------------ */

int cmd_keygen(int argc, char **argv)
{
    const char *alg_s = NULL, *kid = NULL, *v = NULL;
    for (int i = 2; i < argc; i++) {
        int m;
        if (is_help(argv[i])) {
            fputs(usage_keygen, stdout);
            return CLI_EXIT_OK;
        }
        if ((m = cli_opt("--alg", argc, argv, &i, &v)) != 0) {
            if (m < 0 || !cli_set_once("--alg", &alg_s, v))
                return usage_error("keygen");
        } else if ((m = cli_opt("--kid", argc, argv, &i, &v)) != 0) {
            if (m < 0 || !cli_set_once("--kid", &kid, v))
                return usage_error("keygen");
        } else {
            cli_err("keygen: unexpected argument '%s'", argv[i]);
            return usage_error("keygen");
        }
    }
    if (alg_s == NULL) {
        cli_err("keygen: --alg is required");
        return usage_error("keygen");
    }
    ag_alg alg;
    if (ag_alg_from_name(alg_s, strlen(alg_s), &alg) != AG_OK) {
        cli_err("keygen: unknown algorithm '%s'", alg_s);
        return usage_error("keygen");
    }
    ag_key *key = NULL;
    ag_err e = ag_key_generate(alg, kid, &key);
    if (e != AG_OK) {
        cli_err("keygen: %s", ag_err_reason(e));
        return CLI_EXIT_USAGE;
    }
    char *jwk = NULL;
    e = ag_key_to_jwk(key, true, &jwk);
    ag_key_free(key);
    if (e != AG_OK) {
        cli_err("keygen: export: %s", ag_err_reason(e));
        return CLI_EXIT_USAGE;
    }
    size_t n = strlen(jwk);
    bool ok = emit(jwk, n);
    ag_cleanse(jwk, n);
    ag_free(jwk);
    if (!ok) {
        cli_err("keygen: cannot write the key to stdout");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* jwks                                                                */
/* ------------------------------------------------------------------ */

static int jwks_add(ag_keyring *ring, const char *path, const char *json, size_t len)
{
    char why[256] = "";
    ag_key *key = NULL;
    ag_err e = ag_key_from_jwk(json, len, 0, &key, why, sizeof why);
    if (e != AG_OK) {
        cli_err("%s: %s%s%s", path, ag_err_reason(e), why[0] ? ": " : "", why);
        return CLI_EXIT_USAGE;
    }
    if (ag_key_alg(key) == AG_ALG_HS256 || ag_key_alg(key) == AG_ALG_HS384 ||
        ag_key_alg(key) == AG_ALG_HS512)
        fprintf(stderr, "authgate: note: %s: HMAC key '%s' has no public form, left out\n", path,
                ag_key_kid(key));
    e = ag_keyring_add(ring, key);
    if (e != AG_OK) {
        if (e == AG_ERR_EXISTS)
            cli_err("%s: duplicate kid '%s'", path, ag_key_kid(key));
        else
            cli_err("%s: %s", path, ag_err_reason(e));
        ag_key_free(key);
        return CLI_EXIT_USAGE;
    }
    ag_key_free(key);
    return CLI_EXIT_OK;
}

/* Adds the key(s) of one file: a JWK, or a JWKS whose keys are added one by one. */
static int jwks_add_file(ag_keyring *ring, const char *path)
{
    size_t len = 0;
    char *text = cli_read_key_file("key file", path, &len);
    if (text == NULL)
        return CLI_EXIT_USAGE;
    int rc = CLI_EXIT_OK;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *keys = json_is_object(doc) ? json_object_get(doc, "keys") : NULL;
    if (keys == NULL) {
        /* Not a JWKS: let the library judge it as one JWK. */
        rc = jwks_add(ring, path, text, len);
    } else if (!json_is_array(keys)) {
        cli_err("%s: \"keys\" is not an array", path);
        rc = CLI_EXIT_USAGE;
    } else {
        size_t idx;
        json_t *k;
        json_array_foreach(keys, idx, k)
        {
            char *one = json_dumps(k, JSON_COMPACT | JSON_ENCODE_ANY);
            if (one == NULL) {
                cli_err("%s: out of memory", path);
                rc = CLI_EXIT_USAGE;
                break;
            }
            rc = jwks_add(ring, path, one, strlen(one));
            cli_free_secret(one, strlen(one));
            if (rc != CLI_EXIT_OK)
                break;
        }
    }
    json_decref(doc);
    cli_free_secret(text, len);
    return rc;
}

int cmd_jwks(int argc, char **argv)
{
    int first = 2;
    if (argc > 2 && is_help(argv[2])) {
        fputs(usage_jwks, stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 2 && strcmp(argv[2], "--") == 0)
        first = 3;
    if (first >= argc) {
        cli_err("jwks: no files given");
        return usage_error("jwks");
    }
    ag_keyring *ring = NULL;
    if (ag_keyring_new(NULL, &ring) != AG_OK) {
        cli_err("out of memory");
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_OK;
    for (int i = first; i < argc && rc == CLI_EXIT_OK; i++)
        rc = jwks_add_file(ring, argv[i]);
    if (rc == CLI_EXIT_OK) {
        char *out = NULL;
        ag_err e = ag_keyring_to_jwks(ring, &out);
        if (e != AG_OK) {
            cli_err("jwks: %s", ag_err_reason(e));
            rc = CLI_EXIT_USAGE;
        } else {
            if (!emit(out, strlen(out))) {
                cli_err("jwks: cannot write to stdout");
                rc = CLI_EXIT_USAGE;
            }
            ag_free(out);
        }
    }
    ag_keyring_free(ring);
    return rc;
}

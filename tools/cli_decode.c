/* SPDX-License-Identifier: MIT */
/*
 * authgate CLI — decode: a token's header and payload, NOT verified
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

static const char usage_decode[] =
    "usage: authgate decode TOKEN|-\n"
    "\n"
    "Prints {\"header\":...,\"payload\":...} WITHOUT verifying anything (a warning\n"
    "says so on stderr). Exit 1 when the token is malformed.\n";

/* ------------------------------------------------------------------ */
/* decode                                                              */
/* ------------------------------------------------------------------ */

/* Parses a decoded segment as a strict JSON object (duplicates rejected). */
static json_t *decode_part(const uint8_t *p, size_t n)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

int cmd_decode(int argc, char **argv)
{
    const char *token_arg = NULL;
    bool opts_done = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && is_help(a)) {
            fputs(usage_decode, stdout);
            return CLI_EXIT_OK;
        }
        if (!opts_done && strcmp(a, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (!opts_done && a[0] == '-' && a[1] == '-') {
            cli_err("decode: unknown option '%s'", a);
            return usage_error("decode");
        }
        if (token_arg != NULL) {
            cli_err("decode: one token only");
            return usage_error("decode");
        }
        token_arg = a;
    }
    if (token_arg == NULL) {
        cli_err("decode: no token (give it as an argument, or '-' for stdin)");
        return usage_error("decode");
    }
    int rc = CLI_EXIT_USAGE;
    uint8_t *buf = malloc(CLI_TOKEN_READ_MAX + 1);
    uint8_t *hdr = malloc(AG_TOKEN_MAX_LEN);
    uint8_t *pl = malloc(AG_TOKEN_MAX_LEN);
    json_t *jh = NULL, *jp = NULL, *both = NULL;
    char *text = NULL;
    const uint8_t *tok = NULL;
    size_t tlen = 0, hlen = 0, plen = 0;
    if (buf == NULL || hdr == NULL || pl == NULL) {
        cli_err("out of memory");
        goto out;
    }
    rc = read_token(token_arg, buf, &tok, &tlen);
    if (rc != CLI_EXIT_OK)
        goto out;
    rc = CLI_EXIT_INVALID;
    if (memchr(tok, 0, tlen) != NULL) {
        fprintf(stderr, "%s\n", ag_err_reason(AG_ERR_MALFORMED));
        goto out;
    }
    ag_err e = ag_token_decode_unverified(tok, tlen, hdr, AG_TOKEN_MAX_LEN, &hlen, pl,
                                          AG_TOKEN_MAX_LEN, &plen);
    if (e != AG_OK) {
        fprintf(stderr, "%s\n", ag_err_reason(e == AG_ERR_BUFFER ? AG_ERR_TOO_LARGE : e));
        goto out;
    }
    jh = decode_part(hdr, hlen);
    jp = decode_part(pl, plen);
    if (jh == NULL || jp == NULL) {
        fprintf(stderr, "%s\n", ag_err_reason(AG_ERR_MALFORMED));
        goto out;
    }
    both = json_object();
    if (both == NULL || json_object_set(both, "header", jh) != 0 ||
        json_object_set(both, "payload", jp) != 0 ||
        (text = json_dumps(both, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
        cli_err("out of memory");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    fputs("authgate: warning: decoded only; the signature and claims were NOT verified\n", stderr);
    if (!emit(text, strlen(text))) {
        cli_err("decode: cannot write to stdout");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    free(text);
    json_decref(both);
    json_decref(jh);
    json_decref(jp);
    free(pl);
    free(hdr);
    free(buf);
    return rc;
}

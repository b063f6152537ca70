/* SPDX-License-Identifier: MIT */
/*
 * authgate CLI — what the command files share: main() in authgate.c
 * dispatches to cmd_<name>; each command prints its own --help.
 */
#ifndef AUTHGATE_CLI_H
#define AUTHGATE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authgate/token.h"

/* A token read from stdin may carry one trailing newline (LF or CRLF). */
#define CLI_TOKEN_READ_MAX (AG_TOKEN_MAX_LEN + 2)

/* The commands (argv[1] is the command's name): exit statuses as in
 * cli_util.h. keygen and jwks: cli_keys.c; decode: cli_decode.c. */
int cmd_keygen(int argc, char **argv);
int cmd_jwks(int argc, char **argv);
int cmd_decode(int argc, char **argv);

/* ---- plumbing, in authgate.c --------------------------------------------- */

/* After a specific message: point at the command's help. Returns CLI_EXIT_USAGE. */
int usage_error(const char *cmd);

/* "--help" or "-h". */
bool is_help(const char *a);

/* Writes buf and a newline to stdout and flushes; false on a write error. */
bool emit(const void *buf, size_t n);

/*
 * Reads a token: from argv, or from stdin when arg is "-" (at most
 * CLI_TOKEN_READ_MAX bytes; one trailing LF or CRLF removed). buf holds
 * CLI_TOKEN_READ_MAX + 1 bytes. Returns CLI_EXIT_OK with *tok and *len set, or
 * the exit status after printing the reason.
 */
int read_token(const char *arg, uint8_t *buf, const uint8_t **tok, size_t *len);

#endif

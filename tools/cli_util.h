/* SPDX-License-Identifier: MIT */
/*
 * authgate CLI — small helpers shared by the commands: bounded input,
 * strict number parsing, option matching and a cleansing jansson allocator.
 *
 * Nothing here is part of the library; the tool uses only the public API
 * (include/authgate/token.h).
 */
#ifndef AUTHGATE_CLI_UTIL_H
#define AUTHGATE_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (docs/cli.md). */
#define CLI_EXIT_OK 0      /* success; verify: the token is valid */
#define CLI_EXIT_INVALID 1 /* the token is invalid (reason word on stderr) */
#define CLI_EXIT_USAGE 2   /* bad usage, unreadable or unusable input */

/* Largest key or JWKS file read, in bytes. */
#define CLI_KEY_FILE_MAX (1024u * 1024u)

/* Prints "authgate: <message>" and a newline on stderr. */
void cli_err(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/*
 * Reads at most cap bytes of f into buf (which holds cap + 1 bytes: one more
 * is read to detect overflow). Returns 0 with *n set, 1 when f holds more
 * than cap bytes (*n = cap + 1, buf filled), -1 on a read error.
 */
int cli_read_capped(FILE *f, uint8_t *buf, size_t cap, size_t *n);

/*
 * Reads the file at path (at most CLI_KEY_FILE_MAX bytes, no NUL bytes) into
 * a new NUL-terminated buffer. On failure prints why ("what" names the
 * file's role, e.g. "key file") and returns NULL. Free with cli_free_secret.
 */
char *cli_read_key_file(const char *what, const char *path, size_t *len);

/* Cleanses n bytes at p, then frees it. NULL is a no-op. */
void cli_free_secret(void *p, size_t n);

/*
 * Parses a decimal integer in [min, max]: optional '-', digits, nothing
 * else (no spaces, no '+', no hex). Returns true on success.
 */
bool cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Matches argv[*i] against a value option "--name": accepts "--name VALUE"
 * (advancing *i) and "--name=VALUE". Returns 1 on a match (*val set), 0 when
 * argv[*i] is another option, -1 when the value is missing (message printed).
 */
int cli_opt(const char *name, int argc, char **argv, int *i, const char **val);

/*
 * Stores val in *slot, refusing a second occurrence of the option.
 * Returns true on success (else prints a message).
 */
bool cli_set_once(const char *name, const char **slot, const char *val);

/* A single-valued option and where its value goes. */
typedef struct cli_opt_slot {
    const char *flag;
    const char **slot;
} cli_opt_slot;

#define NOPTS(t) (sizeof(t) / sizeof((t)[0]))

/*
 * Matches argv[*i] against each option of t (see cli_opt); a value is
 * stored with cli_set_once. Returns 1 when matched and stored, 0 when no
 * option matched, -1 on an error (message printed).
 */
int cli_opt_table(const cli_opt_slot *t, size_t n, int argc, char **argv, int *i);

/*
 * Installs a jansson allocator whose free cleanses the block first, so JSON
 * holding private key members does not linger in freed memory. Blocks stay
 * plain malloc blocks (freeing one with free() remains valid). Call once,
 * before any JSON is parsed. A program may do this; the library never does.
 */
void cli_json_alloc_install(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * authgate — the command-line tool (docs/cli.md).
 *
 *   authgate keygen --alg ALG [--kid KID]
 *   authgate jwks FILE...
 *   authgate issue --key JWK --sub SUB [--type access|refresh] [--iss I] [--aud A]
 *                  [--ttl SECONDS] [--sid SID] [--claim NAME=JSON]... [--now EPOCH]
 *   authgate verify (--key JWK | --jwks FILE | --jwks-url URL [--cacert FILE])
 *                  [--type access|refresh] [--allow-typ jwt|absent]... [--iss I]...
 *                  [--aud A]... [--optional LIST] [--leeway S] [--now EPOCH] TOKEN|-
 *   authgate decode TOKEN|-
 *
 * Exit status: 0 success (verify: valid), 1 invalid token (one line on
 * stderr: the reason word of ag_err_reason(), a contract), 2 usage or
 * unreadable input. Built on the public API only; the docs are docs/cli.md.
 * Here: main, issue and verify; keygen and jwks in cli_keys.c, decode in
 * cli_decode.c.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authgate/token.h"
#include "cli.h"
#include "cli_util.h"

/* Default issuing policy (documented in docs/cli.md). */
#define CLI_DEFAULT_ISS "authgate"
#define CLI_DEFAULT_AUD "authgate"
#define CLI_DEFAULT_TTL_ACCESS 900      /* 15 minutes */
#define CLI_DEFAULT_TTL_REFRESH 1209600 /* 14 days */
#define CLI_TTL_MAX (INT64_C(10) * 366 * 86400)
#define CLI_MAX_CLAIMS 64

static const char usage_main[] =
    "usage: authgate <command> [options]\n"
    "\n"
    "commands:\n"
    "  keygen --alg ALG [--kid KID]       print a new private JWK (keep it secret)\n"
    "  jwks FILE...                       print the public JWKS of JWK files\n"
    "  issue --key JWK --sub SUB [...]    sign an access or refresh token\n"
    "  verify (--key JWK | --jwks FILE) [...] TOKEN|-\n"
    "                                     verify a token, print its claims\n"
    "  decode TOKEN|-                     print header and payload, NOT verified\n"
    "\n"
    "'authgate <command> --help' describes a command's options.\n"
    "Exit status: 0 ok, 1 invalid token (reason on stderr), 2 usage or input error.\n";

static const char usage_issue[] =
    "usage: authgate issue --key JWK --sub SUB [options]\n"
    "\n"
    "  --key FILE          private JWK to sign with (required)\n"
    "  --sub SUB           subject (required)\n"
    "  --type access|refresh   token kind (default access)\n"
    "  --iss I             issuer (default \"" CLI_DEFAULT_ISS "\")\n"
    "  --aud A             audience (default \"" CLI_DEFAULT_AUD "\")\n"
    "  --ttl SECONDS       lifetime (default 900 for access, 1209600 for refresh)\n"
    "  --sid SID           session id (refresh: default a fresh random one)\n"
    "  --claim NAME=JSON   extra claim, JSON value (repeatable):\n"
    "                      --claim 'role=\"admin\"' --claim 'n=3' --claim 'ok=true'\n"
    "  --now EPOCH         issue as if the time were EPOCH (seconds)\n"
    "\n"
    "Prints the token and a newline on stdout.\n";

static const char usage_verify[] =
    "usage: authgate verify (--key JWK | --jwks FILE | --jwks-url URL) [options] TOKEN|-\n"
    "\n"
    "  --key FILE          one JWK (public or private)\n"
    "  --jwks FILE         a JWKS ({\"keys\":[...]}); the token's kid selects the key\n"
    "  --jwks-url URL      fetch the JWKS over https (no redirects, 256 KiB cap)\n"
    "  --cacert FILE       with --jwks-url: trust this PEM CA bundle, not the system's\n"
    "  --type access|refresh   require typ at+jwt or rt+jwt (default: typ unchecked)\n"
    "  --iss I             required issuer (default: any, but iss must be present);\n"
    "                      repeat to accept any of several (up to 16)\n"
    "  --aud A             required audience (default: any, but aud must be present);\n"
    "                      repeat to accept any of several (up to 16)\n"
    "  --leeway S          clock leeway in seconds, 0..300 (default 30)\n"
    "  --now EPOCH         verify as if the time were EPOCH (seconds)\n"
    "\n"
    "Tokens from an identity provider (each an opt-out of a strict default):\n"
    "  --allow-typ jwt|absent  with --type: also accept typ JWT, or no typ (repeatable)\n"
    "  --optional LIST     claims that may be absent: jti,iat,sub,sid (comma-separated)\n"
    "\n"
    "TOKEN '-' reads the token from stdin (one trailing newline is removed).\n"
    "Valid: prints the signed payload JSON on stdout, exit 0. Invalid: prints\n"
    "the reason (expired, bad signature, ...) on stderr, exit 1; for a key or\n"
    "claim problem followed by its cause (claim: aud, unknown key: token has no kid).\n";

/* After a specific message: point at the command's help. Returns CLI_EXIT_USAGE. */
int usage_error(const char *cmd)
{
    fprintf(stderr, "authgate: see 'authgate %s --help'\n", cmd);
    return CLI_EXIT_USAGE;
}

bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Writes buf and a newline to stdout and flushes; false on a write error. */
bool emit(const void *buf, size_t n)
{
    if (n > 0 && fwrite(buf, 1, n, stdout) != n)
        return false;
    if (fputc('\n', stdout) == EOF)
        return false;
    return fflush(stdout) == 0;
}

static int64_t clock_fixed(void *ctx)
{
    return *(const int64_t *)ctx;
}

static bool parse_kind(const char *s, ag_token_kind *out)
{
    if (strcmp(s, "access") == 0) {
        *out = AG_TOKEN_ACCESS;
        return true;
    }
    if (strcmp(s, "refresh") == 0) {
        *out = AG_TOKEN_REFRESH;
        return true;
    }
    cli_err("--type must be access or refresh, not '%s'", s);
    return false;
}

/* Loads one JWK file as a key. Prints the reason and returns NULL on failure. */
static ag_key *load_jwk_file(const char *path)
{
    size_t len = 0;
    char *text = cli_read_key_file("key file", path, &len);
    if (text == NULL)
        return NULL;
    char why[256] = "";
    ag_key *key = NULL;
    ag_err e = ag_key_from_jwk(text, len, 0, &key, why, sizeof why);
    cli_free_secret(text, len);
    if (e != AG_OK) {
        cli_err("key file %s: %s%s%s", path, ag_err_reason(e), why[0] ? ": " : "", why);
        return NULL;
    }
    return key;
}

/*
 * Reads a token: from argv, or from stdin when arg is "-" (at most
 * CLI_TOKEN_READ_MAX bytes; one trailing LF or CRLF removed). buf holds
 * CLI_TOKEN_READ_MAX + 1 bytes. Returns CLI_EXIT_OK with *tok and *len set, or
 * the exit status after printing the reason.
 */
int read_token(const char *arg, uint8_t *buf, const uint8_t **tok, size_t *len)
{
    if (strcmp(arg, "-") != 0) {
        *tok = (const uint8_t *)arg;
        *len = strlen(arg);
        return CLI_EXIT_OK;
    }
    size_t n = 0;
    int rc = cli_read_capped(stdin, buf, CLI_TOKEN_READ_MAX, &n);
    if (rc < 0) {
        cli_err("cannot read the token from stdin");
        return CLI_EXIT_USAGE;
    }
    if (rc > 0) {
        fprintf(stderr, "%s\n", ag_err_reason(AG_ERR_TOO_LARGE));
        return CLI_EXIT_INVALID;
    }
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
    }
    if (memchr(buf, 0, n) != NULL) {
        fprintf(stderr, "%s\n", ag_err_reason(AG_ERR_MALFORMED));
        return CLI_EXIT_INVALID;
    }
    *tok = buf;
    *len = n;
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* issue                                                               */
/* ------------------------------------------------------------------ */

typedef struct issue_claims {
    ag_custom_claim c[CLI_MAX_CLAIMS];
    char *name[CLI_MAX_CLAIMS];
    char *json[CLI_MAX_CLAIMS];
    size_t n;
} issue_claims;

static void issue_claims_free(issue_claims *cl)
{
    for (size_t i = 0; i < cl->n; i++) {
        free(cl->name[i]);
        if (cl->json[i] != NULL)
            cli_free_secret(cl->json[i], strlen(cl->json[i]));
    }
    cl->n = 0;
}

/* Parses NAME=JSON into the next custom claim (the value normalised to compact JSON). */
static bool issue_claim_add(issue_claims *cl, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) {
        cli_err("--claim wants NAME=JSON, e.g. --claim 'role=\"admin\"'");
        return false;
    }
    if (cl->n == CLI_MAX_CLAIMS) {
        cli_err("at most %d --claim options", CLI_MAX_CLAIMS);
        return false;
    }
    size_t nlen = (size_t)(eq - arg);
    json_error_t jerr;
    json_t *val = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (val == NULL) {
        cli_err("--claim %.*s: value is not JSON (%s); quote strings: %.*s='\"text\"'", (int)nlen,
                arg, jerr.text, (int)nlen, arg);
        return false;
    }
    char *json = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(val);
    char *name = malloc(nlen + 1);
    if (json == NULL || name == NULL) {
        free(json);
        free(name);
        cli_err("out of memory");
        return false;
    }
    memcpy(name, arg, nlen);
    name[nlen] = 0;
    size_t i = cl->n++;
    cl->name[i] = name;
    cl->json[i] = json;
    memset(&cl->c[i], 0, sizeof cl->c[i]);
    cl->c[i].name = name;
    cl->c[i].type = AG_CLAIM_JSON;
    cl->c[i].str = json;
    return true;
}

static int cmd_issue(int argc, char **argv)
{
    const char *key_path = NULL, *sub = NULL, *type_s = NULL, *iss = NULL, *aud = NULL;
    const char *ttl_s = NULL, *now_s = NULL, *sid = NULL, *v = NULL;
    const cli_opt_slot issue_opts[] = {
        {"--key", &key_path}, {"--sub", &sub},   {"--type", &type_s}, {"--iss", &iss},
        {"--aud", &aud},      {"--ttl", &ttl_s}, {"--now", &now_s},   {"--sid", &sid},
    };
    issue_claims *cl = calloc(1, sizeof *cl);
    if (cl == NULL) {
        cli_err("out of memory");
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    ag_key *key = NULL;
    ag_issuer *issuer = NULL;
    char tokbuf[AG_TOKEN_MAX_LEN + 1];

    for (int i = 2; i < argc; i++) {
        int m = 0;
        bool ok = true;
        if (is_help(argv[i])) {
            fputs(usage_issue, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        }
        if ((m = cli_opt_table(issue_opts, NOPTS(issue_opts), argc, argv, &i)) != 0)
            ok = m > 0;
        else if ((m = cli_opt("--claim", argc, argv, &i, &v)) != 0)
            ok = m > 0 && issue_claim_add(cl, v);
        else {
            cli_err("issue: unexpected argument '%s'", argv[i]);
            ok = false;
        }
        if (!ok) {
            rc = usage_error("issue");
            goto out;
        }
    }
    if (key_path == NULL || sub == NULL) {
        cli_err("issue: --key and --sub are required");
        rc = usage_error("issue");
        goto out;
    }
    ag_token_kind kind = AG_TOKEN_ACCESS;
    if (type_s != NULL && !parse_kind(type_s, &kind)) {
        rc = usage_error("issue");
        goto out;
    }
    int64_t ttl = kind == AG_TOKEN_REFRESH ? CLI_DEFAULT_TTL_REFRESH : CLI_DEFAULT_TTL_ACCESS;
    if (ttl_s != NULL && !cli_parse_i64(ttl_s, 1, CLI_TTL_MAX, &ttl)) {
        cli_err("issue: --ttl must be a whole number of seconds, 1..%lld", (long long)CLI_TTL_MAX);
        rc = usage_error("issue");
        goto out;
    }
    int64_t now = 0;
    if (now_s != NULL && !cli_parse_i64(now_s, 0, AG_NUMERICDATE_MAX, &now)) {
        cli_err("issue: --now must be epoch seconds, 0..%lld", (long long)AG_NUMERICDATE_MAX);
        rc = usage_error("issue");
        goto out;
    }
    char sidbuf[AG_B64URL_ENCODED_LEN(32) + 1];
    if (kind == AG_TOKEN_REFRESH && sid == NULL) {
        uint8_t rnd[32];
        size_t sl = 0;
        if (ag_random(rnd, sizeof rnd) != AG_OK ||
            ag_base64url_encode(rnd, sizeof rnd, sidbuf, sizeof sidbuf, &sl) != AG_OK) {
            cli_err("issue: cannot make a random sid");
            goto out;
        }
        sid = sidbuf;
    }

    key = load_jwk_file(key_path);
    if (key == NULL)
        goto out;
    ag_issuer_config icfg;
    memset(&icfg, 0, sizeof icfg);
    icfg.size = sizeof icfg;
    icfg.key = key;
    icfg.kind = kind;
    icfg.issuer = iss != NULL ? iss : CLI_DEFAULT_ISS;
    icfg.audience = aud != NULL ? aud : CLI_DEFAULT_AUD;
    icfg.ttl = ttl;
    if (now_s != NULL) {
        icfg.clock = clock_fixed;
        icfg.clock_ctx = &now;
    }
    ag_err e = ag_issuer_new(&icfg, &issuer);
    if (e != AG_OK) {
        if (e == AG_ERR_STATE)
            cli_err("issue: key file %s holds no private key", key_path);
        else
            cli_err("issue: %s", ag_err_reason(e));
        goto out;
    }
    ag_issue_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.sub = sub;
    p.sid = sid;
    p.ttl = ttl;
    p.now = now;
    p.claims = cl->n > 0 ? cl->c : NULL;
    p.nclaims = cl->n;
    ag_issued info = AG_INIT(ag_issued);
    e = ag_issue(issuer, &p, tokbuf, sizeof tokbuf, &info);
    if (e != AG_OK) {
        if (e == AG_ERR_INVALID_ARGUMENT)
            cli_err("issue: refused: %s (empty --sub? a registered or duplicate --claim "
                    "name? a bad --sid?)",
                    ag_err_reason(e));
        else
            cli_err("issue: %s", ag_err_reason(e));
        goto out;
    }
    if (!emit(tokbuf, info.len)) {
        cli_err("issue: cannot write to stdout");
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    ag_issuer_free(issuer);
    ag_key_free(key);
    issue_claims_free(cl);
    free(cl);
    return rc;
}

/* ------------------------------------------------------------------ */
/* verify                                                              */
/* ------------------------------------------------------------------ */

/* Builds the keyring for verify from --key (one JWK) or --jwks (a JWKS). */
static ag_keyring *verify_keyring(const char *key_path, const char *jwks_path)
{
    ag_keyring *ring = NULL;
    if (key_path != NULL) {
        ag_key *key = load_jwk_file(key_path);
        if (key == NULL)
            return NULL;
        if (ag_keyring_new(NULL, &ring) != AG_OK || ag_keyring_add(ring, key) != AG_OK) {
            cli_err("out of memory");
            ag_keyring_free(ring);
            ring = NULL;
        }
        ag_key_free(key);
        return ring;
    }
    size_t len = 0;
    char *text = cli_read_key_file("JWKS file", jwks_path, &len);
    if (text == NULL)
        return NULL;
    char why[256] = "";
    ag_err e = ag_keyring_from_jwks(text, len, 0, &ring, why, sizeof why);
    cli_free_secret(text, len);
    if (e != AG_OK) {
        cli_err("JWKS file %s: %s%s%s", jwks_path, ag_err_reason(e), why[0] ? ": " : "", why);
        return NULL;
    }
    return ring;
}

#define VERIFY_LIST_MAX 16

/* A repeatable option's value: "--name V" or "--name=V". Returns 1 when a
 * matches name (value in *val), 0 when not, -1 when the value is missing. */
static int repeat_opt(const char *name, int argc, char **argv, int *i, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_err("%s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

/* --optional jti,iat,sub,sid → AG_VERIFY_OPTIONAL_* bits. */
static bool parse_optional(const char *s, unsigned *relax)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"jti", AG_VERIFY_OPTIONAL_JTI},
                 {"iat", AG_VERIFY_OPTIONAL_IAT},
                 {"sub", AG_VERIFY_OPTIONAL_SUB},
                 {"sid", AG_VERIFY_OPTIONAL_SID}};
    while (*s != '\0') {
        size_t n = strcspn(s, ",");
        bool ok = false;
        for (size_t k = 0; k < NOPTS(names); k++)
            if (n == strlen(names[k].name) && strncmp(s, names[k].name, n) == 0) {
                *relax |= names[k].bit;
                ok = true;
            }
        if (!ok) {
            cli_err("verify: --optional takes jti, iat, sub, sid (comma-separated)");
            return false;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return true;
}

/* The refusal line: the reason word, then for key and claim problems what
 * exactly (the kid as JSON text, so control bytes cannot reach a terminal). */
static void print_refusal(ag_err e, ag_verify_cause cause, const uint8_t *tok, size_t tlen)
{
    if (cause == AG_CAUSE_NONE || e == AG_ERR_EXPIRED || e == AG_ERR_WRONG_TYPE) {
        fprintf(stderr, "%s\n", ag_err_reason(e));
        return;
    }
    if (cause != AG_CAUSE_UNKNOWN_KID) {
        fprintf(stderr, "%s: %s\n", ag_err_reason(e), ag_verify_cause_text(cause));
        return;
    }
    uint8_t hdr[AG_HEADER_MAX_LEN], pl[AG_PAYLOAD_MAX_LEN];
    size_t hl = 0, pn = 0;
    char *kid = NULL;
    if (ag_token_decode_unverified(tok, tlen, hdr, sizeof hdr, &hl, pl, sizeof pl, &pn) == AG_OK) {
        json_error_t jerr;
        json_t *h = json_loadb((const char *)hdr, hl, JSON_REJECT_DUPLICATES, &jerr);
        json_t *k = json_is_object(h) ? json_object_get(h, "kid") : NULL;
        if (json_is_string(k))
            kid = json_dumps(k, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
        json_decref(h);
    }
    if (kid != NULL)
        fprintf(stderr, "%s: no key with kid %s\n", ag_err_reason(e), kid);
    else
        fprintf(stderr, "%s: %s\n", ag_err_reason(e), ag_verify_cause_text(cause));
    free(kid);
}

/* The last reason a remote JWKS fetch gave (one line, no key material). */
static char remote_why[200];
static void remote_error(void *ctx, ag_err err, const char *why)
{
    (void)ctx;
    (void)err;
    snprintf(remote_why, sizeof remote_why, "%s", why != NULL ? why : "");
}

static int cmd_verify(int argc, char **argv)
{
    const char *key_path = NULL, *jwks_path = NULL, *type_s = NULL;
    const char *leeway_s = NULL, *now_s = NULL, *token_arg = NULL;
    const char *iss_list[VERIFY_LIST_MAX], *aud_list[VERIFY_LIST_MAX];
    size_t niss = 0, naud = 0;
    unsigned relax = 0;
    const char *jwks_url = NULL, *cacert = NULL;
    const cli_opt_slot verify_opts[] = {
        {"--key", &key_path},  {"--jwks", &jwks_path}, {"--jwks-url", &jwks_url},
        {"--cacert", &cacert}, {"--type", &type_s},    {"--leeway", &leeway_s},
        {"--now", &now_s},
    };
    bool opts_done = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int m = 0;
        bool ok = true;
        if (!opts_done && is_help(a)) {
            fputs(usage_verify, stdout);
            return CLI_EXIT_OK;
        }
        if (opts_done || a[0] != '-' || a[1] != '-') {
            if (token_arg != NULL) {
                cli_err("verify: one token only");
                return usage_error("verify");
            }
            token_arg = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            opts_done = true;
            continue;
        }
        const char *val = NULL;
        if ((m = cli_opt_table(verify_opts, NOPTS(verify_opts), argc, argv, &i)) != 0) {
            ok = m > 0;
        } else if ((m = repeat_opt("--iss", argc, argv, &i, &val)) != 0 ||
                   (m = repeat_opt("--aud", argc, argv, &i, &val)) != 0) {
            bool is_iss = strncmp(a, "--iss", 5) == 0;
            size_t *cnt = is_iss ? &niss : &naud;
            ok = m > 0 && *cnt < VERIFY_LIST_MAX && val[0] != '\0';
            if (m > 0 && !ok)
                cli_err("verify: %s must be non-empty, at most %d times",
                        is_iss ? "--iss" : "--aud", VERIFY_LIST_MAX);
            if (ok)
                (is_iss ? iss_list : aud_list)[(*cnt)++] = val;
        } else if ((m = repeat_opt("--allow-typ", argc, argv, &i, &val)) != 0) {
            ok = m > 0;
            if (ok && strcmp(val, "jwt") == 0)
                relax |= AG_VERIFY_TYP_JWT;
            else if (ok && strcmp(val, "absent") == 0)
                relax |= AG_VERIFY_TYP_ABSENT;
            else if (ok) {
                cli_err("verify: --allow-typ takes jwt or absent");
                ok = false;
            }
        } else if ((m = repeat_opt("--optional", argc, argv, &i, &val)) != 0) {
            ok = m > 0 && parse_optional(val, &relax);
        } else {
            cli_err("verify: unknown option '%s'", a);
            ok = false;
        }
        if (!ok)
            return usage_error("verify");
    }
    if ((relax & (AG_VERIFY_TYP_JWT | AG_VERIFY_TYP_ABSENT)) != 0 && type_s == NULL) {
        cli_err("verify: --allow-typ needs --type (without it typ is not checked)");
        return usage_error("verify");
    }
    if ((key_path != NULL) + (jwks_path != NULL) + (jwks_url != NULL) != 1) {
        cli_err("verify: give exactly one of --key, --jwks and --jwks-url");
        return usage_error("verify");
    }
    if (cacert != NULL && jwks_url == NULL) {
        cli_err("verify: --cacert goes with --jwks-url");
        return usage_error("verify");
    }
    if (jwks_url != NULL && strncmp(jwks_url, "https://", 8) != 0) {
        cli_err("verify: --jwks-url must be an https:// URL");
        return usage_error("verify");
    }
    if (token_arg == NULL) {
        cli_err("verify: no token (give it as an argument, or '-' for stdin)");
        return usage_error("verify");
    }
    ag_token_kind kind = AG_TOKEN_ANY;
    if (type_s != NULL && !parse_kind(type_s, &kind))
        return usage_error("verify");
    int64_t leeway = AG_LEEWAY_DEFAULT;
    if (leeway_s != NULL && !cli_parse_i64(leeway_s, 0, AG_LEEWAY_MAX, &leeway)) {
        cli_err("verify: --leeway must be 0..%d seconds", AG_LEEWAY_MAX);
        return usage_error("verify");
    }
    int64_t now = 0;
    if (now_s != NULL && !cli_parse_i64(now_s, 0, AG_NUMERICDATE_MAX, &now)) {
        cli_err("verify: --now must be epoch seconds, 0..%lld", (long long)AG_NUMERICDATE_MAX);
        return usage_error("verify");
    }

    ag_keyring *ring = NULL;
    if (jwks_url == NULL && (ring = verify_keyring(key_path, jwks_path)) == NULL)
        return CLI_EXIT_USAGE;
    ag_verifier_config vcfg;
    memset(&vcfg, 0, sizeof vcfg);
    vcfg.size = sizeof vcfg;
    vcfg.keys = ring;
    vcfg.kind = kind;
    vcfg.issuers = iss_list;
    vcfg.nissuers = niss;
    vcfg.audiences = aud_list;
    vcfg.naudiences = naud;
    vcfg.relax = relax;
    vcfg.leeway = leeway;
    if (now_s != NULL) {
        vcfg.clock = clock_fixed;
        vcfg.clock_ctx = &now;
    }
    ag_verifier *ver = NULL;
    ag_jwks_remote *remote = NULL;
    ag_err e;
    if (jwks_url != NULL) {
        ag_jwks_remote_config rc;
        memset(&rc, 0, sizeof rc);
        rc.size = sizeof rc;
        rc.url = jwks_url;
        rc.ca_file = cacert;
        rc.on_error = remote_error;
        e = ag_jwks_remote_new(&rc, &vcfg, &remote, &ver);
        if (e != AG_OK) {
            cli_err("verify: JWKS from %s: %s%s%s", jwks_url,
                    e == AG_ERR_STATE ? "not built with libcurl" : ag_err_reason(e),
                    remote_why[0] ? ": " : "", remote_why);
            return CLI_EXIT_USAGE;
        }
    } else {
        e = ag_verifier_new(&vcfg, &ver);
        ag_keyring_free(ring);
        if (e != AG_OK) {
            cli_err("verify: %s", ag_err_reason(e));
            return CLI_EXIT_USAGE;
        }
    }

    int rc = CLI_EXIT_USAGE;
    uint8_t *buf = malloc(CLI_TOKEN_READ_MAX + 1);
    ag_claims claims_ = AG_INIT(ag_claims), *claims = &claims_;
    uint8_t *scratch = malloc(AG_VERIFY_SCRATCH_MAX);
    const uint8_t *tok = NULL;
    size_t tlen = 0;
    if (buf == NULL || scratch == NULL) {
        cli_err("out of memory");
        goto out;
    }
    rc = read_token(token_arg, buf, &tok, &tlen);
    if (rc != CLI_EXIT_OK)
        goto out;
    ag_verify_cause cause = AG_CAUSE_NONE;
    e = ag_verify_why(ver, tok, tlen, scratch, AG_VERIFY_SCRATCH_MAX, claims, &cause);
    if (e != AG_OK) {
        print_refusal(e, cause, tok, tlen);
        rc = CLI_EXIT_INVALID;
        goto out;
    }
    ag_span payload = ag_claims_payload(claims);
    if (!emit(payload.ptr, payload.len)) {
        cli_err("verify: cannot write to stdout");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    free(scratch);
    free(buf);
    if (remote != NULL)
        ag_jwks_remote_free(remote); /* frees ver too */
    else
        ag_verifier_free(ver);
    return rc;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    /* A closed stdout must give exit status 2, not death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    cli_json_alloc_install();

    if (argc < 2) {
        fputs(usage_main, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (is_help(cmd) || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("authgate %s\n", AG_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc, argv);
    if (strcmp(cmd, "jwks") == 0)
        return cmd_jwks(argc, argv);
    if (strcmp(cmd, "issue") == 0)
        return cmd_issue(argc, argv);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc, argv);
    if (strcmp(cmd, "decode") == 0)
        return cmd_decode(argc, argv);
    cli_err("unknown command '%s' (see 'authgate --help')", cmd);
    return CLI_EXIT_USAGE;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — signing keys and the server secret, kept in --key-dir.
 *
 * Three files, each a private JWK (RFC 7517), mode 0600 in a 0700 directory:
 *
 *   access.jwk   signs access tokens (at+jwt)
 *   refresh.jwk  signs refresh tokens (rt+jwt): a separate key, so one
 *                kind can never be passed off as the other (I-01, V-12)
 *   secret.jwk   {"kty":"oct","k":…}: 32 random bytes that bind CSRF
 *                tokens to their session (C-02)
 *
 * On first start all three are generated from the OS CSPRNG; afterwards
 * they are reloaded, so tokens survive a restart.
 *
 * Rotation (SIGHUP, --rotate-every) adds access.T.jwk and refresh.T.jwk,
 * T the Unix time the pair started signing; the rings hold the original
 * and every rotated key still needed to verify unexpired tokens, oldest
 * first, and the issuers sign with the last (demo_keys_rings). The server refuses to
 * start — with a message naming the file — on anything doubtful: a file
 * others can read, an unreadable or malformed file, a weak key (V-17), a
 * key bound to another algorithm than --alg, or a directory where only
 * some of the files exist.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "demo.h"

#define KEY_FILE_MAX (64 * 1024)

static void path_join(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* The directory must exist (we create it 0700) and be private. */
static bool ensure_dir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "authgate-demo: cannot create key directory %s: %s\n", dir,
                strerror(errno));
        return false;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "authgate-demo: key directory %s is not a directory\n", dir);
        return false;
    }
    /* Private keys live here: refuse a directory others can enter. */
    if ((st.st_mode & 077) != 0) {
        fprintf(stderr,
                "authgate-demo: key directory %s is accessible by others (mode %03o); "
                "run: chmod 700 %s\n",
                dir, (unsigned)(st.st_mode & 0777), dir);
        return false;
    }
    return true;
}

/* Reads a whole private file. Refuses symlinks, non-regular files and
 * files that group or others may read (like ssh does for its keys). */
static char *read_private_file(const char *path, size_t *len)
{
    struct stat st;
    char *buf;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "authgate-demo: cannot read key file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > KEY_FILE_MAX) {
        fprintf(stderr, "authgate-demo: key file %s is not a regular file of sane size\n", path);
        close(fd);
        return NULL;
    }
    if ((st.st_mode & 077) != 0) {
        fprintf(stderr,
                "authgate-demo: key file %s is readable by others (mode %03o); "
                "run: chmod 600 %s\n",
                path, (unsigned)(st.st_mode & 0777), path);
        close(fd);
        return NULL;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return NULL;
    }
    n = read(fd, buf, (size_t)st.st_size);
    close(fd);
    if (n != st.st_size) {
        fprintf(stderr, "authgate-demo: short read on key file %s\n", path);
        ag_cleanse(buf, (size_t)st.st_size);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* Writes a new private file: temp file 0600, fsync, rename. */
static bool write_private_file(const char *path, const char *data, size_t len)
{
    char tmp[4096];
    int fd;
    bool ok;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "authgate-demo: cannot create %s: %s\n", tmp, strerror(errno));
        return false;
    }
    ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "authgate-demo: cannot write %s: %s\n", path, strerror(errno));
        (void)unlink(tmp);
        return false;
    }
    return true;
}

static bool load_key(const char *path, ag_alg alg, ag_key **out)
{
    char err[160] = "";
    size_t len = 0;
    char *json = read_private_file(path, &len);
    ag_err e;
    if (json == NULL)
        return false;
    /* default_alg 0: the file must name its algorithm; authgate never guesses (V-02). */
    e = ag_key_from_jwk(json, len, (ag_alg)0, out, err, sizeof(err));
    ag_cleanse(json, len);
    free(json);
    if (e != AG_OK) {
        fprintf(stderr, "authgate-demo: refusing key file %s: %s%s%s\n", path,
                e == AG_ERR_WEAK_KEY ? "weak key" : ag_strerror(e), err[0] ? ": " : "", err);
        return false;
    }
    if (!ag_key_is_private(*out)) {
        fprintf(stderr, "authgate-demo: key file %s holds no private key\n", path);
        ag_key_free(*out);
        *out = NULL;
        return false;
    }
    /* A key is bound to one algorithm (V-01): --alg must agree with it. */
    if (ag_key_alg(*out) != alg) {
        fprintf(stderr,
                "authgate-demo: key file %s is for %s but --alg is %s; "
                "pass --alg %s or use another --key-dir\n",
                path, ag_alg_name(ag_key_alg(*out)), ag_alg_name(alg),
                ag_alg_name(ag_key_alg(*out)));
        ag_key_free(*out);
        *out = NULL;
        return false;
    }
    return true;
}

static bool create_key(const char *path, ag_alg alg, ag_key **out)
{
    char *jwk = NULL;
    bool ok;
    if (ag_key_generate(alg, NULL, out) != AG_OK) {
        fprintf(stderr, "authgate-demo: cannot generate a %s key\n", ag_alg_name(alg));
        return false;
    }
    if (ag_key_to_jwk(*out, true, &jwk) != AG_OK) {
        fprintf(stderr, "authgate-demo: cannot export the new key\n");
        return false;
    }
    ok = write_private_file(path, jwk, strlen(jwk));
    ag_cleanse(jwk, strlen(jwk)); /* ag_free does not cleanse private JWKs */
    ag_free(jwk);
    return ok;
}

static bool load_secret(const char *path, uint8_t secret[DEMO_SECRET_LEN])
{
    size_t len = 0, n = 0;
    char *text = read_private_file(path, &len);
    json_t *root;
    const char *k;
    bool ok = false;
    if (text == NULL)
        return false;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    ag_cleanse(text, len);
    free(text);
    k = json_string_value(json_object_get(root, "kty"));
    if (k != NULL && strcmp(k, "oct") == 0) {
        k = json_string_value(json_object_get(root, "k"));
        /* Exactly 32 bytes: a shorter secret is weak (V-17). */
        ok = k != NULL &&
             ag_base64url_decode((const uint8_t *)k, strlen(k), secret, DEMO_SECRET_LEN, &n) ==
                 AG_OK &&
             n == DEMO_SECRET_LEN;
    }
    if (k != NULL)
        ag_cleanse((void *)k, strlen(k));
    json_decref(root);
    if (!ok)
        fprintf(stderr,
                "authgate-demo: refusing secret file %s: want {\"kty\":\"oct\",\"k\":…} "
                "with exactly %d bytes\n",
                path, DEMO_SECRET_LEN);
    return ok;
}

static bool create_secret(const char *path, uint8_t secret[DEMO_SECRET_LEN])
{
    char k[AG_B64URL_ENCODED_LEN(DEMO_SECRET_LEN) + 1];
    char text[256];
    size_t klen = 0;
    int n;
    bool ok;
    if (ag_random(secret, DEMO_SECRET_LEN) != AG_OK ||
        ag_base64url_encode(secret, DEMO_SECRET_LEN, k, sizeof(k), &klen) != AG_OK)
        return false;
    n = snprintf(text, sizeof(text), "{\"kty\":\"oct\",\"kid\":\"server-secret\",\"k\":\"%s\"}\n",
                 k);
    ok = n > 0 && (size_t)n < sizeof(text) && write_private_file(path, text, (size_t)n);
    ag_cleanse(k, sizeof(k));
    ag_cleanse(text, sizeof(text));
    return ok;
}

bool demo_keys_load(const char *dir, ag_alg alg, demo_keys *out)
{
    static const char *const names[3] = {"access.jwk", "refresh.jwk", "secret.jwk"};
    char paths[3][4096];
    int present = 0;
    bool ok;

    memset(out, 0, sizeof(*out));
    if (!ensure_dir(dir))
        return false;
    for (int i = 0; i < 3; i++) {
        path_join(paths[i], sizeof(paths[i]), dir, names[i]);
        if (access(paths[i], F_OK) == 0)
            present++;
    }
    if (present == 0) {
        ok = create_key(paths[0], alg, &out->access) && create_key(paths[1], alg, &out->refresh) &&
             create_secret(paths[2], out->secret);
        if (ok)
            printf("created keys (%s) in %s\n", ag_alg_name(alg), dir);
    } else if (present == 3) {
        ok = load_key(paths[0], alg, &out->access) && load_key(paths[1], alg, &out->refresh) &&
             load_secret(paths[2], out->secret);
    } else {
        fprintf(stderr,
                "authgate-demo: key directory %s is incomplete (want access.jwk, refresh.jwk "
                "and secret.jwk); restore the missing files or use an empty directory\n",
                dir);
        ok = false;
    }
    /* Two kinds, two keys: refuse a copy of one file over the other (I-01). */
    if (ok && strcmp(ag_key_kid(out->access), ag_key_kid(out->refresh)) == 0) {
        fprintf(stderr, "authgate-demo: access.jwk and refresh.jwk hold the same key id\n");
        ok = false;
    }
    if (!ok)
        demo_keys_free(out);
    return ok;
}

void demo_keys_free(demo_keys *k)
{
    ag_key_free(k->access);
    ag_key_free(k->refresh);
    ag_cleanse(k->secret, sizeof(k->secret));
    k->access = k->refresh = NULL;
}

/* ---- rotation ------------------------------------------------------- */

#define ROTATED_MAX 256

typedef struct rotated {
    int64_t t;
    char path[4096];
} rotated;

/* "<prefix>.<digits>.jwk" → the digits as T (> 0), else -1. */
static int64_t rotated_time(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    int64_t t = 0;
    const char *p = name + n + 1;
    if (strncmp(name, prefix, n) != 0 || name[n] != '.' || *p < '1' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (t > (INT64_MAX - 9) / 10)
            return -1;
        t = t * 10 + (*p - '0');
    }
    return strcmp(p, ".jwk") == 0 ? t : -1;
}

static int by_time(const void *a, const void *b)
{
    int64_t x = ((const rotated *)a)->t, y = ((const rotated *)b)->t;
    return (x > y) - (x < y);
}

/* The ring of prefix.jwk and its rotated successors still needed at now. */
static bool ring_for(const char *dir, const char *prefix, ag_alg alg, int64_t now, int64_t keep,
                     ag_keyring **out)
{
    static rotated files[ROTATED_MAX + 1]; /* main thread only */
    size_t n = 1;
    DIR *d = opendir(dir);
    struct dirent *de;
    bool ok = d != NULL;
    files[0].t = 0;
    snprintf(files[0].path, sizeof(files[0].path), "%s/%s.jwk", dir, prefix);
    while (ok && (de = readdir(d)) != NULL) {
        int64_t t = rotated_time(de->d_name, prefix);
        if (t <= 0)
            continue;
        if (n > ROTATED_MAX) {
            fprintf(stderr, "authgate-demo: more than %d rotated %s keys in %s\n", ROTATED_MAX,
                    prefix, dir);
            ok = false;
            break;
        }
        files[n].t = t;
        snprintf(files[n].path, sizeof(files[n].path), "%s/%s", dir, de->d_name);
        n++;
    }
    if (d != NULL)
        closedir(d);
    if (!ok)
        return false;
    qsort(files + 1, n - 1, sizeof(files[0]), by_time);
    if (ag_keyring_new(NULL, out) != AG_OK)
        return false;
    for (size_t i = 0; ok && i < n; i++) {
        /* every token key i signed expired keep seconds after key i+1 took over */
        if (i + 1 < n && files[i + 1].t <= now - keep)
            continue;
        ag_key *k = NULL;
        ok = load_key(files[i].path, alg, &k);
        if (ok && ag_keyring_add(*out, k) != AG_OK) {
            fprintf(stderr, "authgate-demo: key file %s repeats a key id\n", files[i].path);
            ok = false;
        }
        ag_key_free(k);
    }
    if (!ok) {
        ag_keyring_free(*out);
        *out = NULL;
    }
    return ok;
}

bool demo_keys_rings(const char *dir, ag_alg alg, int64_t now, int64_t keep_access,
                     int64_t keep_refresh, ag_keyring **access, ag_keyring **refresh)
{
    *access = *refresh = NULL;
    if (ring_for(dir, "access", alg, now, keep_access, access) &&
        ring_for(dir, "refresh", alg, now, keep_refresh, refresh))
        return true;
    ag_keyring_free(*access);
    *access = NULL;
    return false;
}

bool demo_keys_rotate(const char *dir, ag_alg alg, int64_t now)
{
    char path[4096];
    ag_key *a = NULL, *r = NULL;
    bool ok;
    snprintf(path, sizeof(path), "%s/access.%lld.jwk", dir, (long long)now);
    ok = access(path, F_OK) != 0 && create_key(path, alg, &a);
    snprintf(path, sizeof(path), "%s/refresh.%lld.jwk", dir, (long long)now);
    ok = ok && access(path, F_OK) != 0 && create_key(path, alg, &r);
    if (ok)
        printf("rotated keys: access %s, refresh %s\n", ag_key_kid(a), ag_key_kid(r));
    else
        fprintf(stderr,
                "authgate-demo: key rotation at %lld failed (a pair for that second "
                "may exist already)\n",
                (long long)now);
    fflush(stdout);
    ag_key_free(a);
    ag_key_free(r);
    return ok;
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate-demo — the user table.
 *
 * Passwords are never kept: each user has a 16-byte random salt and
 * PBKDF2-HMAC-SHA256(password, salt, DEMO_PBKDF2_ITER) from OpenSSL's
 * EVP_KDF "PBKDF2". A login hashes the presented password with the user's
 * salt and compares the 32-byte results in constant time (ag_ct_equal).
 *
 * Unknown users are hashed too, against a dummy record made at startup,
 * so "no such user" and "wrong password" cost the same work and get the
 * same answer: response time does not reveal which names exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "demo.h"

/* OWASP's 2023 figure for PBKDF2-HMAC-SHA256 is 600,000; the demo uses
 * 210,000 (about 60 ms on one core) so that its test suite stays quick.
 * A production service should raise it or use scrypt/Argon2. */
#define DEMO_PBKDF2_ITER 210000u
#define DEMO_SALT_LEN 16
#define DEMO_HASH_LEN 32
#define DEMO_PASSWORD_MAX 1024

typedef struct demo_user {
    char name[AG_SUBJECT_MAX_LEN + 1];
    size_t name_len;
    uint8_t salt[DEMO_SALT_LEN];
    uint8_t hash[DEMO_HASH_LEN];
} demo_user;

struct demo_users {
    EVP_KDF *kdf; /* fetched once, shared by every thread */
    size_t n;
    demo_user dummy; /* hashed against when the name is unknown */
    demo_user users[DEMO_MAX_USERS];
};

static bool pbkdf2(EVP_KDF *kdf, const char *pw, size_t pw_len, const uint8_t *salt,
                   uint8_t out[DEMO_HASH_LEN])
{
    unsigned iter = DEMO_PBKDF2_ITER;
    OSSL_PARAM params[5];
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    bool ok;
    if (ctx == NULL)
        return false;
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, pw_len);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, DEMO_SALT_LEN);
    params[2] = OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter);
    params[3] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[4] = OSSL_PARAM_construct_end();
    ok = EVP_KDF_derive(ctx, out, DEMO_HASH_LEN, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok;
}

static bool make_user(EVP_KDF *kdf, const char *name, size_t name_len, const char *pw, demo_user *u)
{
    if (name_len > AG_SUBJECT_MAX_LEN)
        return false;
    memcpy(u->name, name, name_len);
    u->name[name_len] = '\0';
    u->name_len = name_len;
    return ag_random(u->salt, DEMO_SALT_LEN) == AG_OK &&
           pbkdf2(kdf, pw, strlen(pw), u->salt, u->hash);
}

bool demo_users_new(const demo_user_arg *args, size_t n, demo_users **out)
{
    demo_users *u = calloc(1, sizeof(*u));
    bool ok = u != NULL && n <= DEMO_MAX_USERS;
    if (ok)
        u->kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
    ok = ok && u->kdf != NULL;
    /* The dummy's password is random: nothing can ever match it. */
    if (ok) {
        uint8_t rnd[24];
        char pw[sizeof(rnd) * 2 + 1];
        ok = ag_random(rnd, sizeof(rnd)) == AG_OK;
        for (size_t i = 0; i < sizeof(rnd); i++)
            snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
        ok = ok && make_user(u->kdf, "", 0, pw, &u->dummy);
        ag_cleanse(pw, sizeof(pw));
    }
    for (size_t i = 0; ok && i < n; i++)
        ok = make_user(u->kdf, args[i].name, args[i].name_len, args[i].password, &u->users[i]);
    if (!ok) {
        demo_users_free(u);
        return false;
    }
    u->n = n;
    *out = u;
    return true;
}

bool demo_users_check(const demo_users *u, const char *name, size_t name_len, const char *password,
                      size_t password_len)
{
    const demo_user *found = NULL;
    uint8_t got[DEMO_HASH_LEN];
    bool ok;

    if (password_len > DEMO_PASSWORD_MAX)
        return false; /* bounded work per request */
    /* User names are not secret; a plain scan is fine. */
    for (size_t i = 0; i < u->n; i++) {
        if (u->users[i].name_len == name_len && memcmp(u->users[i].name, name, name_len) == 0)
            found = &u->users[i];
    }
    /* Same work whether or not the name exists. */
    if (!pbkdf2(u->kdf, password, password_len, found ? found->salt : u->dummy.salt, got))
        return false;
    ok = ag_ct_equal(got, found ? found->hash : u->dummy.hash, DEMO_HASH_LEN) == 1;
    ag_cleanse(got, sizeof(got));
    return ok && found != NULL;
}

void demo_users_free(demo_users *u)
{
    if (u == NULL)
        return;
    EVP_KDF_free(u->kdf);
    ag_cleanse(u, sizeof(*u));
    free(u);
}

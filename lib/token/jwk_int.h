/* SPDX-License-Identifier: MIT */
/*
 * authgate — internals shared by the JWK files (not installed): jwk.c
 * (import) and jwk_export.c (export, thumbprints).
 */
#ifndef AUTHGATE_JWK_INT_H
#define AUTHGATE_JWK_INT_H

#include <jansson.h>

/* Overwrites every string value in a jansson tree (private members may be
 * in it), then drops the reference. NULL is a no-op. (jwk.c) */
void ag__json_wipe_decref(json_t *j);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * authgate — sized structs: the library's one reading of a caller's
 * `size` member (error.h, "Structs that grow without breaking binaries").
 */
#include <string.h>

#include "common_int.h"

ag_err ag__sized_in(const void *in, void *local, size_t full)
{
    if (in == NULL)
        return AG_OK;
    size_t n;
    memcpy(&n, in, sizeof n); /* every sized struct starts with size_t size */
    if (n < sizeof(size_t))
        return AG_ERR_INVALID_ARGUMENT;
    /* a newer caller's struct: fine while what we do not know is unset */
    const uint8_t *extra = (const uint8_t *)in + full;
    for (size_t i = 0; n > full && i < n - full; i++)
        if (extra[i] != 0)
            return AG_ERR_INVALID_ARGUMENT;
    memset(local, 0, full);
    memcpy(local, in, n < full ? n : full);
    return AG_OK;
}

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

ag_err ag__sized_out(const void *out, size_t base)
{
    size_t n;
    memcpy(&n, out, sizeof n); /* every sized struct starts with size_t size */
    return n >= base ? AG_OK : AG_ERR_INVALID_ARGUMENT;
}

void ag__sized_clear(void *out, size_t base)
{
    memset((uint8_t *)out + sizeof(size_t), 0, base - sizeof(size_t));
}

/* SPDX-License-Identifier: MIT */
/*
 * authgate — sized structs: the library's one reading of a caller's
 * `size` member (error.h, "Structs that grow without breaking binaries").
 */
#include <string.h>

#include "common_int.h"

ag_err ag__sized_check(const void *in, size_t full, size_t base)
{
    size_t n;
    memcpy(&n, in, sizeof n); /* every sized struct starts with size_t size */
    /* below the struct's first published layout: not made with AG_INIT
     * (0), or a stray value; far above ours: not a size a header of ours
     * ever had, and not a reason to read that far past the struct */
    if (n < base || n > full + AG__SIZED_SLACK)
        return AG_ERR_INVALID_ARGUMENT;
    /* a newer caller's struct: fine while what we do not know is unset */
    const uint8_t *extra = (const uint8_t *)in + full;
    for (size_t i = 0; n > full && i < n - full; i++)
        if (extra[i] != 0)
            return AG_ERR_INVALID_ARGUMENT;
    return AG_OK;
}

ag_err ag__sized_in(const void *in, void *local, size_t full, size_t base)
{
    if (in == NULL)
        return AG_OK;
    if (ag__sized_check(in, full, base) != AG_OK)
        return AG_ERR_INVALID_ARGUMENT;
    size_t n;
    memcpy(&n, in, sizeof n);
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

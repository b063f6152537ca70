/* SPDX-License-Identifier: MIT */
/* authgate — error names and descriptions, generated from AG_ERR_MAP. */
#include "authgate/error.h"

#define AG__ERR_TEXT(name, num, reason, text) [num] = text,
#define AG__ERR_NAME(name, num, reason, text) [num] = "AG_ERR_" #name,
#define AG__ERR_REASON(name, num, reason, text) [num] = reason,

static const char *const err_text[AG_ERR_COUNT_] = {AG_ERR_MAP(AG__ERR_TEXT)};
static const char *const err_name[AG_ERR_COUNT_] = {AG_ERR_MAP(AG__ERR_NAME)};
static const char *const err_reason[AG_ERR_COUNT_] = {AG_ERR_MAP(AG__ERR_REASON)};

static int known(ag_err e)
{
    return (int)e >= 0 && (int)e < AG_ERR_COUNT_ && err_text[e] != NULL;
}

const char *ag_strerror(ag_err err)
{
    return known(err) ? err_text[err] : "unknown error";
}

const char *ag_err_name(ag_err err)
{
    if (err == AG_OK)
        return "AG_OK";
    return known(err) ? err_name[err] : "AG_ERR_?";
}

const char *ag_err_reason(ag_err err)
{
    return known(err) ? err_reason[err] : "unknown error";
}

/* SPDX-License-Identifier: MIT */
/* authgate — the run-time version (include/authgate/version.h). */
#include "authgate/version.h"

const char *ag_version(void)
{
    return AG_VERSION_STRING;
}

unsigned long ag_version_number(void)
{
    return (unsigned long)AG_VERSION_NUMBER;
}

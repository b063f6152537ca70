/* SPDX-License-Identifier: MIT */
#include "pg_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cluster_start(char *dir, size_t dircap, char *conninfo, size_t cap)
{
    snprintf(dir, dircap, "/tmp/ag-pg-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return false;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' start '%s' --owner %d", SCRIPT, dir, (int)getpid());
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return false;
    bool ok = fgets(conninfo, (int)cap, f) != NULL;
    if (pclose(f) != 0)
        ok = false;
    if (ok)
        conninfo[strcspn(conninfo, "\n")] = '\0';
    return ok && conninfo[0] != '\0';
}

int cluster(const char *what, const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' >/dev/null", SCRIPT, what, dir);
    return system(cmd);
}

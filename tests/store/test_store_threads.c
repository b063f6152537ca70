/* SPDX-License-Identifier: MIT */
/*
 * The conformance races of every backend, in one program with the
 * ctest label `threads` so scripts/test also runs it under TSan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authgate/store.h"
#include "conformance.h"
#include "testsupport.h"

static ag_err make_mem(void *ctx, size_t capacity, ag_store **out)
{
    (void)ctx;
    ag_store_memory_config cfg = {.size = sizeof(ag_store_memory_config),
                                  .capacity = capacity != 0 ? capacity : 4096};
    return ag_store_memory_new(&cfg, out);
}

static const ag_conformance_backend mem_backend = {"memory", make_mem, NULL, NULL, true};

#ifdef AG_HAVE_SQLITE
static char tmpdir[] = "/tmp/ag-store-threads-XXXXXX";
static int seq;

static ag_err make_sqlite(void *ctx, size_t capacity, ag_store **out)
{
    (void)ctx;
    (void)capacity;
    char path[128];
    snprintf(path, sizeof path, "%s/s%d-%d.db", tmpdir, (int)getpid(), seq++);
    ag_store_sqlite_config cfg = {.size = sizeof(ag_store_sqlite_config), .path = path};
    return ag_store_sqlite_open(&cfg, out);
}

static const ag_conformance_backend sqlite_backend = {"sqlite", make_sqlite, NULL, NULL, false};
#endif

int main(void)
{
    Suite *s = suite_create("store_threads");
    suite_add_tcase(s, ag_conformance_tcase_races(&mem_backend));
#ifdef AG_HAVE_SQLITE
    if (mkdtemp(tmpdir) == NULL)
        return EXIT_FAILURE;
    suite_add_tcase(s, ag_conformance_tcase_races(&sqlite_backend));
#endif
    int rc = ag_test_run(s);
#ifdef AG_HAVE_SQLITE
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        rc = EXIT_FAILURE;
#endif
    return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * A throwaway PostgreSQL cluster for the PostgreSQL test programs
 * (test_store_pg, test_revsync_pg): scripts/pg-test-server, which stops
 * the cluster when the owning process is gone.
 */
#ifndef AG_TEST_PG_CLUSTER_H
#define AG_TEST_PG_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#define SCRIPT AG_SOURCE_DIR "/scripts/pg-test-server"

/* Starts a throwaway cluster in a new directory; fills conninfo. */
bool cluster_start(char *dir, size_t dircap, char *conninfo, size_t cap);
/* scripts/pg-test-server WHAT DIR, its output discarded; its exit status. */
int cluster(const char *what, const char *dir);

#endif

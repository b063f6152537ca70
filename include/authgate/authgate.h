/* SPDX-License-Identifier: MIT */
/*
 * authgate — JWT access and refresh tokens for C web services.
 *
 * The umbrella header. Each layer also has its own self-contained header:
 *   error.h    error codes, spans, allocator, clock, constant-time compare
 *   version.h  AG_VERSION_* and ag_version() (generated at build time)
 *   token.h    algorithms, keys, keyrings, issuing and verifying tokens
 *   store.h    the refresh-session store interface and its backends
 *   session.h  issue pairs, rotate refresh tokens, detect reuse, revoke
 *   http.h     credentials from headers and cookies; Set-Cookie; RFC 6750
 *   mhd.h      the libmicrohttpd adapter (separate library authgate-mhd)
 *   events.h   a process-wide callback for what happens (refusals, reuse…)
 *   metrics.h  process-wide counters and latency histograms; Prometheus text
 *
 * Conventions (they hold for every function unless its comment says
 * otherwise):
 *
 *  - Errors. Fallible functions return ag_err: AG_OK (0) or one failure
 *    class. They are marked AG_NODISCARD. Nothing prints, sets errno or
 *    keeps a "last error"; ag_strerror() describes a code.
 *  - NULL. Pointer parameters must not be NULL unless documented ("or
 *    NULL"); a NULL where one is not allowed gives AG_ERR_INVALID_ARGUMENT,
 *    never a crash. ag_*_free(NULL) is always a no-op.
 *  - Ownership. Constructors write a new object to **out; the caller frees
 *    it with the matching ag_*_free(). Strings returned as char * are freed
 *    with ag_free(). ag_span values are views: they point into memory owned
 *    by someone else and say whose in the function's comment.
 *  - Untrusted input is (pointer, length) and may contain any byte; it is
 *    never read past its length and never needs a NUL terminator.
 *  - Threads. Keyrings (once frozen), verifiers, issuers, policies and
 *    session managers are immutable and may be shared by any number of
 *    threads without locks. Per-call output (ag_claims …) belongs to the
 *    caller. Stores are internally synchronised.
 *  - Memory. Verification allocates nothing on the heap (HMAC: nothing at
 *    all; signatures: only what OpenSSL does internally). Long-lived
 *    objects allocate through an optional ag_allocator from their config.
 *    Secrets are cleansed before their memory is freed.
 *  - Units. Times are int64_t seconds since the Unix epoch; durations are
 *    int64_t seconds; sizes are size_t bytes.
 */
#ifndef AUTHGATE_H
#define AUTHGATE_H

#include "error.h"
#include "events.h"
#include "http.h"
#include "metrics.h"
#include "revocation.h"
#include "session.h"
#include "store.h"
#include "token.h"

#endif

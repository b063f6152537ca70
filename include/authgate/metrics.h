/* SPDX-License-Identifier: MIT */
/*
 * authgate — metrics: counters and latency histograms of what the library
 * does, summed on demand and written in the Prometheus text format
 * (docs/operations.md says what each series means).
 *
 * Process-wide, like events (events.h): every verifier, session manager
 * and store in the process counts into the same series. Counters live in
 * per-thread shards (cache-line separated, relaxed atomic adds): no lock,
 * no allocation, and on the verify path one add and, for one verify in 8
 * per thread, two monotonic clock reads for the latency histogram (the
 * sampled share keeps the HS256 hot path within 5 % of metrics off,
 * bench/README.md). Refresh and store calls are timed every time.
 *
 * Latency buckets are fixed and the same everywhere (AG_METRICS_BOUNDS_NS):
 * 250 ns to 5 s in 1-2.5-5 steps, then +Inf.
 */
#ifndef AUTHGATE_METRICS_H
#define AUTHGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One past the highest ag_verify_cause (error.h). @since 0.2 */
#define AG_VERIFY_CAUSE_COUNT_ 13

/** Store operations, as counted (one per ag_store_* wrapper that reaches
 * the backend). @since 0.2 */
typedef enum ag_store_op {
    AG_STORE_OP_CREATE = 0,
    AG_STORE_OP_ROTATE = 1,
    AG_STORE_OP_LOOKUP = 2,
    AG_STORE_OP_REVOKE_FAMILY = 3,
    AG_STORE_OP_REVOKE_SUBJECT = 4,
    AG_STORE_OP_EVICT = 5,
    AG_STORE_OP_PURGE = 6,
    AG_STORE_OP_LOG_APPEND = 7,
    AG_STORE_OP_LOG_READ = 8,
    AG_STORE_OP_LOG_PURGE = 9
} ag_store_op;
#define AG_STORE_OP_COUNT_ 10

/** Name of a store operation ("create", "rotate", …; "" if unknown). @since 0.2 */
AG_API const char *ag_store_op_name(ag_store_op op);

/** Number of latency buckets, the last one +Inf; fixed, with their bounds,
 * for the life of the SONAME (ag_histogram's layout). @since 0.2 */
#define AG_METRICS_BUCKETS 24
/** Upper bounds of the finite buckets, in nanoseconds. @since 0.2 */
#define AG_METRICS_BOUNDS_NS                                                                       \
    {                                                                                              \
        250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, \
            5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,    \
            2500000000u, 5000000000u                                                               \
    }

/** A latency histogram. bucket[i] counts observations in (bound[i-1],
 * bound[i]] (not cumulative); bucket[AG_METRICS_BUCKETS - 1] those above
 * the last bound. count is their sum, sum_ns the total time. @since 0.2 */
typedef struct ag_histogram {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t bucket[AG_METRICS_BUCKETS];
} ag_histogram;

/*
 * Fixed capacities of ag_metrics' arrays for the life of the SONAME, so a
 * new error code, cause, store operation or revoke reason fills a spare
 * slot instead of moving every member after it. The library checks at
 * build time that its counts fit. @since 0.2
 */
#define AG_METRICS_ERR_SLOTS 48   /**< ≥ AG_ERR_COUNT_ */
#define AG_METRICS_CAUSE_SLOTS 24 /**< ≥ AG_VERIFY_CAUSE_COUNT_ */
#define AG_METRICS_OP_SLOTS 16    /**< ≥ AG_STORE_OP_COUNT_ */
#define AG_METRICS_REASON_SLOTS 8 /**< > the highest ag_revoke_reason */

/**
 * Everything counted since the process started (or since the last
 * ag_metrics_reset()). Counters indexed by ag_err count outcomes: [AG_OK]
 * successes, [AG_ERR_EXPIRED] expired tokens, and so on; slots past the
 * library's counts stay 0. About 20 KiB.
 * Start from AG_INIT (error.h): `ag_metrics m = AG_INIT(ag_metrics);`.
 * @since 0.2
 */
typedef struct ag_metrics {
    size_t size; /**< sizeof(ag_metrics): set by AG_INIT; kept by ag_metrics_snapshot() */
    /** ag_verify() calls, by result and cause (AG_CAUSE_AUD …); a verify the
     * session layer makes for a refresh token counts here too */
    uint64_t verify[AG_METRICS_ERR_SLOTS][AG_METRICS_CAUSE_SLOTS];
    uint64_t refresh[AG_METRICS_ERR_SLOTS]; /**< ag_session_refresh() by result; reuse is
                                          [AG_ERR_REUSED] */
    uint64_t refresh_replayed;              /**< of refresh[AG_OK]: replays within the interval */
    uint64_t login[AG_METRICS_ERR_SLOTS];   /**< ag_session_issue() (a login) by result */
    uint64_t logout[AG_METRICS_ERR_SLOTS];  /**< ag_session_logout() and _logout_all() by result */
    uint64_t revoked[AG_METRICS_REASON_SLOTS]; /**< families ended, by ag_revoke_reason (store.h) */
    uint64_t store[AG_METRICS_OP_SLOTS]
                  [AG_METRICS_ERR_SLOTS];      /**< backend calls by op and result */
    uint64_t jwks_fetch[AG_METRICS_ERR_SLOTS]; /**< remote JWKS fetches by result */
    uint64_t keys_changed;                     /**< key set swaps (verifiers, issuers) */
    ag_histogram verify_latency;               /**< sampled: 1 verify in 8 per thread */
    ag_histogram refresh_latency; /**< whole ag_session_refresh(): verify, rotate, issue */
    ag_histogram store_latency[AG_METRICS_OP_SLOTS];
} ag_metrics;

/**
 * Turns counting on (the default) or off, process-wide. Off, the verify
 * path skips the counters and the clock (the bench's "metrics off" row).
 * Thread safety: safe; counts in flight may land on either side.
 * @since 0.2
 */
AG_API void ag_metrics_enable(bool on);

/** Whether counting is on. @since 0.2 */
AG_API bool ag_metrics_enabled(void);

/**
 * Sums every shard into *out. A snapshot taken while other threads count
 * is not one instant: each counter is exact, but two counters may be read
 * a few operations apart.
 * @param[out] out  made with AG_INIT(ag_metrics) (error.h); its size is kept
 * Returns: AG_OK; AG_ERR_INVALID_ARGUMENT (NULL, or out's size below
 * sizeof(ag_metrics): nothing written).
 * Thread safety: safe; allocates nothing.
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_metrics_snapshot(ag_metrics *out);

/**
 * Sets every counter back to zero (tests; an exporter that wants deltas
 * should subtract snapshots instead). Counts made concurrently may be lost.
 * @since 0.2
 */
AG_API void ag_metrics_reset(void);

/**
 * Writes m in the Prometheus text exposition format (version 0.0.4):
 * HELP and TYPE lines, then the series, names prefixed "authgate_".
 * Counters with a result label appear for results that happened (the
 * "ok" series always); histograms always appear whole. Label values are
 * fixed words (docs/operations.md), never data from a request.
 *
 * @param[in]  m    a snapshot (of AG_INIT's size or more)
 * @param[out] buf  receives the text, NUL-terminated
 * @param[in]  cap  size of buf; 64 KiB is plenty for every series
 * @param[out] len  the text's length (without the NUL); on AG_ERR_BUFFER the
 *                  length needed (the text is then cut short)
 * Returns: AG_OK; AG_ERR_BUFFER; AG_ERR_INVALID_ARGUMENT (also for an m
 * whose size is below sizeof(ag_metrics)).
 * Thread safety: safe (touches only its arguments).
 * @since 0.2
 */
AG_API AG_NODISCARD ag_err ag_metrics_write_prometheus(const ag_metrics *m, char *buf, size_t cap,
                                                       size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* AUTHGATE_METRICS_H */

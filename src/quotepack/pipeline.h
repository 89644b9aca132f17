// SPDX-License-Identifier: MIT
/* The quotepack pipeline: wires the fetch, convert and pack stages and runs them. */
#ifndef QP_PIPELINE_H
#define QP_PIPELINE_H

#include <signal.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/config.h"

struct qp_pipeline_stats {
    uint64_t symbols;      /* symbols of this run (after --shard) */
    uint64_t archived;     /* archived by this run */
    uint64_t already;      /* archived by an earlier run, skipped */
    uint64_t reused;       /* converted by an earlier run, packed from its spooled entry */
    uint64_t skipped;      /* failed permanently before and not retried */
    uint64_t failed;       /* failed in this run */
    uint64_t host_skipped; /* of those, failed because their host was given up */
    uint64_t archives;     /* archives written by this run */
    uint64_t csv_bytes;    /* CSV fetched by this run and archived */
    uint64_t xml_bytes;    /* XML made by this run */
    uint64_t requests;     /* HTTP/file requests, retries included */
    uint64_t peak_files;   /* most spool places taken at once */
    uint64_t peak_bytes;   /* most compressed bytes waiting at once */
    double seconds;
    int interrupted;  /* SIGINT/SIGTERM stopped the run */
    int setup_failed; /* the run never started (lock held, unusable directory): already said */
    uint64_t no_rows; /* converted by this run with a header and no rows */
    uint64_t other_delimiter; /* converted by this run with a detected delimiter other than ',' */
    /* --refresh: archived symbols fetched again; of them: 304 answers, bodies equal to the
     * archived one, changed bodies archived again, failures (the archived body stays) */
    uint64_t refreshed;
    uint64_t not_modified;
    uint64_t unchanged;
    uint64_t rearchived;
    uint64_t new_rows_only; /* of rearchived: only their new rows packed (row-level) */
    uint64_t refresh_failed;
};

/**
 * Runs the whole pipeline for cfg (borrowed, immutable) and fills *stats. Symbol failures are
 * counted in stats->failed and recorded in the catalog; they do not make the return non-zero.
 * Returns 0, or a negative errno for a run-level failure (full disk, unusable output
 * directory, another run holding the lock), already reported on stderr. *stop is polled on
 * the calling thread (set it from a signal handler to interrupt). Main thread only; creates
 * the worker processes (--isolate) before any thread.
 */
int qp_pipeline_run(const struct qp_config *cfg, volatile sig_atomic_t *stop,
                    struct qp_pipeline_stats *stats) CORE_MUST_CHECK;

/** Prints the summary to stderr. */
void qp_pipeline_print_summary(const struct qp_config *cfg, const struct qp_pipeline_stats *st);

#endif

// SPDX-License-Identifier: MIT
/* The quotepack pipeline: fetch -> convert -> spool -> pack, with the catalog and progress. */
#ifndef QP_PIPELINE_H
#define QP_PIPELINE_H

#include <signal.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/config.h"

struct qp_pipeline_stats {
    uint64_t symbols;   /* symbols of this run (after --shard) */
    uint64_t archived;  /* archived by this run */
    uint64_t already;   /* archived by an earlier run, skipped */
    uint64_t reused;    /* converted by an earlier run, packed from its spooled XML */
    uint64_t failed;    /* failed in this run */
    uint64_t archives;  /* archives written by this run */
    uint64_t csv_bytes; /* downloaded */
    uint64_t xml_bytes; /* written to the spool */
    uint64_t requests;  /* HTTP/file requests, retries included */
    double seconds;
    int interrupted;          /* SIGINT/SIGTERM stopped the run */
    uint64_t no_rows;         /* converted by this run with a header and no rows */
    uint64_t other_delimiter; /* converted by this run with a detected delimiter other than ',' */
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

/** Prints the summary (and the failed symbols) to stderr. */
void qp_pipeline_print_summary(const struct qp_config *cfg, const struct qp_pipeline_stats *st);

#endif

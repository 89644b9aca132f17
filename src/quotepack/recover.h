// SPDX-License-Identifier: MIT
/* What a run does first: bring the catalog, the archives and the spool into agreement. */
#ifndef QP_RECOVER_H
#define QP_RECOVER_H

#include <stdint.h>

#include "core/compiler.h"

struct qp_run;
struct qp_catalog;

struct qp_recover_stats {
    uint64_t symbols;   /* of this run */
    uint64_t already;   /* archived by an earlier run: skipped */
    uint64_t refreshed; /* archived by an earlier run, fetched again (cfg->refresh) */
    uint64_t reused;    /* converted by an earlier run, entry intact in the spool: packed as is */
    uint64_t skipped;   /* failed permanently before, not asked to retry: skipped */
};

/*
 * Main thread, with the directory lock held and before any thread starts (docs/quotepack.md,
 * "What a rerun does"):
 *   - records new symbols as pending (or, with cfg->only_failed, takes the catalog's failed
 *     ones as the run's symbols);
 *   - deletes temporary archives and archives the catalog does not record (a run killed
 *     between rename and commit): their symbols are still converted or earlier;
 *   - for each symbol: archived -> skipped (with cfg->refresh: queued for fetching with its
 *     validators, its row left archived); converted with an intact spooled entry of this
 *     format -> queued for packing; failed permanently -> skipped unless retry_failed;
 *     anything else -> pending and queued for fetching, in input order;
 *   - converted symbols this run does not name go back to pending;
 *   - deletes every spool file that holds nothing kept.
 * Fills run's symbol table, todo list and ready queue. 0 or -errno.
 */
int qp_recover(struct qp_run *run, struct qp_catalog *cat,
               struct qp_recover_stats *st) CORE_MUST_CHECK;

/**
 * Removes what an interrupted run or compaction can leave in dir: temporary archives, and
 * archives the catalog does not record (written but never recorded, or forgotten by a
 * compaction that was killed before it deleted them). Main thread, lock held. 0 or -errno.
 */
int qp_recover_clean_dir(const char *dir, struct qp_catalog *cat) CORE_MUST_CHECK;

#endif

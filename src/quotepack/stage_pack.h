// SPDX-License-Identifier: MIT
/* The pack stage: archives the converted symbols N at a time and writes the catalog. */
#ifndef QP_STAGE_PACK_H
#define QP_STAGE_PACK_H

#include "core/compiler.h"

struct qp_run;
struct qp_catalog;

/*
 * Thread "pack": owns the catalog connection from start to join. It writes the state changes
 * the other stages queue (coalesced, at most one transaction a second), and forms each
 * archive from the next --batch symbols of the ready queue, in the order they were converted
 * (fewer when the spool's byte bound is reached, and for the last archive of the run):
 *   1. copy their spooled entries into DIR/.quotes-<seq>.<ext>.tmp, fsync, rename, fsync DIR;
 *   2. one transaction: the queued changes, every member converted -> archived with the
 *      archive's name, the archive's row (membership is recorded here, at commit);
 *   3. release their spool entries, and wake the fetch stage (the window has room again).
 * A failure at any step stops the run (the archive is taken back if step 2 failed).
 */
struct qp_pack_stage;

/** Starts the thread; cat is used by it until qp_pack_stage_join returns. Main thread. */
int qp_pack_stage_start(struct qp_pack_stage **out, struct qp_run *run,
                        struct qp_catalog *cat) CORE_MUST_CHECK;
/**
 * Waits for the thread (it ends once qp_run_upstream_done was called and it packed or, when
 * stopping, flushed what was left) and frees. Accepts NULL. Main thread.
 */
void qp_pack_stage_join(struct qp_pack_stage *ps);

#endif

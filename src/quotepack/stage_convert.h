// SPDX-License-Identifier: MIT
/* The convert stage: CSV body -> XML -> compressed archive entry in the spool, on every core. */
#ifndef QP_STAGE_CONVERT_H
#define QP_STAGE_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

struct qp_run;
struct qp_body;

/*
 * Threads: a core_pool of --jobs threads ("convert/N"); with --isolate twice as many, each
 * handing its symbol to one of --jobs worker processes (core_procpool) and waiting. A symbol
 * is streamed: the body is read in pieces (body.h), converted (qp_convert_stream), framed as
 * a tar entry and compressed as it comes (member.h), and appended to the thread's spool
 * segment (spool.h), so no stage holds a whole document. In a worker process the same steps
 * run there, writing into the parent thread's segment at the place it reserved; the parent
 * compresses nothing. Then the symbol is reported converted or failed (run.h); a spool write
 * error (a full disk) stops the run.
 */
struct qp_convert_stage;

/**
 * Creates the stage; with cfg->isolate it forks the worker processes, so call it before any
 * thread exists. Main thread. *out NULL on failure.
 */
int qp_convert_stage_create(struct qp_convert_stage **out, struct qp_run *run) CORE_MUST_CHECK;
/** Starts the pool threads. Main thread, after recover (the spool is open). */
int qp_convert_stage_start(struct qp_convert_stage *cs) CORE_MUST_CHECK;
/**
 * Queues the conversion of symbol idx; body ownership passes (freed even on failure). Waits
 * while the backlog is full: the fetch thread's backpressure. Fetch thread.
 */
void qp_convert_stage_submit(struct qp_convert_stage *cs, size_t idx, struct qp_body *body);
/** Finishes the queued work (cancel: drops it instead) and joins the threads. Main thread. */
void qp_convert_stage_shutdown(struct qp_convert_stage *cs, bool cancel);
/** Frees (after shutdown), stopping the worker processes. Accepts NULL. Main thread. */
void qp_convert_stage_destroy(struct qp_convert_stage *cs);

#endif

// SPDX-License-Identifier: MIT
/* The fetch stage: one thread drives the downloads and hands each body to the convert stage. */
#ifndef QP_STAGE_FETCH_H
#define QP_STAGE_FETCH_H

#include <stdint.h>

#include "core/compiler.h"

struct qp_run;
struct qp_convert_stage;

/*
 * Thread "fetch": qp_fetch_run (fetch.h) with the run as its source of work: symbols are
 * admitted in input order while the spool window has room (qp_run_admit), each body goes to
 * the convert stage (blocking while its backlog is full), each failure to the run. The window
 * reopening (a pack, a failure) wakes it through curl_multi_wakeup.
 */
struct qp_fetch_stage;

/** Creates the stage (no thread yet). Main thread. *out NULL on failure. */
int qp_fetch_stage_create(struct qp_fetch_stage **out, struct qp_run *run,
                          struct qp_convert_stage *cs) CORE_MUST_CHECK;
/** Starts the fetch thread. Main thread. */
int qp_fetch_stage_start(struct qp_fetch_stage *fs) CORE_MUST_CHECK;
/** Makes the thread abandon its transfers and end soon. Any thread. */
void qp_fetch_stage_stop(struct qp_fetch_stage *fs);
/** Waits for the thread to end (if it was started). Main thread. */
void qp_fetch_stage_join(struct qp_fetch_stage *fs);
/** Frees (after join). Accepts NULL. Main thread. */
void qp_fetch_stage_destroy(struct qp_fetch_stage *fs);

/** Downloaded bytes so far, requests so far, hosts given up. Any thread. */
uint64_t qp_fetch_stage_bytes(struct qp_fetch_stage *fs);
uint64_t qp_fetch_stage_requests(struct qp_fetch_stage *fs);
uint64_t qp_fetch_stage_hosts_given_up(struct qp_fetch_stage *fs);
/** 304 answers so far. Any thread. */
uint64_t qp_fetch_stage_not_modified(struct qp_fetch_stage *fs);

#endif

// SPDX-License-Identifier: MIT
/* Failpoints: the process dies at a chosen durable step, for the crash-recovery walk. */
#ifndef QP_FAILPOINT_H
#define QP_FAILPOINT_H

#include <stdbool.h>

/*
 * QUOTEPACK_FAILPOINT (docs/quotepack.md, "Test hooks"), read once by qp_failpoint_init():
 *   N          the process kills itself with SIGKILL right before its Nth durable step
 *   KIND:N     ... before its Nth step of that kind
 *   count      nothing dies; at exit the steps taken are printed on stderr, per kind
 * Kinds: spool-write, archive-write, fsync, rename, unlink, catalog-commit, archive-commit.
 * qp_failpoint("rename") is placed right before each such step. Steps are counted over the
 * whole process (every thread, one atomic counter per kind and one in all) and only in the
 * process that called qp_failpoint_init() (an --isolate worker counts nothing). Unset, a call
 * costs one predictable branch on a flag written before any thread starts.
 */
extern bool qp_failpoint_enabled; /* written by qp_failpoint_init() only, before any thread */

/** Parses QUOTEPACK_FAILPOINT (main, before any thread). 0, or -1 after a message (bad value). */
int qp_failpoint_init(void);

/** The slow path of qp_failpoint(): counts the step, and dies if it is the chosen one. */
void qp_failpoint_hit(const char *kind);

/** Before a durable step of the given kind (any thread). */
static inline void qp_failpoint(const char *kind)
{
    if (__builtin_expect(qp_failpoint_enabled, 0)) {
        qp_failpoint_hit(kind);
    }
}

#endif

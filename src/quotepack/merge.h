// SPDX-License-Identifier: MIT
/* compact --max-generations: merges a symbol's row-level generations into one member. */
#ifndef QP_MERGE_H
#define QP_MERGE_H

#include <stddef.h>

#include "core/compiler.h"
#include "quotepack/catalog.h"

/*
 * For every archived symbol whose history (its unreplaced generations and current member,
 * history.h) has more than max_gen members, the joined document (exactly what `cat` gives)
 * becomes one member `<SYMBOL>.xml` of a new archive, one archive for all such symbols:
 *   1. written and checked (each member read against its size and CRC-32), DIR/.quotes-<seq>
 *      temp name, fsync, rename, fsync DIR (pack.c);
 *   2. one transaction records the archive and moves every merged symbol to it as a whole
 *      member (qp_catalog_rearchive without keep: its earlier generations become replaced);
 * The replaced generations are then dropped by the compaction that follows (compact.c).
 * Killed before 2, the new archive is unrecorded (deleted by the next start); after it, the
 * old members are replaced generations, still where they were. Main thread, DIR locked.
 */

/** Merges; *merged = symbols merged. Errors are printed. 0 or -errno. */
int qp_merge_generations(const char *dir, struct qp_catalog *cat, unsigned long max_gen,
                         size_t *merged) CORE_MUST_CHECK;

#endif

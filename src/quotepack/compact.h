// SPDX-License-Identifier: MIT
/* quotepack compact DIR: merges row-level generations, drops replaced ones (too many). */
#ifndef QP_COMPACT_H
#define QP_COMPACT_H

#include <stdio.h>

/*
 * A symbol's generations are its current member and the earlier members a refresh replaced
 * (catalog.h, the generations table); every row of a replaced one is in the current member.
 * For every symbol with more than max_generations generations, compaction forgets all its
 * replaced ones. Each archive that held one of them is, in this order:
 *   1. rewritten without them into a new archive (DIR/.quotes-<seq>.tmp, fsync, rename, fsync
 *      DIR), unless nothing else is left in it;
 *   2. one transaction: its remaining symbols and generations move to the new archive, the
 *      dropped generations and the old archive's row go, the new archive's row comes;
 *   3. the old archive file is deleted (fsync DIR).
 * Before that, a symbol with more than max_generations row-level generations has them merged
 * into one whole member (merge.h), which turns them into replaced generations.
 * Killed anywhere, the catalog records either the old archive or the new one: the other is an
 * unrecorded archive, which the next run or compaction deletes first (qp_recover_clean_dir).
 * Under DIR/.lock like a run. Main thread only.
 */

/** `quotepack compact DIR [--max-generations N]` (argv[0] is "compact"). Exit status. */
int qp_cmd_compact(int argc, char **argv, FILE *out);

#endif

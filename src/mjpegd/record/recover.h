// SPDX-License-Identifier: MIT
/* Recovery at start (and after an error): temp files removed, committed archives listed. */
#ifndef MJD_REC_RECOVER_H
#define MJD_REC_RECOVER_H

#include "core/compiler.h"
#include "mjpegd/record/catalog.h"

/*
 * A crash leaves at most: a temp file ".NAME.tmp" of the segment being written (never
 * committed: removed), and an archive committed under its final name whose catalog row was
 * not inserted yet (read back from its index.tsv and listed). Rows whose file is gone are
 * deleted. Runs on the source's writer thread (record/N), before it writes.
 */
struct mjd_rec_recovery {
    unsigned temp_removed; /* temp files unlinked */
    unsigned listed;       /* committed archives added to the catalog */
    unsigned rows_dropped; /* rows whose archive was missing */
    unsigned unreadable;   /* .tar files that are not complete segments: left alone, logged */
};

/**
 * Recovers srcdir (DIR/<source>) against cat; an archive it lists gets reason (the recorder's
 * mode: "always" or "motion"). 0 or the first error (-errno).
 */
int mjd_rec_recover(struct mjd_rec_catalog *cat, const char *srcdir, const char *source,
                    const char *reason, struct mjd_rec_recovery *out) CORE_MUST_CHECK;

/**
 * Reads the segment archive at path: walks its tar headers (checksums checked) to index.tsv
 * and fills row's name-independent fields (start, end, frames, bytes, index_offset) from it.
 * -EINVAL when it is not a complete segment. Any thread.
 */
int mjd_rec_read_segment(const char *path, struct mjd_rec_row *row) CORE_MUST_CHECK;

#endif

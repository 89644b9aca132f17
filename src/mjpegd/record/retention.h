// SPDX-License-Identifier: MIT
/* Retention: the oldest recorded segments are deleted past --keep-size or --keep-days. */
#ifndef MJD_REC_RETENTION_H
#define MJD_REC_RETENTION_H

#include <stdint.h>

#include "core/compiler.h"
#include "mjpegd/record/catalog.h"

/* What one pass deleted. */
struct mjd_rec_retained {
    uint64_t deleted; /* segments */
    uint64_t freed;   /* bytes */
};

/*
 * Deletes the oldest segments of source (catalog order: start time) while its committed
 * segments take more than keep_size bytes (0: no limit) or the oldest one ended more than
 * keep_days days before now_us (0: kept). The segment being written is not in the catalog, so
 * it is never a candidate. Each deletion removes the catalog row first, then the file, so
 * playback never lists a file that is gone (a crash between the two leaves an unlisted file,
 * which recovery lists again and the next pass deletes). Writer thread (record/N).
 */
int mjd_rec_retain(struct mjd_rec_catalog *cat, const char *srcdir, const char *source,
                   uint64_t keep_size, unsigned keep_days, int64_t now_us,
                   struct mjd_rec_retained *out) CORE_MUST_CHECK;

#endif

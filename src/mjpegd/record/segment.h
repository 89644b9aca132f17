// SPDX-License-Identifier: MIT
/* One segment archive being written: a plain tar of JPEG frames, then index.tsv. */
#ifndef MJD_REC_SEGMENT_H
#define MJD_REC_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mjpegd/record/catalog.h"

/*
 * The layout of docs/RECORDING.md: DIR/<YYYYmmddTHHMMSS>Z-<seq>.tar, members <wall_us>.jpg in
 * capture order (the JPEG bytes unchanged), then index.tsv with one line per frame,
 * "<wall_us>\t<data_offset>\t<length>\n". Written through the shared archive writer
 * (src/archive/writer.h): DIR/.NAME.tmp until commit, so a crash leaves either the complete
 * archive under its final name or a temp file that recovery removes.
 * One owner thread (the source's record/N writer); not thread-safe.
 */
struct mjd_rec_index_entry {
    int64_t wall_us;
    uint64_t offset; /* of the JPEG's first byte in the archive */
    uint64_t len;
};

struct mjd_rec_segment {
    struct arc_writer *w; /* NULL when no segment is open */
    char name[MJD_REC_NAME_MAX];
    int64_t start_us; /* first frame's capture time */
    int64_t end_us;   /* the newest frame's */
    struct mjd_rec_index_entry *index;
    size_t nindex, cap;
};

/**
 * The name of a segment whose first frame was captured at wall_us with sequence seq, as
 * "YYYYmmddTHHMMSSZ-SEQ.tar" (UTC). Pure.
 */
void mjd_rec_segment_name(char buf[MJD_REC_NAME_MAX], int64_t wall_us, uint64_t seq);

/**
 * Opens a new segment in dir (top/<source>) for a first frame captured at wall_us with
 * sequence seq. If that name is taken under any source directory of top (an archive or a
 * segment being written: an earlier run whose first segment started in the same second with
 * the same sequence number, or another source recording into top), the next free number is
 * used, so names are unique in top's catalog. s must be closed. Any record/N thread (the
 * choice is serialised across recorders).
 */
int mjd_rec_segment_open(struct mjd_rec_segment *s, const char *top, const char *dir,
                         int64_t wall_us, uint64_t seq) CORE_MUST_CHECK;

/**
 * Appends one frame as member "<wall_us>.jpg". A capture time not after the previous frame's
 * (the clock was set back) is stored as the previous one plus 1 us, so member names are
 * unique and in order.
 */
int mjd_rec_segment_add(struct mjd_rec_segment *s, const void *jpeg, size_t len,
                        int64_t wall_us) CORE_MUST_CHECK;

/**
 * Appends index.tsv and the end of the archive, commits it under its final name and fills
 * *row (but for source and reason). The segment is closed afterwards, whatever the result.
 */
int mjd_rec_segment_commit(struct mjd_rec_segment *s, struct mjd_rec_row *row) CORE_MUST_CHECK;

/** Drops an open segment (its temp file is unlinked). Accepts a closed one. */
void mjd_rec_segment_abort(struct mjd_rec_segment *s);

/** Frees the index buffer; the segment must be closed. */
void mjd_rec_segment_release(struct mjd_rec_segment *s);

#endif

// SPDX-License-Identifier: MIT
/* A recorded segment's frame index: from its index.tsv, or by walking its tar headers. */
#ifndef MJD_PLAYBACK_INDEX_H
#define MJD_PLAYBACK_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* Caps on what a segment file may make a reader allocate (every size here comes from disk). */
#define MJD_PLAYBACK_MAX_FRAMES      1000000
#define MJD_PLAYBACK_MAX_FRAME_BYTES 33554432u /* 32 MiB */
#define MJD_PLAYBACK_MAX_INDEX_BYTES ((size_t)64 * 1024 * 1024)

/* One frame of a segment: its capture time and where its JPEG bytes are in the .tar. */
struct mjd_play_frame {
    int64_t wall_us; /* CLOCK_REALTIME at capture, microseconds */
    uint64_t off;    /* byte offset of the JPEG's first byte in the file */
    uint32_t len;    /* JPEG bytes, 1..MJD_PLAYBACK_MAX_FRAME_BYTES */
};

/* The frames of one segment in file (capture) order. Owned by whoever loaded it. */
struct mjd_play_index {
    struct mjd_play_frame *frames; /* [n], malloc'd */
    size_t n;
};

/**
 * Parses index.tsv text[0..len) (borrowed; "<wall_us>\t<data_offset>\t<length>\n" lines; the
 * text may end early at a NUL, the tar padding) into out, checking every frame against
 * file_size and the caps. 0, -EINVAL (a malformed line, a frame outside the file, no frame),
 * -EFBIG (past a cap) or -ENOMEM; out is empty on failure. Any thread.
 */
int mjd_playback_index_parse(const char *text, size_t len, uint64_t file_size,
                             struct mjd_play_index *out) CORE_MUST_CHECK;

/**
 * Loads the index of the segment open at fd (borrowed, file_size bytes), blocking (preads):
 * index_offset (the catalog's; the index.tsv member's tar header or its first data byte) is
 * tried first, then a walk of the tar headers (each "<wall_us>.jpg" member is a frame). 0 or
 * a negative errno as mjd_playback_index_parse, -EIO on a read error. A playback reader thread.
 */
int mjd_playback_index_load(int fd, uint64_t file_size, int64_t index_offset,
                            struct mjd_play_index *out) CORE_MUST_CHECK;

/** Index of the first frame captured at or after at_us; ix->n when there is none. */
size_t mjd_playback_index_seek(const struct mjd_play_index *ix, int64_t at_us);

/** Frees what ix holds and empties it. Accepts an empty index. */
void mjd_playback_index_release(struct mjd_play_index *ix);

#endif

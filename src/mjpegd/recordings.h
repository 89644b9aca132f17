// SPDX-License-Identifier: MIT
/* The recordings catalogs (DIR/recordings.sqlite, REC_FORMAT in docs/RECORDING.md), read-only. */
#ifndef MJD_RECORDINGS_H
#define MJD_RECORDINGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* Longest segment or source name a URL or a catalog row may carry. */
#define MJD_RECORDINGS_NAME_MAX 128
/* Most segments /recordings lists (the newest are kept past it). */
#define MJD_RECORDINGS_LIST_MAX 100000

/**
 * Whether name[0..len) may be a segment or source name: 1..MJD_RECORDINGS_NAME_MAX bytes of
 * [A-Za-z0-9._-], not starting with '.', so never "..", a path or a hidden file. Any thread.
 */
bool mjd_recordings_name_ok(const char *name, size_t len);

/* Where one segment is, as its catalog says. */
struct mjd_recordings_segment {
    char path[PATH_MAX]; /* DIR/<source>/<name>, built from checked catalog values */
    int64_t start_us;
    int64_t end_us;
    int64_t index_offset;
    int64_t frames;
};

/*
 * The functions below open each catalog read-only (SQLITE_OPEN_READONLY, a busy timeout), run
 * one query and close it: blocking I/O, so a playback reader thread only, never a network loop.
 * dirs[0..ndirs) are the recording folders (borrowed); a folder without a catalog has no
 * segments. A catalog that cannot be read is logged and skipped.
 */

/**
 * Looks name (a checked segment name, borrowed) up in every catalog; the first match fills *out.
 * 0, or -ENOENT when no catalog has it (or its row names an impossible source).
 */
int mjd_recordings_lookup(const char *const *dirs, size_t ndirs, const char *name,
                          struct mjd_recordings_segment *out) CORE_MUST_CHECK;

/**
 * Renders /recordings: {"sources":[{"name":..., "segments":[{"name":..., "start":S, "end":S,
 * "frames":N, "bytes":N, "reason":"always"|"motion"}, ...]}, ...]}, sources by name, segments by
 * start time, from every catalog. *out is a malloc'd string of *out_len bytes (the caller frees
 * it). 0 or -ENOMEM.
 */
int mjd_recordings_list_json(const char *const *dirs, size_t ndirs, char **out,
                             size_t *out_len) CORE_MUST_CHECK;

#endif

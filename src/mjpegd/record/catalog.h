// SPDX-License-Identifier: MIT
/* The recordings catalog: DIR/recordings.sqlite, one row per committed segment archive. */
#ifndef MJD_REC_CATALOG_H
#define MJD_REC_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * The table of docs/RECORDING.md (WAL mode, so playback readers never block the writer):
 *   segments(name PRIMARY KEY, source, start_us, end_us, frames, bytes, index_offset, reason)
 * A row is inserted only after its archive is committed under its final name, and deleted
 * before its file is. One connection per recorded source, owned by that source's writer
 * thread (record/N); sources recording into the same DIR share the file, and SQLite's locking
 * (with a busy timeout) orders their writes. Errors are negative errnos (-ENOSPC when the
 * disk is full, -EIO otherwise); each is logged with SQLite's message.
 */
struct mjd_rec_catalog;

/* Longest segment file name, with its NUL. */
#define MJD_REC_NAME_MAX 64

/** One row. */
struct mjd_rec_row {
    char name[MJD_REC_NAME_MAX]; /* the archive's file name in DIR/<source>/ */
    char source[16];             /* the source's name: its index, "0", "1", ... */
    int64_t start_us;            /* first frame's capture time, CLOCK_REALTIME microseconds */
    int64_t end_us;              /* last frame's */
    uint64_t frames;
    uint64_t bytes;        /* the archive's size */
    uint64_t index_offset; /* byte offset of index.tsv's data in the archive */
    char reason[16];       /* "always" or "motion" */
};

/** Opens (creating) DIR/recordings.sqlite. *out is NULL on failure. Owner thread. */
int mjd_rec_catalog_open(struct mjd_rec_catalog **out, const char *dir) CORE_MUST_CHECK;
/**
 * Opens DIR/recordings.sqlite read-only (playback: any thread that owns the connection; the
 * recorder stays the only writer). -ENOENT (or another error) if there is none yet. Every
 * query below works on it; insert and delete fail.
 */
int mjd_rec_catalog_open_readonly(struct mjd_rec_catalog **out, const char *dir) CORE_MUST_CHECK;
/** Closes. Accepts NULL. */
void mjd_rec_catalog_close(struct mjd_rec_catalog *cat);

/** Inserts row (or replaces the row of that name). */
int mjd_rec_catalog_insert(struct mjd_rec_catalog *cat,
                           const struct mjd_rec_row *row) CORE_MUST_CHECK;
/** Deletes the row named name (none is no error). */
int mjd_rec_catalog_delete(struct mjd_rec_catalog *cat, const char *name) CORE_MUST_CHECK;
/** *found: whether a row named name exists. */
int mjd_rec_catalog_has(struct mjd_rec_catalog *cat, const char *name, bool *found) CORE_MUST_CHECK;
/** The number of rows of source and the sum of their bytes. */
int mjd_rec_catalog_totals(struct mjd_rec_catalog *cat, const char *source, uint64_t *count,
                           uint64_t *bytes) CORE_MUST_CHECK;
/** The oldest row of source (by start_us, then name): *found false if none. */
int mjd_rec_catalog_oldest(struct mjd_rec_catalog *cat, const char *source, struct mjd_rec_row *out,
                           bool *found) CORE_MUST_CHECK;

/** The row named name: *found false if none. */
int mjd_rec_catalog_find(struct mjd_rec_catalog *cat, const char *name, struct mjd_rec_row *out,
                         bool *found) CORE_MUST_CHECK;

/** Calls fn for every row of source, in start order; fn's nonzero return stops the walk. */
typedef int (*mjd_rec_row_fn)(void *ctx, const struct mjd_rec_row *row);
int mjd_rec_catalog_each(struct mjd_rec_catalog *cat, const char *source, mjd_rec_row_fn fn,
                         void *ctx) CORE_MUST_CHECK;

#endif

// SPDX-License-Identifier: MIT
/* The recorder of one source: a hub client that writes its frames into segment archives. */
#ifndef MJD_RECORDER_H
#define MJD_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mjpegd/config.h"
#include "mjpegd/hub.h"
#include "mjpegd/record/catalog.h"

/*
 * One recorder per recorded source (--record DIR), two threads (docs/THREADING.md):
 * - "rec-tap/N" is a hub client like a network loop: the hub writes its eventfd on every
 *   publish, it takes a reference to the newest frame and try-pushes it onto a bounded queue.
 *   A full queue (the disk is slower than the camera) drops the frame and counts it; nothing
 *   ever waits for the disk but the writer.
 * - "record/N" pops frames and owns everything on disk: the open segment (segment.h), the
 *   catalog connection (catalog.h), recovery (recover.h) and retention (retention.h).
 * An error on disk (ENOSPC, EIO...) stops recording: the open segment is dropped, the error is
 * logged and shown in /state, frames are dropped (counted, reason "error") and the writer
 * tries again every MJD_REC_RETRY_SEC seconds (recovery, retention, then a new segment).
 * create, start, stop and destroy belong to the main thread; stats to any thread.
 */
struct mjd_recorder;

/* Seconds between attempts to resume after a disk error. */
#define MJD_REC_RETRY_SEC 5

/** What /state and /metrics show of a recorder (report.c). */
struct mjd_recorder_stats {
    const char *dir;                /* the --record DIR (borrowed from the config) */
    char segment[MJD_REC_NAME_MAX]; /* the open segment's name, "" if none */
    char error[256];                /* why recording stopped, "" while it runs */
    uint64_t segments;              /* committed segments in the catalog */
    uint64_t bytes;                 /* their bytes */
    uint64_t frames;                /* frames written since start */
    uint64_t bytes_written;         /* bytes written since start (archives' bytes) */
    uint64_t taken;                 /* frames the tap took from the hub */
    uint64_t dropped_queue;         /* frames dropped: the queue was full */
    uint64_t dropped_missed;        /* published and replaced before the tap looked */
    uint64_t dropped_error;         /* frames dropped: recording stopped by an error */
    uint64_t deleted;               /* segments deleted by retention since start */
    uint64_t errors;                /* disk errors since start */
};

/**
 * Creates the recorder of source index (named "<index>") following hub, whose frames it writes
 * into conf->record_dir/<index>/: creates the directories, opens the catalog and registers its
 * eventfd with the hub (so: before any thread publishes). Does not start threads. -ENOTSUP for
 * --record-on motion until motion detection is wired in. *out is NULL on failure (logged).
 */
int mjd_recorder_create(struct mjd_recorder **out, const struct mjd_source_config *conf,
                        unsigned index, struct mjd_hub *hub) CORE_MUST_CHECK;

/** Starts the two threads. 0 or a negative errno (nothing started). */
int mjd_recorder_start(struct mjd_recorder *r) CORE_MUST_CHECK;

/**
 * Stops the tap, lets the writer write what is queued and commit the open segment, joins both.
 * Idempotent. Call after the source's capture has stopped, so the last frames are recorded.
 */
void mjd_recorder_stop(struct mjd_recorder *r);

/** Stops if needed and frees. Accepts NULL. The hub must not publish any more. */
void mjd_recorder_destroy(struct mjd_recorder *r);

/** A snapshot of the numbers. Any thread. */
void mjd_recorder_get_stats(struct mjd_recorder *r, struct mjd_recorder_stats *out);

#endif

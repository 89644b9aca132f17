// SPDX-License-Identifier: MIT
/* The capture thread: owns the source, paces it, feeds the encoder pool or the hub. */
#ifndef MJD_CAPTURE_H
#define MJD_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "mjpegd/demand.h"
#include "mjpegd/hub.h"
#include "mjpegd/sources/source.h"

/*
 * One thread, named "capture", owns the source and nothing else. It never blocks on a client
 * or on an encoder: when every frame buffer is lent out or the encoders are busy, the frame
 * is dropped and counted. Raw frames go to the encoder pool; JPEG frames from a passthrough
 * source are published directly, unless --flip asks the software flip of them (what the
 * source did not flip itself, params.flip against its info's flip_done): those go to the
 * encoder pool too, which flips them (flip.h).
 */
struct mjd_capture;

struct mjd_capture_config {
    /* Ownership passes to the capture on success. NULL: the source could not be opened at
     * start-up (start_error, negative, says why): the capture starts as if it had just failed
     * (no-signal frames at params' size, reopened with backoff from spec). */
    struct mjd_source *source;
    int start_error;
    struct mjd_hub *hub;    /* borrowed; outlives the capture */
    unsigned fps;           /* pacing for sources that are not self-paced, >= 1 */
    int quality;            /* JPEG quality 1..100 */
    unsigned drop_same;     /* --drop-same-frames N (JPEG sources), 0 = off */
    int64_t stall_ns;       /* --source-timeout: a self-paced source silent this long after a
                               frame fails with -ETIMEDOUT; 0 = off */
    size_t encoder_threads; /* >= 1 */
    /* --on-demand: the capture closes the source while demand says nobody watches, and opens
     * it again from spec and params (borrowed, outlive the capture). demand NULL: never. */
    struct mjd_demand *demand;
    const char *spec;
    /* The source's end of input (MJD_SOURCE_EOF) ends the process (the only source); otherwise
     * only this capture stops and demand's state becomes MJD_DEMAND_ENDED. */
    bool exit_on_end;
    struct mjd_source_params params;
};

/* Supervision: a source whose read fails (not -EAGAIN, not MJD_SOURCE_EOF) is closed and
 * reopened from spec and params after a backoff, while viewers get a "no signal" frame once a
 * second; the backoff is reset by the first good frame. */
#define MJD_CAPTURE_BACKOFF_FIRST_NS (500 * CORE_NS_PER_MS)
#define MJD_CAPTURE_BACKOFF_MAX_NS   (10 * CORE_NS_PER_SEC)

/** The wait before the next reopen, after one that waited prev_ns (<= 0: the first failure):
 * 0.5 s, then doubling up to 10 s. Pure. */
int64_t mjd_capture_backoff(int64_t prev_ns);

/**
 * Starts the encoder pool and the capture thread. On success the capture owns cfg->source
 * (cfg->source is set to NULL); on failure the caller keeps it. Owner thread.
 */
int mjd_capture_start(struct mjd_capture **out, struct mjd_capture_config *cfg) CORE_MUST_CHECK;

/**
 * Stops the thread, finishes the frames being encoded, joins every thread, closes the source
 * and frees everything. Accepts NULL. Owner thread.
 */
void mjd_capture_stop(struct mjd_capture *cap);

#endif

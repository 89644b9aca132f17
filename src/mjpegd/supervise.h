// SPDX-License-Identifier: MIT
/* Source supervision: status for /state, the "no signal" frame, reopening with backoff. */
#ifndef MJD_SUPERVISE_H
#define MJD_SUPERVISE_H

#include <pthread.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/event.h"
#include "mjpegd/hub.h"
#include "mjpegd/sources/source.h"

enum mjd_source_state {
    MJD_SRC_STARTING, /* before the first frame */
    MJD_SRC_OK,
    MJD_SRC_NO_SIGNAL, /* failed: no-signal frames are published while it is reopened */
    MJD_SRC_ENDED,     /* a finite input ended */
};

/* Backoff between reopen attempts: doubles from the first to the last, reset on success. */
#define MJD_BACKOFF_FIRST_NS (500 * CORE_NS_PER_MS)
#define MJD_BACKOFF_MAX_NS   (10 * CORE_NS_PER_SEC)

/*
 * A source's health as /state and /metrics show it. Written by the capture thread, read by any
 * loop; lock is a leaf (nothing else is taken while it is held).
 */
struct mjd_source_status {
    pthread_mutex_t lock;
    enum mjd_source_state state; /* under lock */
    uint64_t restarts;           /* successful reopens, under lock */
    char last_error[160];        /* under lock; "" if none yet */
};

/** A copy of the status, for reports. */
struct mjd_source_status_snap {
    enum mjd_source_state state;
    uint64_t restarts;
    char last_error[160];
};

int mjd_source_status_init(struct mjd_source_status *st) CORE_MUST_CHECK;
void mjd_source_status_destroy(struct mjd_source_status *st);
/** Sets the state; error (borrowed, may be NULL: keeps the last one) becomes last_error. */
void mjd_source_status_set(struct mjd_source_status *st, enum mjd_source_state state,
                           const char *error);
void mjd_source_status_get(struct mjd_source_status *st, struct mjd_source_status_snap *out);
/** "starting", "ok", "no_signal" or "ended". */
const char *mjd_source_state_name(enum mjd_source_state state);

/** Encodes a grey width x height JPEG with "NO SIGNAL" drawn in it. 0 or a negative errno. */
int mjd_nosignal_jpeg(struct core_buf **out, unsigned width, unsigned height) CORE_MUST_CHECK;

/* What an outage needs from the capture thread; all borrowed. */
struct mjd_outage {
    const char *spec;
    const struct mjd_source_params *params;
    struct mjd_source_status *status; /* may be NULL */
    struct mjd_hub *hub;
    struct core_event *stop;
    size_t frame_cap; /* a reopened source's frames must fit the capture's buffers */
    unsigned width;   /* of the no-signal frame: the last size */
    unsigned height;
    struct core_buf **nosignal; /* the cached no-signal frame, encoded on first use */
};

/**
 * Runs an outage on the capture thread: publishes the no-signal frame at 1 fps (seq advanced
 * for each) and reopens the source with backoff until it opens (returned) or stop is set
 * (NULL, promptly: every wait is on the stop event).
 */
struct mjd_source *mjd_supervise_outage(const struct mjd_outage *o, uint64_t *seq);

#endif

// SPDX-License-Identifier: MIT
/* One --source as the program runs it: its hub, its capture thread and who watches it. */
#ifndef MJD_FEED_H
#define MJD_FEED_H

#include <stdbool.h>

#include "core/compiler.h"
#include "mjpegd/capture.h"
#include "mjpegd/config.h"
#include "mjpegd/demand.h"
#include "mjpegd/hub.h"
#include "mjpegd/sources/source.h"

/*
 * Owned by main: open, start, stop and close run on the main thread. The hub and the demand
 * are thread-safe and outlive the server; info is immutable after open.
 */
struct mjd_feed {
    const struct mjd_source_config *conf; /* borrowed, immutable */
    struct mjd_source_params params;      /* immutable */
    struct mjd_source_info info;          /* immutable after open */
    struct mjd_hub *hub;
    struct mjd_demand demand;
    bool demand_ready;
    struct mjd_source *source; /* until start hands it to the capture */
    int start_error;           /* the source did not open at start-up (source NULL): why */
    char kind[16];             /* info.kind of a source that did not open */
    struct mjd_capture *capture;
};

/**
 * Creates the hub and opens the source (learning its real size). 0 or a negative errno. With
 * may_start_down (several sources, or --wait-for-source), a source that cannot be opened (but
 * for -EINVAL: a bad spec) is no error: the feed starts without it, shows no signal and
 * retries it.
 */
int mjd_feed_open(struct mjd_feed *f, const struct mjd_source_config *conf,
                  bool may_start_down) CORE_MUST_CHECK;

/** Starts the capture thread with encoders threads; exit_on_end: the source's end of input
 * ends the process (the only source). 0 or a negative errno. */
int mjd_feed_start(struct mjd_feed *f, size_t encoders, bool exit_on_end) CORE_MUST_CHECK;

/** Stops the capture thread (idempotent). */
void mjd_feed_stop(struct mjd_feed *f);

/** Stops and frees everything f holds. Accepts a zeroed or partly opened feed. */
void mjd_feed_close(struct mjd_feed *f);

#endif

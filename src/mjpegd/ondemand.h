// SPDX-License-Identifier: MIT
/* --on-demand: the capture thread closes its source while nobody watches, reopens it on demand. */
#ifndef MJD_ONDEMAND_H
#define MJD_ONDEMAND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/event.h"
#include "mjpegd/demand.h"
#include "mjpegd/sources/source.h"

/* The capture thread's side of a source's demand. Capture thread only, but for kick(). */
struct mjd_ondemand {
    struct mjd_demand *demand;       /* borrowed; NULL when --on-demand is off */
    struct mjd_demand *demand_any;   /* borrowed; the source's demand even without it (or NULL) */
    const char *spec;                /* borrowed */
    char name[256];                  /* spec as logs show it (mjd_source_spec_shown) */
    struct mjd_source_params params; /* to reopen with */
    struct mjd_source_info info;     /* the first open's: the reopened source must fit it;
                                        max_frame_bytes 0 until the source first opened */
    int64_t last_wanted_ns;          /* last time someone needed the source */
    bool reopened;                   /* set by the gate call that reopened the source */
    int open_error;                  /* set by a gate call whose reopen failed (negative errno) */
};

/** Sets od up; demand NULL disables it. Owner thread, before the capture thread starts. */
void mjd_ondemand_init(struct mjd_ondemand *od, struct mjd_demand *demand, const char *spec,
                       const struct mjd_source_params *params, const struct mjd_source_info *info);

/**
 * Called before every read. Closes *src once nobody has wanted it for the linger time, then
 * sleeps (no polling) until someone does or stop is set, and reopens it. Without --on-demand
 * it only reopens a source the caller closed after a failure (*src NULL). Returns true when
 * *src is open and should be read (reopened says whether it was just opened), false when the
 * caller should loop: stop set, woken, or a reopen that failed (open_error; the caller backs
 * off before the next call). Capture thread.
 */
bool mjd_ondemand_gate(struct mjd_ondemand *od, struct mjd_source **src, struct core_event *stop);

/**
 * True when --on-demand is on and nobody has wanted the source for the linger time: a source
 * that is down (closed after a failure) then stops being retried and sleeps in the gate like
 * an idle one. Capture thread.
 */
bool mjd_ondemand_may_sleep(struct mjd_ondemand *od, int64_t now_ns);

/** Wakes a gate that sleeps (after setting the capture's stop). Any thread. */
void mjd_ondemand_kick(struct mjd_ondemand *od);

#endif

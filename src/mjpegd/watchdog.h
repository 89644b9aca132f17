// SPDX-License-Identifier: MIT
/* Feeds the service manager's watchdog while frames are being published. */
#ifndef MJD_WATCHDOG_H
#define MJD_WATCHDOG_H

#include <stdint.h>

#include "core/compiler.h"

struct mjd_hub;
struct mjd_demand;

/*
 * A thread named "watchdog" wakes every period/2 and sends WATCHDOG=1 (mjd_notify_send) only
 * if the hub published a new frame since its previous wake-up. A server whose capture is stuck
 * (or whose source never delivers) therefore stops feeding the watchdog, and systemd restarts
 * it between 1 and 1.5 periods after the last frame. A source that --on-demand closed (demand
 * state idle) counts as alive. The source must publish faster than one
 * frame per period/2 (WatchdogSec=10 needs at least one frame every 5 s).
 */
struct mjd_watchdog;

/**
 * Starts the watchdog thread for period_ns (see mjd_notify_watchdog_ns); hub is borrowed and
 * must outlive the watchdog. With period_ns <= 0 no thread is started and *out is NULL.
 * Returns 0 or a negative errno (then *out is NULL). Main thread.
 */
int mjd_watchdog_start(struct mjd_watchdog **out, struct mjd_hub *hub, struct mjd_demand *demand,
                       int64_t period_ns) CORE_MUST_CHECK;

struct mjd_watchdog_stats {
    uint64_t ticks; /* wake-ups so far */
    uint64_t pings; /* WATCHDOG=1 messages sent (or tried) so far, counted before sending */
};

/** The counters so far. Any thread (atomic). */
void mjd_watchdog_get_stats(const struct mjd_watchdog *wd, struct mjd_watchdog_stats *out);

/** Stops and joins the thread, then frees the watchdog. Accepts NULL. Main thread. */
void mjd_watchdog_stop(struct mjd_watchdog *wd);

#endif

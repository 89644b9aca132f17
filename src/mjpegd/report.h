// SPDX-License-Identifier: MIT
/* The /state JSON and /metrics Prometheus writers, from a snapshot of the server's numbers. */
#ifndef MJD_REPORT_H
#define MJD_REPORT_H

#include <stddef.h>
#include <stdint.h>

/** A consistent-enough snapshot of everything /state and /metrics report. */
struct mjd_report {
    const char *source; /* borrowed */
    unsigned width;
    unsigned height;
    double fps; /* measured */
    unsigned target_fps;
    int quality;
    uint64_t clients;       /* streaming now */
    uint64_t clients_total; /* streams ever */
    uint64_t pending;       /* connections without a full request head */
    uint64_t frames_captured;
    uint64_t frames_encoded;
    uint64_t frames_dropped;
    uint64_t bytes_sent;
    double uptime; /* seconds */
};

/**
 * Writes the /state JSON object into buf (capacity cap, NUL-terminated). Returns its length,
 * or -ENOSPC if it does not fit. Any thread.
 */
int mjd_report_json(const struct mjd_report *r, char *buf, size_t cap);

/** Writes the Prometheus text exposition (version 0.0.4), as mjd_report_json. */
int mjd_report_metrics(const struct mjd_report *r, char *buf, size_t cap);

#endif

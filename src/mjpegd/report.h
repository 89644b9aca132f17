// SPDX-License-Identifier: MIT
/* The /state JSON and /metrics Prometheus writers, from a snapshot of the server's numbers. */
#ifndef MJD_REPORT_H
#define MJD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/hub.h"
#include "mjpegd/part_send.h"
#include "mjpegd/record/recorder.h"

/* Most sources a report holds (at least MJD_MAX_SOURCES). */
#define MJD_REPORT_MAX_SOURCES 16

/* One source's numbers. */
struct mjd_report_source {
    const char *kind;        /* borrowed */
    const char *spec;        /* the --source spec, borrowed */
    const char *status;      /* "ok", "starting", "retrying", "idle", "ended" (static string) */
    const char *last_error;  /* borrowed (perhaps last_error_buf), NULL when none */
    char last_error_buf[64]; /* a last_error made for this report */
    uint64_t restarts;       /* reopens after a failure */
    bool up;                 /* not retrying and not ended: mjpegd_source_up */
    uint64_t clients;        /* streaming clients of this source */
    unsigned width;
    unsigned height;
    double fps; /* measured */
    unsigned target_fps;
    int quality;
    const char *flip; /* --flip: "none", "hardware", "software", "hardware+software" (static) */
    uint64_t frames_captured;
    uint64_t frames_published;
    uint64_t frames_dropped[MJD_DROP_REASONS]; /* by reason */
    uint64_t frames_in_flight;                 /* captured, fate not yet known */
    uint64_t frames_skipped;                   /* source reads skipped (no free buffer) */
    double last_frame_age; /* seconds since the newest frame was published, < 0 if none yet */
    bool recorded;         /* --record: rec holds the recorder's numbers */
    struct mjd_recorder_stats rec; /* valid when recorded */
};

/** A consistent-enough snapshot of everything /state and /metrics report. */
struct mjd_report {
    const char *version;    /* borrowed */
    uint64_t clients;       /* streaming now */
    uint64_t clients_total; /* streams ever */
    uint64_t pending;       /* connections without a full request head */
    uint64_t bytes_sent;
    uint64_t playbacks;         /* playback jobs (segments and /recordings listings) now */
    uint64_t playbacks_max;     /* --max-playbacks */
    uint64_t playbacks_refused; /* 503s past --max-playbacks since start */
    uint64_t snapshots_waiting; /* snapshots parked for a fresh frame now */
    uint64_t snapshot_timeouts; /* parked snapshots answered 503 at --snapshot-timeout */
    const char *send_path;      /* borrowed: the path streams start on (--send) */
    struct mjd_part_send_stats send_stats; /* bytes, calls and parts per path */
    double uptime;                         /* seconds */
    struct mjd_report_source sources[MJD_REPORT_MAX_SOURCES];
    size_t nsources; /* >= 1 */
};

/**
 * Writes the /state JSON object into buf (capacity cap, NUL-terminated): the numbers of
 * source 0 at the top level, and with several sources a "sources" array of each one's. Returns
 * its length, or -ENOSPC if it does not fit. Any thread.
 */
int mjd_report_json(const struct mjd_report *r, char *buf, size_t cap);

/**
 * Writes the Prometheus text exposition (version 0.0.4), as mjd_report_json. Drops carry a
 * reason label; with several sources, every per-source series also has a source label.
 */
int mjd_report_metrics(const struct mjd_report *r, char *buf, size_t cap);

#endif

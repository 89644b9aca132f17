// SPDX-License-Identifier: MIT
/* Maps a request target to one of the server's endpoints. */
#ifndef MJD_ROUTE_H
#define MJD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/recordings.h"

enum mjd_route_kind {
    MJD_ROUTE_INDEX,
    MJD_ROUTE_STREAM,
    MJD_ROUTE_SNAPSHOT,
    MJD_ROUTE_STATE,
    MJD_ROUTE_METRICS,
    MJD_ROUTE_RECORDINGS, /* /recordings: the catalogs' segments */
    MJD_ROUTE_RECORDING,  /* /recordings/NAME[?at=TIME]: one segment played */
    MJD_ROUTE_NOT_FOUND,
};

struct mjd_route {
    enum mjd_route_kind kind;
    unsigned source; /* index of the source a stream or snapshot is of (0: the plain URLs) */
    unsigned fps;    /* ?fps=N cap for a stream, 0 when none */
    char name[MJD_RECORDINGS_NAME_MAX + 1]; /* MJD_ROUTE_RECORDING: the segment (a checked name) */
    bool has_at;                            /* MJD_ROUTE_RECORDING: ?at= was given */
    int64_t at_us;                          /* ... as microseconds since the epoch */
};

/** Largest ?fps=N accepted. */
#define MJD_ROUTE_MAX_FPS 1000

/** Largest source index a URL may name (the caller checks it against the real count). */
#define MJD_ROUTE_MAX_SOURCE 99

/**
 * Decodes and normalises the raw target (borrowed) and picks the endpoint: /, /index.html,
 * /stream, /snapshot, /state, /metrics, /N/stream and /N/snapshot (source N), /recordings and
 * /recordings/NAME (400 for a NAME that mjd_recordings_name_ok refuses or a bad ?at=), the
 * mjpg-streamer forms /?action=stream|snapshot,
 * /?action=stream_N|snapshot_N (N picks the source, as mjpg-streamer's input number does).
 * Query parameters other than action (on /) and fps (on a stream) are ignored: clients append
 * cache-busters (a bare "?1234", "&timestamp=..."). Returns 0, or 400 (an HTTP status) for bad
 * percent-encoding, an encoded NUL, a ".." that climbs above the root, or a malformed fps on
 * a stream. The caller answers 404 for a source index it does not have. Any thread.
 */
int mjd_route_resolve(const char *target, size_t len, struct mjd_route *out);

#endif

// SPDX-License-Identifier: MIT
/* Maps a request target to one of the server's endpoints. */
#ifndef MJD_ROUTE_H
#define MJD_ROUTE_H

#include <stddef.h>

enum mjd_route_kind {
    MJD_ROUTE_INDEX,
    MJD_ROUTE_STREAM,
    MJD_ROUTE_SNAPSHOT,
    MJD_ROUTE_STATE,
    MJD_ROUTE_METRICS,
    MJD_ROUTE_NOT_FOUND,
};

struct mjd_route {
    enum mjd_route_kind kind;
    unsigned fps; /* ?fps=N cap for a stream, 0 when none */
};

/** Largest ?fps=N accepted. */
#define MJD_ROUTE_MAX_FPS 1000

/**
 * Decodes and normalises the raw target (borrowed) and picks the endpoint: /, /index.html,
 * /stream, /snapshot, /state, /metrics and the mjpg-streamer forms /?action=stream|snapshot.
 * Returns 0, or 400 (an HTTP status) for bad percent-encoding, an encoded NUL, a ".." that
 * climbs above the root, or a malformed fps. Any thread.
 */
int mjd_route_resolve(const char *target, size_t len, struct mjd_route *out);

#endif

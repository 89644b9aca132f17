// SPDX-License-Identifier: MIT
/* Responses: the status line and common headers, errors, the page, snapshots and reports. */
#ifndef MJD_RESPOND_H
#define MJD_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mjd_conn;
struct mjd_frame;

/*
 * Each function writes one complete response into c->out, which the connection has just
 * reset, honouring c->head_only (no body) and c->close_after (the Connection header). None
 * sends anything or changes c's state (a parked snapshot only takes its slot: the caller
 * parks it). Loop thread only.
 */

/**
 * Writes the status line and the headers every response has (Date, Server, the CORS ones of
 * --allow-origin). ctype NULL means no Content-Type, content_length < 0 no Content-Length (the
 * stream, 204). extra (borrowed, may be NULL) holds more header lines, each ending in CRLF.
 */
void mjd_respond_head(struct mjd_conn *c, int status, const char *ctype, long long content_length,
                      const char *extra);

/** An error with a short text body; sets c->close_after. extra as in mjd_respond_head. */
void mjd_respond_error(struct mjd_conn *c, int status, const char *extra);

/**
 * OPTIONS: with --allow-origin, a 204 CORS preflight answer (methods GET, HEAD, OPTIONS; the
 * request headers asked for); without, 405.
 */
void mjd_respond_options(struct mjd_conn *c);

/** The viewer page. */
void mjd_respond_index(struct mjd_conn *c);

/**
 * /snapshot of source index source: its newest frame at once while the source is up (false).
 * With no frame yet, or an --on-demand source asleep (woken here), true: c is to be parked
 * (MJD_CONN_SNAPWAIT, holding a client slot) until the first frame newer than the hub's newest
 * now, or --snapshot-timeout; false with a 503 when the client limit refuses the wait.
 */
bool mjd_respond_snapshot(struct mjd_conn *c, unsigned source);

/** A 200 with frame f's JPEG (c takes its own reference). */
void mjd_respond_snapshot_frame(struct mjd_conn *c, const struct mjd_frame *f);

/** /metrics (Prometheus text) when metrics, else /state (JSON). */
void mjd_respond_report(struct mjd_conn *c, bool metrics);

/** Formats a wall-clock time in ns as "SECONDS.MICROSECONDS" (X-Timestamp). */
void mjd_respond_format_timestamp(char *buf, size_t cap, int64_t wall_ns);

#endif

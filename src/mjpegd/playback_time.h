// SPDX-License-Identifier: MIT
/* Playback's ?at=TIME: unix seconds or an ISO 8601 date and time, to microseconds. */
#ifndef MJD_PLAYBACK_TIME_H
#define MJD_PLAYBACK_TIME_H

#include <stddef.h>
#include <stdint.h>

/**
 * Parses s[0..len) (borrowed, not NUL-terminated) as a moment, into microseconds since the
 * Unix epoch (UTC):
 *  - unix seconds, decimals allowed: "1764754567", "1764754567.25";
 *  - ISO 8601 extended "2026-12-03T09:16:07[.frac](Z|+HH:MM|-HH:MM|+HHMM|+HH)" or basic
 *    "20261203T091607[.frac]Z" (the segment names' form); a space may stand for the T, and
 *    for the '+' of a zone (a query's '+' decodes to a space); a time without a zone is UTC
 *    (mjpegd has no local time zone).
 * Fractions beyond microseconds are truncated. Returns 0, or -EINVAL for anything else
 * (an impossible date, a year outside 1970..9999, trailing bytes). Any thread.
 */
int mjd_playback_parse_time(const char *s, size_t len, int64_t *out_us);

#endif

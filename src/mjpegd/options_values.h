// SPDX-License-Identifier: MIT
/* The option table's value readers: sizes, byte counts, seconds, addresses, names, secrets. */
#ifndef MJD_OPTIONS_VALUES_H
#define MJD_OPTIONS_VALUES_H

#include <stdbool.h>
#include <stddef.h>

#include "mjpegd/options.h"

/*
 * Internal to the option table (options.c): the rows of kind MJD_OPT_CUSTOM point at these
 * readers, and mjd_option_read uses mjd_opt_parse_uint and mjd_opt_parse_decimal for
 * MJD_OPT_UINT and MJD_OPT_SECONDS. Each reader is a
 * mjd_opt_parse_fn: it reads value (borrowed) into base (the struct of the row's scope) or
 * cfg, returns 0 or -EINVAL, and may write a short reason (never the value) into why. Not
 * thread-safe (the config being filled).
 */

/** A decimal integer in [min, max], digits only (no sign, no blanks), into *out. Pure. */
bool mjd_opt_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                        unsigned long long *out);

/**
 * A finite decimal number that starts with a digit or '.' (no sign, no blanks; strtod's
 * syntax otherwise, exponents allowed), into *out. Pure.
 */
bool mjd_opt_parse_decimal(const char *s, double *out);

/* ---- per-source values (base is a struct mjd_source_config) ---- */

/** --source: a known source kind. */
int mjd_opt_read_source(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap);
/** --size WxH: even numbers 16..8192. */
int mjd_opt_read_size(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap);
/** --format: a camera's pixel format by name. */
int mjd_opt_read_format(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap);
/** --flip: h, v, hv (or vh), none. */
int mjd_opt_read_flip(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap);
/** --control NAME=VALUE (repeatable): appended to the source's list. */
int mjd_opt_read_control(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                         const char *value, char *why, size_t why_cap);
/** --keep-size: bytes with an optional K, M, G or T suffix. */
int mjd_opt_read_bytes(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                       const char *value, char *why, size_t why_cap);
/** --record-on: always or motion. */
int mjd_opt_read_record_on(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                           const char *value, char *why, size_t why_cap);
/** --pre-roll, --post-roll: decimal seconds 0..opt->max into the row's int64_t ns field. */
int mjd_opt_read_roll(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap);
/** --motion-threshold: a percentage above 0, at most 100. */
int mjd_opt_read_percent(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                         const char *value, char *why, size_t why_cap);

/* ---- server-wide values (written into cfg) ---- */

/** --listen HOST:PORT or [IPV6]:PORT (repeatable). */
int mjd_opt_read_listen(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap);
/** --recordings DIR (repeatable). */
int mjd_opt_read_recordings(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                            const char *value, char *why, size_t why_cap);
/** --auth USER:PASS. */
int mjd_opt_read_auth(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap);
/** --auth-file FILE: USER:PASS from its first line. */
int mjd_opt_read_auth_file(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                           const char *value, char *why, size_t why_cap);
/** --allow-origin: "*" or one origin. */
int mjd_opt_read_origin(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                        const char *value, char *why, size_t why_cap);
/** --log-format: text or json. */
int mjd_opt_read_log_format(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                            const char *value, char *why, size_t why_cap);
/** --log-level: error, warn, info or debug. */
int mjd_opt_read_log_level(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                           const char *value, char *why, size_t why_cap);
/** --send: auto, splice, sendfile or copy. */
int mjd_opt_read_send(const struct mjd_option *opt, struct mjd_config *cfg, void *base,
                      const char *value, char *why, size_t why_cap);

#endif

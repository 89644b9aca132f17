// SPDX-License-Identifier: MIT
/* The progress line on a terminal: symbols done/failed, MB/s, ETA. */
#ifndef QP_PROGRESS_H
#define QP_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/**
 * Formats "done/total done, F failed, X.X MB/s, ETA m:ss" into buf (always terminated).
 * The ETA extrapolates the symbol rate so far; "ETA ?" until one symbol finished. Pure.
 */
void qp_progress_format(char *buf, size_t size, uint64_t done, uint64_t failed, uint64_t total,
                        uint64_t bytes, double seconds);

/* Drawing the line: qp_console_progress (console.h), so messages never land on it. */

#endif

// SPDX-License-Identifier: MIT
/* stderr during a run: messages from any thread, never printed onto the progress line. */
#ifndef QP_CONSOLE_H
#define QP_CONSOLE_H

#include <stdbool.h>

#include "core/compiler.h"
#include "core/log.h"

/*
 * The main thread draws the progress line (progress.h) through this module; any thread that
 * reports something calls qp_console_log, which first erases the line if it is shown (the
 * main thread draws it again on its next tick). One mutex, held only for the write(2)s.
 */

/** Logs like core_log (one line, "quotepack: warn: <thread>: ..."), the progress line erased
 * first. Any thread. */
void qp_console_log(enum core_log_level level, const char *fmt, ...) CORE_PRINTF(2, 3);

/** Writes a whole line (with its newline) to stderr, the progress line erased first. */
void qp_console_print(const char *fmt, ...) CORE_PRINTF(1, 2);

/** Shows line as the progress line (carriage return, erase, no newline). Main thread. */
void qp_console_progress(const char *line);
/** Erases the progress line if it is shown. Any thread. */
void qp_console_clear(void);

#endif

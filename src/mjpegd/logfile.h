// SPDX-License-Identifier: MIT
/* --log-file: the log (stderr, fd 2) goes to a file, reopened on SIGHUP for log rotation. */
#ifndef MJD_LOGFILE_H
#define MJD_LOGFILE_H

#include "core/compiler.h"

/**
 * Opens path (borrowed; created 0640 if missing, appended to) and makes it fd 2, where
 * core_log writes each line with one write(2): the switch is atomic, no line is split or
 * lost. Call again to reopen after a rotation. 0 or a negative errno (fd 2 unchanged).
 * Main thread only.
 */
int mjd_logfile_open(const char *path) CORE_MUST_CHECK;

#endif

// SPDX-License-Identifier: MIT
/* A test hook: mjpegd kills itself right before a chosen durable step of the recorder. */
#ifndef MJD_REC_FAILPOINT_H
#define MJD_REC_FAILPOINT_H

/*
 * MJPEGD_FAILPOINT=KIND:N (docs/RECORDING.md, "Test hooks"): the process sends itself SIGKILL
 * right before the Nth step of that kind the archive writer takes (fsync, rename, unlink), or
 * of "catalog" (a row inserted after a commit). The crash tests use it to die at exactly one
 * boundary: after a segment's rename and before its catalog row, for instance. Unset (the
 * normal case) nothing is installed.
 */

/** Reads MJPEGD_FAILPOINT (main, before any thread). 0, or -1 after a message (a bad value). */
int mjd_rec_failpoint_init(void);

/** Before a durable step of kind (any thread): dies if it is the chosen one. */
void mjd_rec_failpoint(const char *kind);

#endif

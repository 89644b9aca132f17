// SPDX-License-Identifier: MIT
/* The systemd notification protocol (sd_notify), by hand: datagrams to $NOTIFY_SOCKET. */
#ifndef MJD_NOTIFY_H
#define MJD_NOTIFY_H

#include <stdint.h>

/*
 * A service manager that starts us with Type=notify puts the path of a unix datagram socket in
 * $NOTIFY_SOCKET ("/run/systemd/notify", or "@name" for an abstract socket) and expects
 * newline-separated VAR=value assignments there: READY=1 once we serve, WATCHDOG=1 at least
 * every $WATCHDOG_USEC microseconds when WatchdogSec is set, STOPPING=1 when we shut down.
 * Outside systemd the variables are unset and every call here is a no-op.
 */

/**
 * Sends state (borrowed, e.g. "READY=1" or "STATUS=...\nREADY=1") as one datagram to
 * $NOTIFY_SOCKET. Returns 0 when sent, 1 when $NOTIFY_SOCKET is unset (nothing to do), or a
 * negative errno (-EINVAL for an address that is neither a path nor "@name", -ENAMETOOLONG,
 * or the error of socket/sendmsg). Never blocks: the socket is non-blocking. Any thread.
 */
int mjd_notify_send(const char *state);

/**
 * The watchdog period the service manager asks for, in ns: $WATCHDOG_USEC when it is a
 * positive number and $WATCHDOG_PID is unset or names this process; otherwise 0 (no watchdog).
 * Any thread (reads the environment, which nobody changes once threads run).
 */
int64_t mjd_notify_watchdog_ns(void);

#endif

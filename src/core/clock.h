// SPDX-License-Identifier: MIT
/* Monotonic and wall-clock time in nanoseconds, timespec helpers, and the core's timeouts. */
#ifndef CORE_CLOCK_H
#define CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CORE_NS_PER_MS  1000000LL
#define CORE_NS_PER_SEC 1000000000LL

/*
 * Timeouts: the one convention of the whole core (docs/THREADING.md repeats it).
 *
 * A blocking core call takes either a relative timeout or an absolute deadline:
 *   - int64_t timeout_ms, relative, in milliseconds: < 0 (CORE_TIMEOUT_INFINITE) waits for ever,
 *     0 does not wait (the call still succeeds if it can without waiting), > 0 waits at most
 *     that long. Every value is valid: a huge one saturates to "for ever" without overflow.
 *   - int64_t deadline_ns, absolute, on CLOCK_MONOTONIC (see core_now_ns): < 0
 *     (CORE_DEADLINE_NEVER) waits for ever; a deadline in the past does not wait.
 * A call that gives up returns -ETIMEDOUT. core_deadline_from_ms turns the first form into the
 * second; every relative timeout in the core goes through it.
 */
#define CORE_TIMEOUT_INFINITE ((int64_t)-1)
#define CORE_DEADLINE_NEVER   ((int64_t)-1)

/** CLOCK_MONOTONIC now, in nanoseconds. Any thread. */
int64_t core_now_ns(void);
/** CLOCK_REALTIME now, in nanoseconds since the epoch. Any thread. */
int64_t core_wall_ns(void);
/** Converts nanoseconds to a timespec (for CLOCK_MONOTONIC deadlines). */
struct timespec core_ns_to_timespec(int64_t ns);
/**
 * The deadline timeout_ms from now: CORE_DEADLINE_NEVER for a negative timeout, and for one so
 * large that the deadline would not fit in an int64_t. Any thread.
 */
int64_t core_deadline_from_ms(int64_t timeout_ms);
/**
 * Milliseconds left until deadline_ns, rounded up, for poll(2): -1 for CORE_DEADLINE_NEVER,
 * 0 once it has passed, at most INT_MAX (a longer wait is simply repeated). Any thread.
 */
int core_poll_timeout_ms(int64_t deadline_ns);

#endif

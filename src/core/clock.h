// SPDX-License-Identifier: MIT
/* Monotonic and wall-clock time in nanoseconds, and timespec helpers. */
#ifndef CORE_CLOCK_H
#define CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CORE_NS_PER_MS  1000000LL
#define CORE_NS_PER_SEC 1000000000LL

/** CLOCK_MONOTONIC now, in nanoseconds. Any thread. */
int64_t core_now_ns(void);
/** CLOCK_REALTIME now, in nanoseconds since the epoch. Any thread. */
int64_t core_wall_ns(void);
/** Converts nanoseconds to a timespec (for CLOCK_MONOTONIC deadlines). */
struct timespec core_ns_to_timespec(int64_t ns);

#endif

// SPDX-License-Identifier: MIT
/* Monotonic and wall-clock time, and the conversions of the core's timeout convention. */
#include "core/clock.h"

#include <limits.h>

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * CORE_NS_PER_SEC + ts.tv_nsec;
}

int64_t core_now_ns(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

int64_t core_wall_ns(void)
{
    return read_clock(CLOCK_REALTIME);
}

struct timespec core_ns_to_timespec(int64_t ns)
{
    struct timespec ts;
    if (ns < 0) {
        ns = 0;
    }
    ts.tv_sec = (time_t)(ns / CORE_NS_PER_SEC);
    ts.tv_nsec = (long)(ns % CORE_NS_PER_SEC);
    return ts;
}

int64_t core_deadline_from_ms(int64_t timeout_ms)
{
    if (timeout_ms < 0) {
        return CORE_DEADLINE_NEVER;
    }
    int64_t now = core_now_ns();
    // now >= 0 on CLOCK_MONOTONIC, so INT64_MAX - now cannot overflow.
    if (timeout_ms > (INT64_MAX - now) / CORE_NS_PER_MS) {
        return CORE_DEADLINE_NEVER;
    }
    return now + timeout_ms * CORE_NS_PER_MS;
}

int core_poll_timeout_ms(int64_t deadline_ns)
{
    if (deadline_ns < 0) {
        return -1;
    }
    int64_t left = deadline_ns - core_now_ns();
    if (left <= 0) {
        return 0;
    }
    int64_t ms = left / CORE_NS_PER_MS + (left % CORE_NS_PER_MS != 0);
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

// SPDX-License-Identifier: MIT
/* Monotonic and wall-clock time. */
#include "core/clock.h"

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

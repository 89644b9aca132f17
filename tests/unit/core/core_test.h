// SPDX-License-Identifier: MIT
/* Helpers for the core's tests: waiting for a condition with a scaled deadline, process states. */
#ifndef CORE_TEST_H
#define CORE_TEST_H

#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "../testlib.h"
#include "core/clock.h"

static inline void nap_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* A deadline `seconds` from now, stretched by TEST_TIMEOUT_MULTIPLIER: for waits, never timing. */
static inline int64_t test_deadline(int seconds)
{
    return core_now_ns() + (int64_t)seconds * test_timeout_multiplier() * CORE_NS_PER_SEC;
}

/*
 * Polls cond every millisecond until it holds, and fails the test if it does not in time.
 * cond is evaluated once per round, so a condition that holds only for a moment still counts.
 */
#define WAIT_FOR(cond, seconds)                                     \
    do {                                                            \
        int64_t wf_end_ = test_deadline(seconds);                   \
        bool wf_ok_;                                                \
        while (!(wf_ok_ = (cond)) && core_now_ns() < wf_end_) {     \
            nap_ms(1);                                              \
        }                                                           \
        if (!wf_ok_) {                                              \
            test_fail(__FILE__, __LINE__, "never true: %s", #cond); \
        }                                                           \
    } while (0)

/*
 * The state letter of a process or thread from /proc (R, S, D, Z, T...), or 0 when it is gone.
 * tid may be a thread of this process or any process id.
 */
static inline char proc_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return 0;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); // the command name may contain anything
    return p != NULL && p[1] == ' ' ? p[2] : 0;
}

/* True once the process can no longer run: gone, or a zombie waiting to be reaped. */
static inline bool proc_dead(pid_t pid)
{
    char st = proc_state(pid);
    return st == 0 || st == 'Z' || st == 'X';
}

#endif

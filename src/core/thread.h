// SPDX-License-Identifier: MIT
/* Named threads that never receive SIGINT/SIGTERM, and a mutex/condvar pair on CLOCK_MONOTONIC. */
#ifndef CORE_THREAD_H
#define CORE_THREAD_H

#include <pthread.h>
#include <stdint.h>

#include "core/compiler.h"

typedef void *(*core_thread_fn)(void *arg);

/**
 * Starts a joinable thread named `name` (at most 15 characters are kept) running fn(arg),
 * with SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE blocked, so only the main thread handles
 * them. Returns 0 or a negative errno. Any thread. The caller must join the thread.
 */
int core_thread_start(pthread_t *out, const char *name, core_thread_fn fn,
                      void *arg) CORE_MUST_CHECK;

/** Initialises a condition variable whose timed waits use CLOCK_MONOTONIC. */
int core_cond_init_monotonic(pthread_cond_t *cond) CORE_MUST_CHECK;

/**
 * Waits on cond until deadline_ns (CLOCK_MONOTONIC, see core_now_ns). Returns 0 when woken
 * (maybe spuriously) or -ETIMEDOUT. A deadline below 0 means forever. mu must be held.
 */
int core_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t deadline_ns);

#endif

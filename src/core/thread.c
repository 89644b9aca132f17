// SPDX-License-Identifier: MIT
/* Named threads with the process signals blocked, and monotonic condition variables. */
#include "core/thread.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "core/clock.h"

int core_thread_start(pthread_t *out, const char *name, core_thread_fn fn, void *arg)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGPIPE);
    // The new thread inherits the creator's mask, so block around pthread_create.
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(out, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        return -rc;
    }
    char tname[16];
    strncpy(tname, name, sizeof(tname) - 1);
    tname[sizeof(tname) - 1] = '\0';
    pthread_setname_np(*out, tname);
    return 0;
}

int core_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0) {
        return -rc;
    }
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(cond, &attr);
    }
    pthread_condattr_destroy(&attr);
    return -rc;
}

int core_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t deadline_ns)
{
    if (deadline_ns < 0) {
        pthread_cond_wait(cond, mu);
        return 0;
    }
    struct timespec ts = core_ns_to_timespec(deadline_ns);
    int rc = pthread_cond_timedwait(cond, mu, &ts);
    return rc == ETIMEDOUT ? -ETIMEDOUT : 0;
}

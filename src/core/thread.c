// SPDX-License-Identifier: MIT
/* Named threads with the process signals blocked, and monotonic condition variables. */
#include "core/thread.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

struct start {
    core_thread_fn fn;
    void *arg;
    char name[16];
};

/* Names the thread from inside, so the name is set before any of fn's code runs. */
static void *trampoline(void *p)
{
    struct start st = *(struct start *)p;
    free(p);
    pthread_setname_np(pthread_self(), st.name);
    return st.fn(st.arg);
}

int core_thread_start(pthread_t *out, const char *name, core_thread_fn fn, void *arg)
{
    struct start *st = malloc(sizeof(*st));
    if (st == NULL) {
        return -ENOMEM;
    }
    st->fn = fn;
    st->arg = arg;
    strncpy(st->name, name, sizeof(st->name) - 1);
    st->name[sizeof(st->name) - 1] = '\0';
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGPIPE);
    // The new thread inherits the creator's mask, so block around pthread_create.
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(out, NULL, trampoline, st);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(st);
        return -rc;
    }
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

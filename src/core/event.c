// SPDX-License-Identifier: MIT
/* A manual-reset event on a mutex and a CLOCK_MONOTONIC condition variable. */
#include "core/event.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/thread.h"

/*
 * A waiter returns when the flag is raised or when the generation moved on since it started
 * waiting: the generation counts set() calls, so a set(); clear(); pulse still releases every
 * thread that was blocked, although the flag is down again by the time they wake.
 */
struct core_event {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* broadcast on every set that someone waits for */
    uint64_t generation; /* guarded by mu: number of set() calls */
    size_t waiters;      /* guarded by mu: threads blocked on cond */
    bool raised;         /* guarded by mu */
};

int core_event_create(struct core_event **out)
{
    *out = NULL;
    struct core_event *ev = calloc(1, sizeof(*ev));
    if (ev == NULL) {
        return -ENOMEM;
    }
    int rc = -pthread_mutex_init(&ev->mu, NULL);
    if (rc != 0) {
        free(ev);
        return rc;
    }
    rc = core_cond_init_monotonic(&ev->cond);
    if (rc != 0) {
        pthread_mutex_destroy(&ev->mu);
        free(ev);
        return rc;
    }
    *out = ev;
    return 0;
}

void core_event_destroy(struct core_event *ev)
{
    if (ev == NULL) {
        return;
    }
    pthread_cond_destroy(&ev->cond);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

void core_event_set(struct core_event *ev)
{
    pthread_mutex_lock(&ev->mu);
    ev->raised = true;
    ev->generation++;
    if (ev->waiters > 0) {
        pthread_cond_broadcast(&ev->cond);
    }
    pthread_mutex_unlock(&ev->mu);
}

void core_event_clear(struct core_event *ev)
{
    pthread_mutex_lock(&ev->mu);
    ev->raised = false;
    pthread_mutex_unlock(&ev->mu);
}

bool core_event_is_set(struct core_event *ev)
{
    pthread_mutex_lock(&ev->mu);
    bool raised = ev->raised;
    pthread_mutex_unlock(&ev->mu);
    return raised;
}

void core_event_wait(struct core_event *ev)
{
    (void)core_event_wait_until(ev, CORE_DEADLINE_NEVER);
}

int core_event_timed_wait(struct core_event *ev, int64_t timeout_ms)
{
    return core_event_wait_until(ev, core_deadline_from_ms(timeout_ms));
}

int core_event_wait_until(struct core_event *ev, int64_t deadline_ns)
{
    int rc = 0;
    pthread_mutex_lock(&ev->mu);
    uint64_t gen = ev->generation;
    while (!ev->raised && ev->generation == gen) {
        ev->waiters++;
        int w = core_cond_wait_until(&ev->cond, &ev->mu, deadline_ns);
        ev->waiters--;
        if (w == -ETIMEDOUT) {
            rc = ev->raised || ev->generation != gen ? 0 : -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&ev->mu);
    return rc;
}

size_t core_event_waiters(struct core_event *ev)
{
    pthread_mutex_lock(&ev->mu);
    size_t n = ev->waiters;
    pthread_mutex_unlock(&ev->mu);
    return n;
}

// SPDX-License-Identifier: MIT
/* A bounded MPMC queue: the core ring under one mutex, with two condition variables. */
#include "core/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/ring.h"
#include "core/thread.h"

/*
 * Wake-up policy: a push signals not_empty only when a consumer is blocked, and a pop signals
 * not_full only when a producer is blocked (the counts below are kept under mu, so a waiter is
 * never missed). A queue that never runs dry makes no futex call at all.
 */
struct core_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_full;  /* signalled on a pop that a producer waits for, and on close */
    pthread_cond_t not_empty; /* signalled on a push that a consumer waits for, and on close */
    struct core_ring ring;    /* guarded by mu: void * items */
    size_t push_waiters;      /* guarded by mu: producers blocked on not_full */
    size_t pop_waiters;       /* guarded by mu: consumers blocked on not_empty */
    bool closed;              /* guarded by mu */
};

int core_queue_create(struct core_queue **out, size_t capacity)
{
    *out = NULL;
    if (capacity == 0) {
        return -EINVAL;
    }
    struct core_queue *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        return -ENOMEM;
    }
    int rc = core_ring_init(&q->ring, capacity, sizeof(void *));
    if (rc != 0) {
        goto fail_ring;
    }
    rc = -pthread_mutex_init(&q->mu, NULL);
    if (rc != 0) {
        goto fail_mu;
    }
    rc = core_cond_init_monotonic(&q->not_full);
    if (rc != 0) {
        goto fail_full;
    }
    rc = core_cond_init_monotonic(&q->not_empty);
    if (rc != 0) {
        goto fail_empty;
    }
    *out = q;
    return 0;

fail_empty:
    pthread_cond_destroy(&q->not_full);
fail_full:
    pthread_mutex_destroy(&q->mu);
fail_mu:
    core_ring_release(&q->ring);
fail_ring:
    free(q);
    return rc;
}

void core_queue_destroy(struct core_queue *q)
{
    if (q == NULL) {
        return;
    }
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->mu);
    core_ring_release(&q->ring);
    free(q);
}

static int push_locked(struct core_queue *q, void *item, bool wait, int64_t deadline_ns)
{
    while (!q->closed && core_ring_full(&q->ring)) {
        if (!wait) {
            return -EAGAIN;
        }
        q->push_waiters++;
        int rc = core_cond_wait_until(&q->not_full, &q->mu, deadline_ns);
        q->push_waiters--;
        if (rc == -ETIMEDOUT && !q->closed && core_ring_full(&q->ring)) {
            return -ETIMEDOUT;
        }
    }
    if (q->closed) {
        return -EPIPE;
    }
    core_ring_push(&q->ring, &item, sizeof(item));
    if (q->pop_waiters > 0) {
        pthread_cond_signal(&q->not_empty);
    }
    return 0;
}

static int pop_locked(struct core_queue *q, void **out, bool wait, int64_t deadline_ns)
{
    while (core_ring_empty(&q->ring) && !q->closed) {
        if (!wait) {
            return -EAGAIN;
        }
        q->pop_waiters++;
        int rc = core_cond_wait_until(&q->not_empty, &q->mu, deadline_ns);
        q->pop_waiters--;
        if (rc == -ETIMEDOUT && core_ring_empty(&q->ring) && !q->closed) {
            return -ETIMEDOUT;
        }
    }
    if (core_ring_empty(&q->ring)) {
        return -EPIPE;
    }
    core_ring_pop(&q->ring, out, sizeof(*out));
    if (q->push_waiters > 0) {
        pthread_cond_signal(&q->not_full);
    }
    return 0;
}

static int push(struct core_queue *q, void *item, bool wait, int64_t deadline_ns)
{
    pthread_mutex_lock(&q->mu);
    int rc = push_locked(q, item, wait, deadline_ns);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static int pop(struct core_queue *q, void **out, bool wait, int64_t deadline_ns)
{
    pthread_mutex_lock(&q->mu);
    int rc = pop_locked(q, out, wait, deadline_ns);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int core_queue_push(struct core_queue *q, void *item)
{
    return push(q, item, true, CORE_DEADLINE_NEVER);
}

int core_queue_try_push(struct core_queue *q, void *item)
{
    return push(q, item, false, CORE_DEADLINE_NEVER);
}

int core_queue_push_until(struct core_queue *q, void *item, int64_t deadline_ns)
{
    return push(q, item, true, deadline_ns);
}

int core_queue_pop(struct core_queue *q, void **out)
{
    return pop(q, out, true, CORE_DEADLINE_NEVER);
}

int core_queue_try_pop(struct core_queue *q, void **out)
{
    return pop(q, out, false, CORE_DEADLINE_NEVER);
}

int core_queue_pop_until(struct core_queue *q, void **out, int64_t deadline_ns)
{
    return pop(q, out, true, deadline_ns);
}

void core_queue_close(struct core_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_full);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

size_t core_queue_len(struct core_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->ring.count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t core_queue_capacity(const struct core_queue *q)
{
    return q->ring.capacity;
}

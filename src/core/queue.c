// SPDX-License-Identifier: MIT
/* A bounded MPMC queue: a ring buffer under one mutex with two condition variables. */
#include "core/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/thread.h"

struct core_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_full;  /* signalled when an item is removed or on close */
    pthread_cond_t not_empty; /* signalled when an item is added or on close */
    size_t capacity;          /* immutable */
    size_t head;              /* guarded by mu: index of the oldest item */
    size_t count;             /* guarded by mu */
    bool closed;              /* guarded by mu */
    void **items;             /* guarded by mu: capacity slots */
};

int core_queue_create(struct core_queue **out, size_t capacity)
{
    *out = NULL;
    if (capacity == 0 || capacity > SIZE_MAX / sizeof(void *)) {
        return -EINVAL;
    }
    struct core_queue *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        return -ENOMEM;
    }
    q->items = calloc(capacity, sizeof(void *));
    if (q->items == NULL) {
        free(q);
        return -ENOMEM;
    }
    q->capacity = capacity;
    int rc = -pthread_mutex_init(&q->mu, NULL);
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
    free(q->items);
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
    free(q->items);
    free(q);
}

static int push_locked(struct core_queue *q, void *item, bool wait, int64_t deadline_ns)
{
    while (!q->closed && q->count == q->capacity) {
        if (!wait) {
            return -EAGAIN;
        }
        if (core_cond_wait_until(&q->not_full, &q->mu, deadline_ns) == -ETIMEDOUT && !q->closed &&
            q->count == q->capacity) {
            return -ETIMEDOUT;
        }
    }
    if (q->closed) {
        return -EPIPE;
    }
    q->items[(q->head + q->count) % q->capacity] = item;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    return 0;
}

static int pop_locked(struct core_queue *q, void **out, bool wait, int64_t deadline_ns)
{
    while (q->count == 0 && !q->closed) {
        if (!wait) {
            return -EAGAIN;
        }
        if (core_cond_wait_until(&q->not_empty, &q->mu, deadline_ns) == -ETIMEDOUT &&
            q->count == 0 && !q->closed) {
            return -ETIMEDOUT;
        }
    }
    if (q->count == 0) {
        return -EPIPE;
    }
    *out = q->items[q->head];
    q->items[q->head] = NULL;
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    pthread_cond_signal(&q->not_full);
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
    return push(q, item, true, -1);
}

int core_queue_try_push(struct core_queue *q, void *item)
{
    return push(q, item, false, -1);
}

int core_queue_push_until(struct core_queue *q, void *item, int64_t deadline_ns)
{
    return push(q, item, true, deadline_ns);
}

int core_queue_pop(struct core_queue *q, void **out)
{
    return pop(q, out, true, -1);
}

int core_queue_try_pop(struct core_queue *q, void **out)
{
    return pop(q, out, false, -1);
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
    size_t n = q->count;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t core_queue_capacity(const struct core_queue *q)
{
    return q->capacity;
}

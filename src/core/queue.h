// SPDX-License-Identifier: MIT
/* A bounded multi-producer multi-consumer FIFO of pointers, with close(). */
#ifndef CORE_QUEUE_H
#define CORE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * A fixed-capacity ring of void pointers. Producers block when it is full, consumers when it
 * is empty. close() makes every later push fail with -EPIPE and wakes every blocked thread;
 * consumers still drain what was queued before close, then get -EPIPE.
 * Items are opaque: the queue never dereferences or frees them, so ownership of an item passes
 * from the producer to the consumer that pops it. Items left in the queue at destroy are the
 * caller's to free (drain with try_pop first).
 * Every function may be called from any thread, except destroy, which requires that no other
 * thread is using the queue (close it, then join the users). A push or pop signals a blocked
 * peer only when one is blocked, so an uncontended queue makes no futex call.
 * fork(): a child of a multi-threaded process must not touch a queue it inherited (its mutex
 * may be held by a thread that does not exist in the child); see docs/THREADING.md.
 */
struct core_queue;

/** Creates a queue holding at most capacity (>= 1) items. *out is NULL on failure. */
int core_queue_create(struct core_queue **out, size_t capacity) CORE_MUST_CHECK;
/** Destroys the queue. Accepts NULL. */
void core_queue_destroy(struct core_queue *q);

/** Appends item, blocking while full. 0, or -EPIPE if closed (the item stays the caller's). */
int core_queue_push(struct core_queue *q, void *item);
/** Appends item if there is room: 0, -EAGAIN when full, -EPIPE when closed. */
int core_queue_try_push(struct core_queue *q, void *item);
/**
 * As push, giving up at deadline_ns with -ETIMEDOUT (CLOCK_MONOTONIC; CORE_DEADLINE_NEVER
 * waits for ever; see the timeout convention in core/clock.h).
 */
int core_queue_push_until(struct core_queue *q, void *item, int64_t deadline_ns);

/** Removes the oldest item into *out, blocking while empty. 0, or -EPIPE if closed and empty. */
int core_queue_pop(struct core_queue *q, void **out);
/** Removes the oldest item if any: 0, -EAGAIN when empty, -EPIPE when closed and empty. */
int core_queue_try_pop(struct core_queue *q, void **out);
/** As pop, giving up at deadline_ns with -ETIMEDOUT (as push_until). */
int core_queue_pop_until(struct core_queue *q, void **out, int64_t deadline_ns);

/** Closes the queue and wakes every blocked producer and consumer. Idempotent. */
void core_queue_close(struct core_queue *q);
/** Number of items queued now (a snapshot). */
size_t core_queue_len(struct core_queue *q);
/** The capacity given at create. */
size_t core_queue_capacity(const struct core_queue *q);

#endif

// SPDX-License-Identifier: MIT
/* The core's one fixed-capacity FIFO ring, shared by core_queue and core_pool (internal). */
#ifndef CORE_RING_H
#define CORE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/compiler.h"

/*
 * A ring of `capacity` slots of `elem` bytes each. Not thread-safe: the owner (a queue, a pool)
 * guards it with its own mutex and keeps its own wake-up policy. push/pop take the element size
 * again so that it is a constant at each call site and the copy compiles to a plain move.
 * Internal to src/core: the programs use core_queue and core_pool.
 */
struct core_ring {
    unsigned char *slots;
    size_t elem;
    size_t capacity;
    size_t head;  /* index of the oldest element */
    size_t count; /* elements stored */
};

/** Allocates capacity (>= 1) slots of elem bytes: 0, -EINVAL or -ENOMEM. */
int core_ring_init(struct core_ring *r, size_t capacity, size_t elem) CORE_MUST_CHECK;
/** Frees the slots. Elements still stored are the owner's business. */
void core_ring_release(struct core_ring *r);

static inline bool core_ring_empty(const struct core_ring *r)
{
    return r->count == 0;
}

static inline bool core_ring_full(const struct core_ring *r)
{
    return r->count == r->capacity;
}

/** Appends one element (elem bytes from item). The ring must not be full. */
static inline void core_ring_push(struct core_ring *r, const void *item, size_t elem)
{
    size_t tail = r->head + r->count;
    if (tail >= r->capacity) {
        tail -= r->capacity;
    }
    memcpy(r->slots + tail * elem, item, elem);
    r->count++;
}

/** Removes the oldest element into out (elem bytes). The ring must not be empty. */
static inline void core_ring_pop(struct core_ring *r, void *out, size_t elem)
{
    memcpy(out, r->slots + r->head * elem, elem);
    memset(r->slots + r->head * elem, 0, elem); // no stale pointer stays behind
    r->head = r->head + 1 == r->capacity ? 0 : r->head + 1;
    r->count--;
}

#endif

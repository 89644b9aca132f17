// SPDX-License-Identifier: MIT
/* Allocation of the core's FIFO ring (the inline operations are in ring.h). */
#include "core/ring.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int core_ring_init(struct core_ring *r, size_t capacity, size_t elem)
{
    memset(r, 0, sizeof(*r));
    if (capacity == 0 || elem == 0 || capacity > SIZE_MAX / elem) {
        return -EINVAL;
    }
    r->slots = calloc(capacity, elem);
    if (r->slots == NULL) {
        return -ENOMEM;
    }
    r->elem = elem;
    r->capacity = capacity;
    return 0;
}

void core_ring_release(struct core_ring *r)
{
    free(r->slots);
    r->slots = NULL;
    r->count = 0;
}

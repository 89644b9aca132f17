// SPDX-License-Identifier: MIT
/* Immutable, reference-counted byte buffers. */
#include "core/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

int core_buf_create(struct core_buf **out, size_t len)
{
    *out = NULL;
    if (len > SIZE_MAX - sizeof(struct core_buf)) {
        return -ENOMEM;
    }
    // One allocation: the header, then the bytes.
    struct core_buf *b = malloc(sizeof(*b) + (len ? len : 1));
    if (b == NULL) {
        return -ENOMEM;
    }
    atomic_init(&b->refs_, 1);
    b->release_ = NULL;
    b->ctx_ = NULL;
    b->len = len;
    b->data = (unsigned char *)(b + 1);
    *out = b;
    return 0;
}

int core_buf_from(struct core_buf **out, const void *data, size_t len)
{
    int rc = core_buf_create(out, len);
    if (rc == 0 && len > 0) {
        memcpy((*out)->data, data, len);
    }
    return rc;
}

int core_buf_wrap(struct core_buf **out, void *data, size_t len,
                  void (*release)(void *ctx, void *p), void *ctx)
{
    *out = NULL;
    struct core_buf *b = malloc(sizeof(*b));
    if (b == NULL) {
        return -ENOMEM;
    }
    atomic_init(&b->refs_, 1);
    b->release_ = release;
    b->ctx_ = ctx;
    b->len = len;
    b->data = data;
    *out = b;
    return 0;
}

struct core_buf *core_buf_ref(struct core_buf *b)
{
    // Taking a reference needs no ordering: the caller already holds one.
    size_t old = atomic_fetch_add_explicit(&b->refs_, 1, memory_order_relaxed);
    if (old == 0) {
        CORE_BUG("core_buf_ref on a freed buffer");
    }
    return b;
}

void core_buf_unref(struct core_buf *b)
{
    if (b == NULL) {
        return;
    }
    // Release so that our reads of the data happen before the free; acquire on the last one.
    size_t old = atomic_fetch_sub_explicit(&b->refs_, 1, memory_order_acq_rel);
    if (old == 0) {
        CORE_BUG("core_buf_unref below zero");
    }
    if (old == 1) {
        if (b->release_ != NULL) {
            b->release_(b->ctx_, b->data);
        }
        free(b);
    }
}

size_t core_buf_refcount(const struct core_buf *b)
{
    return atomic_load_explicit(&b->refs_, memory_order_relaxed);
}

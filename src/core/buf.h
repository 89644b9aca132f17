// SPDX-License-Identifier: MIT
/* Immutable, reference-counted byte buffers: one JPEG frame shared by every client. */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/compiler.h"

/*
 * A buffer is written only by its creator, before it is shared; from the first ref() on it is
 * immutable and any thread may read it. The refcount is a C11 atomic, so ref/unref are
 * callable from any thread without a lock; the last unref frees the buffer (and calls its
 * release hook for wrapped memory). The struct is exposed so data/len read without a call;
 * fields ending in '_' are private.
 */
struct core_buf {
    atomic_size_t refs_;                  /* private: atomic */
    void (*release_)(void *ctx, void *p); /* private: for wrapped memory, else NULL */
    void *ctx_;                           /* private */
    size_t len;                           /* immutable after create */
    unsigned char *data;                  /* immutable after create; contents after sharing */
};

/**
 * Allocates a buffer of len bytes (uninitialised, for the creator to fill) with one reference.
 * len is checked against SIZE_MAX overflow only: callers cap input-derived sizes first.
 * Returns 0 or -ENOMEM; *out is NULL on failure.
 */
int core_buf_create(struct core_buf **out, size_t len) CORE_MUST_CHECK;
/** As create, then copies len bytes from data (borrowed). */
int core_buf_from(struct core_buf **out, const void *data, size_t len) CORE_MUST_CHECK;
/**
 * Wraps memory owned elsewhere without copying: release(ctx, data) runs when the last reference
 * goes. Takes ownership of data on success only.
 */
int core_buf_wrap(struct core_buf **out, void *data, size_t len,
                  void (*release)(void *ctx, void *p), void *ctx) CORE_MUST_CHECK;

/** Returns a new reference to b (the same pointer). Any thread. */
struct core_buf *core_buf_ref(struct core_buf *b);
/** Drops one reference; the last one frees the buffer. Accepts NULL. Any thread. */
void core_buf_unref(struct core_buf *b);
/** The current number of references (a snapshot, for tests and stats). */
size_t core_buf_refcount(const struct core_buf *b);

#endif

// SPDX-License-Identifier: MIT
/* A fixed-size thread pool with a bounded backlog and per-thread state. */
#ifndef CORE_POOL_H
#define CORE_POOL_H

#include <stddef.h>

#include "core/compiler.h"

/*
 * N named worker threads take tasks from a bounded FIFO backlog. A full backlog rejects a
 * submit with -EAGAIN instead of growing (or blocks, with submit_wait). Each worker runs the
 * optional thread_init hook once when it starts, which returns that thread's private state
 * (a TurboJPEG handle, a scratch buffer...), passes it to every task it runs, and hands it to
 * thread_fini when it stops. Tasks run on pool threads only; submit is callable from any thread,
 * including from inside a task. create and shutdown/destroy belong to the owner thread.
 * fork(): a child of a multi-threaded process must not touch a pool it inherited (its workers
 * do not exist there); see docs/THREADING.md.
 */
struct core_pool;

/**
 * A task. status is 0 when the task runs on a worker, or -ECANCELED when shutdown in CANCEL
 * mode discards it: then it runs on the thread that called shutdown, with thread_state NULL,
 * only so that it can free arg.
 */
typedef void (*core_pool_task_fn)(void *arg, void *thread_state, int status);
/** Called once on each worker as it starts; *state is what later tasks receive. 0 or -errno. */
typedef int (*core_pool_thread_init_fn)(void *ctx, void **state);
/** Called once on each worker as it stops, with the state from init. */
typedef void (*core_pool_thread_fini_fn)(void *ctx, void *state);

struct core_pool_config {
    const char *name;                     /* thread name prefix, e.g. "encode" -> "encode/0" */
    size_t threads;                       /* >= 1 */
    size_t backlog;                       /* tasks waiting beyond the running ones, >= 1 */
    core_pool_thread_init_fn thread_init; /* optional */
    core_pool_thread_fini_fn thread_fini; /* optional */
    void *ctx;                            /* passed to init/fini, borrowed */
};

enum core_pool_shutdown_mode {
    CORE_POOL_DRAIN,  /* run every queued task, then stop */
    CORE_POOL_CANCEL, /* let running tasks finish, cancel the queued ones */
};

/**
 * Starts the workers; returns once every thread_init has run. If a thread_init fails, the
 * started threads are stopped and its error is returned. *out is NULL on failure.
 */
int core_pool_create(struct core_pool **out, const struct core_pool_config *cfg) CORE_MUST_CHECK;

/** Queues fn(arg): 0, -EAGAIN when the backlog is full, -EPIPE after shutdown began. */
int core_pool_submit(struct core_pool *pool, core_pool_task_fn fn, void *arg);
/**
 * As submit, but waits while the backlog is full: 0 or -EPIPE. Called from one of this pool's
 * own tasks it never waits (every worker waiting for room that only a worker can make would
 * deadlock the pool): it returns -EDEADLK where submit would return -EAGAIN. From a task of
 * another pool it waits as usual, so two pools must not submit_wait into each other.
 */
int core_pool_submit_wait(struct core_pool *pool, core_pool_task_fn fn, void *arg);

/**
 * Blocks until the backlog is empty and no task is running (returns at once after shutdown).
 * Any thread but one of this pool's workers, where it would wait for itself: that aborts.
 */
void core_pool_wait_idle(struct core_pool *pool);

/**
 * Stops accepting tasks, drains or cancels the backlog, and joins every worker (thread_fini
 * runs on each). Idempotent. Owner thread only; never from one of its tasks (that aborts).
 */
void core_pool_shutdown(struct core_pool *pool, enum core_pool_shutdown_mode mode);
/** Shuts down (DRAIN) if still running, then frees. Accepts NULL. Owner thread only. */
void core_pool_destroy(struct core_pool *pool);

/** Tasks queued and not yet started (a snapshot). */
size_t core_pool_pending(struct core_pool *pool);

#endif

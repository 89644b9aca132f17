// SPDX-License-Identifier: MIT
/* A pool of worker processes that run one handler on byte requests, isolated from crashes. */
#ifndef CORE_PROCPOOL_H
#define CORE_PROCPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/compiler.h"

/*
 * N worker processes, each connected to the parent by a socketpair, run handler(ctx, request)
 * and send back its output bytes. A worker that crashes or overruns its deadline fails only the
 * request it was running: the caller gets an error naming the signal (or the timeout), the
 * worker is reaped and a fresh one takes its place.
 *
 * Processes: create() forks a small "spawner" process at once, and the spawner forks every
 * worker, now and on each respawn. Only the spawner ever forks, and it is single-threaded, so
 * a worker never inherits another thread's locks. Call create() before the program starts
 * threads (or at least while no other thread holds a lock in malloc or stdio). Workers and
 * the spawner die with the parent (PR_SET_PDEATHSIG) and on EOF of their sockets.
 *
 * Threads: call() may be called from any number of threads at once; each call takes an idle
 * worker (waiting for one if all are busy). create/destroy belong to the owner thread.
 */
struct core_procpool;

/** What a handler produces: append bytes to the reply with core_procpool_out_append. */
struct core_procpool_out;

/**
 * Runs in a worker process for each request. Returns a code that call() hands back in
 * result->code (any int, typically 0 or a negative errno). in is borrowed for the call and is
 * followed by a NUL byte (not counted in len), so text requests can be parsed in place.
 */
typedef int (*core_procpool_handler_fn)(void *ctx, const void *in, size_t len,
                                        struct core_procpool_out *out);

/** Appends len bytes to the reply (in the worker). 0, or -EMSGSIZE past max_reply. */
int core_procpool_out_append(struct core_procpool_out *out, const void *data, size_t len);

struct core_procpool_config {
    size_t workers;                   /* >= 1 */
    core_procpool_handler_fn handler; /* runs in the workers */
    void *ctx;                        /* for the handler; inherited by fork */
    size_t max_request;               /* bytes; 0 = 64 MiB */
    size_t max_reply;                 /* bytes; 0 = 256 MiB */
};

struct core_procpool_result {
    int code;               /* the handler's return value, when it ran to the end */
    int term_signal;        /* the signal that killed the worker, or 0 */
    int exit_status;        /* the worker's exit status if it exited instead, or -1 */
    bool timed_out;         /* the deadline passed and the worker was killed */
    struct core_buf *reply; /* new reference to the handler's output, or NULL on failure */
};

/** Forks the spawner and the workers. *out is NULL on failure. Owner thread. */
int core_procpool_create(struct core_procpool **out,
                         const struct core_procpool_config *cfg) CORE_MUST_CHECK;

/**
 * Sends the request (borrowed) to an idle worker and waits up to timeout_ms (< 0: no deadline)
 * for the reply. Returns 0 when the handler completed (result->code is its value, reply set),
 * -ECHILD when the worker died (term_signal or exit_status set), -ETIMEDOUT when it overran
 * and was killed, -EMSGSIZE for a request or reply over the caps, -EPIPE after destroy began.
 * The caller owns result->reply and must unref it. Any thread.
 */
int core_procpool_call(struct core_procpool *pp, const void *in, size_t len, int64_t timeout_ms,
                       struct core_procpool_result *result);

/** Describes a failed call in words ("killed by signal 11 (SIGSEGV)", "timed out after..."). */
void core_procpool_describe(const struct core_procpool_result *result, char *buf, size_t size);

/** Number of workers respawned so far (stats and tests). Any thread. */
uint64_t core_procpool_respawns(struct core_procpool *pp);

/**
 * Stops every worker and the spawner and frees the pool. No call() may be in progress.
 * Accepts NULL. Owner thread.
 */
void core_procpool_destroy(struct core_procpool *pp);

#endif

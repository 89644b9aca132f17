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
 * and send back its output bytes. A worker that crashes, overruns its deadline or breaks the
 * framing fails only the request it was running: the caller gets an error naming the signal
 * (or the timeout), the worker is killed (if it still runs) and reaped, and a fresh one takes
 * its place. A worker that died while idle (the OOM killer...) fails nothing: the call that
 * finds it dead, or that can prove it died before it had read the whole request, runs the
 * request on a fresh worker.
 *
 * Processes: create() forks a small "spawner" process at once, and the spawner forks every
 * worker, now and on each respawn. Only the spawner forks workers, and it is single-threaded,
 * so a worker never inherits another thread's locks. Call create() before the program starts
 * threads (or at least while no other thread holds a lock in malloc or stdio). The spawner and
 * the workers put every signal back to its default action whatever the parent installed, then
 * ignore SIGINT, SIGTERM and SIGHUP (the parent stops the pool in order), and start with an
 * empty signal mask. The spawner lives as long as the parent *process* (not the thread that
 * called create) and kills its workers when it goes; workers die with the spawner
 * (PR_SET_PDEATHSIG; it is single-threaded) and on EOF of their socket. If the spawner dies
 * anyway, the next call that needs a worker forks a new one, from the calling thread: then the
 * new spawner copies a multi-threaded parent, and a handler must not rely on a lock (other
 * than malloc's, which glibc resets) that another thread of the parent might hold.
 *
 * fork(): in a child forked from the pool's owner process, call() fails with -EPIPE and
 * destroy() only closes the child's copies of the descriptors and frees its memory: the
 * parent's workers and spawner are left alone.
 *
 * Threads: call() may be called from any number of threads at once; each call takes an idle
 * worker (waiting for one if all are busy, within its deadline). create/destroy belong to the
 * owner thread.
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
    bool timed_out;         /* the deadline passed while the worker ran; it was killed */
    struct core_buf *reply; /* new reference to the handler's output, or NULL on failure */
    int error;              /* what call() returned: 0 or the first error it met */
};

/** Forks the spawner and the workers. *out is NULL on failure. Owner thread. */
int core_procpool_create(struct core_procpool **out,
                         const struct core_procpool_config *cfg) CORE_MUST_CHECK;

/**
 * Sends the request (borrowed) to an idle worker and waits for the reply. timeout_ms follows
 * the core's convention (core/clock.h: < 0 for ever) and bounds the whole call: waiting for a
 * free worker, starting one, and running the request. Returns (and stores in result->error):
 *   0          the handler completed: result->code is its value, result->reply is set;
 *   -ECHILD    the worker died running it: term_signal or exit_status say how (both unset if
 *              its status could not be learnt before the deadline);
 *   -ETIMEDOUT the deadline passed: with timed_out set while the handler ran (the worker was
 *              killed), else before any worker took the request (nothing ran);
 *   -EPROTO    the worker broke the framing (a stray write, a bad header); it was killed;
 *   -EMSGSIZE  the request or the reply is over its cap (the worker stays);
 *   -EPIPE     destroy began, this is a forked child of the owner, or no spawner can be run;
 *   or another negative errno when no worker could be started (-ENOMEM, -EMFILE...).
 * The caller owns result->reply and must unref it. Any thread.
 */
int core_procpool_call(struct core_procpool *pp, const void *in, size_t len, int64_t timeout_ms,
                       struct core_procpool_result *result);

/**
 * Describes a call's outcome in words from its result ("handler returned 3", "worker killed by
 * signal 11 (SIGSEGV: Segmentation fault)", "worker overran its deadline and was killed"...).
 */
void core_procpool_describe(const struct core_procpool_result *result, char *buf, size_t size);

/**
 * Number of workers replaced so far after a failure (a crash, an overrun, a framing error, a
 * death while idle). Stats and tests. Any thread.
 */
uint64_t core_procpool_respawns(struct core_procpool *pp);

/**
 * Stops every worker and the spawner (killing them before reaping them) and frees the pool.
 * No call() may be in progress. Accepts NULL. Owner thread; in a forked child see above.
 */
void core_procpool_destroy(struct core_procpool *pp);

#endif

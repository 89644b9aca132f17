// SPDX-License-Identifier: MIT
/* The process pool's parent-side state, shared by its files (internal to src/core). */
#ifndef CORE_PROCPOOL_IMPL_H
#define CORE_PROCPOOL_IMPL_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/procpool.h"
#include "core/procpool_proto.h"

/*
 * Files: procpool.c (the API, slots, one call's course), procpool_exchange.c (one request and
 * its reply on a worker's socket), procpool_spawn.c (the spawner, from the parent's side),
 * procpool_spawner.c (the spawner and worker processes themselves).
 */

struct worker {
    pid_t pid;     /* -1 when the slot has no process */
    int sock;      /* non-blocking socket to the worker, or -1 */
    int status_fd; /* read end of the worker's status pipe, or -1 */
    int pidfd;     /* pidfd of the worker, or -1 (old kernels: kill by pid) */
    bool busy;     /* guarded by mu: a caller owns the slot, and with it every field above */
};

struct core_procpool {
    struct core_procpool_config cfg; /* immutable */
    pid_t owner;                     /* immutable: the process that called create */
    pthread_mutex_t mu;
    pthread_cond_t idle;    /* a slot was released, or stopping (CLOCK_MONOTONIC) */
    size_t idle_waiters;    /* guarded by mu */
    struct worker *workers; /* busy guarded by mu, the rest by the slot's owner */
    bool stopping;          /* guarded by mu */

    pthread_mutex_t spawner_mu;
    pthread_cond_t spawner_free; /* spawner_busy cleared (CLOCK_MONOTONIC) */
    bool spawner_busy;           /* guarded by spawner_mu: one thread owns the fields below */
    int spawner_fd;              /* control socket, or -1 when a spawner must be started */
    pid_t spawner_pid;           /* or -1 */
    int spawner_pidfd;           /* or -1 */
    uint64_t spawn_seq;          /* id of the last spawn request */
    struct pp_spawner_mem mem;   /* the spawner's own memory; never used in this process */

    atomic_int dead_spawner;       /* a killed spawner not reaped yet, or -1 */
    atomic_uint_fast64_t next_seq; /* request ids */
    atomic_uint_fast64_t respawns;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static inline void pp_close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* poll() until something is ready (0), the deadline passes (-ETIMEDOUT) or an error. */
static inline int pp_wait_io(struct pollfd *pfd, nfds_t n, int64_t deadline)
{
    for (;;) {
        int r = poll(pfd, n, core_poll_timeout_ms(deadline));
        if (r > 0) {
            return 0;
        }
        if (r == 0 && deadline >= 0 && core_now_ns() >= deadline) {
            return -ETIMEDOUT;
        }
        if (r < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

static inline void pp_reap_blocking(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

enum pp_outcome {
    PP_X_OK,          /* reply received */
    PP_X_OVERFLOW,    /* the handler's reply passed max_reply; the worker is fine */
    PP_X_NOT_STARTED, /* the worker went away before it had the whole request */
    PP_X_DIED,        /* the worker went away after it had read the request */
    PP_X_TIMEOUT,     /* the deadline passed */
    PP_X_PROTO,       /* the reply broke the framing */
    PP_X_ERROR,       /* a local failure (err) left the stream out of step */
};

struct pp_call {
    struct worker *w;
    const void *in;
    size_t len;
    size_t max_reply;
    int64_t deadline;
    uint64_t seq;
    struct pp_reply_header rep;
    struct core_buf *reply;
    bool stray_after; /* bytes followed the reply: use it, then retire the worker */
    int status_state; /* 0: not known yet; 1: status holds the wait status; -1: never will */
    int status;
    int err;
};

/* ---- procpool_spawn.c: every function needs the pool; w is a slot the caller owns -------- */

/** Forks a spawner process (create, or a restart by the spawner's owner). 0 or -errno. */
int core_procpool_start_spawner(struct core_procpool *pp);
/**
 * Starts a worker in slot w, waiting at most until deadline (for the spawner to be free and
 * to answer), and restarts a dead spawner once. 0, -ETIMEDOUT, -EPIPE or the fork's -errno.
 */
int core_procpool_spawn_into(struct core_procpool *pp, struct worker *w, int64_t deadline);
/** Reaps a killed spawner once it has exited, without waiting. Any thread. */
void core_procpool_reap_dead_spawner(struct core_procpool *pp);
/** Tells the spawner to quit, reaps it (killing it if it does not go), at destroy. */
void core_procpool_stop_spawner(struct core_procpool *pp);

/* ---- procpool_exchange.c: the caller owns w (and c) ------------------------------------- */

/** Kills w's process (harmless once it has exited). */
void core_procpool_kill_worker(struct worker *w);
/** Closes w's descriptors and empties the slot; the spawner reaps the process. */
void core_procpool_close_worker(struct worker *w);
/** True if w's worker has said nothing since its last reply (no byte, no EOF, no status). */
bool core_procpool_looks_idle(const struct worker *w);
/** Reads c->w's wait status into c if the spawner writes it before deadline. */
void core_procpool_take_status(struct pp_call *c, int64_t deadline);
/** Sends c's request and receives its reply (c->reply, c->rep) or says what went wrong. */
enum pp_outcome core_procpool_exchange(struct pp_call *c);

#endif

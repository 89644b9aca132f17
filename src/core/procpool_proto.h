// SPDX-License-Identifier: MIT
/* The process pool's wire formats and the spawner's entry point (internal to src/core). */
#ifndef CORE_PROCPOOL_PROTO_H
#define CORE_PROCPOOL_PROTO_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/compiler.h"
#include "core/procpool.h"

/*
 * Caller <-> worker, on the worker's SOCK_STREAM socket: one request, then one reply, each a
 * header followed by len bytes, each sent with one sendmsg. The caller checks magic, version
 * and seq of every reply: a reply that does not carry the id of the request it answers (a
 * stray write, a shifted stream) is a protocol error, and the worker is retired.
 */
#define PP_REQ_MAGIC   0x51505052u /* "RPPQ" */
#define PP_REPLY_MAGIC 0x51505041u /* "APPQ" */
#define PP_VERSION     1u

struct pp_req_header {
    uint32_t magic;
    uint32_t version;
    uint64_t seq; /* request id, unique within the pool */
    uint64_t len; /* bytes of request that follow */
};

enum pp_reply_flags {
    PP_REPLY_OVERFLOW = 1, /* the handler's output passed max_reply and was dropped (len 0) */
};

struct pp_reply_header {
    uint32_t magic;
    uint32_t flags; /* enum pp_reply_flags */
    uint64_t seq;   /* the id of the request this answers */
    int32_t code;   /* the handler's return value */
    uint32_t reserved;
    uint64_t len; /* bytes of reply that follow */
};

/*
 * Caller <-> spawner, on a SOCK_SEQPACKET socket, one message each. The caller sends
 * PP_OP_SPAWN with an id; the spawner answers with the same id, the worker's pid and, in
 * SCM_RIGHTS, the worker's socket, the read end of its status pipe and (when the kernel has
 * them) a pidfd of the worker. When the spawner reaps a worker it writes the int wait status
 * into that worker's status pipe and closes it. A reply whose id is not the one awaited
 * answers a request that timed out: the caller closes its descriptors and reads on.
 */
enum pp_spawner_op {
    PP_OP_SPAWN = 1,
    PP_OP_QUIT = 2, /* no reply: the spawner kills and reaps its workers, then exits */
};

struct pp_spawn_req {
    uint32_t op;
    uint32_t reserved;
    uint64_t seq;
};

struct pp_spawn_reply {
    uint64_t seq;
    int32_t pid;
    int32_t err; /* errno of a failed spawn, or 0 */
};

/* One worker the spawner has forked and not reaped yet. */
struct pp_kid {
    pid_t pid;
    int status_wr; /* write end of the worker's status pipe */
    int pidfd;     /* the spawner's pidfd of the worker, or -1 */
};

/*
 * Memory the spawner runs on, allocated by the parent before it forks the spawner, so that the
 * spawner (which may be forked again later from a multi-threaded parent) never allocates.
 */
struct pp_spawner_mem {
    struct pp_kid *kids; /* cap entries */
    struct pollfd *pfds; /* cap + 2 entries */
    size_t cap;
};

/**
 * The spawner process: runs in the child right after fork() until the parent process exits,
 * closes the control socket or sends PP_OP_QUIT, then kills and reaps its workers and exits.
 * parent is the pid of the process that forked it. Calls only async-signal-safe functions
 * until it forks a worker.
 */
CORE_NORETURN void core_procpool_spawner_main(const struct core_procpool_config *cfg, int ctl,
                                              const struct pp_spawner_mem *mem, pid_t parent);

/** pidfd_open(2) and pidfd_send_signal(2): -1 with errno when the kernel lacks them. */
int core_procpool_pidfd_open(pid_t pid);
int core_procpool_pidfd_kill(int pidfd, int sig);

#endif

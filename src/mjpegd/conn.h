// SPDX-License-Identifier: MIT
/* One HTTP connection's state machine: read a head, answer it, stream, linger, close. */
#ifndef MJD_CONN_H
#define MJD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mjpegd/http_parse.h"
#include "mjpegd/limits.h"
#include "mjpegd/list.h"
#include "mjpegd/outbuf.h"
#include "mjpegd/stream.h"

struct mjd_loop;
struct mjd_play;

enum mjd_conn_state {
    MJD_CONN_HEAD,     /* reading a request head; in loop->heads and (unless kicked) pending */
    MJD_CONN_RESPOND,  /* sending a response; in loop->active */
    MJD_CONN_STREAM,   /* streaming; in loop->streams */
    MJD_CONN_LINGER,   /* response sent, write side shut, draining input; in loop->active */
    MJD_CONN_SNAPWAIT, /* a snapshot parked until its source publishes a frame newer than
                          snap_seq, or snap_deadline (respond.c); in loop->snapwaits, counted */
    MJD_CONN_PLAY,     /* answering /recordings or playing a segment (play: playback.c); in
                          loop->plays */
};

/*
 * One connection, owned by the loop that accepted it: every field is loop thread only, except
 * pnode, which the pending set also reads under its mutex. The struct is shared by the
 * server's own files (loop, conn, respond, stream); nothing outside src/mjpegd's server uses it.
 */
struct mjd_conn {
    struct mjd_loop *loop;
    int fd;
    enum mjd_conn_state state;
    bool closed;                   /* closed; freed at the end of the loop iteration */
    struct mjd_conn *dead_next;    /* in the loop's list of closed connections */
    struct mjd_pending_node pnode; /* in the shared pending set while reading a head */
    struct mjd_link link;          /* in loop->heads, ->active or ->streams, by state */
    struct mjd_link runq;          /* in loop->runq while it has work left for a later turn */
    unsigned budget;               /* requests it may still start in this turn */
    struct sockaddr_storage peer;
    bool readable;    /* no EAGAIN from recv since the last EPOLLIN edge */
    bool writable;    /* no EAGAIN from sendmsg since the last EPOLLOUT edge */
    bool eof;         /* the peer shut its write side */
    bool counted;     /* holds a streaming slot in the limits */
    bool head_only;   /* answering HEAD: headers without a body */
    bool close_after; /* linger and close once the output is sent */
    bool sending;     /* out holds bytes not yet sent */
    /* input: at most MJD_HTTP_MAX_HEAD bytes */
    char *in;
    size_t in_len;
    size_t in_cap;
    size_t req_len; /* bytes of the request being answered */
    struct mjd_http_parser parser;
    struct mjd_out out;
    int64_t progress_ns; /* when output began or last made progress */
    int outq_seen;       /* socket send queue at the last sweep, -1 after a write */
    int64_t linger_until;
    size_t lingered;                /* bytes read and discarded (linger, stream) */
    struct mjd_stream_state stream; /* .source also names a parked snapshot's source */
    uint64_t snap_seq;              /* parked snapshot: the hub's newest seq at the request */
    int64_t snap_deadline;          /* parked snapshot: when it gets 503 (monotonic ns) */
    struct mjd_play *play;          /* MJD_CONN_PLAY: its job (one reference), else NULL */
};

/**
 * Takes ownership of the accepted socket fd from peer (borrowed) and serves it on loop l:
 * admitted as pending and read at once. On failure the fd is closed. Loop thread.
 */
void mjd_conn_accept(struct mjd_loop *l, int fd, const struct sockaddr_storage *peer);

/*
 * Fairness: every call below that runs a connection gives it MJD_CONN_BUDGET requests. A
 * connection with more work (pipelined requests) after that goes to the end of loop->runq
 * and waits for the next turn of the loop, so that one client cannot hold its loop.
 */
#define MJD_CONN_BUDGET 8

/** Handles epoll events on c (readiness flags from an edge), then runs it. Loop thread. */
void mjd_conn_on_event(struct mjd_conn *c, uint32_t events);

/** Runs c, taken from loop->runq, for another turn. Loop thread. */
void mjd_conn_resume(struct mjd_conn *c);

/** A new frame is there: a streaming c that is idle and writable starts a part. Loop thread. */
void mjd_conn_on_frame(struct mjd_conn *c);

/** The periodic sweep: ends a finished linger or a send that made no progress, and answers a
 * parked snapshot past its deadline with 503. Loop thread. */
void mjd_conn_sweep(struct mjd_conn *c);

/**
 * A new frame is there: a parked snapshot (MJD_CONN_SNAPWAIT) whose source now has a frame newer
 * than its snap_seq is answered with it (its slot given back) and sent. Loop thread.
 */
void mjd_conn_snapwait_frame(struct mjd_conn *c);

/** A playback reader or the pacing timer woke the loop: an idle playing c runs. Loop thread. */
void mjd_conn_on_play(struct mjd_conn *c);

/** Closes c (idempotent); the struct is freed by the loop after the event batch. */
void mjd_conn_close(struct mjd_conn *c);

/** Frees a closed c. Loop thread. */
void mjd_conn_free(struct mjd_conn *c);

#endif

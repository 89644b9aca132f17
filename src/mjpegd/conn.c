// SPDX-License-Identifier: MIT
/* One HTTP connection's state machine: read a head, answer it, stream, linger, close. */
#include "mjpegd/conn.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/auth.h"
#include "mjpegd/loop.h"
#include "mjpegd/playback.h"
#include "mjpegd/respond.h"
#include "mjpegd/route.h"

#define IN_INITIAL       2048
#define LINGER_NS        (2 * CORE_NS_PER_SEC)
#define LINGER_MAX_BYTES ((size_t)64 * 1024)
#define SWEEP_GRACE_NS   (100 * CORE_NS_PER_MS)

enum step {
    STEP_WAIT,   /* nothing more to do until the next event */
    STEP_AGAIN,  /* the state changed: run again */
    STEP_CLOSED, /* the connection was closed */
};

static void run(struct mjd_conn *c);

void mjd_conn_close(struct mjd_conn *c)
{
    if (c->closed) {
        return;
    }
    struct mjd_loop *l = c->loop;
    c->closed = true;
    if (c->state == MJD_CONN_HEAD) {
        mjd_pending_set_remove(l->shared->pending, &c->pnode);
    } else if (c->state == MJD_CONN_SNAPWAIT) {
        atomic_fetch_sub_explicit(&l->snapwaits_now, 1, memory_order_relaxed);
    }
    mjd_list_del(&c->link);
    mjd_list_del(&c->runq);
    close(c->fd);
    c->fd = -1;
    if (c->counted) {
        mjd_limits_release(l->shared->limits, (const struct sockaddr *)&c->peer);
        c->counted = false;
        struct mjd_demand *d = l->shared->sources[c->stream.source].demand;
        if (d != NULL) {
            mjd_demand_remove_client(d);
        }
    }
    mjd_play_end(c);
    mjd_out_release(&c->out);
    mjd_stream_drop_part(c);
    free(c->in);
    c->in = NULL;
    // Freed after the event batch: a later event in it may still name this connection.
    c->dead_next = l->dead;
    l->dead = c;
}

void mjd_conn_free(struct mjd_conn *c)
{
    free(c);
}

/* Moves c to the list of its new state (and keeps the loop's count of parked snapshots). */
static void set_state(struct mjd_conn *c, enum mjd_conn_state st)
{
    struct mjd_loop *l = c->loop;
    if (c->state == MJD_CONN_SNAPWAIT && st != MJD_CONN_SNAPWAIT) {
        atomic_fetch_sub_explicit(&l->snapwaits_now, 1, memory_order_relaxed);
    } else if (c->state != MJD_CONN_SNAPWAIT && st == MJD_CONN_SNAPWAIT) {
        atomic_fetch_add_explicit(&l->snapwaits_now, 1, memory_order_relaxed);
    }
    mjd_list_del(&c->link);
    c->state = st;
    struct mjd_link *list = st == MJD_CONN_HEAD       ? &l->heads
                            : st == MJD_CONN_STREAM   ? &l->streams
                            : st == MJD_CONN_SNAPWAIT ? &l->snapwaits
                            : st == MJD_CONN_PLAY     ? &l->plays
                                                      : &l->active;
    mjd_list_add_tail(list, &c->link);
}

/* Leaves the head-reading state: no longer pending, output reset for an answer. */
static void begin_output(struct mjd_conn *c)
{
    if (c->state == MJD_CONN_HEAD) {
        mjd_pending_set_remove(c->loop->shared->pending, &c->pnode);
    }
    mjd_out_reset(&c->out);
    c->sending = true;
    c->progress_ns = c->loop->now;
    c->outq_seen = -1;
}

/* Answers a request head that could not be parsed, or a limit that was hit. */
static void answer_error(struct mjd_conn *c, int status)
{
    begin_output(c);
    c->head_only = c->parser.is_head;
    mjd_respond_error(c, status, NULL);
    set_state(c, MJD_CONN_RESPOND);
}

static void handle_request(struct mjd_conn *c)
{
    const struct mjd_config *cfg = c->loop->shared->cfg;
    const struct mjd_http_request *req = &c->parser.req;
    // The head is complete: no longer pending (so /metrics does not count this request).
    begin_output(c);
    c->head_only = req->method == MJD_HTTP_HEAD;
    c->close_after = !req->keep_alive;
    enum mjd_conn_state next = MJD_CONN_RESPOND;
    struct mjd_route route;
    int status = 0;
    if (req->method == MJD_HTTP_OPTIONS) {
        // Before auth: a browser's preflight never carries credentials.
        mjd_respond_options(c);
    } else if (cfg->auth[0] != '\0' && !(req->has_authorization &&
                                         mjd_auth_check_basic(c->in + req->authorization.off,
                                                              req->authorization.len, cfg->auth))) {
        mjd_respond_error(c, 401, "WWW-Authenticate: Basic realm=\"mjpegd\"\r\n");
    } else if ((status = mjd_route_resolve(c->in + req->target.off, req->target.len, &route)) !=
               0) {
        mjd_respond_error(c, status, NULL);
    } else if (route.source >= c->loop->shared->nsources) {
        mjd_respond_error(c, 404, NULL);
    } else {
        switch (route.kind) {
        case MJD_ROUTE_INDEX:
            mjd_respond_index(c);
            break;
        case MJD_ROUTE_STREAM:
            if (mjd_stream_begin(c, &route)) {
                next = MJD_CONN_STREAM;
            }
            break;
        case MJD_ROUTE_SNAPSHOT:
            if (mjd_respond_snapshot(c, route.source)) {
                next = MJD_CONN_SNAPWAIT;
                c->sending = false; // nothing to send (nor to time out) while parked
            }
            break;
        case MJD_ROUTE_STATE:
            mjd_respond_report(c, false);
            break;
        case MJD_ROUTE_METRICS:
            mjd_respond_report(c, true);
            break;
        case MJD_ROUTE_RECORDINGS:
        case MJD_ROUTE_RECORDING:
            if (mjd_play_begin(c, &route)) {
                next = MJD_CONN_PLAY;
                c->sending = false; // nothing to send until the reader has answered
            }
            break;
        case MJD_ROUTE_NOT_FOUND:
        default:
            mjd_respond_error(c, 404, NULL);
            break;
        }
    }
    set_state(c, next);
}

static void enter_head_state(struct mjd_conn *c)
{
    set_state(c, MJD_CONN_HEAD);
    c->head_only = false;
    c->close_after = false;
    mjd_http_parser_init(&c->parser);
    c->pnode.fd = c->fd;
    atomic_store_explicit(&c->pnode.started, c->in_len > 0, memory_order_relaxed);
    mjd_pending_set_add(c->loop->shared->pending, &c->pnode, c->loop->now);
}

static enum step head_step(struct mjd_conn *c)
{
    if (c->budget == 0) {
        // Its turn is over: the rest (say, pipelined requests) waits for the next turn.
        if (!mjd_list_linked(&c->runq)) {
            mjd_list_add_tail(&c->loop->runq, &c->runq);
        }
        return STEP_WAIT;
    }
    for (;;) {
        if (c->in_len > 0) {
            size_t used = 0;
            enum mjd_http_result r = mjd_http_parse(&c->parser, c->in, c->in_len, &used);
            if (r == MJD_HTTP_OK) {
                c->req_len = used;
                c->budget--;
                handle_request(c);
                return STEP_AGAIN;
            }
            if (r == MJD_HTTP_ERROR) {
                c->req_len = c->in_len;
                answer_error(c, c->parser.status);
                return STEP_AGAIN;
            }
            if (c->in_len >= MJD_HTTP_MAX_HEAD) {
                c->req_len = c->in_len;
                answer_error(c, 431);
                return STEP_AGAIN;
            }
        }
        if (c->eof) {
            mjd_conn_close(c);
            return STEP_CLOSED;
        }
        if (!c->readable) {
            return STEP_WAIT;
        }
        if (c->in_len == c->in_cap) {
            size_t cap = c->in_cap ? c->in_cap * 2 : IN_INITIAL;
            cap = cap > MJD_HTTP_MAX_HEAD ? MJD_HTTP_MAX_HEAD : cap;
            c->in = core_xrealloc(c->in, cap);
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            if (c->in_len == 0) {
                atomic_store_explicit(&c->pnode.started, true, memory_order_relaxed);
            }
            c->in_len += (size_t)n;
        } else if (n == 0) {
            c->eof = true;
        } else if (errno == EAGAIN) {
            c->readable = false;
        } else if (errno != EINTR) {
            mjd_conn_close(c);
            return STEP_CLOSED;
        }
    }
}

static void begin_linger(struct mjd_conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = MJD_CONN_LINGER;
    c->linger_until = c->loop->now + LINGER_NS;
    c->lingered = 0;
}

/* Reads and discards input: STEP_CLOSED at EOF, error or too much, else STEP_WAIT. */
static enum step discard_input(struct mjd_conn *c)
{
    char scratch[4096];
    while (c->readable && !c->eof) {
        ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
        if (n > 0) {
            c->lingered += (size_t)n;
            if (c->state == MJD_CONN_LINGER && c->lingered > LINGER_MAX_BYTES) {
                break;
            }
            continue;
        }
        if (n == 0) {
            c->eof = true;
        } else if (errno == EAGAIN) {
            c->readable = false;
        } else if (errno != EINTR) {
            break;
        }
    }
    if (c->readable || c->eof) {
        mjd_conn_close(c);
        return STEP_CLOSED;
    }
    return STEP_WAIT;
}

/*
 * Sends what is left of the current response or part: c's output (a response, or a stream's
 * head), then the stream part c holds, by the loop's sender (splice, sendfile or copy, resuming
 * at the part's offset). STEP_AGAIN once it is all sent (the body and part references are
 * dropped), STEP_WAIT while the socket is full, STEP_CLOSED on an error.
 */
static enum step finish_send(struct mjd_conn *c)
{
    if (!c->writable) {
        return STEP_WAIT;
    }
    size_t written = 0;
    enum mjd_out_status r = mjd_out_flush(&c->out, c->fd, &written);
    if (r == MJD_OUT_DONE && c->stream.part != NULL) {
        size_t before = c->stream.part_off;
        int rc = mjd_part_send(c->loop->sender, c->stream.part, c->fd, &c->stream.part_off,
                               &c->stream.path);
        written += c->stream.part_off - before;
        r = rc > 0 ? MJD_OUT_DONE : rc == 0 ? MJD_OUT_BLOCKED : MJD_OUT_ERROR;
        if (rc > 0) {
            mjd_stream_drop_part(c);
        }
    }
    if (written > 0) {
        c->progress_ns = c->loop->now;
        c->outq_seen = -1;
        atomic_fetch_add_explicit(&c->loop->bytes_sent, (uint64_t)written, memory_order_relaxed);
    }
    if (r == MJD_OUT_ERROR) {
        mjd_conn_close(c);
        return STEP_CLOSED;
    }
    if (r == MJD_OUT_BLOCKED) {
        c->writable = false;
        return STEP_WAIT;
    }
    c->sending = false;
    return STEP_AGAIN;
}

static enum step respond_step(struct mjd_conn *c)
{
    enum step s = finish_send(c);
    if (s != STEP_AGAIN) {
        return s;
    }
    if (c->close_after) {
        begin_linger(c);
        return STEP_AGAIN;
    }
    // Keep-alive: drop the answered request, then parse any pipelined one.
    memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
    c->in_len -= c->req_len;
    c->req_len = 0;
    enter_head_state(c);
    return STEP_AGAIN;
}

/*
 * A streaming (or playing) client has nothing to say; reading tells us when it goes away. One
 * that keeps talking is cut off, so it cannot keep this loop busy reading. STEP_CLOSED or
 * STEP_WAIT.
 */
static enum step stream_input(struct mjd_conn *c)
{
    if (c->readable) {
        char scratch[1024];
        for (;;) {
            ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
            if (n > 0) {
                c->lingered += (size_t)n;
                if (c->lingered > LINGER_MAX_BYTES) {
                    mjd_conn_close(c);
                    return STEP_CLOSED;
                }
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && errno == EAGAIN) {
                c->readable = false;
                break;
            }
            mjd_conn_close(c);
            return STEP_CLOSED;
        }
    }
    return STEP_WAIT;
}

static enum step stream_step(struct mjd_conn *c)
{
    if (stream_input(c) == STEP_CLOSED) {
        return STEP_CLOSED;
    }
    for (;;) {
        if (c->sending) {
            enum step s = finish_send(c);
            if (s != STEP_AGAIN) {
                return s;
            }
        }
        // Only pick a frame when the socket can take it, so it is the newest one by then.
        if (!c->writable || !mjd_stream_next_part(c)) {
            return STEP_WAIT;
        }
        c->sending = true;
        c->progress_ns = c->loop->now;
    }
}

/*
 * Looks for the peer going away without reading what it sent (a pipelined request waits in
 * the socket, or in c->in, for the answer before it): STEP_CLOSED or STEP_WAIT.
 */
static enum step peek_input(struct mjd_conn *c)
{
    while (c->readable) {
        char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
        if (n > 0) {
            return STEP_WAIT;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            c->readable = false;
            return STEP_WAIT;
        }
        mjd_conn_close(c);
        return STEP_CLOSED;
    }
    return STEP_WAIT;
}

/*
 * Playback (playback.h): sends what the job has ready and due. A segment's playback (always
 * close_after) discards input as a stream does and lingers at its end; a kept-alive listing
 * leaves input alone and, once sent, goes on as any response (respond_step: the next head).
 */
static enum step play_step(struct mjd_conn *c)
{
    if ((c->close_after ? stream_input(c) : peek_input(c)) == STEP_CLOSED) {
        return STEP_CLOSED;
    }
    for (;;) {
        if (c->sending) {
            enum step s = finish_send(c);
            if (s != STEP_AGAIN) {
                return s;
            }
        }
        if (!c->writable) {
            return STEP_WAIT;
        }
        enum mjd_play_next n = mjd_play_next(c);
        if (n == MJD_PLAY_WAIT) {
            return STEP_WAIT;
        }
        if (n == MJD_PLAY_DONE) {
            // All sent: respond_step lingers (close_after) or reads the next head.
            mjd_play_end(c);
            set_state(c, MJD_CONN_RESPOND);
            return STEP_AGAIN;
        }
        c->sending = true;
        c->progress_ns = c->loop->now;
        c->outq_seen = -1;
    }
}

/*
 * A parked snapshot reads nothing (a pipelined request waits in the socket for the answer);
 * it only looks for the peer going away, so a disconnect frees it at once.
 */
static enum step snapwait_step(struct mjd_conn *c)
{
    return peek_input(c);
}

static void run(struct mjd_conn *c)
{
    c->budget = MJD_CONN_BUDGET;
    enum step s = STEP_AGAIN;
    while (s == STEP_AGAIN && !c->closed) {
        switch (c->state) {
        case MJD_CONN_HEAD:
            s = head_step(c);
            break;
        case MJD_CONN_RESPOND:
            s = respond_step(c);
            break;
        case MJD_CONN_STREAM:
            s = stream_step(c);
            break;
        case MJD_CONN_LINGER:
            s = discard_input(c);
            break;
        case MJD_CONN_SNAPWAIT:
            s = snapwait_step(c);
            break;
        case MJD_CONN_PLAY:
            s = play_step(c);
            break;
        default:
            CORE_BUG("bad connection state");
        }
    }
}

void mjd_conn_accept(struct mjd_loop *l, int fd, const struct sockaddr_storage *peer)
{
    struct mjd_conn *c = core_xcalloc(1, sizeof(*c));
    c->loop = l;
    c->fd = fd;
    c->peer = *peer;
    mjd_out_init(&c->out);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        LOG_WARN("epoll_ctl add: %s", strerror(errno));
        close(fd);
        free(c);
        return;
    }
    // Admitted as pending (which may evict the oldest idle one), then read at once: the
    // request often arrives with the connection, and is then answered without waiting.
    mjd_loop_tick(l);
    enter_head_state(c);
    c->readable = true;
    c->writable = true;
    run(c);
}

void mjd_conn_on_event(struct mjd_conn *c, uint32_t events)
{
    if (c->closed) {
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        c->readable = true;
    }
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        c->writable = true;
    }
    run(c);
}

void mjd_conn_resume(struct mjd_conn *c)
{
    if (!c->closed) {
        run(c);
    }
}

/* A parked snapshot's answer is in its output: send it as any response. */
static void unpark(struct mjd_conn *c)
{
    set_state(c, MJD_CONN_RESPOND);
    c->sending = true;
    c->progress_ns = c->loop->now;
    c->outq_seen = -1;
    run(c);
}

void mjd_conn_on_play(struct mjd_conn *c)
{
    if (!c->closed && c->state == MJD_CONN_PLAY && !c->sending && c->writable) {
        run(c);
    }
}

void mjd_conn_on_frame(struct mjd_conn *c)
{
    if (!c->closed && c->state == MJD_CONN_STREAM && !c->sending && c->writable) {
        run(c);
    }
}

/*
 * Whether a connection with output in flight is still within --send-timeout. A socket we
 * cannot write to may still be draining: the kernel signals EPOLLOUT only once a third of the
 * send buffer is free, which a slow but steady reader can take longer than the timeout to
 * free. So a send queue that shrank since the last sweep counts as progress too.
 */
static bool send_in_time(struct mjd_conn *c, int64_t now, int64_t timeout_ns)
{
    if (now - c->progress_ns < SWEEP_GRACE_NS) {
        return true;
    }
    int outq = 0;
    if (ioctl(c->fd, SIOCOUTQ, &outq) == 0) {
        if (c->outq_seen >= 0 && outq < c->outq_seen) {
            c->progress_ns = now;
        }
        c->outq_seen = outq;
    }
    return now - c->progress_ns <= timeout_ns;
}

/* Gives back what a parked snapshot held: its client slot and its viewer of the source. */
static void release_slot(struct mjd_conn *c)
{
    struct mjd_loop *l = c->loop;
    if (c->counted) {
        mjd_limits_release(l->shared->limits, (const struct sockaddr *)&c->peer);
        c->counted = false;
        struct mjd_demand *d = l->shared->sources[c->stream.source].demand;
        if (d != NULL) {
            // Touched again, so the source lingers from now rather than from the request.
            mjd_demand_touch(d, l->now);
            mjd_demand_remove_client(d);
        }
    }
}

void mjd_conn_snapwait_frame(struct mjd_conn *c)
{
    if (c->closed || c->state != MJD_CONN_SNAPWAIT) {
        return;
    }
    const struct mjd_frame *f = &c->loop->frames[c->stream.source].frame;
    if (f->jpeg == NULL || f->seq <= c->snap_seq) {
        return;
    }
    release_slot(c);
    mjd_respond_snapshot_frame(c, f);
    unpark(c);
}

void mjd_conn_sweep(struct mjd_conn *c)
{
    int64_t now = c->loop->now;
    if (c->closed || c->state == MJD_CONN_HEAD) {
        return;
    }
    if (c->state == MJD_CONN_SNAPWAIT) {
        if (now >= c->snap_deadline) {
            LOG_DEBUG("snapshot wait timed out: 503");
            atomic_fetch_add_explicit(&c->loop->snap_timeouts, 1, memory_order_relaxed);
            release_slot(c);
            mjd_respond_error(c, 503, "Retry-After: 1\r\n");
            unpark(c);
        }
        return;
    }
    if (c->state == MJD_CONN_LINGER) {
        if (now >= c->linger_until) {
            mjd_conn_close(c);
        }
    } else if (c->sending && !send_in_time(c, now, c->loop->shared->cfg->send_timeout_ns)) {
        LOG_DEBUG("send timeout: closing a client that made no progress");
        mjd_conn_close(c);
    }
}

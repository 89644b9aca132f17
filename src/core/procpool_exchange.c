// SPDX-License-Identifier: MIT
/*
 * One request and its reply on a worker's socket, with the proofs the caller needs: whether the
 * worker can have started the request, and how it ended (its status pipe).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/procpool_impl.h"
#include "core/procpool_proto.h"

/* Kills w's process (harmless if it has exited). */
void core_procpool_kill_worker(struct worker *w)
{
    if (w->pid <= 0) {
        return;
    }
    if (w->pidfd >= 0) {
        (void)core_procpool_pidfd_kill(w->pidfd, SIGKILL);
        return;
    }
    // No pidfd (an old kernel): kill by pid only while the status pipe is still empty, that is
    // before the spawner reaped the worker and its pid could be reused.
    struct pollfd pfd = { .fd = w->status_fd, .events = POLLIN };
    if (poll(&pfd, 1, 0) == 0) {
        kill(w->pid, SIGKILL);
    }
}

/* Forgets w's process; the spawner reaps it. */
void core_procpool_close_worker(struct worker *w)
{
    pp_close_fd(&w->sock);
    pp_close_fd(&w->status_fd);
    pp_close_fd(&w->pidfd);
    w->pid = -1;
}

/* An idle worker has nothing to say: any byte, EOF, or a status means it died or misbehaved. */
bool core_procpool_looks_idle(const struct worker *w)
{
    struct pollfd pfd[2] = { { .fd = w->sock, .events = POLLIN },
                             { .fd = w->status_fd, .events = POLLIN } };
    int n;
    do {
        n = poll(pfd, 2, 0);
    } while (n < 0 && errno == EINTR);
    return n == 0;
}

/* Reads the worker's wait status if the spawner has written it (status_state becomes 1). */
void core_procpool_take_status(struct pp_call *c, int64_t deadline)
{
    while (c->status_state == 0) {
        struct pollfd pfd = { .fd = c->w->status_fd, .events = POLLIN };
        if (pp_wait_io(&pfd, 1, deadline) != 0) {
            return;
        }
        ssize_t n = read(c->w->status_fd, &c->status, sizeof(c->status));
        if (n == (ssize_t)sizeof(c->status)) {
            c->status_state = 1;
        } else if (n >= 0 || (errno != EINTR && errno != EAGAIN)) {
            c->status_state = -1; // the spawner died without writing it
        }
    }
}

/* Waits for the socket to be ready (events) while watching the status pipe. */
static enum pp_outcome wait_sock(struct pp_call *c, short events)
{
    enum pp_outcome dead = events == POLLOUT ? PP_X_NOT_STARTED : PP_X_DIED;
    if (c->status_state == 1) {
        return dead; // reaped, yet its socket is still open: a process it forked holds it
    }
    struct pollfd pfd[2] = { { .fd = c->w->sock, .events = events },
                             { .fd = c->w->status_fd, .events = POLLIN } };
    int rc = pp_wait_io(pfd, c->status_state == 0 ? 2 : 1, c->deadline);
    if (rc == -ETIMEDOUT) {
        return PP_X_TIMEOUT;
    }
    if (rc != 0) {
        c->err = rc;
        return PP_X_ERROR;
    }
    if (c->status_state == 0 && pfd[1].revents != 0) {
        core_procpool_take_status(c, 0);
        // Reaped: its end of the socket is closed, so the socket reports EOF at once, unless a
        // process it forked still holds the socket; then it is dead all the same.
        if (c->status_state == 1 && pfd[0].revents == 0) {
            return dead;
        }
    }
    return PP_X_OK;
}

/* Header and request in one sendmsg (more only if the socket buffer fills). */
static enum pp_outcome send_request(struct pp_call *c)
{
    struct pp_req_header h = {
        .magic = PP_REQ_MAGIC, .version = PP_VERSION, .seq = c->seq, .len = c->len
    };
    struct iovec iov[2] = { { .iov_base = &h, .iov_len = sizeof(h) },
                            { .iov_base = (void *)(uintptr_t)c->in, .iov_len = c->len } };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = c->len > 0 ? 2 : 1 };
    while (mh.msg_iovlen > 0) {
        ssize_t n = sendmsg(c->w->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            size_t done = (size_t)n;
            while (mh.msg_iovlen > 0 && done >= mh.msg_iov->iov_len) {
                done -= mh.msg_iov->iov_len;
                mh.msg_iov++;
                mh.msg_iovlen--;
            }
            if (mh.msg_iovlen > 0) {
                mh.msg_iov->iov_base = (unsigned char *)mh.msg_iov->iov_base + done;
                mh.msg_iov->iov_len -= done;
            }
        } else if (errno == EAGAIN) {
            enum pp_outcome o = wait_sock(c, POLLOUT);
            if (o != PP_X_OK) {
                return o;
            }
        } else if (errno != EINTR) {
            return PP_X_NOT_STARTED; // EPIPE, ECONNRESET: it is gone and never had all of it
        }
    }
    return PP_X_OK;
}

/*
 * Receives into buf[*have..want). EOF means the worker died after it had read every byte of
 * the request (it may have run it); ECONNRESET before any reply byte means that it closed its
 * socket with part of the request still unread, so the handler never started.
 */
static enum pp_outcome recv_some(struct pp_call *c, unsigned char *buf, size_t *have, size_t want,
                                 size_t room, bool first)
{
    while (*have < want) {
        ssize_t n = recv(c->w->sock, buf + *have, room - *have, MSG_DONTWAIT);
        if (n > 0) {
            *have += (size_t)n;
        } else if (n == 0) {
            return PP_X_DIED;
        } else if (errno == EAGAIN) {
            enum pp_outcome o = wait_sock(c, POLLIN);
            if (o != PP_X_OK) {
                return o;
            }
        } else if (errno != EINTR) {
            return errno == ECONNRESET && first && *have == 0 ? PP_X_NOT_STARTED : PP_X_DIED;
        }
    }
    return PP_X_OK;
}

static enum pp_outcome recv_reply(struct pp_call *c)
{
    // The header and a small body arrive together; a large body goes straight into the buffer.
    unsigned char head[4096];
    const size_t hs = sizeof(c->rep);
    size_t got = 0;
    enum pp_outcome o = recv_some(c, head, &got, hs, sizeof(head), true);
    if (o != PP_X_OK) {
        return o;
    }
    memcpy(&c->rep, head, hs);
    const struct pp_reply_header *r = &c->rep;
    if (r->magic != PP_REPLY_MAGIC || r->seq != c->seq || (r->flags & ~PP_REPLY_OVERFLOW) != 0 ||
        r->len > c->max_reply || ((r->flags & PP_REPLY_OVERFLOW) && r->len != 0)) {
        LOG_WARN("procpool: worker %d broke the framing (magic %#x, id %llu for %llu, %llu "
                 "bytes); killing it",
                 (int)c->w->pid, (unsigned)r->magic, (unsigned long long)r->seq,
                 (unsigned long long)c->seq, (unsigned long long)r->len);
        return PP_X_PROTO;
    }
    size_t len = (size_t)r->len, have = got - hs;
    if (have > len) {
        c->stray_after = true;
        have = len;
    }
    c->err = core_buf_create(&c->reply, len);
    if (c->err != 0) {
        return PP_X_ERROR;
    }
    if (have > 0) {
        memcpy(c->reply->data, head + hs, have);
    }
    o = recv_some(c, c->reply->data, &have, len, len, false);
    if (o != PP_X_OK) {
        return o;
    }
    return (r->flags & PP_REPLY_OVERFLOW) ? PP_X_OVERFLOW : PP_X_OK;
}

enum pp_outcome core_procpool_exchange(struct pp_call *c)
{
    enum pp_outcome o = send_request(c);
    return o == PP_X_OK ? recv_reply(c) : o;
}

// SPDX-License-Identifier: MIT
/*
 * A pool of worker processes. A single-threaded spawner process, forked at create time, forks
 * every worker and hands its socket back over SCM_RIGHTS; callers talk to workers directly.
 */
#include "core/procpool.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

#define DEFAULT_MAX_REQUEST ((size_t)64 << 20)
#define DEFAULT_MAX_REPLY   ((size_t)256 << 20)

/* Requests to the spawner and its replies, one SOCK_SEQPACKET message each. */
enum spawner_op {
    OP_SPAWN = 1, /* reply: spawn_reply + the worker's socket in SCM_RIGHTS */
    OP_REAP = 2,  /* reply: reap_reply with the wait status of pid */
    OP_QUIT = 3,  /* no reply: the spawner kills and reaps its workers, then exits */
};

struct spawner_req {
    int op;
    pid_t pid;
};

struct spawn_reply {
    pid_t pid;
    int err;
};

struct reap_reply {
    int status;
    int err;
};

/* Framing between a caller and a worker. */
struct req_header {
    uint64_t len;
};

enum reply_flags {
    REPLY_OVERFLOW = 1, /* the handler's output passed max_reply and was cut */
};

struct reply_header {
    int32_t code;
    int32_t flags;
    uint64_t len;
};

struct core_procpool_out {
    unsigned char *data;
    size_t len;
    size_t cap;
    size_t max;
    bool overflow;
};

struct worker {
    pid_t pid; /* guarded by mu; -1 when the slot has no process */
    int fd;    /* guarded by mu; -1 when the slot has no process */
    bool busy; /* guarded by mu: a caller owns this slot and its fd */
};

struct core_procpool {
    struct core_procpool_config cfg; /* immutable */
    pthread_mutex_t mu;
    pthread_cond_t idle;    /* a worker became free, or stopping */
    struct worker *workers; /* guarded by mu */
    bool stopping;          /* guarded by mu */
    pthread_mutex_t spawner_mu;
    int spawner_fd;    /* guarded by spawner_mu */
    pid_t spawner_pid; /* immutable after create */
    _Atomic uint64_t respawns;
};

/* ---- I/O helpers ------------------------------------------------------------------------- */

/* Blocking full write for the worker side (the fd is blocking there). */
static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -EPIPE;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Blocking full read for the worker side: 0, or -EPIPE on EOF or error. */
static int read_all(int fd, void *data, size_t len)
{
    unsigned char *p = data;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -EPIPE;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Waits for events on a non-blocking fd until deadline_ns (< 0: forever). */
static int wait_fd(int fd, short events, int64_t deadline_ns)
{
    for (;;) {
        int timeout = -1;
        if (deadline_ns >= 0) {
            int64_t left = deadline_ns - core_now_ns();
            if (left <= 0) {
                return -ETIMEDOUT;
            }
            timeout = (int)((left + CORE_NS_PER_MS - 1) / CORE_NS_PER_MS);
        }
        struct pollfd pfd = { .fd = fd, .events = events };
        int n = poll(&pfd, 1, timeout);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n > 0) {
            return 0;
        }
    }
}

/* Caller side: sends all bytes before the deadline. -EPIPE if the worker went away. */
static int send_until(int fd, const void *data, size_t len, int64_t deadline_ns)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            int rc = wait_fd(fd, POLLOUT, deadline_ns);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        return -EPIPE;
    }
    return 0;
}

/* Caller side: receives exactly len bytes before the deadline. -EPIPE on EOF. */
static int recv_until(int fd, void *data, size_t len, int64_t deadline_ns)
{
    unsigned char *p = data;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0) {
            return -EPIPE;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN) {
            int rc = wait_fd(fd, POLLIN, deadline_ns);
            if (rc != 0) {
                return rc;
            }
            continue;
        }
        return -EPIPE;
    }
    return 0;
}

/* ---- the worker process ------------------------------------------------------------------ */

int core_procpool_out_append(struct core_procpool_out *out, const void *data, size_t len)
{
    if (out->overflow || len > out->max - out->len) {
        out->overflow = true;
        return -EMSGSIZE;
    }
    if (out->len + len > out->cap) {
        size_t cap = out->cap ? out->cap : 4096;
        while (cap < out->len + len) {
            cap = cap > out->max / 2 ? out->max : cap * 2;
        }
        unsigned char *p = realloc(out->data, cap);
        if (p == NULL) {
            return -ENOMEM;
        }
        out->data = p;
        out->cap = cap;
    }
    memcpy(out->data + out->len, data, len);
    out->len += len;
    return 0;
}

CORE_NORETURN static void worker_main(const struct core_procpool_config *cfg, int fd)
{
    // A worker runs the same kind of task over and over: keep freed memory instead of handing
    // it back to the kernel after every task (glibc trims the heap and unmaps large blocks by
    // default, and faulting the same pages in again cost more than the handler's own work).
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    unsigned char *in = NULL;
    size_t in_cap = 0;
    struct core_procpool_out out = { .max = cfg->max_reply };
    for (;;) {
        struct req_header rh;
        if (read_all(fd, &rh, sizeof(rh)) != 0 || rh.len > cfg->max_request) {
            _exit(0);
        }
        if (rh.len + 1 > in_cap) {
            free(in);
            in_cap = rh.len + 1;
            in = malloc(in_cap);
        }
        if (in == NULL || read_all(fd, in, rh.len) != 0) {
            _exit(1);
        }
        in[rh.len] = '\0';
        // The reply buffer is reused too; only its length starts again from zero.
        out.len = 0;
        out.overflow = false;
        int code = cfg->handler(cfg->ctx, in, rh.len, &out);
        struct reply_header rep = {
            .code = code,
            .flags = out.overflow ? REPLY_OVERFLOW : 0,
            .len = out.overflow ? 0 : out.len,
        };
        if (write_all(fd, &rep, sizeof(rep)) != 0 ||
            (rep.len > 0 && write_all(fd, out.data, rep.len) != 0)) {
            _exit(0);
        }
    }
}

/* ---- the spawner process ----------------------------------------------------------------- */

static void ignore_stop_signals(void)
{
    // Workers stop when their socket closes or the parent dies, never on a terminal's ^C,
    // so the parent can shut down in order and report a real crash as one.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * A crashing handler must end its worker with the real signal so the caller can name it.
 * Sanitizer runtimes install their own SIGSEGV/SIGBUS/SIGFPE handlers that turn a crash into
 * exit(1); workers put the default action back.
 */
static void default_crash_signals(void)
{
    static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP };
    for (size_t i = 0; i < CORE_ARRAY_SIZE(sigs); i++) {
        signal(sigs[i], SIG_DFL);
    }
}

static int send_fd(int sock, const void *msg, size_t len, int fd)
{
    struct iovec iov = { .iov_base = (void *)(uintptr_t)msg, .iov_len = len };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    ssize_t n;
    do {
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len ? 0 : -EPIPE;
}

static int recv_fd(int sock, void *msg, size_t len, int *fd)
{
    *fd = -1;
    struct iovec iov = { .iov_base = msg, .iov_len = len };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl.buf,
        .msg_controllen = sizeof(ctl.buf),
    };
    ssize_t n;
    do {
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len) {
        return -EPIPE;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            memcpy(fd, CMSG_DATA(cm), sizeof(int));
        }
    }
    return 0;
}

CORE_NORETURN static void spawner_main(const struct core_procpool_config *cfg, int ctl)
{
    pid_t *kids = NULL;
    size_t nkids = 0, capkids = 0;
    for (;;) {
        struct spawner_req req;
        ssize_t n = recv(ctl, &req, sizeof(req), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n != (ssize_t)sizeof(req) || req.op == OP_QUIT) {
            break;
        }
        if (req.op == OP_SPAWN) {
            struct spawn_reply rep = { .pid = -1, .err = 0 };
            int sv[2] = { -1, -1 };
            if (nkids == capkids) {
                size_t cap = capkids ? capkids * 2 : 16;
                pid_t *p = realloc(kids, cap * sizeof(*p));
                if (p == NULL) {
                    rep.err = ENOMEM;
                } else {
                    kids = p;
                    capkids = cap;
                }
            }
            if (rep.err == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
                rep.err = errno;
            }
            if (rep.err == 0) {
                pid_t pid = fork();
                if (pid == 0) {
                    prctl(PR_SET_PDEATHSIG, SIGKILL);
                    default_crash_signals();
                    close(ctl);
                    close(sv[0]);
                    worker_main(cfg, sv[1]);
                }
                if (pid < 0) {
                    rep.err = errno;
                } else {
                    rep.pid = pid;
                    kids[nkids++] = pid;
                }
            }
            send_fd(ctl, &rep, sizeof(rep), rep.err == 0 ? sv[0] : -1);
            if (sv[0] >= 0) {
                close(sv[0]);
                close(sv[1]);
            }
        } else if (req.op == OP_REAP) {
            struct reap_reply rep = { 0, 0 };
            pid_t r;
            do {
                r = waitpid(req.pid, &rep.status, 0);
            } while (r < 0 && errno == EINTR);
            if (r < 0) {
                rep.err = errno;
            }
            for (size_t i = 0; i < nkids; i++) {
                if (kids[i] == req.pid) {
                    kids[i] = kids[--nkids];
                    break;
                }
            }
            send_fd(ctl, &rep, sizeof(rep), -1);
        }
    }
    for (size_t i = 0; i < nkids; i++) {
        kill(kids[i], SIGKILL);
    }
    for (size_t i = 0; i < nkids; i++) {
        while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR) {
        }
    }
    _exit(0);
}

/* ---- the caller side --------------------------------------------------------------------- */

static int spawner_spawn_locked(struct core_procpool *pp, pid_t *pid, int *fd)
{
    struct spawner_req req = { .op = OP_SPAWN, .pid = 0 };
    struct spawn_reply rep;
    if (send(pp->spawner_fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req) ||
        recv_fd(pp->spawner_fd, &rep, sizeof(rep), fd) != 0) {
        return -EPIPE;
    }
    if (rep.err != 0) {
        return -rep.err;
    }
    if (*fd < 0) {
        return -EPROTO;
    }
    *pid = rep.pid;
    return 0;
}

static int spawner_reap_locked(struct core_procpool *pp, pid_t pid, int *status)
{
    struct spawner_req req = { .op = OP_REAP, .pid = pid };
    struct reap_reply rep;
    int fd;
    if (send(pp->spawner_fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req) ||
        recv_fd(pp->spawner_fd, &rep, sizeof(rep), &fd) != 0) {
        return -EPIPE;
    }
    if (fd >= 0) {
        close(fd);
    }
    *status = rep.status;
    return rep.err ? -rep.err : 0;
}

/* Starts a process for slot w (which the caller owns: busy, or during create). */
static int spawn_into(struct core_procpool *pp, struct worker *w)
{
    pid_t pid = -1;
    int fd = -1;
    pthread_mutex_lock(&pp->spawner_mu);
    int rc = spawner_spawn_locked(pp, &pid, &fd);
    pthread_mutex_unlock(&pp->spawner_mu);
    if (rc != 0) {
        return rc;
    }
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    w->pid = pid;
    w->fd = fd;
    return 0;
}

/* Ends slot w's process (killing it first if asked), reaps it and returns its wait status. */
static int retire(struct core_procpool *pp, struct worker *w, bool kill_first)
{
    int status = 0;
    if (w->pid > 0) {
        if (kill_first) {
            kill(w->pid, SIGKILL);
        }
        close(w->fd);
        pthread_mutex_lock(&pp->spawner_mu);
        if (spawner_reap_locked(pp, w->pid, &status) != 0) {
            status = 0;
        }
        pthread_mutex_unlock(&pp->spawner_mu);
    }
    w->pid = -1;
    w->fd = -1;
    return status;
}

int core_procpool_create(struct core_procpool **out, const struct core_procpool_config *cfg)
{
    *out = NULL;
    if (cfg->workers == 0 || cfg->handler == NULL) {
        return -EINVAL;
    }
    struct core_procpool *pp = calloc(1, sizeof(*pp));
    if (pp == NULL) {
        return -ENOMEM;
    }
    pp->cfg = *cfg;
    if (pp->cfg.max_request == 0) {
        pp->cfg.max_request = DEFAULT_MAX_REQUEST;
    }
    if (pp->cfg.max_reply == 0) {
        pp->cfg.max_reply = DEFAULT_MAX_REPLY;
    }
    pp->workers = calloc(cfg->workers, sizeof(*pp->workers));
    if (pp->workers == NULL) {
        free(pp);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->workers; i++) {
        pp->workers[i].pid = -1;
        pp->workers[i].fd = -1;
    }
    pthread_mutex_init(&pp->mu, NULL);
    pthread_cond_init(&pp->idle, NULL);
    pthread_mutex_init(&pp->spawner_mu, NULL);
    pp->spawner_fd = -1;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        int rc = -errno;
        core_procpool_destroy(pp);
        return rc;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        close(sv[0]);
        close(sv[1]);
        core_procpool_destroy(pp);
        return rc;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(0);
        }
        ignore_stop_signals();
        close(sv[0]);
        // Drop every other inherited descriptor so workers hold only their own socket.
        if (sv[1] > 3) {
            close_range(3, (unsigned)sv[1] - 1, 0);
        }
        close_range((unsigned)sv[1] + 1, ~0U, 0);
        spawner_main(&pp->cfg, sv[1]);
    }
    close(sv[1]);
    pp->spawner_fd = sv[0];
    pp->spawner_pid = pid;
    for (size_t i = 0; i < cfg->workers; i++) {
        int rc = spawn_into(pp, &pp->workers[i]);
        if (rc != 0) {
            core_procpool_destroy(pp);
            return rc;
        }
    }
    *out = pp;
    return 0;
}

/* Takes an idle slot, waiting while all are busy. NULL once the pool is stopping. */
static struct worker *acquire(struct core_procpool *pp)
{
    pthread_mutex_lock(&pp->mu);
    struct worker *w = NULL;
    while (!pp->stopping) {
        for (size_t i = 0; i < pp->cfg.workers; i++) {
            if (!pp->workers[i].busy) {
                w = &pp->workers[i];
                break;
            }
        }
        if (w != NULL) {
            w->busy = true;
            break;
        }
        pthread_cond_wait(&pp->idle, &pp->mu);
    }
    pthread_mutex_unlock(&pp->mu);
    return w;
}

static void release(struct core_procpool *pp, struct worker *w)
{
    pthread_mutex_lock(&pp->mu);
    w->busy = false;
    pthread_cond_signal(&pp->idle);
    pthread_mutex_unlock(&pp->mu);
}

int core_procpool_call(struct core_procpool *pp, const void *in, size_t len, int64_t timeout_ms,
                       struct core_procpool_result *result)
{
    memset(result, 0, sizeof(*result));
    result->exit_status = -1;
    if (len > pp->cfg.max_request) {
        return -EMSGSIZE;
    }
    struct worker *w = acquire(pp);
    if (w == NULL) {
        return -EPIPE;
    }
    int rc = 0;
    if (w->pid < 0) {
        // A previous respawn failed; try again before using the slot.
        rc = spawn_into(pp, w);
        if (rc != 0) {
            release(pp, w);
            return rc;
        }
    }
    int64_t deadline = timeout_ms < 0 ? -1 : core_now_ns() + timeout_ms * CORE_NS_PER_MS;
    struct req_header rh = { .len = len };
    struct reply_header rep = { 0, 0, 0 };
    struct core_buf *reply = NULL;
    rc = send_until(w->fd, &rh, sizeof(rh), deadline);
    if (rc == 0 && len > 0) {
        rc = send_until(w->fd, in, len, deadline);
    }
    if (rc == 0) {
        rc = recv_until(w->fd, &rep, sizeof(rep), deadline);
    }
    if (rc == 0 && rep.len > pp->cfg.max_reply) {
        rc = -EPROTO;
    }
    if (rc == 0) {
        rc = core_buf_create(&reply, (size_t)rep.len);
    }
    if (rc == 0 && rep.len > 0) {
        rc = recv_until(w->fd, reply->data, (size_t)rep.len, deadline);
    }

    if (rc == 0) {
        if (rep.flags & REPLY_OVERFLOW) {
            core_buf_unref(reply);
            release(pp, w);
            return -EMSGSIZE;
        }
        result->code = rep.code;
        result->reply = reply;
        release(pp, w);
        return 0;
    }
    core_buf_unref(reply);

    // The worker died, overran, or broke the protocol: reap it and start a fresh one.
    bool timed_out = rc == -ETIMEDOUT;
    int status = retire(pp, w, rc != -EPIPE);
    if (timed_out) {
        result->timed_out = true;
        result->term_signal = SIGKILL;
        rc = -ETIMEDOUT;
    } else if (WIFSIGNALED(status)) {
        result->term_signal = WTERMSIG(status);
        rc = -ECHILD;
    } else if (WIFEXITED(status)) {
        result->exit_status = WEXITSTATUS(status);
        rc = -ECHILD;
    }
    atomic_fetch_add(&pp->respawns, 1);
    int srep = spawn_into(pp, w);
    if (srep != 0) {
        LOG_WARN("procpool: cannot respawn a worker: %s", strerror(-srep));
    }
    release(pp, w);
    return rc;
}

void core_procpool_describe(const struct core_procpool_result *result, char *buf, size_t size)
{
    if (result->timed_out) {
        snprintf(buf, size, "worker overran its deadline and was killed");
    } else if (result->term_signal != 0) {
        const char *abbrev = sigabbrev_np(result->term_signal);
        snprintf(buf, size, "worker killed by signal %d (SIG%s: %s)", result->term_signal,
                 abbrev ? abbrev : "?", strsignal(result->term_signal));
    } else if (result->exit_status >= 0) {
        snprintf(buf, size, "worker exited with status %d", result->exit_status);
    } else {
        snprintf(buf, size, "handler returned %d", result->code);
    }
}

uint64_t core_procpool_respawns(struct core_procpool *pp)
{
    return atomic_load(&pp->respawns);
}

void core_procpool_destroy(struct core_procpool *pp)
{
    if (pp == NULL) {
        return;
    }
    pthread_mutex_lock(&pp->mu);
    pp->stopping = true;
    pthread_cond_broadcast(&pp->idle);
    pthread_mutex_unlock(&pp->mu);
    for (size_t i = 0; i < pp->cfg.workers; i++) {
        if (pp->workers[i].fd >= 0) {
            close(pp->workers[i].fd);
            pp->workers[i].fd = -1;
        }
    }
    if (pp->spawner_fd >= 0) {
        struct spawner_req req = { .op = OP_QUIT, .pid = 0 };
        (void)send(pp->spawner_fd, &req, sizeof(req), MSG_NOSIGNAL);
        close(pp->spawner_fd);
        while (waitpid(pp->spawner_pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    pthread_mutex_destroy(&pp->spawner_mu);
    pthread_cond_destroy(&pp->idle);
    pthread_mutex_destroy(&pp->mu);
    free(pp->workers);
    free(pp);
}

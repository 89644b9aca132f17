// SPDX-License-Identifier: MIT
/*
 * The process pool's child side: the spawner process, which forks and reaps every worker, and
 * the worker's request loop. Nothing here runs in the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/procpool.h"
#include "core/procpool_proto.h"

int core_procpool_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

int core_procpool_pidfd_kill(int pidfd, int sig)
{
#ifdef SYS_pidfd_send_signal
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
    (void)pidfd;
    (void)sig;
    errno = ENOSYS;
    return -1;
#endif
}

/*
 * Every signal back to its default action, whatever the parent installed (a SIGCHLD handler
 * that reaps with waitpid(-1), SIGCHLD ignored, which reaps children automatically, a
 * sanitizer's crash handler that turns SIGSEGV into exit(1)), then the pool's own choice:
 * SIGINT, SIGTERM and SIGHUP ignored, so that a terminal's ^C or a service manager's TERM
 * reaches only the parent, which then stops the pool in order. The mask is emptied.
 */
static void reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            (void)sigaction(sig, &sa, NULL); // EINVAL for the C library's internal signals
        }
    }
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Closes every descriptor above stderr except keep. */
static void close_all_but(int keep)
{
    if (keep > 3) {
        close_range(3, (unsigned)keep - 1, 0);
    }
    close_range((unsigned)keep + 1, ~0U, 0);
}

/* ---- the worker process ------------------------------------------------------------------ */

struct core_procpool_out {
    unsigned char *data;
    size_t len;
    size_t cap;
    size_t max;
    bool overflow;
};

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

/* Reads at least want bytes into buf[*have..cap); returns false on EOF or error. */
static bool read_at_least(int fd, unsigned char *buf, size_t cap, size_t *have, size_t want)
{
    while (*have < want) {
        ssize_t n = read(fd, buf + *have, cap - *have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        *have += (size_t)n;
    }
    return true;
}

/* Sends the reply header and body with one sendmsg (more only if the socket buffer fills). */
static bool send_reply(int fd, const struct pp_reply_header *rep, const void *body)
{
    struct iovec iov[2] = {
        { .iov_base = (void *)(uintptr_t)rep, .iov_len = sizeof(*rep) },
        { .iov_base = (void *)(uintptr_t)body, .iov_len = (size_t)rep->len },
    };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = rep->len > 0 ? 2 : 1 };
    while (mh.msg_iovlen > 0) {
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
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
    }
    return true;
}

CORE_NORETURN static void worker_main(const struct core_procpool_config *cfg, int fd)
{
    // A worker runs the same kind of task over and over: keep freed memory instead of handing
    // it back to the kernel after every task (glibc trims the heap and unmaps large blocks by
    // default, and faulting the same pages in again cost more than the handler's own work).
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    const size_t hs = sizeof(struct pp_req_header);
    size_t cap = 4096;
    unsigned char *in = malloc(cap);
    struct core_procpool_out out = { .max = cfg->max_reply };
    if (in == NULL) {
        _exit(1);
    }
    for (;;) {
        // Header and body usually arrive in one read: the caller sends them in one sendmsg.
        size_t have = 0;
        if (!read_at_least(fd, in, cap, &have, hs)) {
            _exit(0); // the parent closed the socket: the pool is stopping
        }
        struct pp_req_header rh;
        memcpy(&rh, in, hs);
        if (rh.magic != PP_REQ_MAGIC || rh.version != PP_VERSION || rh.len > cfg->max_request) {
            _exit(2);
        }
        size_t need = hs + (size_t)rh.len;
        if (have > need) {
            _exit(2); // the caller sends nothing more before this reply: the stream is broken
        }
        if (need + 1 > cap) {
            unsigned char *p = realloc(in, need + 1);
            if (p == NULL) {
                _exit(1);
            }
            in = p;
            cap = need + 1;
        }
        if (!read_at_least(fd, in, need, &have, need)) {
            _exit(0);
        }
        in[need] = '\0';
        // The reply buffer is reused too; only its length starts again from zero.
        out.len = 0;
        out.overflow = false;
        int code = cfg->handler(cfg->ctx, in + hs, (size_t)rh.len, &out);
        struct pp_reply_header rep = {
            .magic = PP_REPLY_MAGIC,
            .flags = out.overflow ? PP_REPLY_OVERFLOW : 0,
            .seq = rh.seq,
            .code = code,
            .len = out.overflow ? 0 : out.len,
        };
        if (!send_reply(fd, &rep, out.data)) {
            _exit(0);
        }
    }
}

CORE_NORETURN static void worker_child(const struct core_procpool_config *cfg, int sock,
                                       pid_t spawner)
{
    // The spawner is single-threaded, so the death signal follows the spawner process.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != spawner) {
        _exit(0);
    }
    reset_signals();
    close_all_but(sock);
    worker_main(cfg, sock);
}

/* ---- the spawner process ----------------------------------------------------------------- */

struct spawner {
    const struct core_procpool_config *cfg;
    const struct pp_spawner_mem *mem;
    int ctl;
    int parent_fd; /* pidfd of the parent process, or -1 (then getppid() is polled) */
    pid_t parent;
    size_t nkids;
};

static void send_spawn_reply(int ctl, const struct pp_spawn_reply *rep, const int *fds, int nfds)
{
    struct iovec iov = { .iov_base = (void *)(uintptr_t)rep, .iov_len = sizeof(*rep) };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(3 * sizeof(int))];
    } ctl_buf;
    memset(&ctl_buf, 0, sizeof(ctl_buf));
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        mh.msg_control = ctl_buf.buf;
        mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
    }
    ssize_t n;
    do {
        n = sendmsg(ctl, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
}

/* Reaps every worker that has exited and hands its status to whoever holds its status pipe. */
static void reap_exited(struct spawner *sp)
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR) {
            continue;
        }
        if (pid <= 0) {
            return;
        }
        for (size_t i = 0; i < sp->nkids; i++) {
            struct pp_kid *k = &sp->mem->kids[i];
            if (k->pid != pid) {
                continue;
            }
            // A pipe write of 4 bytes is atomic; EPIPE (nobody listens any more) is fine:
            // SIGPIPE is ignored in the spawner.
            ssize_t n;
            do {
                n = write(k->status_wr, &status, sizeof(status));
            } while (n < 0 && errno == EINTR);
            close(k->status_wr);
            if (k->pidfd >= 0) {
                close(k->pidfd);
            }
            *k = sp->mem->kids[--sp->nkids];
            break;
        }
    }
}

static void spawn_one(struct spawner *sp, uint64_t seq)
{
    struct pp_spawn_reply rep = { .seq = seq, .pid = -1, .err = 0 };
    if (sp->nkids == sp->mem->cap) {
        reap_exited(sp);
    }
    if (sp->nkids == sp->mem->cap) {
        rep.err = EAGAIN; // killed workers not reaped yet; the caller retries on its next call
        send_spawn_reply(sp->ctl, &rep, NULL, 0);
        return;
    }
    int sv[2] = { -1, -1 }, st[2] = { -1, -1 };
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(st, O_CLOEXEC) != 0) {
        rep.err = errno;
    }
    pid_t pid = -1;
    if (rep.err == 0) {
        pid_t self = getpid();
        pid = fork();
        if (pid == 0) {
            worker_child(sp->cfg, sv[1], self);
        }
        if (pid < 0) {
            rep.err = errno;
        }
    }
    if (rep.err != 0) {
        int fds[4] = { sv[0], sv[1], st[0], st[1] };
        for (int i = 0; i < 4; i++) {
            if (fds[i] >= 0) {
                close(fds[i]);
            }
        }
        send_spawn_reply(sp->ctl, &rep, NULL, 0);
        return;
    }
    close(sv[1]);
    int pidfd = core_procpool_pidfd_open(pid);
    sp->mem->kids[sp->nkids++] = (struct pp_kid){ .pid = pid, .status_wr = st[1], .pidfd = pidfd };
    rep.pid = pid;
    int fds[3] = { sv[0], st[0], pidfd };
    send_spawn_reply(sp->ctl, &rep, fds, pidfd >= 0 ? 3 : 2);
    close(sv[0]);
    close(st[0]);
}

/* Handles one control message; false when the spawner must quit. */
static bool handle_ctl(struct spawner *sp)
{
    struct pp_spawn_req req;
    ssize_t n = recv(sp->ctl, &req, sizeof(req), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return true;
    }
    if (n != (ssize_t)sizeof(req) || req.op == PP_OP_QUIT) {
        return false; // EOF: the parent closed its end or exited; or a broken message
    }
    if (req.op == PP_OP_SPAWN) {
        spawn_one(sp, req.seq);
    }
    return true;
}

static bool parent_gone(const struct spawner *sp, const struct pollfd *parent_pfd)
{
    return getppid() != sp->parent || (parent_pfd != NULL && parent_pfd->revents != 0);
}

void core_procpool_spawner_main(const struct core_procpool_config *cfg, int ctl,
                                const struct pp_spawner_mem *mem, pid_t parent)
{
    // Only async-signal-safe calls from here to the fork of a worker: the parent may have
    // had other threads, whose locks this copy of its memory still shows as held.
    if (getppid() != parent) {
        _exit(0);
    }
    reset_signals();
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL); // status pipes whose reader has gone
    close_all_but(ctl);
    struct spawner sp = { .cfg = cfg, .mem = mem, .ctl = ctl, .parent = parent };
    // A pidfd of the parent becomes readable when the whole parent process has exited, not
    // when the thread that forked us does (which is what PR_SET_PDEATHSIG would follow).
    sp.parent_fd = core_procpool_pidfd_open(parent);
    if (getppid() != parent) {
        _exit(0);
    }
    for (;;) {
        size_t nfds = 0;
        bool need_timer = sp.parent_fd < 0;
        mem->pfds[nfds++] = (struct pollfd){ .fd = ctl, .events = POLLIN };
        struct pollfd *parent_pfd = NULL;
        if (sp.parent_fd >= 0) {
            parent_pfd = &mem->pfds[nfds];
            mem->pfds[nfds++] = (struct pollfd){ .fd = sp.parent_fd, .events = POLLIN };
        }
        for (size_t i = 0; i < sp.nkids; i++) {
            if (mem->kids[i].pidfd >= 0) {
                mem->pfds[nfds++] = (struct pollfd){ .fd = mem->kids[i].pidfd, .events = POLLIN };
            } else {
                need_timer = true; // no pidfd: look for exited workers every 100 ms
            }
        }
        int n = poll(mem->pfds, nfds, need_timer ? 100 : -1);
        if (n < 0 && errno != EINTR) {
            break;
        }
        if (parent_gone(&sp, n > 0 ? parent_pfd : NULL)) {
            break;
        }
        reap_exited(&sp);
        if (n > 0 && mem->pfds[0].revents != 0 && !handle_ctl(&sp)) {
            break;
        }
    }
    // Kill before reaping: a worker that lingers never holds up the exit.
    for (size_t i = 0; i < sp.nkids; i++) {
        kill(mem->kids[i].pid, SIGKILL);
    }
    for (size_t i = 0; i < sp.nkids; i++) {
        while (waitpid(mem->kids[i].pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    _exit(0);
}

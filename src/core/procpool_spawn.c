// SPDX-License-Identifier: MIT
/*
 * The process pool's spawner, from the parent's side: starting it, asking it for workers
 * (one request at a time, by whichever caller owns the spawner), restarting it when it died,
 * and stopping it at destroy.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/procpool_impl.h"
#include "core/procpool_proto.h"
#include "core/thread.h"

/* How long destroy waits for the spawner to reap its workers before it kills the spawner. */
#define SPAWNER_QUIT_MS 5000

/* Takes ownership of the spawner fields, waiting at most until deadline. */
static int spawner_acquire(struct core_procpool *pp, int64_t deadline)
{
    int rc = 0;
    pthread_mutex_lock(&pp->spawner_mu);
    while (pp->spawner_busy && rc == 0) {
        if (core_cond_wait_until(&pp->spawner_free, &pp->spawner_mu, deadline) == -ETIMEDOUT &&
            pp->spawner_busy) {
            rc = -ETIMEDOUT;
        }
    }
    if (rc == 0) {
        pp->spawner_busy = true;
    }
    pthread_mutex_unlock(&pp->spawner_mu);
    return rc;
}

static void spawner_release(struct core_procpool *pp)
{
    pthread_mutex_lock(&pp->spawner_mu);
    pp->spawner_busy = false;
    pthread_cond_signal(&pp->spawner_free);
    pthread_mutex_unlock(&pp->spawner_mu);
}

/* Forks a spawner. The caller owns the spawner fields (or is create). */
int core_procpool_start_spawner(struct core_procpool *pp)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        return -errno;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        close(sv[0]);
        close(sv[1]);
        return rc;
    }
    if (pid == 0) {
        core_procpool_spawner_main(&pp->cfg, sv[1], &pp->mem, parent);
    }
    close(sv[1]);
    pp->spawner_fd = sv[0];
    pp->spawner_pid = pid;
    pp->spawner_pidfd = core_procpool_pidfd_open(pid);
    return 0;
}

void core_procpool_reap_dead_spawner(struct core_procpool *pp)
{
    pid_t pid = atomic_load(&pp->dead_spawner);
    // waitpid != 0: reaped now, or already (by a waitpid(-1) elsewhere in the program).
    if (pid > 0 && waitpid(pid, NULL, WNOHANG) != 0) {
        atomic_compare_exchange_strong(&pp->dead_spawner, &pid, -1);
    }
}

/* Kills a spawner that stopped answering, before reaping it, and never waits for it. */
static void drop_spawner(struct core_procpool *pp)
{
    pp_close_fd(&pp->spawner_fd);
    if (pp->spawner_pid <= 0) {
        return;
    }
    if (pp->spawner_pidfd >= 0) {
        (void)core_procpool_pidfd_kill(pp->spawner_pidfd, SIGKILL);
    } else {
        kill(pp->spawner_pid, SIGKILL);
    }
    pp_close_fd(&pp->spawner_pidfd);
    pid_t older = atomic_exchange(&pp->dead_spawner, -1);
    if (older > 0) {
        pp_reap_blocking(older); // killed one restart ago: long gone
    }
    // Still exiting (its threads, under a sanitizer, are not all gone yet): the next calls
    // reap it as soon as it has.
    if (waitpid(pp->spawner_pid, NULL, WNOHANG) == 0) {
        atomic_store(&pp->dead_spawner, pp->spawner_pid);
    }
    pp->spawner_pid = -1;
}

/* Receives one spawn reply and up to 3 descriptors. -EAGAIN: nothing yet; -EPIPE: gone. */
static int recv_spawn_reply(int ctl, struct pp_spawn_reply *rep, int fds[3], int *nfds)
{
    *nfds = 0;
    struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(3 * sizeof(int))];
    } ctl_buf;
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl_buf.buf,
        .msg_controllen = sizeof(ctl_buf.buf),
    };
    ssize_t n;
    do {
        n = recvmsg(ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        return -EAGAIN;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n > 0 && cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k && *nfds < 3; i++) {
                memcpy(&fds[(*nfds)++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            }
        }
    }
    if (n != (ssize_t)sizeof(*rep) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        for (int i = 0; i < *nfds; i++) {
            close(fds[i]);
        }
        *nfds = 0;
        return -EPIPE; // EOF, a reset or a broken message: the spawner is unusable
    }
    return 0;
}

/* One spawn request and its reply. The caller owns the spawner fields and w. */
static int spawn_exchange(struct core_procpool *pp, struct worker *w, int64_t deadline)
{
    struct pp_spawn_req req = { .op = PP_OP_SPAWN, .seq = ++pp->spawn_seq };
    ssize_t n;
    do {
        n = send(pp->spawner_fd, &req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(req)) {
        return -EPIPE;
    }
    for (;;) {
        struct pollfd pfd = { .fd = pp->spawner_fd, .events = POLLIN };
        int rc = pp_wait_io(&pfd, 1, deadline);
        if (rc != 0) {
            return rc; // a late reply is recognised by its id and dropped by the next spawn
        }
        struct pp_spawn_reply rep;
        int fds[3], nfds;
        rc = recv_spawn_reply(pp->spawner_fd, &rep, fds, &nfds);
        if (rc == -EAGAIN) {
            continue;
        }
        if (rc != 0) {
            return rc;
        }
        if (rep.seq != req.seq || rep.err != 0 || nfds < 2) {
            for (int i = 0; i < nfds; i++) {
                close(fds[i]); // a stale worker: closing its socket makes it exit
            }
            if (rep.seq != req.seq) {
                continue;
            }
            return rep.err != 0 ? -rep.err : -EPIPE;
        }
        int fl = fcntl(fds[0], F_GETFL);
        if (fl < 0 || fcntl(fds[0], F_SETFL, fl | O_NONBLOCK) != 0) {
            rc = -errno;
            for (int i = 0; i < nfds; i++) {
                close(fds[i]);
            }
            return rc;
        }
        w->pid = rep.pid;
        w->sock = fds[0];
        w->status_fd = fds[1];
        w->pidfd = nfds > 2 ? fds[2] : -1;
        return 0;
    }
}

/* Starts a worker in slot w (which the caller owns), restarting a dead spawner once. */
int core_procpool_spawn_into(struct core_procpool *pp, struct worker *w, int64_t deadline)
{
    int rc = spawner_acquire(pp, deadline);
    if (rc != 0) {
        return rc;
    }
    for (int attempt = 0;; attempt++) {
        if (pp->spawner_fd < 0) {
            rc = core_procpool_start_spawner(pp);
            if (rc != 0) {
                break;
            }
        }
        rc = spawn_exchange(pp, w, deadline);
        if (rc != -EPIPE || attempt == 1) {
            break;
        }
        LOG_WARN("procpool: the spawner process is gone; starting a new one");
        drop_spawner(pp);
    }
    spawner_release(pp);
    return rc;
}

/* Tells the spawner to quit and reaps it; kills it if it does not go in time. */
void core_procpool_stop_spawner(struct core_procpool *pp)
{
    if (pp->spawner_fd >= 0) {
        struct pp_spawn_req req = { .op = PP_OP_QUIT };
        (void)send(pp->spawner_fd, &req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
        pp_close_fd(&pp->spawner_fd);
    }
    if (pp->spawner_pid > 0) {
        if (pp->spawner_pidfd >= 0) {
            // It kills its workers, reaps them and exits; a stuck spawner is killed.
            struct pollfd pfd = { .fd = pp->spawner_pidfd, .events = POLLIN };
            if (pp_wait_io(&pfd, 1, core_deadline_from_ms(SPAWNER_QUIT_MS)) == -ETIMEDOUT) {
                LOG_WARN("procpool: the spawner did not quit; killing it");
                (void)core_procpool_pidfd_kill(pp->spawner_pidfd, SIGKILL);
            }
        }
        pp_reap_blocking(pp->spawner_pid);
        pp->spawner_pid = -1;
    }
    pp_close_fd(&pp->spawner_pidfd);
    pid_t dead = atomic_exchange(&pp->dead_spawner, -1);
    if (dead > 0) {
        pp_reap_blocking(dead);
    }
}

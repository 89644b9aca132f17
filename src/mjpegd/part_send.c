// SPDX-License-Identifier: MIT
/* Part senders: tee + splice from a per-thread pipe, sendfile to resume, copy as the fallback. */
#include "mjpegd/part_send.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

#define PAGE       4096
#define PIPE_BYTES (1 << 20) /* the default fs.pipe-max-size; smaller if refused */

struct mjd_part_sender {
    int load[2];    /* owner thread: the pipe holding the loaded part's pages, or -1 */
    int scratch[2]; /* owner thread: tee target, spliced to one socket, empty between sends */
    int null_fd;    /* owner thread: /dev/null, where what a socket did not take is dropped */
    size_t cap;     /* owner thread: bytes each pipe holds */
    struct mjd_part *loaded; /* owner thread: one reference, or NULL */
    bool loaded_ok;          /* owner thread: the load pipe holds exactly loaded's bytes */
    atomic_bool splicing;    /* written by the owner thread, read by any: it still has its pipes */
    atomic_uint_fast64_t bytes[MJD_SEND_PATHS]; /* atomic */
    atomic_uint_fast64_t calls[MJD_SEND_PATHS]; /* atomic */
    atomic_uint_fast64_t parts[MJD_SEND_PATHS]; /* atomic */
};

static void close_pair(int p[2])
{
    for (int i = 0; i < 2; i++) {
        if (p[i] >= 0) {
            close(p[i]);
        }
        p[i] = -1;
    }
}

/* Turns the splice path off for good (a pipe in an unknown state is never used again). */
static void drop_pipes(struct mjd_part_sender *s)
{
    close_pair(s->load);
    close_pair(s->scratch);
    if (s->null_fd >= 0) {
        close(s->null_fd);
    }
    s->null_fd = -1;
    s->loaded_ok = false;
    atomic_store_explicit(&s->splicing, false, memory_order_relaxed);
}

/* Drops the pipes of a sender that had them, for good, saying why (errno err). */
static void give_up_splice(struct mjd_part_sender *s, const char *what, int err)
{
    if (mjd_part_sender_can_splice(s)) {
        LOG_WARN("send: %s: %s; stream parts go by sendfile from now on", what, strerror(err));
    }
    drop_pipes(s);
}

static int make_pipe(int p[2], size_t *cap)
{
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        p[0] = p[1] = -1;
        return -1;
    }
    // A bigger pipe takes bigger parts; refused above fs.pipe-max-size or the user's quota.
    (void)fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
    int sz = fcntl(p[1], F_GETPIPE_SZ);
    if (sz <= 0) {
        close_pair(p);
        return -1;
    }
    *cap = *cap == 0 || (size_t)sz < *cap ? (size_t)sz : *cap;
    return 0;
}

int mjd_part_sender_create(struct mjd_part_sender **out, unsigned flags)
{
    struct mjd_part_sender *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (s == NULL) {
        return -ENOMEM;
    }
    s->load[0] = s->load[1] = s->scratch[0] = s->scratch[1] = -1;
    s->null_fd = -1;
    atomic_init(&s->splicing, false);
    for (int i = 0; i < MJD_SEND_PATHS; i++) {
        atomic_init(&s->bytes[i], 0);
        atomic_init(&s->calls[i], 0);
        atomic_init(&s->parts[i], 0);
    }
    if ((flags & MJD_SENDER_NO_SPLICE) == 0) {
        s->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (s->null_fd < 0 || make_pipe(s->load, &s->cap) != 0 ||
            make_pipe(s->scratch, &s->cap) != 0) {
            drop_pipes(s);
        } else {
            atomic_store_explicit(&s->splicing, true, memory_order_relaxed);
        }
    }
    *out = s;
    return 0;
}

void mjd_part_sender_destroy(struct mjd_part_sender *s)
{
    if (s == NULL) {
        return;
    }
    drop_pipes(s);
    mjd_part_unref(s->loaded);
    free(s);
}

bool mjd_part_sender_can_splice(const struct mjd_part_sender *s)
{
    return s->load[0] >= 0;
}

bool mjd_part_sender_splicing(const struct mjd_part_sender *s)
{
    return atomic_load_explicit(&s->splicing, memory_order_relaxed);
}

/* Whether err says the kernel does not do this call with these fds (not a passing failure). */
static bool refused(int err)
{
    return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}

/* Empties the read end of pipe p by splicing it to /dev/null; false if that fails. */
static bool drain(struct mjd_part_sender *s, int p[2])
{
    for (;;) {
        int queued = 0;
        if (ioctl(p[0], FIONREAD, &queued) != 0) {
            return false;
        }
        if (queued == 0) {
            return true;
        }
        ssize_t n = splice(p[0], NULL, s->null_fd, NULL, (size_t)queued, SPLICE_F_NONBLOCK);
        if (n == 0) {
            errno = EIO; // a pipe that says it holds bytes gives none
            return false;
        }
        if (n < 0 && errno != EINTR) {
            return false;
        }
    }
}

/* Makes the load pipe hold p's pages (by reference), once per part: whether it does. */
static bool load(struct mjd_part_sender *s, struct mjd_part *p)
{
    if (s->loaded == p) {
        return s->loaded_ok;
    }
    mjd_part_unref(s->loaded);
    s->loaded = mjd_part_ref(p);
    s->loaded_ok = false;
    if (!drain(s, s->load)) {
        give_up_splice(s, "cannot empty a pipe", errno);
        return false;
    }
    size_t len = mjd_part_len(p);
    // Each page of the part takes one pipe slot; keep a spare slot.
    if (mjd_part_fd(p) < 0 || len + PAGE > s->cap) {
        return false;
    }
    loff_t at = 0;
    while ((size_t)at < len) {
        ssize_t n =
                splice(mjd_part_fd(p), &at, s->load[1], NULL, len - (size_t)at, SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            // A kernel that refuses to splice a memfd into a pipe always will: sendfile from
            // now on. Anything else: this part goes by sendfile, the pipe is emptied for the next.
            if (refused(err)) {
                give_up_splice(s, "splice from a memfd refused", err);
            } else if (!drain(s, s->load)) {
                give_up_splice(s, "cannot empty a pipe", errno);
            }
            return false;
        }
    }
    s->loaded_ok = true;
    return true;
}

/*
 * The whole of the loaded part to fd: tee into the scratch pipe, splice that to the socket,
 * drop what the socket did not take. Bytes sent, or -1 with errno set; 0 with errno EAGAIN
 * when the tee itself failed (then the caller falls back to sendfile).
 */
static ssize_t splice_whole(struct mjd_part_sender *s, size_t len, int fd, bool *teed)
{
    *teed = false;
    ssize_t t = tee(s->load[0], s->scratch[1], len, SPLICE_F_NONBLOCK);
    if (t != (ssize_t)len) {
        if (t > 0 && !drain(s, s->scratch)) {
            give_up_splice(s, "cannot empty a pipe", errno);
        }
        return 0;
    }
    *teed = true;
    ssize_t w = splice(s->scratch[0], NULL, fd, NULL, len, SPLICE_F_NONBLOCK);
    int err = errno;
    if (w != (ssize_t)len && !drain(s, s->scratch)) {
        give_up_splice(s, "cannot empty a pipe", errno);
    }
    errno = err;
    return w;
}

int mjd_part_send(struct mjd_part_sender *s, struct mjd_part *p, int fd, size_t *off,
                  enum mjd_send_path *path)
{
    size_t len = mjd_part_len(p);
    enum mjd_send_path last = *path;
    if (*off >= len) {
        return 1;
    }
    while (*off < len) {
        enum mjd_send_path use = *path;
        ssize_t w = -1;
        if (use == MJD_SEND_SPLICE) {
            bool teed = false;
            if (*off == 0 && mjd_part_sender_can_splice(s) && load(s, p)) {
                w = splice_whole(s, len, fd, &teed);
            }
            // Resuming mid-part, or no pipe for this part: sendfile from the memfd.
            use = teed ? MJD_SEND_SPLICE : MJD_SEND_SENDFILE;
        }
        if (use == MJD_SEND_SENDFILE && mjd_part_fd(p) < 0) {
            use = MJD_SEND_COPY;
        }
        if (use == MJD_SEND_SENDFILE) {
            off_t o = (off_t)*off;
            w = sendfile(fd, mjd_part_fd(p), &o, len - *off);
        } else if (use == MJD_SEND_COPY) {
            struct iovec iov[3];
            struct msghdr msg = { .msg_iov = iov };
            msg.msg_iovlen = (size_t)mjd_part_iov(p, *off, iov);
            w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (w > 0) {
            *off += (size_t)w;
            atomic_fetch_add_explicit(&s->bytes[use], (uint64_t)w, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->calls[use], 1, memory_order_relaxed);
            last = use;
            continue;
        }
        int err = w < 0 ? errno : EPIPE; // nothing taken of a non-empty send: the peer is gone
        if (err == EINTR) {
            continue;
        }
        if (err == EAGAIN) {
            return 0;
        }
        if (use != MJD_SEND_COPY && refused(err)) {
            *path = use == MJD_SEND_SPLICE ? MJD_SEND_SENDFILE : MJD_SEND_COPY;
            continue;
        }
        return -err;
    }
    atomic_fetch_add_explicit(&s->parts[last], 1, memory_order_relaxed);
    return 1;
}

void mjd_part_sender_stats(const struct mjd_part_sender *s, struct mjd_part_send_stats *out)
{
    for (int i = 0; i < MJD_SEND_PATHS; i++) {
        out->bytes[i] += atomic_load_explicit(&s->bytes[i], memory_order_relaxed);
        out->calls[i] += atomic_load_explicit(&s->calls[i], memory_order_relaxed);
        out->parts[i] += atomic_load_explicit(&s->parts[i], memory_order_relaxed);
    }
}

const char *mjd_send_path_name(enum mjd_send_path path)
{
    switch (path) {
    case MJD_SEND_SPLICE:
        return "splice";
    case MJD_SEND_SENDFILE:
        return "sendfile";
    case MJD_SEND_COPY:
        return "copy";
    }
    return "?";
}

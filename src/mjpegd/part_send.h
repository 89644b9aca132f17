// SPDX-License-Identifier: MIT
/* Sending parts to sockets without copying them: tee + splice, sendfile, copy as the fallback. */
#ifndef MJD_PART_SEND_H
#define MJD_PART_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mjpegd/part.h"

/*
 * One sender per thread that writes parts to sockets (a network loop). Three paths, best first:
 *
 *  - splice: the sender loads the part's memfd pages once into its own pipe (splice, by
 *    reference: one page-cache lookup per page per frame, not per client); a part sent from its
 *    start is tee()d from that pipe into a scratch pipe (references again) and splice()d to the
 *    socket. Measured on this project's machine (docs/BENCHMARKS.md) this is the path that costs
 *    less than a copy: sendfile() from the memfd looks every page up again for every client,
 *    which costs about what the copy saves.
 *  - sendfile: from the memfd at an offset. Resumes a part the socket took only in part (what
 *    the socket did not take of a splice is dropped from the scratch pipe, which is empty
 *    between sends: a full socket that took nothing of a tee'd part leaves nothing behind),
 *    and stands in for the splice path when the sender has no pipes, when a part is too big
 *    for them (over the pipe size, 1 MiB by default, less a page) or has no memfd.
 *  - copy: sendmsg of the part's bytes (mjd_part_iov), when the part has no memfd or a socket
 *    refuses spliced pages (EINVAL, ENOSYS, EOPNOTSUPP from splice or sendfile).
 * Every path sends the same bytes, so an offset means the same thing on all of them and a send
 * resumes on any path.
 *
 * A sender is owned by one thread; only mjd_part_sender_stats may be called from others.
 * Splice and sendfile raise SIGPIPE on a closed socket (they have no MSG_NOSIGNAL), so the
 * process must ignore SIGPIPE (mjpegd's main does, and its threads block it).
 */
struct mjd_part_sender;

/** How a part reaches a socket, best first. */
enum mjd_send_path {
    MJD_SEND_SPLICE,   /* tee + splice from the sender's pipe holding the part's memfd pages */
    MJD_SEND_SENDFILE, /* sendfile from the part's memfd */
    MJD_SEND_COPY,     /* sendmsg of the part's bytes */
};
#define MJD_SEND_PATHS 3

enum mjd_part_sender_flags {
    MJD_SENDER_NO_SPLICE = 1 << 0, /* no pipes: sendfile or copy only */
};

/** Bytes and send calls per path since the sender was made (atomic counters). */
struct mjd_part_send_stats {
    uint64_t bytes[MJD_SEND_PATHS];
    uint64_t calls[MJD_SEND_PATHS];
    uint64_t parts[MJD_SEND_PATHS]; /* whole parts, by the path of their last send */
};

/**
 * Makes a sender. Its pipes are made here; if the kernel refuses them the sender still works,
 * without the splice path. Returns 0 or -ENOMEM; *out is NULL on failure. The owner thread.
 */
int mjd_part_sender_create(struct mjd_part_sender **out, unsigned flags) CORE_MUST_CHECK;
/** Closes its pipes and drops the part it holds. Accepts NULL. The owner thread. */
void mjd_part_sender_destroy(struct mjd_part_sender *s);

/**
 * Sends bytes [*off, mjd_part_len(p)) of p to the non-blocking socket fd as long as it takes
 * them, advancing *off by what was sent: a partial send resumes at *off, on any path. *path is
 * the best path this socket accepts: start a client with MJD_SEND_SPLICE; it is lowered for
 * good when the socket refuses a path (a part without memfd, or a sender without pipes, only
 * makes this one send use a lower path). The sender keeps a reference to the part it last
 * loaded into its pipe (the newest one, in a stream), until it loads another or is destroyed.
 * Returns 1 when the whole part is sent, 0 when the socket is full (EAGAIN: wait for EPOLLOUT,
 * then call again), or a negative errno on a socket error (-EPIPE, -ECONNRESET, ...).
 * The owner thread, holding a reference to p.
 */
int mjd_part_send(struct mjd_part_sender *s, struct mjd_part *p, int fd, size_t *off,
                  enum mjd_send_path *path);

/** Whether the sender has its pipes (the splice path). The owner thread. */
bool mjd_part_sender_can_splice(const struct mjd_part_sender *s);
/**
 * The same, for other threads (/state): false once the sender has given its pipes up (a kernel
 * that refuses to splice a memfd, a pipe that could not be emptied: logged once). Any thread.
 */
bool mjd_part_sender_splicing(const struct mjd_part_sender *s);
/** Adds the sender's counters to *out. Any thread. */
void mjd_part_sender_stats(const struct mjd_part_sender *s, struct mjd_part_send_stats *out);
/** "splice", "sendfile" or "copy". */
const char *mjd_send_path_name(enum mjd_send_path path);

#endif

// SPDX-License-Identifier: MIT
/* A stream part, made once per frame: part head + JPEG + boundary, sent by sendfile or copy. */
#ifndef MJD_PART_H
#define MJD_PART_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/buf.h"
#include "core/compiler.h"

/*
 * A part is every byte one client gets for one frame of /stream:
 *
 *     Content-Type: image/jpeg\r\nContent-Length: N\r\nX-Timestamp: S.UUUUUU\r\n\r\n
 *     <the N bytes of JPEG>\r\n--MJD_PART_BOUNDARY\r\n
 *
 * so the boundary that ends a frame goes out with it (the response head ends with the first
 * boundary line, mjd_part_first_boundary). It is made once, by whoever publishes the frame,
 * and shared by every client through a reference count (C11 atomic: ref and unref from any
 * thread); it is immutable from creation on.
 *
 * Where the kernel allows it, the bytes also live in a sealed memfd (F_SEAL_WRITE, SHRINK, GROW
 * and SEAL), so that sockets can be handed references to its pages instead of a copy of the
 * part (part_send.h does the sending). The seals guarantee that those pages are never rewritten
 * while a socket may still hold them; the memfd is closed when the last reference goes (pages
 * still queued in sockets stay alive in the kernel until sent). Where memfd_create or sealing
 * is refused, the part has no fd and can only be sent by copy (mjd_part_iov). Both forms hold
 * the same bytes, so a send can switch from one to the other mid-part.
 */
struct mjd_part;

/** The multipart boundary of /stream, without the leading "--". */
#define MJD_PART_BOUNDARY "boundarydonotcross"
/** Most bytes a part head takes. */
#define MJD_PART_HEAD_MAX 128

enum mjd_part_flags {
    MJD_PART_NO_MEMFD = 1 << 0, /* never make a memfd: the copy path only */
};

/**
 * Makes the part for a JPEG captured at wall_ns (CLOCK_REALTIME). Takes its own reference to
 * jpeg (the caller keeps its one); jpeg->len must be > 0. Writes the memfd unless flags say
 * MJD_PART_NO_MEMFD or the kernel refuses (then the part has no fd: see mjd_part_fd).
 * Returns 0, or -ENOMEM; *out is NULL on failure. Any thread.
 */
int mjd_part_create(struct mjd_part **out, struct core_buf *jpeg, int64_t wall_ns,
                    unsigned flags) CORE_MUST_CHECK;

/** Returns a new reference to p (the same pointer). Any thread. */
struct mjd_part *mjd_part_ref(struct mjd_part *p);
/** Drops one reference; the last one closes the memfd and frees. Accepts NULL. Any thread. */
void mjd_part_unref(struct mjd_part *p);

/** Total bytes of the part (head + JPEG + tail). Any thread. */
size_t mjd_part_len(const struct mjd_part *p);
/** The JPEG the part was made from (borrowed: valid while p is). Any thread. */
struct core_buf *mjd_part_jpeg(const struct mjd_part *p);
/** The sealed memfd holding the part (borrowed), or -1 when the part is copy-only. */
int mjd_part_fd(const struct mjd_part *p);
/**
 * The bytes of p from offset off (< mjd_part_len) as up to three segments in iov (pointing
 * into p: valid while p is). Returns the number of segments, 0 when off is at the end.
 */
int mjd_part_iov(const struct mjd_part *p, size_t off, struct iovec iov[3]);

/** The line that ends the stream's response head: "--" MJD_PART_BOUNDARY "\r\n". */
const char *mjd_part_first_boundary(size_t *len);

#endif

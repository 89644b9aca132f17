// SPDX-License-Identifier: MIT
/* A connection's pending output: a header we format, a borrowed body, a constant tail. */
#ifndef MJD_OUTBUF_H
#define MJD_OUTBUF_H

#include <stddef.h>

#include "core/buf.h"
#include "core/compiler.h"

/*
 * One response or one multipart part: hdr (owned, grows as needed), then body (borrowed; when
 * body_ref is set, the output holds that reference until reset), then tail (a string with
 * static lifetime). The three go out with one sendmsg. Not thread-safe: the connection's loop
 * thread only. Callers embed the struct; every field is private to outbuf.c except where read
 * access is noted.
 */
struct mjd_out {
    char *hdr_;
    size_t hdr_len_;
    size_t hdr_cap_;
    const unsigned char *body_;
    size_t body_len_;
    struct core_buf *body_ref_;
    const char *tail_;
    size_t tail_len_;
    size_t sent_;
};

enum mjd_out_status {
    MJD_OUT_DONE,    /* everything was sent */
    MJD_OUT_BLOCKED, /* the socket is full (EAGAIN); call again when it is writable */
    MJD_OUT_ERROR,   /* the connection failed; close it */
};

/** An empty output. Storage is the caller's; free it with mjd_out_release. */
void mjd_out_init(struct mjd_out *o);

/**
 * Empties the output for the next response or part: drops the body reference and forgets
 * what was sent. The header buffer is kept for reuse. The one way to start new output.
 */
void mjd_out_reset(struct mjd_out *o);

/** Resets and frees the header buffer. The output may be reused after mjd_out_init only. */
void mjd_out_release(struct mjd_out *o);

/** Appends formatted text to the header. */
void mjd_out_printf(struct mjd_out *o, const char *fmt, ...) CORE_PRINTF(2, 3);

/** Appends len bytes (borrowed, copied) to the header. */
void mjd_out_append(struct mjd_out *o, const void *data, size_t len);

/**
 * Sets the body: data[0..len) is borrowed until the next reset. ref (may be NULL) is a
 * reference that keeps data alive: the output takes ownership of it.
 */
void mjd_out_set_body(struct mjd_out *o, const void *data, size_t len, struct core_buf *ref);

/** Sets the tail, sent after the body: a string with static lifetime. */
void mjd_out_set_tail(struct mjd_out *o, const char *tail, size_t len);

/**
 * Sends as much of what is left as the non-blocking socket fd takes (MSG_NOSIGNAL), retrying
 * on EINTR. Adds the bytes written to *written. Once DONE, the body reference is dropped.
 */
enum mjd_out_status mjd_out_flush(struct mjd_out *o, int fd, size_t *written);

#endif

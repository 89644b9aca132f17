// SPDX-License-Identifier: MIT
/* A connection's pending output: a header we format, a borrowed body, a constant tail. */
#include "mjpegd/outbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/alloc.h"

void mjd_out_init(struct mjd_out *o)
{
    memset(o, 0, sizeof(*o));
}

void mjd_out_reset(struct mjd_out *o)
{
    core_buf_unref(o->body_ref_);
    o->body_ref_ = NULL;
    o->hdr_len_ = 0;
    o->body_ = NULL;
    o->body_len_ = 0;
    o->tail_ = NULL;
    o->tail_len_ = 0;
    o->sent_ = 0;
}

void mjd_out_release(struct mjd_out *o)
{
    mjd_out_reset(o);
    free(o->hdr_);
    o->hdr_ = NULL;
    o->hdr_cap_ = 0;
}

static void reserve(struct mjd_out *o, size_t extra)
{
    if (o->hdr_len_ + extra + 1 <= o->hdr_cap_) {
        return;
    }
    size_t cap = o->hdr_cap_ ? o->hdr_cap_ : 512;
    while (cap < o->hdr_len_ + extra + 1) {
        cap *= 2;
    }
    o->hdr_ = core_xrealloc(o->hdr_, cap);
    o->hdr_cap_ = cap;
}

void mjd_out_printf(struct mjd_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) {
        return;
    }
    reserve(o, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(o->hdr_ + o->hdr_len_, o->hdr_cap_ - o->hdr_len_, fmt, ap);
    va_end(ap);
    o->hdr_len_ += (size_t)n;
}

void mjd_out_append(struct mjd_out *o, const void *data, size_t len)
{
    reserve(o, len);
    memcpy(o->hdr_ + o->hdr_len_, data, len);
    o->hdr_len_ += len;
}

void mjd_out_set_body(struct mjd_out *o, const void *data, size_t len, struct core_buf *ref)
{
    core_buf_unref(o->body_ref_);
    o->body_ref_ = ref;
    o->body_ = data;
    o->body_len_ = len;
}

void mjd_out_set_tail(struct mjd_out *o, const char *tail, size_t len)
{
    o->tail_ = tail;
    o->tail_len_ = len;
}

enum mjd_out_status mjd_out_flush(struct mjd_out *o, int fd, size_t *written)
{
    for (;;) {
        struct iovec iov[3];
        int n = 0;
        size_t off = o->sent_;
        const struct {
            const void *p;
            size_t len;
        } seg[3] = { { o->hdr_, o->hdr_len_ },
                     { o->body_, o->body_len_ },
                     { o->tail_, o->tail_len_ } };
        for (int i = 0; i < 3; i++) {
            if (off >= seg[i].len) {
                off -= seg[i].len;
                continue;
            }
            iov[n].iov_base = (char *)(uintptr_t)seg[i].p + off;
            iov[n].iov_len = seg[i].len - off;
            off = 0;
            n++;
        }
        if (n == 0) {
            core_buf_unref(o->body_ref_);
            o->body_ref_ = NULL;
            return MJD_OUT_DONE;
        }
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t wr = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (wr > 0) {
            o->sent_ += (size_t)wr;
            *written += (size_t)wr;
            continue;
        }
        int err = errno;
        if (wr < 0 && err == EINTR) {
            continue;
        }
        if (wr < 0 && err == EAGAIN) {
            return MJD_OUT_BLOCKED;
        }
        return MJD_OUT_ERROR;
    }
}

// SPDX-License-Identifier: MIT
/* pipe:- (stdin) or pipe:PATH (a FIFO): an MJPEG byte stream split into frames on markers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/sources/jpeg_split.h"
#include "mjpegd/sources/source_impl.h"

/* The largest frame accepted; bigger ones are dropped and counted. */
#define PIPE_MAX_FRAME (8u << 20)
#define PIPE_CHUNK     65536
/* How long create() waits for the first frame (to learn the frame size). */
#define PIPE_FIRST_FRAME_NS (10 * CORE_NS_PER_SEC)

struct pipe_source {
    struct mjd_source base; /* first: the generic part */
    int fd;                 /* owned unless it is stdin */
    bool own_fd;
    bool eof;
    bool have_frame; /* split.buf holds a complete frame not yet returned */
    struct mjd_jpeg_split split;
    unsigned char chunk[PIPE_CHUNK]; /* bytes read but not yet fed: chunk[pos..end) */
    size_t pos, end;
    uint64_t logged_oversized; /* split.oversized when last logged */
};

static void pipe_destroy(struct mjd_source *src)
{
    struct pipe_source *s = (struct pipe_source *)src;
    if (s == NULL) {
        return;
    }
    if (s->own_fd && s->fd >= 0) {
        close(s->fd);
    }
    mjd_jpeg_split_free(&s->split);
    free(s);
}

/*
 * Advances until a complete frame is in split.buf (0), the deadline passes (-EAGAIN), the input
 * ends (MJD_SOURCE_ENDED), or a read fails.
 */
static int next_frame(struct pipe_source *s, int64_t deadline_ns)
{
    for (;;) {
        while (s->pos < s->end) {
            bool done = false;
            s->pos += mjd_jpeg_split_feed(&s->split, s->chunk + s->pos, s->end - s->pos, &done);
            if (s->split.oversized != s->logged_oversized) {
                LOG_WARN("pipe source: dropped a frame over %u bytes (%llu so far)", PIPE_MAX_FRAME,
                         (unsigned long long)s->split.oversized);
                s->logged_oversized = s->split.oversized;
            }
            if (done) {
                return 0;
            }
        }
        if (s->eof) {
            return MJD_SOURCE_ENDED;
        }
        int64_t left = deadline_ns - core_now_ns();
        if (left <= 0) {
            return -EAGAIN;
        }
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        int timeout = (int)((left + CORE_NS_PER_MS - 1) / CORE_NS_PER_MS);
        int pr = poll(&pfd, 1, timeout);
        if (pr < 0 && errno != EINTR) {
            return -errno;
        }
        if (pr <= 0) {
            continue;
        }
        // poll said readable (data, or hang-up): one read does not block.
        ssize_t r = read(s->fd, s->chunk, sizeof(s->chunk));
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            s->eof = true;
            continue;
        }
        s->pos = 0;
        s->end = (size_t)r;
    }
}

static int pipe_create(struct mjd_source **out, const char *arg, const struct mjd_source_params *p)
{
    *out = NULL;
    if (arg[0] == '\0') {
        return -EINVAL;
    }
    struct pipe_source *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->fd = -1;
    int rc = mjd_jpeg_split_init(&s->split, PIPE_MAX_FRAME);
    if (rc != 0) {
        goto fail;
    }
    if (strcmp(arg, "-") == 0) {
        s->fd = STDIN_FILENO;
    } else {
        // A FIFO's open waits for a writer: the server starts once the producer does.
        s->fd = open(arg, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            rc = -errno;
            LOG_ERROR("pipe source: %s: %s", arg, strerror(errno));
            goto fail;
        }
        s->own_fd = true;
    }
    // The first frame gives the frame size; it is kept and returned by the first read.
    rc = next_frame(s, core_now_ns() + PIPE_FIRST_FRAME_NS);
    unsigned w = 0, h = 0;
    if (rc == 0 && mjd_jpeg_size(s->split.buf, s->split.len, &w, &h) == 0) {
        s->have_frame = true;
        s->base.info.width = w;
        s->base.info.height = h;
    } else if (rc == 0 || rc == -EAGAIN) {
        // No frame yet (or one without SOF): report the asked size until frames tell.
        s->have_frame = rc == 0;
        s->base.info.width = p->width;
        s->base.info.height = p->height;
        LOG_WARN("pipe source: no frame size known yet, reporting %ux%u", p->width, p->height);
    } else {
        LOG_ERROR("pipe source: %s: %s before the first frame", arg,
                  rc == MJD_SOURCE_ENDED ? "end of input" : strerror(-rc));
        goto fail;
    }
    s->base.info.kind = "pipe";
    s->base.info.format = MJD_PIX_JPEG;
    s->base.info.self_paced = true;
    s->base.info.max_frame_bytes = PIPE_MAX_FRAME;
    *out = &s->base;
    return 0;
fail:
    pipe_destroy(&s->base);
    return rc;
}

static int pipe_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns)
{
    struct pipe_source *s = (struct pipe_source *)src;
    if (!s->have_frame) {
        int rc = next_frame(s, deadline_ns);
        if (rc != 0) {
            return rc;
        }
    }
    s->have_frame = false;
    if (s->split.len > frame->cap) {
        return -ENOBUFS;
    }
    unsigned w, h;
    if (mjd_jpeg_size(s->split.buf, s->split.len, &w, &h) != 0) {
        w = s->base.info.width;
        h = s->base.info.height;
    }
    memcpy(frame->data, s->split.buf, s->split.len);
    frame->len = s->split.len;
    frame->width = w;
    frame->height = h;
    frame->format = MJD_PIX_JPEG;
    return 0;
}

const struct mjd_source_ops mjd_source_pipe_ops = {
    .kind = "pipe",
    .create = pipe_create,
    .destroy = pipe_destroy,
    .read = pipe_read,
};

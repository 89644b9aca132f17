// SPDX-License-Identifier: MIT
/* pipe:- (stdin) or pipe:PATH (a FIFO): concatenated JPEGs or an MJPEG stream, split on markers. */
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

#define PIPE_CHUNK 65536

struct pipe_source {
    struct mjd_source base; /* first: the generic part */
    int fd;                 /* -1 when closed */
    bool own_fd;            /* false for stdin */
    struct mjd_jpeg_split split;
    unsigned char *in; /* PIPE_CHUNK bytes read but not yet fed */
    size_t in_pos, in_len;
    uint64_t logged_oversized; /* what was last logged, to log each kind once per change */
    bool held;                 /* the splitter holds the first frame, read at create for its size */
    uint64_t no_size; /* complete frames dropped: no usable SOF, or over the frame buffer */
};

/* How long create() waits for the first frame (to learn the size) before using the asked size. */
#define PIPE_FIRST_FRAME_NS (10 * CORE_NS_PER_SEC)

static void pipe_destroy(struct mjd_source *src)
{
    struct pipe_source *s = (struct pipe_source *)src;
    if (s == NULL) {
        return;
    }
    if (s->own_fd && s->fd >= 0) {
        close(s->fd);
    }
    mjd_jpeg_split_release(&s->split);
    free(s->in);
    free(s);
}

/* Fills frame from the splitter's first complete frame in the buffered input, if any. */
static bool take_frame(struct pipe_source *s, struct mjd_raw_frame *frame)
{
    if (s->held) {
        s->held = false;
        memcpy(frame->data, s->split.buf, s->split.len);
        frame->len = s->split.len;
        frame->width = s->base.info.width;
        frame->height = s->base.info.height;
        frame->format = MJD_PIX_JPEG;
        return true;
    }
    while (s->in_pos < s->in_len) {
        const unsigned char *jpeg = NULL;
        s->in_pos +=
                mjd_jpeg_split_feed(&s->split, s->in + s->in_pos, s->in_len - s->in_pos, &jpeg);
        if (s->split.oversized != s->logged_oversized) {
            s->logged_oversized = s->split.oversized;
            LOG_WARN("pipe source: frame over %zu bytes dropped (%llu so far)", s->split.max,
                     (unsigned long long)s->split.oversized);
        }
        if (jpeg == NULL) {
            continue;
        }
        unsigned w = 0, h = 0;
        if (s->split.len > frame->cap || mjd_jpeg_size(jpeg, s->split.len, &w, &h) != 0) {
            s->no_size++;
            continue; // no usable SOF: not an image a viewer can show
        }
        memcpy(frame->data, jpeg, s->split.len);
        frame->len = s->split.len;
        frame->width = w;
        frame->height = h;
        frame->format = MJD_PIX_JPEG;
        return true;
    }
    return false;
}

/* Reads more input, waiting until deadline_ns. Returns 0, -EAGAIN, MJD_SOURCE_EOF or -errno. */
static int fill(struct pipe_source *s, int64_t deadline_ns)
{
    int64_t left = deadline_ns - core_now_ns();
    int ms = left <= 0 ? 0 : (int)((left + CORE_NS_PER_MS - 1) / CORE_NS_PER_MS);
    struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
    int pr = poll(&pfd, 1, ms);
    if (pr < 0) {
        return errno == EINTR ? -EAGAIN : -errno;
    }
    if (pr == 0) {
        return -EAGAIN;
    }
    ssize_t r = read(s->fd, s->in, PIPE_CHUNK);
    if (r < 0) {
        int e = errno;
        return e == EINTR || e == EAGAIN ? -EAGAIN : -e;
    }
    if (r == 0) {
        return MJD_SOURCE_EOF;
    }
    s->in_pos = 0;
    s->in_len = (size_t)r;
    return 0;
}

static int pipe_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns)
{
    struct pipe_source *s = (struct pipe_source *)src;
    for (;;) {
        if (take_frame(s, frame)) {
            return 0;
        }
        int rc = fill(s, deadline_ns);
        if (rc != 0) {
            return rc;
        }
    }
}

/* Reads up to the first complete frame with a size and leaves it in the splitter (held). */
static int first_frame(struct pipe_source *s, int64_t deadline_ns)
{
    for (;;) {
        while (s->in_pos < s->in_len) {
            const unsigned char *jpeg = NULL;
            s->in_pos +=
                    mjd_jpeg_split_feed(&s->split, s->in + s->in_pos, s->in_len - s->in_pos, &jpeg);
            unsigned w = 0, h = 0;
            if (jpeg != NULL && mjd_jpeg_size(jpeg, s->split.len, &w, &h) == 0) {
                s->base.info.width = w;
                s->base.info.height = h;
                s->held = true;
                return 0;
            }
        }
        int rc = fill(s, deadline_ns);
        if (rc != 0) {
            return rc;
        }
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
    int rc = mjd_jpeg_split_init(&s->split, MJD_SOURCE_MAX_JPEG);
    s->in = malloc(PIPE_CHUNK);
    if (rc != 0 || s->in == NULL) {
        pipe_destroy(&s->base);
        return -ENOMEM;
    }
    if (strcmp(arg, "-") == 0) {
        s->fd = STDIN_FILENO;
    } else {
        // O_RDWR would keep a FIFO open forever; O_RDONLY blocks until a writer comes, which
        // is what a user starting the writer after the server expects.
        s->fd = open(arg, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            rc = -errno;
            pipe_destroy(&s->base);
            return rc;
        }
        s->own_fd = true;
    }
    // The size is the first frame's (a pipe has no header); the asked one if none comes soon.
    s->base.info.kind = "pipe";
    s->base.info.width = p->width;
    s->base.info.height = p->height;
    s->base.info.format = MJD_PIX_JPEG;
    s->base.info.self_paced = true;
    s->base.info.max_frame_bytes = MJD_SOURCE_MAX_JPEG;
    rc = first_frame(s, core_now_ns() + PIPE_FIRST_FRAME_NS);
    if (rc == -EAGAIN) {
        LOG_WARN("pipe source: no frame yet; assuming %ux%u", p->width, p->height);
    } else if (rc != 0) {
        LOG_ERROR("pipe source: %s before the first frame",
                  rc == MJD_SOURCE_EOF ? "end of input" : strerror(-rc));
        pipe_destroy(&s->base);
        return rc == MJD_SOURCE_EOF ? -EINVAL : rc;
    }
    *out = &s->base;
    return 0;
}

/* Frames the splitter dropped (over the cap, cut short by a new SOI) or that had no size. */
static uint64_t pipe_rejected(const struct mjd_source *src)
{
    const struct pipe_source *s = (const struct pipe_source *)src;
    return s->split.oversized + s->split.truncated + s->no_size;
}

const struct mjd_source_ops mjd_source_pipe_ops = {
    .kind = "pipe",
    .create = pipe_create,
    .destroy = pipe_destroy,
    .read = pipe_read,
    .rejected = pipe_rejected,
};

// SPDX-License-Identifier: MIT
/*
 * v4l2:/dev/videoN: a camera through Video4Linux2 mmap streaming, over the single-planar API
 * or, for a device that only has the multi-planar one, that (formats and buffers of both in
 * v4l2_buf.c). MJPEG is passed through (checked complete, standard Huffman tables inserted
 * when the camera omits them); YUYV, NV12, NV12M and RGB24 are converted to YUV420P for the
 * encoder pool. Every kernel call goes through a struct mjd_v4l2_ops (v4l2_ops.h) so that the
 * unit tests can drive this code with a fake device. The source, its fd and its mmap'd
 * buffers belong to the thread that owns the source (the capture thread once started).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/sources/jpeg.h"
#include "mjpegd/sources/jpeg_split.h"
#include "mjpegd/sources/pixconv.h"
#include "mjpegd/sources/source_impl.h"
#include "mjpegd/sources/v4l2_buf.h"
#include "mjpegd/sources/v4l2_ctrl.h"
#include "mjpegd/sources/v4l2_ops.h"

struct v4l2_source {
    struct mjd_source base; /* first: the generic part */
    const struct mjd_v4l2_ops *ops;
    char path[128];
    int fd;                    /* -1 when closed */
    struct mjd_v4l2_bufs bufs; /* the format and buffers, once fd is open */
    int failed;                /* the errno read() last failed with, logged once (0: none yet) */
    struct mjd_v4l2_stats stats;
};

static void v4l2_destroy(struct mjd_source *src)
{
    struct v4l2_source *s = (struct v4l2_source *)src;
    if (s == NULL) {
        return;
    }
    if (s->fd >= 0) {
        mjd_v4l2_bufs_release(&s->bufs);
        (void)s->ops->close(s->ops->ctx, s->fd);
    }
    free(s);
}

/* Capture (single-planar, else multi-planar: *mplane) and streaming I/O, or a clear error. */
static int check_caps(struct v4l2_source *s, bool *mplane)
{
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof(cap));
    if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_QUERYCAP, &cap) != 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: %s is not a V4L2 device (VIDIOC_QUERYCAP: %s)", s->path,
                  strerror(e));
        return -e;
    }
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    char card[sizeof(cap.card) + 1];
    memcpy(card, cap.card, sizeof(cap.card));
    card[sizeof(cap.card)] = '\0';
    *mplane = !(caps & V4L2_CAP_VIDEO_CAPTURE) && (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE);
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE) && !*mplane) {
        LOG_ERROR("v4l2 source: %s (%s) is not a video capture device (a metadata or output "
                  "node? try the camera's other /dev/video*)",
                  s->path, card);
        return -ENOTSUP;
    }
    if (!(caps & V4L2_CAP_STREAMING)) {
        LOG_ERROR("v4l2 source: %s (%s) does not support streaming I/O (mmap), which this "
                  "source needs",
                  s->path, card);
        return -ENOTSUP;
    }
    LOG_INFO("v4l2 source: %s is '%s'%s", s->path, card, *mplane ? " (multi-planar capture)" : "");
    return 0;
}

/* Asks for --fps; a driver that refuses keeps its own rate (the source paces itself). */
static void set_rate(struct v4l2_source *s, unsigned fps)
{
    if (fps == 0) {
        return;
    }
    struct v4l2_streamparm parm;
    memset(&parm, 0, sizeof(parm));
    parm.type = mjd_v4l2_bufs_type(&s->bufs);
    parm.parm.capture.timeperframe.numerator = 1;
    parm.parm.capture.timeperframe.denominator = fps;
    if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_S_PARM, &parm) != 0) {
        LOG_WARN("v4l2 source: %s: the driver does not set the frame rate (%s); using its own",
                 s->path, strerror(errno));
        return;
    }
    const struct v4l2_fract *t = &parm.parm.capture.timeperframe;
    if (t->numerator != 0 && t->denominator != 0 && t->denominator != fps * t->numerator) {
        LOG_WARN("v4l2 source: %s: asked %u fps, the driver granted %u/%u", s->path, fps,
                 t->denominator, t->numerator);
    }
}

int mjd_v4l2_create(struct mjd_source **out, const char *path, const struct mjd_source_params *p,
                    const struct mjd_v4l2_ops *ops)
{
    *out = NULL;
    size_t plen = strlen(path);
    if (plen == 0 || plen >= sizeof(((struct v4l2_source *)NULL)->path) || p->width == 0 ||
        p->height == 0) {
        return -EINVAL;
    }
    struct v4l2_source *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->ops = ops;
    memcpy(s->path, path, plen + 1);
    s->fd = ops->open(ops->ctx, path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (s->fd < 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: cannot open %s: %s", path, strerror(e));
        v4l2_destroy(&s->base);
        return -e;
    }
    const struct mjd_v4l2_fmt *want = NULL;
    bool mplane = false;
    int rc = check_caps(s, &mplane);
    mjd_v4l2_bufs_init(&s->bufs, ops, s->fd, s->path, mplane);
    if (rc == 0) {
        rc = mjd_v4l2_bufs_choose_format(&s->bufs, p->format, &want);
    }
    if (rc == 0) {
        rc = mjd_v4l2_bufs_set_format(&s->bufs, p->width, p->height, want);
    }
    if (rc == 0) {
        set_rate(s, p->fps);
        s->stats.controls_set = mjd_v4l2_ctrl_apply(ops, s->fd, path, p->controls, p->flip,
                                                    &s->base.info.flip_done);
        rc = mjd_v4l2_bufs_map(&s->bufs);
    }
    if (rc == 0) {
        rc = mjd_v4l2_bufs_start(&s->bufs);
    }
    if (rc != 0) {
        v4l2_destroy(&s->base);
        return rc < 0 ? rc : -EIO;
    }
    const struct mjd_v4l2_bufs *q = &s->bufs;
    bool jpeg = q->fmt->want == MJD_CAPTURE_MJPEG;
    s->base.ops = &mjd_source_v4l2_ops; // also when called directly (tests), not via source.c
    s->base.info.kind = "v4l2";
    s->base.info.width = q->width;
    s->base.info.height = q->height;
    s->base.info.format = jpeg ? MJD_PIX_JPEG : MJD_PIX_YUV420P;
    s->base.info.self_paced = true;
    s->base.info.max_frame_bytes = jpeg ? mjd_v4l2_bufs_biggest(q) + MJD_JPEG_STD_DHT_BYTES
                                        : mjd_pixconv_yuv420p_size(q->width, q->height);
    LOG_INFO("v4l2 source: %s streaming %ux%u %s with %u buffers%s", path, q->width, q->height,
             q->fmt->name, q->nbufs, q->mplane ? " (multi-planar)" : "");
    *out = &s->base;
    return 0;
}

static int v4l2_create(struct mjd_source **out, const char *arg, const struct mjd_source_params *p)
{
    return mjd_v4l2_create(out, arg, p, &mjd_v4l2_sys_ops);
}

/* Logs a dropped frame at 1, 2, 4, 8... drops of a kind, not every one. */
static void log_drop(const struct v4l2_source *s, uint64_t n, const char *what)
{
    if ((n & (n - 1)) == 0) {
        LOG_WARN("v4l2 source: %s: dropped %s (%llu so far)", s->path, what, (unsigned long long)n);
    }
}

/* An MJPEG buffer into frame: 0, or -EAGAIN if it is dropped (counted). */
static int take_jpeg(struct v4l2_source *s, const unsigned char *buf, size_t used,
                     struct mjd_raw_frame *frame)
{
    struct mjd_jpeg_info ji;
    if (mjd_jpeg_check(buf, used, &ji) != 0) {
        log_drop(s, ++s->stats.incomplete, "a frame that is not one complete JPEG");
        return -EAGAIN;
    }
    unsigned w = s->bufs.width;
    unsigned h = s->bufs.height;
    if (mjd_jpeg_size(buf, ji.len, &w, &h) != 0) {
        w = s->bufs.width;
        h = s->bufs.height;
    }
    if (ji.has_dht) {
        if (ji.len > frame->cap) {
            log_drop(s, ++s->stats.incomplete, "a JPEG larger than the frame buffer");
            return -EAGAIN;
        }
        memcpy(frame->data, buf, ji.len);
        frame->len = ji.len;
    } else {
        long n = mjd_jpeg_insert_dht(buf, &ji, frame->data, frame->cap);
        if (n < 0) {
            log_drop(s, ++s->stats.incomplete, "a JPEG larger than the frame buffer");
            return -EAGAIN;
        }
        frame->len = (size_t)n;
        s->stats.dht_inserted++;
    }
    frame->width = w;
    frame->height = h;
    frame->format = MJD_PIX_JPEG;
    return 0;
}

/* A raw buffer's planes into frame as YUV420P: 0, or -EAGAIN if it is dropped (counted). */
static int take_raw(struct v4l2_source *s, const struct mjd_v4l2_dq *dq,
                    struct mjd_raw_frame *frame)
{
    const struct mjd_v4l2_bufs *q = &s->bufs;
    unsigned w = q->width;
    unsigned h = q->height;
    size_t out = mjd_pixconv_yuv420p_size(w, h);
    bool short_plane = false;
    for (unsigned p = 0; p < q->fmt->planes; p++) {
        short_plane = short_plane || dq->used[p] < q->need[p];
    }
    if (short_plane || out > frame->cap) {
        log_drop(s, ++s->stats.short_frames, "a raw frame shorter than its format");
        return -EAGAIN;
    }
    const unsigned char *buf = dq->data[0];
    switch (q->fmt->fourcc) {
    case V4L2_PIX_FMT_YUYV:
        mjd_pixconv_yuyv(buf, q->stride[0], w, h, frame->data);
        break;
    case V4L2_PIX_FMT_NV12:
        mjd_pixconv_nv12(buf, q->stride[0], w, h, frame->data);
        break;
    case V4L2_PIX_FMT_NV12M:
        mjd_pixconv_nv12m(buf, q->stride[0], dq->data[1], q->stride[1], w, h, frame->data);
        break;
    default:
        mjd_pixconv_rgb24(buf, q->stride[0], w, h, frame->data);
        break;
    }
    frame->len = out;
    frame->width = w;
    frame->height = h;
    frame->format = MJD_PIX_YUV420P;
    return 0;
}

/* The capture time the driver stamped on b (CLOCK_MONOTONIC, as most drivers and uvcvideo
 * stamp), as wall-clock time in frame->wall_ns; left as the capture thread set it otherwise. */
static void stamp(const struct v4l2_buffer *b, struct mjd_raw_frame *frame)
{
    if ((b->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) != V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC) {
        return;
    }
    // A nonsense stamp must not overflow the sum below (fuzz finding): seconds that fit in
    // int64 nanoseconds, microseconds below a second.
    if (b->timestamp.tv_sec < 0 || b->timestamp.tv_sec > INT64_MAX / CORE_NS_PER_SEC - 1 ||
        b->timestamp.tv_usec < 0 || b->timestamp.tv_usec >= 1000000) {
        return;
    }
    int64_t ts =
            (int64_t)b->timestamp.tv_sec * CORE_NS_PER_SEC + (int64_t)b->timestamp.tv_usec * 1000;
    int64_t age = core_now_ns() - ts;
    if (ts > 0 && age >= 0 && age < 10 * CORE_NS_PER_SEC) {
        frame->wall_ns = core_wall_ns() - age;
    }
}

/* The dequeued buffer dq into frame: 0 or -EAGAIN (dropped). */
static int take(struct v4l2_source *s, struct mjd_v4l2_dq *dq, struct mjd_raw_frame *frame)
{
    if (!mjd_v4l2_bufs_payload(&s->bufs, dq)) {
        log_drop(s, ++s->stats.short_frames, "a buffer with no usable bytes");
        return -EAGAIN;
    }
    if (s->bufs.fmt->want == MJD_CAPTURE_MJPEG) {
        return take_jpeg(s, dq->data[0], dq->used[0], frame);
    }
    return take_raw(s, dq, frame);
}

/* A read failure: -e, logged the first time in a row (an unplugged camera fails every read). */
static int fail(struct v4l2_source *s, int e, const char *what)
{
    if (s->failed != e) {
        LOG_ERROR("v4l2 source: %s: %s: %s", s->path, what, strerror(e));
        s->failed = e;
    }
    return -e;
}

static int v4l2_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns)
{
    struct v4l2_source *s = (struct v4l2_source *)src;
    for (;;) {
        int64_t left = deadline_ns - core_now_ns();
        int64_t left_ms = left <= 0 ? 0 : (left + CORE_NS_PER_MS - 1) / CORE_NS_PER_MS;
        int ms = left_ms > INT_MAX ? INT_MAX : (int)left_ms;
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        int pr = s->ops->poll(s->ops->ctx, &pfd, 1, ms);
        if (pr < 0) {
            return errno == EINTR ? -EAGAIN : fail(s, errno, "poll");
        }
        if (pr == 0) {
            return -EAGAIN;
        }
        if (pfd.revents & POLLNVAL) {
            return fail(s, EBADF, "poll (POLLNVAL)");
        }
        struct mjd_v4l2_dq dq;
        if (mjd_v4l2_bufs_dequeue(&s->bufs, &dq) != 0) {
            int e = errno;
            if (e != EAGAIN) {
                return fail(s, e, "VIDIOC_DQBUF"); // ENODEV: unplugged; EIO: driver or USB
            }
            if (pfd.revents & (POLLERR | POLLHUP)) {
                return fail(s, EIO, "poll (POLLERR)");
            }
            if (ms == 0) {
                return -EAGAIN;
            }
            continue; // woken without a buffer: wait again until the deadline
        }
        if (dq.b.index >= s->bufs.nbufs) {
            return fail(s, EIO, "VIDIOC_DQBUF returned a buffer index past the mapped ones");
        }
        int rc = take(s, &dq, frame);
        if (mjd_v4l2_bufs_requeue(&s->bufs, &dq) != 0) {
            return fail(s, errno, "VIDIOC_QBUF");
        }
        s->failed = 0;
        if (rc == 0) {
            stamp(&dq.b, frame);
            s->stats.frames++;
        }
        return rc;
    }
}

void mjd_v4l2_get_stats(const struct mjd_source *src, struct mjd_v4l2_stats *out)
{
    *out = ((const struct v4l2_source *)src)->stats;
}

const struct mjd_source_ops mjd_source_v4l2_ops = {
    .kind = "v4l2",
    .create = v4l2_create,
    .destroy = v4l2_destroy,
    .read = v4l2_read,
};

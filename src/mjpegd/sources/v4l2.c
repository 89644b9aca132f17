// SPDX-License-Identifier: MIT
/*
 * v4l2:/dev/videoN: a camera through Video4Linux2 mmap streaming. MJPEG is passed through
 * (checked complete, standard Huffman tables inserted when the camera omits them); YUYV, NV12
 * and RGB24 are converted to YUV420P for the encoder pool. Every kernel call goes through a
 * struct mjd_v4l2_ops (v4l2_ops.h) so that the unit tests can drive this code with a fake
 * device. The source, its fd and its mmap'd buffers belong to the thread that owns the source
 * (the capture thread once started).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/sources/jpeg.h"
#include "mjpegd/sources/jpeg_split.h"
#include "mjpegd/sources/pixconv.h"
#include "mjpegd/sources/source_impl.h"
#include "mjpegd/sources/v4l2_ctrl.h"
#include "mjpegd/sources/v4l2_ops.h"

#define V4L2_WANT_BUFS 4
#define V4L2_MAX_BUFS  32
#define V4L2_MAX_FMTS  64
#define V4L2_MAX_SIDE  16384u

/* The formats this source reads, in the order --format auto prefers them. */
static const struct fmt {
    unsigned want; /* enum mjd_capture_format */
    uint32_t fourcc;
    const char *name;
} fmts[] = {
    { MJD_CAPTURE_MJPEG, V4L2_PIX_FMT_MJPEG, "MJPEG" },
    { MJD_CAPTURE_MJPEG, V4L2_PIX_FMT_JPEG, "JPEG" },
    { MJD_CAPTURE_YUYV, V4L2_PIX_FMT_YUYV, "YUYV" },
    { MJD_CAPTURE_NV12, V4L2_PIX_FMT_NV12, "NV12" },
    { MJD_CAPTURE_RGB24, V4L2_PIX_FMT_RGB24, "RGB24" },
};

struct v4l2_map {
    void *start; /* MAP_FAILED when not mapped */
    size_t length;
};

struct v4l2_source {
    struct mjd_source base; /* first: the generic part */
    const struct mjd_v4l2_ops *ops;
    char path[128];
    int fd; /* -1 when closed */
    const struct fmt *fmt;
    unsigned width, height; /* granted */
    size_t stride;          /* bytes per line of a raw format */
    size_t raw_bytes;       /* the bytes a raw frame needs */
    struct v4l2_map maps[V4L2_MAX_BUFS];
    unsigned nmaps;
    bool reqbufs; /* buffers were requested: destroy releases them */
    bool streaming;
    int failed; /* the errno read() last failed with, logged once (0: none yet) */
    struct mjd_v4l2_stats stats;
};

static const struct fmt *fmt_by_fourcc(uint32_t fourcc)
{
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        if (fmts[i].fourcc == fourcc) {
            return &fmts[i];
        }
    }
    return NULL;
}

static void fourcc_str(uint32_t f, char out[5])
{
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(f >> (8 * i));
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[4] = '\0';
}

static void v4l2_destroy(struct mjd_source *src)
{
    struct v4l2_source *s = (struct v4l2_source *)src;
    if (s == NULL) {
        return;
    }
    if (s->streaming) {
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        (void)mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_STREAMOFF, &type);
    }
    for (unsigned i = 0; i < s->nmaps; i++) {
        if (s->maps[i].start != MAP_FAILED) {
            (void)s->ops->munmap(s->ops->ctx, s->maps[i].start, s->maps[i].length);
        }
    }
    if (s->fd >= 0) {
        if (s->reqbufs) {
            struct v4l2_requestbuffers rb = { .count = 0,
                                              .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                              .memory = V4L2_MEMORY_MMAP };
            (void)mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_REQBUFS, &rb);
        }
        (void)s->ops->close(s->ops->ctx, s->fd);
    }
    free(s);
}

/* Capture and streaming I/O, or a clear error. */
static int check_caps(struct v4l2_source *s)
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
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
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
    LOG_INFO("v4l2 source: %s is '%s'", s->path, card);
    return 0;
}

/* The format to ask for: the one --format names, or auto's first choice the device lists. */
static int choose_format(struct v4l2_source *s, unsigned want, const struct fmt **out)
{
    bool have[sizeof(fmts) / sizeof(fmts[0])] = { false };
    char listed[256] = "";
    size_t lo = 0;
    for (uint32_t i = 0; i < V4L2_MAX_FMTS; i++) {
        struct v4l2_fmtdesc d;
        memset(&d, 0, sizeof(d));
        d.index = i;
        d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_ENUM_FMT, &d) != 0) {
            break;
        }
        char fc[5];
        fourcc_str(d.pixelformat, fc);
        if (lo < sizeof(listed)) {
            int w = snprintf(listed + lo, sizeof(listed) - lo, "%s%s", lo > 0 ? " " : "", fc);
            lo += w > 0 ? (size_t)w : 0;
        }
        for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
            if (fmts[f].fourcc == d.pixelformat) {
                have[f] = true;
            }
        }
    }
    LOG_INFO("v4l2 source: %s formats: %s", s->path, listed[0] != '\0' ? listed : "none listed");
    for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
        if (have[f] && (want == MJD_CAPTURE_AUTO || fmts[f].want == want)) {
            *out = &fmts[f];
            return 0;
        }
    }
    if (want == MJD_CAPTURE_AUTO) {
        LOG_ERROR("v4l2 source: %s offers none of MJPEG, YUYV, NV12, RGB24 (it lists: %s)", s->path,
                  listed[0] != '\0' ? listed : "nothing");
    } else {
        LOG_ERROR("v4l2 source: %s does not offer the --format asked (it lists: %s)", s->path,
                  listed[0] != '\0' ? listed : "nothing");
    }
    return -EINVAL;
}

/* The stride and bytes a raw frame of the granted format needs; false if nonsensical. */
static bool raw_layout(struct v4l2_source *s, size_t bytesperline)
{
    size_t w = s->width;
    size_t h = s->height;
    size_t min;
    switch (s->fmt->fourcc) {
    case V4L2_PIX_FMT_YUYV:
        min = 4 * ((w + 1) / 2);
        break;
    case V4L2_PIX_FMT_RGB24:
        min = 3 * w;
        break;
    case V4L2_PIX_FMT_NV12:
        min = 2 * ((w + 1) / 2); // a chroma line of an odd width still ends with a U V pair
        break;
    default:
        return true; // compressed: no layout
    }
    s->stride = bytesperline >= min ? bytesperline : min;
    s->raw_bytes =
            s->fmt->fourcc == V4L2_PIX_FMT_NV12 ? s->stride * (h + (h + 1) / 2) : s->stride * h;
    return true;
}

static int set_format(struct v4l2_source *s, const struct mjd_source_params *p,
                      const struct fmt *want)
{
    struct v4l2_format f;
    memset(&f, 0, sizeof(f));
    f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    f.fmt.pix.width = p->width;
    f.fmt.pix.height = p->height;
    f.fmt.pix.pixelformat = want->fourcc;
    f.fmt.pix.field = V4L2_FIELD_ANY;
    if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_S_FMT, &f) != 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: %s: VIDIOC_S_FMT %ux%u %s: %s", s->path, p->width, p->height,
                  want->name, strerror(e));
        return -e;
    }
    const struct fmt *got = fmt_by_fourcc(f.fmt.pix.pixelformat);
    char fc[5];
    fourcc_str(f.fmt.pix.pixelformat, fc);
    if (got == NULL || f.fmt.pix.width == 0 || f.fmt.pix.height == 0 ||
        f.fmt.pix.width > V4L2_MAX_SIDE || f.fmt.pix.height > V4L2_MAX_SIDE) {
        LOG_ERROR("v4l2 source: %s: asked %ux%u %s, the driver granted %ux%u %s, which this "
                  "source cannot read",
                  s->path, p->width, p->height, want->name, f.fmt.pix.width, f.fmt.pix.height, fc);
        return -EINVAL;
    }
    s->fmt = got;
    s->width = f.fmt.pix.width;
    s->height = f.fmt.pix.height;
    if (s->width != p->width || s->height != p->height || got != want) {
        LOG_WARN("v4l2 source: %s: asked %ux%u %s, the driver granted %ux%u %s", s->path, p->width,
                 p->height, want->name, s->width, s->height, got->name);
    } else {
        LOG_INFO("v4l2 source: %s: %ux%u %s", s->path, s->width, s->height, got->name);
    }
    (void)raw_layout(s, f.fmt.pix.bytesperline);
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
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
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

static int map_buffers(struct v4l2_source *s)
{
    struct v4l2_requestbuffers rb = { .count = V4L2_WANT_BUFS,
                                      .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                      .memory = V4L2_MEMORY_MMAP };
    if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_REQBUFS, &rb) != 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: %s: VIDIOC_REQBUFS (mmap): %s", s->path, strerror(e));
        return -e;
    }
    s->reqbufs = true;
    if (rb.count < 2 || rb.count > V4L2_MAX_BUFS) {
        LOG_ERROR("v4l2 source: %s: the driver gave %u buffers (2..%d needed)", s->path, rb.count,
                  V4L2_MAX_BUFS);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < rb.count; i++) {
        s->maps[i].start = MAP_FAILED;
    }
    s->nmaps = rb.count;
    for (unsigned i = 0; i < rb.count; i++) {
        struct v4l2_buffer b;
        memset(&b, 0, sizeof(b));
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        b.index = i;
        if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_QUERYBUF, &b) != 0) {
            int e = errno;
            LOG_ERROR("v4l2 source: %s: VIDIOC_QUERYBUF %u: %s", s->path, i, strerror(e));
            return -e;
        }
        if (b.length == 0) {
            LOG_ERROR("v4l2 source: %s: buffer %u has length 0", s->path, i);
            return -EINVAL;
        }
        void *m = s->ops->mmap(s->ops->ctx, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
                               (off_t)b.m.offset);
        if (m == MAP_FAILED) {
            int e = errno;
            LOG_ERROR("v4l2 source: %s: mmap of buffer %u: %s", s->path, i, strerror(e));
            return -e;
        }
        s->maps[i].start = m;
        s->maps[i].length = b.length;
        if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_QBUF, &b) != 0) {
            int e = errno;
            LOG_ERROR("v4l2 source: %s: VIDIOC_QBUF %u: %s", s->path, i, strerror(e));
            return -e;
        }
    }
    return 0;
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
    const struct fmt *want = NULL;
    int rc = check_caps(s);
    if (rc == 0) {
        rc = choose_format(s, p->format, &want);
    }
    if (rc == 0) {
        rc = set_format(s, p, want);
    }
    if (rc == 0) {
        set_rate(s, p->fps);
        s->stats.controls_set = mjd_v4l2_ctrl_apply(ops, s->fd, path, p->controls, p->flip,
                                                    &s->base.info.flip_done);
        rc = map_buffers(s);
    }
    size_t biggest = 0;
    for (unsigned i = 0; rc == 0 && i < s->nmaps; i++) {
        biggest = s->maps[i].length > biggest ? s->maps[i].length : biggest;
    }
    if (rc == 0) {
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (mjd_v4l2_xioctl(ops, s->fd, VIDIOC_STREAMON, &type) != 0) {
            rc = -errno;
            LOG_ERROR("v4l2 source: %s: VIDIOC_STREAMON: %s", path, strerror(-rc));
        } else {
            s->streaming = true;
        }
    }
    if (rc != 0) {
        v4l2_destroy(&s->base);
        return rc < 0 ? rc : -EIO;
    }
    bool jpeg = s->fmt->want == MJD_CAPTURE_MJPEG;
    s->base.ops = &mjd_source_v4l2_ops; // also when called directly (tests), not via source.c
    s->base.info.kind = "v4l2";
    s->base.info.width = s->width;
    s->base.info.height = s->height;
    s->base.info.format = jpeg ? MJD_PIX_JPEG : MJD_PIX_YUV420P;
    s->base.info.self_paced = true;
    s->base.info.max_frame_bytes =
            jpeg ? biggest + MJD_JPEG_STD_DHT_BYTES : mjd_pixconv_yuv420p_size(s->width, s->height);
    LOG_INFO("v4l2 source: %s streaming %ux%u %s with %u buffers", path, s->width, s->height,
             s->fmt->name, s->nmaps);
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
    unsigned w = s->width;
    unsigned h = s->height;
    if (mjd_jpeg_size(buf, ji.len, &w, &h) != 0) {
        w = s->width;
        h = s->height;
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

/* A raw buffer into frame as YUV420P: 0, or -EAGAIN if it is dropped (counted). */
static int take_raw(struct v4l2_source *s, const unsigned char *buf, size_t used,
                    struct mjd_raw_frame *frame)
{
    size_t out = mjd_pixconv_yuv420p_size(s->width, s->height);
    if (used < s->raw_bytes || out > frame->cap) {
        log_drop(s, ++s->stats.short_frames, "a raw frame shorter than its format");
        return -EAGAIN;
    }
    switch (s->fmt->fourcc) {
    case V4L2_PIX_FMT_YUYV:
        mjd_pixconv_yuyv(buf, s->stride, s->width, s->height, frame->data);
        break;
    case V4L2_PIX_FMT_NV12:
        mjd_pixconv_nv12(buf, s->stride, s->width, s->height, frame->data);
        break;
    default:
        mjd_pixconv_rgb24(buf, s->stride, s->width, s->height, frame->data);
        break;
    }
    frame->len = out;
    frame->width = s->width;
    frame->height = s->height;
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

/* The dequeued buffer b into frame: 0 or -EAGAIN (dropped). */
static int take(struct v4l2_source *s, const struct v4l2_buffer *b, struct mjd_raw_frame *frame)
{
    const struct v4l2_map *m = &s->maps[b->index];
    size_t used = b->bytesused;
    if (used == 0 || used > m->length || (b->flags & V4L2_BUF_FLAG_ERROR)) {
        log_drop(s, ++s->stats.short_frames, "a buffer with no usable bytes");
        return -EAGAIN;
    }
    if (s->fmt->want == MJD_CAPTURE_MJPEG) {
        return take_jpeg(s, m->start, used, frame);
    }
    return take_raw(s, m->start, used, frame);
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
        struct v4l2_buffer b;
        memset(&b, 0, sizeof(b));
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_DQBUF, &b) != 0) {
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
        if (b.index >= s->nmaps) {
            return fail(s, EIO, "VIDIOC_DQBUF returned a buffer index past the mapped ones");
        }
        int rc = take(s, &b, frame);
        if (mjd_v4l2_xioctl(s->ops, s->fd, VIDIOC_QBUF, &b) != 0) {
            return fail(s, errno, "VIDIOC_QBUF");
        }
        s->failed = 0;
        if (rc == 0) {
            stamp(&b, frame);
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

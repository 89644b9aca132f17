// SPDX-License-Identifier: MIT
/* A fake UVC-like V4L2 device over memory buffers, behind struct mjd_v4l2_ops (unit tests);
 * single- or multi-planar (see fake_v4l2.h). */
#include "fake_v4l2.h"

#include <errno.h>
#include <linux/videodev2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define FAKE_PAGE 4096u

void fake_v4l2_init(struct fake_v4l2 *f)
{
    memset(f, 0, sizeof(*f));
    f->caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
    f->formats[0] = V4L2_PIX_FMT_MJPEG;
    f->formats[1] = V4L2_PIX_FMT_YUYV;
    f->nformats = 2;
    f->max_w = 1920;
    f->max_h = 1080;
}

void fake_v4l2_init_mplane(struct fake_v4l2 *f)
{
    fake_v4l2_init(f);
    f->caps = V4L2_CAP_VIDEO_CAPTURE_MPLANE | V4L2_CAP_STREAMING;
    f->mplane = true;
}

/* The buffer type the device's API uses. */
static uint32_t buf_type(const struct fake_v4l2 *f)
{
    return f->mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
}

static void free_bufs(struct fake_v4l2 *f)
{
    for (unsigned i = 0; i < f->nbufs; i++) {
        for (unsigned p = 0; p < FAKE_V4L2_PLANES; p++) {
            free(f->mem[i][p]);
            f->mem[i][p] = NULL;
            f->len[i][p] = 0;
        }
        f->queued[i] = false;
    }
    f->nbufs = 0;
}

void fake_v4l2_release(struct fake_v4l2 *f)
{
    free_bufs(f);
}

void fake_v4l2_push(struct fake_v4l2 *f, const unsigned char *data, size_t len, long bytesused,
                    uint32_t flags, int dq_errno)
{
    if (f->nframes < sizeof(f->frames) / sizeof(f->frames[0])) {
        f->frames[f->nframes++] = (struct fake_v4l2_frame){
            .data = data, .len = len, .bytesused = bytesused, .flags = flags, .dq_errno = dq_errno
        };
    }
}

static int fail(int e)
{
    errno = e;
    return -1;
}

static int f_open(void *ctx, const char *path, int flags)
{
    struct fake_v4l2 *f = ctx;
    (void)path;
    (void)flags;
    f->opens++;
    return FAKE_V4L2_FD;
}

static int f_close(void *ctx, int fd)
{
    struct fake_v4l2 *f = ctx;
    if (fd != FAKE_V4L2_FD) {
        return fail(EBADF);
    }
    f->closes++;
    f->streaming = false;
    free_bufs(f);
    return 0;
}

static bool has_format(const struct fake_v4l2 *f, uint32_t fourcc)
{
    for (unsigned i = 0; i < f->nformats; i++) {
        if (f->formats[i] == fourcc) {
            return true;
        }
    }
    return false;
}

/* The layout of the granted format: bytesperline and sizeimage of each plane. */
static void layout(struct fake_v4l2 *f, uint32_t fourcc, unsigned w, unsigned h)
{
    f->fmt = fourcc;
    f->w = w;
    f->h = h;
    f->nplanes = 1;
    f->bpl1 = 0;
    f->sizeimage1 = 0;
    switch (fourcc) {
    case V4L2_PIX_FMT_YUYV:
        f->bpl = 2 * w + f->pad_stride;
        f->sizeimage = f->bpl * h;
        break;
    case V4L2_PIX_FMT_RGB24:
        f->bpl = 3 * w + f->pad_stride;
        f->sizeimage = f->bpl * h;
        break;
    case V4L2_PIX_FMT_NV12:
        f->bpl = w + f->pad_stride;
        f->sizeimage = f->bpl * (h + (h + 1) / 2);
        break;
    case V4L2_PIX_FMT_NV12M: // the U V plane as wide in bytes as the Y plane, half as tall
        f->nplanes = 2;
        f->bpl = w + f->pad_stride;
        f->sizeimage = f->bpl * h;
        f->bpl1 = f->bpl;
        f->sizeimage1 = f->bpl1 * ((h + 1) / 2);
        break;
    default:
        f->bpl = 0;
        f->sizeimage = 2 * w * h > 65536 ? 2 * w * h : 65536;
        break;
    }
}

static int s_fmt(struct fake_v4l2 *f, struct v4l2_format *fmt)
{
    if (fmt->type != buf_type(f) || f->nformats == 0) {
        return fail(EINVAL);
    }
    // v4l2_pix_format_mplane is packed: its fields are copied, never pointed at.
    uint32_t fourcc = f->mplane ? fmt->fmt.pix_mp.pixelformat : fmt->fmt.pix.pixelformat;
    uint32_t w = f->mplane ? fmt->fmt.pix_mp.width : fmt->fmt.pix.width;
    uint32_t h = f->mplane ? fmt->fmt.pix_mp.height : fmt->fmt.pix.height;
    if (!has_format(f, fourcc)) {
        fourcc = f->formats[0]; // drivers substitute their own format
    }
    w = w < f->max_w ? w : f->max_w;
    h = h < f->max_h ? h : f->max_h;
    layout(f, fourcc, w, h);
    if (!f->mplane) {
        struct v4l2_pix_format *p = &fmt->fmt.pix;
        p->pixelformat = fourcc;
        p->width = w;
        p->height = h;
        p->field = V4L2_FIELD_NONE;
        p->bytesperline = f->bpl;
        p->sizeimage = f->sizeimage;
        return 0;
    }
    struct v4l2_pix_format_mplane *mp = &fmt->fmt.pix_mp;
    mp->pixelformat = fourcc;
    mp->width = w;
    mp->height = h;
    mp->field = V4L2_FIELD_NONE;
    mp->num_planes = (uint8_t)(f->report_planes != 0 ? f->report_planes : f->nplanes);
    memset(mp->plane_fmt, 0, sizeof(mp->plane_fmt));
    mp->plane_fmt[0].bytesperline = f->bpl;
    mp->plane_fmt[0].sizeimage = f->sizeimage;
    mp->plane_fmt[1].bytesperline = f->bpl1;
    mp->plane_fmt[1].sizeimage = f->sizeimage1;
    return 0;
}

static struct fake_v4l2_ctrl *ctrl_by_id(struct fake_v4l2 *f, uint32_t id)
{
    for (unsigned i = 0; i < f->nctrls; i++) {
        if (f->ctrls[i].id == id) {
            return &f->ctrls[i];
        }
    }
    return NULL;
}

static int queryctrl(struct fake_v4l2 *f, struct v4l2_queryctrl *q)
{
    const struct fake_v4l2_ctrl *c = NULL;
    if (q->id & V4L2_CTRL_FLAG_NEXT_CTRL) {
        uint32_t after = q->id & ~(uint32_t)V4L2_CTRL_FLAG_NEXT_CTRL;
        for (unsigned i = 0; i < f->nctrls; i++) {
            if (f->ctrls[i].id > after && (c == NULL || f->ctrls[i].id < c->id)) {
                c = &f->ctrls[i];
            }
        }
    } else {
        c = ctrl_by_id(f, q->id);
    }
    if (c == NULL) {
        return fail(EINVAL);
    }
    memset(q, 0, sizeof(*q));
    q->id = c->id;
    q->type = V4L2_CTRL_TYPE_INTEGER;
    size_t n = strlen(c->name);
    memcpy(q->name, c->name, n < sizeof(q->name) ? n : sizeof(q->name)); // maybe unterminated
    q->minimum = c->min;
    q->maximum = c->max;
    q->step = 1;
    return 0;
}

static int reqbufs(struct fake_v4l2 *f, struct v4l2_requestbuffers *rb)
{
    if (rb->type != buf_type(f) || rb->memory != V4L2_MEMORY_MMAP || f->streaming) {
        return fail(EINVAL);
    }
    free_bufs(f);
    if (rb->count == 0) {
        return 0;
    }
    unsigned n = f->grant_bufs != 0 ? f->grant_bufs : rb->count;
    n = n > FAKE_V4L2_MAX_BUFS ? FAKE_V4L2_MAX_BUFS : n;
    unsigned np = f->mplane ? f->nplanes : 1;
    size_t off = f->mplane ? f->data_offset : 0;
    for (unsigned i = 0; i < n; i++) {
        f->len[i][0] = f->buf_len != 0 ? f->buf_len : f->sizeimage + off;
        f->len[i][1] = np > 1 ? f->sizeimage1 + off : 0;
        for (unsigned p = 0; p < np; p++) {
            f->mem[i][p] = calloc(1, f->len[i][p] != 0 ? f->len[i][p] : 1);
            if (f->mem[i][p] == NULL) {
                f->nbufs = i + 1;
                free_bufs(f);
                return fail(ENOMEM);
            }
        }
    }
    f->nbufs = n;
    rb->count = n;
    return 0;
}

/* A struct v4l2_buffer of the device's type with room for its planes, or EINVAL. */
static int check_buf(const struct fake_v4l2 *f, const struct v4l2_buffer *b)
{
    if (b->type != buf_type(f) || b->memory != V4L2_MEMORY_MMAP || b->index >= f->nbufs) {
        return fail(EINVAL);
    }
    if (f->mplane && (b->m.planes == NULL || b->length < f->nplanes)) {
        return fail(EINVAL); // as vb2's __verify_planes_array
    }
    return 0;
}

/* Copies data into plane p of buffer i at off; returns what DQBUF reports as bytesused. */
static uint32_t fill(struct fake_v4l2 *f, unsigned i, unsigned p, size_t off,
                     const unsigned char *data, size_t len, long bytesused)
{
    size_t room = f->len[i][p] > off ? f->len[i][p] - off : 0;
    size_t n = len < room ? len : room;
    memset(f->mem[i][p], 0, f->len[i][p]);
    if (n > 0) {
        memcpy(f->mem[i][p] + off, data, n);
    }
    return bytesused >= 0 ? (uint32_t)bytesused : (uint32_t)(off + len);
}

static int dqbuf(struct fake_v4l2 *f, struct v4l2_buffer *b)
{
    if (f->poll_err) {
        return fail(EAGAIN);
    }
    if (f->loop && f->next >= f->nframes) {
        f->next = 0;
    }
    if (b->type != buf_type(f) || (f->mplane && (b->m.planes == NULL || b->length < f->nplanes))) {
        return fail(EINVAL);
    }
    if (!f->streaming || f->next >= f->nframes) {
        return fail(EAGAIN);
    }
    unsigned i = 0;
    while (i < f->nbufs && !f->queued[i]) {
        i++;
    }
    if (i == f->nbufs) {
        return fail(EAGAIN);
    }
    const struct fake_v4l2_frame *fr = &f->frames[f->next++];
    if (fr->dq_errno != 0) {
        return fail(fr->dq_errno);
    }
    f->queued[i] = false;
    b->index = i;
    if (f->mplane) {
        struct v4l2_plane *pl = b->m.planes;
        memset(pl, 0, sizeof(*pl) * f->nplanes);
        for (unsigned p = 0; p < f->nplanes; p++) {
            pl[p].bytesused =
                    p == 0 ? fill(f, i, 0, f->data_offset, fr->data, fr->len, fr->bytesused)
                           : fill(f, i, 1, f->data_offset, fr->data1, fr->len1, fr->bytesused1);
            pl[p].data_offset = f->data_offset;
            pl[p].length = (uint32_t)f->len[i][p];
            pl[p].m.mem_offset = (i * FAKE_V4L2_PLANES + p) * FAKE_PAGE;
        }
        b->bytesused = 0; // unused in the multi-planar API
        b->length = f->nplanes;
    } else {
        b->bytesused = fill(f, i, 0, 0, fr->data, fr->len, fr->bytesused);
        b->length = (uint32_t)f->len[i][0];
    }
    b->flags = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_DONE | fr->flags;
    b->sequence = f->next - 1;
    if (fr->age_ns > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t ts = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - fr->age_ns;
        b->timestamp.tv_sec = ts / 1000000000;
        b->timestamp.tv_usec = (ts % 1000000000) / 1000;
        b->flags |= V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
    }
    if (fr->raw_stamp) {
        b->timestamp.tv_sec = (time_t)fr->stamp_sec;
        b->timestamp.tv_usec = (suseconds_t)fr->stamp_usec;
        b->flags |= V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
    }
    return 0;
}

static int querybuf(struct fake_v4l2 *f, struct v4l2_buffer *b)
{
    if (check_buf(f, b) != 0) {
        return -1;
    }
    if (!f->mplane) {
        b->length = (uint32_t)f->len[b->index][0];
        b->m.offset = b->index * FAKE_V4L2_PLANES * FAKE_PAGE;
        return 0;
    }
    memset(b->m.planes, 0, sizeof(*b->m.planes) * f->nplanes);
    for (unsigned p = 0; p < f->nplanes; p++) {
        b->m.planes[p].length = (uint32_t)f->len[b->index][p];
        b->m.planes[p].m.mem_offset = (b->index * FAKE_V4L2_PLANES + p) * FAKE_PAGE;
    }
    b->length = f->nplanes;
    return 0;
}

static int f_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
    struct fake_v4l2 *f = ctx;
    if (fd != FAKE_V4L2_FD) {
        return fail(EBADF);
    }
    switch (request) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *c = arg;
        memset(c, 0, sizeof(*c));
        strcpy((char *)c->driver, "fake");
        strcpy((char *)c->card, "Fake UVC Camera");
        c->capabilities = f->no_device_caps ? f->caps : f->caps | V4L2_CAP_DEVICE_CAPS;
        c->device_caps = f->no_device_caps ? 0 : f->caps;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = arg;
        if (d->type != buf_type(f) || d->index >= f->nformats) {
            return fail(EINVAL);
        }
        d->pixelformat = f->formats[d->index];
        return 0;
    }
    case VIDIOC_S_FMT:
        return s_fmt(f, arg);
    case VIDIOC_S_PARM: {
        struct v4l2_streamparm *p = arg;
        if (p->type != buf_type(f)) {
            return fail(EINVAL);
        }
        if (f->refuse_parm) {
            return fail(ENOTTY);
        }
        f->fps_den = p->parm.capture.timeperframe.denominator;
        p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        if (f->grant_fps != 0) {
            p->parm.capture.timeperframe.numerator = 1;
            p->parm.capture.timeperframe.denominator = f->grant_fps;
        }
        return 0;
    }
    case VIDIOC_QUERYCTRL:
        return queryctrl(f, arg);
    case VIDIOC_S_CTRL: {
        struct v4l2_control *c = arg;
        struct fake_v4l2_ctrl *fc = ctrl_by_id(f, c->id);
        if (fc == NULL) {
            return fail(EINVAL);
        }
        if (c->value < fc->min || c->value > fc->max) {
            return fail(ERANGE);
        }
        fc->value = c->value;
        fc->sets++;
        return 0;
    }
    case VIDIOC_REQBUFS:
        return reqbufs(f, arg);
    case VIDIOC_QUERYBUF:
        return querybuf(f, arg);
    case VIDIOC_QBUF: {
        struct v4l2_buffer *b = arg;
        if (check_buf(f, b) != 0 || f->queued[b->index]) {
            return fail(EINVAL);
        }
        f->queued[b->index] = true;
        return 0;
    }
    case VIDIOC_DQBUF:
        return dqbuf(f, arg);
    case VIDIOC_STREAMON:
        if (*(const int *)arg != (int)buf_type(f)) {
            return fail(EINVAL);
        }
        f->streaming = true;
        f->streamons++;
        return 0;
    case VIDIOC_STREAMOFF:
        if (*(const int *)arg != (int)buf_type(f)) {
            return fail(EINVAL);
        }
        f->streaming = false;
        f->streamoffs++;
        for (unsigned i = 0; i < f->nbufs; i++) {
            f->queued[i] = false;
        }
        return 0;
    default:
        return fail(ENOTTY);
    }
}

static void *f_mmap(void *ctx, size_t len, int prot, int flags, int fd, off_t offset)
{
    struct fake_v4l2 *f = ctx;
    (void)prot;
    (void)flags;
    size_t i = (size_t)offset / FAKE_PAGE / FAKE_V4L2_PLANES;
    size_t p = (size_t)offset / FAKE_PAGE % FAKE_V4L2_PLANES;
    if (fd != FAKE_V4L2_FD || offset < 0 || (size_t)offset % FAKE_PAGE != 0 || i >= f->nbufs ||
        f->mem[i][p] == NULL || len > f->len[i][p]) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    f->maps++;
    return f->mem[i][p];
}

static int f_munmap(void *ctx, void *addr, size_t len)
{
    struct fake_v4l2 *f = ctx;
    (void)addr;
    (void)len;
    f->unmaps++;
    return 0;
}

static int f_poll(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    struct fake_v4l2 *f = ctx;
    (void)timeout_ms; // never sleeps: no frame left is an immediate timeout
    if (nfds != 1 || fds[0].fd != FAKE_V4L2_FD) {
        return fail(EINVAL);
    }
    fds[0].revents = 0;
    if (f->poll_err) {
        fds[0].revents = POLLERR;
        return 1;
    }
    if (f->streaming && (f->next < f->nframes || (f->loop && f->nframes > 0))) {
        fds[0].revents = POLLIN;
        return 1;
    }
    return 0;
}

struct mjd_v4l2_ops fake_v4l2_ops(struct fake_v4l2 *f)
{
    return (struct mjd_v4l2_ops){
        .ctx = f,
        .open = f_open,
        .close = f_close,
        .ioctl = f_ioctl,
        .mmap = f_mmap,
        .munmap = f_munmap,
        .poll = f_poll,
    };
}

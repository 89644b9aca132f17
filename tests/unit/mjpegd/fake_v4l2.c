// SPDX-License-Identifier: MIT
/* A fake UVC-like V4L2 device over memory buffers, behind struct mjd_v4l2_ops (unit tests). */
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

static void free_bufs(struct fake_v4l2 *f)
{
    for (unsigned i = 0; i < f->nbufs; i++) {
        free(f->mem[i]);
        f->mem[i] = NULL;
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

static int s_fmt(struct fake_v4l2 *f, struct v4l2_format *fmt)
{
    if (fmt->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || f->nformats == 0) {
        return fail(EINVAL);
    }
    struct v4l2_pix_format *p = &fmt->fmt.pix;
    if (!has_format(f, p->pixelformat)) {
        p->pixelformat = f->formats[0]; // drivers substitute their own format
    }
    p->width = p->width < f->max_w ? p->width : f->max_w;
    p->height = p->height < f->max_h ? p->height : f->max_h;
    p->field = V4L2_FIELD_NONE;
    switch (p->pixelformat) {
    case V4L2_PIX_FMT_YUYV:
        p->bytesperline = 2 * p->width + f->pad_stride;
        p->sizeimage = p->bytesperline * p->height;
        break;
    case V4L2_PIX_FMT_RGB24:
        p->bytesperline = 3 * p->width + f->pad_stride;
        p->sizeimage = p->bytesperline * p->height;
        break;
    case V4L2_PIX_FMT_NV12:
        p->bytesperline = p->width + f->pad_stride;
        p->sizeimage = p->bytesperline * (p->height + (p->height + 1) / 2);
        break;
    default:
        p->bytesperline = 0;
        p->sizeimage = 2 * p->width * p->height > 65536 ? 2 * p->width * p->height : 65536;
        break;
    }
    f->fmt = p->pixelformat;
    f->w = p->width;
    f->h = p->height;
    f->bpl = p->bytesperline;
    f->sizeimage = p->sizeimage;
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
    if (rb->memory != V4L2_MEMORY_MMAP || f->streaming) {
        return fail(EINVAL);
    }
    free_bufs(f);
    if (rb->count == 0) {
        return 0;
    }
    unsigned n = f->grant_bufs != 0 ? f->grant_bufs : rb->count;
    n = n > FAKE_V4L2_MAX_BUFS ? FAKE_V4L2_MAX_BUFS : n;
    for (unsigned i = 0; i < n; i++) {
        f->len[i] = f->buf_len != 0 ? f->buf_len : f->sizeimage;
        f->mem[i] = calloc(1, f->len[i]);
        if (f->mem[i] == NULL) {
            f->nbufs = i;
            free_bufs(f);
            return fail(ENOMEM);
        }
    }
    f->nbufs = n;
    rb->count = n;
    return 0;
}

static int dqbuf(struct fake_v4l2 *f, struct v4l2_buffer *b)
{
    if (f->poll_err) {
        return fail(EAGAIN);
    }
    if (f->loop && f->next >= f->nframes) {
        f->next = 0;
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
    size_t n = fr->len < f->len[i] ? fr->len : f->len[i];
    memset(f->mem[i], 0, f->len[i]);
    memcpy(f->mem[i], fr->data, n);
    f->queued[i] = false;
    b->index = i;
    b->bytesused = fr->bytesused >= 0 ? (uint32_t)fr->bytesused : (uint32_t)fr->len;
    b->flags = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_DONE | fr->flags;
    b->length = (uint32_t)f->len[i];
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
        c->capabilities = f->caps | V4L2_CAP_DEVICE_CAPS;
        c->device_caps = f->caps;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = arg;
        if (d->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || d->index >= f->nformats) {
            return fail(EINVAL);
        }
        d->pixelformat = f->formats[d->index];
        return 0;
    }
    case VIDIOC_S_FMT:
        return s_fmt(f, arg);
    case VIDIOC_S_PARM: {
        struct v4l2_streamparm *p = arg;
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
    case VIDIOC_QUERYBUF: {
        struct v4l2_buffer *b = arg;
        if (b->index >= f->nbufs) {
            return fail(EINVAL);
        }
        b->length = (uint32_t)f->len[b->index];
        b->m.offset = b->index * FAKE_PAGE;
        return 0;
    }
    case VIDIOC_QBUF: {
        struct v4l2_buffer *b = arg;
        if (b->index >= f->nbufs || f->queued[b->index]) {
            return fail(EINVAL);
        }
        f->queued[b->index] = true;
        return 0;
    }
    case VIDIOC_DQBUF:
        return dqbuf(f, arg);
    case VIDIOC_STREAMON:
        f->streaming = true;
        f->streamons++;
        return 0;
    case VIDIOC_STREAMOFF:
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
    size_t i = (size_t)offset / FAKE_PAGE;
    if (fd != FAKE_V4L2_FD || offset < 0 || (size_t)offset % FAKE_PAGE != 0 || i >= f->nbufs ||
        len > f->len[i]) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    f->maps++;
    return f->mem[i];
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

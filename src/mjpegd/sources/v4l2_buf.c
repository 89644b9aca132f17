// SPDX-License-Identifier: MIT
/*
 * The v4l2 source's formats and buffers over the single- or the multi-planar API (see
 * v4l2_buf.h). The multi-planar API hands each plane of a buffer apart: its own mmap offset
 * and length (QUERYBUF), and on DQBUF its own bytesused, which counts the data_offset bytes
 * a driver may put before the picture. Not thread-safe: the source's owner calls all of it.
 */
#include "mjpegd/sources/v4l2_buf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core/log.h"
#include "mjpegd/sources/source.h"

#define V4L2_WANT_BUFS 4
#define V4L2_MAX_FMTS  64
#define V4L2_MAX_SIDE  16384u

/* The formats the source reads, in the order --format auto prefers them. */
static const struct mjd_v4l2_fmt fmts[] = {
    { MJD_CAPTURE_MJPEG, V4L2_PIX_FMT_MJPEG, "MJPEG", 1 },
    { MJD_CAPTURE_MJPEG, V4L2_PIX_FMT_JPEG, "JPEG", 1 },
    { MJD_CAPTURE_YUYV, V4L2_PIX_FMT_YUYV, "YUYV", 1 },
    { MJD_CAPTURE_NV12, V4L2_PIX_FMT_NV12, "NV12", 1 },
    { MJD_CAPTURE_NV12, V4L2_PIX_FMT_NV12M, "NV12M", 2 },
    { MJD_CAPTURE_RGB24, V4L2_PIX_FMT_RGB24, "RGB24", 1 },
};
#define NFMTS (sizeof(fmts) / sizeof(fmts[0]))

/* The format of fourcc the source can read over q's API, or NULL. */
static const struct mjd_v4l2_fmt *fmt_by_fourcc(const struct mjd_v4l2_bufs *q, uint32_t fourcc)
{
    for (size_t i = 0; i < NFMTS; i++) {
        if (fmts[i].fourcc == fourcc && (q->mplane || fmts[i].planes == 1)) {
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

void mjd_v4l2_bufs_init(struct mjd_v4l2_bufs *q, const struct mjd_v4l2_ops *ops, int fd,
                        const char *path, bool mplane)
{
    memset(q, 0, sizeof(*q));
    q->ops = ops;
    q->fd = fd;
    q->path = path;
    q->mplane = mplane;
    for (unsigned i = 0; i < MJD_V4L2_MAX_BUFS; i++) {
        for (unsigned p = 0; p < MJD_V4L2_MAX_PLANES; p++) {
            q->maps[i][p].start = MAP_FAILED;
        }
    }
}

uint32_t mjd_v4l2_bufs_type(const struct mjd_v4l2_bufs *q)
{
    return q->mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
}

/* The memory planes of q's granted format (1 on the single-planar API). */
static unsigned nplanes(const struct mjd_v4l2_bufs *q)
{
    return q->mplane ? q->fmt->planes : 1;
}

int mjd_v4l2_bufs_choose_format(struct mjd_v4l2_bufs *q, unsigned want,
                                const struct mjd_v4l2_fmt **out)
{
    bool have[NFMTS] = { false };
    char listed[256] = "";
    size_t lo = 0;
    for (uint32_t i = 0; i < V4L2_MAX_FMTS; i++) {
        struct v4l2_fmtdesc d;
        memset(&d, 0, sizeof(d));
        d.index = i;
        d.type = mjd_v4l2_bufs_type(q);
        if (mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_ENUM_FMT, &d) != 0) {
            break;
        }
        char fc[5];
        fourcc_str(d.pixelformat, fc);
        if (lo < sizeof(listed)) {
            int w = snprintf(listed + lo, sizeof(listed) - lo, "%s%s", lo > 0 ? " " : "", fc);
            lo += w > 0 ? (size_t)w : 0;
        }
        const struct mjd_v4l2_fmt *f = fmt_by_fourcc(q, d.pixelformat);
        if (f != NULL) {
            have[f - fmts] = true;
        }
    }
    const char *api = q->mplane ? " (multi-planar API)" : "";
    LOG_INFO("v4l2 source: %s formats%s: %s", q->path, api, listed[0] != '\0' ? listed : "none");
    for (size_t f = 0; f < NFMTS; f++) {
        if (have[f] && (want == MJD_CAPTURE_AUTO || fmts[f].want == want)) {
            *out = &fmts[f];
            return 0;
        }
    }
    if (want == MJD_CAPTURE_AUTO) {
        LOG_ERROR("v4l2 source: %s offers none of MJPEG, YUYV, NV12%s, RGB24 (it lists: %s)",
                  q->path, q->mplane ? ", NV12M" : "", listed[0] != '\0' ? listed : "nothing");
    } else {
        LOG_ERROR("v4l2 source: %s does not offer the --format asked (it lists: %s)", q->path,
                  listed[0] != '\0' ? listed : "nothing");
    }
    return -EINVAL;
}

static size_t at_least(size_t v, size_t min)
{
    return v >= min ? v : min;
}

/* Each plane's stride (the driver's bytesperline, raised to what a line needs) and bytes. */
static void raw_layout(struct mjd_v4l2_bufs *q, const uint32_t bpl[MJD_V4L2_MAX_PLANES])
{
    size_t w = q->width;
    size_t h = q->height;
    size_t ch = (h + 1) / 2;
    size_t chroma = 2 * ((w + 1) / 2); // a chroma line of an odd width ends with a U V pair
    switch (q->fmt->fourcc) {
    case V4L2_PIX_FMT_YUYV:
        q->stride[0] = at_least(bpl[0], 4 * ((w + 1) / 2));
        q->need[0] = q->stride[0] * h;
        break;
    case V4L2_PIX_FMT_RGB24:
        q->stride[0] = at_least(bpl[0], 3 * w);
        q->need[0] = q->stride[0] * h;
        break;
    case V4L2_PIX_FMT_NV12: // one stride for the Y lines and the U V lines after them
        q->stride[0] = at_least(bpl[0], chroma);
        q->need[0] = q->stride[0] * (h + ch);
        break;
    case V4L2_PIX_FMT_NV12M: // the planes apart, each with its own bytesperline
        q->stride[0] = at_least(bpl[0], w);
        q->need[0] = q->stride[0] * h;
        q->stride[1] = at_least(bpl[1], chroma);
        q->need[1] = q->stride[1] * ch;
        break;
    default:
        break; // compressed: no layout
    }
}

int mjd_v4l2_bufs_set_format(struct mjd_v4l2_bufs *q, unsigned w, unsigned h,
                             const struct mjd_v4l2_fmt *want)
{
    struct v4l2_format f;
    memset(&f, 0, sizeof(f));
    f.type = mjd_v4l2_bufs_type(q);
    if (q->mplane) {
        f.fmt.pix_mp.width = w;
        f.fmt.pix_mp.height = h;
        f.fmt.pix_mp.pixelformat = want->fourcc;
        f.fmt.pix_mp.field = V4L2_FIELD_ANY;
        f.fmt.pix_mp.num_planes = (uint8_t)want->planes;
    } else {
        f.fmt.pix.width = w;
        f.fmt.pix.height = h;
        f.fmt.pix.pixelformat = want->fourcc;
        f.fmt.pix.field = V4L2_FIELD_ANY;
    }
    if (mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_S_FMT, &f) != 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: %s: VIDIOC_S_FMT %ux%u %s: %s", q->path, w, h, want->name,
                  strerror(e));
        return -e;
    }
    uint32_t fourcc = q->mplane ? f.fmt.pix_mp.pixelformat : f.fmt.pix.pixelformat;
    unsigned gw = q->mplane ? f.fmt.pix_mp.width : f.fmt.pix.width;
    unsigned gh = q->mplane ? f.fmt.pix_mp.height : f.fmt.pix.height;
    unsigned planes = q->mplane ? f.fmt.pix_mp.num_planes : 1;
    uint32_t bpl[MJD_V4L2_MAX_PLANES] = { 0 };
    for (unsigned p = 0; p < MJD_V4L2_MAX_PLANES; p++) {
        bpl[p] = q->mplane ? f.fmt.pix_mp.plane_fmt[p].bytesperline
                           : (p == 0 ? f.fmt.pix.bytesperline : 0);
    }
    const struct mjd_v4l2_fmt *got = fmt_by_fourcc(q, fourcc);
    char fc[5];
    fourcc_str(fourcc, fc);
    if (got == NULL || gw == 0 || gh == 0 || gw > V4L2_MAX_SIDE || gh > V4L2_MAX_SIDE) {
        LOG_ERROR("v4l2 source: %s: asked %ux%u %s, the driver granted %ux%u %s, which this "
                  "source cannot read",
                  q->path, w, h, want->name, gw, gh, fc);
        return -EINVAL;
    }
    if (planes != got->planes) {
        LOG_ERROR("v4l2 source: %s: the driver granted %s with num_planes %u; this source "
                  "reads it in %u",
                  q->path, got->name, planes, got->planes);
        return -EINVAL;
    }
    q->fmt = got;
    q->width = gw;
    q->height = gh;
    if (gw != w || gh != h || got != want) {
        LOG_WARN("v4l2 source: %s: asked %ux%u %s, the driver granted %ux%u %s", q->path, w, h,
                 want->name, gw, gh, got->name);
    } else {
        LOG_INFO("v4l2 source: %s: %ux%u %s", q->path, gw, gh, got->name);
    }
    raw_layout(q, bpl);
    return 0;
}

/* QUERYBUF of buffer i, each of its planes mapped, then QBUF. 0 or -errno (logged). */
static int map_one(struct mjd_v4l2_bufs *q, unsigned i)
{
    unsigned np = nplanes(q);
    struct v4l2_plane pl[MJD_V4L2_MAX_PLANES];
    struct v4l2_buffer b;
    memset(pl, 0, sizeof(pl));
    memset(&b, 0, sizeof(b));
    b.type = mjd_v4l2_bufs_type(q);
    b.memory = V4L2_MEMORY_MMAP;
    b.index = i;
    if (q->mplane) {
        b.m.planes = pl;
        b.length = np; // the elements of pl the driver may fill
    }
    if (mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_QUERYBUF, &b) != 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: %s: VIDIOC_QUERYBUF %u: %s", q->path, i, strerror(e));
        return -e;
    }
    if (q->mplane && b.length != np) {
        LOG_ERROR("v4l2 source: %s: buffer %u has %u planes, %u expected", q->path, i, b.length,
                  np);
        return -EINVAL;
    }
    for (unsigned p = 0; p < np; p++) {
        size_t len = q->mplane ? pl[p].length : b.length;
        off_t off = (off_t)(q->mplane ? pl[p].m.mem_offset : b.m.offset);
        if (len == 0) {
            LOG_ERROR("v4l2 source: %s: buffer %u plane %u has length 0", q->path, i, p);
            return -EINVAL;
        }
        void *m = q->ops->mmap(q->ops->ctx, len, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, off);
        if (m == MAP_FAILED) {
            int e = errno;
            LOG_ERROR("v4l2 source: %s: mmap of buffer %u plane %u: %s", q->path, i, p,
                      strerror(e));
            return -e;
        }
        q->maps[i][p].start = m;
        q->maps[i][p].length = len;
    }
    if (mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_QBUF, &b) != 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: %s: VIDIOC_QBUF %u: %s", q->path, i, strerror(e));
        return -e;
    }
    return 0;
}

int mjd_v4l2_bufs_map(struct mjd_v4l2_bufs *q)
{
    struct v4l2_requestbuffers rb = { .count = V4L2_WANT_BUFS,
                                      .type = mjd_v4l2_bufs_type(q),
                                      .memory = V4L2_MEMORY_MMAP };
    if (mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_REQBUFS, &rb) != 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: %s: VIDIOC_REQBUFS (mmap): %s", q->path, strerror(e));
        return -e;
    }
    q->reqbufs = true;
    if (rb.count < 2 || rb.count > MJD_V4L2_MAX_BUFS) {
        LOG_ERROR("v4l2 source: %s: the driver gave %u buffers (2..%d needed)", q->path, rb.count,
                  MJD_V4L2_MAX_BUFS);
        return -ENOMEM;
    }
    q->nbufs = rb.count;
    for (unsigned i = 0; i < rb.count; i++) {
        int rc = map_one(q, i);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

size_t mjd_v4l2_bufs_biggest(const struct mjd_v4l2_bufs *q)
{
    size_t biggest = 0;
    for (unsigned i = 0; i < q->nbufs; i++) {
        biggest = q->maps[i][0].length > biggest ? q->maps[i][0].length : biggest;
    }
    return biggest;
}

int mjd_v4l2_bufs_start(struct mjd_v4l2_bufs *q)
{
    int type = (int)mjd_v4l2_bufs_type(q);
    if (mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_STREAMON, &type) != 0) {
        int e = errno;
        LOG_ERROR("v4l2 source: %s: VIDIOC_STREAMON: %s", q->path, strerror(e));
        return -e;
    }
    q->streaming = true;
    return 0;
}

void mjd_v4l2_bufs_release(struct mjd_v4l2_bufs *q)
{
    if (q->streaming) {
        int type = (int)mjd_v4l2_bufs_type(q);
        (void)mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_STREAMOFF, &type);
        q->streaming = false;
    }
    for (unsigned i = 0; i < q->nbufs; i++) {
        for (unsigned p = 0; p < MJD_V4L2_MAX_PLANES; p++) {
            struct mjd_v4l2_map *m = &q->maps[i][p];
            if (m->start != MAP_FAILED) {
                (void)q->ops->munmap(q->ops->ctx, m->start, m->length);
                m->start = MAP_FAILED;
            }
        }
    }
    q->nbufs = 0;
    if (q->reqbufs) {
        struct v4l2_requestbuffers rb = { .count = 0,
                                          .type = mjd_v4l2_bufs_type(q),
                                          .memory = V4L2_MEMORY_MMAP };
        (void)mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_REQBUFS, &rb);
        q->reqbufs = false;
    }
}

/* dq's v4l2_buffer as QBUF/DQBUF take it: type, memory and (multi-planar) its planes. */
static void frame_dq(const struct mjd_v4l2_bufs *q, struct mjd_v4l2_dq *dq)
{
    dq->b.type = mjd_v4l2_bufs_type(q);
    dq->b.memory = V4L2_MEMORY_MMAP;
    if (q->mplane) {
        dq->b.m.planes = dq->planes;
        dq->b.length = nplanes(q);
    }
}

int mjd_v4l2_bufs_dequeue(struct mjd_v4l2_bufs *q, struct mjd_v4l2_dq *dq)
{
    memset(dq, 0, sizeof(*dq));
    frame_dq(q, dq);
    return mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_DQBUF, &dq->b);
}

bool mjd_v4l2_bufs_payload(const struct mjd_v4l2_bufs *q, struct mjd_v4l2_dq *dq)
{
    if (dq->b.flags & V4L2_BUF_FLAG_ERROR) {
        return false;
    }
    const struct mjd_v4l2_map *m = q->maps[dq->b.index];
    if (!q->mplane) {
        if (dq->b.bytesused == 0 || dq->b.bytesused > m[0].length) {
            return false;
        }
        dq->data[0] = m[0].start;
        dq->used[0] = dq->b.bytesused;
        return true;
    }
    for (unsigned p = 0; p < nplanes(q); p++) {
        const struct v4l2_plane *pl = &dq->planes[p];
        // data_offset bytes (a header) come first and are counted in bytesused.
        if (pl->bytesused == 0 || pl->bytesused > m[p].length || pl->data_offset >= pl->bytesused) {
            return false;
        }
        dq->data[p] = (const unsigned char *)m[p].start + pl->data_offset;
        dq->used[p] = pl->bytesused - pl->data_offset;
    }
    return true;
}

int mjd_v4l2_bufs_requeue(struct mjd_v4l2_bufs *q, struct mjd_v4l2_dq *dq)
{
    frame_dq(q, dq);
    return mjd_v4l2_xioctl(q->ops, q->fd, VIDIOC_QBUF, &dq->b);
}

// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the v4l2 source over the fake device (tests/unit/mjpegd/fake_v4l2.c), the
 * input choosing every answer the driver gives: the API (single- or multi-planar), the formats
 * it lists, what S_FMT grants (sizes, format, bytesperline, sizeimage, the number of planes),
 * the buffer count and lengths, and each DQBUF (payload, split between two planes for
 * multi-planar, bytesused short, zero or past the buffer, a data_offset, the error flag, a
 * failing errno, an index the source did not map, a timestamp on any clock). Properties: no
 * crash, out-of-bounds access or undefined behaviour (ASan, UBSan), every buffer the source
 * dequeues goes back to the driver, a frame is published only from a buffer that was valid
 * (bytesused in 1..length and past data_offset in every plane, no error flag) and is itself
 * valid (a complete JPEG with DHT, or YUV420P of exactly the granted size), and destroy gives
 * back every mapping and the fd.
 */
#include <errno.h>
#include <linux/videodev2.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/sources/jpeg.h"
#include "mjpegd/sources/pixconv.h"
#include "mjpegd/sources/source.h"
#include "mjpegd/sources/v4l2_ops.h"

#include "../unit/mjpegd/fake_v4l2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BUF_LEN   ((size_t)1 << 21) /* a buffer the fuzzer's device allocates, at most */
#define MAX_FRAME_CAP ((size_t)1 << 22) /* the frame buffer the harness gives the source */

/* The input, read front to back; zeros once it runs out. */
struct in {
    const uint8_t *p;
    size_t n;
};

static unsigned u8(struct in *in)
{
    if (in->n == 0) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

static unsigned u16(struct in *in)
{
    unsigned a = u8(in);
    return a | (u8(in) << 8);
}

static uint32_t u32(struct in *in)
{
    uint32_t a = u16(in);
    return a | ((uint32_t)u16(in) << 16);
}

static const uint32_t fourccs[] = {
    V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12,
    V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_H264, V4L2_PIX_FMT_UYVY, 0, /* 0: NV12M if multi-planar */
};
static const int dq_errnos[] = { EAGAIN, EIO, ENODEV, EINVAL };

/* What the input says S_FMT and DQBUF answer on top of the fake; owned by one input. */
struct lie {
    struct fake_v4l2 dev;
    struct mjd_v4l2_ops fake;
    /* S_FMT: bit 0 width/height, 1 bytesperline, 2 sizeimage, 3 pixelformat replaced; 4 caps
     * from the input, 5 poll errors, 6 the multi-planar API, 7 num_planes replaced. */
    unsigned fmt_mask;
    unsigned fmt_planes; /* multi-planar: the num_planes S_FMT reports (bit 7) */
    uint32_t fmt_bpl1;   /* multi-planar: the second plane's bytesperline (bit 1) */
    unsigned fmt_w, fmt_h;
    uint32_t fmt_bpl, fmt_sizeimage, fmt_fourcc;
    uint32_t querybuf_extra; /* added to QUERYBUF's length (mmap then refuses) */
    uint32_t bad_index[16];  /* per DQBUF: nonzero: the index reported instead, minus 1 */
    bool stamp[16];          /* per DQBUF: report this timestamp (CLOCK_MONOTONIC) */
    int64_t stamp_sec[16];
    int64_t stamp_usec[16];
    unsigned ndq; /* DQBUFs answered */
    /* The last buffer DQBUF handed out, checked against what the source published. */
    bool last_valid;
};

/* The buffers the device handed out and did not get back. */
static unsigned out_bufs(const struct lie *l)
{
    unsigned n = 0;
    for (unsigned i = 0; i < l->dev.nbufs; i++) {
        n += !l->dev.queued[i];
    }
    return n;
}

static int lie_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
    struct lie *l = ctx;
    int rc = l->fake.ioctl(l->fake.ctx, fd, request, arg);
    if (rc != 0) {
        return rc;
    }
    if (request == VIDIOC_S_FMT && l->dev.mplane) {
        struct v4l2_pix_format_mplane *mp = &((struct v4l2_format *)arg)->fmt.pix_mp;
        if (l->fmt_mask & 1) {
            mp->width = l->fmt_w;
            mp->height = l->fmt_h;
        }
        if (l->fmt_mask & 2) {
            mp->plane_fmt[0].bytesperline = l->fmt_bpl;
            mp->plane_fmt[1].bytesperline = l->fmt_bpl1;
        }
        if (l->fmt_mask & 4) {
            mp->plane_fmt[0].sizeimage = l->fmt_sizeimage;
        }
        if (l->fmt_mask & 8) {
            mp->pixelformat = l->fmt_fourcc;
        }
        if (l->fmt_mask & 0x80) {
            mp->num_planes = (uint8_t)l->fmt_planes;
        }
        uint32_t si = mp->plane_fmt[0].sizeimage;
        l->dev.sizeimage = si == 0 ? 1 : si < MAX_BUF_LEN ? si : (unsigned)MAX_BUF_LEN;
        uint32_t si1 = mp->plane_fmt[1].sizeimage;
        l->dev.sizeimage1 = si1 == 0 ? 1 : si1 < MAX_BUF_LEN ? si1 : (unsigned)MAX_BUF_LEN;
    } else if (request == VIDIOC_S_FMT) {
        struct v4l2_pix_format *p = &((struct v4l2_format *)arg)->fmt.pix;
        if (l->fmt_mask & 1) {
            p->width = l->fmt_w;
            p->height = l->fmt_h;
        }
        if (l->fmt_mask & 2) {
            p->bytesperline = l->fmt_bpl;
        }
        if (l->fmt_mask & 4) {
            p->sizeimage = l->fmt_sizeimage;
        }
        if (l->fmt_mask & 8) {
            p->pixelformat = l->fmt_fourcc;
        }
        // The fake sizes its buffers from sizeimage: keep them allocatable.
        l->dev.sizeimage = p->sizeimage < MAX_BUF_LEN ? p->sizeimage : (unsigned)MAX_BUF_LEN;
        if (l->dev.sizeimage == 0) {
            l->dev.sizeimage = 1;
        }
    } else if (request == VIDIOC_QUERYBUF) {
        struct v4l2_buffer *b = arg;
        if (l->dev.mplane) {
            b->m.planes[0].length += l->querybuf_extra;
        } else {
            b->length += l->querybuf_extra;
        }
    } else if (request == VIDIOC_DQBUF) {
        struct v4l2_buffer *b = arg;
        l->last_valid = !(b->flags & V4L2_BUF_FLAG_ERROR);
        if (l->dev.mplane) {
            for (unsigned p = 0; p < l->dev.nplanes; p++) {
                const struct v4l2_plane *pl = &b->m.planes[p];
                l->last_valid = l->last_valid && pl->bytesused > 0 && pl->bytesused <= pl->length &&
                                pl->data_offset < pl->bytesused;
            }
        } else {
            l->last_valid = l->last_valid && b->bytesused > 0 && b->bytesused <= b->length;
        }
        if (l->ndq < 16 && l->stamp[l->ndq]) {
            b->timestamp.tv_sec = (time_t)l->stamp_sec[l->ndq]; // any clock, also nonsense
            b->timestamp.tv_usec = (suseconds_t)l->stamp_usec[l->ndq];
            b->flags = (b->flags & ~(uint32_t)V4L2_BUF_FLAG_TIMESTAMP_MASK) |
                       V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
        }
        uint32_t bad = l->ndq < 16 ? l->bad_index[l->ndq] : 0;
        l->ndq++;
        if (bad != 0 && bad - 1 != b->index) {
            b->index = bad - 1; // the real buffer stays out; the source must not publish
            l->last_valid = false;
        }
    }
    return 0;
}

static int lie_open(void *ctx, const char *path, int flags)
{
    struct lie *l = ctx;
    return l->fake.open(l->fake.ctx, path, flags);
}
static int lie_close(void *ctx, int fd)
{
    struct lie *l = ctx;
    return l->fake.close(l->fake.ctx, fd);
}
static void *lie_mmap(void *ctx, size_t len, int prot, int flags, int fd, off_t offset)
{
    struct lie *l = ctx;
    return l->fake.mmap(l->fake.ctx, len, prot, flags, fd, offset);
}
static int lie_munmap(void *ctx, void *addr, size_t len)
{
    struct lie *l = ctx;
    return l->fake.munmap(l->fake.ctx, addr, len);
}
static int lie_poll(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    struct lie *l = ctx;
    return l->fake.poll(l->fake.ctx, fds, nfds, timeout_ms);
}

/* What DQBUF reports as a plane's bytesused for a payload of len, by mode (2 bits). */
static long pick_bytesused(unsigned mode, size_t len, uint32_t extra)
{
    switch (mode) {
    case 0:
        return -1; // the payload's length (and the data_offset before it)
    case 1:
        return 0;
    case 2:
        return (long)len + (long)(extra & 0xffff); // past the payload
    default:
        return (long)extra; // anything, also past the buffer
    }
}

/* A published frame must be valid; abort() otherwise. */
static void check_frame(const struct mjd_source_info *info, const struct mjd_raw_frame *fr)
{
    if (fr->len == 0 || fr->len > fr->cap || fr->format != info->format || fr->width == 0 ||
        fr->height == 0) {
        abort();
    }
    if (fr->format == MJD_PIX_JPEG) {
        struct mjd_jpeg_info ji;
        if (mjd_jpeg_check(fr->data, fr->len, &ji) != 0 || ji.len != fr->len || !ji.has_dht) {
            abort();
        }
    } else if (fr->width != info->width || fr->height != info->height ||
               fr->len != mjd_pixconv_yuv420p_size(fr->width, fr->height)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    core_log_set_level((enum core_log_level) - 1); // every failure is expected here: keep quiet
    struct in in = { data, size };
    struct lie *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return 0;
    }
    fake_v4l2_init(&l->dev);
    struct mjd_v4l2_ops ops = { .ctx = l,
                                .open = lie_open,
                                .close = lie_close,
                                .ioctl = lie_ioctl,
                                .mmap = lie_mmap,
                                .munmap = lie_munmap,
                                .poll = lie_poll };

    // The device.
    l->dev.nformats = u8(&in) % 9;
    for (unsigned i = 0; i < l->dev.nformats; i++) {
        l->dev.formats[i] = fourccs[u8(&in) % (sizeof(fourccs) / sizeof(fourccs[0]))];
    }
    l->dev.max_w = 1 + u16(&in) % 1024;
    l->dev.max_h = 1 + u16(&in) % 1024;
    l->dev.pad_stride = u8(&in);
    l->dev.grant_bufs = u8(&in) % 40;
    l->dev.buf_len = u32(&in) % (MAX_BUF_LEN + 1);
    l->fmt_mask = u8(&in);
    l->fmt_w = u16(&in);
    l->fmt_h = u16(&in);
    l->fmt_bpl = u32(&in);
    l->fmt_sizeimage = u32(&in);
    l->fmt_fourcc = fourccs[u8(&in) % (sizeof(fourccs) / sizeof(fourccs[0]))];
    l->querybuf_extra = (u8(&in) & 0x80) ? u16(&in) : 0;
    if (l->fmt_mask & 0x40) { // the multi-planar API, its own fields after the others
        unsigned nformats = l->dev.nformats;
        uint32_t formats[8];
        memcpy(formats, l->dev.formats, sizeof(formats));
        unsigned max_w = l->dev.max_w, max_h = l->dev.max_h, pad = l->dev.pad_stride;
        unsigned grant = l->dev.grant_bufs;
        size_t buf_len = l->dev.buf_len;
        fake_v4l2_init_mplane(&l->dev);
        l->dev.nformats = nformats;
        for (unsigned i = 0; i < nformats; i++) { // the table's 0 stands for NV12M here
            l->dev.formats[i] = formats[i] != 0 ? formats[i] : V4L2_PIX_FMT_NV12M;
        }
        l->fmt_fourcc = l->fmt_fourcc != 0 ? l->fmt_fourcc : V4L2_PIX_FMT_NV12M;
        l->dev.max_w = max_w;
        l->dev.max_h = max_h;
        l->dev.pad_stride = pad;
        l->dev.grant_bufs = grant;
        l->dev.buf_len = buf_len;
        l->dev.data_offset = u16(&in) % 8192;
        l->fmt_planes = u8(&in) % 4;
        l->fmt_bpl1 = u32(&in);
    }
    l->fake = fake_v4l2_ops(&l->dev);
    if (l->fmt_mask & 0x10) {
        l->dev.caps = u32(&in);
    }
    l->dev.poll_err = (l->fmt_mask & 0x20) != 0;

    struct mjd_source_params p = {
        .width = 1 + u16(&in) % 2048,
        .height = 1 + u16(&in) % 2048,
        .fps = u8(&in),
        .format = u8(&in) % 5,
        .flip = u8(&in) & 3,
    };

    // The frames: a header byte, then a payload of the rest of the input split among them.
    unsigned nframes = 1 + u8(&in) % 16;
    struct {
        unsigned head;
        uint32_t extra;
        unsigned mp_head; /* multi-planar: bits 0-1 the second plane's bytesused, as head's 2-3 */
        unsigned split;   /* multi-planar: the first plane's share of the payload */
    } spec[16];
    for (unsigned i = 0; i < nframes; i++) {
        spec[i].head = u8(&in);
        spec[i].extra = (spec[i].head & 0x0c) == 0x0c ? u32(&in) : u16(&in);
        spec[i].mp_head = l->dev.mplane ? u8(&in) : 0;
        spec[i].split = l->dev.mplane ? u16(&in) : 0;
        l->bad_index[i] = (spec[i].head & 0x40) ? 1 + (spec[i].extra >> 8) % 40 : 0;
        if (spec[i].head & 0x80) {
            l->stamp[i] = true;
            l->stamp_sec[i] = (int64_t)((uint64_t)u32(&in) | (uint64_t)u32(&in) << 32);
            l->stamp_usec[i] = (int64_t)((uint64_t)u32(&in) | (uint64_t)u32(&in) << 32);
        }
    }
    for (unsigned i = 0; i < nframes; i++) {
        size_t len = i + 1 == nframes ? in.n : u16(&in);
        len = len < in.n ? len : in.n;
        long bytesused = pick_bytesused((spec[i].head >> 2) & 3, len, spec[i].extra);
        uint32_t flags = (spec[i].head & 1) ? V4L2_BUF_FLAG_ERROR : 0;
        int e = (spec[i].head & 2) ? dq_errnos[(spec[i].head >> 4) & 3] : 0;
        size_t len0 = l->dev.mplane && spec[i].split < len ? spec[i].split : len;
        fake_v4l2_push(&l->dev, in.p, len0, bytesused, flags, e);
        if (l->dev.mplane) {
            struct fake_v4l2_frame *fr = &l->dev.frames[l->dev.nframes - 1];
            fr->data1 = in.p + len0;
            fr->len1 = len - len0;
            fr->bytesused1 = pick_bytesused(spec[i].mp_head & 3, fr->len1, spec[i].extra);
        }
        in.p += len;
        in.n -= len;
    }

    struct mjd_source *src = NULL;
    if (mjd_v4l2_create(&src, "/dev/video0", &p, &ops) == 0) {
        const struct mjd_source_info *info = mjd_source_get_info(src);
        struct mjd_raw_frame fr = { 0 };
        fr.cap = info->max_frame_bytes < MAX_FRAME_CAP ? info->max_frame_bytes : MAX_FRAME_CAP;
        fr.data = malloc(fr.cap);
        uint64_t published = 0;
        for (unsigned i = 0; fr.data != NULL && i < nframes + 2; i++) {
            fr.len = 0;
            l->last_valid = false;
            unsigned before = l->ndq;
            int rc = mjd_source_read(src, &fr, core_now_ns());
            if (rc == 0) {
                if (l->ndq != before + 1 || !l->last_valid) {
                    abort(); // published from a buffer the driver said was bad
                }
                check_frame(info, &fr);
                published++;
            }
            bool lied = before < 16 && l->bad_index[before] != 0;
            unsigned out = out_bufs(l);
            if (out != 0 && !lied && l->ndq == before + 1) {
                abort(); // a good buffer was dequeued and not given back
            }
            if (out != 0) {
                break; // the source gave up on the device (it would be reopened)
            }
        }
        struct mjd_v4l2_stats st;
        mjd_v4l2_get_stats(src, &st);
        if (st.frames != published) {
            abort();
        }
        free(fr.data);
        mjd_source_destroy(src);
    }
    if (l->dev.opens != l->dev.closes || l->dev.maps != l->dev.unmaps) {
        abort(); // an fd or a mapping leaked
    }
    fake_v4l2_release(&l->dev);
    free(l);
    return 0;
}

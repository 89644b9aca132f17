// SPDX-License-Identifier: MIT
/* Unit tests for the v4l2 source over the multi-planar API, against the fake device in its
 * mplane mode (fake_v4l2.c: every buffer ioctl of the single-planar type is refused there). */
#include "../testlib.h"

#include <errno.h>
#include <linux/videodev2.h>
#include <turbojpeg.h>

#include "core/compiler.h"
#include "mjpegd/sources/jpeg.h"
#include "mjpegd/sources/pixconv.h"
#include "mjpegd/sources/source.h"
#include "mjpegd/sources/v4l2_ops.h"

#include "fake_v4l2.h"
#include "v4l2_rig.h"

TEST(v4l2_mplane_only_device_streams_mjpeg)
{
    struct rig r;
    rig_init_mplane(&r);
    r.dev.data_offset = 64; // a header before the picture, counted in bytesused
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(320, 240, &len);
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    fake_v4l2_push(&r.dev, j, len, 64 + (long)len + 300, 0, 0); // padded after EOI: trimmed
    struct mjd_source_params p = rig_params(320, 240, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    const struct mjd_source_info *info = mjd_source_get_info(r.src);
    ASSERT_EQ_INT(info->format, MJD_PIX_JPEG);
    ASSERT_EQ_INT(info->width, 320);
    ASSERT_EQ_INT(info->height, 240);
    ASSERT_EQ_INT(r.dev.fmt, V4L2_PIX_FMT_MJPEG);
    ASSERT_EQ_INT(r.dev.nplanes, 1);
    ASSERT_EQ_INT(r.dev.nbufs, 4);
    ASSERT_EQ_INT(r.dev.maps, 4);
    ASSERT_EQ_INT(r.dev.streamons, 1);
    ASSERT_EQ_INT(r.dev.fps_den, 30); // S_PARM with the multi-planar type
    // The whole plane (its data_offset included) can hold a JPEG.
    ASSERT_EQ_U64(info->max_frame_bytes, r.dev.len[0][0] + MJD_JPEG_STD_DHT_BYTES);
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(rig_read(&r));
        ASSERT_EQ_U64(r.frame.len, len);
        ASSERT_EQ_MEM(r.frame.data, j, len);
    }
    ASSERT_EQ_U64(rig_stats(&r).frames, 2);
    for (unsigned i = 0; i < r.dev.nbufs; i++) {
        ASSERT_TRUE(r.dev.queued[i]);
    }
    rig_done(&r);
    tjFree(j);
}

TEST(v4l2_mplane_caps_without_device_caps_and_single_planar_preferred)
{
    // An old driver: the capabilities field only.
    struct rig r;
    rig_init_mplane(&r);
    r.dev.no_device_caps = true;
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(r.dev.streamons, 1);
    rig_done(&r);

    // A device with both APIs is read through the single-planar one (the fake refuses the
    // multi-planar type when mplane is off).
    rig_init(&r);
    r.dev.caps |= V4L2_CAP_VIDEO_CAPTURE_MPLANE;
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(r.dev.streamons, 1);
    rig_done(&r);

    // Neither capture API: refused.
    rig_init_mplane(&r);
    r.dev.caps = V4L2_CAP_VIDEO_OUTPUT_MPLANE | V4L2_CAP_STREAMING;
    ASSERT_EQ_INT(rig_open(&r, &p), -ENOTSUP);
    ASSERT_NULL(r.src);
    ASSERT_EQ_INT(r.dev.closes, 1);
    rig_done(&r);
}

/* One frame of a single-plane raw format over the multi-planar API, checked against pixconv
 * on the bytes past data_offset. */
static void check_single_plane(uint32_t fourcc, unsigned format, unsigned w, unsigned h,
                               unsigned pad, unsigned offset)
{
    struct rig r;
    rig_init_mplane(&r);
    r.dev.formats[0] = fourcc;
    r.dev.nformats = 1;
    r.dev.pad_stride = pad;
    r.dev.data_offset = offset;
    struct mjd_source_params p = rig_params(w, h, format);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(mjd_source_get_info(r.src)->format, MJD_PIX_YUV420P);
    ASSERT_EQ_INT(r.dev.nplanes, 1);
    unsigned char *raw = rig_make_raw(r.dev.sizeimage, fourcc);
    fake_v4l2_push(&r.dev, raw, r.dev.sizeimage, -1, 0, 0);
    ASSERT_OK(rig_read(&r));
    size_t n = mjd_pixconv_yuv420p_size(w, h);
    ASSERT_EQ_U64(r.frame.len, n);
    ASSERT_EQ_INT(r.frame.width, w);
    ASSERT_EQ_INT(r.frame.height, h);
    unsigned char *want = rig_expected_yuv420p(&r, fourcc, raw, w, h);
    ASSERT_NOT_NULL(want);
    ASSERT_EQ_MEM(r.frame.data, want, n);
    free(want);
    free(raw);
    rig_done(&r);
}

TEST(v4l2_mplane_single_plane_raw_formats_converted)
{
    check_single_plane(V4L2_PIX_FMT_YUYV, MJD_CAPTURE_AUTO, 64, 48, 0, 0);
    check_single_plane(V4L2_PIX_FMT_YUYV, MJD_CAPTURE_YUYV, 62, 30, 36, 128);
    check_single_plane(V4L2_PIX_FMT_NV12, MJD_CAPTURE_NV12, 66, 34, 6, 4096);
    check_single_plane(V4L2_PIX_FMT_RGB24, MJD_CAPTURE_RGB24, 40, 30, 8, 7);
}

/* An NV12M camera of w x h (lines padded by pad, data offset bytes in) with one frame. */
static void open_nv12m(struct rig *r, unsigned w, unsigned h, unsigned pad, unsigned offset,
                       unsigned char **y, unsigned char **uv)
{
    rig_init_mplane(r);
    r->dev.formats[0] = V4L2_PIX_FMT_H264; // not read: skipped
    r->dev.formats[1] = V4L2_PIX_FMT_NV12M;
    r->dev.nformats = 2;
    r->dev.pad_stride = pad;
    r->dev.data_offset = offset;
    struct mjd_source_params p = rig_params(w, h, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(r, &p));
    ASSERT_EQ_INT(r->dev.fmt, V4L2_PIX_FMT_NV12M);
    ASSERT_EQ_INT(r->dev.nplanes, 2);
    *y = rig_make_raw(r->dev.sizeimage, 1);
    *uv = rig_make_raw(r->dev.sizeimage1, 2);
}

/* Queues a frame of NV12M planes y and uv (of the granted sizes) with the given bytesused
 * (-1: the data offset and the plane) and flags. */
static void push_nv12m(struct rig *r, const unsigned char *y, const unsigned char *uv, long used0,
                       long used1, uint32_t flags)
{
    fake_v4l2_push(&r->dev, y, r->dev.sizeimage, used0, flags, 0);
    struct fake_v4l2_frame *fr = &r->dev.frames[r->dev.nframes - 1];
    fr->data1 = uv;
    fr->len1 = r->dev.sizeimage1;
    fr->bytesused1 = used1;
}

/* What NV12M planes y and uv of r's layout convert to: NV12 of the same bytes laid end to
 * end (the source's NV12M path and the NV12 converter must agree). */
static unsigned char *expected_nv12m(const struct rig *r, const unsigned char *y,
                                     const unsigned char *uv, unsigned w, unsigned h)
{
    ASSERT_EQ_INT(r->dev.bpl1, r->dev.bpl); // the fake pads both planes alike, as NV12M says
    unsigned char *nv12 = malloc((size_t)r->dev.sizeimage + r->dev.sizeimage1);
    ASSERT_NOT_NULL(nv12);
    memcpy(nv12, y, r->dev.sizeimage);
    memcpy(nv12 + r->dev.sizeimage, uv, r->dev.sizeimage1);
    unsigned char *want = malloc(mjd_pixconv_yuv420p_size(w, h));
    ASSERT_NOT_NULL(want);
    mjd_pixconv_nv12(nv12, r->dev.bpl, w, h, want);
    free(nv12);
    return want;
}

TEST(v4l2_mplane_nv12m_two_planes_converted)
{
    static const unsigned cases[][4] = {
        { 64, 48, 0, 0 },    // tight
        { 66, 34, 30, 256 }, // padded lines, data past an offset in both planes
        { 15, 7, 1, 3 },     // odd: the chroma lines end with a whole U V pair
    };
    for (size_t c = 0; c < CORE_ARRAY_SIZE(cases); c++) {
        unsigned w = cases[c][0];
        unsigned h = cases[c][1];
        struct rig r;
        unsigned char *y = NULL;
        unsigned char *uv = NULL;
        open_nv12m(&r, w, h, cases[c][2], cases[c][3], &y, &uv);
        ASSERT_EQ_U64(mjd_source_get_info(r.src)->max_frame_bytes, mjd_pixconv_yuv420p_size(w, h));
        ASSERT_EQ_INT(r.dev.maps, 8); // two planes of each of 4 buffers
        push_nv12m(&r, y, uv, -1, -1, 0);
        ASSERT_OK(rig_read(&r));
        size_t n = mjd_pixconv_yuv420p_size(w, h);
        ASSERT_EQ_U64(r.frame.len, n);
        ASSERT_EQ_INT(r.frame.format, MJD_PIX_YUV420P);
        unsigned char *want = expected_nv12m(&r, y, uv, w, h);
        ASSERT_EQ_MEM(r.frame.data, want, n);
        unsigned char *direct = malloc(n);
        ASSERT_NOT_NULL(direct);
        mjd_pixconv_nv12m(y, r.dev.bpl, uv, r.dev.bpl1, w, h, direct);
        ASSERT_EQ_MEM(direct, want, n);
        free(direct);
        free(want);
        free(y);
        free(uv);
        rig_done(&r);
    }
}

TEST(v4l2_mplane_bytesused_errors_dropped_safely)
{
    struct rig r;
    unsigned char *y = NULL;
    unsigned char *uv = NULL;
    const long off = 32;
    open_nv12m(&r, 32, 24, 8, (unsigned)off, &y, &uv);
    long full0 = off + (long)r.dev.sizeimage;
    long full1 = off + (long)r.dev.sizeimage1;
    push_nv12m(&r, y, uv, 0, -1, 0);                    // plane 0 empty
    push_nv12m(&r, y, uv, full0 + 1, -1, 0);            // plane 0 past its length
    push_nv12m(&r, y, uv, -1, off, 0);                  // plane 1 no data past its offset
    push_nv12m(&r, y, uv, -1, off - 1, 0);              // plane 1 bytesused below data_offset
    push_nv12m(&r, y, uv, -1, -1, V4L2_BUF_FLAG_ERROR); // flagged corrupt
    push_nv12m(&r, y, uv, full0 - 1, -1, 0);            // Y plane one byte short
    push_nv12m(&r, y, uv, -1, full1 - 1, 0);            // U V plane one byte short
    push_nv12m(&r, y, uv, -1, -1, 0);
    for (int i = 0; i < 7; i++) {
        ASSERT_EQ_INT(rig_read(&r), -EAGAIN);
    }
    struct mjd_v4l2_stats st = rig_stats(&r);
    ASSERT_EQ_U64(st.short_frames, 7);
    ASSERT_EQ_U64(st.frames, 0);
    for (unsigned i = 0; i < r.dev.nbufs; i++) {
        ASSERT_TRUE(r.dev.queued[i]); // every dropped buffer went back
    }
    ASSERT_OK(rig_read(&r));
    unsigned char *want = expected_nv12m(&r, y, uv, 32, 24);
    ASSERT_EQ_MEM(r.frame.data, want, mjd_pixconv_yuv420p_size(32, 24));
    free(want);
    free(y);
    free(uv);
    rig_done(&r);
}

TEST(v4l2_mplane_unsupported_formats_refused)
{
    // Only multi-planar formats this source does not read (YUV420M: three planes).
    struct rig r;
    rig_init_mplane(&r);
    r.dev.formats[0] = V4L2_PIX_FMT_YUV420M;
    r.dev.formats[1] = V4L2_PIX_FMT_NV21M;
    r.dev.nformats = 2;
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_EQ_INT(rig_open(&r, &p), -EINVAL);
    ASSERT_NULL(r.src);
    ASSERT_EQ_INT(r.dev.closes, 1);
    rig_done(&r);

    // NV12M listed by a single-planar device cannot be read there (one buffer a frame).
    rig_init(&r);
    r.dev.formats[0] = V4L2_PIX_FMT_NV12M;
    r.dev.nformats = 1;
    p.format = MJD_CAPTURE_NV12;
    ASSERT_EQ_INT(rig_open(&r, &p), -EINVAL);
    ASSERT_NULL(r.src);
    rig_done(&r);

    // S_FMT granting another number of planes than the format has.
    static const uint32_t lies[][2] = { { V4L2_PIX_FMT_NV12M, 1 }, { V4L2_PIX_FMT_YUYV, 2 } };
    for (size_t i = 0; i < CORE_ARRAY_SIZE(lies); i++) {
        rig_init_mplane(&r);
        r.dev.formats[0] = lies[i][0];
        r.dev.nformats = 1;
        r.dev.report_planes = lies[i][1];
        p.format = MJD_CAPTURE_AUTO;
        ASSERT_EQ_INT(rig_open(&r, &p), -EINVAL);
        ASSERT_NULL(r.src);
        ASSERT_EQ_INT(r.dev.nbufs, 0);
        ASSERT_EQ_INT(r.dev.closes, 1);
        rig_done(&r);
    }

    // --format nv12 takes NV12M on a multi-planar device.
    p.format = MJD_CAPTURE_NV12;
    rig_init_mplane(&r);
    r.dev.formats[0] = V4L2_PIX_FMT_NV12M;
    r.dev.nformats = 1;
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(r.dev.fmt, V4L2_PIX_FMT_NV12M);
    rig_done(&r);
}

TEST(v4l2_mplane_destroy_unmaps_every_plane)
{
    struct rig r;
    unsigned char *y = NULL;
    unsigned char *uv = NULL;
    open_nv12m(&r, 32, 24, 0, 0, &y, &uv);
    mjd_source_destroy(r.src);
    r.src = NULL;
    ASSERT_EQ_INT(r.dev.streamoffs, 1);
    ASSERT_EQ_INT(r.dev.maps, 8);
    ASSERT_EQ_INT(r.dev.unmaps, 8);
    ASSERT_EQ_INT(r.dev.nbufs, 0); // REQBUFS 0 with the multi-planar type
    ASSERT_EQ_INT(r.dev.closes, 1);
    free(y);
    free(uv);
    rig_done(&r);
}

TEST(v4l2_mplane_dqbuf_errors_are_failures)
{
    struct rig r;
    rig_init_mplane(&r);
    fake_v4l2_push(&r.dev, NULL, 0, -1, 0, ENODEV);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(rig_read(&r), -ENODEV);
    rig_done(&r);
}

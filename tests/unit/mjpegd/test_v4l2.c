// SPDX-License-Identifier: MIT
/* Unit tests for the v4l2 source, driven through its call table by a fake device (fake_v4l2.c). */
#include "../testlib.h"
#include "config_args.h"

#include <errno.h>
#include <linux/videodev2.h>
#include <turbojpeg.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "mjpegd/config.h"
#include "mjpegd/sources/jpeg.h"
#include "mjpegd/sources/pixconv.h"
#include "mjpegd/sources/source.h"
#include "mjpegd/sources/v4l2_ctrl.h"
#include "mjpegd/sources/v4l2_ops.h"

#include "fake_v4l2.h"
#include "v4l2_rig.h"

/* Copies in to out without its DHT segments (all before the first SOS in libjpeg output). */
static size_t strip_dht(const unsigned char *in, size_t len, unsigned char *out)
{
    size_t p = 2;
    size_t o = 2;
    memcpy(out, in, 2);
    while (p + 4 <= len && !(in[p] == 0xff && in[p + 1] == 0xda)) {
        size_t seg = 2 + (((size_t)in[p + 2] << 8) | in[p + 3]);
        if (in[p + 1] != 0xc4) {
            memcpy(out + o, in + p, seg);
            o += seg;
        }
        p += seg;
    }
    memcpy(out + o, in + p, len - p);
    return o + len - p;
}

static void decode(const unsigned char *jpeg, size_t len, unsigned w, unsigned h,
                   unsigned char *rgb)
{
    tjhandle tj = tjInitDecompress();
    ASSERT_NOT_NULL(tj);
    ASSERT_EQ_INT(tjDecompress2(tj, jpeg, (unsigned long)len, rgb, (int)w, 0, (int)h, TJPF_RGB, 0),
                  0);
    tjDestroy(tj);
}

TEST(v4l2_mjpeg_passthrough_byte_identical)
{
    struct rig r;
    rig_init(&r);
    // YUYV listed first: auto still prefers MJPEG.
    r.dev.formats[0] = V4L2_PIX_FMT_YUYV;
    r.dev.formats[1] = V4L2_PIX_FMT_MJPEG;
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(320, 240, &len);
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    // UVC drivers report the whole padded buffer: the zeros after EOI are trimmed.
    fake_v4l2_push(&r.dev, j, len, (long)len + 300, 0, 0);
    struct mjd_source_params p = rig_params(320, 240, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    const struct mjd_source_info *info = mjd_source_get_info(r.src);
    ASSERT_EQ_STR(info->kind, "v4l2");
    ASSERT_EQ_INT(info->format, MJD_PIX_JPEG);
    ASSERT_TRUE(info->self_paced);
    ASSERT_EQ_INT(info->width, 320);
    ASSERT_EQ_INT(info->height, 240);
    ASSERT_EQ_INT(r.dev.fmt, V4L2_PIX_FMT_MJPEG);
    ASSERT_EQ_INT(r.dev.nbufs, 4);
    ASSERT_EQ_INT(r.dev.maps, 4);
    ASSERT_EQ_INT(r.dev.streamons, 1);
    ASSERT_EQ_INT(r.dev.fps_den, 30);
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(rig_read(&r));
        ASSERT_EQ_INT(r.frame.format, MJD_PIX_JPEG);
        ASSERT_EQ_U64(r.frame.len, len);
        ASSERT_EQ_MEM(r.frame.data, j, len);
        ASSERT_EQ_INT(r.frame.width, 320);
        ASSERT_EQ_INT(r.frame.height, 240);
    }
    struct mjd_v4l2_stats st = rig_stats(&r);
    ASSERT_EQ_U64(st.frames, 2);
    ASSERT_EQ_U64(st.dht_inserted, 0);
    // Every buffer went back to the driver.
    for (unsigned i = 0; i < r.dev.nbufs; i++) {
        ASSERT_TRUE(r.dev.queued[i]);
    }
    rig_done(&r);
    tjFree(j);
}

TEST(v4l2_mjpeg_without_dht_gets_standard_tables)
{
    struct rig r;
    rig_init(&r);
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(160, 120, &len);
    unsigned char *bare = malloc(len);
    ASSERT_NOT_NULL(bare);
    size_t blen = strip_dht(j, len, bare);
    ASSERT_TRUE(blen < len);
    fake_v4l2_push(&r.dev, bare, blen, -1, 0, 0);
    struct mjd_source_params p = rig_params(160, 120, MJD_CAPTURE_MJPEG);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_U64(r.frame.len, blen + MJD_JPEG_STD_DHT_BYTES);
    struct mjd_jpeg_info ji;
    ASSERT_OK(mjd_jpeg_check(r.frame.data, r.frame.len, &ji));
    ASSERT_TRUE(ji.has_dht);
    // libjpeg-turbo's own tables are the standard ones: the same pixels come out.
    unsigned char *want = malloc(160 * 120 * 3);
    unsigned char *got = malloc(160 * 120 * 3);
    ASSERT_NOT_NULL(want);
    ASSERT_NOT_NULL(got);
    decode(j, len, 160, 120, want);
    decode(r.frame.data, r.frame.len, 160, 120, got);
    ASSERT_EQ_MEM(got, want, 160 * 120 * 3);
    ASSERT_EQ_U64(rig_stats(&r).dht_inserted, 1);
    free(want);
    free(got);
    free(bare);
    rig_done(&r);
    tjFree(j);
}

TEST(v4l2_incomplete_mjpeg_dropped_and_counted)
{
    struct rig r;
    rig_init(&r);
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(160, 120, &len);
    fake_v4l2_push(&r.dev, j, len / 2, -1, 0, 0);       // truncated: no EOI
    fake_v4l2_push(&r.dev, j + 10, len - 10, -1, 0, 0); // no SOI
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    struct mjd_source_params p = rig_params(160, 120, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(rig_read(&r), -EAGAIN);
    ASSERT_EQ_INT(rig_read(&r), -EAGAIN);
    ASSERT_EQ_U64(rig_stats(&r).incomplete, 2);
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_U64(r.frame.len, len);
    ASSERT_EQ_U64(rig_stats(&r).frames, 1);
    rig_done(&r);
    tjFree(j);
}

/* Reads one frame of fourcc at w x h (stride padded by pad) and checks it against pixconv. */
static void check_raw(uint32_t fourcc, unsigned format, unsigned w, unsigned h, unsigned pad)
{
    struct rig r;
    rig_init(&r);
    r.dev.formats[0] = fourcc;
    r.dev.nformats = 1;
    r.dev.pad_stride = pad;
    struct mjd_source_params p = rig_params(w, h, format);
    ASSERT_OK(rig_open(&r, &p));
    const struct mjd_source_info *info = mjd_source_get_info(r.src);
    ASSERT_EQ_INT(info->format, MJD_PIX_YUV420P);
    ASSERT_EQ_U64(info->max_frame_bytes, mjd_pixconv_yuv420p_size(w, h));
    unsigned char *raw = rig_make_raw(r.dev.sizeimage, 99);
    fake_v4l2_push(&r.dev, raw, r.dev.sizeimage, -1, 0, 0);
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_INT(r.frame.format, MJD_PIX_YUV420P);
    ASSERT_EQ_INT(r.frame.width, w);
    ASSERT_EQ_INT(r.frame.height, h);
    size_t n = mjd_pixconv_yuv420p_size(w, h);
    ASSERT_EQ_U64(r.frame.len, n);
    unsigned char *want = rig_expected_yuv420p(&r, fourcc, raw, w, h);
    ASSERT_NOT_NULL(want);
    ASSERT_EQ_MEM(r.frame.data, want, n);
    free(want);
    free(raw);
    rig_done(&r);
}

TEST(v4l2_raw_formats_converted_to_yuv420p)
{
    check_raw(V4L2_PIX_FMT_YUYV, MJD_CAPTURE_YUYV, 64, 48, 0);
    check_raw(V4L2_PIX_FMT_YUYV, MJD_CAPTURE_AUTO, 64, 48, 32); // padded lines
    check_raw(V4L2_PIX_FMT_NV12, MJD_CAPTURE_NV12, 66, 34, 6);
    check_raw(V4L2_PIX_FMT_RGB24, MJD_CAPTURE_RGB24, 40, 30, 8);
}

/* Fuzz finding (mjpegd_v4l2, corpus nv12_odd_width_unpadded): an odd-width NV12 frame whose
 * bytesperline is the width has chroma lines one byte short of their last U V pair; the source
 * took width as the minimum stride and read one byte past the buffer. */
TEST(v4l2_nv12_odd_width_needs_whole_chroma_pairs)
{
    struct rig r;
    rig_init(&r);
    r.dev.formats[0] = V4L2_PIX_FMT_NV12;
    r.dev.nformats = 1;
    struct mjd_source_params p = rig_params(15, 7, MJD_CAPTURE_NV12);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(r.dev.bpl, 15); // the fake reports the width: 15 x (7 + 4) bytes in all
    unsigned char *raw = rig_make_raw(r.dev.sizeimage, 99);
    fake_v4l2_push(&r.dev, raw, r.dev.sizeimage, -1, 0, 0);
    ASSERT_EQ_INT(rig_read(&r), -EAGAIN); // 16 bytes a line needed: dropped, not over-read
    ASSERT_EQ_U64(rig_stats(&r).short_frames, 1);
    ASSERT_EQ_U64(rig_stats(&r).frames, 0);
    free(raw);
    rig_done(&r);
    check_raw(V4L2_PIX_FMT_NV12, MJD_CAPTURE_NV12, 15, 7, 1); // 16 bytes a line: read
}

TEST(v4l2_granted_smaller_size_is_reported)
{
    struct rig r;
    rig_init(&r);
    r.dev.formats[0] = V4L2_PIX_FMT_YUYV;
    r.dev.nformats = 1;
    r.dev.max_w = 640;
    r.dev.max_h = 480;
    struct mjd_source_params p = rig_params(1280, 720, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    const struct mjd_source_info *info = mjd_source_get_info(r.src);
    ASSERT_EQ_INT(info->width, 640);
    ASSERT_EQ_INT(info->height, 480);
    ASSERT_EQ_U64(info->max_frame_bytes, mjd_pixconv_yuv420p_size(640, 480));
    unsigned char *raw = rig_make_raw(r.dev.sizeimage, 99);
    fake_v4l2_push(&r.dev, raw, r.dev.sizeimage, -1, 0, 0);
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_INT(r.frame.width, 640);
    ASSERT_EQ_INT(r.frame.height, 480);
    ASSERT_EQ_U64(r.frame.len, mjd_pixconv_yuv420p_size(640, 480));
    free(raw);
    rig_done(&r);
}

TEST(v4l2_s_parm_refusal_tolerated)
{
    struct rig r;
    rig_init(&r);
    r.dev.refuse_parm = true;
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(64, 48, &len);
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(r.dev.fps_den, 0);
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_U64(r.frame.len, len);
    rig_done(&r);
    tjFree(j);
}

TEST(v4l2_poll_timeout_is_eagain)
{
    struct rig r;
    rig_init(&r);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(rig_read(&r), -EAGAIN);
    // A deadline already past: no wait at all, still -EAGAIN.
    ASSERT_EQ_INT(mjd_source_read(r.src, &r.frame, core_now_ns() - CORE_NS_PER_SEC), -EAGAIN);
    // A deadline far away does not overflow the poll timeout (the fake returns at once).
    ASSERT_EQ_INT(mjd_source_read(r.src, &r.frame, INT64_MAX), -EAGAIN);
    rig_done(&r);
}

TEST(v4l2_dqbuf_errors_are_failures)
{
    struct rig r;
    rig_init(&r);
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(64, 48, &len);
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    fake_v4l2_push(&r.dev, NULL, 0, -1, 0, ENODEV); // unplugged
    fake_v4l2_push(&r.dev, NULL, 0, -1, 0, EIO);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_INT(rig_read(&r), -ENODEV);
    ASSERT_EQ_INT(rig_read(&r), -EIO);
    rig_done(&r);
    tjFree(j);
}

TEST(v4l2_poll_error_is_a_failure)
{
    struct rig r;
    rig_init(&r);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    r.dev.poll_err = true;
    ASSERT_EQ_INT(rig_read(&r), -EIO);
    rig_done(&r);
}

TEST(v4l2_unplugged_camera_reopens_after_destroy)
{
    // What the capture thread's retry does after ENODEV: destroy, then create again once the
    // device is back; the second open starts from a clean state.
    struct rig r;
    rig_init(&r);
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(64, 48, &len);
    fake_v4l2_push(&r.dev, NULL, 0, -1, 0, ENODEV);
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    size_t cap = mjd_source_get_info(r.src)->max_frame_bytes;
    ASSERT_EQ_INT(rig_read(&r), -ENODEV);
    mjd_source_destroy(r.src);
    r.src = NULL;
    ASSERT_EQ_INT(r.dev.closes, 1);
    ASSERT_EQ_INT(r.dev.nbufs, 0);
    ASSERT_OK(mjd_v4l2_create(&r.src, "/dev/video7", &p, &r.ops));
    // The same buffers as before: a reopen fits the capture thread's frames.
    ASSERT_EQ_U64(mjd_source_get_info(r.src)->max_frame_bytes, cap);
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_U64(r.frame.len, len);
    ASSERT_EQ_INT(r.dev.opens, 2);
    rig_done(&r);
    tjFree(j);
}

TEST(v4l2_camera_slower_than_asked_still_streams)
{
    struct rig r;
    rig_init(&r);
    r.dev.grant_fps = 5;
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(64, 48, &len);
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(r.dev.fps_den, 30);
    ASSERT_TRUE(mjd_source_get_info(r.src)->self_paced); // the camera's own rate rules
    ASSERT_OK(rig_read(&r));
    // No frame ready yet (the camera is slow): a timeout, not a failure.
    ASSERT_EQ_INT(rig_read(&r), -EAGAIN);
    rig_done(&r);
    tjFree(j);
}

TEST(v4l2_driver_timestamp_sets_capture_time)
{
    struct rig r;
    rig_init(&r);
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(64, 48, &len);
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    r.dev.frames[0].age_ns = 2 * CORE_NS_PER_SEC; // captured 2 s before the DQBUF
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);     // no timestamp: the capture thread's time kept
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    r.frame.wall_ns = core_wall_ns();
    int64_t before = r.frame.wall_ns;
    ASSERT_OK(rig_read(&r));
    ASSERT_CMP_INT(r.frame.wall_ns, <=, core_wall_ns() - 2 * CORE_NS_PER_SEC);
    ASSERT_CMP_INT(r.frame.wall_ns, >, before - 10 * CORE_NS_PER_SEC);
    r.frame.wall_ns = 12345;
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_INT(r.frame.wall_ns, 12345);
    rig_done(&r);
    tjFree(j);
}

/* Fuzz finding (mjpegd_v4l2, corpus mjpeg_timestamp_huge): a driver's timestamp with seconds
 * past what int64 nanoseconds hold overflowed tv_sec * 1e9 (UBSan: signed overflow). Here the
 * seconds are chosen so that the product wraps to 1 ms before now: before the fix the frame
 * got a capture time from that garbage; now the stamp is ignored. */
TEST(v4l2_driver_timestamp_out_of_range_ignored)
{
    struct rig r;
    rig_init(&r);
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(64, 48, &len);
    uint64_t inv = 1; // 1953125^-1 mod 2^64 (1e9 = 2^9 * 1953125), by Newton's iteration
    for (int i = 0; i < 6; i++) {
        inv *= 2 - 1953125u * inv;
    }
    uint64_t target = (uint64_t)(core_now_ns() - CORE_NS_PER_MS) & ~(uint64_t)511;
    uint64_t sec = (target >> 9) * inv;
    if (sec <= (uint64_t)(INT64_MAX / CORE_NS_PER_SEC)) {
        sec += (uint64_t)1 << 55; // 2^55 * 1e9 is 0 mod 2^64: same wrapped product, out of range
    }
    ASSERT_EQ_U64(sec * 1000000000u, target);
    const int64_t bad[][2] = {
        { (int64_t)sec, 0 }, { INT64_MAX, 0 }, { INT64_MIN, 0 }, { -1, 0 },
        { 5, 1000000 },      { 5, -1 },        { 5, INT64_MAX },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
        r.dev.frames[i].raw_stamp = true;
        r.dev.frames[i].stamp_sec = bad[i][0];
        r.dev.frames[i].stamp_usec = bad[i][1];
    }
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r.frame.wall_ns = 12345;
        ASSERT_OK(rig_read(&r));
        ASSERT_EQ_INT(r.frame.wall_ns, 12345);
    }
    rig_done(&r);
    tjFree(j);
}

TEST(v4l2_device_without_streaming_or_capture_refused)
{
    struct rig r;
    rig_init(&r);
    r.dev.caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE; // read() only, no mmap
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_EQ_INT(rig_open(&r, &p), -ENOTSUP);
    ASSERT_NULL(r.src);
    ASSERT_EQ_INT(r.dev.opens, 1);
    ASSERT_EQ_INT(r.dev.closes, 1);
    ASSERT_EQ_INT(r.dev.nbufs, 0);
    rig_done(&r);

    rig_init(&r);
    r.dev.caps = V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING; // a UVC metadata node
    ASSERT_EQ_INT(rig_open(&r, &p), -ENOTSUP);
    ASSERT_NULL(r.src);
    ASSERT_EQ_INT(r.dev.closes, 1);
    rig_done(&r);
}

TEST(v4l2_format_not_offered_refused)
{
    struct rig r;
    rig_init(&r);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_NV12);
    ASSERT_EQ_INT(rig_open(&r, &p), -EINVAL);
    ASSERT_NULL(r.src);
    ASSERT_EQ_INT(r.dev.closes, 1);
    rig_done(&r);

    rig_init(&r);
    r.dev.formats[0] = V4L2_PIX_FMT_H264;
    r.dev.nformats = 1;
    p.format = MJD_CAPTURE_AUTO;
    ASSERT_EQ_INT(rig_open(&r, &p), -EINVAL);
    ASSERT_NULL(r.src);
    rig_done(&r);
}

TEST(v4l2_short_buffers_dropped_safely)
{
    struct rig r;
    rig_init(&r);
    r.dev.buf_len = 70000;
    unsigned long len = 0;
    unsigned char *j = rig_make_jpeg(64, 48, &len);
    fake_v4l2_push(&r.dev, j, len, 70001, 0, 0);                // bytesused > length
    fake_v4l2_push(&r.dev, j, len, 0, 0, 0);                    // nothing
    fake_v4l2_push(&r.dev, j, len, -1, V4L2_BUF_FLAG_ERROR, 0); // flagged corrupt
    fake_v4l2_push(&r.dev, j, len, (long)len - 1, 0, 0);        // one byte short: no EOI
    fake_v4l2_push(&r.dev, j, len, -1, 0, 0);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_U64(mjd_source_get_info(r.src)->max_frame_bytes, 70000 + MJD_JPEG_STD_DHT_BYTES);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ_INT(rig_read(&r), -EAGAIN);
    }
    struct mjd_v4l2_stats st = rig_stats(&r);
    ASSERT_EQ_U64(st.short_frames, 3);
    ASSERT_EQ_U64(st.incomplete, 1);
    ASSERT_OK(rig_read(&r));
    ASSERT_EQ_U64(r.frame.len, len);
    rig_done(&r);
    tjFree(j);

    // A raw frame shorter than its format.
    rig_init(&r);
    r.dev.formats[0] = V4L2_PIX_FMT_YUYV;
    r.dev.nformats = 1;
    ASSERT_OK(rig_open(&r, &p));
    unsigned char *raw = rig_make_raw(r.dev.sizeimage, 99);
    fake_v4l2_push(&r.dev, raw, r.dev.sizeimage, (long)r.dev.sizeimage - 1, 0, 0);
    fake_v4l2_push(&r.dev, raw, r.dev.sizeimage, -1, 0, 0);
    ASSERT_EQ_INT(rig_read(&r), -EAGAIN);
    ASSERT_EQ_U64(rig_stats(&r).short_frames, 1);
    ASSERT_OK(rig_read(&r));
    free(raw);
    rig_done(&r);
}

TEST(v4l2_too_few_buffers_refused)
{
    struct rig r;
    rig_init(&r);
    r.dev.grant_bufs = 1;
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_EQ_INT(rig_open(&r, &p), -ENOMEM);
    ASSERT_NULL(r.src);
    ASSERT_EQ_INT(r.dev.nbufs, 0); // released with REQBUFS 0
    ASSERT_EQ_INT(r.dev.closes, 1);
    rig_done(&r);
}

TEST(v4l2_destroy_stops_unmaps_and_closes)
{
    struct rig r;
    rig_init(&r);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    ASSERT_OK(rig_open(&r, &p));
    mjd_source_destroy(r.src);
    r.src = NULL;
    ASSERT_EQ_INT(r.dev.streamoffs, 1);
    ASSERT_EQ_INT(r.dev.unmaps, 4);
    ASSERT_EQ_INT(r.dev.nbufs, 0);
    ASSERT_EQ_INT(r.dev.closes, 1);
    rig_done(&r);
}

TEST(v4l2_controls_and_flip_by_name)
{
    struct rig r;
    rig_init(&r);
    static const struct fake_v4l2_ctrl ctrls[] = {
        { V4L2_CID_BRIGHTNESS, "Brightness", 0, 255, 128, 0 },
        { V4L2_CID_WHITE_BALANCE_TEMPERATURE, "White Balance Temperature", 2800, 6500, 4000, 0 },
        { V4L2_CID_HFLIP, "Horizontal Flip", 0, 1, 0, 0 },
        { V4L2_CID_VFLIP, "Vertical Flip", 0, 1, 1, 0 },
        { V4L2_CID_EXPOSURE_ABSOLUTE, "Exposure Time, Absolute", 3, 2047, 250, 0 },
        { V4L2_CID_POWER_LINE_FREQUENCY, "Power Line Frequency", 0, 2, 2, 0 },
    };
    memcpy(r.dev.ctrls, ctrls, sizeof(ctrls));
    r.dev.nctrls = CORE_ARRAY_SIZE(ctrls);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    p.controls = "brightness=120,exposure_absolute=300,white_balance_temperature=9000,"
                 "no_such_control=1,Power_Line_Frequency=1";
    p.flip = MJD_FLIP_H;
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(r.dev.ctrls[0].value, 120);
    ASSERT_EQ_INT(r.dev.ctrls[1].value, 6500); // clamped to the driver's range
    ASSERT_EQ_INT(r.dev.ctrls[2].value, 1);
    ASSERT_EQ_INT(r.dev.ctrls[3].value, 0); // only h asked: v is turned off
    ASSERT_EQ_INT(r.dev.ctrls[4].value, 300);
    ASSERT_EQ_INT(r.dev.ctrls[5].value, 1);
    ASSERT_EQ_U64(rig_stats(&r).controls_set, 6);
    // The camera flips h itself: the capture thread does not flip it again in software.
    ASSERT_EQ_INT(mjd_source_get_info(r.src)->flip_done, MJD_FLIP_H);
    rig_done(&r);

    // A camera without flip controls or any control still streams; the flip is left to the
    // software path (flip_done 0).
    rig_init(&r);
    p.flip = MJD_FLIP_H | MJD_FLIP_V;
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_U64(rig_stats(&r).controls_set, 0);
    ASSERT_EQ_INT(mjd_source_get_info(r.src)->flip_done, 0);
    rig_done(&r);
}

TEST(v4l2_flip_reports_what_the_camera_took)
{
    struct rig r;
    rig_init(&r);
    // VFLIP only, and an HFLIP that cannot be 1 (a driver's 0..0): h goes to software.
    static const struct fake_v4l2_ctrl ctrls[] = {
        { V4L2_CID_HFLIP, "Horizontal Flip", 0, 0, 0, 0 },
        { V4L2_CID_VFLIP, "Vertical Flip", 0, 1, 0, 0 },
    };
    memcpy(r.dev.ctrls, ctrls, sizeof(ctrls));
    r.dev.nctrls = CORE_ARRAY_SIZE(ctrls);
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    p.flip = MJD_FLIP_H | MJD_FLIP_V;
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(mjd_source_get_info(r.src)->flip_done, MJD_FLIP_V);
    ASSERT_EQ_INT(r.dev.ctrls[0].sets, 0); // not set to a value it cannot take
    ASSERT_EQ_INT(r.dev.ctrls[1].value, 1);
    rig_done(&r);

    // No flip asked: nothing is done, by the camera or in software.
    rig_init(&r);
    memcpy(r.dev.ctrls, ctrls, sizeof(ctrls));
    r.dev.nctrls = CORE_ARRAY_SIZE(ctrls);
    p.flip = 0;
    ASSERT_OK(rig_open(&r, &p));
    ASSERT_EQ_INT(mjd_source_get_info(r.src)->flip_done, 0);
    ASSERT_EQ_INT(r.dev.ctrls[1].sets, 0);
    rig_done(&r);
}

TEST(v4l2_ctrl_key_normalises_names)
{
    char k[40];
    mjd_v4l2_ctrl_key("Exposure (Absolute)", k, sizeof(k));
    ASSERT_EQ_STR(k, "exposure_absolute");
    mjd_v4l2_ctrl_key("White Balance Temperature, Auto", k, sizeof(k));
    ASSERT_EQ_STR(k, "white_balance_temperature_auto");
    mjd_v4l2_ctrl_key("  Gain  ", k, sizeof(k));
    ASSERT_EQ_STR(k, "gain");
    mjd_v4l2_ctrl_key("Brightness", k, 5);
    ASSERT_EQ_STR(k, "brig");
}

TEST(v4l2_through_source_create)
{
    ASSERT_TRUE(mjd_source_known("v4l2:/dev/video0"));
    struct mjd_source_params p = rig_params(64, 48, MJD_CAPTURE_AUTO);
    struct mjd_source *src = NULL;
    char path[512];
    snprintf(path, sizeof(path), "v4l2:%s/no-such-video0", test_tmpdir());
    ASSERT_EQ_INT(mjd_source_create(&src, path, &p), -ENOENT);
    ASSERT_NULL(src);
    ASSERT_EQ_INT(mjd_source_create(&src, "v4l2:", &p), -EINVAL);
    // A file that is not a device: QUERYCAP fails (ENOTTY) and create says so.
    snprintf(path, sizeof(path), "%s/plain", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    char spec[600];
    snprintf(spec, sizeof(spec), "v4l2:%s", path);
    ASSERT_EQ_INT(mjd_source_create(&src, spec, &p), -ENOTTY);
    ASSERT_NULL(src);
}

static enum mjd_config_result parse(struct mjd_config *cfg, const char *const *args)
{
    return mjd_test_parse_args(cfg, args);
}

TEST(v4l2_options_format_control_flip)
{
    static struct mjd_config cfg;
    const char *const a[] = {
        "--control", "brightness=120", "--source",    "v4l2:/dev/video0", "--format",
        "yuyv",      "--control",      "contrast=-3", "--flip",           "hv",
        "--source",  "test",           NULL
    };
    ASSERT_EQ_INT(parse(&cfg, a), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 2);
    ASSERT_EQ_INT(cfg.sources[0].format, MJD_CAPTURE_YUYV);
    ASSERT_EQ_INT(cfg.sources[0].flip, MJD_FLIP_H | MJD_FLIP_V);
    ASSERT_EQ_STR(cfg.sources[0].controls, "brightness=120,contrast=-3");
    ASSERT_EQ_INT(cfg.sources[1].format, MJD_CAPTURE_AUTO);
    ASSERT_EQ_INT(cfg.sources[1].flip, 0);
    ASSERT_EQ_STR(cfg.sources[1].controls, "brightness=120");
    static const char *const bad[][3] = {
        { "--format", "h264", NULL },     { "--flip", "x", NULL },
        { "--flip", "hh", NULL },         { "--control", "brightness", NULL },
        { "--control", "=1", NULL },      { "--control", "a b=1", NULL },
        { "--control", "gain=1x", NULL }, { "--control", "gain=99999999999", NULL },
    };
    for (size_t i = 0; i < CORE_ARRAY_SIZE(bad); i++) {
        if (parse(&cfg, bad[i]) != MJD_CONFIG_USAGE) {
            test_fail(__FILE__, __LINE__, "%s %s accepted", bad[i][0], bad[i][1]);
        }
    }
}

// SPDX-License-Identifier: MIT
/* Unit tests for the test-pattern source, the encoder and the capture pipeline. */
#include "../testlib.h"

#include <errno.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "mjpegd/capture.h"
#include "mjpegd/encoder.h"
#include "mjpegd/hub.h"
#include "mjpegd/sources/source.h"

static struct mjd_source *open_test(unsigned w, unsigned h)
{
    struct mjd_source_params p = { .width = w, .height = h, .fps = 30 };
    struct mjd_source *src = NULL;
    if (mjd_source_create(&src, "test", &p) != 0) {
        test_fail(__FILE__, __LINE__, "cannot open the test source");
    }
    return src;
}

TEST(source_unknown_kinds_and_bad_sizes)
{
    struct mjd_source_params p = { .width = 320, .height = 240, .fps = 30 };
    struct mjd_source *src = NULL;
    ASSERT_EQ_INT(mjd_source_create(&src, "nope", &p), -ENOENT);
    ASSERT_NULL(src);
    ASSERT_EQ_INT(mjd_source_create(&src, "test:extra", &p), -EINVAL);
    p.width = 8;
    ASSERT_EQ_INT(mjd_source_create(&src, "test", &p), -EINVAL);
    ASSERT_TRUE(mjd_source_known("test"));
    ASSERT_FALSE(mjd_source_known("v4l3"));
}

TEST(source_test_frame_size_matches_yuv420)
{
    const unsigned sizes[][2] = { { 320, 240 }, { 1280, 720 }, { 16, 16 }, { 642, 362 } };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned w = sizes[i][0];
        unsigned h = sizes[i][1];
        struct mjd_source *src = open_test(w, h);
        const struct mjd_source_info *info = mjd_source_get_info(src);
        size_t want = (size_t)w * h + 2 * (size_t)((w + 1) / 2) * ((h + 1) / 2);
        ASSERT_EQ_INT(info->width, w);
        ASSERT_EQ_INT(info->height, h);
        ASSERT_EQ_INT(info->format, MJD_PIX_YUV420P);
        ASSERT_FALSE(info->self_paced);
        ASSERT_EQ_INT(info->max_frame_bytes, want);
        struct mjd_raw_frame f = { 0 };
        f.cap = info->max_frame_bytes;
        f.data = malloc(f.cap);
        f.seq = 1;
        f.wall_ns = core_wall_ns();
        ASSERT_OK(mjd_source_read(src, &f, 0));
        ASSERT_EQ_INT(f.len, want);
        ASSERT_EQ_INT(f.width, w);
        ASSERT_EQ_INT(f.height, h);
        f.cap = want - 1;
        ASSERT_EQ_INT(mjd_source_read(src, &f, 0), -ENOBUFS);
        free(f.data);
        mjd_source_destroy(src);
    }
}

TEST(source_test_frames_move)
{
    struct mjd_source *src = open_test(320, 240);
    size_t cap = mjd_source_get_info(src)->max_frame_bytes;
    struct mjd_raw_frame a = { .data = malloc(cap), .cap = cap, .seq = 1, .wall_ns = 0 };
    struct mjd_raw_frame b = { .data = malloc(cap), .cap = cap, .seq = 2, .wall_ns = 0 };
    struct mjd_raw_frame a2 = { .data = malloc(cap), .cap = cap, .seq = 1, .wall_ns = 0 };
    ASSERT_OK(mjd_source_read(src, &a, 0));
    ASSERT_OK(mjd_source_read(src, &b, 0));
    ASSERT_OK(mjd_source_read(src, &a2, 0));
    ASSERT_TRUE(memcmp(a.data, b.data, cap) != 0);
    // Deterministic: the same frame number and time give the same picture.
    ASSERT_TRUE(memcmp(a.data, a2.data, cap) == 0);
    free(a.data);
    free(b.data);
    free(a2.data);
    mjd_source_destroy(src);
}

static void frame_back(void *ctx, struct mjd_raw_frame *frame)
{
    (void)frame;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

TEST(source_test_encodes_to_a_realistic_jpeg)
{
    struct mjd_source *src = open_test(1280, 720);
    size_t cap = mjd_source_get_info(src)->max_frame_bytes;
    struct mjd_raw_frame f = { .data = malloc(cap), .cap = cap, .seq = 42, .wall_ns = 0 };
    ASSERT_OK(mjd_source_read(src, &f, 0));
    // Through the encoder pool, as the capture thread does it.
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    atomic_int back = 0;
    struct mjd_encoder_config ec = {
        .threads = 1, .backlog = 1, .quality = 75, .hub = hub, .done = frame_back, .done_ctx = &back
    };
    struct mjd_encoder *enc = NULL;
    ASSERT_OK(mjd_encoder_create(&enc, &ec));
    ASSERT_OK(mjd_encoder_submit(enc, &f));
    ASSERT_OK(mjd_hub_wait_first(hub,
                                 core_now_ns() + 10 * CORE_NS_PER_SEC * test_timeout_multiplier()));
    mjd_encoder_destroy(enc);
    ASSERT_EQ_INT(atomic_load(&back), 1);
    struct mjd_frame out;
    ASSERT_TRUE(mjd_hub_latest(hub, &out));
    ASSERT_EQ_U64(out.seq, 42);
    const struct core_buf *jpeg = out.jpeg;
    // A JPEG (SOI ... EOI), weighing what a camera frame does at 1280x720.
    ASSERT_EQ_INT(jpeg->data[0], 0xff);
    ASSERT_EQ_INT(jpeg->data[1], 0xd8);
    ASSERT_EQ_INT(jpeg->data[jpeg->len - 2], 0xff);
    ASSERT_EQ_INT(jpeg->data[jpeg->len - 1], 0xd9);
    ASSERT_CMP_INT(jpeg->len, >=, 35000);
    ASSERT_CMP_INT(jpeg->len, <=, 75000);
    core_buf_unref(out.jpeg);
    mjd_hub_destroy(hub);
    free(f.data);
    mjd_source_destroy(src);
}

TEST(capture_publishes_frames_in_order)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_capture_config cc = {
        .source = open_test(160, 120),
        .hub = hub,
        .fps = 200,
        .quality = 50,
        .encoder_threads = 3,
    };
    struct mjd_capture *cap = NULL;
    ASSERT_OK(mjd_capture_start(&cap, &cc));
    ASSERT_NULL(cc.source);
    ASSERT_OK(mjd_hub_wait_first(hub, core_now_ns() + 5 * CORE_NS_PER_SEC));
    uint64_t last = 0;
    int seen = 0;
    int64_t deadline = core_now_ns() + 5 * CORE_NS_PER_SEC;
    while (seen < 20 && core_now_ns() < deadline) {
        struct mjd_frame f;
        if (mjd_hub_latest(hub, &f)) {
            ASSERT_CMP_INT(f.seq, >=, last);
            if (f.seq > last) {
                seen++;
                ASSERT_EQ_INT(f.jpeg->data[0], 0xff);
                ASSERT_EQ_INT(f.jpeg->data[1], 0xd8);
            }
            last = f.seq;
            core_buf_unref(f.jpeg);
        }
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    ASSERT_CMP_INT(seen, >=, 20);
    mjd_capture_stop(cap);
    struct mjd_hub_stats st;
    mjd_hub_get_stats(hub, &st);
    // Stopped: every captured frame has exactly one fate, published or dropped (busy, stale).
    ASSERT_EQ_U64(st.in_flight, 0);
    ASSERT_EQ_U64(st.captured, st.published + st.dropped);
    ASSERT_CMP_INT(st.published, >=, 20);
    mjd_hub_destroy(hub);
}

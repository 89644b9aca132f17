// SPDX-License-Identifier: MIT
/* Unit tests for source supervision: the backoff, the no-signal frame, a source that comes back. */
#include "../testlib.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "mjpegd/capture.h"
#include "mjpegd/demand.h"
#include "mjpegd/hub.h"
#include "mjpegd/nosignal.h"
#include "mjpegd/sources/jpeg.h"
#include "mjpegd/sources/jpeg_split.h"

TEST(supervise_backoff_doubles_from_half_a_second_to_ten)
{
    const int64_t ms = CORE_NS_PER_MS;
    const int64_t want[] = { 500 * ms,  1000 * ms,  2000 * ms, 4000 * ms,
                             8000 * ms, 10000 * ms, 10000 * ms };
    int64_t b = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        b = mjd_capture_backoff(b);
        ASSERT_EQ_INT(b, want[i]);
    }
    ASSERT_EQ_INT(mjd_capture_backoff(-1), 500 * ms);
    ASSERT_EQ_INT(mjd_capture_backoff(7000 * ms), 10000 * ms);
}

TEST(supervise_nosignal_is_a_complete_jpeg_of_the_asked_size)
{
    const unsigned sizes[][2] = { { 320, 240 }, { 1280, 720 }, { 17, 9 }, { 9000, 20 } };
    const unsigned want[][2] = { { 320, 240 }, { 1280, 720 }, { 17, 16 }, { 8192, 20 } };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct core_buf *b = NULL;
        ASSERT_OK(mjd_nosignal_render(&b, sizes[i][0], sizes[i][1]));
        struct mjd_jpeg_info info;
        ASSERT_OK(mjd_jpeg_check(b->data, b->len, &info));
        unsigned w = 0, h = 0;
        ASSERT_OK(mjd_jpeg_size(b->data, b->len, &w, &h));
        ASSERT_EQ_INT(w, want[i][0]);
        ASSERT_EQ_INT(h, want[i][1]);
        core_buf_unref(b);
    }
}

static bool wait_state(struct mjd_demand *d, enum mjd_demand_state st, int64_t deadline)
{
    while (mjd_demand_state(d) != st) {
        if (core_now_ns() > deadline) {
            return false;
        }
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    return true;
}

/* A file: source whose file is missing at start: no-signal frames, retried, then it opens. */
TEST(supervise_source_missing_at_start_shows_no_signal_then_comes_back)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/later.jpg", test_tmpdir());
    char spec[600];
    snprintf(spec, sizeof(spec), "file:%s", path);
    (void)unlink(path);
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_demand d;
    ASSERT_OK(mjd_demand_init(&d, 0));
    struct mjd_capture_config cc = {
        .source = NULL,
        .start_error = -ENOENT,
        .hub = hub,
        .fps = 20,
        .quality = 50,
        .encoder_threads = 1,
        .demand = &d,
        .spec = spec,
        .params = { .width = 160, .height = 120, .fps = 20 },
    };
    struct mjd_capture *cap = NULL;
    ASSERT_OK(mjd_capture_start(&cap, &cc));
    int64_t deadline = core_now_ns() + 60 * CORE_NS_PER_SEC * test_timeout_multiplier();
    ASSERT_OK(mjd_hub_wait_first(hub, deadline));
    ASSERT_EQ_INT(mjd_demand_state(&d), MJD_DEMAND_RETRYING);
    ASSERT_EQ_INT(mjd_demand_last_error(&d), ENOENT);
    struct mjd_frame f;
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    unsigned w = 0, h = 0;
    ASSERT_OK(mjd_jpeg_size(f.jpeg->data, f.jpeg->len, &w, &h));
    ASSERT_EQ_INT(w, 160);
    ASSERT_EQ_INT(h, 120);
    // The file appears (the no-signal picture itself, a valid JPEG): the source opens. Written
    // aside and renamed into place, so that a retry cannot read it half written (a second
    // failure with another error and a second restart).
    char tmp[520];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    ASSERT_NOT_NULL(fp);
    ASSERT_EQ_INT(fwrite(f.jpeg->data, 1, f.jpeg->len, fp), f.jpeg->len);
    ASSERT_OK(fclose(fp));
    ASSERT_OK(rename(tmp, path));
    core_buf_unref(f.jpeg);
    ASSERT_TRUE(wait_state(&d, MJD_DEMAND_ACTIVE, deadline));
    ASSERT_EQ_INT(mjd_demand_restarts(&d), 1);
    ASSERT_EQ_INT(mjd_demand_last_error(&d), ENOENT); // the last failure stays readable
    mjd_capture_stop(cap);
    struct mjd_hub_stats st;
    mjd_hub_get_stats(hub, &st);
    ASSERT_EQ_U64(st.captured, st.published + st.dropped);
    (void)unlink(path);
    mjd_demand_release(&d);
    mjd_hub_destroy(hub);
}

/*
 * A source that fails while up: once the state says retrying, the newest frame is already the
 * no-signal one. (It was set before the no-signal frame was drawn and published, so a client
 * that read "retrying" in /state could get the last live frame from /snapshot.)
 */
TEST(supervise_retrying_comes_with_the_no_signal_frame_already_published)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/live.jpg", test_tmpdir());
    char spec[600];
    snprintf(spec, sizeof(spec), "file:%s", path);
    // The live picture: the no-signal one of the same size with a comment segment after SOI,
    // so that its bytes differ.
    struct core_buf *ns = NULL;
    ASSERT_OK(mjd_nosignal_render(&ns, 160, 120));
    static const unsigned char com[] = { 0xFF, 0xFE, 0x00, 0x04, 'l', 'v' };
    FILE *fp = fopen(path, "wb");
    ASSERT_NOT_NULL(fp);
    ASSERT_EQ_INT(fwrite(ns->data, 1, 2, fp), 2);
    ASSERT_EQ_INT(fwrite(com, 1, sizeof(com), fp), sizeof(com));
    ASSERT_EQ_INT(fwrite(ns->data + 2, 1, ns->len - 2, fp), ns->len - 2);
    ASSERT_OK(fclose(fp));
    size_t live_len = ns->len + sizeof(com);
    core_buf_unref(ns);

    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_demand d;
    ASSERT_OK(mjd_demand_init(&d, 0));
    struct mjd_source_params p = { .width = 160, .height = 120, .fps = 20 };
    struct mjd_source *src = NULL;
    ASSERT_OK(mjd_source_create(&src, spec, &p));
    struct mjd_capture_config cc = {
        .source = src,
        .hub = hub,
        .fps = 20,
        .quality = 50,
        .encoder_threads = 1,
        .demand = &d,
        .spec = spec,
        .params = p,
    };
    struct mjd_capture *cap = NULL;
    ASSERT_OK(mjd_capture_start(&cap, &cc));
    int64_t deadline = core_now_ns() + 60 * CORE_NS_PER_SEC * test_timeout_multiplier();
    ASSERT_OK(mjd_hub_wait_first(hub, deadline));
    struct mjd_frame f;
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    ASSERT_EQ_U64(f.jpeg->len, live_len);
    core_buf_unref(f.jpeg);
    ASSERT_EQ_INT(mjd_demand_state(&d), MJD_DEMAND_ACTIVE);
    // The file goes: the next read fails. Watched without sleeping, so that a window between
    // the state and the frame is not stepped over.
    ASSERT_OK(unlink(path));
    while (mjd_demand_state(&d) != MJD_DEMAND_RETRYING) {
        ASSERT_TRUE(core_now_ns() < deadline);
        sched_yield();
    }
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    ASSERT_TRUE(f.jpeg->len != live_len); // the no-signal frame, not the last live one
    unsigned w = 0, h = 0;
    ASSERT_OK(mjd_jpeg_size(f.jpeg->data, f.jpeg->len, &w, &h));
    ASSERT_EQ_INT(w, 160);
    ASSERT_EQ_INT(h, 120);
    core_buf_unref(f.jpeg);
    mjd_capture_stop(cap);
    mjd_demand_release(&d);
    mjd_hub_destroy(hub);
}

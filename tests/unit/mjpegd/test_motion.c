// SPDX-License-Identifier: MIT
/* Unit tests for the motion detector: still, moved, re-encode noise, hold time, hostile input. */
#include "../testlib.h"

#include <errno.h>
#include <math.h>
#include <turbojpeg.h>

#include "core/clock.h"
#include "mjpegd/motion.h"
#include "mjpegd/sources/source.h"

enum {
    W = 640,
    H = 480,
    BOX = 160
};

/* 30 fps in monotonic nanoseconds. */
#define FRAME_NS (CORE_NS_PER_SEC / 30)

/* A textured scene (gradients plus fixed noise) with a dark box of BOX pixels at (bx, by), a bit
 * of per-pixel sensor noise of amplitude `jitter` (seeded by `seed`), encoded as a 4:2:0 JPEG at
 * `quality`. Caller frees with tjFree; *len gets its size. */
static unsigned char *scene(int bx, int by, int jitter, unsigned seed, int quality,
                            unsigned long *len)
{
    static unsigned char rgb[W * H * 3];
    unsigned tex = 12345u;
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            tex = tex * 1103515245u + 12345u;
            int v = 40 + (x * 150) / W + (y * 40) / H + (int)((tex >> 16) % 9) - 4;
            if (x >= bx && x < bx + BOX && y >= by && y < by + BOX) {
                v = 20 + (int)((tex >> 16) % 5);
            }
            if (jitter > 0) {
                seed = seed * 1664525u + 1013904223u;
                v += (int)((seed >> 16) % (unsigned)(2 * jitter + 1)) - jitter;
            }
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            unsigned char *p = rgb + ((size_t)y * W + (size_t)x) * 3;
            p[0] = (unsigned char)v;
            p[1] = (unsigned char)(v * 7 / 8);
            p[2] = (unsigned char)(255 - v / 2);
        }
    }
    tjhandle tj = tjInitCompress();
    ASSERT_TRUE(tj != NULL);
    unsigned char *out = NULL;
    ASSERT_EQ_INT(tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &out, len, TJSAMP_420, quality, 0), 0);
    tjDestroy(tj);
    return out;
}

static struct mjd_motion *make(double threshold)
{
    struct mjd_motion *m = NULL;
    ASSERT_EQ_INT(mjd_motion_create(&m, threshold), 0);
    ASSERT_TRUE(m != NULL);
    return m;
}

/* Feeds jpeg n times at FRAME_NS steps from *t; returns the last score. */
static double feed_n(struct mjd_motion *m, const unsigned char *jpeg, unsigned long len, int n,
                     int64_t *t)
{
    double s = -1.0;
    for (int i = 0; i < n; i++) {
        s = mjd_motion_feed(m, jpeg, len, *t);
        *t += FRAME_NS;
    }
    return s;
}

TEST(motion_create_checks_threshold)
{
    struct mjd_motion *m = (struct mjd_motion *)1;
    ASSERT_EQ_INT(mjd_motion_create(&m, 0.0), -EINVAL);
    ASSERT_TRUE(m == NULL);
    ASSERT_EQ_INT(mjd_motion_create(&m, -1.0), -EINVAL);
    ASSERT_EQ_INT(mjd_motion_create(&m, 100.5), -EINVAL);
    ASSERT_EQ_INT(mjd_motion_create(&m, NAN), -EINVAL);
    ASSERT_EQ_INT(mjd_motion_create(&m, 100.0), 0);
    ASSERT_FALSE(mjd_motion_active(m));
    mjd_motion_destroy(m);
    mjd_motion_destroy(NULL);
}

TEST(motion_still_picture_scores_zero)
{
    unsigned long len = 0;
    unsigned char *j = scene(100, 100, 0, 0, 80, &len);
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    int64_t t = 5 * CORE_NS_PER_SEC;
    ASSERT_TRUE(mjd_motion_feed(m, j, len, t) == 0.0); // the first frame starts the background
    t += FRAME_NS;
    for (int i = 0; i < 60; i++) {
        double s = mjd_motion_feed(m, j, len, t);
        t += FRAME_NS;
        ASSERT_TRUE(s == 0.0);
        ASSERT_FALSE(mjd_motion_active(m));
    }
    mjd_motion_destroy(m);
    tjFree(j);
}

TEST(motion_moved_object_scores_high)
{
    unsigned long l1 = 0;
    unsigned long l2 = 0;
    unsigned char *a = scene(80, 80, 0, 0, 80, &l1);
    unsigned char *b = scene(360, 240, 0, 0, 80, &l2);
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    int64_t t = 0;
    ASSERT_TRUE(feed_n(m, a, l1, 30, &t) < MJD_MOTION_DEFAULT_THRESHOLD);
    ASSERT_FALSE(mjd_motion_active(m));
    double s = mjd_motion_feed(m, b, l2, t);
    t += FRAME_NS;
    // The box left one place and appeared in another: two boxes of 160x160 in 640x480 are
    // 16.7 % of the blocks.
    printf("moved box: score %.2f\n", s);
    ASSERT_TRUE(s > 12.0 && s <= 100.0);
    ASSERT_TRUE(mjd_motion_active(m));
    mjd_motion_destroy(m);
    tjFree(a);
    tjFree(b);
}

TEST(motion_reencode_noise_stays_under_default_threshold)
{
    // The same scene at three qualities, each with fresh sensor noise: what a still camera
    // delivers. Every frame differs from the others, none should count as motion.
    enum {
        N = 12
    };
    unsigned char *j[N];
    unsigned long len[N];
    static const int q[3] = { 60, 75, 90 };
    for (int i = 0; i < N; i++) {
        j[i] = scene(200, 150, 12, 77u * (unsigned)i + 1u, q[i % 3], &len[i]);
    }
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    int64_t t = 0;
    double worst = 0.0;
    for (int i = 0; i < 90; i++) {
        double s = mjd_motion_feed(m, j[i % N], len[i % N], t);
        t += FRAME_NS;
        ASSERT_TRUE(s >= 0.0);
        worst = s > worst ? s : worst;
        ASSERT_FALSE(mjd_motion_active(m));
    }
    printf("re-encode noise: worst score %.3f (threshold %.1f)\n", worst,
           MJD_MOTION_DEFAULT_THRESHOLD);
    ASSERT_TRUE(worst < MJD_MOTION_DEFAULT_THRESHOLD / 4);
    mjd_motion_destroy(m);
    for (int i = 0; i < N; i++) {
        tjFree(j[i]);
    }
}

TEST(motion_holds_then_settles_when_the_scene_holds_still)
{
    unsigned long l1 = 0;
    unsigned long l2 = 0;
    unsigned char *a = scene(80, 80, 0, 0, 80, &l1);
    unsigned char *b = scene(360, 240, 0, 0, 80, &l2);
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    int64_t t = 0;
    feed_n(m, a, l1, 30, &t);
    // The box jumps back and forth for a second: active all along.
    for (int i = 0; i < 30; i++) {
        ASSERT_TRUE(mjd_motion_feed(m, (i & 1) ? a : b, (i & 1) ? l1 : l2, t) >= 0.0);
        t += FRAME_NS;
        ASSERT_TRUE(mjd_motion_active(m));
    }
    // Then it stays at b. The background takes it in within a few time constants; active holds
    // for MJD_MOTION_HOLD_MS after the last frame over the threshold, then goes off for good.
    int64_t last_hit = -1;
    int64_t off_at = -1;
    for (int i = 0; i < 30 * 10; i++) {
        double s = mjd_motion_feed(m, b, l2, t);
        ASSERT_TRUE(s >= 0.0);
        if (s >= MJD_MOTION_DEFAULT_THRESHOLD) {
            ASSERT_TRUE(off_at < 0); // never back on once it went off
            last_hit = t;
        }
        bool on = mjd_motion_active(m);
        if (last_hit >= 0 && t - last_hit <= (int64_t)MJD_MOTION_HOLD_MS * CORE_NS_PER_MS) {
            ASSERT_TRUE(on);
        }
        if (!on && off_at < 0) {
            off_at = t;
        }
        if (off_at >= 0) {
            ASSERT_FALSE(on);
        }
        t += FRAME_NS;
    }
    ASSERT_TRUE(off_at >= 0);
    ASSERT_TRUE(mjd_motion_feed(m, b, l2, t) == 0.0);
    mjd_motion_destroy(m);
    tjFree(a);
    tjFree(b);
}

TEST(motion_new_size_or_long_gap_restarts_the_background)
{
    unsigned long l1 = 0;
    unsigned long l2 = 0;
    unsigned char *a = scene(80, 80, 0, 0, 80, &l1);
    unsigned char *b = scene(360, 240, 0, 0, 80, &l2);
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    int64_t t = 0;
    feed_n(m, a, l1, 10, &t);
    // After a pause longer than MJD_MOTION_GAP_MS (an --on-demand source asleep) the scene
    // may have changed: a new background, not motion.
    t += (int64_t)MJD_MOTION_GAP_MS * CORE_NS_PER_MS + 1;
    ASSERT_TRUE(mjd_motion_feed(m, b, l2, t) == 0.0);
    ASSERT_FALSE(mjd_motion_active(m));
    t += FRAME_NS;
    ASSERT_TRUE(mjd_motion_feed(m, b, l2, t) == 0.0);
    // A clock that goes backwards restarts too.
    ASSERT_TRUE(mjd_motion_feed(m, a, l1, t - FRAME_NS) == 0.0);
    // A frame of another size.
    tjhandle tj = tjInitCompress();
    ASSERT_TRUE(tj != NULL);
    static unsigned char grey[320 * 240];
    memset(grey, 90, sizeof(grey));
    unsigned char *small = NULL;
    unsigned long ls = 0;
    ASSERT_EQ_INT(tjCompress2(tj, grey, 320, 0, 240, TJPF_GRAY, &small, &ls, TJSAMP_GRAY, 80, 0),
                  0);
    tjDestroy(tj);
    ASSERT_TRUE(mjd_motion_feed(m, small, ls, t) == 0.0);
    t += FRAME_NS;
    ASSERT_TRUE(mjd_motion_feed(m, small, ls, t) == 0.0);
    mjd_motion_destroy(m);
    tjFree(a);
    tjFree(b);
    tjFree(small);
}

TEST(motion_garbage_returns_negative_errno_and_changes_nothing)
{
    unsigned long l1 = 0;
    unsigned long l2 = 0;
    unsigned char *a = scene(80, 80, 0, 0, 80, &l1);
    unsigned char *b = scene(360, 240, 0, 0, 80, &l2);
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    int64_t t = 0;
    feed_n(m, a, l1, 10, &t);
    ASSERT_TRUE(mjd_motion_feed(m, b, l2, t) > 12.0);
    t += FRAME_NS;
    ASSERT_TRUE(mjd_motion_active(m));

    static const uint8_t zeros[64];
    ASSERT_TRUE(mjd_motion_feed(m, zeros, 0, t) == -EBADMSG);
    ASSERT_TRUE(mjd_motion_feed(m, zeros, sizeof(zeros), t) == -EBADMSG);
    uint8_t noise[4096];
    unsigned s = 99;
    for (size_t i = 0; i < sizeof(noise); i++) {
        s = s * 1103515245u + 12345u;
        noise[i] = (uint8_t)(s >> 16);
    }
    noise[0] = 0xff;
    noise[1] = 0xd8;
    ASSERT_TRUE(mjd_motion_feed(m, noise, sizeof(noise), t) == -EBADMSG);
    // The header alone, cut before the scan.
    ASSERT_TRUE(mjd_motion_feed(m, a, 20, t) == -EBADMSG);

    // A frame header claiming 60000x60000: refused before any allocation.
    unsigned char *big = malloc(l1);
    ASSERT_TRUE(big != NULL);
    memcpy(big, a, l1);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < l1; i++) {
        if (big[i] == 0xff && big[i + 1] == 0xc0) {
            sof = i;
            break;
        }
    }
    ASSERT_TRUE(sof > 0);
    big[sof + 5] = 0xea; // height 0xea60 = 60000
    big[sof + 6] = 0x60;
    big[sof + 7] = 0xea; // width
    big[sof + 8] = 0x60;
    ASSERT_TRUE(mjd_motion_feed(m, big, l1, t) == -E2BIG);

    // None of that moved the state: still active, and the background still has b coming in
    // (a decoder left broken by the garbage would return -EBADMSG here).
    ASSERT_TRUE(mjd_motion_active(m));
    double again = mjd_motion_feed(m, b, l2, t);
    ASSERT_TRUE(again > 0.0);
    ASSERT_TRUE(mjd_motion_active(m));
    free(big);
    mjd_motion_destroy(m);
    tjFree(a);
    tjFree(b);
}

/* Encodes a YUV 4:2:0 test-source frame as the encoder pool does. Caller frees with tjFree. */
static unsigned char *encode_yuv(tjhandle tj, const struct mjd_raw_frame *f, unsigned long *len)
{
    int w = (int)f->width;
    int h = (int)f->height;
    int cw = (w + 1) / 2;
    int ch = (h + 1) / 2;
    const unsigned char *planes[3] = { f->data, f->data + (size_t)w * h,
                                       f->data + (size_t)w * h + (size_t)cw * ch };
    int strides[3] = { w, cw, cw };
    unsigned char *out = NULL;
    ASSERT_EQ_INT(tjCompressFromYUVPlanes(tj, planes, w, strides, h, TJSAMP_420, &out, len, 75, 0),
                  0);
    return out;
}

TEST_WITH_TIMEOUT(motion_test_source_moves_then_holds_still, 30)
{
    // --source test:move=60,still=150 at 30 fps: two seconds of motion, five held, with the
    // frame number and the time still ticking in the top band, as a camera's overlay does.
    struct mjd_source_params p = { .width = 640, .height = 480, .fps = 30 };
    struct mjd_source *src = NULL;
    ASSERT_EQ_INT(mjd_source_create(&src, "test:move=60,still=150", &p), 0);
    size_t cap = mjd_source_get_info(src)->max_frame_bytes;
    struct mjd_raw_frame f = { .data = malloc(cap), .cap = cap };
    ASSERT_TRUE(f.data != NULL);
    tjhandle tj = tjInitCompress();
    ASSERT_TRUE(tj != NULL);
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    int64_t t = 0;
    int64_t wall = (int64_t)1700000000 * CORE_NS_PER_SEC;
    int on_in_move = 0;
    int64_t off_at = -1;
    for (uint64_t seq = 1; seq <= 2 * 210; seq++) {
        f.seq = seq;
        f.wall_ns = wall;
        ASSERT_EQ_INT(mjd_source_read(src, &f, 0), 0);
        unsigned long len = 0;
        unsigned char *j = encode_yuv(tj, &f, &len);
        double s = mjd_motion_feed(m, j, len, t);
        tjFree(j);
        ASSERT_TRUE(s >= 0.0);
        uint64_t phase = (seq - 1) % 210;
        bool on = mjd_motion_active(m);
        if (phase >= 2 && phase < 60) {
            on_in_move += on; // the first frame of the run starts the background
        } else if (phase >= 60 && seq <= 210) {
            if (!on && off_at < 0) {
                off_at = t;
                printf("held still: off %.2f s after the pattern stopped\n",
                       (double)(t - 59 * FRAME_NS) / 1e9);
            }
            if (off_at >= 0) {
                ASSERT_FALSE(on); // the ticking text alone never turns it back on
                ASSERT_TRUE(s < MJD_MOTION_DEFAULT_THRESHOLD);
            }
        }
        t += FRAME_NS;
        wall += FRAME_NS;
    }
    ASSERT_TRUE(off_at >= 0);
    ASSERT_EQ_INT(on_in_move, 2 * 58);
    mjd_motion_destroy(m);
    tjDestroy(tj);
    free(f.data);
    mjd_source_destroy(src);
}

TEST(motion_test_source_spec)
{
    struct mjd_source_params p = { .width = 64, .height = 48, .fps = 30 };
    struct mjd_source *src = NULL;
    static const char *const bad[] = {
        "test:move=0,still=5",  "test:move=5",          "test:still=5,move=5",
        "test:move=5,still=",   "test:move=5,still=5,", "test:move=-1,still=5",
        "test:move=5,still=5x", "test:move=x",          "test:move=5,still=2000000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ_INT(mjd_source_create(&src, bad[i], &p), -EINVAL);
        ASSERT_TRUE(src == NULL);
    }
    // move=2,still=3: frames 1-2 move, 3-5 hold frame 2's picture, 6-7 move on from there.
    ASSERT_EQ_INT(mjd_source_create(&src, "test:move=2,still=3", &p), 0);
    size_t cap = mjd_source_get_info(src)->max_frame_bytes;
    unsigned char *pic[8];
    for (uint64_t seq = 1; seq <= 7; seq++) {
        struct mjd_raw_frame f = { .data = malloc(cap), .cap = cap, .seq = seq, .wall_ns = 0 };
        ASSERT_TRUE(f.data != NULL);
        ASSERT_EQ_INT(mjd_source_read(src, &f, 0), 0);
        pic[seq] = f.data;
    }
    // The band with the frame number (the top rows) differs; everything below it is the
    // moving parts.
    size_t band = (size_t)64 * 16;
    size_t luma = (size_t)64 * 48;
    ASSERT_TRUE(memcmp(pic[1] + band, pic[2] + band, luma - band) != 0);
    ASSERT_TRUE(memcmp(pic[2] + band, pic[3] + band, luma - band) == 0);
    ASSERT_TRUE(memcmp(pic[2] + band, pic[5] + band, luma - band) == 0);
    ASSERT_TRUE(memcmp(pic[5] + band, pic[6] + band, luma - band) != 0);
    ASSERT_TRUE(memcmp(pic[6] + band, pic[7] + band, luma - band) != 0);
    for (int i = 1; i <= 7; i++) {
        free(pic[i]);
    }
    mjd_source_destroy(src);
}

TEST(motion_large_progressive_frames_are_refused_baseline_ones_decode)
{
    // 2600x2000 is over MJD_MOTION_MAX_BUFFERED_PIXELS: libjpeg would buffer 2 bytes per pixel
    // per component for a progressive frame (31 MB here), so only the baseline one decodes.
    enum {
        BW = 2600,
        BH = 2000
    };
    ASSERT_TRUE((size_t)BW * BH > MJD_MOTION_MAX_BUFFERED_PIXELS);
    unsigned char *grey = malloc((size_t)BW * BH);
    ASSERT_TRUE(grey != NULL);
    for (size_t i = 0; i < (size_t)BW * BH; i++) {
        grey[i] = (unsigned char)((i % BW) / 11 + (i / BW) / 13);
    }
    tjhandle tj = tjInitCompress();
    ASSERT_TRUE(tj != NULL);
    unsigned char *base = NULL;
    unsigned char *prog = NULL;
    unsigned char *small = NULL;
    unsigned long lb = 0;
    unsigned long lp = 0;
    unsigned long ls = 0;
    ASSERT_EQ_INT(tjCompress2(tj, grey, BW, 0, BH, TJPF_GRAY, &base, &lb, TJSAMP_GRAY, 50, 0), 0);
    ASSERT_EQ_INT(tjCompress2(tj, grey, BW, 0, BH, TJPF_GRAY, &prog, &lp, TJSAMP_GRAY, 50,
                              TJFLAG_PROGRESSIVE),
                  0);
    ASSERT_EQ_INT(tjCompress2(tj, grey, 640, BW, 480, TJPF_GRAY, &small, &ls, TJSAMP_GRAY, 50,
                              TJFLAG_PROGRESSIVE),
                  0);
    tjDestroy(tj);
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    ASSERT_TRUE(mjd_motion_feed(m, prog, lp, 0) == -E2BIG);
    ASSERT_TRUE(mjd_motion_feed(m, base, lb, 0) == 0.0);
    ASSERT_TRUE(mjd_motion_feed(m, base, lb, FRAME_NS) == 0.0);
    // A small progressive frame is fine.
    ASSERT_TRUE(mjd_motion_feed(m, small, ls, 2 * FRAME_NS) == 0.0);
    ASSERT_TRUE(mjd_motion_feed(m, small, ls, 3 * FRAME_NS) == 0.0);
    mjd_motion_destroy(m);
    tjFree(base);
    tjFree(prog);
    tjFree(small);
    free(grey);
}

/* Feeds a jump from a to b at `fps`, then b held; returns how long after the jump active went
 * off (ns), or -1. */
static int64_t settle_time(const unsigned char *a, unsigned long la, const unsigned char *b,
                           unsigned long lb, int fps)
{
    struct mjd_motion *m = make(MJD_MOTION_DEFAULT_THRESHOLD);
    int64_t step = CORE_NS_PER_SEC / fps;
    int64_t t = 0;
    for (int i = 0; i < fps; i++) {
        ASSERT_TRUE(mjd_motion_feed(m, a, la, t) >= 0.0);
        t += step;
    }
    int64_t jump = t;
    int64_t off = -1;
    for (int i = 0; i < 10 * fps && off < 0; i++) {
        ASSERT_TRUE(mjd_motion_feed(m, b, lb, t) >= 0.0);
        if (i > 0 && !mjd_motion_active(m)) {
            off = t - jump;
        }
        t += step;
    }
    mjd_motion_destroy(m);
    return off;
}

TEST(motion_settle_time_does_not_depend_on_the_frame_rate)
{
    unsigned long l1 = 0;
    unsigned long l2 = 0;
    unsigned char *a = scene(80, 80, 0, 0, 80, &l1);
    unsigned char *b = scene(360, 240, 0, 0, 80, &l2);
    int64_t slow = settle_time(a, l1, b, l2, 5);
    int64_t fast = settle_time(a, l1, b, l2, 60);
    printf("a box that moved once: active off after %.2f s at 5 fps, %.2f s at 60 fps\n",
           (double)slow / 1e9, (double)fast / 1e9);
    ASSERT_TRUE(slow > 0 && fast > 0);
    // The background's time constant and the hold are in time, not frames: the same within a
    // frame of the slower rate (0.2 s), not 12 times longer at 60 fps.
    int64_t d = slow > fast ? slow - fast : fast - slow;
    ASSERT_TRUE(d <= CORE_NS_PER_SEC / 5 + CORE_NS_PER_SEC / 20);
    tjFree(a);
    tjFree(b);
}

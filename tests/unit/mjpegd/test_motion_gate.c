// SPDX-License-Identifier: MIT
/* Unit tests for the --record-on motion gate: pre-roll, start, post-roll, end, references. */
#include "../testlib.h"

#include <errno.h>
#include <turbojpeg.h>

#include "core/buf.h"
#include "core/clock.h"
#include "mjpegd/motion.h"
#include "mjpegd/record/motion_gate.h"

#define FRAME_NS (CORE_NS_PER_SEC / 20)

/* A 320x240 grey JPEG with a dark square at x (textured background), as a core_buf. */
static struct core_buf *picture(int x)
{
    static unsigned char grey[320 * 240];
    for (int y = 0; y < 240; y++) {
        for (int i = 0; i < 320; i++) {
            int v = 60 + i / 3 + (y % 7) * 3;
            if (i >= x && i < x + 80 && y >= 80 && y < 160) {
                v = 10;
            }
            grey[y * 320 + i] = (unsigned char)v;
        }
    }
    tjhandle tj = tjInitCompress();
    ASSERT_TRUE(tj != NULL);
    unsigned char *out = NULL;
    unsigned long len = 0;
    ASSERT_EQ_INT(tjCompress2(tj, grey, 320, 0, 240, TJPF_GRAY, &out, &len, TJSAMP_GRAY, 80, 0), 0);
    tjDestroy(tj);
    struct core_buf *b = NULL;
    ASSERT_EQ_INT(core_buf_from(&b, out, len), 0);
    tjFree(out);
    return b;
}

struct clip {
    struct core_buf *still, *left, *right;
    uint64_t seq;
    int64_t t;
};

static void clip_init(struct clip *c)
{
    c->still = picture(20);
    c->left = picture(60);
    c->right = picture(200);
    c->seq = 0;
    c->t = 100 * CORE_NS_PER_SEC;
}

static void clip_release(struct clip *c)
{
    // Only the clip's own references are left once the gate is gone.
    ASSERT_EQ_U64(core_buf_refcount(c->still), 1);
    ASSERT_EQ_U64(core_buf_refcount(c->left), 1);
    ASSERT_EQ_U64(core_buf_refcount(c->right), 1);
    core_buf_unref(c->still);
    core_buf_unref(c->left);
    core_buf_unref(c->right);
}

/* Feeds the next frame (b) 50 ms after the previous one. */
static enum mjd_motion_gate_action next(struct mjd_motion_gate *g, struct clip *c,
                                        struct core_buf *b)
{
    c->seq++;
    c->t += FRAME_NS;
    struct mjd_gate_frame f = { .jpeg = b, .seq = c->seq, .wall_ns = c->t, .mono_ns = c->t };
    return mjd_motion_gate_feed(g, &f);
}

TEST(motion_gate_holds_starts_with_the_pre_roll_posts_and_ends)
{
    struct clip c;
    clip_init(&c);
    struct mjd_motion_gate *g = NULL;
    // A pre-roll of 1 s (20 frames at 20 fps), a post-roll of 0.5 s.
    ASSERT_EQ_INT(mjd_motion_gate_create(&g, MJD_MOTION_DEFAULT_THRESHOLD, CORE_NS_PER_SEC,
                                         CORE_NS_PER_SEC / 2, 100),
                  0);
    for (int i = 0; i < 60; i++) {
        ASSERT_EQ_INT(next(g, &c, c.still), MJD_GATE_HOLD);
    }
    double score = -1;
    bool active = true;
    mjd_motion_gate_get(g, &score, &active);
    ASSERT_TRUE(score == 0.0 && !active);
    // The pre-roll keeps the last second: 21 frames (t-1 s .. t inclusive), not 60.
    ASSERT_EQ_U64(core_buf_refcount(c.still), 1 + 21);

    // The square jumps: motion starts with this frame; the pre-roll comes out oldest first.
    ASSERT_EQ_INT(next(g, &c, c.right), MJD_GATE_START);
    uint64_t start_seq = c.seq;
    struct mjd_gate_frame f;
    uint64_t prev = 0;
    int n = 0;
    while (mjd_motion_gate_pop_preroll(g, &f)) {
        ASSERT_TRUE(f.seq > prev && f.seq < start_seq);
        ASSERT_TRUE(c.t - f.mono_ns <= CORE_NS_PER_SEC);
        prev = f.seq;
        core_buf_unref(f.jpeg);
        n++;
    }
    ASSERT_EQ_INT(n, 20); // 1 s before the START frame, which is not in it
    ASSERT_EQ_U64(prev, start_seq - 1);
    mjd_motion_gate_get(g, &score, &active);
    ASSERT_TRUE(score > 5.0 && active);

    // It keeps moving for a second: written.
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ_INT(next(g, &c, (i & 1) ? c.right : c.left), MJD_GATE_WRITE);
    }
    // Then it holds still at `left`: written until the detector's hold and then the post-roll
    // are over, then one END, then HOLD again (never START: the scene stays still).
    int64_t still_from = c.t;
    int writes = 0;
    int ends = 0;
    int64_t end_t = 0;
    for (int i = 0; i < 200; i++) {
        enum mjd_motion_gate_action a = next(g, &c, c.left);
        if (ends == 0) {
            ASSERT_TRUE(a == MJD_GATE_WRITE || a == MJD_GATE_END);
        } else {
            ASSERT_EQ_INT(a, MJD_GATE_HOLD);
        }
        writes += a == MJD_GATE_WRITE;
        if (a == MJD_GATE_END) {
            ends++;
            end_t = c.t;
        }
    }
    ASSERT_EQ_INT(ends, 1);
    // At least the hold time plus the post-roll after motion stopped.
    ASSERT_TRUE(end_t - still_from >=
                (int64_t)MJD_MOTION_HOLD_MS * CORE_NS_PER_MS + CORE_NS_PER_SEC / 2);
    ASSERT_TRUE(writes > 0);
    mjd_motion_gate_get(g, &score, &active);
    ASSERT_TRUE(score < MJD_MOTION_DEFAULT_THRESHOLD && !active);
    mjd_motion_gate_destroy(g);
    clip_release(&c);
}

TEST(motion_gate_pre_roll_is_capped_and_can_be_off)
{
    struct clip c;
    clip_init(&c);
    struct mjd_motion_gate *g = NULL;
    // 10 s of pre-roll but room for 8 frames: the newest 8 are kept.
    ASSERT_EQ_INT(
            mjd_motion_gate_create(&g, MJD_MOTION_DEFAULT_THRESHOLD, 10 * CORE_NS_PER_SEC, 0, 8),
            0);
    for (int i = 0; i < 30; i++) {
        ASSERT_EQ_INT(next(g, &c, c.still), MJD_GATE_HOLD);
    }
    ASSERT_EQ_U64(core_buf_refcount(c.still), 1 + 8);
    ASSERT_EQ_INT(next(g, &c, c.right), MJD_GATE_START);
    struct mjd_gate_frame f;
    ASSERT_TRUE(mjd_motion_gate_pop_preroll(g, &f));
    ASSERT_EQ_U64(f.seq, c.seq - 8);
    core_buf_unref(f.jpeg);
    // Destroy drops the other 7.
    mjd_motion_gate_destroy(g);

    // No pre-roll at all: nothing is kept.
    ASSERT_EQ_INT(mjd_motion_gate_create(&g, MJD_MOTION_DEFAULT_THRESHOLD, 0, 0, 1), 0);
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ_INT(next(g, &c, c.still), MJD_GATE_HOLD);
    }
    ASSERT_EQ_U64(core_buf_refcount(c.still), 1);
    ASSERT_EQ_INT(next(g, &c, c.right), MJD_GATE_START);
    ASSERT_FALSE(mjd_motion_gate_pop_preroll(g, &f));
    mjd_motion_gate_destroy(g);
    mjd_motion_gate_destroy(NULL);

    struct mjd_motion_gate *bad = (struct mjd_motion_gate *)1;
    ASSERT_EQ_INT(mjd_motion_gate_create(&bad, 0.0, 0, 0, 1), -EINVAL);
    ASSERT_TRUE(bad == NULL);
    ASSERT_EQ_INT(mjd_motion_gate_create(&bad, 1.0, -1, 0, 1), -EINVAL);
    ASSERT_EQ_INT(mjd_motion_gate_create(&bad, 1.0, 0, 0, 0), -EINVAL);
    ASSERT_EQ_INT(mjd_motion_gate_create(&bad, 1.0, 0, 0, MJD_GATE_MAX_PREROLL_FRAMES + 1),
                  -EINVAL);
    clip_release(&c);
}

TEST(motion_gate_undecodable_frames_keep_the_state)
{
    struct clip c;
    clip_init(&c);
    struct core_buf *junk = NULL;
    ASSERT_EQ_INT(core_buf_from(&junk, "\xff\xd8not a jpeg", 12), 0);
    struct mjd_motion_gate *g = NULL;
    ASSERT_EQ_INT(mjd_motion_gate_create(&g, MJD_MOTION_DEFAULT_THRESHOLD, CORE_NS_PER_SEC,
                                         CORE_NS_PER_SEC, 64),
                  0);
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ_INT(next(g, &c, c.still), MJD_GATE_HOLD);
    }
    ASSERT_EQ_INT(next(g, &c, junk), MJD_GATE_HOLD); // still no motion: into the pre-roll
    ASSERT_EQ_INT(next(g, &c, c.right), MJD_GATE_START);
    ASSERT_EQ_INT(next(g, &c, junk), MJD_GATE_WRITE); // during motion: written
    mjd_motion_gate_destroy(g);
    ASSERT_EQ_U64(core_buf_refcount(junk), 1);
    core_buf_unref(junk);
    clip_release(&c);
}

// SPDX-License-Identifier: MIT
/* Unit tests for the recorder's threads: a slow disk drops frames, never blocks a publish. */
#include "../testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "archive/writer.h"
#include "core/buf.h"
#include "core/clock.h"
#include "mjpegd/config.h"
#include "mjpegd/hub.h"
#include "mjpegd/record/recorder.h"

/* The archive writer's step hook holds every fsync while `hold` is set: a disk that stalls. */
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hook_cond = PTHREAD_COND_INITIALIZER;
static bool hold;   /* guarded by hook_mu */
static int stalled; /* guarded by hook_mu: fsyncs that waited */

static void stall_fsync(const char *kind)
{
    if (strcmp(kind, "fsync") != 0) {
        return;
    }
    pthread_mutex_lock(&hook_mu);
    if (hold) {
        stalled++;
        pthread_cond_broadcast(&hook_cond);
        while (hold) {
            pthread_cond_wait(&hook_cond, &hook_mu);
        }
    }
    pthread_mutex_unlock(&hook_mu);
}

static int stalled_now(void)
{
    pthread_mutex_lock(&hook_mu);
    int n = stalled;
    pthread_mutex_unlock(&hook_mu);
    return n;
}

static void release(void)
{
    pthread_mutex_lock(&hook_mu);
    hold = false;
    pthread_cond_broadcast(&hook_cond);
    pthread_mutex_unlock(&hook_mu);
}

static void nap(void)
{
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
}

static uint64_t taken(struct mjd_recorder *r)
{
    struct mjd_recorder_stats st;
    mjd_recorder_get_stats(r, &st);
    return st.taken;
}

/* Polls until the recorder's tap has taken n frames (or fails after 10 s). */
static void wait_taken(struct mjd_recorder *r, uint64_t n)
{
    int64_t deadline = core_now_ns() + 10 * CORE_NS_PER_SEC;
    while (taken(r) < n) {
        ASSERT_TRUE(core_now_ns() < deadline);
        nap();
    }
}

static void publish(struct mjd_hub *hub, uint64_t seq)
{
    struct core_buf *b = NULL;
    ASSERT_OK(core_buf_create(&b, 64));
    memset(b->data, (int)seq, 64);
    b->data[0] = 0xff;
    b->data[1] = 0xd8;
    b->data[62] = 0xff;
    b->data[63] = 0xd9;
    ASSERT_TRUE(mjd_hub_publish(hub, b, seq, 1764755696000000000LL + (int64_t)seq * 33333333));
}

TEST(recorder_drops_and_counts_frames_while_the_disk_stalls)
{
    struct mjd_source_config conf;
    mjd_config_source_defaults(&conf);
    snprintf(conf.record_dir, sizeof(conf.record_dir), "%s/rec", test_tmpdir());
    conf.fps = 1;           // the queue holds its minimum, 16 frames
    conf.segment_ns = 1000; // every frame after the first ends the open segment (a commit)
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_recorder *r = NULL;
    ASSERT_OK(mjd_recorder_create(&r, &conf, 0, hub));
    hold = true;
    arc_set_step_hook(stall_fsync);
    ASSERT_OK(mjd_recorder_start(r));

    publish(hub, 1);
    wait_taken(r, 1);
    publish(hub, 2);
    wait_taken(r, 2);
    // Segment 1 ends (its time is up, or frame 2 ends it): its commit's fsync stalls the writer.
    int64_t deadline = core_now_ns() + 10 * CORE_NS_PER_SEC;
    while (stalled_now() == 0) {
        ASSERT_TRUE(core_now_ns() < deadline);
        nap();
    }
    // 38 more frames: the queue fills (16 frames), the rest are dropped; no publish waits.
    for (uint64_t s = 3; s <= 40; s++) {
        publish(hub, s);
        wait_taken(r, s);
    }
    struct mjd_recorder_stats st;
    mjd_recorder_get_stats(r, &st);
    ASSERT_TRUE(st.frames == 1 || st.frames == 2); // frame 2 queued, or written before the stall
    ASSERT_EQ_U64(st.dropped_queue, 40 - st.frames - 16);
    ASSERT_EQ_U64(st.dropped_missed, 0);
    uint64_t before = st.frames;

    release();
    mjd_recorder_stop(r); // writes what is queued, commits the open segment
    mjd_recorder_get_stats(r, &st);
    ASSERT_EQ_U64(st.frames, before + 16);
    ASSERT_EQ_U64(st.segments, st.frames); // one frame per segment here
    ASSERT_EQ_U64(st.dropped_queue + st.frames, 40);
    ASSERT_EQ_STR(st.error, "");
    ASSERT_EQ_STR(st.segment, "");
    arc_set_step_hook(NULL);
    mjd_recorder_destroy(r);
    mjd_hub_destroy(hub);
}

TEST(recorder_takes_every_frame_the_hub_still_holds_and_counts_the_rest)
{
    struct mjd_source_config conf;
    mjd_config_source_defaults(&conf);
    snprintf(conf.record_dir, sizeof(conf.record_dir), "%s/rec2", test_tmpdir());
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_recorder *r = NULL;
    ASSERT_OK(mjd_recorder_create(&r, &conf, 3, hub));
    // 20 frames published before the tap runs (a tap woken late): the hub's history holds the
    // last 16, which it takes; the 4 before them are counted as missed.
    for (uint64_t s = 1; s <= 20; s++) {
        publish(hub, s);
    }
    ASSERT_OK(mjd_recorder_start(r));
    wait_taken(r, 16);
    struct mjd_recorder_stats st;
    mjd_recorder_get_stats(r, &st);
    ASSERT_EQ_U64(st.dropped_missed, 4);
    mjd_recorder_stop(r);
    mjd_recorder_get_stats(r, &st);
    ASSERT_EQ_U64(st.frames, 16);
    ASSERT_EQ_U64(st.segments, 1);
    ASSERT_EQ_U64(st.dropped_queue, 0);
    mjd_recorder_destroy(r);
    mjd_hub_destroy(hub);
}

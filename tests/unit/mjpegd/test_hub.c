// SPDX-License-Identifier: MIT
/* Unit tests for the frame hub: publish order, latest, refcounts, wake-ups, counters. */
#include "../testlib.h"

#include <errno.h>
#include <fcntl.h>

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "mjpegd/hub.h"
#include "mjpegd/part.h"

static struct core_buf *frame_buf(unsigned char fill, size_t len)
{
    struct core_buf *b = NULL;
    if (core_buf_create(&b, len) != 0) {
        test_fail(__FILE__, __LINE__, "core_buf_create");
    }
    memset(b->data, fill, len);
    return b;
}

TEST(hub_empty_has_no_frame)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_frame f;
    ASSERT_FALSE(mjd_hub_latest(hub, &f));
    ASSERT_NULL(f.jpeg);
    ASSERT_EQ_U64(f.seq, 0);
    ASSERT_EQ_INT(mjd_hub_wait_first(hub, core_now_ns() + 10 * CORE_NS_PER_MS), -ETIMEDOUT);
    mjd_hub_destroy(hub);
}

TEST(hub_latest_shares_one_buffer)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct core_buf *b = frame_buf(1, 100);
    ASSERT_TRUE(mjd_hub_publish(hub, b, 1, 123456789));
    // The hub's reference only: no reader has asked for a part (the stream bytes) yet.
    ASSERT_EQ_INT(core_buf_refcount(b), 1);
    struct mjd_frame f1;
    struct mjd_frame f2;
    ASSERT_TRUE(mjd_hub_latest(hub, &f1));
    ASSERT_TRUE(mjd_hub_latest(hub, &f2));
    // No copy: every reader gets the same buffer, with its own reference.
    ASSERT_TRUE(f1.jpeg == b && f2.jpeg == b);
    ASSERT_EQ_INT(core_buf_refcount(b), 3);
    ASSERT_EQ_U64(f1.seq, 1);
    ASSERT_EQ_INT(f1.wall_ns, 123456789);
    ASSERT_OK(mjd_hub_wait_first(hub, core_now_ns()));
    core_buf_unref(f1.jpeg);
    core_buf_unref(f2.jpeg);
    ASSERT_EQ_INT(core_buf_refcount(b), 1);
    mjd_hub_destroy(hub);
}

TEST(hub_newer_frame_replaces_and_releases_the_old)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct core_buf *a = frame_buf(1, 10);
    struct core_buf *b = frame_buf(2, 20);
    ASSERT_TRUE(mjd_hub_publish(hub, a, 1, 0));
    struct mjd_frame held;
    ASSERT_TRUE(mjd_hub_latest(hub, &held));
    ASSERT_TRUE(mjd_hub_publish(hub, b, 2, 0));
    // The reader still holding frame 1 keeps it alive; the hub dropped its reference.
    ASSERT_EQ_INT(core_buf_refcount(a), 1);
    struct mjd_frame f;
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    ASSERT_TRUE(f.jpeg == b);
    ASSERT_EQ_U64(f.seq, 2);
    core_buf_unref(f.jpeg);
    core_buf_unref(held.jpeg);
    mjd_hub_destroy(hub);
}

TEST(hub_stale_frames_are_dropped)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(5, 10), 5, 0));
    ASSERT_FALSE(mjd_hub_publish(hub, frame_buf(4, 10), 4, 0));
    ASSERT_FALSE(mjd_hub_publish(hub, frame_buf(5, 10), 5, 0));
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(7, 10), 7, 0));
    struct mjd_frame f;
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    ASSERT_EQ_U64(f.seq, 7);
    ASSERT_EQ_INT(f.jpeg->data[0], 7);
    core_buf_unref(f.jpeg);
    struct mjd_hub_stats st;
    mjd_hub_get_stats(hub, &st);
    ASSERT_EQ_U64(st.dropped, 2);
    ASSERT_EQ_U64(st.published, 2);
    mjd_hub_destroy(hub);
}

TEST(hub_publish_wakes_every_loop)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    int e1 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int e2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_OK(mjd_hub_add_waker(hub, e1));
    ASSERT_OK(mjd_hub_add_waker(hub, e2));
    for (uint64_t s = 1; s <= 3; s++) {
        mjd_hub_publish(hub, frame_buf(0, 4), s, 0);
    }
    uint64_t v = 0;
    // Wake-ups coalesce: one read drains every pending one.
    ASSERT_EQ_INT(read(e1, &v, sizeof(v)), 8);
    ASSERT_EQ_U64(v, 3);
    ASSERT_EQ_INT(read(e2, &v, sizeof(v)), 8);
    ASSERT_EQ_U64(v, 3);
    ASSERT_EQ_INT(read(e1, &v, sizeof(v)), -1);
    mjd_hub_destroy(hub);
    close(e1);
    close(e2);
}

TEST(hub_counters)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    // Five frames read: one published, one stale, one busy, one encode error, one in flight;
    // one more read skipped (no buffer). Each counted once, by its fate.
    for (int i = 0; i < 5; i++) {
        mjd_hub_count_captured(hub);
    }
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(1, 10), 2, 0));
    ASSERT_FALSE(mjd_hub_publish(hub, frame_buf(2, 10), 1, 0));
    mjd_hub_count_dropped(hub, MJD_DROP_BUSY);
    mjd_hub_count_dropped(hub, MJD_DROP_ERROR);
    mjd_hub_count_skipped(hub);
    struct mjd_hub_stats st;
    mjd_hub_get_stats(hub, &st);
    ASSERT_EQ_U64(st.captured, 5);
    ASSERT_EQ_U64(st.published, 1);
    ASSERT_EQ_U64(st.dropped, 3);
    ASSERT_EQ_U64(st.dropped_by[MJD_DROP_BUSY], 1);
    ASSERT_EQ_U64(st.dropped_by[MJD_DROP_STALE], 1);
    ASSERT_EQ_U64(st.dropped_by[MJD_DROP_ERROR], 1);
    ASSERT_EQ_U64(st.in_flight, 1);
    ASSERT_EQ_U64(st.skipped, 1);
    ASSERT_EQ_U64(st.captured, st.published + st.dropped + st.in_flight);
    ASSERT_EQ_STR(mjd_hub_drop_reason_name(MJD_DROP_STALE), "stale");
    mjd_hub_destroy(hub);
}

struct publisher {
    struct mjd_hub *hub;
    uint64_t first;
    uint64_t step;
    uint64_t count;
};

static void *publish_many(void *arg)
{
    struct publisher *p = arg;
    for (uint64_t i = 0; i < p->count; i++) {
        struct core_buf *b = NULL;
        if (core_buf_create(&b, 64) == 0) {
            mjd_hub_publish(p->hub, b, p->first + i * p->step, 0);
        }
    }
    return NULL;
}

TEST(hub_concurrent_publish_and_read_keep_order)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct publisher p[2] = { { hub, 1, 2, 2000 }, { hub, 2, 2, 2000 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ_INT(pthread_create(&t[i], NULL, publish_many, &p[i]), 0);
    }
    uint64_t last = 0;
    for (int i = 0; i < 5000; i++) {
        struct mjd_frame f;
        if (mjd_hub_latest(hub, &f)) {
            ASSERT_CMP_INT(f.seq, >=, last);
            last = f.seq;
            core_buf_unref(f.jpeg);
        }
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    struct mjd_hub_stats st;
    mjd_hub_get_stats(hub, &st);
    ASSERT_EQ_U64(st.published + st.dropped, 4000);
    struct mjd_frame newest;
    ASSERT_TRUE(mjd_hub_latest(hub, &newest));
    ASSERT_EQ_U64(newest.seq, 4000);
    core_buf_unref(newest.jpeg);
    mjd_hub_destroy(hub);
}

TEST(hub_publish_makes_one_sealed_part_shared_by_readers)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct core_buf *a = frame_buf(1, 100);
    ASSERT_TRUE(mjd_hub_publish(hub, a, 1, 1500000000123456789));
    struct mjd_frame f1;
    struct mjd_frame f2;
    struct mjd_part *p1 = NULL;
    struct mjd_part *p2 = NULL;
    ASSERT_TRUE(mjd_hub_latest_part(hub, &f1, &p1));
    ASSERT_TRUE(mjd_hub_latest_part(hub, &f2, &p2));
    // One part per frame, shared: the same pointer, made from the same JPEG.
    ASSERT_TRUE(p1 != NULL && p1 == p2);
    ASSERT_TRUE(mjd_part_jpeg(p1) == a);
    int fd = mjd_part_fd(p1);
    ASSERT_TRUE(fd >= 0);
    int seals = fcntl(fd, F_GET_SEALS);
    ASSERT_TRUE((seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
                (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
    // A newer frame replaces the hub's part; the readers' one stays whole.
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(2, 50), 2, 0));
    ASSERT_EQ_INT(fcntl(fd, F_GET_SEALS), seals);
    ASSERT_EQ_U64(mjd_part_len(p1), mjd_part_len(p2));
    mjd_part_unref(p1);
    mjd_part_unref(p2);
    core_buf_unref(f1.jpeg);
    core_buf_unref(f2.jpeg);
    mjd_hub_destroy(hub);
}

TEST(hub_makes_a_part_only_for_a_source_someone_streams)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct core_buf *a = frame_buf(1, 100);
    struct core_buf *b = frame_buf(2, 100);
    struct core_buf *c = frame_buf(3, 100);
    core_buf_ref(a);
    core_buf_ref(b);
    core_buf_ref(c);
    // Nobody asked: the publish makes no part (the hub's reference and ours only).
    ASSERT_TRUE(mjd_hub_publish(hub, a, 1, 0));
    ASSERT_EQ_INT(core_buf_refcount(a), 2);
    // The first ask makes it, once: every later ask shares it.
    struct mjd_frame f;
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    struct mjd_part *p1 = mjd_hub_part(hub, &f);
    struct mjd_part *p2 = mjd_hub_part(hub, &f);
    ASSERT_TRUE(p1 != NULL && p1 == p2 && mjd_part_jpeg(p1) == a);
    ASSERT_TRUE(mjd_part_fd(p1) >= 0);
    mjd_part_unref(p2);
    // Someone streams: the next publish makes its part at once.
    ASSERT_TRUE(mjd_hub_publish(hub, b, 2, 0));
    ASSERT_EQ_INT(core_buf_refcount(b), 3);
    // The older frame's part, asked after that publish, is its own, not the hub's.
    struct mjd_part *old = mjd_hub_part(hub, &f);
    ASSERT_TRUE(old != NULL && old != p1 && mjd_part_jpeg(old) == a);
    mjd_part_unref(old);
    // Nobody asked for frame 2's part: frame 3 gets none until someone does.
    ASSERT_TRUE(mjd_hub_publish(hub, c, 3, 0));
    ASSERT_EQ_INT(core_buf_refcount(b), 1);
    ASSERT_EQ_INT(core_buf_refcount(c), 2);
    mjd_part_unref(p1);
    core_buf_unref(f.jpeg);
    ASSERT_EQ_INT(core_buf_refcount(a), 1);
    mjd_hub_destroy(hub);
    ASSERT_EQ_INT(core_buf_refcount(c), 1);
    core_buf_unref(a);
    core_buf_unref(b);
    core_buf_unref(c);
}

TEST(hub_part_flags_copy_only_makes_no_memfd)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    mjd_hub_set_part_flags(hub, MJD_PART_NO_MEMFD);
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(1, 100), 1, 0));
    struct mjd_frame f;
    struct mjd_part *p = NULL;
    ASSERT_TRUE(mjd_hub_latest_part(hub, &f, &p));
    ASSERT_TRUE(p != NULL);
    ASSERT_EQ_INT(mjd_part_fd(p), -1);
    mjd_part_unref(p);
    core_buf_unref(f.jpeg);
    mjd_hub_destroy(hub);
}

TEST(hub_frames_carry_their_publish_number)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_frame f;
    ASSERT_FALSE(mjd_hub_latest(hub, &f));
    ASSERT_EQ_U64(f.number, 0);
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(1, 10), 5, 0));
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    ASSERT_EQ_U64(f.number, 1);
    core_buf_unref(f.jpeg);
    // A stale frame is not published and does not count; a reader that saw 1 and then 3
    // missed one frame.
    ASSERT_FALSE(mjd_hub_publish(hub, frame_buf(2, 10), 4, 0));
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(3, 10), 9, 0));
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(4, 10), 12, 0));
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    ASSERT_EQ_U64(f.number, 3);
    ASSERT_EQ_U64(f.seq, 12);
    core_buf_unref(f.jpeg);
    mjd_hub_destroy(hub);
}

TEST(hub_history_gives_a_late_reader_every_frame_it_still_holds)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_frame fr[8];
    // No history: the newest frame only.
    ASSERT_EQ_INT(mjd_hub_since(hub, 0, fr, 8), 0);
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(1, 10), 1, 100));
    ASSERT_TRUE(mjd_hub_publish(hub, frame_buf(2, 10), 2, 200));
    ASSERT_EQ_INT(mjd_hub_since(hub, 0, fr, 8), 1);
    ASSERT_EQ_U64(fr[0].number, 2);
    core_buf_unref(fr[0].jpeg);
    ASSERT_EQ_INT(mjd_hub_since(hub, 2, fr, 8), 0);
    mjd_hub_destroy(hub);

    ASSERT_OK(mjd_hub_create(&hub));
    mjd_hub_keep_history(hub, 3);
    for (uint64_t s = 1; s <= 5; s++) {
        ASSERT_TRUE(mjd_hub_publish(hub, frame_buf((unsigned char)s, 10), s * 10, (int64_t)s));
    }
    ASSERT_FALSE(mjd_hub_publish(hub, frame_buf(9, 10), 7, 0)); // stale: not in the history
    // Since 0: the three it holds, oldest first (frames 1 and 2 are gone).
    ASSERT_EQ_INT(mjd_hub_since(hub, 0, fr, 8), 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_U64(fr[i].number, 3 + i);
        ASSERT_EQ_U64(fr[i].seq, (3 + i) * 10);
        ASSERT_EQ_INT(fr[i].wall_ns, 3 + i);
        ASSERT_EQ_INT(fr[i].jpeg->data[0], 3 + i);
        core_buf_unref(fr[i].jpeg);
    }
    // Since 4: frame 5 only; at most max.
    ASSERT_EQ_INT(mjd_hub_since(hub, 4, fr, 8), 1);
    ASSERT_EQ_U64(fr[0].number, 5);
    core_buf_unref(fr[0].jpeg);
    ASSERT_EQ_INT(mjd_hub_since(hub, 0, fr, 2), 2);
    ASSERT_EQ_U64(fr[0].number, 4);
    ASSERT_EQ_U64(fr[1].number, 5);
    core_buf_unref(fr[0].jpeg);
    core_buf_unref(fr[1].jpeg);
    ASSERT_EQ_INT(mjd_hub_since(hub, 5, fr, 8), 0);
    // The history holds one reference per frame: a frame it dropped is freed (ASan checks),
    // and destroy releases the rest.
    mjd_hub_destroy(hub);
}

// SPDX-License-Identifier: MIT
/* Tests for core/event: set/clear/wait/timed wait. */
#include "../testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/thread.h"

TEST(event_starts_cleared_and_times_out)
{
    struct core_event *ev;
    ASSERT_OK(core_event_create(&ev));
    ASSERT_FALSE(core_event_is_set(ev));
    int64_t t0 = core_now_ns();
    ASSERT_EQ_INT(core_event_timed_wait(ev, 30), -ETIMEDOUT);
    // A timed wait never returns before its deadline (it may return later on a busy machine).
    ASSERT_CMP_INT(core_now_ns() - t0, >=, 30 * CORE_NS_PER_MS);
    core_event_destroy(ev);
}

TEST(event_set_is_sticky_until_clear)
{
    struct core_event *ev;
    ASSERT_OK(core_event_create(&ev));
    core_event_set(ev);
    ASSERT_TRUE(core_event_is_set(ev));
    core_event_wait(ev);
    ASSERT_EQ_INT(core_event_timed_wait(ev, 0), 0);
    ASSERT_EQ_INT(core_event_timed_wait(ev, 1000), 0);
    core_event_clear(ev);
    ASSERT_FALSE(core_event_is_set(ev));
    ASSERT_EQ_INT(core_event_timed_wait(ev, 0), -ETIMEDOUT);
    core_event_destroy(ev);
}

TEST(event_destroy_accepts_null)
{
    core_event_destroy(NULL);
}

struct waiter {
    struct core_event *ev;
    atomic_int woke;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    core_event_wait(w->ev);
    atomic_fetch_add(&w->woke, 1);
    return NULL;
}

TEST(event_set_wakes_every_waiter)
{
    struct waiter w = { .woke = 0 };
    ASSERT_OK(core_event_create(&w.ev));
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        ASSERT_OK(core_thread_start(&t[i], "waiter", wait_thread, &w));
    }
    struct timespec nap = { 0, 20 * 1000 * 1000 };
    nanosleep(&nap, NULL);
    ASSERT_EQ_INT(atomic_load(&w.woke), 0);
    core_event_set(w.ev);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
    }
    ASSERT_EQ_INT(atomic_load(&w.woke), 8);
    core_event_destroy(w.ev);
}

struct pingpong {
    struct core_event *ping, *pong;
    int rounds;
    int counter; /* written by each side only while the other waits */
};

static void *pong_thread(void *arg)
{
    struct pingpong *p = arg;
    for (int i = 0; i < p->rounds; i++) {
        core_event_wait(p->ping);
        core_event_clear(p->ping);
        p->counter++;
        core_event_set(p->pong);
    }
    return NULL;
}

/* The seed's converter/packer handshake: two events, each side waits for the other. */
TEST(event_ping_pong_handshake)
{
    struct pingpong p = { .rounds = 2000 };
    ASSERT_OK(core_event_create(&p.ping));
    ASSERT_OK(core_event_create(&p.pong));
    pthread_t t;
    ASSERT_OK(core_thread_start(&t, "pong", pong_thread, &p));
    for (int i = 0; i < p.rounds; i++) {
        p.counter++;
        core_event_set(p.ping);
        core_event_wait(p.pong);
        core_event_clear(p.pong);
    }
    pthread_join(t, NULL);
    ASSERT_EQ_INT(p.counter, 2 * p.rounds);
    core_event_destroy(p.ping);
    core_event_destroy(p.pong);
}

static void *set_later(void *arg)
{
    struct timespec nap = { 0, 30 * 1000 * 1000 };
    nanosleep(&nap, NULL);
    core_event_set(arg);
    return NULL;
}

TEST(event_timed_wait_returns_when_set_before_deadline)
{
    struct core_event *ev;
    ASSERT_OK(core_event_create(&ev));
    pthread_t t;
    ASSERT_OK(core_thread_start(&t, "setter", set_later, ev));
    ASSERT_EQ_INT(core_event_timed_wait(ev, 60 * 1000), 0);
    pthread_join(t, NULL);
    ASSERT_EQ_INT(core_event_wait_until(ev, core_now_ns() - 1), 0);
    core_event_destroy(ev);
}

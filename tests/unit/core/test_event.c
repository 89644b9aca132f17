// SPDX-License-Identifier: MIT
/* Tests for core/event: set/clear/wait/timed wait. */
#include "../testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/event.h"
#include "core/thread.h"
#include "core_test.h"

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

static void *pulse_later(void *arg)
{
    struct core_event *ev = arg;
    while (core_event_waiters(ev) == 0) {
        nap_ms(1);
    }
    core_event_set(ev);
    core_event_clear(ev);
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

struct pulse {
    struct core_event *ev;
    atomic_bool stop;
    struct pulsed {
        struct pulse *p;
        atomic_int woke; /* returns from wait: one per pulse at least, more if it saw the flag */
    } w[4];
};

static void *pulse_waiter(void *arg)
{
    struct pulsed *w = arg;
    for (;;) {
        core_event_wait(w->p->ev);
        if (atomic_load(&w->p->stop)) {
            return NULL;
        }
        atomic_fetch_add(&w->woke, 1);
    }
}

static bool all_woke(struct pulse *p, int n)
{
    for (size_t i = 0; i < CORE_ARRAY_SIZE(p->w); i++) {
        if (atomic_load(&p->w[i].woke) < n) {
            return false;
        }
    }
    return true;
}

/* Issue 9, fault 1: a set(); clear(); pulse wakes every thread blocked at the time of set(). */
TEST(event_set_clear_pulse_wakes_every_blocked_waiter)
{
    enum {
        PULSES = 20
    };
    static struct pulse p;
    ASSERT_OK(core_event_create(&p.ev));
    size_t nw = CORE_ARRAY_SIZE(p.w);
    pthread_t t[CORE_ARRAY_SIZE(p.w)];
    for (size_t i = 0; i < nw; i++) {
        p.w[i].p = &p;
        ASSERT_OK(core_thread_start(&t[i], "pulsed", pulse_waiter, &p.w[i]));
    }
    for (int i = 0; i < PULSES; i++) {
        // Every waiter is blocked inside wait (counted under the event's mutex) before the pulse.
        WAIT_FOR(core_event_waiters(p.ev) == nw, 5);
        core_event_set(p.ev);
        core_event_clear(p.ev);
        WAIT_FOR(all_woke(&p, i + 1), 5);
    }
    atomic_store(&p.stop, true);
    core_event_set(p.ev);
    for (size_t i = 0; i < nw; i++) {
        pthread_join(t[i], NULL);
    }
    core_event_destroy(p.ev);
}

/* A pulse also ends a timed wait with 0, not -ETIMEDOUT. */
TEST(event_pulse_ends_a_timed_wait_with_success)
{
    static struct core_event *ev;
    ASSERT_OK(core_event_create(&ev));
    pthread_t t;
    ASSERT_OK(core_thread_start(&t, "pulser", pulse_later, ev));
    ASSERT_EQ_INT(core_event_wait_until(ev, test_deadline(5)), 0);
    pthread_join(t, NULL);
    ASSERT_FALSE(core_event_is_set(ev));
    core_event_destroy(ev);
}

struct timed {
    struct core_event *ev;
    int64_t timeout_ms;
    atomic_int rc;
    atomic_bool done;
};

static void *timed_waiter(void *arg)
{
    struct timed *w = arg;
    atomic_store(&w->rc, core_event_timed_wait(w->ev, w->timeout_ms));
    atomic_store(&w->done, true);
    return NULL;
}

/*
 * Issue 9, fault 4: a timeout too large for nanoseconds saturates to "for ever" (it used to
 * overflow, which UBSan reports and which made the wait return -ETIMEDOUT at once), and a
 * negative timeout waits for ever, as in the rest of the core (it used to mean "poll").
 */
TEST(event_huge_and_negative_timeouts_wait_until_set)
{
    static const int64_t timeouts[] = {
        INT64_MAX,
        INT64_MAX / CORE_NS_PER_MS + 1,
        18446744073710LL /* wraps to +0.4 ms */,
        CORE_TIMEOUT_INFINITE,
        -12345,
    };
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        static struct timed w;
        ASSERT_OK(core_event_create(&w.ev));
        w.timeout_ms = timeouts[i];
        atomic_store(&w.done, false);
        atomic_store(&w.rc, 1);
        pthread_t t;
        ASSERT_OK(core_thread_start(&t, "timed", timed_waiter, &w));
        // Let the waiter block (or return early, which is the fault), then set.
        int64_t until = core_now_ns() + 50 * CORE_NS_PER_MS;
        while (core_event_waiters(w.ev) == 0 && !atomic_load(&w.done)) {
            nap_ms(1);
        }
        while (!atomic_load(&w.done) && core_now_ns() < until) {
            nap_ms(1);
        }
        core_event_set(w.ev);
        pthread_join(t, NULL);
        ASSERT_EQ_INT(atomic_load(&w.rc), 0);
        ASSERT_EQ_INT(core_event_wait_until(w.ev, CORE_DEADLINE_NEVER), 0);
        core_event_destroy(w.ev);
    }
}

TEST(event_zero_timeout_polls)
{
    struct core_event *ev;
    ASSERT_OK(core_event_create(&ev));
    ASSERT_EQ_INT(core_event_timed_wait(ev, 0), -ETIMEDOUT);
    ASSERT_EQ_INT(core_event_wait_until(ev, 0), -ETIMEDOUT);
    ASSERT_EQ_INT(core_event_waiters(ev), 0);
    core_event_set(ev);
    ASSERT_EQ_INT(core_event_timed_wait(ev, 0), 0);
    core_event_destroy(ev);
}

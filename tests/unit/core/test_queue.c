// SPDX-License-Identifier: MIT
/* Tests for core/queue: FIFO order, try variants, deadlines, close, and MPMC stress. */
#include "../testlib.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "core/queue.h"
#include "core/thread.h"

#define ITEM(i) ((void *)(uintptr_t)(i))

TEST(queue_rejects_zero_capacity)
{
    struct core_queue *q = ITEM(1);
    ASSERT_EQ_INT(core_queue_create(&q, 0), -EINVAL);
    ASSERT_NULL(q);
}

TEST(queue_is_fifo_and_wraps)
{
    struct core_queue *q;
    ASSERT_OK(core_queue_create(&q, 3));
    ASSERT_EQ_INT(core_queue_capacity(q), 3);
    for (uintptr_t round = 0; round < 5; round++) {
        for (uintptr_t i = 1; i <= 3; i++) {
            ASSERT_OK(core_queue_try_push(q, ITEM(round * 10 + i)));
        }
        ASSERT_EQ_INT(core_queue_len(q), 3);
        ASSERT_EQ_INT(core_queue_try_push(q, ITEM(99)), -EAGAIN);
        for (uintptr_t i = 1; i <= 3; i++) {
            void *v = NULL;
            ASSERT_OK(core_queue_try_pop(q, &v));
            ASSERT_EQ_INT((uintptr_t)v, round * 10 + i);
        }
        void *v;
        ASSERT_EQ_INT(core_queue_try_pop(q, &v), -EAGAIN);
    }
    core_queue_destroy(q);
}

TEST(queue_deadlines_time_out)
{
    struct core_queue *q;
    ASSERT_OK(core_queue_create(&q, 1));
    void *v;
    ASSERT_EQ_INT(core_queue_pop_until(q, &v, core_now_ns() + 20 * CORE_NS_PER_MS), -ETIMEDOUT);
    ASSERT_OK(core_queue_push(q, ITEM(7)));
    ASSERT_EQ_INT(core_queue_push_until(q, ITEM(8), core_now_ns() + 20 * CORE_NS_PER_MS),
                  -ETIMEDOUT);
    ASSERT_OK(core_queue_pop_until(q, &v, core_now_ns() + CORE_NS_PER_SEC));
    ASSERT_EQ_INT((uintptr_t)v, 7);
    core_queue_destroy(q);
}

TEST(queue_close_drains_then_fails)
{
    struct core_queue *q;
    ASSERT_OK(core_queue_create(&q, 4));
    ASSERT_OK(core_queue_push(q, ITEM(1)));
    ASSERT_OK(core_queue_push(q, ITEM(2)));
    core_queue_close(q);
    core_queue_close(q); // idempotent
    ASSERT_EQ_INT(core_queue_push(q, ITEM(3)), -EPIPE);
    ASSERT_EQ_INT(core_queue_try_push(q, ITEM(3)), -EPIPE);
    void *v;
    ASSERT_OK(core_queue_pop(q, &v));
    ASSERT_EQ_INT((uintptr_t)v, 1);
    ASSERT_OK(core_queue_try_pop(q, &v));
    ASSERT_EQ_INT((uintptr_t)v, 2);
    ASSERT_EQ_INT(core_queue_pop(q, &v), -EPIPE);
    ASSERT_EQ_INT(core_queue_try_pop(q, &v), -EPIPE);
    core_queue_destroy(q);
}

TEST(queue_destroy_accepts_null)
{
    core_queue_destroy(NULL);
}

struct blocked {
    struct core_queue *q;
    atomic_int returned;
    atomic_int epipe;
};

static void *blocked_pop(void *arg)
{
    struct blocked *b = arg;
    void *v;
    int rc = core_queue_pop(b->q, &v);
    atomic_fetch_add(&b->epipe, rc == -EPIPE);
    atomic_fetch_add(&b->returned, 1);
    return NULL;
}

static void *blocked_push(void *arg)
{
    struct blocked *b = arg;
    int rc = core_queue_push(b->q, ITEM(5));
    atomic_fetch_add(&b->epipe, rc == -EPIPE);
    atomic_fetch_add(&b->returned, 1);
    return NULL;
}

TEST(queue_close_wakes_blocked_consumers)
{
    struct blocked b = { .returned = 0, .epipe = 0 };
    ASSERT_OK(core_queue_create(&b.q, 2));
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        ASSERT_OK(core_thread_start(&t[i], "popper", blocked_pop, &b));
    }
    struct timespec nap = { 0, 30 * 1000 * 1000 };
    nanosleep(&nap, NULL);
    ASSERT_EQ_INT(atomic_load(&b.returned), 0);
    core_queue_close(b.q);
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
    }
    ASSERT_EQ_INT(atomic_load(&b.epipe), 6);
    core_queue_destroy(b.q);
}

TEST(queue_close_wakes_blocked_producers)
{
    struct blocked b = { .returned = 0, .epipe = 0 };
    ASSERT_OK(core_queue_create(&b.q, 1));
    ASSERT_OK(core_queue_push(b.q, ITEM(1)));
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        ASSERT_OK(core_thread_start(&t[i], "pusher", blocked_push, &b));
    }
    struct timespec nap = { 0, 30 * 1000 * 1000 };
    nanosleep(&nap, NULL);
    ASSERT_EQ_INT(atomic_load(&b.returned), 0);
    core_queue_close(b.q);
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
    }
    ASSERT_EQ_INT(atomic_load(&b.epipe), 6);
    void *v;
    ASSERT_OK(core_queue_pop(b.q, &v)); // the item queued before close is still there
    core_queue_destroy(b.q);
}

/* ---- N producers x M consumers with checksums ---------------------------------------------- */

struct stress {
    struct core_queue *q;
    int per_producer;
    bool use_try;
    bool use_until; /* push_until, and pop_until in every other consumer, with 1 ms deadlines */
    atomic_uint_fast64_t produced_sum;
    atomic_uint_fast64_t consumed_sum;
    atomic_uint_fast64_t consumed_count;
    atomic_int next_id;
    atomic_int next_consumer;
    uint32_t last_seq[16]; /* per producer: consumers check per-producer FIFO order */
    pthread_mutex_t order_mu;
    atomic_int order_errors;
};

static void *producer(void *arg)
{
    struct stress *s = arg;
    uint64_t id = (uint64_t)atomic_fetch_add(&s->next_id, 1);
    uint64_t sum = 0;
    for (int i = 1; i <= s->per_producer; i++) {
        uint64_t item = (id << 32) | (uint64_t)i;
        if (s->use_try) {
            while (core_queue_try_push(s->q, ITEM(item)) == -EAGAIN) {
                sched_yield();
            }
        } else if (s->use_until) {
            while (core_queue_push_until(s->q, ITEM(item), core_now_ns() + CORE_NS_PER_MS) ==
                   -ETIMEDOUT) {
            }
        } else if (core_queue_push(s->q, ITEM(item)) != 0) {
            break;
        }
        sum += item;
    }
    atomic_fetch_add(&s->produced_sum, sum);
    return NULL;
}

static void *consumer(void *arg)
{
    struct stress *s = arg;
    void *v;
    bool timed = s->use_until && atomic_fetch_add(&s->next_consumer, 1) % 2 == 0;
    for (;;) {
        int rc = timed ? core_queue_pop_until(s->q, &v, core_now_ns() + CORE_NS_PER_MS)
                       : core_queue_pop(s->q, &v);
        if (rc == -ETIMEDOUT) {
            continue;
        }
        if (rc != 0) {
            break;
        }
        uint64_t item = (uint64_t)(uintptr_t)v;
        uint32_t id = (uint32_t)(item >> 32), seq = (uint32_t)item;
        pthread_mutex_lock(&s->order_mu);
        // With several consumers, pops of one producer's items can complete out of order
        // only between consumers; a single consumer must see strictly increasing sequences.
        if (seq <= s->last_seq[id]) {
            atomic_fetch_add(&s->order_errors, 1);
        }
        if (seq > s->last_seq[id]) {
            s->last_seq[id] = seq;
        }
        pthread_mutex_unlock(&s->order_mu);
        atomic_fetch_add(&s->consumed_sum, item);
        atomic_fetch_add(&s->consumed_count, 1);
    }
    return NULL;
}

enum mode {
    BLOCKING,
    TRY,
    UNTIL
};

static void run_stress(size_t capacity, int producers, int consumers, int per_producer,
                       enum mode mode)
{
    static struct stress s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.order_mu, NULL);
    s.per_producer = per_producer;
    s.use_try = mode == TRY;
    s.use_until = mode == UNTIL;
    ASSERT_OK(core_queue_create(&s.q, capacity));
    pthread_t p[16], c[16];
    for (int i = 0; i < consumers; i++) {
        ASSERT_OK(core_thread_start(&c[i], "consumer", consumer, &s));
    }
    for (int i = 0; i < producers; i++) {
        ASSERT_OK(core_thread_start(&p[i], "producer", producer, &s));
    }
    for (int i = 0; i < producers; i++) {
        pthread_join(p[i], NULL);
    }
    core_queue_close(s.q);
    for (int i = 0; i < consumers; i++) {
        pthread_join(c[i], NULL);
    }
    ASSERT_EQ_U64(atomic_load(&s.consumed_count), (uint64_t)producers * (uint64_t)per_producer);
    ASSERT_EQ_U64(atomic_load(&s.consumed_sum), atomic_load(&s.produced_sum));
    if (consumers == 1) {
        ASSERT_EQ_INT(atomic_load(&s.order_errors), 0);
    }
    core_queue_destroy(s.q);
    pthread_mutex_destroy(&s.order_mu);
}

TEST_WITH_TIMEOUT(queue_stress_capacity_1_4x4, 60)
{
    run_stress(1, 4, 4, 5000, BLOCKING);
}

TEST_WITH_TIMEOUT(queue_stress_capacity_1024_4x4, 60)
{
    run_stress(1024, 4, 4, 20000, BLOCKING);
}

TEST_WITH_TIMEOUT(queue_stress_capacity_1_8x1_keeps_per_producer_order, 60)
{
    run_stress(1, 8, 1, 2000, BLOCKING);
}

TEST_WITH_TIMEOUT(queue_stress_try_push_capacity_1024_3x2, 60)
{
    run_stress(1024, 3, 2, 20000, TRY);
}

/*
 * Waiters that time out and retry, beside waiters that do not: the queue signals only counted
 * waiters, so a count left wrong by a timeout would lose a wake-up and hang a blocking peer.
 */
TEST_WITH_TIMEOUT(queue_stress_timed_waits_capacity_2_3x3, 60)
{
    run_stress(2, 3, 3, 3000, UNTIL);
}

// SPDX-License-Identifier: MIT
/* Unit tests for connection accounting: streaming limits and the pending set with eviction. */
#include "../testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "mjpegd/limits.h"

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &in6->sin6_addr);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

TEST(limits_max_clients)
{
    struct mjd_limits *lim = NULL;
    ASSERT_OK(mjd_limits_create(&lim, 3, 0));
    struct sockaddr_storage a = v4("10.0.0.1");
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(mjd_limits_acquire(lim, SA(a)));
    }
    ASSERT_EQ_INT(mjd_limits_acquire(lim, SA(a)), -EBUSY);
    ASSERT_EQ_INT(mjd_limits_streaming(lim), 3);
    mjd_limits_release(lim, SA(a));
    ASSERT_OK(mjd_limits_acquire(lim, SA(a)));
    ASSERT_EQ_INT(mjd_limits_total(lim), 4);
    for (int i = 0; i < 3; i++) {
        mjd_limits_release(lim, SA(a));
    }
    ASSERT_EQ_INT(mjd_limits_streaming(lim), 0);
    mjd_limits_destroy(lim);
}

TEST(limits_per_ip)
{
    struct mjd_limits *lim = NULL;
    ASSERT_OK(mjd_limits_create(&lim, 100, 2));
    struct sockaddr_storage a = v4("10.0.0.1");
    struct sockaddr_storage b = v4("10.0.0.2");
    struct sockaddr_storage a6 = v6("::ffff:10.0.0.1");
    struct sockaddr_storage c6 = v6("2001:db8::1");
    ASSERT_OK(mjd_limits_acquire(lim, SA(a)));
    ASSERT_OK(mjd_limits_acquire(lim, SA(a)));
    ASSERT_EQ_INT(mjd_limits_acquire(lim, SA(a)), -EUSERS);
    // The IPv4-mapped form of the same address shares its count.
    ASSERT_EQ_INT(mjd_limits_acquire(lim, SA(a6)), -EUSERS);
    ASSERT_OK(mjd_limits_acquire(lim, SA(b)));
    ASSERT_OK(mjd_limits_acquire(lim, SA(c6)));
    ASSERT_OK(mjd_limits_acquire(lim, SA(c6)));
    ASSERT_EQ_INT(mjd_limits_acquire(lim, SA(c6)), -EUSERS);
    ASSERT_EQ_INT(mjd_limits_streaming(lim), 5);
    mjd_limits_release(lim, SA(a));
    ASSERT_OK(mjd_limits_acquire(lim, SA(a6)));
    ASSERT_EQ_INT(mjd_limits_total(lim), 6);
    mjd_limits_destroy(lim);
}

TEST(limits_per_ip_refusal_does_not_count)
{
    struct mjd_limits *lim = NULL;
    ASSERT_OK(mjd_limits_create(&lim, 2, 1));
    struct sockaddr_storage a = v4("127.0.0.1");
    ASSERT_OK(mjd_limits_acquire(lim, SA(a)));
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ_INT(mjd_limits_acquire(lim, SA(a)), -EUSERS);
    }
    ASSERT_EQ_INT(mjd_limits_streaming(lim), 1);
    ASSERT_EQ_INT(mjd_limits_total(lim), 1);
    mjd_limits_release(lim, SA(a));
    ASSERT_EQ_INT(mjd_limits_streaming(lim), 0);
    mjd_limits_destroy(lim);
}

TEST(pending_evicts_the_oldest_when_full)
{
    struct mjd_pending p;
    struct mjd_pending_node n[5];
    memset(n, 0, sizeof(n));
    mjd_pending_init(&p, 3, 1000);
    ASSERT_NULL(mjd_pending_add(&p, &n[0], 1, NULL, NULL, 1));
    ASSERT_NULL(mjd_pending_add(&p, &n[1], 2, NULL, NULL, 1));
    ASSERT_NULL(mjd_pending_add(&p, &n[2], 3, NULL, NULL, 1));
    ASSERT_EQ_INT(p.count, 3);
    ASSERT_TRUE(mjd_pending_add(&p, &n[3], 4, NULL, NULL, 1) == &n[0]);
    ASSERT_EQ_INT(p.count, 3);
    // Removing one makes room: no eviction for the next.
    mjd_pending_remove(&p, &n[2]);
    mjd_pending_remove(&p, &n[2]);
    ASSERT_EQ_INT(p.count, 2);
    ASSERT_NULL(mjd_pending_add(&p, &n[4], 5, NULL, NULL, 1));
    ASSERT_TRUE(mjd_pending_pop_oldest(&p) == &n[1]);
    ASSERT_TRUE(mjd_pending_pop_oldest(&p) == &n[3]);
    ASSERT_TRUE(mjd_pending_pop_oldest(&p) == &n[4]);
    ASSERT_NULL(mjd_pending_pop_oldest(&p));
}

TEST(pending_deadline_is_total_from_add)
{
    struct mjd_pending p;
    struct mjd_pending_node n[3];
    memset(n, 0, sizeof(n));
    mjd_pending_init(&p, 10, 100);
    mjd_pending_add(&p, &n[0], 0, NULL, NULL, 1);
    mjd_pending_add(&p, &n[1], 50, NULL, NULL, 1);
    mjd_pending_add(&p, &n[2], 60, NULL, NULL, 1);
    ASSERT_EQ_INT(n[1].deadline_ns, 150);
    ASSERT_NULL(mjd_pending_pop_expired(&p, 99));
    ASSERT_TRUE(mjd_pending_pop_expired(&p, 100) == &n[0]);
    ASSERT_NULL(mjd_pending_pop_expired(&p, 149));
    ASSERT_TRUE(mjd_pending_pop_expired(&p, 1000) == &n[1]);
    ASSERT_TRUE(mjd_pending_pop_expired(&p, 1000) == &n[2]);
    ASSERT_NULL(mjd_pending_pop_expired(&p, 1000));
    ASSERT_EQ_INT(p.count, 0);
}

TEST(pending_flood_keeps_the_newest)
{
    enum {
        CAP = 16,
        FLOOD = 1000
    };
    struct mjd_pending p;
    static struct mjd_pending_node n[FLOOD];
    memset(n, 0, sizeof(n));
    mjd_pending_init(&p, CAP, 1000000);
    size_t evicted = 0;
    for (int i = 0; i < FLOOD; i++) {
        if (mjd_pending_add(&p, &n[i], i, NULL, NULL, 1) != NULL) {
            evicted++;
        }
    }
    ASSERT_EQ_INT(evicted, FLOOD - CAP);
    ASSERT_EQ_INT(p.count, CAP);
    // The newest CAP are left, oldest first.
    for (int i = FLOOD - CAP; i < FLOOD; i++) {
        ASSERT_TRUE(mjd_pending_pop_oldest(&p) == &n[i]);
    }
    ASSERT_NULL(mjd_pending_pop_oldest(&p));
}

static bool not_busy(struct mjd_pending_node *n, void *ctx)
{
    const struct mjd_pending_node *busy = ctx;
    return n != &busy[0] && n != &busy[1];
}

TEST(pending_eviction_passes_over_busy_connections)
{
    struct mjd_pending p;
    struct mjd_pending_node n[6];
    memset(n, 0, sizeof(n));
    mjd_pending_init(&p, 3, 1000);
    for (int i = 0; i < 3; i++) {
        ASSERT_NULL(mjd_pending_add(&p, &n[i], i, not_busy, n, 8));
    }
    // n[0] and n[1] have unread input: the oldest idle one, n[2], goes instead.
    ASSERT_TRUE(mjd_pending_add(&p, &n[3], 3, not_busy, n, 8) == &n[2]);
    ASSERT_EQ_INT(p.count, 3);
    // The scan limit: only n[0] is looked at, and it is busy: nothing is evicted.
    ASSERT_NULL(mjd_pending_add(&p, &n[4], 4, not_busy, n, 1));
    ASSERT_EQ_INT(p.count, 4);
    // Without a predicate the oldest goes.
    ASSERT_TRUE(mjd_pending_add(&p, &n[5], 5, NULL, NULL, 1) == &n[0]);
    ASSERT_EQ_INT(p.count, 4);
    // The busy n[1] stayed, in order.
    ASSERT_TRUE(mjd_pending_pop_oldest(&p) == &n[1]);
    ASSERT_TRUE(mjd_pending_pop_oldest(&p) == &n[3]);
}

static bool never(struct mjd_pending_node *n, void *ctx)
{
    (void)n;
    (void)ctx;
    return false;
}

TEST(pending_trim_restores_the_cap)
{
    struct mjd_pending p;
    struct mjd_pending_node n[5];
    memset(n, 0, sizeof(n));
    mjd_pending_init(&p, 2, 1000);
    // Nothing evictable yet (all too young, say): adds past the cap evict nothing.
    for (int i = 0; i < 5; i++) {
        ASSERT_NULL(mjd_pending_add(&p, &n[i], 10 * i, never, NULL, 8));
    }
    ASSERT_EQ_INT(p.count, 5);
    ASSERT_EQ_INT(mjd_pending_added_ns(&p, &n[3]), 30);
    // Later only n[0] and n[1] are busy: trimming takes the oldest idle ones down to the cap.
    ASSERT_TRUE(mjd_pending_trim(&p, not_busy, n, 8) == &n[2]);
    ASSERT_TRUE(mjd_pending_trim(&p, not_busy, n, 8) == &n[3]);
    ASSERT_TRUE(mjd_pending_trim(&p, not_busy, n, 8) == &n[4]);
    ASSERT_NULL(mjd_pending_trim(&p, not_busy, n, 8));
    ASSERT_EQ_INT(p.count, 2);
    ASSERT_NULL(mjd_pending_trim(&p, NULL, NULL, 8));
}

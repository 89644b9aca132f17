// SPDX-License-Identifier: MIT
/* Unit tests for sd_notify (path and abstract sockets, the watchdog period) and the watchdog. */
#include "../testlib.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "mjpegd/hub.h"
#include "mjpegd/notify.h"
#include "mjpegd/watchdog.h"

/* A datagram socket bound to name ("/path" or "@abstract"), as systemd listens. */
static int listen_dgram(const char *name)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (name[0] == '@') {
        sa.sun_path[0] = '\0';
    } else {
        len++;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0) {
        test_fail(__FILE__, __LINE__, "cannot bind %s: %s", name, strerror(errno));
    }
    return fd;
}

/* Receives one datagram into buf within timeout_ms (scaled): its length, or -1. */
static int recv_within(int fd, char *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, timeout_ms * test_timeout_multiplier()) != 1) {
        return -1;
    }
    ssize_t n = recv(fd, buf, cap - 1, 0);
    if (n < 0) {
        return -1;
    }
    buf[n] = '\0';
    return (int)n;
}

/* Reads every datagram already queued; returns how many said WATCHDOG=1 (fails on others). */
static int drain_pings(int fd)
{
    char buf[256];
    int pings = 0;
    while (recv_within(fd, buf, sizeof(buf), 0) >= 0) {
        ASSERT_EQ_STR(buf, "WATCHDOG=1");
        pings++;
    }
    return pings;
}

TEST(notify_without_notify_socket_does_nothing)
{
    unsetenv("NOTIFY_SOCKET");
    ASSERT_EQ_INT(mjd_notify_send("READY=1"), 1);
    setenv("NOTIFY_SOCKET", "", 1);
    ASSERT_EQ_INT(mjd_notify_send("READY=1"), 1);
}

TEST(notify_sends_one_datagram_to_a_path_socket)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/notify", test_tmpdir());
    int fd = listen_dgram(path);
    setenv("NOTIFY_SOCKET", path, 1);
    ASSERT_OK(mjd_notify_send("READY=1\nSTATUS=listening on 127.0.0.1:8080"));
    char buf[256];
    ASSERT_CMP_INT(recv_within(fd, buf, sizeof(buf), 2000), >, 0);
    ASSERT_EQ_STR(buf, "READY=1\nSTATUS=listening on 127.0.0.1:8080");
    close(fd);
    unlink(path);
    // Nobody listens any more: an error, not a hang or a crash.
    ASSERT_CMP_INT(mjd_notify_send("STOPPING=1"), <, 0);
}

TEST(notify_sends_to_an_abstract_socket)
{
    char name[64];
    snprintf(name, sizeof(name), "@mjpegd-test-notify-%d", (int)getpid());
    int fd = listen_dgram(name);
    setenv("NOTIFY_SOCKET", name, 1);
    ASSERT_OK(mjd_notify_send("STOPPING=1"));
    char buf[64];
    ASSERT_CMP_INT(recv_within(fd, buf, sizeof(buf), 2000), >, 0);
    ASSERT_EQ_STR(buf, "STOPPING=1");
    close(fd);
}

TEST(notify_rejects_addresses_it_cannot_use)
{
    setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
    ASSERT_EQ_INT(mjd_notify_send("READY=1"), -EINVAL);
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    setenv("NOTIFY_SOCKET", longpath, 1);
    ASSERT_EQ_INT(mjd_notify_send("READY=1"), -ENAMETOOLONG);
    setenv("NOTIFY_SOCKET", "@", 1);
    ASSERT_EQ_INT(mjd_notify_send("READY=1"), -ENAMETOOLONG);
}

TEST(notify_watchdog_period_honours_watchdog_pid)
{
    unsetenv("WATCHDOG_PID");
    unsetenv("WATCHDOG_USEC");
    ASSERT_EQ_INT(mjd_notify_watchdog_ns(), 0);
    setenv("WATCHDOG_USEC", "5000000", 1);
    ASSERT_EQ_INT(mjd_notify_watchdog_ns(), 5 * CORE_NS_PER_SEC);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    ASSERT_EQ_INT(mjd_notify_watchdog_ns(), 5 * CORE_NS_PER_SEC);
    snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    ASSERT_EQ_INT(mjd_notify_watchdog_ns(), 0);
    unsetenv("WATCHDOG_PID");
    const char *bad[] = { "0", "-5", "abc", "12x", "99999999999999999999999" };
    for (size_t i = 0; i < CORE_ARRAY_SIZE(bad); i++) {
        setenv("WATCHDOG_USEC", bad[i], 1);
        ASSERT_EQ_INT(mjd_notify_watchdog_ns(), 0);
    }
}

TEST(watchdog_without_a_period_starts_nothing)
{
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_watchdog *wd = (struct mjd_watchdog *)hub; // must be overwritten
    ASSERT_OK(mjd_watchdog_start(&wd, hub, NULL, 0));
    ASSERT_NULL(wd);
    mjd_watchdog_stop(NULL);
    mjd_hub_destroy(hub);
}

static void publish(struct mjd_hub *hub, uint64_t seq)
{
    struct core_buf *b = NULL;
    ASSERT_OK(core_buf_create(&b, 16));
    memset(b->data, (int)seq, 16);
    ASSERT_TRUE(mjd_hub_publish(hub, b, seq, core_wall_ns()));
}

static struct mjd_watchdog_stats stats_of(const struct mjd_watchdog *wd)
{
    struct mjd_watchdog_stats st;
    mjd_watchdog_get_stats(wd, &st);
    return st;
}

/* Waits (deadline scaled) until the watchdog has woken up `ticks` times in all. */
static void wait_ticks(const struct mjd_watchdog *wd, uint64_t ticks)
{
    int64_t deadline = core_now_ns() + 10 * CORE_NS_PER_SEC * test_timeout_multiplier();
    while (stats_of(wd).ticks < ticks) {
        if (core_now_ns() > deadline) {
            test_fail(__FILE__, __LINE__, "watchdog woke %llu times, want %llu",
                      (unsigned long long)stats_of(wd).ticks, (unsigned long long)ticks);
        }
        usleep(2000);
    }
}

TEST_WITH_TIMEOUT(watchdog_pings_only_while_frames_are_published, 30)
{
    char name[64];
    snprintf(name, sizeof(name), "@mjpegd-test-watchdog-%d", (int)getpid());
    int fd = listen_dgram(name);
    setenv("NOTIFY_SOCKET", name, 1);
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    publish(hub, 1);
    struct mjd_watchdog *wd = NULL;
    ASSERT_OK(mjd_watchdog_start(&wd, hub, NULL, 40 * CORE_NS_PER_MS)); // a wake-up every 20 ms
    ASSERT_NOT_NULL(wd);

    // Every new frame is followed by a ping (the first one: a frame exists at start).
    uint64_t seq = 1;
    int received = 0;
    char buf[64];
    for (int i = 0; i < 3; i++) {
        ASSERT_CMP_INT(recv_within(fd, buf, sizeof(buf), 5000), >, 0);
        ASSERT_EQ_STR(buf, "WATCHDOG=1");
        received++;
        publish(hub, ++seq);
    }

    // No more frames: after the wake-up that sees the last one, no wake-up pings again.
    struct mjd_watchdog_stats before = stats_of(wd);
    wait_ticks(wd, before.ticks + 10);
    struct mjd_watchdog_stats after = stats_of(wd);
    ASSERT_CMP_INT(after.pings - before.pings, <=, 1);
    received += drain_pings(fd);
    ASSERT_EQ_INT(received, (long long)after.pings);

    // Frames again: pings again.
    publish(hub, ++seq);
    ASSERT_CMP_INT(recv_within(fd, buf, sizeof(buf), 5000), >, 0);
    ASSERT_EQ_STR(buf, "WATCHDOG=1");

    mjd_watchdog_stop(wd);
    mjd_hub_destroy(hub);
    close(fd);
}

TEST_WITH_TIMEOUT(watchdog_never_pings_when_no_frame_ever_comes, 30)
{
    char name[64];
    snprintf(name, sizeof(name), "@mjpegd-test-watchdog0-%d", (int)getpid());
    int fd = listen_dgram(name);
    setenv("NOTIFY_SOCKET", name, 1);
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_watchdog *wd = NULL;
    ASSERT_OK(mjd_watchdog_start(&wd, hub, NULL, 20 * CORE_NS_PER_MS));
    wait_ticks(wd, 10);
    ASSERT_EQ_INT(stats_of(wd).pings, 0);
    ASSERT_EQ_INT(drain_pings(fd), 0);
    mjd_watchdog_stop(wd);
    mjd_hub_destroy(hub);
    close(fd);
}

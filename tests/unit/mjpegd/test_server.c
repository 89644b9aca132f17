// SPDX-License-Identifier: MIT
/* Unit tests for the network loops with frames published by hand: snapshot, skip-to-newest. */
#include "../testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "mjpegd/config.h"
#include "mjpegd/hub.h"
#include "mjpegd/server.h"

struct fixture {
    struct mjd_config cfg;
    struct mjd_source_info info;
    struct mjd_hub *hub;
    struct mjd_server *srv;
    int port;
};

static void start_with(struct fixture *f, unsigned max_clients)
{
    mjd_config_defaults(&f->cfg);
    strcpy(f->cfg.listen[0].host, "127.0.0.1");
    strcpy(f->cfg.listen[0].port, "0");
    f->cfg.nlisten = 1;
    f->cfg.nsources = 1;
    mjd_config_source_defaults(&f->cfg.sources[0]);
    f->cfg.workers = 2;
    f->cfg.max_clients = max_clients;
    memset(&f->info, 0, sizeof(f->info));
    f->info.kind = "test";
    f->info.width = 64;
    f->info.height = 48;
    if (mjd_hub_create(&f->hub) != 0 ||
        mjd_server_create(&f->srv, &f->cfg,
                          &(struct mjd_server_source){
                                  .hub = f->hub, .info = &f->info, .conf = &f->cfg.sources[0] },
                          1) != 0 ||
        mjd_server_start(f->srv) != 0) {
        test_fail(__FILE__, __LINE__, "cannot start the server");
    }
    char addr[64];
    mjd_server_address(f->srv, 0, addr, sizeof(addr));
    const char *colon = strrchr(addr, ':');
    ASSERT_NOT_NULL(colon);
    f->port = atoi(colon + 1);
}

static void start(struct fixture *f)
{
    start_with(f, 1000);
}

static void stop(struct fixture *f)
{
    mjd_server_destroy(f->srv);
    mjd_hub_destroy(f->hub);
}

/* Publishes a frame of len bytes filled with fill, stamped seq seconds after the epoch. */
static void publish(struct fixture *f, uint64_t seq, size_t len, unsigned char fill)
{
    struct core_buf *b = NULL;
    ASSERT_OK(core_buf_create(&b, len));
    memset(b->data, fill, len);
    ASSERT_TRUE(mjd_hub_publish(f->hub, b, seq, (int64_t)seq * CORE_NS_PER_SEC));
}

static int connect_to(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        test_fail(__FILE__, __LINE__, "connect: %s", strerror(errno));
    }
    return fd;
}

static void send_all(int fd, const char *s)
{
    ASSERT_EQ_INT(send(fd, s, strlen(s), MSG_NOSIGNAL), strlen(s));
}

/* Appends whatever arrives within ms to *buf (grown as needed); returns false on EOF. */
static bool read_some(int fd, char **buf, size_t *len, size_t *cap, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, ms) <= 0) {
        return true;
    }
    if (*cap - *len < 65536) {
        *cap = *cap * 2 + 65536;
        *buf = realloc(*buf, *cap);
    }
    ssize_t n = recv(fd, *buf + *len, *cap - *len - 1, 0);
    if (n <= 0) {
        return false;
    }
    *len += (size_t)n;
    (*buf)[*len] = '\0';
    return true;
}

/* Reads until needle appears after at least min bytes, or a deadline; returns its offset. */
static const char *read_until(int fd, char **buf, size_t *len, size_t *cap, const char *needle)
{
    int64_t deadline = core_now_ns() + 5 * CORE_NS_PER_SEC * test_timeout_multiplier();
    while (core_now_ns() < deadline) {
        if (*buf != NULL) {
            const char *p = memmem(*buf, *len, needle, strlen(needle));
            if (p != NULL) {
                return p;
            }
        }
        if (!read_some(fd, buf, len, cap, 50)) {
            break;
        }
    }
    return NULL;
}

TEST(server_snapshot_serves_the_newest_frame_without_a_copy)
{
    struct fixture f;
    start(&f);
    int fd = connect_to(f.port, 0);
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    // No frame yet: the snapshot waits (parked, or not yet read) for the first frame, then
    // gets that one.
    send_all(fd, "GET /snapshot HTTP/1.1\r\nHost: t\r\n\r\n");
    publish(&f, 7, 1000, 'x');
    ASSERT_NOT_NULL(read_until(fd, &buf, &len, &cap, "\r\n\r\n"));
    ASSERT_TRUE(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    ASSERT_NOT_NULL(strstr(buf, "Content-Length: 1000\r\n"));
    close(fd);

    fd = connect_to(f.port, 0);
    len = 0;
    send_all(fd,
             "GET /snapshot HTTP/1.1\r\nHost: t\r\n\r\nHEAD /snapshot HTTP/1.1\r\nHost: t\r\n\r\n");
    // Both pipelined answers arrive, the first with the 1000 frame bytes, then the HEAD one.
    ASSERT_NOT_NULL(read_until(fd, &buf, &len, &cap, "xHTTP/1.1 200 OK\r\n"));
    ASSERT_NOT_NULL(strstr(buf, "X-Timestamp: 7.000000\r\n"));
    ASSERT_NOT_NULL(strstr(buf, "Content-Length: 1000\r\n"));
    const char *body = strstr(buf, "\r\n\r\n") + 4;
    ASSERT_EQ_INT(body[0], 'x');
    ASSERT_EQ_INT(body[999], 'x');
    ASSERT_TRUE(strncmp(body + 1000, "HTTP/1.1 200 OK", 15) == 0);
    close(fd);
    free(buf);
    stop(&f);
}

/* Counts multipart parts in buf and returns the X-Timestamp seconds of each (up to max). */
static int parts(const char *buf, size_t len, long *stamps, int max)
{
    int n = 0;
    const char *p = buf;
    const char *end = buf + len;
    while (n < max && (p = memmem(p, (size_t)(end - p), "X-Timestamp: ", 13)) != NULL) {
        stamps[n++] = strtol(p + 13, NULL, 10);
        p += 13;
    }
    return n;
}

TEST(server_slow_client_finishes_its_part_then_skips_to_the_newest)
{
    struct fixture f;
    start(&f);
    // A frame far bigger than the socket buffers stays in flight until the client reads.
    int slow = connect_to(f.port, 0);
    send_all(slow, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    ASSERT_NOT_NULL(read_until(slow, &buf, &len, &cap, "\r\n\r\n"));
    size_t big = 16u << 20;
    publish(&f, 1, big, 'a');
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    for (uint64_t s = 2; s <= 10; s++) {
        publish(&f, s, 100, (unsigned char)('a' + s));
        nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
    }
    // Now read everything: frame 1 whole, then straight to frame 10.
    int64_t deadline = core_now_ns() + 10 * CORE_NS_PER_SEC * test_timeout_multiplier();
    long stamps[16];
    int n = 0;
    const char *want = "X-Timestamp: 10.000000\r\n\r\nkkkk";
    // Frame 1 first (never scanning it twice: it is big), then whatever follows it.
    while (core_now_ns() < deadline && len < big) {
        ASSERT_TRUE(read_some(slow, &buf, &len, &cap, 50));
    }
    while (core_now_ns() < deadline && memmem(buf + big, len - big, want, strlen(want)) == NULL) {
        ASSERT_TRUE(read_some(slow, &buf, &len, &cap, 50));
    }
    n = parts(buf, len, stamps, 16);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_INT(stamps[0], 1);
    ASSERT_EQ_INT(stamps[1], 10);
    ASSERT_NOT_NULL(strstr(buf, "Content-Length: 16777216\r\n"));
    close(slow);
    free(buf);
    stop(&f);
}

TEST(server_limits_streams_and_answers_503)
{
    // Max one stream: the second gets 503 with Retry-After, the first keeps streaming.
    struct fixture h;
    start_with(&h, 1);
    publish(&h, 1, 10, 'z');
    int a = connect_to(h.port, 0);
    send_all(a, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    ASSERT_NOT_NULL(read_until(a, &buf, &len, &cap, "X-Timestamp: 1.000000"));
    int b = connect_to(h.port, 0);
    send_all(b, "GET /?action=stream HTTP/1.1\r\nHost: t\r\n\r\n");
    char *buf2 = NULL;
    size_t len2 = 0;
    size_t cap2 = 0;
    ASSERT_NOT_NULL(read_until(b, &buf2, &len2, &cap2, "\r\n\r\n"));
    ASSERT_TRUE(strncmp(buf2, "HTTP/1.1 503 ", 13) == 0);
    ASSERT_NOT_NULL(strstr(buf2, "Retry-After: 1\r\n"));
    ASSERT_NOT_NULL(strstr(buf2, "Connection: close\r\n"));
    close(b);
    publish(&h, 2, 10, 'y');
    ASSERT_NOT_NULL(read_until(a, &buf, &len, &cap, "X-Timestamp: 2.000000"));
    close(a);
    free(buf);
    free(buf2);
    stop(&h);
}

TEST(server_part_is_followed_by_its_boundary_at_once)
{
    // Browsers show a part only once the next boundary arrives: it must follow each frame,
    // not wait for the next one (here, there is no next one).
    struct fixture f;
    start(&f);
    publish(&f, 1, 100, 'q');
    int fd = connect_to(f.port, 0);
    send_all(fd, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    char want[256];
    memset(want, 0, sizeof(want));
    strcpy(want, "X-Timestamp: 1.000000\r\n\r\n");
    memset(want + strlen(want), 'q', 100);
    strcat(want, "\r\n--boundarydonotcross\r\n");
    ASSERT_NOT_NULL(read_until(fd, &buf, &len, &cap, want));
    // The first boundary comes with the response head.
    ASSERT_NOT_NULL(strstr(buf, "\r\n\r\n--boundarydonotcross\r\nContent-Type: image/jpeg\r\n"));
    close(fd);
    free(buf);
    stop(&f);
}

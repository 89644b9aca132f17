// SPDX-License-Identifier: MIT
/* libFuzzer target: a whole connection through a socketpair, driving the real connection, route
 * and response code of one network loop in this thread (mjd_loop_test_turn), with a hub that
 * holds one small frame. Input: a flags byte, then chunks (a length byte and that many bytes)
 * written one by one with loop turns in between (split reads at fuzzer-chosen points,
 * pipelining); then the client shuts its write side or closes early. Properties: no crash or
 * leak, every answer starts with a status line, and the connection is gone after the client. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/config.h"
#include "mjpegd/conn.h"
#include "mjpegd/hub.h"
#include "mjpegd/limits.h"
#include "mjpegd/list.h"
#include "mjpegd/loop.h"
#include "mjpegd/pending.h"
#include "mjpegd/report.h"
#include "mjpegd/server.h"
#include "mjpegd/sources/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)           \
    do {                      \
        if (!(cond)) {        \
            __builtin_trap(); \
        }                     \
    } while (0)

static struct mjd_config cfg;
static struct mjd_source_config src_conf;
static struct mjd_source_info info = { .kind = "test", .width = 16, .height = 16 };
static struct mjd_server_source source;
static struct mjd_loop_shared shared;
static struct mjd_loop loop;
static uint64_t seq;

static const unsigned char jpeg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0xFF, 0xD9 };

static void publish(void)
{
    struct core_buf *b = NULL;
    CHECK(core_buf_from(&b, jpeg, sizeof(jpeg)) == 0);
    (void)mjd_hub_publish(source.hub, b, ++seq, 0); // takes the reference
}

static void report(void *ctx, struct mjd_report *out)
{
    (void)ctx;
    memset(out, 0, sizeof(*out));
    out->version = "fuzz";
    out->nsources = 1;
    out->sources[0].kind = info.kind;
    out->sources[0].width = info.width;
    out->sources[0].height = info.height;
}

static void setup(void)
{
    core_log_set_level(CORE_LOG_ERROR);
    mjd_config_defaults(&cfg);
    mjd_config_source_defaults(&src_conf);
    CHECK(mjd_hub_create(&source.hub) == 0);
    source.info = &info;
    source.conf = &src_conf;
    shared.cfg = &cfg;
    shared.sources = &source;
    shared.nsources = 1;
    shared.report = report;
    atomic_init(&shared.stop, false);
    CHECK(mjd_limits_create(&shared.limits, cfg.max_clients, cfg.max_clients_per_ip) == 0);
    CHECK(mjd_pending_set_create(&shared.pending, cfg.max_pending, cfg.header_timeout_ns) == 0);
    CHECK(mjd_loop_init(&loop, &shared, 0, NULL, 0) == 0);
    CHECK(mjd_hub_add_waker(source.hub, loop.efd) == 0);
    publish();
}

static bool loop_empty(void)
{
    return mjd_list_empty(&loop.heads) && mjd_list_empty(&loop.active) &&
           mjd_list_empty(&loop.streams) && mjd_list_empty(&loop.snapwaits);
}

struct client {
    int fd;
    size_t got;
    char first[8];
};

static void drain(struct client *c)
{
    char buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0) {
            return;
        }
        for (ssize_t i = 0; i < n && c->got + (size_t)i < sizeof(c->first); i++) {
            c->first[c->got + (size_t)i] = buf[i];
        }
        c->got += (size_t)n;
    }
}

static void turns(struct client *c, int n)
{
    for (int i = 0; i < n; i++) {
        mjd_loop_test_turn(&loop, 0);
        drain(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size < 1) {
        return 0;
    }
    uint8_t flags = data[0];
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof(peer));
    struct sockaddr_in *in = (struct sockaddr_in *)&peer;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK + (flags >> 4));
    in->sin_port = htons(40000);
    struct client c = { .fd = sv[1] };
    mjd_conn_accept(&loop, sv[0], &peer); // the loop owns sv[0] from here
    size_t off = 1;
    while (off < size) {
        size_t n = data[off++];
        if (n > size - off) {
            n = size - off;
        }
        if (n > 0) {
            ssize_t w = send(c.fd, data + off, n, MSG_NOSIGNAL);
            (void)w; // the server may have closed its end already
        }
        off += n;
        turns(&c, 2);
        if (flags & 2) {
            publish(); // a new frame for streaming connections
            turns(&c, 1);
        }
    }
    if (flags & 1) {
        close(c.fd); // early close: the client is gone with or without reading
        c.fd = -1;
        for (int i = 0; i < 8 && !loop_empty(); i++) {
            mjd_loop_test_turn(&loop, 0);
        }
    } else {
        shutdown(c.fd, SHUT_WR);
        turns(&c, 8);
        CHECK(c.got == 0 || memcmp(c.first, "HTTP/1.", c.got < 7 ? c.got : 7) == 0);
    }
    if (getenv("MJD_FUZZ_VERBOSE") != NULL) {
        fprintf(stderr, "mjpegd_conn: flags %#x, %zu bytes answered, starting %.7s\n", flags, c.got,
                c.got ? c.first : "");
    }
    // Whatever is left (a stream, a linger) ends as when the loop stops.
    mjd_loop_test_close_all(&loop);
    CHECK(loop_empty());
    if (c.fd >= 0) {
        close(c.fd);
    }
    return 0;
}

// SPDX-License-Identifier: MIT
/* loadgen: an epoll load generator for MJPEG servers: viewers, stuck viewers, idle floods. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#define HDR_MAX  4096
#define RECV_BUF ((size_t)256 * 1024)
#define MAX_EV   256
#define NEVER    1e300 /* a monotonic time that never comes */
#define STALE_S  1.0   /* a part received this long after its X-Timestamp is from a backlog */

enum kind {
    K_VIEWER, /* reads /stream and measures */
    K_STUCK,  /* sends its request, then never reads */
    K_IDLE,   /* connects and sends nothing */
    K_SLOW,   /* sends a partial request head, then one header line every trickle interval */
};

enum pstate {
    S_CONNECTING,
    S_RESP_HEAD,
    S_PART_HEAD,
    S_BODY,
    S_DONE,
};

struct conn {
    int fd;
    enum kind kind;
    enum pstate state;
    int status;
    bool eof;         /* the server closed it */
    size_t hlen;      /* bytes in hdr */
    size_t remaining; /* bytes left in the current part's body */
    double part_ts;   /* X-Timestamp of the current part, 0 if none */
    double next_act;  /* monotonic time of the next trickle or reconnect */
    uint64_t frames_total;
    uint64_t frames_window;
    bool open_at_end; /* stuck: still established when the measured window ended */
    bool draining;    /* stuck: reading since the window ended (--stuck-drain) */
    uint32_t stale;   /* stuck, draining: parts received more than STALE_S after capture */
    uint32_t fresh;   /* stuck, draining: the other parts */
    double last_ts;   /* stuck, draining: X-Timestamp of the previous part */
    double gap_max;   /* stuck, draining: largest X-Timestamp step between two parts */
    uint64_t bytes;
    char hdr[HDR_MAX];
};

struct opts {
    const char *host;
    int port;
    const char *path;
    int viewers;
    int stuck;
    int idle;
    int slow;
    double duration;
    double warmup;
    int threads;
    int trickle_ms;
    int reconnect_ms; /* < 0: never reconnect a closed flood connection */
    int stuck_rcvbuf;
    double connect_rate; /* new connections per second over all threads; 0: all at once */
    double stuck_drain;  /* seconds stuck viewers read after the window; 0: never read */
    bool quiet;
};

struct lat_vec {
    uint32_t *v; /* microseconds */
    size_t n;
    size_t cap;
};

struct worker {
    pthread_t tid;
    int id;
    int epfd;
    struct conn **conns;
    size_t nconns;
    struct lat_vec lat;   /* X-Timestamp to the part's last byte */
    struct lat_vec lat_h; /* X-Timestamp to the part's head */
    uint64_t connect_errors;
    uint64_t flood_closed;
    uint64_t flood_reconnects;
    uint64_t bad_streams;
};

static struct opts g_opt = {
    .host = "127.0.0.1",
    .port = 8080,
    .path = "/stream",
    .viewers = 10,
    .duration = 10.0,
    .warmup = 2.0,
    .threads = 1,
    .trickle_ms = 1000,
    .reconnect_ms = 1000,
    .stuck_rcvbuf = 2048,
};
static struct sockaddr_in g_addr;
static double g_t0;     /* monotonic start */
static double g_wstart; /* monotonic window start */
static double g_wend;   /* monotonic window end */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void lat_push(struct lat_vec *l, uint32_t us)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 65536;
        uint32_t *nv = realloc(l->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            return; /* drop the sample rather than abort a long run */
        }
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = us;
}

static int start_connect(struct conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (c->kind == K_STUCK) {
        int sz = g_opt.stuck_rcvbuf;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *)&g_addr, sizeof(g_addr)) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    c->fd = fd;
    c->state = S_CONNECTING;
    c->hlen = 0;
    c->remaining = 0;
    c->eof = false;
    return 0;
}

static int watch(int epfd, struct conn *c, uint32_t events, int op)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };
    if (epoll_ctl(epfd, op, c->fd, &ev) < 0) {
        return -errno;
    }
    return 0;
}

static void close_conn(struct worker *w, struct conn *c)
{
    if (c->fd >= 0) {
        (void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
}

static bool send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        s += k;
        n -= (size_t)k;
    }
    return true;
}

/* Flood connections that the server closed are reopened after reconnect_ms. */
static void flood_closed(struct worker *w, struct conn *c, double now)
{
    close_conn(w, c);
    w->flood_closed++;
    c->eof = true;
    c->next_act = g_opt.reconnect_ms >= 0 ? now + g_opt.reconnect_ms / 1000.0 : NEVER;
}

static void on_connected(struct worker *w, struct conn *c, double now)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
        w->connect_errors++;
        if (c->kind == K_IDLE || c->kind == K_SLOW) {
            flood_closed(w, c, now);
        } else {
            close_conn(w, c);
            c->state = S_DONE;
        }
        return;
    }
    char req[1024];
    int n;
    switch (c->kind) {
    case K_VIEWER:
    case K_STUCK:
        n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: loadgen\r\n\r\n", g_opt.path,
                     g_opt.host, g_opt.port);
        break;
    case K_SLOW:
        n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n", g_opt.path, g_opt.host,
                     g_opt.port);
        c->next_act = now + g_opt.trickle_ms / 1000.0;
        break;
    case K_IDLE:
    default:
        n = 0;
        break;
    }
    if (n > 0 && !send_all(c->fd, req, (size_t)n)) {
        w->connect_errors++;
        if (c->kind == K_SLOW) {
            flood_closed(w, c, now);
        } else {
            close_conn(w, c);
            c->state = S_DONE;
        }
        return;
    }
    if (c->kind == K_STUCK) {
        /* Never read: drop it from epoll so the server sees a full window. */
        (void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->state = S_DONE;
        return;
    }
    c->state = S_RESP_HEAD;
    (void)watch(w->epfd, c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
}

/* Finds "\r\n\r\n" in hdr; returns the index just past it or 0. */
static size_t head_end(const char *h, size_t n)
{
    const char *p = memmem(h, n, "\r\n\r\n", 4);
    return p ? (size_t)(p - h) + 4 : 0;
}

static const char *find_header(const char *h, size_t n, const char *name)
{
    size_t nl = strlen(name);
    const char *p = h;
    const char *end = h + n;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (eol == NULL) {
            eol = end;
        }
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            return p + nl + 1;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Microseconds from a unix timestamp to now, clamped to [0, UINT32_MAX]. */
static uint32_t lat_us(double ts)
{
    double us = (real_now() - ts) * 1e6;
    if (us < 0) {
        return 0;
    }
    return us > 4e9 ? UINT32_MAX : (uint32_t)us;
}

static void frame_done(struct worker *w, struct conn *c, double mnow)
{
    c->frames_total++;
    if (c->kind == K_STUCK) {
        // A server that skips stuck viewers to the newest frame sends them at most the part
        // that was in flight from its backlog; one that queues sends many old parts.
        // The skip itself shows as one large step in X-Timestamp between consecutive parts.
        bool old = c->part_ts > 0 && real_now() - c->part_ts > STALE_S;
        c->stale += old;
        c->fresh += !old;
        if (c->last_ts > 0 && c->part_ts - c->last_ts > c->gap_max) {
            c->gap_max = c->part_ts - c->last_ts;
        }
        c->last_ts = c->part_ts;
        return;
    }
    if (mnow >= g_wstart && mnow < g_wend) {
        c->frames_window++;
        if (c->part_ts > 0) {
            lat_push(&w->lat, lat_us(c->part_ts));
        }
    }
}

/* Consumes a chunk of a viewer's stream; returns false if the stream is malformed. */
static bool feed(struct worker *w, struct conn *c, const char *d, size_t n, double mnow)
{
    while (n > 0) {
        if (c->state == S_BODY) {
            size_t k = n < c->remaining ? n : c->remaining;
            c->remaining -= k;
            d += k;
            n -= k;
            if (c->remaining == 0) {
                frame_done(w, c, mnow);
                c->state = S_PART_HEAD;
                c->hlen = 0;
            }
            continue;
        }
        if (c->state != S_RESP_HEAD && c->state != S_PART_HEAD) {
            return true;
        }
        if (c->state == S_PART_HEAD && c->hlen == 0) {
            while (n > 0 && (*d == '\r' || *d == '\n')) {
                d++;
                n--;
            }
            if (n == 0) {
                break;
            }
        }
        size_t old = c->hlen;
        size_t k = HDR_MAX - old < n ? HDR_MAX - old : n;
        memcpy(c->hdr + old, d, k);
        c->hlen += k;
        size_t e = head_end(c->hdr, c->hlen);
        if (e == 0) {
            if (c->hlen == HDR_MAX) {
                return false;
            }
            d += k;
            n -= k;
            continue;
        }
        size_t used = e - old;
        d += used;
        n -= used;
        if (c->state == S_RESP_HEAD) {
            int st = 0;
            if (sscanf(c->hdr, "HTTP/1.%*d %d", &st) != 1) {
                return false;
            }
            c->status = st;
            if (st != 200) {
                c->state = S_DONE;
                return true;
            }
            c->state = S_PART_HEAD;
            c->hlen = 0;
            continue;
        }
        if (strncmp(c->hdr, "--", 2) != 0) {
            return false;
        }
        const char *cl = find_header(c->hdr, e, "Content-Length");
        if (cl == NULL) {
            return false;
        }
        char *endp;
        unsigned long long len = strtoull(cl, &endp, 10);
        if (endp == cl || len == 0 || len > (1ULL << 30)) {
            return false;
        }
        const char *ts = find_header(c->hdr, e, "X-Timestamp");
        c->part_ts = ts ? strtod(ts, NULL) : 0.0;
        if (c->part_ts > 0 && mnow >= g_wstart && mnow < g_wend) {
            lat_push(&w->lat_h, lat_us(c->part_ts));
        }
        c->remaining = (size_t)len;
        c->state = S_BODY;
        c->hlen = 0;
    }
    return true;
}

static void on_readable(struct worker *w, struct conn *c, char *buf, double now)
{
    for (int i = 0; i < 4; i++) {
        ssize_t n = recv(c->fd, buf, RECV_BUF, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return;
            }
            n = 0; /* reset: same as a close */
        }
        if (n == 0) {
            if (c->kind == K_IDLE || c->kind == K_SLOW) {
                flood_closed(w, c, now);
            } else {
                c->eof = true;
                c->state = S_DONE;
                close_conn(w, c);
            }
            return;
        }
        c->bytes += (uint64_t)n;
        if (c->kind != K_VIEWER && !c->draining) {
            continue; /* an error page for a flood connection: wait for the close */
        }
        if (!feed(w, c, buf, (size_t)n, now)) {
            w->bad_streams++;
            c->state = S_DONE;
            close_conn(w, c);
            return;
        }
        if (c->state == S_DONE) {
            close_conn(w, c);
            return;
        }
        if ((size_t)n < RECV_BUF) {
            return;
        }
    }
}

static void open_conn(struct worker *w, struct conn *c, double now)
{
    int r = start_connect(c);
    if (r < 0) {
        w->connect_errors++;
        c->fd = -1;
        if (c->kind == K_IDLE || c->kind == K_SLOW) {
            c->next_act = now + 1.0;
        } else {
            c->state = S_DONE;
        }
        return;
    }
    if (watch(w->epfd, c, EPOLLOUT | EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD) < 0) {
        w->connect_errors++;
        close(c->fd);
        c->fd = -1;
        c->state = S_DONE;
    }
}

/* Trickles slowloris bytes and reopens flood connections that were closed. */
static void flood_tick(struct worker *w, double now)
{
    static const char line[] = "X-Slow: a\r\n";
    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = w->conns[i];
        if (c->kind != K_IDLE && c->kind != K_SLOW) {
            continue;
        }
        if (now < c->next_act) {
            continue;
        }
        if (c->fd < 0) {
            if (c->next_act != NEVER) {
                w->flood_reconnects++;
                c->next_act = NEVER;
                open_conn(w, c, now);
            }
            continue;
        }
        if (c->kind == K_SLOW && c->state != S_CONNECTING) {
            if (!send_all(c->fd, line, sizeof(line) - 1)) {
                flood_closed(w, c, now);
                continue;
            }
            c->next_act = now + g_opt.trickle_ms / 1000.0;
        } else {
            c->next_act = NEVER;
        }
    }
}

static bool still_established(int fd);

/* At the end of the window: notes which stuck viewers are still connected, then (with
 * --stuck-drain) starts reading them as viewers. */
static void stuck_window_end(struct worker *w)
{
    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = w->conns[i];
        if (c->kind != K_STUCK) {
            continue;
        }
        c->open_at_end = still_established(c->fd);
        if (g_opt.stuck_drain > 0 && c->fd >= 0) {
            c->draining = true;
            c->state = S_RESP_HEAD;
            c->hlen = 0;
            (void)watch(w->epfd, c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char *buf = malloc(RECV_BUF);
    struct epoll_event evs[MAX_EV];
    if (buf == NULL) {
        return NULL;
    }
    double now = mono_now();
    size_t opened = 0;
    double rate = g_opt.connect_rate / g_opt.threads; /* this thread's share */
    for (size_t i = 0; i < w->nconns; i++) {
        w->conns[i]->next_act = NEVER;
    }
    double end = g_wend + g_opt.stuck_drain;
    double next_tick = now;
    bool window_over = false;
    while ((now = mono_now()) < end) {
        if (!window_over && now >= g_wend) {
            window_over = true;
            stuck_window_end(w);
        }
        size_t due = w->nconns;
        if (rate > 0) {
            double d = (now - g_t0) * rate + 1.0;
            due = d < (double)w->nconns ? (size_t)d : w->nconns;
        }
        while (opened < due) {
            open_conn(w, w->conns[opened++], now);
        }
        int timeout = (int)((end - now) * 1000.0) + 1;
        if (timeout > 50) {
            timeout = 50;
        }
        if (opened < w->nconns && timeout > 5) {
            timeout = 5;
        }
        int n = epoll_wait(w->epfd, evs, MAX_EV, timeout);
        now = mono_now();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd < 0) {
                continue;
            }
            if (c->state == S_CONNECTING) {
                if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
                    on_connected(w, c, now);
                }
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
                on_readable(w, c, buf, now);
            }
        }
        if (now >= next_tick) {
            flood_tick(w, now);
            next_tick = now + 0.05;
        }
    }
    if (!window_over) {
        stuck_window_end(w);
    }
    free(buf);
    return NULL;
}

/* True if fd is a TCP connection the peer has neither closed nor reset. */
static bool still_established(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
        return false;
    }
    return ti.tcpi_state == TCP_ESTABLISHED;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct_u32(const uint32_t *v, size_t n, double p)
{
    if (n == 0) {
        return 0.0;
    }
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    if (i > 0) {
        i--;
    }
    if (i >= n) {
        i = n - 1;
    }
    return (double)v[i];
}

static void raise_nofile(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        return;
    }
    if (rl.rlim_cur >= need) {
        return;
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        struct rlimit want = { need, need };
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
            return;
        }
        need = rl.rlim_max;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        fprintf(stderr, "loadgen: cannot raise RLIMIT_NOFILE to %lu: %s\n", (unsigned long)need,
                strerror(errno));
    }
}

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: loadgen [--host 127.0.0.1] --port PORT [--path /stream] [--viewers N]\n"
            "               [--stuck K] [--idle M] [--slowloris M] [--duration SEC] [--warmup SEC]\n"
            "               [--threads T] [--trickle-ms MS] [--reconnect-ms MS|-1]\n"
            "               [--stuck-rcvbuf BYTES] [--connect-rate PER_SEC] [--stuck-drain SEC]\n"
            "               [--quiet]\n"
            "N viewers read PATH and are measured over DURATION seconds after WARMUP seconds.\n"
            "K stuck viewers request PATH and never read. M idle connections send nothing;\n"
            "M slowloris connections send a partial head, then a header line every TRICKLE ms.\n"
            "Flood connections closed by the server are reopened after RECONNECT ms.\n"
            "Connections open in that order (flood, stuck, viewers), all at once or at PER_SEC.\n"
            "Latency: from a part's X-Timestamp (unix time) to the receipt of its head and of its\n"
            "last byte.\n"
            "With --stuck-drain, stuck viewers read for SEC after the window and count the parts\n"
            "they get more than 1 s after capture (stale: a backlog) and the others (fresh), and\n"
            "the largest step in X-Timestamp between two parts (the skip to the newest frame).\n"
            "Prints a summary, then one line 'JSON {...}'.\n");
}

static int parse_args(int argc, char **argv)
{
    static const struct option lo[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "path", required_argument, NULL, 'P' },
        { "viewers", required_argument, NULL, 'n' },
        { "stuck", required_argument, NULL, 'k' },
        { "idle", required_argument, NULL, 'i' },
        { "slowloris", required_argument, NULL, 's' },
        { "duration", required_argument, NULL, 'd' },
        { "warmup", required_argument, NULL, 'w' },
        { "threads", required_argument, NULL, 't' },
        { "trickle-ms", required_argument, NULL, 'T' },
        { "reconnect-ms", required_argument, NULL, 'r' },
        { "stuck-rcvbuf", required_argument, NULL, 'b' },
        { "connect-rate", required_argument, NULL, 'R' },
        { "stuck-drain", required_argument, NULL, 'D' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'H':
            g_opt.host = optarg;
            break;
        case 'p':
            g_opt.port = atoi(optarg);
            break;
        case 'P':
            g_opt.path = optarg;
            break;
        case 'n':
            g_opt.viewers = atoi(optarg);
            break;
        case 'k':
            g_opt.stuck = atoi(optarg);
            break;
        case 'i':
            g_opt.idle = atoi(optarg);
            break;
        case 's':
            g_opt.slow = atoi(optarg);
            break;
        case 'd':
            g_opt.duration = atof(optarg);
            break;
        case 'w':
            g_opt.warmup = atof(optarg);
            break;
        case 't':
            g_opt.threads = atoi(optarg);
            break;
        case 'T':
            g_opt.trickle_ms = atoi(optarg);
            break;
        case 'r':
            g_opt.reconnect_ms = atoi(optarg);
            break;
        case 'b':
            g_opt.stuck_rcvbuf = atoi(optarg);
            break;
        case 'R':
            g_opt.connect_rate = atof(optarg);
            break;
        case 'D':
            g_opt.stuck_drain = atof(optarg);
            break;
        case 'q':
            g_opt.quiet = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind != argc || g_opt.port <= 0 || g_opt.port > 65535 || g_opt.viewers < 0 ||
        g_opt.stuck < 0 || g_opt.idle < 0 || g_opt.slow < 0 || g_opt.duration <= 0 ||
        g_opt.warmup < 0 || g_opt.threads < 1 || g_opt.threads > 64 || g_opt.trickle_ms < 1 ||
        g_opt.connect_rate < 0 || g_opt.stuck_drain < 0) {
        usage(stderr);
        return -EINVAL;
    }
    memset(&g_addr, 0, sizeof(g_addr));
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)g_opt.port);
    if (inet_pton(AF_INET, g_opt.host, &g_addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) < 0) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    size_t total =
            (size_t)g_opt.viewers + (size_t)g_opt.stuck + (size_t)g_opt.idle + (size_t)g_opt.slow;
    raise_nofile((rlim_t)total + 64);

    size_t nthreads = (size_t)g_opt.threads; /* >= 1, checked by parse_args */
    struct conn *all = calloc(total ? total : 1, sizeof(*all));
    struct worker *ws = calloc(nthreads, sizeof(*ws));
    if (all == NULL || ws == NULL) {
        die("out of memory");
    }
    /* The flood first, then stuck viewers, then the measured viewers. */
    size_t k = 0;
    for (int i = 0; i < g_opt.idle; i++) {
        all[k++].kind = K_IDLE;
    }
    for (int i = 0; i < g_opt.slow; i++) {
        all[k++].kind = K_SLOW;
    }
    for (int i = 0; i < g_opt.stuck; i++) {
        all[k++].kind = K_STUCK;
    }
    for (int i = 0; i < g_opt.viewers; i++) {
        all[k++].kind = K_VIEWER;
    }
    for (size_t t = 0; t < nthreads; t++) {
        ws[t].id = (int)t;
        ws[t].epfd = epoll_create1(EPOLL_CLOEXEC);
        ws[t].conns = calloc(total / nthreads + 1, sizeof(struct conn *));
        if (ws[t].epfd < 0 || ws[t].conns == NULL) {
            die("cannot create an epoll instance or allocate");
        }
    }
    for (size_t i = 0; i < total; i++) {
        all[i].fd = -1;
        struct worker *w = &ws[i % nthreads];
        if (w->conns != NULL) {
            w->conns[w->nconns++] = &all[i];
        }
    }

    g_t0 = mono_now();
    g_wstart = g_t0 + g_opt.warmup;
    g_wend = g_wstart + g_opt.duration;
    for (int t = 0; t < g_opt.threads; t++) {
        if (pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]) != 0) {
            die("pthread_create failed");
        }
    }
    for (int t = 0; t < g_opt.threads; t++) {
        pthread_join(ws[t].tid, NULL);
    }

    /* Collect. */
    double *fps = calloc((size_t)g_opt.viewers + 1, sizeof(double));
    if (fps == NULL) {
        die("out of memory");
    }
    struct lat_vec lat = { 0 };
    struct lat_vec lat_h = { 0 };
    uint64_t frames = 0;
    uint64_t bytes = 0;
    uint64_t connect_errors = 0;
    uint64_t flood_closed_n = 0;
    uint64_t reconnects = 0;
    uint64_t bad = 0;
    int ok = 0;
    int refused = 0;
    int failed = 0;
    int noresp = 0;
    int dropped = 0;
    int below27 = 0;
    int below29 = 0;
    int zero = 0;
    int flood_open = 0;
    int stuck_open = 0;
    int stuck_drained = 0;
    long stuck_stale_max = -1;
    long stuck_fresh_min = -1;
    double stuck_gap_min = -1.0;
    size_t nf = 0;
    for (size_t i = 0; i < total; i++) {
        struct conn *c = &all[i];
        if (c->kind == K_VIEWER) {
            if (c->status == 200) {
                ok++;
                double f = (double)c->frames_window / g_opt.duration;
                fps[nf++] = f;
                below27 += f < 27.0;
                below29 += f < 29.0;
                zero += c->frames_window == 0;
                dropped += c->eof;
            } else if (c->status == 503) {
                refused++;
            } else if (c->status == 0) {
                noresp++;
            } else {
                failed++;
            }
            frames += c->frames_window;
            bytes += c->bytes;
        } else if (c->kind == K_STUCK) {
            stuck_open += c->open_at_end;
            if (c->draining) {
                stuck_drained += c->status == 200;
                if (stuck_stale_max < 0 || (long)c->stale > stuck_stale_max) {
                    stuck_stale_max = (long)c->stale;
                }
                if (stuck_fresh_min < 0 || (long)c->fresh < stuck_fresh_min) {
                    stuck_fresh_min = (long)c->fresh;
                }
                if (stuck_gap_min < 0 || c->gap_max < stuck_gap_min) {
                    stuck_gap_min = c->gap_max;
                }
            }
        } else {
            flood_open += c->fd >= 0 && c->state != S_CONNECTING;
        }
    }
    for (int t = 0; t < g_opt.threads; t++) {
        struct worker *w = &ws[t];
        connect_errors += w->connect_errors;
        flood_closed_n += w->flood_closed;
        reconnects += w->flood_reconnects;
        bad += w->bad_streams;
        for (size_t j = 0; j < w->lat.n; j++) {
            lat_push(&lat, w->lat.v[j]);
        }
        for (size_t j = 0; j < w->lat_h.n; j++) {
            lat_push(&lat_h, w->lat_h.v[j]);
        }
        free(w->lat.v);
        free(w->lat_h.v);
    }
    qsort(fps, nf, sizeof(double), cmp_double);
    if (lat.n > 0) {
        qsort(lat.v, lat.n, sizeof(uint32_t), cmp_u32);
    }
    if (lat_h.n > 0) {
        qsort(lat_h.v, lat_h.n, sizeof(uint32_t), cmp_u32);
    }
    double fmin = nf ? fps[0] : 0.0;
    double fmed = nf ? fps[nf / 2] : 0.0;
    double fmax = nf ? fps[nf - 1] : 0.0;
    double fp1 = nf ? fps[(size_t)((double)(nf - 1) * 0.01)] : 0.0;
    double p50 = pct_u32(lat.v, lat.n, 50) / 1000.0;
    double p99 = pct_u32(lat.v, lat.n, 99) / 1000.0;
    double lmax = lat.n ? lat.v[lat.n - 1] / 1000.0 : 0.0;
    double h50 = pct_u32(lat_h.v, lat_h.n, 50) / 1000.0;
    double h99 = pct_u32(lat_h.v, lat_h.n, 99) / 1000.0;
    double hmax = lat_h.n ? lat_h.v[lat_h.n - 1] / 1000.0 : 0.0;
    double mbps = (double)bytes * 8.0 / 1e6 / (g_opt.warmup + g_opt.duration);

    if (!g_opt.quiet) {
        printf("loadgen: %s:%d%s, %.1f s measured after %.1f s warm-up, %d thread(s)\n", g_opt.host,
               g_opt.port, g_opt.path, g_opt.duration, g_opt.warmup, g_opt.threads);
        printf("%-28s %s\n", "metric", "value");
        printf("%-28s %d (200: %d, 503: %d, closed without a response: %d, other: %d)\n", "viewers",
               g_opt.viewers, ok, refused, noresp, failed);
        printf("%-28s %.2f / %.2f / %.2f / %.2f\n", "viewer fps min/p1/median/max", fmin, fp1, fmed,
               fmax);
        printf("%-28s %d / %d / %d\n", "viewers <27 fps, <29, 0", below27, below29, zero);
        printf("%-28s %d dropped by the server, %lu malformed\n", "viewer disconnects", dropped,
               (unsigned long)bad);
        printf("%-28s %lu frames, %.0f Mbit/s\n", "received", (unsigned long)frames, mbps);
        printf("%-28s p50 %.2f  p99 %.2f  max %.2f  (%zu samples)\n", "latency ms, to last byte",
               p50, p99, lmax, lat.n);
        printf("%-28s p50 %.2f  p99 %.2f  max %.2f\n", "latency ms, to part head", h50, h99, hmax);
        printf("%-28s %d requested, %d still established at the end\n", "stuck viewers",
               g_opt.stuck, stuck_open);
        if (g_opt.stuck_drain > 0) {
            printf("%-28s %d answered 200 when read; per viewer at most %ld stale part(s), at "
                   "least %ld fresh, a skip of at least %.2f s\n",
                   "stuck viewers, drained", stuck_drained, stuck_stale_max, stuck_fresh_min,
                   stuck_gap_min);
        }
        printf("%-28s %d idle + %d slowloris, %d open at end, %lu closed by server, %lu reopened\n",
               "flood", g_opt.idle, g_opt.slow, flood_open, (unsigned long)flood_closed_n,
               (unsigned long)reconnects);
        printf("%-28s %lu\n", "connect errors", (unsigned long)connect_errors);
    }
    printf("JSON {\"viewers\":%d,\"ok\":%d,\"refused\":%d,\"no_response\":%d,\"failed\":%d,"
           "\"stuck\":%d,"
           "\"stuck_open\":%d,\"idle\":%d,\"slowloris\":%d,\"flood_open\":%d,"
           "\"flood_closed\":%lu,\"flood_reopened\":%lu,\"duration\":%.3f,\"warmup\":%.3f,"
           "\"fps_min\":%.3f,\"fps_p1\":%.3f,\"fps_median\":%.3f,\"fps_max\":%.3f,"
           "\"below27\":%d,\"below29\":%d,\"zero\":%d,\"dropped\":%d,\"malformed\":%lu,"
           "\"frames\":%lu,\"mbit_s\":%.1f,\"lat_p50_ms\":%.3f,\"lat_p99_ms\":%.3f,"
           "\"lat_max_ms\":%.3f,\"lat_samples\":%zu,\"head_lat_p50_ms\":%.3f,"
           "\"head_lat_p99_ms\":%.3f,\"head_lat_max_ms\":%.3f,\"connect_errors\":%lu,"
           "\"stuck_drained\":%d,\"stuck_stale_max\":%ld,\"stuck_fresh_min\":%ld,"
           "\"stuck_skip_min_s\":%.3f}\n",
           g_opt.viewers, ok, refused, noresp, failed, g_opt.stuck, stuck_open, g_opt.idle,
           g_opt.slow, flood_open, (unsigned long)flood_closed_n, (unsigned long)reconnects,
           g_opt.duration, g_opt.warmup, fmin, fp1, fmed, fmax, below27, below29, zero, dropped,
           (unsigned long)bad, (unsigned long)frames, mbps, p50, p99, lmax, lat.n, h50, h99, hmax,
           (unsigned long)connect_errors, stuck_drained, stuck_stale_max, stuck_fresh_min,
           stuck_gap_min);
    fflush(stdout);

    for (size_t i = 0; i < total; i++) {
        if (all[i].fd >= 0) {
            close(all[i].fd);
        }
    }
    for (int t = 0; t < g_opt.threads; t++) {
        close(ws[t].epfd);
        free(ws[t].conns);
    }
    free(lat.v);
    free(lat_h.v);
    free(fps);
    free(ws);
    free(all);
    return 0;
}

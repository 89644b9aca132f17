// SPDX-License-Identifier: MIT
/* floor: a bare one-thread MJPEG fan-out server, the sending-cost floor mjpegd is measured by. */
/*
 * It does nothing but what any MJPEG server must: accept, read a request head, answer with the
 * multipart head, and at each frame tick send the newest part to every viewer. One thread, one
 * epoll set, one send call per viewer per frame (more only when the socket takes part of it),
 * no parsing, no limits, no timeouts. A viewer that cannot take a whole part keeps it until its
 * socket drains (EPOLLOUT), then skips to the newest frame, as mjpegd does.
 *
 *   --mode copy      one sendmsg(part head, JPEG, tail) per viewer per frame: the kernel copies
 *                    the part into every socket.
 *   --mode sendfile  each frame is written once into a sealed memfd (part head + JPEG + CRLF +
 *                    next boundary) shared by every viewer; one sendfile() per viewer per frame
 *                    hands the socket references to its pages instead of a copy.
 *   --mode splice    the memfd of sendfile mode is spliced once per frame into a pipe (its
 *                    pages by reference); per viewer, tee() that pipe into a scratch pipe and
 *                    splice() it to the socket: no page-cache lookup per send. What the socket
 *                    does not take is dropped from the scratch pipe; the rest goes by sendfile.
 *
 * Frames come from a pack file (--frames): records of a 4-byte little-endian length and a JPEG,
 * e.g. parts captured from mjpegd's /stream by bench/send_cost.py, sent in a loop at --fps.
 * Framing: the response head ends with the first boundary line; each part is its head, the
 * JPEG, CRLF and the next boundary line, the same bytes per part as mjpegd's.
 * Prints "listening on 127.0.0.1:PORT" on stderr; SIGTERM or SIGINT end it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#define BOUNDARY   "boundarydonotcross"
#define TAIL       "\r\n--" BOUNDARY "\r\n"
#define TAIL_LEN   (sizeof(TAIL) - 1)
#define REQ_MAX    4096
#define MAX_EV     256
#define FRAME_MAX  ((size_t)16 << 20)
#define FRAMES_MAX 100000

static const char resp_head[] = "HTTP/1.1 200 OK\r\n"
                                "Server: floor\r\n"
                                "Content-Type: multipart/x-mixed-replace;boundary=" BOUNDARY "\r\n"
                                "Cache-Control: no-store\r\n"
                                "Pragma: no-cache\r\n"
                                "Connection: close\r\n"
                                "\r\n"
                                "--" BOUNDARY "\r\n";

enum mode {
    M_COPY,
    M_SENDFILE,
    M_SPLICE
};

struct jpeg {
    unsigned char *data;
    size_t len;
};

/* A published part. One thread: a plain reference count. */
struct frame {
    unsigned refs;
    uint64_t seq;
    int fd;     /* sendfile mode: the sealed memfd holding the whole part; else -1 */
    int pipe_r; /* splice mode: a pipe holding the whole part (never read, only teed) */
    int pipe_w;
    const struct jpeg *jpeg;
    size_t hdr_len;
    size_t total;
    char hdr[160];
};

enum cstate {
    C_REQUEST,
    C_HEAD,
    C_STREAM
};

struct client {
    int fd;
    enum cstate state;
    bool writable;
    bool closed; /* freed at the end of the event batch, so later events in it can check */
    size_t in_len;
    size_t off;      /* bytes of the response head (C_HEAD) or of f (C_STREAM) sent */
    struct frame *f; /* the part being sent, or NULL */
    uint64_t seq;    /* the newest frame this client has started */
    struct client *prev, *next;
    char in[REQ_MAX];
};

static enum mode g_mode = M_COPY;
static int g_scratch[2] = { -1, -1 }; /* splice mode: tee target, spliced to one socket */
static int g_null = -1;               /* splice mode: where an untaken rest is dropped */
static uint64_t g_partial;            /* splice mode: sends the socket did not take whole */
static struct frame *g_latest;
static struct client g_clients = { .prev = &g_clients, .next = &g_clients };
static struct client *g_dead; /* closed clients, linked by next, freed after each batch */
static uint64_t g_sends;      /* send calls that moved bytes */
static uint64_t g_parts;      /* parts completed */
static uint64_t g_skipped;    /* frames a viewer missed because its previous part was in flight */

static void die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The newest frame is never freed here: g_latest holds a reference until it is replaced. */
static void frame_unref(struct frame *f)
{
    if (f != NULL && --f->refs == 0 && f != g_latest) {
        if (f->fd >= 0) {
            close(f->fd);
        }
        if (f->pipe_r >= 0) {
            close(f->pipe_r);
            close(f->pipe_w);
        }
        free(f);
    }
}

static bool write_all(int fd, const struct iovec *iov, int n)
{
    struct iovec v[3];
    memcpy(v, iov, sizeof(*iov) * (size_t)n);
    int i = 0;
    while (i < n) {
        ssize_t w = writev(fd, v + i, n - i);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        size_t k = (size_t)w;
        while (i < n && k >= v[i].iov_len) {
            k -= v[i].iov_len;
            i++;
        }
        if (i < n) {
            v[i].iov_base = (char *)v[i].iov_base + k;
            v[i].iov_len -= k;
        }
    }
    return true;
}

static struct frame *frame_make(const struct jpeg *j, uint64_t seq)
{
    struct frame *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        die("calloc");
    }
    f->refs = 1;
    f->seq = seq;
    f->fd = -1;
    f->pipe_r = -1;
    f->pipe_w = -1;
    f->jpeg = j;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(f->hdr, sizeof(f->hdr),
                     "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n"
                     "X-Timestamp: %lld.%06ld\r\n\r\n",
                     j->len, (long long)ts.tv_sec, ts.tv_nsec / 1000);
    f->hdr_len = (size_t)n;
    f->total = f->hdr_len + j->len + TAIL_LEN;
    if (g_mode == M_SENDFILE || g_mode == M_SPLICE) {
        f->fd = memfd_create("floor-frame", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (f->fd < 0) {
            die("memfd_create");
        }
        struct iovec iov[3] = { { f->hdr, f->hdr_len },
                                { j->data, j->len },
                                { (void *)(uintptr_t)TAIL, TAIL_LEN } };
        if (!write_all(f->fd, iov, 3)) {
            die("write memfd");
        }
        if (fcntl(f->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) <
            0) {
            die("seal memfd");
        }
    }
    if (g_mode == M_SPLICE) {
        // The memfd's pages, spliced by reference into the frame's pipe once per frame.
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0 ||
            fcntl(p[1], F_SETPIPE_SZ, (int)f->total + 8192) < 0) {
            die("frame pipe");
        }
        loff_t at = 0;
        while ((size_t)at < f->total) {
            ssize_t w = splice(f->fd, &at, p[1], NULL, f->total - (size_t)at, SPLICE_F_NONBLOCK);
            if (w <= 0) {
                die("splice memfd to pipe");
            }
        }
        f->pipe_r = p[0];
        f->pipe_w = p[1];
    }
    return f;
}

/* Splice mode, a part from its start: tee the frame's pipe into the scratch pipe, splice that
 * to the socket, drop what it did not take (the rest goes by sendfile). Bytes sent or -1. */
static ssize_t splice_part(struct client *c)
{
    struct frame *f = c->f;
    ssize_t t = tee(f->pipe_r, g_scratch[1], f->total, SPLICE_F_NONBLOCK);
    if (t != (ssize_t)f->total) {
        die("tee");
    }
    ssize_t w = splice(g_scratch[0], NULL, c->fd, NULL, f->total, SPLICE_F_NONBLOCK);
    int err = errno;
    size_t left = f->total - (w > 0 ? (size_t)w : 0);
    if (left > 0) {
        g_partial++;
    }
    while (left > 0) {
        ssize_t d = splice(g_scratch[0], NULL, g_null, NULL, left, 0);
        if (d <= 0) {
            die("splice to /dev/null");
        }
        left -= (size_t)d;
    }
    errno = err;
    return w;
}

static void client_close(struct client *c)
{
    close(c->fd);
    frame_unref(c->f);
    c->f = NULL;
    c->closed = true;
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = g_dead;
    g_dead = c;
}

static void free_dead(void)
{
    while (g_dead != NULL) {
        struct client *c = g_dead;
        g_dead = c->next;
        free(c);
    }
}

/* Sends what is left of c's part: 1 done, 0 blocked, -1 error. */
static int send_part(struct client *c)
{
    struct frame *f = c->f;
    while (c->off < f->total) {
        ssize_t w;
        if (g_mode == M_SPLICE && c->off == 0) {
            w = splice_part(c);
        } else if (g_mode == M_SENDFILE || g_mode == M_SPLICE) {
            off_t o = (off_t)c->off;
            w = sendfile(c->fd, f->fd, &o, f->total - c->off);
        } else {
            struct iovec iov[3];
            int n = 0;
            size_t off = c->off;
            const struct iovec seg[3] = { { f->hdr, f->hdr_len },
                                          { f->jpeg->data, f->jpeg->len },
                                          { (void *)(uintptr_t)TAIL, TAIL_LEN } };
            for (int i = 0; i < 3; i++) {
                if (off >= seg[i].iov_len) {
                    off -= seg[i].iov_len;
                    continue;
                }
                iov[n].iov_base = (char *)seg[i].iov_base + off;
                iov[n].iov_len = seg[i].iov_len - off;
                off = 0;
                n++;
            }
            struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
            w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (w > 0) {
            g_sends++;
            c->off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && errno == EAGAIN) {
            c->writable = false;
            return 0;
        }
        return -1;
    }
    g_parts++;
    frame_unref(c->f);
    c->f = NULL;
    return 1;
}

/* Sends to c while it can: the head, then the newest part it has not started. */
static void client_run(struct client *c)
{
    while (c->writable) {
        if (c->state == C_HEAD) {
            ssize_t w = send(c->fd, resp_head + c->off, sizeof(resp_head) - 1 - c->off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w < 0 && errno == EAGAIN) {
                c->writable = false;
                return;
            }
            if (w <= 0) {
                client_close(c);
                return;
            }
            c->off += (size_t)w;
            if (c->off == sizeof(resp_head) - 1) {
                c->state = C_STREAM;
                c->off = 0;
            }
            continue;
        }
        if (c->state != C_STREAM) {
            return;
        }
        if (c->f == NULL) {
            if (g_latest == NULL || g_latest->seq <= c->seq) {
                return;
            }
            if (c->seq != 0 && g_latest->seq > c->seq + 1) {
                g_skipped += g_latest->seq - c->seq - 1;
            }
            c->f = g_latest;
            c->f->refs++;
            c->seq = g_latest->seq;
            c->off = 0;
        }
        int r = send_part(c);
        if (r < 0) {
            client_close(c);
            return;
        }
        if (r == 0) {
            return;
        }
    }
}

/* Reads what the client sent: the request head (any head starts the stream), then discards. */
static void client_read(struct client *c)
{
    for (;;) {
        char scratch[1024];
        char *dst = c->state == C_REQUEST ? c->in + c->in_len : scratch;
        size_t cap = c->state == C_REQUEST ? sizeof(c->in) - c->in_len : sizeof(scratch);
        if (cap == 0) {
            client_close(c);
            return;
        }
        ssize_t n = recv(c->fd, dst, cap, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        if (n <= 0) {
            client_close(c);
            return;
        }
        if (c->state == C_REQUEST) {
            c->in_len += (size_t)n;
            if (memmem(c->in, c->in_len, "\r\n\r\n", 4) != NULL) {
                c->state = C_HEAD;
                c->off = 0;
                client_run(c);
                return; /* c may be gone; the next EPOLLIN reads on */
            }
        }
    }
}

static void accept_ready(int lfd, int epfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct client *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            die("calloc");
        }
        c->fd = fd;
        c->state = C_REQUEST;
        c->writable = true;
        c->next = g_clients.next;
        c->prev = &g_clients;
        g_clients.next->prev = c;
        g_clients.next = c;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                  .data.ptr = c };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            client_close(c);
            continue;
        }
        client_read(c);
    }
}

static struct jpeg *load_pack(const char *path, size_t *count)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        die(path);
    }
    struct jpeg *v = NULL;
    size_t n = 0;
    for (;;) {
        unsigned char l[4];
        if (fread(l, 1, 4, fp) != 4) {
            break;
        }
        size_t len = (size_t)l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 | (size_t)l[3] << 24;
        if (len == 0 || len > FRAME_MAX || n == FRAMES_MAX) {
            fprintf(stderr, "floor: %s: bad frame record %zu\n", path, n);
            exit(1);
        }
        struct jpeg *nv = realloc(v, (n + 1) * sizeof(*v));
        unsigned char *d = malloc(len);
        if (nv == NULL || d == NULL) {
            die("out of memory");
        }
        v = nv;
        if (fread(d, 1, len, fp) != len) {
            fprintf(stderr, "floor: %s: truncated frame %zu\n", path, n);
            exit(1);
        }
        v[n].data = d;
        v[n].len = len;
        n++;
    }
    fclose(fp);
    if (n == 0) {
        fprintf(stderr, "floor: %s: no frames\n", path);
        exit(1);
    }
    *count = n;
    return v;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: floor --frames PACK [--port 0] [--fps 30] [--mode copy|sendfile|splice]\n"
               "A bare one-thread MJPEG fan-out server on 127.0.0.1 (see bench/floor.c).\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "frames", required_argument, NULL, 'f' }, { "port", required_argument, NULL, 'p' },
        { "fps", required_argument, NULL, 'r' },    { "mode", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    const char *pack = NULL;
    int port = 0;
    int fps = 30;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'f':
            pack = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'r':
            fps = atoi(optarg);
            break;
        case 'm':
            if (strcmp(optarg, "copy") == 0) {
                g_mode = M_COPY;
            } else if (strcmp(optarg, "sendfile") == 0) {
                g_mode = M_SENDFILE;
            } else if (strcmp(optarg, "splice") == 0) {
                g_mode = M_SPLICE;
            } else {
                usage(stderr);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (pack == NULL || optind != argc || port < 0 || port > 65535 || fps < 1 || fps > 1000) {
        usage(stderr);
        return 2;
    }
    size_t nframes = 0;
    struct jpeg *frames = load_pack(pack, &nframes);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, SOMAXCONN) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) < 0) {
        die("listen");
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    long period_ns = 1000000000L / fps;
    struct itimerspec its = { .it_interval = { period_ns / 1000000000L, period_ns % 1000000000L },
                              .it_value = { 0, 1 } };
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || tfd < 0 || epfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
        die("setup");
    }
    /* Listener, timer and signals are told apart by these sentinels. */
    static char tag_l, tag_t, tag_s;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_l };
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.ptr = &tag_t;
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
    ev.data.ptr = &tag_s;
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
    fprintf(stderr, "floor: %zu frames, %s, %d fps\nlistening on 127.0.0.1:%d\n", nframes,
            g_mode == M_SENDFILE ? "sendfile"
            : g_mode == M_SPLICE ? "splice"
                                 : "copy",
            fps, ntohs(a.sin_port));
    if (g_mode == M_SPLICE) {
        g_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (g_null < 0 || pipe2(g_scratch, O_CLOEXEC | O_NONBLOCK) < 0 ||
            fcntl(g_scratch[1], F_SETPIPE_SZ, 1 << 20) < 0) {
            die("scratch pipe");
        }
    }

    uint64_t seq = 0;
    bool stop = false;
    struct epoll_event evs[MAX_EV];
    while (!stop) {
        int n = epoll_wait(epfd, evs, MAX_EV, -1);
        if (n < 0 && errno != EINTR) {
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &tag_s) {
                stop = true;
            } else if (p == &tag_l) {
                accept_ready(lfd, epfd);
            } else if (p == &tag_t) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks)) {
                    continue;
                }
                seq++;
                struct frame *old = g_latest;
                g_latest = frame_make(&frames[seq % nframes], seq);
                frame_unref(old);
                for (struct client *c = g_clients.next, *nx; c != &g_clients; c = nx) {
                    nx = c->next;
                    if (c->state == C_STREAM && c->f == NULL) {
                        client_run(c);
                    }
                }
            } else {
                struct client *c = p;
                if (c->closed) {
                    continue;
                }
                if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                    client_close(c);
                    continue;
                }
                if (evs[i].events & (EPOLLIN | EPOLLRDHUP)) {
                    client_read(c);
                    if (c->closed) {
                        continue;
                    }
                }
                if (evs[i].events & EPOLLOUT) {
                    c->writable = true;
                    client_run(c);
                }
            }
        }
        free_dead();
    }
    fprintf(stderr,
            "floor: %llu frames, %llu parts sent, %llu send calls, %llu skipped, %llu partial "
            "splices\n",
            (unsigned long long)seq, (unsigned long long)g_parts, (unsigned long long)g_sends,
            (unsigned long long)g_skipped, (unsigned long long)g_partial);
    while (g_clients.next != &g_clients) {
        client_close(g_clients.next);
    }
    free_dead();
    struct frame *last = g_latest;
    g_latest = NULL;
    frame_unref(last);
    for (size_t i = 0; i < nframes; i++) {
        free(frames[i].data);
    }
    free(frames);
    close(epfd);
    close(tfd);
    close(lfd);
    close(sfd);
    return 0;
}

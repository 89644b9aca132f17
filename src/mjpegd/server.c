// SPDX-License-Identifier: MIT
/* The HTTP side: listening sockets and the network worker loops that own every client. */
#include "mjpegd/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/thread.h"
#include "core/version.h"
#include "mjpegd/auth.h"
#include "mjpegd/http_parse.h"
#include "mjpegd/limits.h"
#include "mjpegd/report.h"
#include "mjpegd/route.h"
#include "mjpegd/web.h"

#define BOUNDARY         "boundarydonotcross"
#define IN_INITIAL       2048
#define LINGER_NS        (2 * CORE_NS_PER_SEC)
#define LINGER_MAX_BYTES ((size_t)64 * 1024)
#define SWEEP_NS         (100 * CORE_NS_PER_MS)
#define ACCEPT_BATCH     64
#define MAX_EVENTS       256
#define REPORT_MAX       4096
#define EVICT_SCAN       32
#define EVICT_GRACE_NS   (200 * CORE_NS_PER_MS)

#define CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

enum cstate {
    CS_HEAD,    /* reading a request head; in w->heads and (unless kicked) srv->pending */
    CS_RESPOND, /* sending a response; in the active list */
    CS_STREAM,  /* streaming; in the streams list */
    CS_LINGER,  /* response sent, write side shut, draining input; in the active list */
};

struct link {
    struct link *prev;
    struct link *next;
};

/* One connection. Owned by one loop: every field is loop thread only. */
struct client {
    struct worker *w;
    int fd;
    enum cstate state;
    bool closed;                   /* closed; freed at the end of the loop iteration */
    struct client *dead_next;      /* in the loop's list of closed clients */
    struct mjd_pending_node pnode; /* in srv->pending (guarded by srv->pending_mu) */
    struct link link;              /* in w->heads, w->active or w->streams, by state */
    struct sockaddr_storage peer;
    bool readable; /* no EAGAIN from recv since the last EPOLLIN edge */
    bool writable; /* no EAGAIN from sendmsg since the last EPOLLOUT edge */
    bool eof;      /* the peer shut its write side */
    bool counted;  /* holds a streaming slot in the limits */
    bool head_only;
    bool keep_alive;
    bool close_after; /* linger and close once the output is sent */
    /* input: at most MJD_HTTP_MAX_HEAD bytes */
    char *in;
    size_t in_len;
    size_t in_cap;
    size_t req_len; /* bytes of the request being answered */
    struct mjd_http_parser parser;
    /* output: hdr, then body, then tail, sent with one sendmsg */
    char *hdr;
    size_t hdr_len;
    size_t hdr_cap;
    const unsigned char *body;
    size_t body_len;
    struct core_buf *body_ref; /* reference held while body points into it */
    const char *tail;
    size_t tail_len;
    size_t sent;
    bool sending;
    int64_t progress_ns; /* when output began or last made progress */
    int outq_seen;       /* socket send queue at the last sweep, -1 after a write */
    int64_t linger_until;
    size_t lingered; /* bytes read and discarded (linger, stream) */
    /* stream */
    uint64_t seq; /* last frame started */
    int64_t interval_ns;
    int64_t next_due_ns;
};

struct worker {
    struct mjd_server *srv;
    unsigned index;
    pthread_t thread;
    bool started;                    /* owner thread only */
    int epfd;                        /* loop thread only after start */
    int lfd;                         /* loop thread only after start */
    int efd;                         /* written by the hub (any thread), read by the loop */
    int spare_fd;                    /* loop thread only: released to shed a connection at EMFILE */
    int64_t now;                     /* loop thread only: time of the current iteration */
    struct link heads;               /* loop thread only */
    struct link active;              /* loop thread only */
    struct link streams;             /* loop thread only */
    struct client *dead;             /* loop thread only */
    struct mjd_frame latest;         /* loop thread only: newest frame this loop has seen */
    char part_hdr[192];              /* loop thread only: the multipart header of latest */
    size_t part_hdr_len;             /* loop thread only */
    atomic_uint_fast64_t bytes_sent; /* atomic */
};

struct mjd_server {
    const struct mjd_config *cfg;       /* immutable */
    struct mjd_hub *hub;                /* thread-safe */
    const struct mjd_source_info *info; /* immutable */
    struct mjd_limits *limits;          /* thread-safe */
    struct worker *workers;             /* array of nworkers */
    unsigned nworkers;                  /* immutable */
    atomic_bool stop;                   /* atomic */
    /*
     * Connections still sending a request head, from every loop, oldest first. Any loop may
     * evict or time out a node: under pending_mu it sends a best-effort 408 (timeouts) and
     * shuts the socket down, and the owning loop then sees EOF and closes it. An owner
     * removes its node under pending_mu before closing the fd, so a listed fd is valid.
     */
    pthread_mutex_t pending_mu;
    struct mjd_pending pending;   /* guarded by pending_mu */
    int64_t start_ns;             /* immutable */
    struct sockaddr_storage addr; /* immutable after create */
    bool stopped;                 /* owner thread only */
};

/* ---- lists --------------------------------------------------------------------------------- */

static void list_init(struct link *l)
{
    l->prev = l;
    l->next = l;
}

static void list_add_tail(struct link *head, struct link *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static void list_del(struct link *n)
{
    if (n->next != NULL) {
        n->prev->next = n->next;
        n->next->prev = n->prev;
        n->prev = NULL;
        n->next = NULL;
    }
}

/* ---- the pending set (shared by the loops) ------------------------------------------------- */

static const char timeout_resp[] = "HTTP/1.1 408 Request Timeout\r\n"
                                   "Content-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Length: 20\r\nConnection: close\r\n"
                                   "Accept-Ranges: none\r\n\r\n408 Request Timeout\n";

/* Ends a pending connection that may belong to another loop; its owner closes it. */
static void pending_kick_locked(struct mjd_pending_node *n, bool timed_out)
{
    struct client *c = CONTAINER_OF(n, struct client, pnode);
    if (timed_out) {
        // One try, never waiting: the connection is closed either way.
        ssize_t wr =
                send(c->fd, timeout_resp, sizeof(timeout_resp) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)wr;
    }
    shutdown(c->fd, SHUT_RDWR);
}

/*
 * Eviction passes over a connection accepted less than EVICT_GRACE_NS ago (its request may be
 * on its way: a burst of viewers connecting at once) and one with input its loop has not read
 * yet (it may hold a complete request). Called with pending_mu held, so the fd is valid.
 */
static bool evictable(struct mjd_pending_node *n, void *ctx)
{
    const struct mjd_server *srv = ctx;
    struct client *c = CONTAINER_OF(n, struct client, pnode);
    if (core_now_ns() - mjd_pending_added_ns(&srv->pending, n) < EVICT_GRACE_NS) {
        return false;
    }
    int unread = 0;
    return ioctl(c->fd, FIONREAD, &unread) != 0 || unread == 0;
}

static void pending_add(struct client *c)
{
    struct mjd_server *srv = c->w->srv;
    pthread_mutex_lock(&srv->pending_mu);
    struct mjd_pending_node *evicted = mjd_pending_add_checked(&srv->pending, &c->pnode, c->w->now,
                                                               evictable, srv, EVICT_SCAN);
    if (evicted != NULL) {
        pending_kick_locked(evicted, false);
    }
    pthread_mutex_unlock(&srv->pending_mu);
    if (evicted != NULL) {
        LOG_DEBUG("pending connections full: closed the oldest");
    }
}

static void pending_remove(struct client *c)
{
    struct mjd_server *srv = c->w->srv;
    pthread_mutex_lock(&srv->pending_mu);
    mjd_pending_remove(&srv->pending, &c->pnode);
    pthread_mutex_unlock(&srv->pending_mu);
}

/* Header deadline: ends every pending connection whose time is up, in any loop. */
static void pending_expire(struct mjd_server *srv, int64_t now)
{
    struct mjd_pending_node *n;
    pthread_mutex_lock(&srv->pending_mu);
    while ((n = mjd_pending_pop_expired(&srv->pending, now)) != NULL) {
        pending_kick_locked(n, true);
    }
    // Back under the cap once the connections that eviction passed over are old enough.
    while ((n = mjd_pending_trim(&srv->pending, evictable, srv, EVICT_SCAN)) != NULL) {
        pending_kick_locked(n, false);
    }
    pthread_mutex_unlock(&srv->pending_mu);
}

/* Ends the oldest pending connection, to free an fd. */
static void pending_shed_oldest(struct mjd_server *srv)
{
    pthread_mutex_lock(&srv->pending_mu);
    struct mjd_pending_node *n = mjd_pending_pop_oldest(&srv->pending);
    if (n != NULL) {
        pending_kick_locked(n, false);
    }
    pthread_mutex_unlock(&srv->pending_mu);
}

/* ---- closing ------------------------------------------------------------------------------- */

static void client_close(struct client *c)
{
    if (c->closed) {
        return;
    }
    struct worker *w = c->w;
    c->closed = true;
    if (c->state == CS_HEAD) {
        pending_remove(c);
    }
    list_del(&c->link);
    close(c->fd);
    c->fd = -1;
    if (c->counted) {
        mjd_limits_release(w->srv->limits, (const struct sockaddr *)&c->peer);
        c->counted = false;
    }
    core_buf_unref(c->body_ref);
    c->body_ref = NULL;
    free(c->in);
    c->in = NULL;
    free(c->hdr);
    c->hdr = NULL;
    // Freed after the event batch: a later event in it may still name this client.
    c->dead_next = w->dead;
    w->dead = c;
}

static void free_dead(struct worker *w)
{
    while (w->dead != NULL) {
        struct client *c = w->dead;
        w->dead = c->dead_next;
        free(c);
    }
}

/* ---- output -------------------------------------------------------------------------------- */

static void hdr_reserve(struct client *c, size_t extra)
{
    if (c->hdr_len + extra + 1 <= c->hdr_cap) {
        return;
    }
    size_t cap = c->hdr_cap ? c->hdr_cap : 512;
    while (cap < c->hdr_len + extra + 1) {
        cap *= 2;
    }
    c->hdr = core_xrealloc(c->hdr, cap);
    c->hdr_cap = cap;
}

static void hdr_printf(struct client *c, const char *fmt, ...) CORE_PRINTF(2, 3);

static void hdr_printf(struct client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) {
        return;
    }
    hdr_reserve(c, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(c->hdr + c->hdr_len, c->hdr_cap - c->hdr_len, fmt, ap);
    va_end(ap);
    c->hdr_len += (size_t)n;
}

static void hdr_append(struct client *c, const void *data, size_t len)
{
    hdr_reserve(c, len);
    memcpy(c->hdr + c->hdr_len, data, len);
    c->hdr_len += len;
}

/* Leaves the head-reading state for one where output is sent. */
static void enter_output_state(struct client *c, enum cstate st)
{
    struct worker *w = c->w;
    if (c->state == CS_HEAD) {
        pending_remove(c);
    }
    list_del(&c->link);
    c->state = st;
    list_add_tail(st == CS_STREAM ? &w->streams : &w->active, &c->link);
    c->hdr_len = 0;
    c->body = NULL;
    c->body_len = 0;
    c->tail = NULL;
    c->tail_len = 0;
    c->sent = 0;
    c->sending = true;
    c->progress_ns = w->now;
    c->outq_seen = -1;
}

/*
 * Starts a response: status line and the headers every response has. content_length < 0
 * means none (the stream). extra holds more header lines, each ending in CRLF.
 */
static void begin_response(struct client *c, int status, const char *ctype,
                           long long content_length, const char *extra)
{
    enter_output_state(c, CS_RESPOND);
    hdr_printf(c, "HTTP/1.1 %d %s\r\nServer: mjpegd/%s\r\nContent-Type: %s\r\n", status,
               mjd_http_reason(status), CORE_VERSION, ctype);
    if (content_length >= 0) {
        hdr_printf(c, "Content-Length: %lld\r\n", content_length);
    }
    hdr_printf(c, "Connection: %s\r\nAccept-Ranges: none\r\n%s\r\n",
               c->close_after ? "close" : "keep-alive", extra != NULL ? extra : "");
}

static void send_error(struct client *c, int status, const char *extra)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, mjd_http_reason(status));
    if (status == 405 && extra == NULL) {
        extra = "Allow: GET, HEAD\r\n";
    }
    c->close_after = true;
    begin_response(c, status, "text/plain; charset=utf-8", n, extra);
    if (!c->head_only) {
        hdr_append(c, body, (size_t)n);
    }
    LOG_DEBUG("answered %d", status);
}

/* Sends as much of hdr + body + tail as the socket takes: 1 all sent, 0 blocked, -1 error. */
static int flush_out(struct client *c)
{
    struct worker *w = c->w;
    for (;;) {
        struct iovec iov[3];
        int n = 0;
        size_t off = c->sent;
        const struct {
            const void *p;
            size_t len;
        } seg[3] = { { c->hdr, c->hdr_len }, { c->body, c->body_len }, { c->tail, c->tail_len } };
        for (int i = 0; i < 3; i++) {
            if (off >= seg[i].len) {
                off -= seg[i].len;
                continue;
            }
            iov[n].iov_base = (char *)(uintptr_t)seg[i].p + off;
            iov[n].iov_len = seg[i].len - off;
            off = 0;
            n++;
        }
        if (n == 0) {
            return 1;
        }
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t wr = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (wr > 0) {
            c->sent += (size_t)wr;
            c->progress_ns = w->now;
            c->outq_seen = -1;
            atomic_fetch_add_explicit(&w->bytes_sent, (uint64_t)wr, memory_order_relaxed);
            continue;
        }
        int err = errno;
        if (wr < 0 && err == EINTR) {
            continue;
        }
        if (wr < 0 && (err == EAGAIN)) {
            c->writable = false;
            return 0;
        }
        return -1;
    }
}

/* ---- endpoints ----------------------------------------------------------------------------- */

static void gather_report(struct mjd_server *srv, struct mjd_report *r)
{
    struct mjd_hub_stats hs;
    mjd_hub_get_stats(srv->hub, &hs);
    memset(r, 0, sizeof(*r));
    r->source = srv->info->kind;
    r->width = srv->info->width;
    r->height = srv->info->height;
    r->fps = hs.fps;
    r->target_fps = srv->cfg->fps;
    r->quality = srv->cfg->quality;
    r->clients = mjd_limits_streaming(srv->limits);
    r->clients_total = mjd_limits_total(srv->limits);
    r->frames_captured = hs.captured;
    r->frames_encoded = hs.encoded;
    r->frames_dropped = hs.dropped;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct worker *w = &srv->workers[i];
        r->bytes_sent += atomic_load_explicit(&w->bytes_sent, memory_order_relaxed);
    }
    pthread_mutex_lock(&srv->pending_mu);
    r->pending = srv->pending.count;
    pthread_mutex_unlock(&srv->pending_mu);
    r->uptime = (double)(core_now_ns() - srv->start_ns) / 1e9;
}

static void respond_report(struct client *c, bool metrics)
{
    char body[REPORT_MAX];
    struct mjd_report r;
    gather_report(c->w->srv, &r);
    int n = metrics ? mjd_report_metrics(&r, body, sizeof(body))
                    : mjd_report_json(&r, body, sizeof(body));
    if (n < 0) {
        send_error(c, 500, NULL);
        return;
    }
    begin_response(c, 200,
                   metrics ? "text/plain; version=0.0.4; charset=utf-8" : "application/json", n,
                   "Cache-Control: no-store\r\n");
    if (!c->head_only) {
        hdr_append(c, body, (size_t)n);
    }
}

static void respond_index(struct client *c)
{
    begin_response(c, 200, "text/html; charset=utf-8", (long long)mjd_web_index_html_len,
                   "Cache-Control: no-cache\r\n");
    if (!c->head_only) {
        c->body = mjd_web_index_html;
        c->body_len = mjd_web_index_html_len;
    }
}

static void format_timestamp(char *buf, size_t cap, int64_t wall_ns)
{
    snprintf(buf, cap, "%lld.%06lld", (long long)(wall_ns / CORE_NS_PER_SEC),
             (long long)((wall_ns % CORE_NS_PER_SEC) / 1000));
}

static void respond_snapshot(struct client *c)
{
    struct mjd_frame f;
    if (!mjd_hub_latest(c->w->srv->hub, &f)) {
        send_error(c, 503, "Retry-After: 1\r\n");
        return;
    }
    char ts[64];
    char extra[128];
    format_timestamp(ts, sizeof(ts), f.wall_ns);
    snprintf(extra, sizeof(extra), "Cache-Control: no-store\r\nX-Timestamp: %s\r\n", ts);
    begin_response(c, 200, "image/jpeg", (long long)f.jpeg->len, extra);
    if (c->head_only) {
        core_buf_unref(f.jpeg);
        return;
    }
    c->body_ref = f.jpeg;
    c->body = f.jpeg->data;
    c->body_len = f.jpeg->len;
}

static const char stream_headers[] =
        "HTTP/1.1 200 OK\r\n"
        "Server: mjpegd/" CORE_VERSION "\r\n"
        "Content-Type: multipart/x-mixed-replace;boundary=" BOUNDARY "\r\n"
        "Cache-Control: no-store\r\n"
        "Pragma: no-cache\r\n"
        "Connection: close\r\n"
        "Accept-Ranges: none\r\n"
        "\r\n";

static void start_stream(struct client *c, const struct mjd_route *route)
{
    struct worker *w = c->w;
    c->close_after = true;
    if (c->head_only) {
        enter_output_state(c, CS_RESPOND);
        hdr_append(c, stream_headers, sizeof(stream_headers) - 1);
        return;
    }
    int rc = mjd_limits_acquire(w->srv->limits, (const struct sockaddr *)&c->peer);
    if (rc != 0) {
        LOG_DEBUG("stream refused: %s", rc == -EBUSY ? "max clients" : "max clients per ip");
        send_error(c, 503, "Retry-After: 1\r\n");
        return;
    }
    c->counted = true;
    // A stream reads nothing more: give back the request buffer.
    free(c->in);
    c->in = NULL;
    c->in_len = 0;
    c->in_cap = 0;
    c->interval_ns = route->fps > 0 ? CORE_NS_PER_SEC / route->fps : 0;
    c->next_due_ns = 0;
    c->seq = 0;
    enter_output_state(c, CS_STREAM);
    hdr_append(c, stream_headers, sizeof(stream_headers) - 1);
}

/* Starts the next part if a newer frame is there and the client's rate cap allows it. */
static bool next_part(struct client *c)
{
    struct worker *w = c->w;
    const struct mjd_frame *f = &w->latest;
    if (f->jpeg == NULL || f->seq <= c->seq) {
        return false;
    }
    if (c->interval_ns > 0) {
        // A little slack, so that frame-time jitter does not skip a whole source frame.
        if (w->now + 2 * CORE_NS_PER_MS < c->next_due_ns) {
            return false;
        }
        c->next_due_ns += c->interval_ns;
        if (c->next_due_ns < w->now - c->interval_ns) {
            c->next_due_ns = w->now;
        }
    }
    c->seq = f->seq;
    core_buf_unref(c->body_ref);
    c->body_ref = core_buf_ref(f->jpeg);
    c->body = f->jpeg->data;
    c->body_len = f->jpeg->len;
    // The part header is the same for every client: formatted once per frame by frame_ready.
    c->hdr_len = 0;
    hdr_append(c, w->part_hdr, w->part_hdr_len);
    c->tail = "\r\n";
    c->tail_len = 2;
    c->sent = 0;
    c->sending = true;
    c->progress_ns = w->now;
    return true;
}

static void handle_request(struct client *c)
{
    const struct mjd_config *cfg = c->w->srv->cfg;
    const struct mjd_http_request *req = &c->parser.req;
    // The head is complete: no longer pending (so /metrics does not count this request).
    pending_remove(c);
    c->head_only = req->method == MJD_HTTP_HEAD;
    c->keep_alive = req->keep_alive;
    c->close_after = !req->keep_alive;
    if (cfg->auth[0] != '\0' &&
        !(req->has_authorization && mjd_auth_check_basic(c->in + req->authorization.off,
                                                         req->authorization.len, cfg->auth))) {
        send_error(c, 401, "WWW-Authenticate: Basic realm=\"mjpegd\"\r\n");
        return;
    }
    struct mjd_route route;
    int status = mjd_route_resolve(c->in + req->target.off, req->target.len, &route);
    if (status != 0) {
        send_error(c, status, NULL);
        return;
    }
    switch (route.kind) {
    case MJD_ROUTE_INDEX:
        respond_index(c);
        break;
    case MJD_ROUTE_STREAM:
        start_stream(c, &route);
        break;
    case MJD_ROUTE_SNAPSHOT:
        respond_snapshot(c);
        break;
    case MJD_ROUTE_STATE:
        respond_report(c, false);
        break;
    case MJD_ROUTE_METRICS:
        respond_report(c, true);
        break;
    case MJD_ROUTE_NOT_FOUND:
    default:
        send_error(c, 404, NULL);
        break;
    }
}

/* ---- the state machine --------------------------------------------------------------------- */

enum step {
    STEP_WAIT,   /* nothing more to do until the next event */
    STEP_AGAIN,  /* the state changed: run again */
    STEP_CLOSED, /* the client was closed */
};

static void enter_head_state(struct client *c)
{
    list_del(&c->link);
    list_add_tail(&c->w->heads, &c->link);
    c->state = CS_HEAD;
    c->head_only = false;
    c->close_after = false;
    mjd_http_parser_init(&c->parser);
    pending_add(c);
}

static enum step head_step(struct client *c)
{
    for (;;) {
        if (c->in_len > 0) {
            size_t used = 0;
            enum mjd_http_result r = mjd_http_parse(&c->parser, c->in, c->in_len, &used);
            if (r == MJD_HTTP_OK) {
                c->req_len = used;
                handle_request(c);
                return STEP_AGAIN;
            }
            if (r == MJD_HTTP_ERROR) {
                c->req_len = c->in_len;
                send_error(c, c->parser.status, NULL);
                return STEP_AGAIN;
            }
            if (c->in_len >= MJD_HTTP_MAX_HEAD) {
                c->req_len = c->in_len;
                send_error(c, 431, NULL);
                return STEP_AGAIN;
            }
        }
        if (c->eof) {
            client_close(c);
            return STEP_CLOSED;
        }
        if (!c->readable) {
            return STEP_WAIT;
        }
        if (c->in_len == c->in_cap) {
            size_t cap = c->in_cap ? c->in_cap * 2 : IN_INITIAL;
            cap = cap > MJD_HTTP_MAX_HEAD ? MJD_HTTP_MAX_HEAD : cap;
            c->in = core_xrealloc(c->in, cap);
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
        } else if (n == 0) {
            c->eof = true;
        } else if (errno == EAGAIN) {
            c->readable = false;
        } else if (errno != EINTR) {
            client_close(c);
            return STEP_CLOSED;
        }
    }
}

static void begin_linger(struct client *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = CS_LINGER;
    c->linger_until = c->w->now + LINGER_NS;
    c->lingered = 0;
}

/* Reads and discards input: STEP_CLOSED at EOF, error or too much, else STEP_WAIT. */
static enum step discard_input(struct client *c)
{
    char scratch[4096];
    while (c->readable && !c->eof) {
        ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
        if (n > 0) {
            c->lingered += (size_t)n;
            if (c->state == CS_LINGER && c->lingered > LINGER_MAX_BYTES) {
                break;
            }
            continue;
        }
        if (n == 0) {
            c->eof = true;
        } else if (errno == EAGAIN) {
            c->readable = false;
        } else if (errno != EINTR) {
            break;
        }
    }
    if (c->readable || c->eof) {
        client_close(c);
        return STEP_CLOSED;
    }
    return STEP_WAIT;
}

/*
 * Sends what is left of the current response or part. STEP_AGAIN once it is all sent (the
 * body reference is dropped), STEP_WAIT while the socket is full, STEP_CLOSED on an error.
 */
static enum step finish_send(struct client *c)
{
    if (!c->writable) {
        return STEP_WAIT;
    }
    int r = flush_out(c);
    if (r < 0) {
        client_close(c);
        return STEP_CLOSED;
    }
    if (r == 0) {
        return STEP_WAIT;
    }
    core_buf_unref(c->body_ref);
    c->body_ref = NULL;
    c->sending = false;
    return STEP_AGAIN;
}

static enum step respond_step(struct client *c)
{
    enum step s = finish_send(c);
    if (s != STEP_AGAIN) {
        return s;
    }
    if (c->close_after) {
        begin_linger(c);
        return STEP_AGAIN;
    }
    // Keep-alive: drop the answered request, then parse any pipelined one.
    memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
    c->in_len -= c->req_len;
    c->req_len = 0;
    enter_head_state(c);
    return STEP_AGAIN;
}

static enum step stream_step(struct client *c)
{
    // A streaming client has nothing to say; reading tells us when it goes away. One that
    // keeps talking is cut off, so it cannot keep this loop busy reading.
    if (c->readable) {
        char scratch[1024];
        for (;;) {
            ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
            if (n > 0) {
                c->lingered += (size_t)n;
                if (c->lingered > LINGER_MAX_BYTES) {
                    client_close(c);
                    return STEP_CLOSED;
                }
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN)) {
                c->readable = false;
                break;
            }
            client_close(c);
            return STEP_CLOSED;
        }
    }
    for (;;) {
        if (c->sending) {
            enum step s = finish_send(c);
            if (s != STEP_AGAIN) {
                return s;
            }
        }
        // Only pick a frame when the socket can take it, so it is the newest one by then.
        if (!c->writable || !next_part(c)) {
            return STEP_WAIT;
        }
    }
}

static void client_run(struct client *c)
{
    enum step s = STEP_AGAIN;
    while (s == STEP_AGAIN && !c->closed) {
        switch (c->state) {
        case CS_HEAD:
            s = head_step(c);
            break;
        case CS_RESPOND:
            s = respond_step(c);
            break;
        case CS_STREAM:
            s = stream_step(c);
            break;
        case CS_LINGER:
            s = discard_input(c);
            break;
        default:
            CORE_BUG("bad client state");
        }
    }
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void client_new(struct worker *w, int fd, const struct sockaddr_storage *peer)
{
    struct client *c = core_xcalloc(1, sizeof(*c));
    c->w = w;
    c->fd = fd;
    c->peer = *peer;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        LOG_WARN("epoll_ctl add: %s", strerror(errno));
        close(fd);
        free(c);
        return;
    }
    // Admitted as pending (which may evict the oldest idle one), then read at once: the
    // request often arrives with the connection, and is then answered without waiting.
    w->now = core_now_ns();
    enter_head_state(c);
    c->readable = true;
    c->writable = true;
    client_run(c);
}

/*
 * At EMFILE: end the oldest pending connection (its fd frees once its loop closes it) and
 * give the spare fd's slot to the newcomer; the sweep reopens the spare.
 */
static bool shed_for_fd(struct worker *w)
{
    pending_shed_oldest(w->srv);
    if (w->spare_fd >= 0) {
        close(w->spare_fd);
        w->spare_fd = -1;
        return true;
    }
    return false;
}

static void accept_ready(struct worker *w)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EINTR || err == ECONNABORTED) {
                continue;
            }
            if ((err == EMFILE || err == ENFILE) && shed_for_fd(w)) {
                continue;
            }
            if (err != EAGAIN) {
                LOG_WARN("accept: %s", strerror(err));
            }
            return;
        }
        client_new(w, fd, &ss);
    }
}

static void frame_ready(struct worker *w)
{
    uint64_t v;
    ssize_t r = read(w->efd, &v, sizeof(v));
    (void)r;
    struct mjd_frame f;
    if (!mjd_hub_latest(w->srv->hub, &f)) {
        return;
    }
    if (f.seq <= w->latest.seq) {
        core_buf_unref(f.jpeg);
        return;
    }
    core_buf_unref(w->latest.jpeg);
    w->latest = f;
    char ts[64];
    format_timestamp(ts, sizeof(ts), f.wall_ns);
    int n = snprintf(w->part_hdr, sizeof(w->part_hdr),
                     "--" BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
                     "X-Timestamp: %s\r\n\r\n",
                     f.jpeg->len, ts);
    w->part_hdr_len = n > 0 && (size_t)n < sizeof(w->part_hdr) ? (size_t)n : 0;
    struct link *l = w->streams.next;
    while (l != &w->streams) {
        struct link *next = l->next;
        struct client *c = CONTAINER_OF(l, struct client, link);
        if (!c->sending && c->writable) {
            client_run(c);
        }
        l = next;
    }
}

/*
 * Whether a client with output in flight is still within --send-timeout. A socket we cannot
 * write to may still be draining: the kernel signals EPOLLOUT only once a third of the send
 * buffer is free, which a slow but steady reader can take longer than the timeout to free.
 * So a send queue that shrank since the last sweep counts as progress too.
 */
static bool send_in_time(struct client *c, int64_t now, int64_t timeout_ns)
{
    if (now - c->progress_ns < SWEEP_NS) {
        return true;
    }
    int outq = 0;
    if (ioctl(c->fd, SIOCOUTQ, &outq) == 0) {
        if (c->outq_seen >= 0 && outq < c->outq_seen) {
            c->progress_ns = now;
        }
        c->outq_seen = outq;
    }
    return now - c->progress_ns <= timeout_ns;
}

static void sweep(struct worker *w)
{
    const struct mjd_config *cfg = w->srv->cfg;
    pending_expire(w->srv, w->now);
    if (w->spare_fd < 0) {
        w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    struct link *heads[2] = { &w->active, &w->streams };
    for (int i = 0; i < 2; i++) {
        struct link *l = heads[i]->next;
        while (l != heads[i]) {
            struct link *next = l->next;
            struct client *c = CONTAINER_OF(l, struct client, link);
            if (c->state == CS_LINGER) {
                if (w->now >= c->linger_until) {
                    client_close(c);
                }
            } else if (c->sending && !send_in_time(c, w->now, cfg->send_timeout_ns)) {
                LOG_DEBUG("send timeout: closing a client that made no progress");
                client_close(c);
            }
            l = next;
        }
    }
}

static void close_all(struct worker *w)
{
    struct link *heads[3] = { &w->heads, &w->active, &w->streams };
    for (int i = 0; i < 3; i++) {
        while (heads[i]->next != heads[i]) {
            client_close(CONTAINER_OF(heads[i]->next, struct client, link));
        }
    }
    free_dead(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct mjd_server *srv = w->srv;
    struct epoll_event evs[MAX_EVENTS];
    int64_t last_sweep = core_now_ns();
    while (!atomic_load(&srv->stop)) {
        int n = epoll_wait(w->epfd, evs, MAX_EVENTS, (int)(SWEEP_NS / CORE_NS_PER_MS));
        if (n < 0 && errno != EINTR) {
            LOG_ERROR("epoll_wait: %s", strerror(errno));
            break;
        }
        w->now = core_now_ns();
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &w->lfd) {
                accept_ready(w);
            } else if (p == &w->efd) {
                frame_ready(w);
            } else {
                struct client *c = p;
                if (c->closed) {
                    continue;
                }
                uint32_t e = evs[i].events;
                if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                    c->readable = true;
                }
                if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
                    c->writable = true;
                }
                client_run(c);
            }
        }
        if (w->now - last_sweep >= SWEEP_NS) {
            sweep(w);
            last_sweep = w->now;
        }
        free_dead(w);
    }
    close_all(w);
    core_buf_unref(w->latest.jpeg);
    w->latest.jpeg = NULL;
    return NULL;
}

/* ---- setup --------------------------------------------------------------------------------- */

static int open_listener(const struct sockaddr *addr, socklen_t len, int *out)
{
    *out = -1;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    int rc = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        rc = -errno;
        goto fail;
    }
    if (addr->sa_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, addr, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        rc = -errno;
        goto fail;
    }
    *out = fd;
    return 0;
fail:
    close(fd);
    return rc;
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static int bind_all(struct mjd_server *srv)
{
    const struct mjd_config *cfg = srv->cfg;
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(cfg->listen_host, cfg->listen_port, &hints, &res);
    if (gai != 0) {
        LOG_ERROR("cannot resolve %s: %s", cfg->listen_host, gai_strerror(gai));
        return -EINVAL;
    }
    memcpy(&srv->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    // SO_REUSEPORT would let us share a port another process of ours holds: probe it first
    // with a plain bind, which also picks the port when port 0 was asked for.
    int probe = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    socklen_t sl = sizeof(srv->addr);
    if (probe < 0 || setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(probe, (struct sockaddr *)&srv->addr, addr_len(&srv->addr)) != 0 ||
        getsockname(probe, (struct sockaddr *)&srv->addr, &sl) != 0) {
        int rc = -errno;
        LOG_ERROR("cannot listen on %s:%s: %s", cfg->listen_host, cfg->listen_port, strerror(-rc));
        if (probe >= 0) {
            close(probe);
        }
        return rc;
    }
    close(probe);
    for (unsigned i = 0; i < srv->nworkers; i++) {
        int rc = open_listener((struct sockaddr *)&srv->addr, addr_len(&srv->addr),
                               &srv->workers[i].lfd);
        if (rc != 0) {
            LOG_ERROR("cannot listen on %s:%s: %s", cfg->listen_host, cfg->listen_port,
                      strerror(-rc));
            return rc;
        }
    }
    return 0;
}

int mjd_server_create(struct mjd_server **out, const struct mjd_config *cfg, struct mjd_hub *hub,
                      const struct mjd_source_info *info)
{
    *out = NULL;
    struct mjd_server *srv = core_xcalloc(1, sizeof(*srv));
    srv->cfg = cfg;
    srv->hub = hub;
    srv->info = info;
    srv->nworkers = cfg->workers;
    srv->start_ns = core_now_ns();
    srv->stopped = true;
    atomic_init(&srv->stop, false);
    pthread_mutex_init(&srv->pending_mu, NULL);
    mjd_pending_init(&srv->pending, cfg->max_pending, cfg->header_timeout_ns);
    srv->workers = core_xcalloc(srv->nworkers, sizeof(*srv->workers));
    int rc = mjd_limits_create(&srv->limits, cfg->max_clients, cfg->max_clients_per_ip);
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct worker *w = &srv->workers[i];
        w->srv = srv;
        w->index = i;
        w->epfd = -1;
        w->lfd = -1;
        w->efd = -1;
        w->spare_fd = -1;
        list_init(&w->heads);
        list_init(&w->active);
        list_init(&w->streams);
        atomic_init(&w->bytes_sent, 0);
    }
    if (rc != 0) {
        goto fail;
    }
    rc = bind_all(srv);
    if (rc != 0) {
        goto fail;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct worker *w = &srv->workers[i];
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (w->epfd < 0 || w->efd < 0) {
            rc = -errno;
            goto fail;
        }
        struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &w->lfd };
        struct epoll_event eev = { .events = EPOLLIN, .data.ptr = &w->efd };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &lev) != 0 ||
            epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &eev) != 0) {
            rc = -errno;
            goto fail;
        }
        rc = mjd_hub_add_waker(hub, w->efd);
        if (rc != 0) {
            goto fail;
        }
    }
    *out = srv;
    return 0;
fail:
    mjd_server_destroy(srv);
    return rc;
}

int mjd_server_start(struct mjd_server *srv)
{
    srv->stopped = false;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct worker *w = &srv->workers[i];
        char name[16];
        snprintf(name, sizeof(name), "net/%u", i);
        int rc = core_thread_start(&w->thread, name, worker_main, w);
        if (rc != 0) {
            mjd_server_stop(srv);
            return rc;
        }
        w->started = true;
    }
    return 0;
}

void mjd_server_address(const struct mjd_server *srv, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (srv->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)&srv->addr;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(buf, cap, "[%s]:%u", host, port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)&srv->addr;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(buf, cap, "%s:%u", host, port);
    }
}

void mjd_server_stop(struct mjd_server *srv)
{
    if (srv->stopped) {
        return;
    }
    srv->stopped = true;
    atomic_store(&srv->stop, true);
    uint64_t one = 1;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        ssize_t wr = write(srv->workers[i].efd, &one, sizeof(one));
        (void)wr;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        if (srv->workers[i].started) {
            pthread_join(srv->workers[i].thread, NULL);
            srv->workers[i].started = false;
        }
    }
}

void mjd_server_destroy(struct mjd_server *srv)
{
    if (srv == NULL) {
        return;
    }
    mjd_server_stop(srv);
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct worker *w = &srv->workers[i];
        int fds[4] = { w->lfd, w->efd, w->epfd, w->spare_fd };
        for (int k = 0; k < 4; k++) {
            if (fds[k] >= 0) {
                close(fds[k]);
            }
        }
    }
    mjd_limits_destroy(srv->limits);
    pthread_mutex_destroy(&srv->pending_mu);
    free(srv->workers);
    free(srv);
}

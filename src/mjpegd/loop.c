// SPDX-License-Identifier: MIT
/* One network loop: an epoll thread with its listeners, its frame wake-up and its connections. */
#include "mjpegd/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/thread.h"
#include "mjpegd/conn.h"

#define SWEEP_NS     (100 * CORE_NS_PER_MS)
#define ACCEPT_BATCH 64
#define MAX_EVENTS   256
_Static_assert(MJD_MAX_SOURCES <= 32, "frame_ready's source mask");

/* Out of fds with nothing to shed: accepting pauses this long (nginx: accept_mutex_delay). */
#define ACCEPT_BACKOFF_NS (100 * CORE_NS_PER_MS)
/* At most one warning about running out of fds per interval, with a count. */
#define FD_WARN_INTERVAL_NS (5 * CORE_NS_PER_SEC)

static void listeners_ctl(struct mjd_loop *l, int op)
{
    for (size_t i = 0; i < l->nlfds; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->lfds[i] };
        if (epoll_ctl(l->epfd, op, l->lfds[i], &ev) != 0) {
            LOG_WARN("epoll_ctl on a listener: %s", strerror(errno));
        }
    }
}

static void resume_accept(struct mjd_loop *l)
{
    if (l->accept_paused) {
        l->accept_paused = false;
        listeners_ctl(l, EPOLL_CTL_ADD);
    }
}

/* Takes the spare fd back if it was given away (and an fd is free again). */
static void retake_spare(struct mjd_loop *l)
{
    if (l->spare_fd < 0) {
        l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
}

static void free_dead(struct mjd_loop *l)
{
    bool freed = l->dead != NULL;
    while (l->dead != NULL) {
        struct mjd_conn *c = l->dead;
        l->dead = c->dead_next;
        mjd_conn_free(c);
    }
    if (freed) {
        // Their fds are free: keep one as the spare, and try accepting again.
        retake_spare(l);
        resume_accept(l);
    }
}

/*
 * Out of fds. First end the oldest pending connection (its fd frees once its loop closes it)
 * and give the spare fd's slot to the newcomer: true, accept again. With no spare left,
 * nothing more can be done now: the listeners leave the epoll set for ACCEPT_BACKOFF_NS (a
 * level-triggered listener would fire again at once) and false is returned. Either way the
 * failure is counted, and logged once per FD_WARN_INTERVAL_NS.
 */
static bool out_of_fds(struct mjd_loop *l, int err)
{
    l->fd_failures++;
    if (l->fd_warned_ns == 0 || l->now - l->fd_warned_ns >= FD_WARN_INTERVAL_NS) {
        LOG_WARN("accept: %s: out of file descriptors (%llu times since the last warning); "
                 "accepting pauses %lld ms each time nothing can be shed",
                 strerror(err), (unsigned long long)l->fd_failures,
                 (long long)(ACCEPT_BACKOFF_NS / CORE_NS_PER_MS));
        l->fd_failures = 0;
        l->fd_warned_ns = l->now;
    }
    mjd_pending_set_shed_oldest(l->shared->pending);
    if (l->spare_fd >= 0) {
        close(l->spare_fd);
        l->spare_fd = -1;
        return true;
    }
    if (!l->accept_paused) {
        l->accept_paused = true;
        listeners_ctl(l, EPOLL_CTL_DEL);
    }
    l->accept_resume_ns = l->now + ACCEPT_BACKOFF_NS;
    return false;
}

static void accept_ready(struct mjd_loop *l, int lfd)
{
    for (int i = 0; i < ACCEPT_BATCH && !l->accept_paused; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EINTR || err == ECONNABORTED) {
                continue;
            }
            if (err == EMFILE || err == ENFILE) {
                if (out_of_fds(l, err)) {
                    continue;
                }
                return;
            }
            if (err != EAGAIN) {
                LOG_WARN("accept: %s", strerror(err));
            }
            return;
        }
        mjd_conn_accept(l, fd, &ss);
    }
}

/* Runs every streaming connection of the loop that waits for a frame. */
static void run_streams(struct mjd_loop *l)
{
    struct mjd_link *n = l->streams.next;
    while (n != &l->streams) {
        struct mjd_link *next = n->next;
        mjd_conn_on_frame(MJD_CONTAINER_OF(n, struct mjd_conn, link));
        n = next;
    }
}

/* A playback reader has news, or a frame is due: every idle playback of the loop looks. */
static void run_plays(struct mjd_loop *l)
{
    l->play_due_ns = 0; // each playback still waiting asks again
    struct mjd_link *n = l->plays.next;
    while (n != &l->plays) {
        struct mjd_link *next = n->next;
        mjd_conn_on_play(MJD_CONTAINER_OF(n, struct mjd_conn, link));
        n = next;
    }
}

static void play_ready(struct mjd_loop *l)
{
    uint64_t v;
    ssize_t r = read(l->pfd, &v, sizeof(v));
    (void)r;
    run_plays(l);
}

void mjd_loop_play_due(struct mjd_loop *l, int64_t due_ns)
{
    if (l->play_due_ns == 0 || due_ns < l->play_due_ns) {
        l->play_due_ns = due_ns;
    }
}

static void frame_ready(struct mjd_loop *l)
{
    uint64_t v;
    ssize_t r = read(l->efd, &v, sizeof(v));
    (void)r;
    // The sources this loop streams: only their frames' parts are fetched (made) now.
    uint32_t streamed = 0;
    for (struct mjd_link *n = l->streams.next; n != &l->streams; n = n->next) {
        streamed |= UINT32_C(1) << MJD_CONTAINER_OF(n, struct mjd_conn, link)->stream.source;
    }
    bool any = false;
    for (size_t i = 0; i < l->shared->nsources; i++) {
        any |= mjd_stream_frame_update(&l->frames[i], l->shared->sources[i].hub,
                                       (streamed >> i & 1) != 0);
    }
    if (any) {
        run_streams(l);
        // Parked snapshots (rare): each checks whether its own source has a fresh frame.
        struct mjd_link *n = l->snapwaits.next;
        while (n != &l->snapwaits) {
            struct mjd_link *next = n->next;
            mjd_conn_snapwait_frame(MJD_CONTAINER_OF(n, struct mjd_conn, link));
            n = next;
        }
    }
}

/* Calls mjd_conn_sweep on every connection of list (which it may close). */
static void sweep_list(struct mjd_link *list)
{
    struct mjd_link *n = list->next;
    while (n != list) {
        struct mjd_link *next = n->next;
        mjd_conn_sweep(MJD_CONTAINER_OF(n, struct mjd_conn, link));
        n = next;
    }
}

static void sweep(struct mjd_loop *l)
{
    mjd_pending_set_expire(l->shared->pending, l->now, l->date_hdr);
    retake_spare(l);
    sweep_list(&l->active);
    sweep_list(&l->streams);
    sweep_list(&l->snapwaits);
    sweep_list(&l->plays);
}

/*
 * One more turn for each connection that had work left at the end of the last one. Those that
 * still have work after it queue again, behind the others, for the turn after.
 */
static void run_queue(struct mjd_loop *l)
{
    struct mjd_link turn;
    mjd_list_move_all(&turn, &l->runq);
    while (!mjd_list_empty(&turn)) {
        struct mjd_link *n = turn.next;
        mjd_list_del(n);
        mjd_conn_resume(MJD_CONTAINER_OF(n, struct mjd_conn, runq));
    }
}

static void close_all(struct mjd_loop *l)
{
    struct mjd_link *lists[5] = { &l->heads, &l->active, &l->streams, &l->snapwaits, &l->plays };
    for (int i = 0; i < 5; i++) {
        while (!mjd_list_empty(lists[i])) {
            mjd_conn_close(MJD_CONTAINER_OF(lists[i]->next, struct mjd_conn, link));
        }
    }
    free_dead(l);
}

/* One turn of the loop: waits up to timeout ms for events and handles them. False when
 * epoll_wait failed (the loop ends). */
static bool loop_turn(struct mjd_loop *l, int timeout)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) {
        LOG_ERROR("epoll_wait: %s", strerror(errno));
        return false;
    }
    mjd_loop_tick(l);
    for (int i = 0; i < n; i++) {
        void *p = evs[i].data.ptr;
        if (p == &l->efd) {
            frame_ready(l);
        } else if (p == &l->pfd) {
            play_ready(l);
        } else if (p >= (void *)&l->lfds[0] && p < (void *)&l->lfds[l->nlfds]) {
            accept_ready(l, *(int *)p);
        } else {
            mjd_conn_on_event(p, evs[i].events);
        }
    }
    run_queue(l);
    if (l->play_due_ns != 0 && l->now >= l->play_due_ns) {
        run_plays(l);
    }
    if (l->accept_paused && l->now >= l->accept_resume_ns) {
        retake_spare(l);
        resume_accept(l);
    }
    if (l->now - l->last_sweep >= SWEEP_NS) {
        sweep(l);
        l->last_sweep = l->now;
    }
    free_dead(l);
    return true;
}

static void *loop_main(void *arg)
{
    struct mjd_loop *l = arg;
    l->last_sweep = core_now_ns();
    while (!atomic_load(&l->shared->stop)) {
        // With work queued from the last turn, only look for new events, without waiting.
        int64_t wait_ns = mjd_list_empty(&l->runq) ? SWEEP_NS : 0;
        if (l->accept_paused) {
            wait_ns = CORE_MAX(0, CORE_MIN(wait_ns, l->accept_resume_ns - core_now_ns()));
        }
        if (l->play_due_ns != 0) {
            // The pacing of playbacks: wake when the earliest next frame is due.
            wait_ns = CORE_MAX(0, CORE_MIN(wait_ns, l->play_due_ns - core_now_ns()));
        }
        if (!loop_turn(l, (int)((wait_ns + CORE_NS_PER_MS - 1) / CORE_NS_PER_MS))) {
            break;
        }
    }
    close_all(l);
    for (size_t i = 0; i < l->shared->nsources; i++) {
        mjd_stream_frame_release(&l->frames[i]);
    }
    return NULL;
}

int mjd_loop_init(struct mjd_loop *l, const struct mjd_loop_shared *shared, unsigned index,
                  const struct mjd_listen_addr *addrs, size_t naddrs)
{
    memset(l, 0, sizeof(*l));
    l->shared = shared;
    l->index = index;
    l->epfd = -1;
    l->efd = -1;
    l->pfd = -1;
    l->spare_fd = -1;
    for (size_t i = 0; i < MJD_LISTEN_MAX_ADDRS; i++) {
        l->lfds[i] = -1;
    }
    mjd_list_init(&l->heads);
    mjd_list_init(&l->active);
    mjd_list_init(&l->streams);
    mjd_list_init(&l->snapwaits);
    mjd_list_init(&l->plays);
    mjd_list_init(&l->runq);
    mjd_loop_tick(l);
    atomic_init(&l->bytes_sent, 0);
    atomic_init(&l->snapwaits_now, 0);
    atomic_init(&l->snap_timeouts, 0);
    l->frames = core_xcalloc(shared->nsources, sizeof(*l->frames));
    // Pipes for the splice path only where it may be used; without them it stands down to
    // sendfile (part_send.h).
    enum mjd_send_mode mode = shared->cfg->send_mode;
    unsigned sflags =
            mode == MJD_SEND_MODE_AUTO || mode == MJD_SEND_MODE_SPLICE ? 0 : MJD_SENDER_NO_SPLICE;
    int src = mjd_part_sender_create(&l->sender, sflags);
    if (src != 0) {
        return src;
    }
    if (naddrs > MJD_LISTEN_MAX_ADDRS) {
        return -EINVAL;
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->pfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (l->epfd < 0 || l->efd < 0 || l->pfd < 0) {
        return -errno;
    }
    struct epoll_event eev = { .events = EPOLLIN, .data.ptr = &l->efd };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->efd, &eev) != 0) {
        return -errno;
    }
    struct epoll_event pev = { .events = EPOLLIN, .data.ptr = &l->pfd };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->pfd, &pev) != 0) {
        return -errno;
    }
    for (size_t i = 0; i < naddrs; i++) {
        int rc = mjd_listen_open(&addrs[i], &l->lfds[i]);
        if (rc != 0) {
            char a[80];
            mjd_listen_format(&addrs[i], a, sizeof(a));
            LOG_ERROR("cannot listen on %s: %s", a, strerror(-rc));
            return rc;
        }
        l->nlfds = i + 1;
        struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &l->lfds[i] };
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->lfds[i], &lev) != 0) {
            return -errno;
        }
    }
    return 0;
}

int mjd_loop_start(struct mjd_loop *l)
{
    char name[16];
    snprintf(name, sizeof(name), "net/%u", l->index);
    int rc = core_thread_start(&l->thread, name, loop_main, l);
    if (rc == 0) {
        l->started = true;
    }
    return rc;
}

void mjd_loop_join(struct mjd_loop *l)
{
    uint64_t one = 1;
    if (l->efd >= 0) {
        ssize_t wr = write(l->efd, &one, sizeof(one));
        (void)wr;
    }
    if (l->started) {
        pthread_join(l->thread, NULL);
        l->started = false;
    }
}

void mjd_loop_release(struct mjd_loop *l)
{
    for (size_t i = 0; i < MJD_LISTEN_MAX_ADDRS; i++) {
        if (l->lfds[i] >= 0) {
            close(l->lfds[i]);
            l->lfds[i] = -1;
        }
    }
    int fds[4] = { l->efd, l->pfd, l->epfd, l->spare_fd };
    for (int k = 0; k < 4; k++) {
        if (fds[k] >= 0) {
            close(fds[k]);
        }
    }
    l->efd = -1;
    l->pfd = -1;
    l->epfd = -1;
    l->spare_fd = -1;
    free(l->frames);
    l->frames = NULL;
    mjd_part_sender_destroy(l->sender);
    l->sender = NULL;
}

void mjd_loop_tick(struct mjd_loop *l)
{
    l->now = core_now_ns();
    time_t sec = time(NULL);
    if (sec != l->date_sec || l->date_hdr[0] == '\0') {
        struct tm tm;
        char d[40];
        // IMF-fixdate (RFC 9110 5.6.7); the C locale's day and month names are the English ones.
        if (gmtime_r(&sec, &tm) != NULL &&
            strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0) {
            snprintf(l->date_hdr, sizeof(l->date_hdr), "Date: %s\r\n", d);
        }
        l->date_sec = sec;
    }
}

void mjd_loop_test_turn(struct mjd_loop *l, int timeout_ms)
{
    if (l->last_sweep == 0) {
        l->last_sweep = core_now_ns();
    }
    (void)loop_turn(l, timeout_ms);
}

void mjd_loop_test_close_all(struct mjd_loop *l)
{
    close_all(l);
}

uint64_t mjd_loop_bytes_sent(struct mjd_loop *l)
{
    return atomic_load_explicit(&l->bytes_sent, memory_order_relaxed);
}

void mjd_loop_send_stats(struct mjd_loop *l, struct mjd_part_send_stats *out)
{
    if (l->sender != NULL) {
        mjd_part_sender_stats(l->sender, out);
    }
}

bool mjd_loop_can_splice(const struct mjd_loop *l)
{
    return l->sender != NULL && mjd_part_sender_splicing(l->sender);
}

void mjd_loop_snapshot_stats(struct mjd_loop *l, uint64_t *waiting, uint64_t *timeouts)
{
    *waiting += atomic_load_explicit(&l->snapwaits_now, memory_order_relaxed);
    *timeouts += atomic_load_explicit(&l->snap_timeouts, memory_order_relaxed);
}

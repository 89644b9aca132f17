// SPDX-License-Identifier: MIT
/* Playback of recordings: /recordings and /recordings/SEGMENT, read off the network loops. */
#include "mjpegd/playback.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/pool.h"
#include "mjpegd/conn.h"
#include "mjpegd/loop.h"
#include "mjpegd/part.h"
#include "mjpegd/playback_index.h"
#include "mjpegd/recordings.h"
#include "mjpegd/respond.h"

/* Catalog folders: every source's --record DIR and every --recordings DIR. */
#define MJD_PLAYBACK_MAX_DIRS (MJD_MAX_SOURCES + MJD_MAX_RECORDINGS)

/* A frame this late (a slow client, a slow disk) moves the pacing clock instead of bursting. */
#define LATE_REBASE_NS (1 * CORE_NS_PER_SEC)
/* Sent now rather than waited for: the loop's timer has millisecond steps. */
#define DUE_SLACK_NS (2 * CORE_NS_PER_MS)

struct mjd_playback {
    const struct mjd_config *cfg;            /* immutable */
    const char *dirs[MJD_PLAYBACK_MAX_DIRS]; /* immutable: the catalogs' folders (cfg's) */
    size_t ndirs;                            /* immutable */
    unsigned max;                            /* immutable: --max-playbacks */
    unsigned part_flags;                     /* immutable: MJD_PART_NO_MEMFD with --send copy */
    struct core_pool *pool;                  /* "play/N"; submit from any loop */
    atomic_uint active;                      /* atomic: jobs holding a slot */
    atomic_uint_fast64_t refused;            /* atomic: 503s past --max-playbacks */
    bool stopped;                            /* owner thread only */
};

enum phase {
    PHASE_OPENING,   /* the first task has not reported */
    PHASE_STREAMING, /* head sent, parts follow */
    PHASE_LAST,      /* the last output is queued: done once it is sent */
};

/*
 * One job. Its references: the connection's (dropped by mjd_play_end) and one for the task
 * queued or running (dropped at its end); the last one frees it and gives back the slot.
 */
struct mjd_play {
    atomic_int refs;                        /* atomic */
    struct mjd_playback *pb;                /* immutable */
    int wake_fd;                            /* immutable: the loop's playback eventfd */
    enum mjd_route_kind kind;               /* immutable */
    char name[MJD_RECORDINGS_NAME_MAX + 1]; /* immutable */
    bool has_at;                            /* immutable */
    int64_t at_us;                          /* immutable */
    bool head_only;                         /* immutable */

    pthread_mutex_t mu;
    bool opened;    /* guarded by mu: the first task is done, status says how */
    int status;     /* guarded by mu: 200 or the HTTP error */
    bool queued;    /* guarded by mu: a task is queued or running */
    bool cancelled; /* guarded by mu: the connection went away */
    bool eof;       /* guarded by mu: every frame is read (or reading failed) */
    struct mjd_part *ahead[MJD_PLAY_AHEAD_FRAMES]; /* guarded by mu: a FIFO of read parts */
    int64_t ahead_wall[MJD_PLAY_AHEAD_FRAMES];     /* guarded by mu */
    size_t ahead_head;                             /* guarded by mu */
    size_t ahead_count;                            /* guarded by mu */
    size_t ahead_bytes;                            /* guarded by mu */
    struct core_buf *body;                         /* guarded by mu: the listing's JSON */

    /* the running task only (one at a time: queued) */
    bool did_open;
    int fd;
    uint64_t file_size;
    struct mjd_play_index ix;
    size_t next; /* next frame to read */

    /* loop thread only */
    enum phase phase;
    bool started;  /* the first frame was sent: t0_ns and w0_us are set */
    int64_t t0_ns; /* monotonic time the pacing counts from */
    int64_t w0_us; /* capture time of the frame sent at t0_ns */
};

static void play_free(struct mjd_play *p)
{
    for (size_t i = 0; i < p->ahead_count; i++) {
        mjd_part_unref(p->ahead[(p->ahead_head + i) % MJD_PLAY_AHEAD_FRAMES]);
    }
    core_buf_unref(p->body);
    if (p->fd >= 0) {
        close(p->fd);
    }
    mjd_playback_index_release(&p->ix);
    pthread_mutex_destroy(&p->mu);
    atomic_fetch_sub(&p->pb->active, 1);
    free(p);
}

static void play_unref(struct mjd_play *p)
{
    if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1) {
        play_free(p);
    }
}

static void wake(struct mjd_play *p)
{
    uint64_t one = 1;
    ssize_t w = write(p->wake_fd, &one, sizeof(one));
    (void)w; // EAGAIN: the counter is already non-zero, the loop wakes anyway
}

static void set_opened(struct mjd_play *p, int status, struct core_buf *body)
{
    pthread_mutex_lock(&p->mu);
    p->opened = true;
    p->status = status;
    p->body = body;
    if (status != 200 || p->kind != MJD_ROUTE_RECORDING || p->head_only) {
        p->eof = true;
    }
    pthread_mutex_unlock(&p->mu);
}

/* core_buf_wrap's release hook for the listing: free() the JSON. */
static void free_json(void *ctx, void *data)
{
    (void)ctx;
    free(data);
}

/* The first task of a listing: the JSON of every catalog. */
static void open_list(struct mjd_play *p)
{
    char *json = NULL;
    size_t len = 0;
    struct core_buf *body = NULL;
    int rc = mjd_recordings_list_json(p->pb->dirs, p->pb->ndirs, &json, &len);
    if (rc == 0 && core_buf_wrap(&body, json, len, free_json, NULL) != 0) {
        free(json);
        rc = -ENOMEM;
    }
    set_opened(p, rc == 0 ? 200 : 500, body);
}

/* -errno of the call that just failed (never 0, whatever errno holds). */
static int neg_errno(void)
{
    int e = errno;
    return e > 0 ? -e : -EIO;
}

/* The first task of a playback: the catalog row, the file, its index, the first frame. */
static void open_segment(struct mjd_play *p)
{
    struct mjd_recordings_segment seg;
    int status = 404;
    if (mjd_recordings_lookup(p->pb->dirs, p->pb->ndirs, p->name, &seg) == 0) {
        int fd = open(seg.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat sb;
        int rc = 0;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            rc = neg_errno();
        } else if (!S_ISREG(sb.st_mode)) {
            rc = -EINVAL;
        } else {
            p->fd = fd;
            fd = -1;
            p->file_size = (uint64_t)sb.st_size;
            rc = mjd_playback_index_load(p->fd, p->file_size, seg.index_offset, &p->ix);
        }
        if (fd >= 0) {
            close(fd);
        }
        if (rc != 0) {
            LOG_WARN("playback: %s: %s", seg.path, strerror(-rc));
            status = rc == -ENOENT ? 404 : 500;
        } else {
            p->next = p->has_at ? mjd_playback_index_seek(&p->ix, p->at_us) : 0;
            // Asked for a moment after its last frame: nothing to play from there.
            status = p->next < p->ix.n ? 200 : 416;
        }
    }
    set_opened(p, status, NULL);
}

/* Reads frame p->next into a part: NULL on an error (logged; playback ends there). */
static struct mjd_part *read_frame(struct mjd_play *p)
{
    const struct mjd_play_frame *f = &p->ix.frames[p->next];
    struct core_buf *jpeg = NULL;
    struct mjd_part *part = NULL;
    if (core_buf_create(&jpeg, f->len) != 0) {
        return NULL;
    }
    size_t got = 0;
    while (got < f->len) {
        ssize_t n = pread(p->fd, jpeg->data + got, f->len - got, (off_t)(f->off + got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            LOG_WARN("playback: %s: cannot read frame %zu: %s", p->name, p->next,
                     n < 0 ? strerror(errno) : "short file");
            core_buf_unref(jpeg);
            return NULL;
        }
        got += (size_t)n;
    }
    int rc = mjd_part_create(&part, jpeg, f->wall_us * 1000, p->pb->part_flags);
    core_buf_unref(jpeg);
    return rc == 0 ? part : NULL;
}

/* Whether the read-ahead has room for another frame (with mu held). */
static bool room_locked(const struct mjd_play *p)
{
    return p->ahead_count == 0 ||
           (p->ahead_count < MJD_PLAY_AHEAD_FRAMES && p->ahead_bytes < MJD_PLAY_AHEAD_BYTES);
}

/* A reader task: opens the job the first time, then reads ahead until the read-ahead is full. */
static void fill_task(void *arg, void *thread_state, int status)
{
    (void)thread_state;
    struct mjd_play *p = arg;
    if (status == 0 && !p->did_open) {
        p->did_open = true;
        if (p->kind == MJD_ROUTE_RECORDINGS) {
            open_list(p);
        } else {
            open_segment(p);
        }
        wake(p);
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (status != 0 || p->cancelled || p->eof || !room_locked(p)) {
            p->queued = false;
            pthread_mutex_unlock(&p->mu);
            break;
        }
        pthread_mutex_unlock(&p->mu);
        // The blocking read, with no lock held.
        struct mjd_part *part = read_frame(p);
        int64_t wall = p->ix.frames[p->next].wall_us;
        p->next++;
        pthread_mutex_lock(&p->mu);
        if (part == NULL) {
            p->eof = true;
        } else {
            size_t slot = (p->ahead_head + p->ahead_count) % MJD_PLAY_AHEAD_FRAMES;
            p->ahead[slot] = part;
            p->ahead_wall[slot] = wall;
            p->ahead_count++;
            p->ahead_bytes += mjd_part_len(part);
            p->eof = p->next >= p->ix.n;
        }
        pthread_mutex_unlock(&p->mu);
        wake(p);
    }
    play_unref(p);
}

/* Queues the job's next task (queued is already set by the caller, with a reference). */
static bool submit(struct mjd_play *p)
{
    int rc = core_pool_submit(p->pb->pool, fill_task, p);
    if (rc == 0) {
        return true;
    }
    LOG_WARN("playback: cannot queue a read: %s", strerror(-rc));
    pthread_mutex_lock(&p->mu);
    p->queued = false;
    p->eof = true;
    pthread_mutex_unlock(&p->mu);
    play_unref(p);
    return false;
}

/* Adds a catalog folder (borrowed from the config) unless empty, known or past the cap. */
static void add_dir(struct mjd_playback *pb, const char *dir)
{
    if (dir[0] == '\0' || pb->ndirs >= MJD_PLAYBACK_MAX_DIRS) {
        return;
    }
    for (size_t k = 0; k < pb->ndirs; k++) {
        if (strcmp(pb->dirs[k], dir) == 0) {
            return;
        }
    }
    pb->dirs[pb->ndirs++] = dir;
}

int mjd_playback_create(struct mjd_playback **out, const struct mjd_config *cfg)
{
    *out = NULL;
    struct mjd_playback *pb = core_xcalloc(1, sizeof(*pb));
    pb->cfg = cfg;
    pb->max = cfg->max_playbacks;
    pb->part_flags = cfg->send_mode == MJD_SEND_MODE_COPY ? MJD_PART_NO_MEMFD : 0;
    atomic_init(&pb->active, 0);
    atomic_init(&pb->refused, 0);
    // The folders the recorder writes (--record DIR of each source), then --recordings ones.
    for (unsigned i = 0; i < cfg->nsources; i++) {
        add_dir(pb, cfg->sources[i].record_dir);
    }
    for (unsigned i = 0; i < cfg->nrecordings; i++) {
        add_dir(pb, cfg->recordings[i]);
    }
    struct core_pool_config pc = { .name = "play",
                                   .threads = MJD_PLAY_READERS,
                                   .backlog = (size_t)pb->max + 1 };
    int rc = core_pool_create(&pb->pool, &pc);
    if (rc != 0) {
        free(pb);
        return rc;
    }
    *out = pb;
    return 0;
}

void mjd_playback_stop(struct mjd_playback *pb)
{
    if (pb == NULL || pb->stopped) {
        return;
    }
    pb->stopped = true;
    core_pool_shutdown(pb->pool, CORE_POOL_CANCEL);
}

void mjd_playback_destroy(struct mjd_playback *pb)
{
    if (pb == NULL) {
        return;
    }
    mjd_playback_stop(pb);
    core_pool_destroy(pb->pool);
    free(pb);
}

unsigned mjd_playback_active(const struct mjd_playback *pb)
{
    return atomic_load(&pb->active);
}

unsigned mjd_playback_max(const struct mjd_playback *pb)
{
    return pb->max;
}

uint64_t mjd_playback_refused(const struct mjd_playback *pb)
{
    return atomic_load_explicit(&pb->refused, memory_order_relaxed);
}

bool mjd_play_begin(struct mjd_conn *c, const struct mjd_route *route)
{
    struct mjd_playback *pb = c->loop->shared->playback;
    // A listing is an ordinary response (Content-Length, keep-alive as the request says); a
    // segment's stream has no length, so it ends with the connection.
    bool listing = route->kind == MJD_ROUTE_RECORDINGS;
    if (!listing) {
        c->close_after = true;
    }
    if (pb == NULL) {
        // A loop run without a server (tests/fuzz/mjpegd_conn.c) has no recordings.
        mjd_respond_error(c, 404, NULL);
        return false;
    }
    unsigned n = atomic_fetch_add(&pb->active, 1);
    if (n >= pb->max) {
        atomic_fetch_sub(&pb->active, 1);
        atomic_fetch_add_explicit(&pb->refused, 1, memory_order_relaxed);
        LOG_DEBUG("playback refused: %u jobs run (--max-playbacks)", n);
        mjd_respond_error(c, 503, "Retry-After: 1\r\n");
        return false;
    }
    struct mjd_play *p = core_xcalloc(1, sizeof(*p));
    atomic_init(&p->refs, 2); // the connection's and the first task's
    p->pb = pb;
    p->wake_fd = c->loop->pfd;
    p->kind = route->kind;
    snprintf(p->name, sizeof(p->name), "%s", route->name);
    p->has_at = route->has_at;
    p->at_us = route->at_us;
    p->head_only = c->head_only;
    pthread_mutex_init(&p->mu, NULL);
    p->queued = true;
    p->fd = -1;
    p->phase = PHASE_OPENING;
    c->play = p;
    if (!listing) {
        // A playback reads nothing more: give back the request buffer (as a stream does). A
        // listing keeps it: requests pipelined behind it are parsed from it once it is sent.
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
        c->in_cap = 0;
        c->req_len = 0;
    }
    c->stream.part = NULL;
    c->stream.part_off = 0;
    // Each part is this client's own: the sender's shared pipe (the live frame) is no use.
    c->stream.path = pb->cfg->send_mode == MJD_SEND_MODE_COPY ? MJD_SEND_COPY : MJD_SEND_SENDFILE;
    (void)submit(p);
    return true;
}

/* The job reported its first step: the response head (and the whole answer, but a stream). */
static enum mjd_play_next answer_open(struct mjd_conn *c, int status, struct core_buf *body)
{
    struct mjd_play *p = c->play;
    mjd_out_reset(&c->out);
    if (status != 200) {
        mjd_respond_error(c, status, NULL);
        p->phase = PHASE_LAST;
    } else if (p->kind == MJD_ROUTE_RECORDINGS) {
        mjd_respond_head(c, 200, "application/json", (long long)body->len,
                         "Cache-Control: no-store\r\n");
        if (!c->head_only) {
            mjd_out_set_body(&c->out, body->data, body->len, core_buf_ref(body));
        }
        p->phase = PHASE_LAST;
    } else {
        mjd_respond_head(c, 200, "multipart/x-mixed-replace;boundary=" MJD_PART_BOUNDARY, -1,
                         "Cache-Control: no-store\r\n");
        p->phase = PHASE_LAST;
        if (!c->head_only) {
            size_t blen = 0;
            const char *bline = mjd_part_first_boundary(&blen);
            mjd_out_append(&c->out, bline, blen);
            p->phase = PHASE_STREAMING;
        }
    }
    return MJD_PLAY_SEND;
}

/* The next part, when it is due (loop thread). */
static enum mjd_play_next next_part(struct mjd_conn *c)
{
    struct mjd_play *p = c->play;
    struct mjd_loop *l = c->loop;
    struct mjd_part *part = NULL;
    bool resubmit = false;
    pthread_mutex_lock(&p->mu);
    if (p->ahead_count == 0) {
        // eof is set with the last frame pushed (or on an error): nothing more comes.
        bool done = p->eof;
        pthread_mutex_unlock(&p->mu);
        return done ? MJD_PLAY_DONE : MJD_PLAY_WAIT;
    }
    int64_t wall = p->ahead_wall[p->ahead_head];
    if (!p->started) {
        p->started = true;
        p->t0_ns = l->now;
        p->w0_us = wall;
    }
    int64_t gap_us = wall > p->w0_us ? wall - p->w0_us : 0;
    int64_t due = p->t0_ns + gap_us * 1000;
    if (due > l->now + DUE_SLACK_NS) {
        pthread_mutex_unlock(&p->mu);
        mjd_loop_play_due(l, due);
        return MJD_PLAY_WAIT;
    }
    part = p->ahead[p->ahead_head];
    p->ahead[p->ahead_head] = NULL;
    p->ahead_head = (p->ahead_head + 1) % MJD_PLAY_AHEAD_FRAMES;
    p->ahead_count--;
    p->ahead_bytes -= mjd_part_len(part);
    if (!p->queued && !p->eof && !p->cancelled) {
        p->queued = true;
        atomic_fetch_add(&p->refs, 1);
        resubmit = true;
    }
    pthread_mutex_unlock(&p->mu);
    if (l->now - due > LATE_REBASE_NS) {
        // Far behind (the client or the disk): go on from here at the recorded rate.
        p->t0_ns = l->now;
        p->w0_us = wall;
    }
    if (resubmit) {
        (void)submit(p);
    }
    mjd_out_reset(&c->out);
    mjd_stream_drop_part(c);
    c->stream.part = part; // the reader's reference, handed over
    return MJD_PLAY_SEND;
}

enum mjd_play_next mjd_play_next(struct mjd_conn *c)
{
    struct mjd_play *p = c->play;
    switch (p->phase) {
    case PHASE_OPENING: {
        pthread_mutex_lock(&p->mu);
        bool opened = p->opened;
        int status = p->status;
        struct core_buf *body = p->body;
        pthread_mutex_unlock(&p->mu);
        // body is set once, before opened, and freed with the job: safe to read unlocked now.
        return opened ? answer_open(c, status, body) : MJD_PLAY_WAIT;
    }
    case PHASE_STREAMING:
        return next_part(c);
    case PHASE_LAST:
    default:
        return MJD_PLAY_DONE;
    }
}

void mjd_play_end(struct mjd_conn *c)
{
    struct mjd_play *p = c->play;
    if (p == NULL) {
        return;
    }
    c->play = NULL;
    pthread_mutex_lock(&p->mu);
    p->cancelled = true;
    pthread_mutex_unlock(&p->mu);
    play_unref(p);
}

// SPDX-License-Identifier: MIT
/* The recorder of one source: a hub client that writes its frames into segment archives. */
#include "mjpegd/record/recorder.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/writer.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread.h"
#include "mjpegd/record/recover.h"
#include "mjpegd/record/retention.h"
#include "mjpegd/record/segment.h"

/* Frames the queue holds: about two seconds at the source's rate, at least 16. */
#define QUEUE_SECONDS 2
#define QUEUE_MIN     16
#define QUEUE_MAX     1024
/* The writer wakes at least this often (keep-days retention, an idle source's segment end). */
#define TICK_NS (CORE_NS_PER_SEC)

/* One queued frame: owned by the tap until pushed, then by the writer that pops it. */
struct rec_item {
    struct core_buf *jpeg; /* one reference */
    uint64_t seq;
    int64_t wall_ns;
};

struct mjd_recorder {
    /* immutable after create */
    const struct mjd_source_config *conf; /* borrowed */
    struct mjd_hub *hub;                  /* borrowed; outlives the recorder's threads */
    unsigned index;                       /* the source's index */
    char source[16];                      /* "<index>" */
    char srcdir[1100];                    /* conf->record_dir/<index> */
    int efd;                  /* the hub's waker: written on every publish; the tap reads it */
    int stop_efd;             /* written by stop; the tap polls it */
    struct core_queue *queue; /* tap -> writer; thread-safe */
    bool started;             /* main thread only */
    bool stopped;             /* main thread only */
    pthread_t tap_thread;
    pthread_t writer_thread;

    /* record/N thread only */
    struct mjd_rec_catalog *cat; /* opened by create (main), then the writer's */
    struct mjd_rec_segment seg;
    int64_t seg_deadline_ns; /* monotonic: when the open segment ends if no frame ends it */
    int64_t retry_ns;        /* monotonic: when to try again after an error, 0 while running */
    int64_t next_retain_ns;  /* monotonic: the next --keep-days pass */
    bool recover_needed;     /* a committed archive may be missing from the catalog */
    int start_error;         /* create could not set up the directory or the catalog: why */
    const char *reason;      /* immutable: the catalog's reason, "always" or "motion" */

    /* read by stats (any thread), written by the writer under mu: a leaf lock, held only to
       copy these strings */
    pthread_mutex_t mu;
    char segment_name[MJD_REC_NAME_MAX]; /* guarded by mu */
    char error[256];                     /* guarded by mu */

    /* counters: written by one thread each, read by stats (atomic) */
    atomic_uint_fast64_t segments;       /* writer */
    atomic_uint_fast64_t bytes;          /* writer */
    atomic_uint_fast64_t frames;         /* writer */
    atomic_uint_fast64_t bytes_written;  /* writer */
    atomic_uint_fast64_t taken;          /* tap: frames taken from the hub */
    atomic_uint_fast64_t dropped_queue;  /* tap */
    atomic_uint_fast64_t dropped_missed; /* tap */
    atomic_uint_fast64_t dropped_error;  /* writer */
    atomic_uint_fast64_t deleted;        /* writer */
    atomic_uint_fast64_t errors;         /* writer */
};

/* ---- setup --------------------------------------------------------------------------------- */

/* mkdir -p path (mode 0755). */
static int make_dirs(const char *path)
{
    char buf[1100];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf)) {
        return -ENAMETOOLONG;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return -errno;
            }
            *p = c;
            if (c == '\0') {
                break;
            }
        }
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        return -errno;
    }
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* A disk error the writer retries (a full disk), rather than a setup error (a bad DIR). */
static bool transient(int rc)
{
    return rc == -ENOSPC || rc == -EDQUOT || rc == -EIO || rc == -EBUSY;
}

int mjd_recorder_create(struct mjd_recorder **out, const struct mjd_source_config *conf,
                        unsigned index, struct mjd_hub *hub)
{
    *out = NULL;
    if (conf->record_on == MJD_RECORD_MOTION) {
        LOG_ERROR("--record-on motion: motion detection is not available in this build yet; "
                  "use --record-on always");
        return -ENOTSUP;
    }
    struct mjd_recorder *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    r->conf = conf;
    r->hub = hub;
    r->efd = -1;
    r->stop_efd = -1;
    r->stopped = true;
    pthread_mutex_init(&r->mu, NULL);
    atomic_init(&r->segments, 0);
    atomic_init(&r->bytes, 0);
    atomic_init(&r->frames, 0);
    atomic_init(&r->bytes_written, 0);
    atomic_init(&r->taken, 0);
    atomic_init(&r->dropped_queue, 0);
    atomic_init(&r->dropped_missed, 0);
    atomic_init(&r->dropped_error, 0);
    atomic_init(&r->deleted, 0);
    atomic_init(&r->errors, 0);
    r->index = index;
    r->reason = conf->record_on == MJD_RECORD_MOTION ? "motion" : "always";
    snprintf(r->source, sizeof(r->source), "%u", index);
    int rc = 0;
    if ((size_t)snprintf(r->srcdir, sizeof(r->srcdir), "%s/%s", conf->record_dir, r->source) >=
        sizeof(r->srcdir)) {
        rc = -ENAMETOOLONG;
    }
    if (rc == 0) {
        rc = make_dirs(r->srcdir);
    }
    if (rc == 0) {
        rc = mjd_rec_catalog_open(&r->cat, conf->record_dir);
    }
    if (rc != 0 && !transient(rc)) {
        LOG_ERROR("--record: cannot set up %s (and its catalog %s/recordings.sqlite): %s",
                  r->srcdir, conf->record_dir, strerror(-rc));
        goto fail;
    }
    if (rc != 0) {
        // A full disk is no reason not to serve: the writer starts stopped and retries.
        r->start_error = rc;
    }
    unsigned fps = conf->fps > 0 ? conf->fps : 30;
    size_t cap = (size_t)fps * QUEUE_SECONDS;
    cap = cap < QUEUE_MIN ? QUEUE_MIN : cap > QUEUE_MAX ? QUEUE_MAX : cap;
    rc = core_queue_create(&r->queue, cap);
    if (rc == 0) {
        r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        r->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (r->efd < 0 || r->stop_efd < 0) {
            rc = -errno;
        }
    }
    if (rc == 0) {
        rc = mjd_hub_add_waker(hub, r->efd);
    }
    if (rc != 0) {
        LOG_ERROR("--record: cannot set up the recorder of source %u: %s", index, strerror(-rc));
        goto fail;
    }
    *out = r;
    return 0;
fail:
    mjd_recorder_destroy(r);
    return rc;
}

/* ---- the tap: hub -> queue ----------------------------------------------------------------- */

static void *tap_main(void *arg)
{
    struct mjd_recorder *r = arg;
    uint64_t last_seq = 0;
    uint64_t last_number = 0;
    struct pollfd pfd[2] = { { .fd = r->efd, .events = POLLIN },
                             { .fd = r->stop_efd, .events = POLLIN } };
    for (;;) {
        int n = poll(pfd, 2, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            LOG_ERROR("recorder tap: poll: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents != 0) {
            break;
        }
        uint64_t count = 0;
        ssize_t got = read(r->efd, &count, sizeof(count));
        (void)got;
        struct mjd_frame f;
        if (!mjd_hub_latest(r->hub, &f)) {
            continue;
        }
        if (f.seq <= last_seq) {
            core_buf_unref(f.jpeg);
            continue;
        }
        last_seq = f.seq;
        if (f.number > last_number + 1) {
            // Published while this thread was not scheduled: replaced before it looked.
            atomic_fetch_add(&r->dropped_missed, f.number - last_number - 1);
        }
        last_number = f.number;
        atomic_fetch_add(&r->taken, 1);
        struct rec_item *it = malloc(sizeof(*it));
        if (it != NULL) {
            *it = (struct rec_item){ .jpeg = f.jpeg, .seq = f.seq, .wall_ns = f.wall_ns };
        }
        if (it == NULL || core_queue_try_push(r->queue, it) != 0) {
            // The writer is behind (a slow disk): this frame is not recorded.
            atomic_fetch_add(&r->dropped_queue, 1);
            core_buf_unref(f.jpeg);
            free(it);
        }
    }
    return NULL;
}

/* ---- the writer: queue -> disk ------------------------------------------------------------- */

static void set_segment_name(struct mjd_recorder *r, const char *name)
{
    pthread_mutex_lock(&r->mu);
    snprintf(r->segment_name, sizeof(r->segment_name), "%s", name);
    pthread_mutex_unlock(&r->mu);
}

/* Stops recording after a disk error: drops the open segment, says why, retries later. */
static void fail(struct mjd_recorder *r, int rc, const char *what)
{
    mjd_rec_segment_abort(&r->seg);
    set_segment_name(r, "");
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: %s; recording stopped, retrying every %d s", what,
             strerror(-rc), MJD_REC_RETRY_SEC);
    pthread_mutex_lock(&r->mu);
    bool same = strcmp(r->error, msg) == 0;
    snprintf(r->error, sizeof(r->error), "%s", msg);
    pthread_mutex_unlock(&r->mu);
    if (!same) {
        LOG_ERROR("recording of source %s into %s: %s", r->source, r->srcdir, msg);
    }
    atomic_fetch_add(&r->errors, 1);
    r->retry_ns = core_now_ns() + MJD_REC_RETRY_SEC * CORE_NS_PER_SEC;
}

static void refresh_totals(struct mjd_recorder *r)
{
    if (r->cat == NULL) {
        return;
    }
    uint64_t count = 0;
    uint64_t bytes = 0;
    if (mjd_rec_catalog_totals(r->cat, r->source, &count, &bytes) == 0) {
        atomic_store(&r->segments, count);
        atomic_store(&r->bytes, bytes);
    }
}

static int retain(struct mjd_recorder *r)
{
    if (r->cat == NULL) {
        return 0;
    }
    struct mjd_rec_retained del;
    int rc = mjd_rec_retain(r->cat, r->srcdir, r->source, r->conf->keep_size, r->conf->keep_days,
                            core_wall_ns() / 1000, &del);
    atomic_fetch_add(&r->deleted, del.deleted);
    refresh_totals(r);
    return rc;
}

/* Recovery (when needed) and retention: at start and before resuming after an error. */
static int maintain(struct mjd_recorder *r)
{
    if (r->cat == NULL) {
        // Create could not (a full disk at start): the directory and the catalog first.
        int rc = make_dirs(r->srcdir);
        if (rc == 0) {
            rc = mjd_rec_catalog_open(&r->cat, r->conf->record_dir);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (r->recover_needed) {
        struct mjd_rec_recovery rec;
        int rc = mjd_rec_recover(r->cat, r->srcdir, r->source, r->reason, &rec);
        if (rc != 0) {
            return rc;
        }
        r->recover_needed = false;
        if (rec.temp_removed + rec.listed + rec.rows_dropped > 0) {
            LOG_INFO("recording of source %s: recovered %s: %u unfinished segment(s) removed, %u "
                     "committed one(s) listed, %u missing one(s) unlisted",
                     r->source, r->srcdir, rec.temp_removed, rec.listed, rec.rows_dropped);
        }
    }
    return retain(r);
}

/* After an error, once its retry time has come: 0 if recording may go on. */
static int try_resume(struct mjd_recorder *r)
{
    if (r->retry_ns == 0) {
        return 0;
    }
    if (core_now_ns() < r->retry_ns) {
        return -EAGAIN;
    }
    int rc = maintain(r);
    if (rc != 0) {
        fail(r, rc, "cannot resume (catalog, recovery or retention)");
        return rc;
    }
    r->retry_ns = 0;
    pthread_mutex_lock(&r->mu);
    r->error[0] = '\0';
    pthread_mutex_unlock(&r->mu);
    LOG_INFO("recording of source %s into %s resumed", r->source, r->srcdir);
    return 0;
}

/* Commits the open segment and lists it. */
static void close_segment(struct mjd_recorder *r)
{
    if (r->seg.w == NULL) {
        return;
    }
    char name[MJD_REC_NAME_MAX];
    memcpy(name, r->seg.name, sizeof(name));
    uint64_t before = arc_writer_bytes(r->seg.w);
    struct mjd_rec_row row;
    int rc = mjd_rec_segment_commit(&r->seg, &row);
    set_segment_name(r, "");
    if (rc != 0) {
        // An error after the rename (the directory's fsync) leaves the archive in place:
        // recovery lists it when recording resumes.
        r->recover_needed = true;
        fail(r, rc, "cannot commit the segment");
        return;
    }
    atomic_fetch_add(&r->bytes_written, row.bytes - before);
    snprintf(row.source, sizeof(row.source), "%s", r->source);
    snprintf(row.reason, sizeof(row.reason), "%s", r->reason);
    rc = mjd_rec_catalog_insert(r->cat, &row);
    if (rc != 0) {
        r->recover_needed = true;
        fail(r, rc, "cannot list the segment in the catalog");
        return;
    }
    LOG_DEBUG("recorded %s/%s: %llu frames, %llu bytes", r->srcdir, name,
              (unsigned long long)row.frames, (unsigned long long)row.bytes);
    rc = retain(r);
    if (rc != 0) {
        fail(r, rc, "retention");
    }
}

/* Writes one frame, rolling the segment when the frame is past its span. */
static void write_frame(struct mjd_recorder *r, const struct rec_item *it)
{
    if (try_resume(r) != 0) {
        atomic_fetch_add(&r->dropped_error, 1);
        return;
    }
    int64_t wall_us = it->wall_ns / 1000;
    if (r->seg.w != NULL && wall_us - r->seg.start_us >= r->conf->segment_ns / 1000) {
        close_segment(r);
        if (r->retry_ns != 0) {
            atomic_fetch_add(&r->dropped_error, 1);
            return;
        }
    }
    if (r->seg.w == NULL) {
        int rc = mjd_rec_segment_open(&r->seg, r->conf->record_dir, r->srcdir, wall_us, it->seq);
        if (rc != 0) {
            fail(r, rc, "cannot start a segment");
            atomic_fetch_add(&r->dropped_error, 1);
            return;
        }
        r->seg_deadline_ns = core_now_ns() + r->conf->segment_ns;
        set_segment_name(r, r->seg.name);
    }
    uint64_t before = arc_writer_bytes(r->seg.w);
    int rc = mjd_rec_segment_add(&r->seg, it->jpeg->data, it->jpeg->len, wall_us);
    if (rc != 0) {
        fail(r, rc, "cannot write a frame");
        atomic_fetch_add(&r->dropped_error, 1);
        return;
    }
    atomic_fetch_add(&r->frames, 1);
    atomic_fetch_add(&r->bytes_written, arc_writer_bytes(r->seg.w) - before);
}

/* A wake-up without a frame: the open segment's time is up, a retry, a --keep-days pass. */
static void tick(struct mjd_recorder *r)
{
    int64_t now = core_now_ns();
    if (r->seg.w != NULL && now >= r->seg_deadline_ns) {
        close_segment(r);
    }
    if (r->retry_ns != 0) {
        (void)try_resume(r);
    } else if (r->conf->keep_days > 0 && now >= r->next_retain_ns) {
        r->next_retain_ns = now + 60 * CORE_NS_PER_SEC;
        int rc = retain(r);
        if (rc != 0) {
            fail(r, rc, "retention");
        }
    }
}

static void *writer_main(void *arg)
{
    struct mjd_recorder *r = arg;
    r->recover_needed = true;
    int rc = r->start_error != 0 ? r->start_error : maintain(r);
    if (rc != 0) {
        fail(r, rc,
             r->start_error != 0 ? "cannot set up the directory or the catalog"
                                 : "cannot recover the recordings");
    }
    r->next_retain_ns = core_now_ns() + 60 * CORE_NS_PER_SEC;
    for (;;) {
        int64_t deadline = core_now_ns() + TICK_NS;
        if (r->seg.w != NULL && r->seg_deadline_ns < deadline) {
            deadline = r->seg_deadline_ns;
        }
        void *item = NULL;
        rc = core_queue_pop_until(r->queue, &item, deadline);
        if (rc == -EPIPE) {
            break;
        }
        if (rc == 0) {
            struct rec_item *it = item;
            write_frame(r, it);
            core_buf_unref(it->jpeg);
            free(it);
        }
        tick(r);
    }
    // Shutdown: the queue is drained; the open segment is committed, so nothing is lost.
    close_segment(r);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int mjd_recorder_start(struct mjd_recorder *r)
{
    char name[16];
    snprintf(name, sizeof(name), "record/%u", r->index % 100);
    int rc = core_thread_start(&r->writer_thread, name, writer_main, r);
    if (rc != 0) {
        return rc;
    }
    snprintf(name, sizeof(name), "rec-tap/%u", r->index % 100);
    rc = core_thread_start(&r->tap_thread, name, tap_main, r);
    if (rc != 0) {
        core_queue_close(r->queue);
        pthread_join(r->writer_thread, NULL);
        return rc;
    }
    r->started = true;
    r->stopped = false;
    return 0;
}

void mjd_recorder_stop(struct mjd_recorder *r)
{
    if (r == NULL || r->stopped) {
        return;
    }
    r->stopped = true;
    uint64_t one = 1;
    ssize_t w = write(r->stop_efd, &one, sizeof(one));
    (void)w;
    pthread_join(r->tap_thread, NULL);
    core_queue_close(r->queue);
    pthread_join(r->writer_thread, NULL);
}

void mjd_recorder_destroy(struct mjd_recorder *r)
{
    if (r == NULL) {
        return;
    }
    mjd_recorder_stop(r);
    if (r->queue != NULL) {
        void *item = NULL;
        while (core_queue_try_pop(r->queue, &item) == 0) {
            struct rec_item *it = item;
            core_buf_unref(it->jpeg);
            free(it);
        }
        core_queue_destroy(r->queue);
    }
    mjd_rec_segment_abort(&r->seg);
    mjd_rec_segment_release(&r->seg);
    mjd_rec_catalog_close(r->cat);
    if (r->efd >= 0) {
        close(r->efd);
    }
    if (r->stop_efd >= 0) {
        close(r->stop_efd);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void mjd_recorder_get_stats(struct mjd_recorder *r, struct mjd_recorder_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->dir = r->conf->record_dir;
    pthread_mutex_lock(&r->mu);
    memcpy(out->segment, r->segment_name, sizeof(out->segment));
    memcpy(out->error, r->error, sizeof(out->error));
    pthread_mutex_unlock(&r->mu);
    out->segments = atomic_load(&r->segments);
    out->bytes = atomic_load(&r->bytes);
    out->frames = atomic_load(&r->frames);
    out->bytes_written = atomic_load(&r->bytes_written);
    out->taken = atomic_load(&r->taken);
    out->dropped_queue = atomic_load(&r->dropped_queue);
    out->dropped_missed = atomic_load(&r->dropped_missed);
    out->dropped_error = atomic_load(&r->dropped_error);
    out->deleted = atomic_load(&r->deleted);
    out->errors = atomic_load(&r->errors);
}

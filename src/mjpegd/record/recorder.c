// SPDX-License-Identifier: MIT
/* The recorder of one source: setup, the tap thread (hub -> queue), lifecycle, stats. */
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

#include "core/log.h"
#include "core/queue.h"
#include "core/thread.h"
#include "mjpegd/record/recorder_impl.h"

/* Frames the queue holds: about two seconds at the source's rate, at least 16. */
#define QUEUE_SECONDS 2
#define QUEUE_MIN     16
#define QUEUE_MAX     1024
/* Frames the hub keeps for the tap (mjd_hub_keep_history): a tap woken up to this many
   frames late still takes every one. */
#define TAP_HISTORY 16

/* ---- setup --------------------------------------------------------------------------------- */

int mjd_rec_make_dirs(const char *path)
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
        rc = mjd_rec_make_dirs(r->srcdir);
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
    if (rc == 0) {
        mjd_hub_keep_history(hub, TAP_HISTORY);
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

/* Queues one frame taken from the hub (its reference passes to the queue, or is dropped). */
static void take(struct mjd_recorder *r, struct mjd_frame *f, uint64_t *last_number)
{
    if (f->number > *last_number + 1) {
        // Published and gone from the hub's history before this thread looked.
        atomic_fetch_add(&r->dropped_missed, f->number - *last_number - 1);
    }
    *last_number = f->number;
    atomic_fetch_add(&r->taken, 1);
    struct mjd_rec_item *it = malloc(sizeof(*it));
    if (it != NULL) {
        *it = (struct mjd_rec_item){ .jpeg = f->jpeg, .seq = f->seq, .wall_ns = f->wall_ns };
    }
    if (it == NULL || core_queue_try_push(r->queue, it) != 0) {
        // The writer is behind (a slow disk): this frame is not recorded.
        atomic_fetch_add(&r->dropped_queue, 1);
        core_buf_unref(f->jpeg);
        free(it);
    }
}

static void *tap_main(void *arg)
{
    struct mjd_recorder *r = arg;
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
        // Every frame published since the last one taken (the hub keeps TAP_HISTORY of them),
        // so a tap woken late still records each.
        struct mjd_frame frames[TAP_HISTORY];
        size_t got_n = mjd_hub_since(r->hub, last_number, frames, TAP_HISTORY);
        for (size_t i = 0; i < got_n; i++) {
            take(r, &frames[i], &last_number);
        }
    }
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int mjd_recorder_start(struct mjd_recorder *r)
{
    char name[16];
    snprintf(name, sizeof(name), "record/%u", r->index % 100);
    int rc = core_thread_start(&r->writer_thread, name, mjd_rec_writer_main, r);
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
            struct mjd_rec_item *it = item;
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

// SPDX-License-Identifier: MIT
/* The recorder's writer thread (record/N): frames from the queue into segments, the catalog. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/writer.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/queue.h"
#include "mjpegd/record/failpoint.h"
#include "mjpegd/record/recorder_impl.h"
#include "mjpegd/record/recover.h"
#include "mjpegd/record/retention.h"
#include "mjpegd/record/segment.h"

/* The writer wakes at least this often (keep-days retention, an idle source's segment end). */
#define TICK_NS (CORE_NS_PER_SEC)

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
        int rc = mjd_rec_make_dirs(r->srcdir);
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
    mjd_rec_failpoint("catalog");
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

/*
 * Writes one frame, rolling the segment when the frame is past its span. Every frame popped
 * comes here (--record-on always); a gate for --record-on motion sits in front of it in
 * writer_main: it keeps the pre-roll (items with their references) and calls write_frame
 * for the frames to keep and close_segment when the post-roll ends.
 */
static void write_frame(struct mjd_recorder *r, const struct mjd_rec_item *it)
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

void *mjd_rec_writer_main(void *arg)
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
            struct mjd_rec_item *it = item;
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

// SPDX-License-Identifier: MIT
/* The capture thread: owns the source, paces it, feeds the encoder pool or the hub. */
#include "mjpegd/capture.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread.h"
#include "mjpegd/encoder.h"
#include "mjpegd/supervise.h"

struct mjd_capture {
    struct mjd_source *source;       /* capture thread only (owner thread after join) */
    struct mjd_hub *hub;             /* borrowed; thread-safe */
    struct mjd_encoder *encoder;     /* submit from the capture thread; owner destroys */
    struct core_queue *free;         /* raw frames not lent to an encoder (thread-safe) */
    struct mjd_raw_frame *frames;    /* nframes buffers; each is in free or with an encoder */
    size_t nframes;                  /* immutable */
    unsigned fps;                    /* immutable */
    struct core_event *stop;         /* set by stop() */
    char spec[256];                  /* immutable: what to reopen after a failure ("" if unknown) */
    struct mjd_source_params params; /* immutable */
    struct mjd_source_status *status; /* borrowed, may be NULL; thread-safe */
    struct core_buf *nosignal;        /* capture thread only: the cached no-signal frame */
    unsigned drop_same;               /* immutable */
    struct core_buf *last;            /* capture thread only: the last JPEG frame published */
    unsigned same_run;                /* capture thread only: identical frames skipped in a row */
    pthread_t thread;                 /* owner thread only */
    bool started;                     /* owner thread only */
};

static void frame_done(void *ctx, struct mjd_raw_frame *frame)
{
    struct mjd_capture *cap = ctx;
    // Never full: the queue holds every frame buffer.
    if (core_queue_try_push(cap->free, frame) != 0) {
        CORE_BUG("capture free queue full");
    }
}

static void set_status(struct mjd_capture *cap, enum mjd_source_state state, const char *why)
{
    if (cap->status != NULL) {
        mjd_source_status_set(cap->status, state, why);
    }
}

/*
 * The source failed with rc: closes it, shows the no-signal frame and reopens it with backoff.
 * True with cap->source reopened, false if the capture is stopping (cap->source is NULL).
 */
static bool recover(struct mjd_capture *cap, int rc, uint64_t *seq, const unsigned *width,
                    const unsigned *height)
{
    char why[160];
    snprintf(why, sizeof(why), "read failed: %s", strerror(-rc));
    LOG_WARN("source %s: %s; showing no signal and reopening", cap->spec, why);
    set_status(cap, MJD_SRC_NO_SIGNAL, why);
    if (cap->spec[0] == '\0') {
        // Nothing to reopen from (a source handed over without its spec): retry reading.
        return core_event_timed_wait(cap->stop, 100) != 0;
    }
    mjd_source_destroy(cap->source);
    cap->source = NULL;
    struct mjd_outage o = {
        .spec = cap->spec,
        .params = &cap->params,
        .status = cap->status,
        .hub = cap->hub,
        .stop = cap->stop,
        .frame_cap = cap->frames[0].cap,
        .width = *width,
        .height = *height,
        .nosignal = &cap->nosignal,
    };
    cap->source = mjd_supervise_outage(&o, seq);
    if (cap->source == NULL) {
        return false;
    }
    set_status(cap, MJD_SRC_OK, NULL);
    return true;
}

/* --drop-same-frames: true if f repeats the last published JPEG and may be skipped. */
static bool is_same(struct mjd_capture *cap, const struct mjd_raw_frame *f)
{
    if (cap->drop_same == 0 || cap->last == NULL) {
        return false;
    }
    if (cap->last->len != f->len || memcmp(cap->last->data, f->data, f->len) != 0 ||
        cap->same_run >= cap->drop_same) {
        cap->same_run = 0;
        return false;
    }
    cap->same_run++;
    return true;
}

static void *capture_main(void *arg)
{
    struct mjd_capture *cap = arg;
    const struct mjd_source_info *info = mjd_source_get_info(cap->source);
    int64_t interval = CORE_NS_PER_SEC / cap->fps;
    int64_t next = core_now_ns();
    uint64_t seq = 0;
    bool ok = false;                                     /* the status says ok */
    unsigned width = info->width, height = info->height; /* of the last frame */
    LOG_INFO("capturing from %s source at %ux%u, %u fps", info->kind, info->width, info->height,
             cap->fps);
    while (!core_event_is_set(cap->stop)) {
        if (!info->self_paced) {
            if (core_event_wait_until(cap->stop, next) == 0) {
                break;
            }
            int64_t now = core_now_ns();
            next += interval;
            // Fell more than a frame behind (a stall): restart the schedule, don't burst.
            if (now - next > interval) {
                next = now + interval;
            }
        }
        void *item = NULL;
        if (core_queue_try_pop(cap->free, &item) != 0) {
            // Every buffer is with an encoder: nothing is read from the source, so nothing is
            // captured; the read is counted as skipped.
            mjd_hub_count_skipped(cap->hub);
            seq++;
            continue;
        }
        struct mjd_raw_frame *f = item;
        f->seq = seq + 1;
        f->wall_ns = core_wall_ns();
        int rc = mjd_source_read(cap->source, f, core_now_ns() + interval);
        if (rc != 0) {
            frame_done(cap, f);
            if (rc == MJD_SOURCE_ENDED) {
                // A finite input is over: the process shuts down as on SIGTERM (exit 0);
                // main's sigwait takes the signal.
                LOG_INFO("source ended: shutting down");
                set_status(cap, MJD_SRC_ENDED, "end of input");
                kill(getpid(), SIGTERM);
                break;
            }
            if (rc != -EAGAIN) {
                if (!recover(cap, rc, &seq, &width, &height)) {
                    break;
                }
                info = mjd_source_get_info(cap->source);
                next = core_now_ns();
            }
            continue;
        }
        if (!ok) {
            ok = true;
            set_status(cap, MJD_SRC_OK, NULL);
        }
        width = f->width;
        height = f->height;
        seq++;
        mjd_hub_count_captured(cap->hub);
        if (f->format == MJD_PIX_JPEG && is_same(cap, f)) {
            mjd_hub_count_dropped(cap->hub, MJD_DROP_SAME);
            frame_done(cap, f);
            continue;
        }
        if (f->format == MJD_PIX_JPEG) {
            struct core_buf *jpeg = NULL;
            if (core_buf_from(&jpeg, f->data, f->len) == 0) {
                if (cap->drop_same > 0) {
                    core_buf_unref(cap->last);
                    cap->last = core_buf_ref(jpeg);
                }
                mjd_hub_publish(cap->hub, jpeg, f->seq, f->wall_ns);
            } else {
                mjd_hub_count_dropped(cap->hub, MJD_DROP_ERROR);
            }
            frame_done(cap, f);
            continue;
        }
        if (mjd_encoder_submit(cap->encoder, f) != 0) {
            mjd_hub_count_dropped(cap->hub, MJD_DROP_BUSY);
            frame_done(cap, f);
        }
    }
    return NULL;
}

static void free_frames(struct mjd_capture *cap)
{
    for (size_t i = 0; i < cap->nframes; i++) {
        free(cap->frames[i].data);
    }
    free(cap->frames);
    cap->frames = NULL;
}

int mjd_capture_start(struct mjd_capture **out, struct mjd_capture_config *cfg)
{
    *out = NULL;
    if (cfg->fps == 0 || cfg->encoder_threads == 0) {
        return -EINVAL;
    }
    struct mjd_capture *cap = calloc(1, sizeof(*cap));
    if (cap == NULL) {
        return -ENOMEM;
    }
    int rc = 0;
    const struct mjd_source_info *info = mjd_source_get_info(cfg->source);
    cap->hub = cfg->hub;
    cap->fps = cfg->fps;
    if (cfg->spec != NULL && strlen(cfg->spec) < sizeof(cap->spec)) {
        memcpy(cap->spec, cfg->spec, strlen(cfg->spec) + 1);
    }
    cap->params = cfg->params;
    cap->status = cfg->status;
    cap->drop_same = cfg->drop_same;
    // One buffer per encoder thread, one per backlog slot, one being filled.
    cap->nframes = 2 * cfg->encoder_threads + 1;
    cap->frames = calloc(cap->nframes, sizeof(*cap->frames));
    if (cap->frames == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = core_queue_create(&cap->free, cap->nframes);
    if (rc != 0) {
        goto fail;
    }
    for (size_t i = 0; i < cap->nframes; i++) {
        struct mjd_raw_frame *f = &cap->frames[i];
        f->cap = info->max_frame_bytes;
        f->data = malloc(f->cap);
        if (f->data == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        rc = core_queue_try_push(cap->free, f);
        if (rc != 0) {
            goto fail;
        }
    }
    rc = core_event_create(&cap->stop);
    if (rc != 0) {
        goto fail;
    }
    struct mjd_encoder_config ec = {
        .threads = cfg->encoder_threads,
        .backlog = cfg->encoder_threads,
        .quality = cfg->quality,
        .hub = cfg->hub,
        .done = frame_done,
        .done_ctx = cap,
    };
    rc = mjd_encoder_create(&cap->encoder, &ec);
    if (rc != 0) {
        goto fail;
    }
    cap->source = cfg->source;
    rc = core_thread_start(&cap->thread, "capture", capture_main, cap);
    if (rc != 0) {
        cap->source = NULL;
        goto fail;
    }
    cap->started = true;
    cfg->source = NULL;
    *out = cap;
    return 0;
fail:
    mjd_encoder_destroy(cap->encoder);
    core_event_destroy(cap->stop);
    core_queue_destroy(cap->free);
    free_frames(cap);
    free(cap);
    return rc;
}

void mjd_capture_stop(struct mjd_capture *cap)
{
    if (cap == NULL) {
        return;
    }
    core_event_set(cap->stop);
    if (cap->started) {
        pthread_join(cap->thread, NULL);
    }
    // Drains the frames still queued: each comes back through frame_done.
    mjd_encoder_destroy(cap->encoder);
    mjd_source_destroy(cap->source);
    core_buf_unref(cap->nosignal);
    core_buf_unref(cap->last);
    core_event_destroy(cap->stop);
    core_queue_destroy(cap->free);
    free_frames(cap);
    free(cap);
}

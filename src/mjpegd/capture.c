// SPDX-License-Identifier: MIT
/* The capture thread: owns the source, paces it, feeds the encoder pool or the hub. */
#include "mjpegd/capture.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread.h"
#include "mjpegd/encoder.h"
#include "mjpegd/ondemand.h"

struct mjd_capture {
    struct mjd_source *source;    /* capture thread only (owner thread after join) */
    struct mjd_hub *hub;          /* borrowed; thread-safe */
    struct mjd_encoder *encoder;  /* submit from the capture thread; owner destroys */
    struct core_queue *free;      /* raw frames not lent to an encoder (thread-safe) */
    struct mjd_raw_frame *frames; /* nframes buffers; each is in free or with an encoder */
    size_t nframes;               /* immutable */
    unsigned fps;                 /* immutable */
    struct mjd_ondemand ondemand; /* capture thread only (see ondemand.h) */
    bool exit_on_end;             /* immutable: the only source: its end ends the process */
    unsigned drop_same;           /* immutable: --drop-same-frames */
    unsigned same_run;            /* capture thread only: identical frames skipped in a row */
    size_t last_len;              /* capture thread only: the last published JPEG's length */
    uint64_t last_hash;           /* capture thread only: and its hash */
    struct core_event *stop;      /* set by stop() */
    pthread_t thread;             /* owner thread only */
    bool started;                 /* owner thread only */
};

static void frame_done(void *ctx, struct mjd_raw_frame *frame)
{
    struct mjd_capture *cap = ctx;
    // Never full: the queue holds every frame buffer.
    if (core_queue_try_push(cap->free, frame) != 0) {
        CORE_BUG("capture free queue full");
    }
}

/* The input ended (a pipe's writer closed it). With one source that is the end of the stream:
 * the server shuts down as on SIGTERM (exit 0, viewers get the last frame and a clean close).
 * With several, only this one stops: its state says so and the others go on. */
static void mjd_capture_source_ended(struct mjd_capture *cap, const struct mjd_source_info *info)
{
    if (cap->exit_on_end || cap->ondemand.demand_any == NULL) {
        LOG_INFO("%s source: end of input; stopping", info->kind);
        kill(getpid(), SIGTERM);
        return;
    }
    LOG_INFO("%s source: end of input; this source stops, the others go on", info->kind);
    atomic_store(&cap->ondemand.demand_any->state, MJD_DEMAND_ENDED);
}

/* --drop-same-frames: true when f is byte-identical to the last JPEG published (same length
 * and 64-bit FNV-1a hash) and fewer than drop_same were skipped in a row. */
static bool same_as_last(struct mjd_capture *cap, const struct mjd_raw_frame *f)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < f->len; i++) {
        h = (h ^ f->data[i]) * 1099511628211u;
    }
    if (f->len == cap->last_len && h == cap->last_hash && cap->same_run < cap->drop_same) {
        cap->same_run++;
        return true;
    }
    cap->same_run = 0;
    cap->last_len = f->len;
    cap->last_hash = h;
    return false;
}

static void *capture_main(void *arg)
{
    struct mjd_capture *cap = arg;
    // A copy: --on-demand closes and reopens the source, the info stays the first one's.
    const struct mjd_source_info info_copy = *mjd_source_get_info(cap->source);
    const struct mjd_source_info *info = &info_copy;
    int64_t interval = CORE_NS_PER_SEC / cap->fps;
    int64_t next = core_now_ns();
    uint64_t seq = 0;
    LOG_INFO("capturing from %s source at %ux%u, %u fps", info->kind, info->width, info->height,
             cap->fps);
    while (!core_event_is_set(cap->stop)) {
        // --on-demand: closes the source while nobody watches and sleeps until someone does.
        if (!mjd_ondemand_gate(&cap->ondemand, &cap->source, cap->stop)) {
            continue;
        }
        if (cap->ondemand.reopened) {
            next = core_now_ns();
        }
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
            if (rc == MJD_SOURCE_EOF) {
                mjd_capture_source_ended(cap, info);
                break;
            }
            if (rc != -EAGAIN) {
                LOG_WARN("source read failed: %d; retrying", rc);
                core_event_timed_wait(cap->stop, 100);
            }
            continue;
        }
        seq++;
        mjd_hub_count_captured(cap->hub);
        if (f->format == MJD_PIX_JPEG) {
            if (cap->drop_same > 0 && same_as_last(cap, f)) {
                mjd_hub_count_dropped(cap->hub, MJD_DROP_SAME);
                frame_done(cap, f);
                continue;
            }
            struct core_buf *jpeg = NULL;
            if (core_buf_from(&jpeg, f->data, f->len) == 0) {
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
    mjd_ondemand_init(&cap->ondemand, cfg->demand, cfg->spec, &cfg->params, info);
    cap->exit_on_end = cfg->exit_on_end;
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
    mjd_ondemand_kick(&cap->ondemand);
    if (cap->started) {
        pthread_join(cap->thread, NULL);
    }
    // Drains the frames still queued: each comes back through frame_done.
    mjd_encoder_destroy(cap->encoder);
    mjd_source_destroy(cap->source);
    core_event_destroy(cap->stop);
    core_queue_destroy(cap->free);
    free_frames(cap);
    free(cap);
}

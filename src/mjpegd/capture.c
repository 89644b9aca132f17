// SPDX-License-Identifier: MIT
/* The capture thread: owns the source, paces it, feeds the encoder pool or the hub. */
#include "mjpegd/capture.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread.h"
#include "mjpegd/encoder.h"
#include "mjpegd/nosignal.h"
#include "mjpegd/ondemand.h"

/* While a source is down its no-signal frame is published this often. */
#define NOSIGNAL_INTERVAL_NS CORE_NS_PER_SEC

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
    unsigned flip_want;           /* immutable: --flip (MJD_FLIP_* bits) */
    unsigned flip_state;          /* capture thread only: the hardware | software << 2 bits
                                     last logged and published, ~0u before the first frame */
    int64_t stall_ns;             /* immutable: --source-timeout, 0 = off */
    int64_t last_frame_ns;        /* capture thread only: the last good read since the source
                                     was opened (monotonic), 0 before the first one */
    unsigned same_run;            /* capture thread only: identical frames skipped in a row */
    size_t last_len;              /* capture thread only: the last published JPEG's length */
    uint64_t last_hash;           /* capture thread only: and its hash */
    uint64_t rejected_seen;       /* capture thread only: mjd_source_rejected of the open
                                     source already counted (0 at each open) */
    /* Supervision (capture thread only): a source that fails is closed and reopened with
     * backoff while viewers get the no-signal frame; health (borrowed, the feed's demand record,
     * NULL in unit tests) tells /state and /metrics. */
    struct mjd_demand *health;
    uint64_t seq;              /* the last sequence number given to a frame */
    bool frames_ready;         /* the frame buffers are sized (false until a source that could
                                  not be opened at start-up opens) */
    bool down;                 /* the source is closed after a failure and retried */
    bool failing;              /* a failure since the last good frame: the backoff goes on */
    int64_t backoff_ns;        /* the last wait before a reopen; 0 after a good frame */
    int64_t retry_ns;          /* when a down source is reopened next (monotonic) */
    struct core_buf *nosignal; /* this outage's no-signal JPEG (one reference), or NULL */
    int64_t nosignal_next_ns;  /* when it is published next (monotonic) */
    int start_error;           /* immutable: why the source did not open at start-up, or 0 */
    struct core_event *stop;   /* set by stop() */
    pthread_t thread;          /* owner thread only */
    bool started;              /* owner thread only */
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

static const char *flip_bits(unsigned bits)
{
    return bits == (MJD_FLIP_H | MJD_FLIP_V) ? "hv" : bits == MJD_FLIP_H ? "h" : "v";
}

/*
 * --flip for the frame just read: whatever the open source does not do itself (a v4l2
 * camera's HFLIP/VFLIP controls) is done in software, by the encoder pool. Which way it goes
 * is logged when it changes (the first frame, a camera reopened) and published for /state.
 */
static unsigned soft_flip(struct mjd_capture *cap)
{
    if (cap->flip_want == 0) {
        return 0;
    }
    unsigned hw = mjd_source_get_info(cap->source)->flip_done & cap->flip_want;
    unsigned sw = cap->flip_want & ~hw;
    unsigned state = hw | sw << 2;
    if (state != cap->flip_state) {
        cap->flip_state = state;
        const char *spec = cap->ondemand.spec != NULL ? cap->ondemand.spec : "?";
        if (hw != 0 && sw != 0) {
            LOG_INFO("source '%s': --flip %s: %s in hardware, %s in software", spec,
                     flip_bits(cap->flip_want), flip_bits(hw), flip_bits(sw));
        } else {
            LOG_INFO("source '%s': --flip %s in %s", spec, flip_bits(cap->flip_want),
                     hw != 0 ? "hardware" : "software");
        }
        if (cap->health != NULL) {
            mjd_demand_set_flip(cap->health, hw, sw);
        }
    }
    return sw;
}

int64_t mjd_capture_backoff(int64_t prev_ns)
{
    if (prev_ns <= 0) {
        return MJD_CAPTURE_BACKOFF_FIRST_NS;
    }
    return prev_ns >= MJD_CAPTURE_BACKOFF_MAX_NS / 2 ? MJD_CAPTURE_BACKOFF_MAX_NS : 2 * prev_ns;
}

static void set_health(struct mjd_capture *cap, enum mjd_demand_state st, int rc, bool restarted)
{
    if (cap->health != NULL) {
        mjd_demand_set_health(cap->health, st, rc < 0 ? -rc : rc, restarted);
    }
}

/* Sizes the frame buffers from the first open's info, once (a source that could not be
 * opened at start-up). No buffer is lent yet: every one is in the free queue. */
static int size_frames(struct mjd_capture *cap)
{
    size_t need = cap->ondemand.info.max_frame_bytes;
    for (size_t i = 0; i < cap->nframes; i++) {
        struct mjd_raw_frame *f = &cap->frames[i];
        if (f->data != NULL) {
            continue; // sized by an earlier call that ran out of memory further on
        }
        f->data = malloc(need);
        if (f->data == NULL) {
            return -ENOMEM; // the ones allocated are freed by free_frames
        }
        f->cap = need;
    }
    cap->frames_ready = true;
    LOG_INFO("capturing from %s source at %ux%u, %u fps", cap->ondemand.info.kind,
             cap->ondemand.info.width, cap->ondemand.info.height, cap->fps);
    return 0;
}

/* The no-signal frame, through the hub like any frame (streams and snapshots get it); the
 * next one is due a second later. */
static void publish_nosignal(struct mjd_capture *cap, int64_t now)
{
    // Counted as captured so that captured = published + dropped + in flight holds.
    mjd_hub_count_captured(cap->hub);
    mjd_hub_publish(cap->hub, core_buf_ref(cap->nosignal), ++cap->seq, core_wall_ns());
    cap->nosignal_next_ns = now + NOSIGNAL_INTERVAL_NS;
}

/* The source failed (rc, a negative errno) or could not be reopened: close it, retry after
 * the next backoff, show the no-signal frame meanwhile. */
static void source_failed(struct mjd_capture *cap, int rc)
{
    mjd_source_destroy(cap->source);
    cap->source = NULL;
    cap->backoff_ns = mjd_capture_backoff(cap->failing ? cap->backoff_ns : 0);
    int64_t now = core_now_ns();
    cap->retry_ns = now + cap->backoff_ns;
    const char *spec = cap->ondemand.name;
    if (!cap->down) {
        LOG_WARN("source '%s' failed: %s; reopening it in %.1f s (viewers see no signal)", spec,
                 strerror(-rc), (double)cap->backoff_ns / 1e9);
    } else {
        LOG_INFO("source '%s': cannot reopen: %s; next try in %.1f s", spec, strerror(-rc),
                 (double)cap->backoff_ns / 1e9);
    }
    cap->down = true;
    cap->failing = true;
    if (cap->nosignal == NULL) {
        unsigned w = cap->ondemand.info.width, h = cap->ondemand.info.height;
        if (mjd_nosignal_render(&cap->nosignal, w, h) != 0) {
            cap->nosignal = NULL; // viewers keep the last frame
        } else {
            // Published before the state says retrying, so that a reader who sees retrying
            // gets the no-signal frame (not the last live one) from /snapshot.
            publish_nosignal(cap, now);
        }
    }
    set_health(cap, MJD_DEMAND_RETRYING, rc, false);
}

/* A good frame after failures: the backoff starts again from its first step. */
static void source_recovered(struct mjd_capture *cap)
{
    cap->failing = false;
    cap->backoff_ns = 0;
    core_buf_unref(cap->nosignal);
    cap->nosignal = NULL;
    set_health(cap, MJD_DEMAND_ACTIVE, 0, false);
    LOG_INFO("source '%s' delivers frames again", cap->ondemand.name);
}

/*
 * While the source is down: publishes the no-signal frame when due (through the hub like any
 * frame, so streams and snapshots get it) and waits on stop until the next one or the retry.
 * Returns true when the gate should be called (the retry is due, or --on-demand lets a
 * source nobody watches sleep), false to loop.
 */
static bool outage_tick(struct mjd_capture *cap)
{
    int64_t now = core_now_ns();
    if (mjd_ondemand_may_sleep(&cap->ondemand, now)) {
        LOG_INFO("source '%s' is down and nobody watches: not retried until someone does",
                 cap->ondemand.name);
        cap->down = false;
        set_health(cap, MJD_DEMAND_IDLE, 0, false);
        return true;
    }
    if (now >= cap->retry_ns) {
        return true;
    }
    if (cap->nosignal != NULL && now >= cap->nosignal_next_ns) {
        publish_nosignal(cap, now);
    }
    int64_t until = cap->retry_ns;
    if (cap->nosignal != NULL && cap->nosignal_next_ns < until) {
        until = cap->nosignal_next_ns;
    }
    (void)core_event_wait_until(cap->stop, until);
    return false;
}

/*
 * --source-timeout: a self-paced source (camera, pipe, relay) that is open and read but has
 * delivered nothing for stall_ns since its last frame. Timed only from its first frame after
 * each open: a pipe may wait for its writer as long as it likes, and a camera that never
 * delivers after a reopen stays "retrying". A source that is not self-paced (test, file)
 * never stalls, and a sleeping --on-demand source is closed, not read, so it is not timed.
 */
static bool stalled(const struct mjd_capture *cap, const struct mjd_source_info *info)
{
    return cap->stall_ns > 0 && info->self_paced && cap->last_frame_ns != 0 &&
           core_now_ns() - cap->last_frame_ns >= cap->stall_ns;
}

/* Frames the source refused itself since the last read (mjd_source_rejected): counted as
 * captured and dropped (invalid), so captured = published + dropped + in flight still holds. */
static void count_rejected(struct mjd_capture *cap)
{
    uint64_t r = mjd_source_rejected(cap->source);
    for (; cap->rejected_seen < r; cap->rejected_seen++) {
        mjd_hub_count_captured(cap->hub);
        mjd_hub_count_dropped(cap->hub, MJD_DROP_INVALID);
    }
}

static void *capture_main(void *arg)
{
    struct mjd_capture *cap = arg;
    // The first open's info, kept by ondemand.c (a reopened source must fit its buffers).
    const struct mjd_source_info *info = &cap->ondemand.info;
    int64_t interval = CORE_NS_PER_SEC / cap->fps;
    int64_t next = core_now_ns();
    if (cap->source != NULL) {
        LOG_INFO("capturing from %s source at %ux%u, %u fps", info->kind, info->width, info->height,
                 cap->fps);
    } else {
        source_failed(cap, cap->start_error);
    }
    while (!core_event_is_set(cap->stop)) {
        if (cap->down && !outage_tick(cap)) {
            continue;
        }
        bool was_down = cap->down;
        // --on-demand: closes the source while nobody watches and sleeps until someone does;
        // a source closed after a failure is reopened here too (the one reopen path).
        if (!mjd_ondemand_gate(&cap->ondemand, &cap->source, cap->stop)) {
            if (cap->ondemand.open_error != 0) {
                source_failed(cap, cap->ondemand.open_error);
            }
            continue;
        }
        if (cap->ondemand.reopened) {
            next = core_now_ns();
            cap->rejected_seen = 0; // a new source object counts from 0
            cap->last_frame_ns = 0; // the stall timer starts again at the first frame
            if (!was_down && cap->ondemand.demand != NULL) {
                // Woken from sleep: the hub's frame is from before it; a snapshot waits for a
                // newer one (respond.c). Stored before the state (set_health) says ACTIVE.
                atomic_store(&cap->ondemand.demand->wake_seq, cap->seq);
            }
            if (!cap->frames_ready && size_frames(cap) != 0) {
                source_failed(cap, -ENOMEM);
                continue;
            }
            cap->down = false;
            if (cap->health != NULL) {
                // A source that could not open at start-up learnt its size only now.
                mjd_demand_set_size(cap->health, info->width, info->height);
            }
            // Retrying until the first good frame; a restart counts once it opened again.
            set_health(cap, cap->failing ? MJD_DEMAND_RETRYING : MJD_DEMAND_ACTIVE, 0, was_down);
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
        // With 2n+1 buffers and a submit that refuses when the backlog is full, one is always
        // free or soon back; but a self-paced source (a camera) has no schedule to wait on
        // here, so should none be free it waits up to a frame interval rather than spin.
        int got = info->self_paced
                          ? core_queue_pop_until(cap->free, &item, core_now_ns() + interval)
                          : core_queue_try_pop(cap->free, &item);
        if (got != 0) {
            // Every buffer is with an encoder: nothing is read from the source, so nothing is
            // captured; the read is counted as skipped.
            mjd_hub_count_skipped(cap->hub);
            cap->seq++;
            continue;
        }
        struct mjd_raw_frame *f = item;
        f->seq = cap->seq + 1;
        f->wall_ns = core_wall_ns();
        int rc = mjd_source_read(cap->source, f, core_now_ns() + interval);
        count_rejected(cap);
        if (rc != 0) {
            frame_done(cap, f);
            if (rc == MJD_SOURCE_EOF) {
                mjd_capture_source_ended(cap, info);
                break;
            }
            if (rc != -EAGAIN) {
                source_failed(cap, rc);
            } else if (stalled(cap, info)) {
                LOG_WARN("source '%s': no frame for %.1f s (--source-timeout)", cap->ondemand.name,
                         (double)cap->stall_ns / 1e9);
                source_failed(cap, -ETIMEDOUT);
            }
            continue;
        }
        cap->last_frame_ns = core_now_ns();
        cap->seq++;
        if (cap->failing) {
            source_recovered(cap);
        }
        mjd_hub_count_captured(cap->hub);
        f->flip = soft_flip(cap);
        if (f->format == MJD_PIX_JPEG) {
            if (cap->drop_same > 0 && same_as_last(cap, f)) {
                mjd_hub_count_dropped(cap->hub, MJD_DROP_SAME);
                frame_done(cap, f);
                continue;
            }
            if (f->flip != 0) {
                // Flipping a JPEG costs a transform (or a re-encode): the encoder pool's job,
                // like a raw frame's encoding, so that this thread keeps pace with the source.
                if (mjd_encoder_submit(cap->encoder, f) != 0) {
                    mjd_hub_count_dropped(cap->hub, MJD_DROP_BUSY);
                    frame_done(cap, f);
                }
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
    core_buf_unref(cap->nosignal);
    cap->nosignal = NULL;
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
    // A source that could not be opened at start-up: its buffers are sized when it opens.
    const struct mjd_source_info closed = { .kind = "none",
                                            .width = cfg->params.width,
                                            .height = cfg->params.height,
                                            .format = MJD_PIX_JPEG,
                                            .self_paced = true };
    if (cfg->source == NULL && (cfg->spec == NULL || cfg->start_error >= 0)) {
        free(cap);
        return -EINVAL;
    }
    const struct mjd_source_info *info =
            cfg->source != NULL ? mjd_source_get_info(cfg->source) : &closed;
    cap->hub = cfg->hub;
    cap->fps = cfg->fps;
    cap->drop_same = cfg->drop_same;
    cap->flip_want = cfg->params.flip & (MJD_FLIP_H | MJD_FLIP_V);
    cap->flip_state = ~0u;
    cap->stall_ns = cfg->stall_ns;
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
        if (info->max_frame_bytes > 0) {
            f->cap = info->max_frame_bytes;
            f->data = malloc(f->cap);
            if (f->data == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
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
    cap->frames_ready = info->max_frame_bytes > 0;
    cap->health = cfg->demand;
    cap->start_error = cfg->source == NULL ? cfg->start_error : 0;
    if (cap->start_error != 0) {
        // Retrying from the start: the capture thread publishes the no-signal frame before it
        // says so (source_failed), and the state must not read "ok" with that frame meanwhile.
        set_health(cap, MJD_DEMAND_RETRYING, cap->start_error, false);
    }
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

// SPDX-License-Identifier: MIT
/* The encoder pool: raw frames to JPEG on N threads, each with its own TurboJPEG handle. */
#ifndef MJD_ENCODER_H
#define MJD_ENCODER_H

#include <stddef.h>

#include "core/compiler.h"
#include "mjpegd/hub.h"
#include "mjpegd/sources/source.h"

/*
 * Built on core_pool: thread_init creates each worker's TurboJPEG handle and output buffer
 * (thread-local state), thread_fini frees them. A frame with flip bits is flipped on the
 * worker first (flip.h): a YUV420P frame in its planes, in place (the frame is lent to the
 * task); a JPEG frame (the capture sends one only to flip it) through the worker's own JPEG
 * flipper, made on its first such frame and freed by thread_fini. An encoded frame is copied once
 * into a core_buf and published to the hub, which drops it if a newer frame got there first, so
 * frames reach clients strictly in order.
 */
struct mjd_encoder;

/** Gives a raw frame back to its owner once encoded (or cancelled). Runs on any thread. */
typedef void (*mjd_encoder_done_fn)(void *ctx, struct mjd_raw_frame *frame);

struct mjd_encoder_config {
    size_t threads;           /* >= 1 */
    size_t backlog;           /* frames waiting beyond the ones being encoded, >= 1 */
    int quality;              /* 1..100 */
    struct mjd_hub *hub;      /* borrowed; outlives the encoder */
    mjd_encoder_done_fn done; /* called exactly once per submitted frame */
    void *done_ctx;
};

/** Starts the pool. *out is NULL on failure. Owner thread. */
int mjd_encoder_create(struct mjd_encoder **out,
                       const struct mjd_encoder_config *cfg) CORE_MUST_CHECK;

/**
 * Queues frame (lent until done() is called) for encoding. Returns 0, or -EAGAIN when every
 * encoder is busy and the backlog is full (the frame stays the caller's: count it dropped).
 * Never blocks. Any thread.
 */
int mjd_encoder_submit(struct mjd_encoder *enc, struct mjd_raw_frame *frame);

/** Finishes the queued frames, joins the threads and frees. Accepts NULL. Owner thread. */
void mjd_encoder_destroy(struct mjd_encoder *enc);

#endif

// SPDX-License-Identifier: MIT
/* The recorder's shared state: recorder.c (setup, the tap), writer_thread.c (the writer). */
#ifndef MJD_REC_RECORDER_IMPL_H
#define MJD_REC_RECORDER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/queue.h"
#include "mjpegd/config.h"
#include "mjpegd/hub.h"
#include "mjpegd/record/catalog.h"
#include "mjpegd/record/recorder.h"
#include "mjpegd/record/segment.h"

/* One queued frame: owned by the tap until pushed, then by the writer that pops it. */
struct mjd_rec_item {
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
    const char *reason;                   /* the catalog's reason: "always" or "motion" */
    int start_error; /* create could not set up the directory or the catalog (a full disk) */
    int efd;         /* the hub's waker: written on every publish; the tap reads it */
    int stop_efd;    /* written by stop; the tap polls it */
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

/** mkdir -p path (mode 0755). 0 or -errno. */
int mjd_rec_make_dirs(const char *path);

/** The record/N thread's body (writer_thread.c): pops frames until the queue is drained. */
void *mjd_rec_writer_main(void *arg);

#endif

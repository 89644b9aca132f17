// SPDX-License-Identifier: MIT
/* The frame hub: holds the newest published JPEG, wakes the network loops, counts frames. */
#ifndef MJD_HUB_H
#define MJD_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/compiler.h"

/*
 * Encoder threads publish frames; network loops read the newest one. A frame is one
 * refcounted core_buf that every client shares: the hub keeps one reference to the newest
 * frame, each reader takes its own. Publishing never blocks on a reader: it swaps a pointer
 * under a short mutex and writes to each registered eventfd (non-blocking).
 * Frames are published in sequence order: a frame older than the newest published one is
 * stale and is dropped (and counted).
 */
struct mjd_hub;

/** A published frame as a reader sees it. The holder owns one reference to jpeg. */
struct mjd_frame {
    struct core_buf *jpeg;
    uint64_t seq;    /* capture sequence number, strictly increasing across publishes */
    int64_t wall_ns; /* capture time, CLOCK_REALTIME */
};

/** Most wakers (network loops) a hub accepts. */
#define MJD_HUB_MAX_WAKERS 64

struct mjd_hub_stats {
    uint64_t captured;  /* frames the source produced */
    uint64_t encoded;   /* frames encoded to JPEG */
    uint64_t dropped;   /* frames lost: encoder busy, stale after encoding, encode error */
    uint64_t published; /* frames made visible to clients */
    double fps;         /* publish rate measured over the last two seconds */
};

/** Creates an empty hub. Owner thread. */
int mjd_hub_create(struct mjd_hub **out) CORE_MUST_CHECK;
/** Frees the hub and its last frame. Accepts NULL. No other thread may use it any more. */
void mjd_hub_destroy(struct mjd_hub *hub);

/**
 * Registers an eventfd (borrowed; must stay open until the last publish) that gets written on
 * every publish. Setup only: before any thread publishes. Returns 0 or -ENOSPC.
 */
int mjd_hub_add_waker(struct mjd_hub *hub, int efd);

/**
 * Publishes jpeg (takes ownership of the caller's reference) as frame seq captured at wall_ns.
 * Returns true if published, false if dropped as stale (seq not newer than the newest). Any
 * thread; never blocks on readers.
 */
bool mjd_hub_publish(struct mjd_hub *hub, struct core_buf *jpeg, uint64_t seq, int64_t wall_ns);

/** Fills *out with a new reference to the newest frame: true, or false if none yet. Any thread. */
bool mjd_hub_latest(struct mjd_hub *hub, struct mjd_frame *out);

/** Waits until the first frame is published: 0, or -ETIMEDOUT at deadline_ns (monotonic). */
int mjd_hub_wait_first(struct mjd_hub *hub, int64_t deadline_ns);

/** Counters, any thread (atomic). */
void mjd_hub_count_captured(struct mjd_hub *hub);
void mjd_hub_count_encoded(struct mjd_hub *hub);
void mjd_hub_count_dropped(struct mjd_hub *hub);

/** A snapshot of the counters and the measured rate. Any thread. */
void mjd_hub_get_stats(struct mjd_hub *hub, struct mjd_hub_stats *out);

#endif

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
    uint64_t number; /* frames the hub had published when it published this one (1, 2, ...):
                        a reader that saw number n and then n + k missed k - 1 frames */
};

/** Most wakers a hub accepts: every network loop (at most 64) and a recorder. */
#define MJD_HUB_MAX_WAKERS 65

/* Why a captured frame was not published. */
enum mjd_drop_reason {
    MJD_DROP_BUSY,    /* every encoder was busy and the backlog full */
    MJD_DROP_STALE,   /* a newer frame was published first (encoders finish out of order) */
    MJD_DROP_ERROR,   /* the frame could not be encoded or copied */
    MJD_DROP_SAME,    /* byte-identical to the previous frame (--drop-same-frames) */
    MJD_DROP_INVALID, /* refused by the source itself: not one complete JPEG, over the size cap,
                         a short camera buffer (mjd_source_rejected) */
    MJD_DROP_REASONS
};

/*
 * Each frame read from the source is counted once as captured, and once more by its fate:
 * published or dropped for one reason. So captured = published + dropped + in_flight, where
 * in_flight is the few frames with an encoder at that moment (0 once capture has stopped).
 * A source read skipped for lack of a free frame buffer reads nothing: it is counted as
 * skipped only.
 */
struct mjd_hub_stats {
    uint64_t captured;  /* frames read from the source */
    uint64_t published; /* frames made visible to clients */
    uint64_t dropped;   /* the sum of dropped_by */
    uint64_t dropped_by[MJD_DROP_REASONS];
    uint64_t in_flight;      /* captured - published - dropped, at the snapshot */
    uint64_t skipped;        /* source reads skipped: every frame buffer was with an encoder */
    double fps;              /* publish rate measured over the last two seconds */
    int64_t last_publish_ns; /* when the newest frame was published (monotonic), 0 if none */
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
 * Returns true if published, false if dropped as stale (seq not newer than the newest); it is
 * counted either way. Any thread; never blocks on readers.
 */
bool mjd_hub_publish(struct mjd_hub *hub, struct core_buf *jpeg, uint64_t seq, int64_t wall_ns);

/**
 * Sets the MJD_PART_* flags (part.h) of the part made from each frame (the stream's bytes:
 * head + JPEG + boundary, in a sealed memfd unless MJD_PART_NO_MEMFD). Setup only: before any
 * thread publishes.
 *
 * A frame's part is made once and shared: by the publisher when a reader asked for the
 * previous frame's part (someone streams the source), else by the first reader that asks for
 * it (mjd_hub_part), so a source that nobody streams pays for no part (no memfd per frame).
 */
void mjd_hub_set_part_flags(struct mjd_hub *hub, unsigned flags);

struct mjd_part;
/**
 * A new reference to the part of frame f (read from this hub): the hub's one while f is its
 * newest frame (made now if it has none yet: the next publish then makes its own part at
 * once), else one made for f alone. NULL if it cannot be made (out of memory). Any thread.
 */
struct mjd_part *mjd_hub_part(struct mjd_hub *hub, const struct mjd_frame *f);

/**
 * As mjd_hub_latest, and *part gets a new reference to that frame's part (mjd_hub_part: NULL
 * if it could not be made, or no frame yet). Any thread.
 */
bool mjd_hub_latest_part(struct mjd_hub *hub, struct mjd_frame *out, struct mjd_part **part);

/** Most frames a hub keeps in its history (mjd_hub_keep_history). */
#define MJD_HUB_MAX_HISTORY 64

/**
 * Keeps references to the last n (<= MJD_HUB_MAX_HISTORY) published frames, so a reader that
 * is woken late (a recorder) can take every frame since the last one it saw instead of only
 * the newest. 0 (the default) keeps none. Setup only: before any thread publishes.
 */
void mjd_hub_keep_history(struct mjd_hub *hub, size_t n);

/**
 * Fills out[0..max) with new references to the frames published after frame number `after`
 * (mjd_frame.number), oldest first: at most the history's length, the newest of them when
 * more were published than the history holds (the reader sees the gap in their numbers).
 * Without a history, the newest frame only. Returns how many. Any thread.
 */
size_t mjd_hub_since(struct mjd_hub *hub, uint64_t after, struct mjd_frame *out, size_t max);

/** Fills *out with a new reference to the newest frame: true, or false if none yet. Any thread. */
bool mjd_hub_latest(struct mjd_hub *hub, struct mjd_frame *out);

/** Waits until the first frame is published: 0, or -ETIMEDOUT at deadline_ns (monotonic). */
int mjd_hub_wait_first(struct mjd_hub *hub, int64_t deadline_ns);

/** Counts a frame read from the source, before its fate. Any thread (atomic). */
void mjd_hub_count_captured(struct mjd_hub *hub);
/** Counts a captured frame that will not be published (not for stale ones: publish counts them). */
void mjd_hub_count_dropped(struct mjd_hub *hub, enum mjd_drop_reason why);
/** Counts a source read skipped because no frame buffer was free (nothing was captured). */
void mjd_hub_count_skipped(struct mjd_hub *hub);
/** "busy", "stale" or "error": the label of a drop reason in /metrics and /state. */
const char *mjd_hub_drop_reason_name(enum mjd_drop_reason why);

/** A snapshot of the counters and the measured rate. Any thread. */
void mjd_hub_get_stats(struct mjd_hub *hub, struct mjd_hub_stats *out);

#endif

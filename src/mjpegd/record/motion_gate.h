// SPDX-License-Identifier: MIT
/* --record-on motion: which frames a recorder writes (motion, pre-roll, post-roll). */
#ifndef MJD_REC_MOTION_GATE_H
#define MJD_REC_MOTION_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/compiler.h"

/*
 * The gate owns a motion detector (mjpegd/motion.h) and the pre-roll: references to the frames
 * of the last pre_roll_ns that were not written. Fed every frame the recorder takes, in order,
 * it says what to do with it:
 * - HOLD: no motion. The gate keeps a reference in the pre-roll; the recorder writes nothing.
 * - START: motion began with this frame. The recorder writes the pre-roll first
 *   (mjd_motion_gate_pop_preroll, oldest first), then this frame, into a segment.
 * - WRITE: motion goes on, or the post-roll: write the frame.
 * - END: the post-roll is over (post_roll_ns after the detector's `active` went off): the
 *   recorder closes its segment; this frame went to the pre-roll, as HOLD.
 * A frame the detector cannot decode keeps the current state (it is written during an event).
 *
 * One owner thread (the recorder's writer) for everything but mjd_motion_gate_get, which any
 * thread may call (atomics).
 */
struct mjd_motion_gate;

enum mjd_motion_gate_action {
    MJD_GATE_HOLD,
    MJD_GATE_START,
    MJD_GATE_WRITE,
    MJD_GATE_END,
};

/** A frame as the recorder holds it. */
struct mjd_gate_frame {
    struct core_buf *jpeg; /* one reference */
    uint64_t seq;          /* capture sequence number */
    int64_t wall_ns;       /* capture time, CLOCK_REALTIME */
    int64_t mono_ns;       /* when the recorder took it, CLOCK_MONOTONIC */
};

/** Most frames the pre-roll holds, whatever its time span. */
#define MJD_GATE_MAX_PREROLL_FRAMES 4096

/**
 * Makes a gate: threshold as for mjd_motion_create, pre_roll_ns and post_roll_ns >= 0,
 * max_frames (1..MJD_GATE_MAX_PREROLL_FRAMES) the most frames the pre-roll keeps (the oldest
 * go first). -EINVAL, -ENOMEM. *out is NULL on failure. Owner thread.
 */
int mjd_motion_gate_create(struct mjd_motion_gate **out, double threshold, int64_t pre_roll_ns,
                           int64_t post_roll_ns, size_t max_frames) CORE_MUST_CHECK;

/** Drops the pre-roll's references and frees. Accepts NULL. Owner thread. */
void mjd_motion_gate_destroy(struct mjd_motion_gate *g);

/**
 * Runs the detector on f (borrowed: the gate takes its own reference when it keeps the frame)
 * and returns what to do with it (above). Owner thread.
 */
enum mjd_motion_gate_action mjd_motion_gate_feed(struct mjd_motion_gate *g,
                                                 const struct mjd_gate_frame *f);

/**
 * Moves the oldest pre-roll frame into *out (its reference becomes the caller's); false when
 * the pre-roll is empty. Owner thread.
 */
bool mjd_motion_gate_pop_preroll(struct mjd_motion_gate *g, struct mjd_gate_frame *out);

/** The last score (0..100; 0 before the first decodable frame) and whether motion is on (the
 * detector's active state, without the post-roll). Any thread. */
void mjd_motion_gate_get(struct mjd_motion_gate *g, double *score, bool *active);

#endif

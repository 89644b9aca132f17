// SPDX-License-Identifier: MIT
/* Motion detection on JPEG frames: 1/8-scale luma against a running background. */
#ifndef MJD_MOTION_H
#define MJD_MOTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * Each frame is decoded at 1/8 scale by libjpeg-turbo's DCT scaling, luma only (TJPF_GRAY), so
 * every pixel of the small picture is the mean of one 8x8 block of the frame and no chroma or
 * full inverse DCT is computed. A block is "changed" when it differs from the background by more
 * than MJD_MOTION_BLOCK_DIFF luma steps; the score is the percentage of changed blocks. The
 * background is an exponential moving average of the small pictures with time constant
 * MJD_MOTION_BG_TAU_MS (by the frames' monotonic times, so it does not depend on the frame
 * rate): a scene that changes and then holds still becomes the background again and the score
 * falls back to ~0. The first frame, a frame of another size and a frame after a gap of more
 * than MJD_MOTION_GAP_MS start a new background (score 0).
 *
 * Not thread-safe: one owner thread per detector (the thread that feeds the source's frames).
 */
struct mjd_motion;

/** Default --motion-threshold: percent of changed blocks (docs/RECORDING.md). */
#define MJD_MOTION_DEFAULT_THRESHOLD 1.0
/** A block changed when |luma - background| exceeds this (of 255). */
#define MJD_MOTION_BLOCK_DIFF 24
/** Time constant of the background's moving average. */
#define MJD_MOTION_BG_TAU_MS 500
/** Active stays on this long after the last frame that scored at or above the threshold. */
#define MJD_MOTION_HOLD_MS 1500
/** A pause between frames longer than this restarts the background. */
#define MJD_MOTION_GAP_MS 5000
/** Frames wider or taller than this are refused (-E2BIG) before anything is allocated. */
#define MJD_MOTION_MAX_DIM 8192
/** The pixel limit of progressive and multi-scan frames, which libjpeg decodes by buffering
 * every coefficient (2 bytes per pixel per component): 5 MP, at most 40 MB with 4 components. */
#define MJD_MOTION_MAX_BUFFERED_PIXELS ((size_t)2592 * 1944)

/**
 * Makes a detector. threshold: percent of changed blocks (0 < threshold <= 100) at or above
 * which a frame counts as motion; -EINVAL otherwise, -ENOMEM. *out is NULL on failure.
 */
int mjd_motion_create(struct mjd_motion **out, double threshold) CORE_MUST_CHECK;

/** Frees m. Accepts NULL. Owner thread. */
void mjd_motion_destroy(struct mjd_motion *m);

/**
 * Decodes jpeg (borrowed, len bytes) at 1/8 scale, compares it to the running background and
 * updates the background and the active state; mono_ns is the frame's CLOCK_MONOTONIC time.
 * Returns the score (0..100, the percentage of changed blocks; 0 for a frame that starts a new
 * background) or a negative errno if the frame is not decodable (-EBADMSG), too large (-E2BIG)
 * or memory ran out (-ENOMEM); such a frame leaves the detector as it was. Owner thread.
 */
double mjd_motion_feed(struct mjd_motion *m, const uint8_t *jpeg, size_t len, int64_t mono_ns);

/**
 * True while motion is on: the last decodable frame scored at or above the threshold, or one did
 * less than MJD_MOTION_HOLD_MS before it. Owner thread.
 */
bool mjd_motion_active(const struct mjd_motion *m);

#endif

// SPDX-License-Identifier: MIT
/* Test helpers of the v4l2 source's unit tests: a fake camera (fake_v4l2.c) and the real
 * source reading it, plus test pictures. */
#ifndef MJD_TEST_V4L2_RIG_H
#define MJD_TEST_V4L2_RIG_H

#include <stddef.h>
#include <stdint.h>

#include "mjpegd/sources/source.h"
#include "mjpegd/sources/v4l2_ops.h"

#include "fake_v4l2.h"

/* A camera and the source reading it; released by rig_done(). */
struct rig {
    struct fake_v4l2 dev;
    struct mjd_v4l2_ops ops;
    struct mjd_source *src;
    struct mjd_raw_frame frame;
};

/** A single-planar camera (fake_v4l2_init), no source yet. */
void rig_init(struct rig *r);
/** A camera with only the multi-planar API (fake_v4l2_init_mplane), no source yet. */
void rig_init_mplane(struct rig *r);
/** mjd_v4l2_create on the camera; on success a frame buffer of max_frame_bytes. */
int rig_open(struct rig *r, const struct mjd_source_params *p);
/** One read with a 100 ms deadline (the fake never sleeps). */
int rig_read(struct rig *r);
struct mjd_v4l2_stats rig_stats(const struct rig *r);
/** Destroys the source, frees the frame and the camera's buffers. */
void rig_done(struct rig *r);
/** w x h in format at 30 fps, nothing else set. */
struct mjd_source_params rig_params(unsigned w, unsigned h, unsigned format);
/** A libjpeg-turbo JPEG of w x h with gradients and noise (with DHT); free with tjFree. */
unsigned char *rig_make_jpeg(unsigned w, unsigned h, unsigned long *len);
/** bytes of a deterministic pattern (seed picks which); free with free(). */
unsigned char *rig_make_raw(size_t bytes, unsigned seed);
/** What pixconv makes of the single-plane raw frame (YUYV, NV12, else RGB24) at the camera's
 *  line stride: the YUV420P a read must give; free with free(), NULL if out of memory. */
unsigned char *rig_expected_yuv420p(const struct rig *r, uint32_t fourcc, const unsigned char *raw,
                                    unsigned w, unsigned h);

#endif

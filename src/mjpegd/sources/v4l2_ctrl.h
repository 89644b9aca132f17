// SPDX-License-Identifier: MIT
/* --control NAME=VALUE and --flip for the v4l2 source: controls found by name and set. */
#ifndef MJD_V4L2_CTRL_H
#define MJD_V4L2_CTRL_H

#include <stddef.h>

#include "mjpegd/sources/v4l2_ops.h"

/**
 * The control name as --control spells it: lowercased, every run of other characters than
 * letters and digits made one '_', none at the ends ("Exposure (Absolute)" ->
 * "exposure_absolute"). Writes at most cap bytes, NUL included. Pure.
 */
void mjd_v4l2_ctrl_key(const char *name, char *out, size_t cap);

/**
 * Sets on the open device fd each "name=value" of list (items joined by ','; NULL or "" for
 * none) and the flips asked (MJD_FLIP_* bits; 0 leaves them). A name is looked up among the
 * device's controls (VIDIOC_QUERYCTRL enumeration, by mjd_v4l2_ctrl_key of their names);
 * an unknown name, a value the driver refuses or a camera that cannot flip is logged as a
 * warning (with the names the camera has) and skipped: the camera still streams. Returns the
 * number of values the driver accepted; *flipped gets the MJD_FLIP_* bits the camera now
 * flips itself (the rest of flip is left to the software flip). The caller's thread (the
 * source's owner).
 */
unsigned mjd_v4l2_ctrl_apply(const struct mjd_v4l2_ops *ops, int fd, const char *path,
                             const char *list, unsigned flip, unsigned *flipped);

#endif

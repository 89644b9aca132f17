// SPDX-License-Identifier: MIT
/* The "no signal" picture viewers get while a source is down. */
#ifndef MJD_NOSIGNAL_H
#define MJD_NOSIGNAL_H

#include "core/buf.h"
#include "core/compiler.h"

/**
 * Draws a dark grey width x height picture with NO SIGNAL in the middle and encodes it as a
 * baseline JPEG (its own TurboJPEG handle) into a new core_buf (*out, one reference). A size
 * below 16 or above 8192 is clamped. Returns 0 or a negative errno (*out NULL). Any thread; the
 * capture thread calls it once per outage.
 */
int mjd_nosignal_render(struct core_buf **out, unsigned width, unsigned height) CORE_MUST_CHECK;

#endif

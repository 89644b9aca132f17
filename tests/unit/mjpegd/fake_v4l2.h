// SPDX-License-Identifier: MIT
/*
 * A fake UVC-like V4L2 device over memory buffers, behind struct mjd_v4l2_ops (unit tests).
 * With mplane set it is a device that only has the multi-planar API (as SoC camera pipelines
 * and HDMI bridges): every format and buffer ioctl wants V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
 * (the single-planar type is refused with EINVAL, as such a driver does), buffers are
 * described by struct v4l2_plane arrays, and NV12M comes in two planes.
 */
#ifndef FAKE_V4L2_H
#define FAKE_V4L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/sources/v4l2_ops.h"

#define FAKE_V4L2_FD       100
#define FAKE_V4L2_MAX_BUFS 32
#define FAKE_V4L2_PLANES   2 /* planes of a buffer at most (NV12M) */

/* One frame the device delivers, in order; each DQBUF takes the next one. */
struct fake_v4l2_frame {
    const unsigned char *data; /* borrowed; copied into the buffer (at most its length) */
    size_t len;
    long bytesused; /* what DQBUF reports; -1: len */
    uint32_t flags; /* added to the buffer's flags (V4L2_BUF_FLAG_ERROR) */
    int dq_errno;   /* nonzero: DQBUF fails with this errno instead (ENODEV: unplugged) */
    int64_t age_ns; /* > 0: stamped CLOCK_MONOTONIC now - age_ns (as uvcvideo stamps) */
    bool raw_stamp; /* stamped stamp_sec, stamp_usec as they are (a driver's nonsense) */
    int64_t stamp_sec, stamp_usec;
    /* mplane: the second plane (NV12M's U V), as data, len and bytesused above are the first */
    const unsigned char *data1;
    size_t len1;
    long bytesused1; /* what DQBUF reports for it; -1: data_offset + len1 */
};

struct fake_v4l2_ctrl {
    uint32_t id;
    const char *name;
    int32_t min, max;
    int32_t value;
    int sets; /* S_CTRL calls */
};

/* Owned by one test; ops built by fake_v4l2_ops point at it. */
struct fake_v4l2 {
    /* What the device is, set by the test after fake_v4l2_init. */
    uint32_t caps;       /* device_caps: V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING by default */
    bool mplane;         /* the multi-planar API only (fake_v4l2_init_mplane) */
    bool no_device_caps; /* QUERYCAP: caps in capabilities, no V4L2_CAP_DEVICE_CAPS (old) */
    unsigned report_planes; /* mplane: S_FMT reports this num_planes (0: the format's) */
    unsigned data_offset;   /* mplane: each plane's data starts this far in (planes that longer);
                               DQBUF's default bytesused counts it, as the kernel's does */
    uint32_t formats[8];
    unsigned nformats; /* MJPEG and YUYV by default */
    unsigned max_w;    /* S_FMT grants at most max_w x max_h (1920x1080) */
    unsigned max_h;
    unsigned pad_stride; /* bytes added to a raw format's bytesperline */
    bool refuse_parm;    /* S_PARM fails with ENOTTY */
    unsigned grant_fps;  /* S_PARM grants this rate; 0: the asked one */
    bool poll_err;       /* poll reports POLLERR (a device gone wrong) and DQBUF has nothing */
    unsigned grant_bufs; /* REQBUFS grants this many buffers; 0: as many as asked */
    size_t buf_len;      /* each buffer's length; 0: sizeimage */
    struct fake_v4l2_ctrl ctrls[16];
    unsigned nctrls;
    struct fake_v4l2_frame frames[16];
    unsigned nframes;
    bool loop; /* after the last frame, start again at the first (a camera that never ends) */
    /* What happened. */
    unsigned next; /* the frame the next DQBUF delivers */
    bool streaming;
    uint32_t fmt;                  /* granted */
    unsigned w, h, bpl, sizeimage; /* the first plane's bytesperline and sizeimage */
    unsigned nplanes;              /* 1, or 2 for NV12M */
    unsigned bpl1, sizeimage1;     /* the second plane's */
    unsigned fps_den;              /* timeperframe asked by S_PARM: 1/fps_den */
    unsigned nbufs;
    unsigned char *mem[FAKE_V4L2_MAX_BUFS][FAKE_V4L2_PLANES]; /* [buffer][plane] */
    size_t len[FAKE_V4L2_MAX_BUFS][FAKE_V4L2_PLANES];
    bool queued[FAKE_V4L2_MAX_BUFS];
    int opens, closes, maps, unmaps, streamons, streamoffs;
};

/** A capture device with MJPEG and YUYV up to 1920x1080, no frames, no controls. */
void fake_v4l2_init(struct fake_v4l2 *f);
/** A multi-planar-only capture device (caps V4L2_CAP_VIDEO_CAPTURE_MPLANE | STREAMING) with
 * MJPEG and YUYV up to 1920x1080. */
void fake_v4l2_init_mplane(struct fake_v4l2 *f);
/** Frees the buffers the device still holds. */
void fake_v4l2_release(struct fake_v4l2 *f);
/** The call table that drives f. */
struct mjd_v4l2_ops fake_v4l2_ops(struct fake_v4l2 *f);
/** Appends a frame to deliver. */
void fake_v4l2_push(struct fake_v4l2 *f, const unsigned char *data, size_t len, long bytesused,
                    uint32_t flags, int dq_errno);

#endif

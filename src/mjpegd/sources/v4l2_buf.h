// SPDX-License-Identifier: MIT
/*
 * The format and buffer layer of the v4l2 source, over either V4L2 capture API: the
 * single-planar one (V4L2_BUF_TYPE_VIDEO_CAPTURE: struct v4l2_pix_format, one mmap'd buffer
 * each) or the multi-planar one (V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE: struct
 * v4l2_pix_format_mplane, a struct v4l2_plane per plane of a buffer, one mapping per plane).
 * ENUM_FMT, S_FMT, REQBUFS, QUERYBUF + mmap, QBUF/DQBUF, STREAMON/OFF; every call through the
 * source's struct mjd_v4l2_ops. Not thread-safe: a struct mjd_v4l2_bufs and its mappings
 * belong to the thread that owns its source.
 */
#ifndef MJD_V4L2_BUF_H
#define MJD_V4L2_BUF_H

#include <linux/videodev2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mjpegd/sources/v4l2_ops.h"

#define MJD_V4L2_MAX_BUFS   32
#define MJD_V4L2_MAX_PLANES 2 /* memory planes of a format the source reads: NV12M has two */

/* A pixel format the source reads (a static table; never freed). */
struct mjd_v4l2_fmt {
    unsigned want; /* the enum mjd_capture_format it answers */
    uint32_t fourcc;
    const char *name;
    unsigned planes; /* memory planes: 1, or 2 (NV12M: multi-planar API only) */
};

struct mjd_v4l2_map {
    void *start; /* MAP_FAILED when not mapped */
    size_t length;
};

/* The device's format and buffers. Filled by the calls below; read by the source. */
struct mjd_v4l2_bufs {
    const struct mjd_v4l2_ops *ops; /* borrowed */
    int fd;                         /* borrowed: the source opens and closes it */
    const char *path;               /* borrowed, for the logs */
    bool mplane;                    /* the multi-planar API */
    /* Granted by mjd_v4l2_bufs_set_format. */
    const struct mjd_v4l2_fmt *fmt;
    unsigned width, height;
    size_t stride[MJD_V4L2_MAX_PLANES]; /* bytes per line of each plane of a raw format */
    size_t need[MJD_V4L2_MAX_PLANES];   /* bytes each plane of a raw frame needs */
    /* Set by mjd_v4l2_bufs_map; [buffer][plane]. */
    struct mjd_v4l2_map maps[MJD_V4L2_MAX_BUFS][MJD_V4L2_MAX_PLANES];
    unsigned nbufs;
    bool reqbufs; /* buffers were requested: release gives them back (REQBUFS 0) */
    bool streaming;
};

/* One dequeued buffer and where its planes' data is. */
struct mjd_v4l2_dq {
    struct v4l2_buffer b; /* as DQBUF filled it; multi-planar: b.m.planes is planes */
    struct v4l2_plane planes[MJD_V4L2_MAX_PLANES];
    const unsigned char *data[MJD_V4L2_MAX_PLANES]; /* each plane's data, past data_offset */
    size_t used[MJD_V4L2_MAX_PLANES];               /* its bytes: bytesused - data_offset */
};

/** Ready for the open device fd (ops, fd and path borrowed), nothing mapped yet. */
void mjd_v4l2_bufs_init(struct mjd_v4l2_bufs *q, const struct mjd_v4l2_ops *ops, int fd,
                        const char *path, bool mplane);

/** The buffer type of q's API: V4L2_BUF_TYPE_VIDEO_CAPTURE or ..._CAPTURE_MPLANE. */
uint32_t mjd_v4l2_bufs_type(const struct mjd_v4l2_bufs *q);

/**
 * The format to ask for: the one want (an enum mjd_capture_format) names, or auto's first
 * choice among what VIDIOC_ENUM_FMT lists (logged). 0, or -EINVAL (logged with the list).
 */
int mjd_v4l2_bufs_choose_format(struct mjd_v4l2_bufs *q, unsigned want,
                                const struct mjd_v4l2_fmt **out) CORE_MUST_CHECK;

/**
 * VIDIOC_S_FMT of w x h in want; what the driver grants (format, size, planes, each plane's
 * bytesperline) is checked and kept in q. 0 or a negative errno (logged).
 */
int mjd_v4l2_bufs_set_format(struct mjd_v4l2_bufs *q, unsigned w, unsigned h,
                             const struct mjd_v4l2_fmt *want) CORE_MUST_CHECK;

/** VIDIOC_REQBUFS of mmap buffers, QUERYBUF + mmap of each plane, QBUF. 0 or -errno. */
int mjd_v4l2_bufs_map(struct mjd_v4l2_bufs *q) CORE_MUST_CHECK;

/** The longest first-plane mapping (what an MJPEG frame can be at most). */
size_t mjd_v4l2_bufs_biggest(const struct mjd_v4l2_bufs *q);

/** VIDIOC_STREAMON. 0 or -errno (logged). */
int mjd_v4l2_bufs_start(struct mjd_v4l2_bufs *q) CORE_MUST_CHECK;

/** VIDIOC_STREAMOFF if streaming, munmap of every mapping, REQBUFS 0 if requested. */
void mjd_v4l2_bufs_release(struct mjd_v4l2_bufs *q);

/** VIDIOC_DQBUF into dq: 0, or -1 with errno set (EAGAIN: no buffer ready). */
int mjd_v4l2_bufs_dequeue(struct mjd_v4l2_bufs *q, struct mjd_v4l2_dq *dq);

/**
 * dq's planes (its index < q->nbufs) into dq->data and dq->used: true, or false when the
 * buffer holds nothing usable (flagged V4L2_BUF_FLAG_ERROR, a plane's bytesused 0 or past the
 * plane's length, its data_offset not below its bytesused).
 */
bool mjd_v4l2_bufs_payload(const struct mjd_v4l2_bufs *q, struct mjd_v4l2_dq *dq);

/** VIDIOC_QBUF of the buffer dq holds: 0, or -1 with errno set. */
int mjd_v4l2_bufs_requeue(struct mjd_v4l2_bufs *q, struct mjd_v4l2_dq *dq);

#endif

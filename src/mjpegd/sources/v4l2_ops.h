// SPDX-License-Identifier: MIT
/* The kernel calls of the v4l2 source, as a table: libc by default, a fake device in tests. */
#ifndef MJD_V4L2_OPS_H
#define MJD_V4L2_OPS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/compiler.h"
#include "mjpegd/sources/source.h"

/*
 * Each call behaves like its libc namesake (returns -1 or MAP_FAILED and sets errno) and gets
 * ctx first. The table and ctx are borrowed by the source for its lifetime and used only by the
 * thread that owns the source.
 */
struct mjd_v4l2_ops {
    void *ctx;
    int (*open)(void *ctx, const char *path, int flags);
    int (*close)(void *ctx, int fd);
    int (*ioctl)(void *ctx, int fd, unsigned long request, void *arg);
    void *(*mmap)(void *ctx, size_t len, int prot, int flags, int fd, off_t offset);
    int (*munmap)(void *ctx, void *addr, size_t len);
    int (*poll)(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms);
};

/** The real kernel calls (what --source v4l2:PATH uses). */
extern const struct mjd_v4l2_ops mjd_v4l2_sys_ops;

/** ops->ioctl, repeated while it fails with EINTR. Returns 0 or -1 with errno set. */
int mjd_v4l2_xioctl(const struct mjd_v4l2_ops *ops, int fd, unsigned long request, void *arg);

/** What the source counted since create (for tests and logs). */
struct mjd_v4l2_stats {
    uint64_t frames;       /* frames handed to the capture thread */
    uint64_t incomplete;   /* MJPEG buffers that were not one complete JPEG: dropped */
    uint64_t short_frames; /* buffers with bytesused 0, past their length or below a raw frame's
                              size, or flagged V4L2_BUF_FLAG_ERROR: dropped */
    uint64_t dht_inserted; /* MJPEG frames that got the standard Huffman tables */
    uint64_t controls_set; /* --control and --flip values the driver accepted */
};

/**
 * Opens the camera at path (borrowed) through ops, as mjd_source_create("v4l2:PATH") does with
 * mjd_v4l2_sys_ops. Returns 0 or a negative errno; *out is NULL on failure.
 */
int mjd_v4l2_create(struct mjd_source **out, const char *path, const struct mjd_source_params *p,
                    const struct mjd_v4l2_ops *ops) CORE_MUST_CHECK;

/** The counters of a source made by mjd_v4l2_create (or a "v4l2:" mjd_source_create). */
void mjd_v4l2_get_stats(const struct mjd_source *src, struct mjd_v4l2_stats *out);

#endif

// SPDX-License-Identifier: MIT
/* Splits a byte stream of concatenated JPEGs (an MJPEG pipe) into whole frames, SOI..EOI. */
#ifndef MJD_JPEG_SPLIT_H
#define MJD_JPEG_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* Walks the marker segments by their lengths, so FF D9 inside a segment is not misread as EOI,
 * and scans the entropy-coded data for the markers that may follow it (RSTn, another scan, EOI).
 * Bytes between frames are skipped (counted as garbage). A frame longer than the cap is dropped
 * (counted) and the splitter resyncs at the next SOI; an SOI inside a frame drops the unfinished
 * frame (counted as truncated) and starts a new one. Not thread-safe: one owner. */
struct mjd_jpeg_split {
    unsigned char *buf; /* the frame being assembled, max bytes; private */
    size_t max;         /* immutable */
    size_t len;         /* bytes in buf */
    int state_;         /* private */
    size_t skip_;       /* private: segment bytes still to copy without looking */
    unsigned seglen_;   /* private: the segment length being read */
    bool sos_;          /* private: the segment being read is SOS (entropy data follows) */
    bool ready_;        /* private: buf holds a complete frame */
    uint64_t frames;    /* complete frames returned */
    uint64_t oversized; /* frames dropped for exceeding max */
    uint64_t truncated; /* frames cut short by a new SOI, or malformed */
    uint64_t garbage;   /* bytes skipped outside frames */
};

/** Prepares s for frames of at most max bytes (>= 4). Returns 0 or -ENOMEM / -EINVAL. */
int mjd_jpeg_split_init(struct mjd_jpeg_split *s, size_t max) CORE_MUST_CHECK;
/** Frees the buffer. Accepts a zeroed or released struct. */
void mjd_jpeg_split_release(struct mjd_jpeg_split *s);

/**
 * Consumes bytes of data (borrowed) until the end or until a frame completes, and returns how
 * many it consumed. When a frame completes, *frame points at it (s->len bytes, valid until the
 * next call) and the bytes after it are left for the next call; otherwise *frame is NULL.
 */
size_t mjd_jpeg_split_feed(struct mjd_jpeg_split *s, const unsigned char *data, size_t n,
                           const unsigned char **frame);

/**
 * Reads the image size from the first SOF segment of a complete JPEG (borrowed).
 * Returns 0, or -EINVAL when jpeg does not start with SOI or has no valid SOF before SOS.
 */
int mjd_jpeg_size(const unsigned char *jpeg, size_t len, unsigned *width, unsigned *height);

#endif

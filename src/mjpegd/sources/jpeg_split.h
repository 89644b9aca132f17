// SPDX-License-Identifier: MIT
/* Splits a byte stream of concatenated JPEGs (an MJPEG pipe) into whole images on markers. */
#ifndef MJD_JPEG_SPLIT_H
#define MJD_JPEG_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * An incremental splitter: feed it bytes in any chunks; it walks SOI, the length-prefixed
 * segments, and the entropy-coded data after SOS (skipping FF00 stuffing and RSTn markers)
 * until EOI. Bytes outside a frame are garbage and skipped. A frame longer than the cap is
 * dropped and counted, and the splitter resyncs at the next SOI. A second SOI before EOI drops
 * the unfinished frame (counted as truncated) and starts a new one.
 * Owned by one thread (a pipe source's capture thread, or a test).
 */
struct mjd_jpeg_split {
    unsigned char *buf; /* the frame being assembled, cap bytes */
    size_t cap;
    size_t len;
    int state;          /* private */
    unsigned marker;    /* private: the marker whose segment is being read */
    size_t remaining;   /* private: segment bytes still to skip */
    uint64_t frames;    /* complete frames returned */
    uint64_t oversized; /* frames dropped for exceeding cap */
    uint64_t truncated; /* frames dropped: a new SOI, or a corrupt marker, before EOI */
    uint64_t garbage;   /* bytes skipped outside frames */
};

/** Allocates the frame buffer (cap >= 4). Returns 0 or -ENOMEM / -EINVAL. */
int mjd_jpeg_split_init(struct mjd_jpeg_split *sp, size_t cap) CORE_MUST_CHECK;
/** Frees the buffer. Accepts a zeroed or already freed splitter. */
void mjd_jpeg_split_free(struct mjd_jpeg_split *sp);
/** Forgets any partial frame (the counters stay). */
void mjd_jpeg_split_reset(struct mjd_jpeg_split *sp);

/**
 * Consumes bytes from data[0..n) until a frame completes or the input is used up; returns how
 * many bytes were consumed. When a frame completed, *done is true and the frame is
 * sp->buf[0..sp->len), valid until the next feed.
 */
size_t mjd_jpeg_split_feed(struct mjd_jpeg_split *sp, const unsigned char *data, size_t n,
                           bool *done);

/**
 * Finds the frame size in a JPEG's SOFn segment (walking the markers from SOI). Returns 0, or
 * -EINVAL when data does not start with SOI or has no well-formed SOF before SOS.
 */
int mjd_jpeg_size(const unsigned char *data, size_t n, unsigned *width,
                  unsigned *height) CORE_MUST_CHECK;

#endif

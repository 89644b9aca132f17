// SPDX-License-Identifier: MIT
/* JPEG frame checks for passthrough sources: completeness and missing Huffman tables. */
#ifndef MJD_JPEG_H
#define MJD_JPEG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

/** What mjd_jpeg_check() learned about a frame. */
struct mjd_jpeg_info {
    size_t len;     /* bytes up to and including EOI (trailing zero padding excluded) */
    size_t sos_off; /* offset of the first SOS marker (FF DA) */
    bool has_dht;   /* a DHT segment comes before the first SOS */
};

/** Bytes the standard DHT segment adds (mjd_jpeg_insert_dht grows a frame by this). */
#define MJD_JPEG_STD_DHT_BYTES 420u

/**
 * Checks that buf holds one complete JPEG: SOI first, a sane segment walk (lengths inside the
 * buffer, a frame header before the first scan), EOI at the end followed by nothing but zero
 * padding. Fills *info when it returns 0; returns -EBADMSG otherwise. Pure, any thread.
 */
int mjd_jpeg_check(const unsigned char *buf, size_t len,
                   struct mjd_jpeg_info *info) CORE_MUST_CHECK;

/**
 * Writes to out the checked frame in (info from mjd_jpeg_check) with the standard Huffman tables
 * (ITU-T T.81 Annex K.3) inserted before the first SOS, dropping trailing padding. Needs
 * cap >= info->len + MJD_JPEG_STD_DHT_BYTES; returns the bytes written or -ENOSPC. in and out must
 * not overlap. Pure, any thread.
 */
long mjd_jpeg_insert_dht(const unsigned char *in, const struct mjd_jpeg_info *info,
                         unsigned char *out, size_t cap) CORE_MUST_CHECK;

#endif

// SPDX-License-Identifier: MIT
/* --flip in software: raw planes before encoding, JPEG frames by a lossless transform. */
#ifndef MJD_SOFTFLIP_H
#define MJD_SOFTFLIP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

/*
 * The flip bits are MJD_FLIP_H and MJD_FLIP_V (sources/source.h); both is a 180-degree turn.
 * Who runs this: the encoder pool (encoder.c), on the frame a task holds, never a network
 * loop. The plane functions are pure; a JPEG flipper belongs to the one thread that made it.
 */

/**
 * Mirrors in place the w x h bytes of one plane whose lines are stride bytes apart
 * (stride >= w); the bytes past w on each line are not touched. Pure, any thread.
 */
void mjd_flip_plane(unsigned char *p, size_t stride, unsigned w, unsigned h, unsigned flip);

/**
 * Mirrors in place a YUV420P frame of w x h as pixconv.h lays it out (luma, then U and V of
 * ((w+1)/2) x ((h+1)/2)). Each plane is mirrored as a whole, so with an odd width (height) the
 * chroma of the lone last column (row) lands on the first one and chroma is then off by half
 * a chroma sample from where it was; even sizes (every camera mode) are exact. Pure.
 */
void mjd_flip_yuv420p(unsigned char *data, unsigned w, unsigned h, unsigned flip);

/**
 * True when a lossless transform of a JPEG of w x h with TurboJPEG subsampling subsamp
 * (enum TJSAMP) is perfect for flip: no partial MCU on the edge the flip moves (the right
 * edge for h, the bottom edge for v, either for both). Pure.
 */
bool mjd_flip_jpeg_perfect(unsigned w, unsigned h, int subsamp, unsigned flip);

/* How mjd_flip_jpeg made its output. */
enum mjd_flip_how {
    MJD_FLIP_LOSSLESS = 1,  /* tjTransform of the DCT coefficients: bit-exact picture */
    MJD_FLIP_REENCODED = 2, /* decoded to YUV planes, mirrored, encoded again at quality */
};

/* The largest picture mjd_flip_jpeg takes (w * h), so that a relay cannot make it allocate
 * without bound: 16 Mpixel (4096 x 4096; 4K UHD fits). */
#define MJD_FLIP_MAX_PIXELS ((size_t)4096 * 4096)

/*
 * One thread's JPEG flipper: a TurboJPEG transformer handle (which decodes and encodes too)
 * and the buffers it writes into. Owned by the thread that created it (an encoder pool
 * thread: its thread-local state, made on the first JPEG it flips); never shared.
 */
struct mjd_jpeg_flipper;

/** Makes a flipper. 0 or -ENOMEM; *out is NULL on failure. The owning thread. */
int mjd_jpeg_flipper_create(struct mjd_jpeg_flipper **out) CORE_MUST_CHECK;

/** Frees it. Accepts NULL. The owning thread. */
void mjd_jpeg_flipper_destroy(struct mjd_jpeg_flipper *fl);

/**
 * Flips the JPEG at jpeg (len bytes, borrowed) by flip (nonzero): losslessly when that is
 * perfect (mjd_flip_jpeg_perfect), otherwise decoded, mirrored in its own planes and encoded
 * again at quality (1..100) with the same subsampling. Never crops: the output always has
 * the input's size. On success *out points into fl's buffer (valid until the next call on
 * fl), *out_len is its length and *how says which way it went. Returns 0, -EINVAL for input
 * that is not a JPEG TurboJPEG can decode (or has an unknown subsampling, CMYK...), -E2BIG
 * past MJD_FLIP_MAX_PIXELS, -ENOMEM. A warning of the decoder (corrupt data it got past) is
 * no error. The owning thread.
 */
int mjd_flip_jpeg(struct mjd_jpeg_flipper *fl, const unsigned char *jpeg, size_t len, unsigned flip,
                  int quality, const unsigned char **out, size_t *out_len,
                  enum mjd_flip_how *how) CORE_MUST_CHECK;

/** As mjd_flip_jpeg, but always the re-encoding way (the bench compares the two). */
int mjd_flip_jpeg_reencode(struct mjd_jpeg_flipper *fl, const unsigned char *jpeg, size_t len,
                           unsigned flip, int quality, const unsigned char **out,
                           size_t *out_len) CORE_MUST_CHECK;

/** The message of fl's last TurboJPEG failure (for a log line). The owning thread. */
const char *mjd_jpeg_flipper_error(struct mjd_jpeg_flipper *fl);

#endif

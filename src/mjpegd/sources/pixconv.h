// SPDX-License-Identifier: MIT
/* Raw camera formats to YUV420P for the encoder pool. Pure functions, any thread. */
#ifndef MJD_PIXCONV_H
#define MJD_PIXCONV_H

#include <stddef.h>

/*
 * Every converter writes dst as YUV420P: w*h luma bytes, then U and V planes of
 * ((w+1)/2)*((h+1)/2) bytes each; chroma is the average of each 2x2 block (a lone last row or
 * column averages what exists). stride is the source's bytes per line (V4L2 bytesperline).
 * Values are copied as the camera gives them (no range expansion); RGB24 uses the JFIF
 * (full-range BT.601) matrix.
 */
/** Packed Y0 U Y1 V, two pixels per 4 bytes (stride >= 4 * ((w + 1) / 2)). */
void mjd_pixconv_yuyv(const unsigned char *src, size_t stride, unsigned w, unsigned h,
                      unsigned char *dst);
/** Y plane (stride bytes a line), then interleaved U V at half height (same stride;
 * stride >= 2 * ((w + 1) / 2): an odd width's chroma lines end with a whole U V pair). */
void mjd_pixconv_nv12(const unsigned char *src, size_t stride, unsigned w, unsigned h,
                      unsigned char *dst);
/** NV12 with its planes apart (V4L2_PIX_FMT_NV12M): the Y plane at y (ystride bytes a line,
 * >= w), the interleaved U V plane at uv ((h + 1) / 2 lines of uvstride bytes,
 * >= 2 * ((w + 1) / 2)). mjd_pixconv_nv12 is this with uv right after h lines of y. */
void mjd_pixconv_nv12m(const unsigned char *y, size_t ystride, const unsigned char *uv,
                       size_t uvstride, unsigned w, unsigned h, unsigned char *dst);
/** Packed R G B. */
void mjd_pixconv_rgb24(const unsigned char *src, size_t stride, unsigned w, unsigned h,
                       unsigned char *dst);
/** Bytes of a YUV420P frame of w x h. */
size_t mjd_pixconv_yuv420p_size(unsigned w, unsigned h);

#endif

// SPDX-License-Identifier: MIT
/* Raw formats to YUV420P (see pixconv.h): simple loops over whole rows that gcc vectorises. */
#include "mjpegd/sources/pixconv.h"

#include <string.h>

size_t mjd_pixconv_yuv420p_size(unsigned w, unsigned h)
{
    size_t cw = (w + 1u) / 2u;
    size_t ch = (h + 1u) / 2u;
    return (size_t)w * h + 2u * cw * ch;
}

void mjd_pixconv_yuyv(const unsigned char *src, size_t stride, unsigned w, unsigned h,
                      unsigned char *dst)
{
    size_t cw = (w + 1u) / 2u;
    unsigned char *y = dst;
    unsigned char *u = dst + (size_t)w * h;
    unsigned char *v = u + cw * ((h + 1u) / 2u);
    for (unsigned row = 0; row < h; row++) {
        const unsigned char *s = src + (size_t)row * stride;
        unsigned char *yr = y + (size_t)row * w;
        for (size_t x = 0; x < w; x++) {
            yr[x] = s[2 * x];
        }
    }
    for (unsigned row = 0; row < h; row += 2) {
        const unsigned char *s0 = src + (size_t)row * stride;
        const unsigned char *s1 = row + 1 < h ? s0 + stride : s0;
        unsigned char *ur = u + (size_t)(row / 2) * cw;
        unsigned char *vr = v + (size_t)(row / 2) * cw;
        for (size_t x = 0; x < cw; x++) {
            ur[x] = (unsigned char)((s0[4 * x + 1] + s1[4 * x + 1] + 1) >> 1);
            vr[x] = (unsigned char)((s0[4 * x + 3] + s1[4 * x + 3] + 1) >> 1);
        }
    }
}

void mjd_pixconv_nv12(const unsigned char *src, size_t stride, unsigned w, unsigned h,
                      unsigned char *dst)
{
    size_t cw = (w + 1u) / 2u;
    size_t ch = (h + 1u) / 2u;
    unsigned char *u = dst + (size_t)w * h;
    unsigned char *v = u + cw * ch;
    for (unsigned row = 0; row < h; row++) {
        memcpy(dst + (size_t)row * w, src + (size_t)row * stride, w);
    }
    const unsigned char *uv = src + (size_t)h * stride;
    for (size_t row = 0; row < ch; row++) {
        const unsigned char *s = uv + row * stride;
        for (size_t x = 0; x < cw; x++) {
            u[row * cw + x] = s[2 * x];
            v[row * cw + x] = s[2 * x + 1];
        }
    }
}

/* JFIF matrix in 16.16 fixed point. */
static unsigned char luma(int r, int g, int b)
{
    return (unsigned char)((19595 * r + 38470 * g + 7471 * b + 32768) >> 16);
}

void mjd_pixconv_rgb24(const unsigned char *src, size_t stride, unsigned w, unsigned h,
                       unsigned char *dst)
{
    size_t cw = (w + 1u) / 2u;
    unsigned char *u = dst + (size_t)w * h;
    unsigned char *v = u + cw * ((h + 1u) / 2u);
    for (unsigned row = 0; row < h; row++) {
        const unsigned char *s = src + (size_t)row * stride;
        unsigned char *yr = dst + (size_t)row * w;
        for (size_t x = 0; x < w; x++) {
            yr[x] = luma(s[3 * x], s[3 * x + 1], s[3 * x + 2]);
        }
    }
    for (unsigned row = 0; row < h; row += 2) {
        const unsigned char *s0 = src + (size_t)row * stride;
        const unsigned char *s1 = row + 1 < h ? s0 + stride : s0;
        for (size_t x = 0; x < cw; x++) {
            size_t x0 = 2 * x;
            size_t x1 = x0 + 1 < w ? x0 + 1 : x0;
            int r = s0[3 * x0] + s0[3 * x1] + s1[3 * x0] + s1[3 * x1];
            int g = s0[3 * x0 + 1] + s0[3 * x1 + 1] + s1[3 * x0 + 1] + s1[3 * x1 + 1];
            int b = s0[3 * x0 + 2] + s0[3 * x1 + 2] + s1[3 * x0 + 2] + s1[3 * x1 + 2];
            /* sums of 4 pixels: divide by 4 inside the shift (>> 18) */
            int cb = (-11059 * r - 21709 * g + 32768 * b + (128 << 18) + (1 << 17)) >> 18;
            int cr = (32768 * r - 27439 * g - 5329 * b + (128 << 18) + (1 << 17)) >> 18;
            size_t o = (size_t)(row / 2) * cw + x;
            u[o] = (unsigned char)(cb < 0 ? 0 : cb > 255 ? 255 : cb);
            v[o] = (unsigned char)(cr < 0 ? 0 : cr > 255 ? 255 : cr);
        }
    }
}

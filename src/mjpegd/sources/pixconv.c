// SPDX-License-Identifier: MIT
/* Raw formats to YUV420P (see pixconv.h): simple loops over whole rows; YUYV (the common raw
 * camera format) in one pass with SSE2 where the CPU has it, the scalar loop elsewhere. */
#include "mjpegd/sources/pixconv.h"

#include <stdbool.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

size_t mjd_pixconv_yuv420p_size(unsigned w, unsigned h)
{
    size_t cw = (w + 1u) / 2u;
    size_t ch = (h + 1u) / 2u;
    return (size_t)w * h + 2u * cw * ch;
}

/*
 * One row pair of YUYV from x0 (pixels, even) to w: both luma rows and the averaged chroma, the
 * scalar way (the tail after the SIMD blocks, and the whole row on other CPUs). s1 == s0 for a
 * lone last row; y1 NULL then.
 */
static void yuyv_pair_scalar(const unsigned char *s0, const unsigned char *s1, unsigned x0,
                             unsigned w, unsigned char *y0, unsigned char *y1, unsigned char *u,
                             unsigned char *v)
{
    for (size_t x = x0; x < w; x++) {
        y0[x] = s0[2 * x];
    }
    if (y1 != NULL) {
        for (size_t x = x0; x < w; x++) {
            y1[x] = s1[2 * x];
        }
    }
    for (size_t x = x0 / 2; x < (w + 1u) / 2u; x++) {
        u[x] = (unsigned char)((s0[4 * x + 1] + s1[4 * x + 1] + 1) >> 1);
        v[x] = (unsigned char)((s0[4 * x + 3] + s1[4 * x + 3] + 1) >> 1);
    }
}

#ifdef __SSE2__
/*
 * 16 pixels (32 source bytes) per step of a row pair with SSE2 (every x86-64): luma is the even
 * bytes (mask + pack), chroma the odd bytes of the rounded average of both rows (pavgb is
 * (a + b + 1) >> 1, as the scalar code), split into U and V. Returns the pixels done.
 */
static unsigned yuyv_pair_sse2(const unsigned char *s0, const unsigned char *s1, unsigned w,
                               unsigned char *y0, unsigned char *y1, unsigned char *u,
                               unsigned char *v)
{
    const __m128i lo8 = _mm_set1_epi16(0x00ff);
    const __m128i lo16 = _mm_set1_epi32(0x0000ffff);
    size_t x = 0;
    for (; x + 16 <= w; x += 16) {
        __m128i a0 = _mm_loadu_si128((const __m128i *)(const void *)(s0 + 2 * x));
        __m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)(s0 + 2 * x + 16));
        __m128i a1 = _mm_loadu_si128((const __m128i *)(const void *)(s1 + 2 * x));
        __m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(s1 + 2 * x + 16));
        _mm_storeu_si128((__m128i *)(void *)(y0 + x),
                         _mm_packus_epi16(_mm_and_si128(a0, lo8), _mm_and_si128(b0, lo8)));
        if (y1 != NULL) {
            _mm_storeu_si128((__m128i *)(void *)(y1 + x),
                             _mm_packus_epi16(_mm_and_si128(a1, lo8), _mm_and_si128(b1, lo8)));
        }
        __m128i ca = _mm_srli_epi16(_mm_avg_epu8(a0, a1), 8); /* U V U V as 16-bit lanes */
        __m128i cb = _mm_srli_epi16(_mm_avg_epu8(b0, b1), 8);
        __m128i us = _mm_packs_epi32(_mm_and_si128(ca, lo16), _mm_and_si128(cb, lo16));
        __m128i vs = _mm_packs_epi32(_mm_srli_epi32(ca, 16), _mm_srli_epi32(cb, 16));
        __m128i uv = _mm_packus_epi16(us, vs); /* 8 U then 8 V */
        _mm_storel_epi64((__m128i *)(void *)(u + x / 2), uv);
        _mm_storel_epi64((__m128i *)(void *)(v + x / 2), _mm_srli_si128(uv, 8));
    }
    return (unsigned)x;
}
#endif

/* One pass over the source, a row pair at a time, writing the three planes directly. */
void mjd_pixconv_yuyv(const unsigned char *src, size_t stride, unsigned w, unsigned h,
                      unsigned char *dst)
{
    size_t cw = (w + 1u) / 2u;
    unsigned char *y = dst;
    unsigned char *u = dst + (size_t)w * h;
    unsigned char *v = u + cw * ((h + 1u) / 2u);
    for (unsigned row = 0; row < h; row += 2) {
        const unsigned char *s0 = src + (size_t)row * stride;
        bool pair = row + 1 < h;
        const unsigned char *s1 = pair ? s0 + stride : s0;
        unsigned char *y0 = y + (size_t)row * w;
        unsigned char *y1 = pair ? y0 + w : NULL;
        unsigned char *ur = u + (size_t)(row / 2) * cw;
        unsigned char *vr = v + (size_t)(row / 2) * cw;
        unsigned done = 0;
#ifdef __SSE2__
        done = yuyv_pair_sse2(s0, s1, w, y0, y1, ur, vr);
#endif
        yuyv_pair_scalar(s0, s1, done, w, y0, y1, ur, vr);
    }
}

void mjd_pixconv_nv12m(const unsigned char *y, size_t ystride, const unsigned char *uv,
                       size_t uvstride, unsigned w, unsigned h, unsigned char *dst)
{
    size_t cw = (w + 1u) / 2u;
    size_t ch = (h + 1u) / 2u;
    unsigned char *u = dst + (size_t)w * h;
    unsigned char *v = u + cw * ch;
    for (unsigned row = 0; row < h; row++) {
        memcpy(dst + (size_t)row * w, y + (size_t)row * ystride, w);
    }
    for (size_t row = 0; row < ch; row++) {
        const unsigned char *s = uv + row * uvstride;
        for (size_t x = 0; x < cw; x++) {
            u[row * cw + x] = s[2 * x];
            v[row * cw + x] = s[2 * x + 1];
        }
    }
}

void mjd_pixconv_nv12(const unsigned char *src, size_t stride, unsigned w, unsigned h,
                      unsigned char *dst)
{
    mjd_pixconv_nv12m(src, stride, src + (size_t)h * stride, stride, w, h, dst);
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

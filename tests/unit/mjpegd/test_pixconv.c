// SPDX-License-Identifier: MIT
/* Unit tests for the raw-format converters against straightforward per-pixel references. */
#include "../testlib.h"

#include <math.h>

#include "mjpegd/sources/pixconv.h"

static unsigned rnd_state = 7;
static unsigned char rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (unsigned char)(rnd_state >> 16);
}

static void fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = rnd();
    }
}

/* Compares plane got against want with tolerance tol; fails with the first difference. */
static void expect_close(const unsigned char *got, const double *want, size_t n, double tol,
                         const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (fabs((double)got[i] - want[i]) > tol) {
            test_fail(__FILE__, __LINE__, "%s[%zu]: got %u, want %.2f", what, i, got[i], want[i]);
        }
    }
}

TEST(pixconv_yuyv_and_nv12_match_reference)
{
    static const unsigned sizes[][2] = { { 16, 8 }, { 6, 5 }, { 2, 1 }, { 34, 3 } };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t w = sizes[k][0];
        size_t h = sizes[k][1];
        size_t cw = (w + 1) / 2;
        size_t ch = (h + 1) / 2;
        size_t stride = 4 * cw + 8; /* padded lines, as drivers may give */
        unsigned char *src = malloc(stride * (h + ch));
        unsigned char *dst = malloc(mjd_pixconv_yuv420p_size((unsigned)w, (unsigned)h));
        double *ref = malloc(sizeof(double) * mjd_pixconv_yuv420p_size((unsigned)w, (unsigned)h));
        ASSERT_TRUE(src != NULL && dst != NULL && ref != NULL);
        fill(src, stride * (h + ch));

        mjd_pixconv_yuyv(src, stride, (unsigned)w, (unsigned)h, dst);
        for (size_t y = 0; y < h; y++) {
            for (size_t x = 0; x < w; x++) {
                ref[y * w + x] = src[y * stride + 2 * x];
            }
        }
        for (size_t cy = 0; cy < ch; cy++) {
            size_t y1 = 2 * cy + 1 < h ? 2 * cy + 1 : 2 * cy;
            for (size_t cx = 0; cx < cw; cx++) {
                ref[w * h + cy * cw + cx] =
                        (src[2 * cy * stride + 4 * cx + 1] + src[y1 * stride + 4 * cx + 1]) / 2.0;
                ref[w * h + cw * ch + cy * cw + cx] =
                        (src[2 * cy * stride + 4 * cx + 3] + src[y1 * stride + 4 * cx + 3]) / 2.0;
            }
        }
        expect_close(dst, ref, mjd_pixconv_yuv420p_size((unsigned)w, (unsigned)h), 0.5, "yuyv");

        mjd_pixconv_nv12(src, stride, (unsigned)w, (unsigned)h, dst);
        for (size_t y = 0; y < h; y++) {
            for (size_t x = 0; x < w; x++) {
                ref[y * w + x] = src[y * stride + x];
            }
        }
        for (size_t cy = 0; cy < ch; cy++) {
            for (size_t cx = 0; cx < cw; cx++) {
                ref[w * h + cy * cw + cx] = src[(h + cy) * stride + 2 * cx];
                ref[w * h + cw * ch + cy * cw + cx] = src[(h + cy) * stride + 2 * cx + 1];
            }
        }
        expect_close(dst, ref, mjd_pixconv_yuv420p_size((unsigned)w, (unsigned)h), 0.0, "nv12");
        free(ref);
        free(dst);
        free(src);
    }
}

/* The SIMD blocks (16 pixels) and the scalar tail give the same bytes as the integer rounding
 * (a + b + 1) >> 1 at camera-like widths, odd heights and widths between blocks. */
TEST(pixconv_yuyv_exact_across_simd_blocks_and_tails)
{
    static const unsigned sizes[][2] = { { 1280, 5 }, { 48, 4 }, { 50, 7 }, { 31, 3 }, { 17, 2 } };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t w = sizes[k][0];
        size_t h = sizes[k][1];
        size_t cw = (w + 1) / 2;
        size_t ch = (h + 1) / 2;
        size_t stride = 4 * cw + 4;
        size_t out = mjd_pixconv_yuv420p_size((unsigned)w, (unsigned)h);
        unsigned char *src = malloc(stride * h);
        unsigned char *dst = malloc(out);
        ASSERT_TRUE(src != NULL && dst != NULL);
        fill(src, stride * h);
        mjd_pixconv_yuyv(src, stride, (unsigned)w, (unsigned)h, dst);
        for (size_t y = 0; y < h; y++) {
            for (size_t x = 0; x < w; x++) {
                ASSERT_EQ_INT(dst[y * w + x], src[y * stride + 2 * x]);
            }
        }
        for (size_t cy = 0; cy < ch; cy++) {
            const unsigned char *r0 = src + 2 * cy * stride;
            const unsigned char *r1 = 2 * cy + 1 < h ? r0 + stride : r0;
            for (size_t cx = 0; cx < cw; cx++) {
                ASSERT_EQ_INT(dst[w * h + cy * cw + cx],
                              (r0[4 * cx + 1] + r1[4 * cx + 1] + 1) >> 1);
                ASSERT_EQ_INT(dst[w * h + cw * ch + cy * cw + cx],
                              (r0[4 * cx + 3] + r1[4 * cx + 3] + 1) >> 1);
            }
        }
        free(src);
        free(dst);
    }
}

TEST(pixconv_rgb24_matches_jfif_matrix)
{
    static const unsigned sizes[][2] = { { 16, 8 }, { 7, 5 }, { 1, 1 }, { 33, 2 } };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t w = sizes[k][0];
        size_t h = sizes[k][1];
        size_t cw = (w + 1) / 2;
        size_t ch = (h + 1) / 2;
        size_t stride = 3 * w + 5;
        size_t n = mjd_pixconv_yuv420p_size((unsigned)w, (unsigned)h);
        unsigned char *src = malloc(stride * h);
        unsigned char *dst = malloc(n);
        double *ref = malloc(sizeof(double) * n);
        ASSERT_TRUE(src != NULL && dst != NULL && ref != NULL);
        fill(src, stride * h);
        mjd_pixconv_rgb24(src, stride, (unsigned)w, (unsigned)h, dst);
        for (size_t y = 0; y < h; y++) {
            for (size_t x = 0; x < w; x++) {
                const unsigned char *p = src + y * stride + 3 * x;
                ref[y * w + x] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            }
        }
        for (size_t cy = 0; cy < ch; cy++) {
            for (size_t cx = 0; cx < cw; cx++) {
                double r = 0, g = 0, b = 0;
                size_t ys[2] = { 2 * cy, 2 * cy + 1 < h ? 2 * cy + 1 : 2 * cy };
                size_t xs[2] = { 2 * cx, 2 * cx + 1 < w ? 2 * cx + 1 : 2 * cx };
                for (int i = 0; i < 4; i++) {
                    const unsigned char *p = src + ys[i / 2] * stride + 3 * xs[i % 2];
                    r += p[0] / 4.0;
                    g += p[1] / 4.0;
                    b += p[2] / 4.0;
                }
                ref[w * h + cy * cw + cx] = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
                ref[w * h + cw * ch + cy * cw + cx] = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
            }
        }
        expect_close(dst, ref, n, 1.0, "rgb24");
        free(ref);
        free(dst);
        free(src);
    }
}

TEST(pixconv_nv12m_planes_apart_with_their_own_strides)
{
    static const unsigned sizes[][4] = {
        /* w, h, Y stride, U V stride */
        { 16, 8, 16, 16 },
        { 7, 5, 9, 8 },    /* odd: the U V lines hold 4 whole pairs */
        { 34, 3, 40, 64 }, /* each plane padded its own way */
        { 1, 1, 1, 2 },
    };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t w = sizes[k][0];
        size_t h = sizes[k][1];
        size_t ys = sizes[k][2];
        size_t uvs = sizes[k][3];
        size_t cw = (w + 1) / 2;
        size_t ch = (h + 1) / 2;
        size_t n = mjd_pixconv_yuv420p_size((unsigned)w, (unsigned)h);
        unsigned char *y = malloc(ys * h);
        unsigned char *uv = malloc(uvs * ch);
        unsigned char *dst = malloc(n);
        double *ref = malloc(sizeof(double) * n);
        ASSERT_TRUE(y != NULL && uv != NULL && dst != NULL && ref != NULL);
        fill(y, ys * h);
        fill(uv, uvs * ch);
        mjd_pixconv_nv12m(y, ys, uv, uvs, (unsigned)w, (unsigned)h, dst);
        for (size_t r = 0; r < h; r++) {
            for (size_t x = 0; x < w; x++) {
                ref[r * w + x] = y[r * ys + x];
            }
        }
        for (size_t cy = 0; cy < ch; cy++) {
            for (size_t cx = 0; cx < cw; cx++) {
                ref[w * h + cy * cw + cx] = uv[cy * uvs + 2 * cx];
                ref[w * h + cw * ch + cy * cw + cx] = uv[cy * uvs + 2 * cx + 1];
            }
        }
        expect_close(dst, ref, n, 0.0, "nv12m");
        free(ref);
        free(dst);
        free(uv);
        free(y);
    }
}

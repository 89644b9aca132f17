// SPDX-License-Identifier: MIT
/* The software --flip's CPU per frame (src/mjpegd/flip.c) over the JPEGs of an MJPEG file:
 * lossless (tjTransform) and re-encoded (decode, mirror, encode) for h, v and hv, and the
 * YUV420P plane flip of raw frames, against a plain encode of the same picture for scale.
 * Usage: flip_bench FILE.mjpeg [passes [quality]]. One thread. Never in make test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "bench_frames.h"
#include "mjpegd/flip.h"
#include "mjpegd/sources/source.h"

static void report(const char *what, double *us, size_t n)
{
    qsort(us, n, sizeof(*us), bench_cmp_double);
    double mean = 0.0;
    for (size_t i = 0; i < n; i++) {
        mean += us[i];
    }
    mean /= (double)n;
    printf("  %-34s median %6.0f us, mean %6.0f us, p99 %6.0f us (%4.1f %% of a core at 30 fps)\n",
           what, us[n / 2], mean, us[n * 99 / 100], mean * 30 / 1e4);
}

enum way {
    LOSSLESS_OR_AUTO,
    REENCODE
};

/* One pass per frame and flip; prints the CPU per frame. */
static int bench_jpeg(struct mjd_jpeg_flipper *fl, const struct frame *fr, size_t n,
                      unsigned passes, unsigned flip, enum way way, int quality, double *us)
{
    size_t k = 0;
    enum mjd_flip_how how = MJD_FLIP_LOSSLESS;
    for (unsigned pass = 0; pass < passes; pass++) {
        for (size_t i = 0; i < n; i++) {
            const unsigned char *out = NULL;
            size_t len = 0;
            double t0 = bench_cpu_s();
            int rc = way == REENCODE ? mjd_flip_jpeg_reencode(fl, fr[i].data, fr[i].len, flip,
                                                              quality, &out, &len)
                                     : mjd_flip_jpeg(fl, fr[i].data, fr[i].len, flip, quality, &out,
                                                     &len, &how);
            us[k++] = (bench_cpu_s() - t0) * 1e6;
            if (rc != 0) {
                fprintf(stderr, "flip failed: %s\n", mjd_jpeg_flipper_error(fl));
                return -1;
            }
        }
    }
    char what[64];
    const char *name = flip == MJD_FLIP_H ? "h" : flip == MJD_FLIP_V ? "v" : "hv";
    snprintf(what, sizeof(what), "jpeg --flip %s, %s", name,
             way == REENCODE            ? "re-encoded (forced)"
             : how == MJD_FLIP_LOSSLESS ? "lossless"
                                        : "re-encoded (imperfect)");
    report(what, us, k);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.mjpeg [passes [quality]]\n", argv[0]);
        return 2;
    }
    unsigned passes = argc > 2 ? (unsigned)atoi(argv[2]) : 3;
    int quality = argc > 3 ? atoi(argv[3]) : 75;
    passes = passes < 1 ? 1 : passes;
    struct frame *fr = NULL;
    size_t n = bench_frames_load(argv[1], &fr);
    if (n == 0) {
        fprintf(stderr, "no JPEG in %s\n", argv[1]);
        return 1;
    }
    tjhandle tj = tjInitTransform();
    int w = 0, h = 0, ss = 0, cs = 0;
    if (tj == NULL || tjDecompressHeader3(tj, fr[0].data, fr[0].len, &w, &h, &ss, &cs) != 0) {
        fprintf(stderr, "cannot read the first JPEG\n");
        return 1;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += fr[i].len;
    }
    printf("%s: %zu frames of %dx%d (subsampling %d), %.1f KB each, %u passes, quality %d\n",
           argv[1], n, w, h, ss, (double)bytes / (double)n / 1024, passes, quality);
    double *us = malloc(sizeof(double) * n * passes);
    struct mjd_jpeg_flipper *fl = NULL;
    if (us == NULL || mjd_jpeg_flipper_create(&fl) != 0) {
        return 1;
    }
    static const unsigned flips[] = { MJD_FLIP_H, MJD_FLIP_V, MJD_FLIP_H | MJD_FLIP_V };
    for (size_t f = 0; f < 3; f++) {
        if (bench_jpeg(fl, fr, n, passes, flips[f], LOSSLESS_OR_AUTO, quality, us) != 0 ||
            bench_jpeg(fl, fr, n, passes, flips[f], REENCODE, quality, us) != 0) {
            return 1;
        }
    }
    // Raw frames: the plane flip of YUV420P before encoding, and the encoding itself for scale.
    size_t cw = ((size_t)w + 1) / 2, ch = ((size_t)h + 1) / 2;
    size_t ysz = (size_t)w * h, csz = cw * ch;
    unsigned char *yuv = malloc(ysz + 2 * csz);
    unsigned char *planes[3] = { yuv, yuv + ysz, yuv + ysz + csz };
    int strides[3] = { w, (int)cw, (int)cw };
    if (yuv == NULL ||
        tjDecompressToYUVPlanes(tj, fr[0].data, fr[0].len, planes, w, strides, h, 0) != 0) {
        fprintf(stderr, "cannot decode to YUV (%s)\n", tjGetErrorStr2(tj));
        return 1;
    }
    for (size_t f = 0; f < 3; f++) {
        size_t k = 0;
        for (unsigned i = 0; i < passes * 100; i++) {
            double t0 = bench_cpu_s();
            mjd_flip_yuv420p(yuv, (unsigned)w, (unsigned)h, flips[f]);
            us[k++ % (n * passes)] = (bench_cpu_s() - t0) * 1e6;
        }
        const char *name = f == 0 ? "h" : f == 1 ? "v" : "hv";
        char what[64];
        snprintf(what, sizeof(what), "yuv420p plane flip %s", name);
        report(what, us, k < n * passes ? k : n * passes);
    }
    unsigned char *out = tjAlloc((int)tjBufSize(w, h, TJSAMP_420));
    size_t k = 0;
    for (unsigned i = 0; i < passes && out != NULL; i++) {
        for (size_t j = 0; j < n; j++) {
            unsigned long size = tjBufSize(w, h, TJSAMP_420);
            const unsigned char *src[3] = { planes[0], planes[1], planes[2] };
            double t0 = bench_cpu_s();
            if (tjCompressFromYUVPlanes(tj, src, w, strides, h, TJSAMP_420, &out, &size, quality,
                                        TJFLAG_NOREALLOC | TJFLAG_FASTDCT) != 0) {
                fprintf(stderr, "encode failed: %s\n", tjGetErrorStr2(tj));
                return 1;
            }
            us[k++] = (bench_cpu_s() - t0) * 1e6;
        }
    }
    report("(scale) yuv420p encode, no flip", us, k);
    tjFree(out);
    free(yuv);
    mjd_jpeg_flipper_destroy(fl);
    tjDestroy(tj);
    free(us);
    bench_frames_free(fr, n);
    return 0;
}

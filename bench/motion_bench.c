// SPDX-License-Identifier: MIT
/* Motion detection cost per frame (mjd_motion_feed: 1/8-scale luma decode + compare) over the
 * JPEGs of an MJPEG file, against a full-size grey decode of the same frames for scale.
 * Usage: motion_bench FILE.mjpeg [passes]. One thread. Never in make test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "bench_frames.h"
#include "mjpegd/motion.h"

/* Sorts the samples and prints median, mean and p99. */
static void report(const char *what, double *us, size_t n)
{
    qsort(us, n, sizeof(*us), bench_cmp_double);
    double mean = 0.0;
    for (size_t i = 0; i < n; i++) {
        mean += us[i];
    }
    mean /= (double)n;
    printf("%s: CPU per frame median %.0f us, mean %.0f us, p99 %.0f us (%.1f %% of a core at "
           "30 fps)\n",
           what, us[n / 2], mean, us[n * 99 / 100], mean * 30 / 1e4);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.mjpeg [passes]\n", argv[0]);
        return 2;
    }
    int passes = argc > 2 ? atoi(argv[2]) : 5;
    struct frame *fr = NULL;
    size_t n = bench_frames_load(argv[1], &fr);
    if (n == 0 || passes < 1) {
        fprintf(stderr, "no frames in %s\n", argv[1]);
        return 1;
    }
    tjhandle tj = tjInitDecompress();
    int w = 0;
    int h = 0;
    int sub = 0;
    int cs = 0;
    if (tj == NULL ||
        tjDecompressHeader3(tj, fr[0].data, (unsigned long)fr[0].len, &w, &h, &sub, &cs) != 0) {
        fprintf(stderr, "cannot read the first frame's header\n");
        return 1;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += fr[i].len;
    }
    struct mjd_motion *m = NULL;
    if (mjd_motion_create(&m, MJD_MOTION_DEFAULT_THRESHOLD) != 0) {
        return 1;
    }
    size_t samples = n * (size_t)passes;
    double *us = malloc(samples * sizeof(*us));
    unsigned char *grey = malloc((size_t)w * (size_t)h);
    if (us == NULL || grey == NULL) {
        return 1;
    }
    // The frames' times as a 30 fps source would stamp them.
    long long t = 0;
    double worst_score = 0.0;
    double sum_score = 0.0;
    size_t k = 0;
    for (int p = 0; p < passes; p++) {
        for (size_t i = 0; i < n; i++) {
            double t0 = bench_cpu_s();
            double s = mjd_motion_feed(m, fr[i].data, fr[i].len, t);
            us[k++] = (bench_cpu_s() - t0) * 1e6;
            if (s < 0) {
                fprintf(stderr, "frame %zu: error %.0f\n", i, s);
                return 1;
            }
            sum_score += s;
            worst_score = s > worst_score ? s : worst_score;
            t += 33333333LL;
        }
    }
    printf("%dx%d, %zu frames of %.1f KB on average, %d passes; score mean %.1f, max %.1f\n", w, h,
           n, (double)total / (double)n / 1e3, passes, sum_score / (double)samples, worst_score);
    report("motion 1/8 (decode + compare)", us, samples);
    // For scale: what decoding the whole luma plane would cost instead.
    k = 0;
    for (int p = 0; p < passes; p++) {
        for (size_t i = 0; i < n; i++) {
            double t0 = bench_cpu_s();
            if (tjDecompress2(tj, fr[i].data, (unsigned long)fr[i].len, grey, w, w, h, TJPF_GRAY,
                              0) != 0) {
                fprintf(stderr, "full decode of frame %zu failed\n", i);
                return 1;
            }
            us[k++] = (bench_cpu_s() - t0) * 1e6;
        }
    }
    report("full-size grey decode (reference)", us, samples);
    // The 1/8 decode alone: the difference to the first figure is the compare.
    k = 0;
    int sw = (w + 7) / 8;
    int sh = (h + 7) / 8;
    for (int p = 0; p < passes; p++) {
        for (size_t i = 0; i < n; i++) {
            double t0 = bench_cpu_s();
            if (tjDecompress2(tj, fr[i].data, (unsigned long)fr[i].len, grey, sw, sw, sh, TJPF_GRAY,
                              TJFLAG_LIMITSCANS) != 0) {
                fprintf(stderr, "1/8 decode of frame %zu failed\n", i);
                return 1;
            }
            us[k++] = (bench_cpu_s() - t0) * 1e6;
        }
    }
    report("1/8 grey decode alone", us, samples);
    mjd_motion_destroy(m);
    tjDestroy(tj);
    free(grey);
    free(us);
    bench_frames_free(fr, n);
    return 0;
}

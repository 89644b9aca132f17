// SPDX-License-Identifier: MIT
/* What the per-frame benches over an MJPEG file share (motion_bench.c, flip_bench.c): the
 * file split into its JPEGs, this thread's CPU clock and a comparison for qsort. Header-only:
 * each bench is one C file. The frames returned belong to the caller (bench_frames_free). */
#ifndef MJPEGD_BENCH_FRAMES_H
#define MJPEGD_BENCH_FRAMES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mjpegd/sources/jpeg_split.h"

struct frame {
    unsigned char *data;
    size_t len;
};

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* This thread's CPU time: per-frame costs stay meaningful on a loaded machine, where the
 * wall time also counts the time other processes ran. */
static inline double bench_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads path and splits it into frames as pipe: does; returns their number (0 on failure). */
static inline size_t bench_frames_load(const char *path, struct frame **out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 0;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = size > 0 ? malloc((size_t)size) : NULL;
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", path);
        fclose(f);
        free(data);
        return 0;
    }
    fclose(f);
    struct mjd_jpeg_split s;
    if (mjd_jpeg_split_init(&s, (size_t)8 << 20) != 0) {
        free(data);
        return 0;
    }
    size_t n = 0;
    size_t cap = 0;
    struct frame *fr = NULL;
    const unsigned char *p = data;
    size_t left = (size_t)size;
    while (left > 0) {
        const unsigned char *jpeg = NULL;
        size_t k = mjd_jpeg_split_feed(&s, p, left, &jpeg);
        p += k;
        left -= k;
        if (jpeg != NULL) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                struct frame *grown = realloc(fr, cap * sizeof(*fr));
                if (grown == NULL) {
                    break;
                }
                fr = grown;
            }
            fr[n].len = s.len;
            fr[n].data = malloc(s.len);
            if (fr[n].data == NULL) {
                break;
            }
            memcpy(fr[n].data, jpeg, s.len);
            n++;
        }
    }
    mjd_jpeg_split_release(&s);
    free(data);
    *out = fr;
    return n;
}

static inline void bench_frames_free(struct frame *fr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(fr[i].data);
    }
    free(fr);
}

#endif

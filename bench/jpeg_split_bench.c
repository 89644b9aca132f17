// SPDX-License-Identifier: MIT
/* Throughput of the pipe source's JPEG splitter (MB/s) over an MJPEG file, fed in 64 KiB reads
 * as the pipe source does. Usage: jpeg_split_bench FILE.mjpeg [passes]. Never in make test. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mjpegd/sources/jpeg_split.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.mjpeg [passes]\n", argv[0]);
        return 2;
    }
    int passes = argc > 2 ? atoi(argv[2]) : 50;
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)size);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    struct mjd_jpeg_split s;
    if (mjd_jpeg_split_init(&s, (size_t)8 << 20) != 0) {
        return 1;
    }
    double t0 = now_s();
    for (int p = 0; p < passes; p++) {
        for (long off = 0; off < size;) {
            size_t n = (size_t)(size - off) < 65536 ? (size_t)(size - off) : 65536;
            const unsigned char *chunk = data + off;
            off += (long)n;
            while (n > 0) {
                const unsigned char *frame;
                size_t k = mjd_jpeg_split_feed(&s, chunk, n, &frame);
                chunk += k;
                n -= k;
            }
        }
    }
    double dt = now_s() - t0;
    double mb = (double)size * passes / 1e6;
    printf("jpeg_split: %.1f MB in %.3f s = %.0f MB/s, %llu frames (%.0f frames/s)\n", mb, dt,
           mb / dt, (unsigned long long)s.frames, (double)s.frames / dt);
    mjd_jpeg_split_release(&s);
    free(data);
    return 0;
}

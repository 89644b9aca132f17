// SPDX-License-Identifier: MIT
/*
 * Throughput of the http:// source's multipart parser (sources/multipart.c) alone: the JPEGs of
 * an MJPEG file (split with the pipe source's splitter) wrapped as a multipart/x-mixed-replace
 * body the way mjpegd sends it (boundary, Content-Type, Content-Length, CRLF), then fed in
 * 16 KiB chunks as curl's write callback gets them, single thread, no I/O. Also the same body
 * without Content-Length (the parser searches every body for the next delimiter).
 * Usage: multipart_bench FILE.mjpeg [passes]. Never in make test.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mjpegd/sources/jpeg_split.h"
#include "mjpegd/sources/multipart.h"

#define CHUNK 16384

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct body {
    unsigned char *p;
    size_t len, cap;
    unsigned long frames;
    size_t biggest;
};

static int append(struct body *b, const void *d, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        unsigned char *p = realloc(b->p, cap);
        if (p == NULL) {
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}

static int add_part(struct body *b, const unsigned char *jpeg, size_t n, bool with_len)
{
    char head[160];
    int hl = with_len ? snprintf(head, sizeof(head),
                                 "--mjpegdframe\r\nContent-Type: image/jpeg\r\n"
                                 "Content-Length: %zu\r\n\r\n",
                                 n)
                      : snprintf(head, sizeof(head),
                                 "--mjpegdframe\r\nContent-Type: image/jpeg\r\n\r\n");
    b->frames++;
    b->biggest = n > b->biggest ? n : b->biggest;
    return append(b, head, (size_t)hl) || append(b, jpeg, n) || append(b, "\r\n", 2) ? -1 : 0;
}

/* Feeds the body passes times in CHUNK-byte pieces; returns parts seen, or -1. */
static long long run(const struct body *b, size_t frame_cap, int passes, double *secs,
                     unsigned long long *bytes)
{
    struct mjd_multipart mp;
    if (mjd_multipart_init(&mp, "multipart/x-mixed-replace; boundary=mjpegdframe", frame_cap) !=
        0) {
        return -1;
    }
    unsigned long long sum = 0;
    double t0 = now_s();
    for (int p = 0; p < passes; p++) {
        for (size_t off = 0; off < b->len;) {
            size_t n = b->len - off < CHUNK ? b->len - off : CHUNK;
            const unsigned char *c = b->p + off;
            off += n;
            bool done = true;
            while (n > 0 || done) {
                size_t k = mjd_multipart_feed(&mp, c, n, &done);
                c += k;
                n -= k;
                if (done) {
                    sum += mp.frame_len;
                }
            }
        }
    }
    *secs = now_s() - t0;
    *bytes = sum;
    long long parts = (long long)mp.parts;
    if (mp.oversized != 0 || mp.truncated != 0) {
        fprintf(stderr, "parser dropped parts: %llu oversized, %llu truncated\n",
                (unsigned long long)mp.oversized, (unsigned long long)mp.truncated);
        parts = -1;
    }
    mjd_multipart_free(&mp);
    return parts;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.mjpeg [passes]\n", argv[0]);
        return 2;
    }
    int passes = argc > 2 ? atoi(argv[2]) : 20;
    passes = passes < 1 ? 1 : passes;
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
    struct body with = { 0 }, without = { 0 };
    for (long off = 0; off < size;) {
        const unsigned char *frame = NULL;
        size_t k = mjd_jpeg_split_feed(&s, data + off, (size_t)(size - off), &frame);
        off += (long)k;
        if (frame != NULL) {
            if (add_part(&with, frame, s.len, true) != 0 ||
                add_part(&without, frame, s.len, false) != 0) {
                fprintf(stderr, "out of memory\n");
                return 1;
            }
        }
        if (k == 0 && frame == NULL) {
            break;
        }
    }
    mjd_jpeg_split_release(&s);
    free(data);
    if (with.frames == 0) {
        fprintf(stderr, "no JPEG in %s\n", argv[1]);
        return 1;
    }
    const struct body *bodies[2] = { &with, &without };
    const char *names[2] = { "with Content-Length", "without Content-Length" };
    for (int i = 0; i < 2; i++) {
        double secs = 0;
        unsigned long long bytes = 0;
        long long parts = run(bodies[i], bodies[i]->biggest + 1024, passes, &secs, &bytes);
        // Without Content-Length the very last part ends only at a delimiter that never comes.
        long long want = (long long)bodies[i]->frames * passes - i;
        if (parts != want) {
            fprintf(stderr, "%s: %lld parts, expected %lld\n", names[i], parts, want);
            return 1;
        }
        double mb = (double)bodies[i]->len * passes / 1e6;
        printf("multipart %s: %.1f MB in %.3f s = %.0f MB/s, %lld parts of %.1f KB = %.2f us per "
               "part (%.0f parts/s), %u-byte chunks\n",
               names[i], mb, secs, mb / secs, parts, (double)bytes / (double)parts / 1024,
               1e6 * secs / (double)parts, (double)parts / secs, CHUNK);
    }
    free(with.p);
    free(without.p);
    return 0;
}

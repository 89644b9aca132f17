// SPDX-License-Identifier: MIT
/* libFuzzer target: the JPEG stream splitter, whole and cut into small reads: every frame it
 * returns is SOI..EOI within the cap, and the frames do not depend on how the input was cut. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/sources/jpeg_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAME 4096

/* Feeds data in steps of `step` bytes; returns a hash of the frames (length and bytes). */
static uint64_t run(const uint8_t *data, size_t size, size_t step, uint64_t *frames)
{
    struct mjd_jpeg_split s;
    if (mjd_jpeg_split_init(&s, MAX_FRAME) != 0) {
        abort();
    }
    uint64_t h = 1469598103934665603u;
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        while (n > 0) {
            const unsigned char *frame = NULL;
            size_t k = mjd_jpeg_split_feed(&s, data + off, n, &frame);
            if (k > n || (k == 0 && frame == NULL)) {
                abort();
            }
            off += k;
            n -= k;
            if (frame != NULL) {
                if (s.len < 4 || s.len > MAX_FRAME || frame[0] != 0xff || frame[1] != 0xd8 ||
                    frame[s.len - 2] != 0xff || frame[s.len - 1] != 0xd9) {
                    abort();
                }
                unsigned w, hh;
                (void)mjd_jpeg_size(frame, s.len, &w, &hh);
                for (size_t i = 0; i < s.len; i++) {
                    h = (h ^ frame[i]) * 1099511628211u;
                }
                h = (h ^ s.len) * 1099511628211u;
            }
        }
    }
    *frames = s.frames;
    mjd_jpeg_split_release(&s);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t n1 = 0, n2 = 0, n3 = 0;
    uint64_t a = run(data, size, size > 0 ? size : 1, &n1);
    uint64_t b = run(data, size, 1, &n2);
    uint64_t c = run(data, size, 7, &n3);
    if (a != b || a != c || n1 != n2 || n1 != n3) {
        abort();
    }
    return 0;
}

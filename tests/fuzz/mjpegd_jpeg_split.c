// SPDX-License-Identifier: MIT
/* libFuzzer target: the MJPEG stream splitter, whole and byte by byte, must agree; SOF reader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/sources/jpeg_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP  4096
#define MAXF 64

/* Splits data in chunks of step; records each frame's length; returns the frame count. */
static size_t run(const uint8_t *data, size_t size, size_t step, size_t *lens, uint64_t *check)
{
    struct mjd_jpeg_split sp;
    if (mjd_jpeg_split_init(&sp, CAP) != 0) {
        abort();
    }
    size_t frames = 0;
    uint64_t sum = 0;
    size_t off = 0;
    while (off < size) {
        size_t chunk = size - off < step ? size - off : step;
        bool done = false;
        size_t used = mjd_jpeg_split_feed(&sp, data + off, chunk, &done);
        if (used > chunk || (used == 0 && chunk > 0)) {
            abort();
        }
        if (done) {
            if (sp.len < 4 || sp.len > CAP || sp.buf[0] != 0xff || sp.buf[1] != 0xd8 ||
                sp.buf[sp.len - 2] != 0xff || sp.buf[sp.len - 1] != 0xd9) {
                abort();
            }
            unsigned w, h;
            if (mjd_jpeg_size(sp.buf, sp.len, &w, &h) == 0 && (w == 0 || h == 0)) {
                abort();
            }
            for (size_t i = 0; i < sp.len; i++) {
                sum = sum * 31 + sp.buf[i];
            }
            if (frames < MAXF) {
                lens[frames] = sp.len;
            }
            frames++;
        }
        off += used;
    }
    *check = sum;
    mjd_jpeg_split_free(&sp);
    return frames;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t la[MAXF], lb[MAXF];
    uint64_t ca, cb;
    size_t na = run(data, size, size > 0 ? size : 1, la, &ca);
    size_t nb = run(data, size, 1, lb, &cb);
    if (na != nb || ca != cb) {
        abort();
    }
    for (size_t i = 0; i < na && i < MAXF; i++) {
        if (la[i] != lb[i]) {
            abort();
        }
    }
    return 0;
}

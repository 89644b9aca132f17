// SPDX-License-Identifier: MIT
/* libFuzzer target: the multipart parser; the first line is the Content-Type, the rest the
 * body, fed whole and byte by byte: both must give the same parts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/sources/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 2048

static uint64_t run(const char *ct, const uint8_t *body, size_t n, size_t step, uint64_t *parts)
{
    struct mjd_multipart mp;
    *parts = 0;
    if (mjd_multipart_init(&mp, ct, CAP) != 0) {
        return 0;
    }
    uint64_t sum = 0;
    size_t off = 0;
    while (off < n) {
        size_t chunk = n - off < step ? n - off : step;
        size_t used = 0;
        bool done;
        do {
            size_t u = mjd_multipart_feed(&mp, body + off + used, chunk - used, &done);
            if (u > chunk - used) {
                abort();
            }
            used += u;
            if (done) {
                if (mp.frame_len > CAP || (mp.frame_len > 0 && mp.frame == NULL)) {
                    abort();
                }
                for (size_t i = 0; i < mp.frame_len; i++) {
                    sum = sum * 131 + mp.frame[i];
                }
                sum = sum * 7 + mp.frame_len;
                (*parts)++;
            }
        } while (done || used < chunk);
        off += chunk;
    }
    mjd_multipart_free(&mp);
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 200 ? size : 200);
    if (nl == NULL) {
        return 0;
    }
    char ct[201];
    size_t cl = (size_t)(nl - data);
    memcpy(ct, data, cl);
    ct[cl] = '\0';
    const uint8_t *body = nl + 1;
    size_t n = size - cl - 1;
    uint64_t pa, pb;
    uint64_t a = run(ct, body, n, n > 0 ? n : 1, &pa);
    uint64_t b = run(ct, body, n, 1, &pb);
    if (a != b || pa != pb) {
        abort();
    }
    return 0;
}

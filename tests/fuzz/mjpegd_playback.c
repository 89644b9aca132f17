// SPDX-License-Identifier: MIT
/* libFuzzer target: playback's parsers of untrusted bytes. The first byte picks one: 0 the
 * ?at= time, 1 an index.tsv text, 2 a whole segment file (its index by the catalog's offset,
 * else the tar walk). Properties: a parsed index only names bytes inside the file, within the
 * caps; a time is never negative; plain seconds parse to their value. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mjpegd/playback_index.h"
#include "mjpegd/playback_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)           \
    do {                      \
        if (!(cond)) {        \
            __builtin_trap(); \
        }                     \
    } while (0)

static void check_index(const struct mjd_play_index *ix, uint64_t file_size)
{
    CHECK(ix->n > 0 && ix->n <= MJD_PLAYBACK_MAX_FRAMES && ix->frames != NULL);
    for (size_t i = 0; i < ix->n; i++) {
        const struct mjd_play_frame *f = &ix->frames[i];
        CHECK(f->len > 0 && f->len <= MJD_PLAYBACK_MAX_FRAME_BYTES);
        CHECK(f->off <= file_size && f->len <= file_size - f->off);
        CHECK(f->wall_us >= 0);
    }
}

static void fuzz_time(const char *s, size_t n)
{
    int64_t us = -1;
    if (mjd_playback_parse_time(s, n, &us) != 0) {
        return;
    }
    CHECK(us >= 0);
    bool digits = n > 0 && n <= 12;
    int64_t v = 0;
    for (size_t i = 0; i < n && digits; i++) {
        digits = s[i] >= '0' && s[i] <= '9';
        v = v * 10 + (s[i] - '0');
    }
    if (digits) {
        CHECK(us == v * 1000000);
    }
}

static void fuzz_segment(const uint8_t *data, size_t size)
{
    // The first 4 bytes are the catalog's index_offset, the rest is the file.
    if (size < 4) {
        return;
    }
    int64_t off = (int64_t)data[0] | (int64_t)data[1] << 8 | (int64_t)data[2] << 16 |
                  (int64_t)data[3] << 24;
    int fd = memfd_create("segment", MFD_CLOEXEC);
    if (fd < 0) {
        return;
    }
    size_t len = size - 4;
    if (len == 0 || write(fd, data + 4, len) == (ssize_t)len) {
        struct mjd_play_index ix;
        if (mjd_playback_index_load(fd, len, off, &ix) == 0) {
            check_index(&ix, len);
            mjd_playback_index_release(&ix);
        }
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0:
        fuzz_time(rest, n);
        break;
    case 1: {
        struct mjd_play_index ix;
        uint64_t file_size = 1u << 20;
        if (mjd_playback_index_parse(rest, n, file_size, &ix) == 0) {
            check_index(&ix, file_size);
            mjd_playback_index_release(&ix);
        }
        break;
    }
    default:
        fuzz_segment(data + 1, n);
        break;
    }
    return 0;
}

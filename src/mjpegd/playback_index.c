// SPDX-License-Identifier: MIT
/* A recorded segment's frame index: from its index.tsv, or by walking its tar headers. */
#include "mjpegd/playback_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAR_BLOCK 512

static bool add_frame(struct mjd_play_index *ix, size_t *cap, int64_t wall_us, uint64_t off,
                      uint64_t len, uint64_t file_size, int *err)
{
    if (len == 0 || off > file_size || len > file_size - off) {
        *err = -EINVAL;
        return false;
    }
    if (len > MJD_PLAYBACK_MAX_FRAME_BYTES || ix->n >= MJD_PLAYBACK_MAX_FRAMES) {
        *err = -EFBIG;
        return false;
    }
    if (ix->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        struct mjd_play_frame *nf = realloc(ix->frames, ncap * sizeof(*nf));
        if (nf == NULL) {
            *err = -ENOMEM;
            return false;
        }
        ix->frames = nf;
        *cap = ncap;
    }
    ix->frames[ix->n++] = (struct mjd_play_frame){ wall_us, off, (uint32_t)len };
    return true;
}

/* A decimal field of at most 19 digits ending at the byte stop; advances *p past stop. */
static bool field(const char **p, const char *end, char stop, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        if (++n > 19) {
            return false;
        }
        v = v * 10 + (uint64_t)(**p - '0');
        (*p)++;
    }
    if (n == 0 || *p >= end || **p != stop) {
        return false;
    }
    (*p)++;
    *out = v;
    return true;
}

int mjd_playback_index_parse(const char *text, size_t len, uint64_t file_size,
                             struct mjd_play_index *out)
{
    out->frames = NULL;
    out->n = 0;
    const char *nul = memchr(text, '\0', len);
    const char *end = nul != NULL ? nul : text + len;
    const char *p = text;
    size_t cap = 0;
    int err = 0;
    while (p < end) {
        uint64_t wall = 0;
        uint64_t off = 0;
        uint64_t flen = 0;
        if (!field(&p, end, '\t', &wall) || !field(&p, end, '\t', &off) ||
            !field(&p, end, '\n', &flen) || wall > INT64_MAX) {
            err = -EINVAL;
            break;
        }
        if (!add_frame(out, &cap, (int64_t)wall, off, flen, file_size, &err)) {
            break;
        }
    }
    if (err == 0 && out->n == 0) {
        err = -EINVAL;
    }
    if (err != 0) {
        mjd_playback_index_release(out);
    }
    return err;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -EIO;
        }
        if (n == 0) {
            return -EINVAL; // shorter than the catalog or the headers say
        }
        got += (size_t)n;
    }
    return 0;
}

/* A ustar header's octal field (NUL or space terminated). */
static bool octal(const unsigned char *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && f[i] == ' ') {
        i++;
    }
    size_t start = i;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (UINT64_MAX >> 3)) {
            return false;
        }
        v = (v << 3) | (uint64_t)(f[i] - '0');
    }
    if (i == start || (i < n && f[i] != '\0' && f[i] != ' ')) {
        return false;
    }
    *out = v;
    return true;
}

static bool is_ustar(const unsigned char *h)
{
    return memcmp(h + 257, "ustar", 5) == 0;
}

/* The member name of header h (no prefix: recorder members are short) into name[101]. */
static void member_name(const unsigned char *h, char name[101])
{
    memcpy(name, h, 100);
    name[100] = '\0';
}

/* "<digits>.jpg" -> the digits as microseconds. */
static bool frame_name(const char *name, int64_t *wall_us)
{
    size_t n = strlen(name);
    if (n < 5 || n > 23 || strcmp(name + n - 4, ".jpg") != 0) {
        return false;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n - 4; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        v = v * 10 + (name[i] - '0');
    }
    *wall_us = v;
    return true;
}

static int read_index_member(int fd, uint64_t file_size, uint64_t data_off, uint64_t len,
                             struct mjd_play_index *out)
{
    if (data_off > file_size || len > file_size - data_off) {
        return -EINVAL;
    }
    if (len > MJD_PLAYBACK_MAX_INDEX_BYTES) {
        return -EFBIG;
    }
    char *text = calloc(len > 0 ? len : 1, 1); // zeroed: the analyzer cannot see pread fill it
    if (text == NULL) {
        return -ENOMEM;
    }
    int rc = pread_full(fd, text, len, data_off);
    if (rc == 0) {
        rc = mjd_playback_index_parse(text, len, file_size, out);
    }
    free(text);
    return rc;
}

/* index_offset is the index.tsv member's header, or the first byte of its data. */
static int load_from_offset(int fd, uint64_t file_size, int64_t index_offset,
                            struct mjd_play_index *out)
{
    if (index_offset <= 0 || (uint64_t)index_offset >= file_size) {
        return -EINVAL;
    }
    uint64_t at = (uint64_t)index_offset;
    unsigned char h[TAR_BLOCK];
    if (file_size - at >= TAR_BLOCK && pread_full(fd, h, TAR_BLOCK, at) == 0 && is_ustar(h)) {
        char name[101];
        uint64_t size = 0;
        member_name(h, name);
        if (strcmp(name, "index.tsv") == 0 && octal(h + 124, 12, &size)) {
            return read_index_member(fd, file_size, at + TAR_BLOCK, size, out);
        }
    }
    // The data itself: it runs to the member's padding (a NUL) or the end of the file.
    return read_index_member(fd, file_size, at, file_size - at, out);
}

static int walk_tar(int fd, uint64_t file_size, struct mjd_play_index *out)
{
    out->frames = NULL;
    out->n = 0;
    size_t cap = 0;
    int err = 0;
    uint64_t at = 0;
    while (err == 0 && file_size - at >= TAR_BLOCK) {
        unsigned char h[TAR_BLOCK];
        err = pread_full(fd, h, TAR_BLOCK, at);
        if (err != 0 || h[0] == '\0') {
            break; // the end-of-archive blocks
        }
        uint64_t size = 0;
        if (!is_ustar(h) || !octal(h + 124, 12, &size)) {
            err = -EINVAL;
            break;
        }
        char name[101];
        int64_t wall = 0;
        member_name(h, name);
        uint64_t data = at + TAR_BLOCK;
        if (size > file_size - data) {
            break; // a truncated last member: keep the frames before it
        }
        if ((h[156] == '0' || h[156] == '\0') && frame_name(name, &wall)) {
            (void)add_frame(out, &cap, wall, data, size, file_size, &err);
        }
        at = data + ((size + TAR_BLOCK - 1) / TAR_BLOCK) * TAR_BLOCK;
    }
    if (err == 0 && out->n == 0) {
        err = -EINVAL;
    }
    if (err != 0) {
        mjd_playback_index_release(out);
    }
    return err;
}

int mjd_playback_index_load(int fd, uint64_t file_size, int64_t index_offset,
                            struct mjd_play_index *out)
{
    int rc = load_from_offset(fd, file_size, index_offset, out);
    if (rc == 0 || rc == -ENOMEM || rc == -EIO) {
        return rc;
    }
    return walk_tar(fd, file_size, out);
}

size_t mjd_playback_index_seek(const struct mjd_play_index *ix, int64_t at_us)
{
    // Capture order is time order: the first frame at or after at_us by a scan from the
    // front (a recorder's clock step backwards would only make a later frame match first).
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->frames[i].wall_us >= at_us) {
            return i;
        }
    }
    return ix->n;
}

void mjd_playback_index_release(struct mjd_play_index *ix)
{
    free(ix->frames);
    ix->frames = NULL;
    ix->n = 0;
}

// SPDX-License-Identifier: MIT
/* The MJPEG stream splitter: a byte-at-a-time marker walk, memchr over entropy-coded data. */
#include "mjpegd/sources/jpeg_split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_SEEK,       /* outside a frame, looking for FF */
    ST_SEEK_FF,    /* outside a frame, saw FF: D8 starts a frame */
    ST_MARK,       /* inside a frame, a marker's FF is expected */
    ST_MARK_FF,    /* saw FF: the marker code is next (FF fill bytes allowed) */
    ST_LEN1,       /* first length byte */
    ST_LEN2,       /* second length byte */
    ST_SKIP,       /* segment payload: remaining bytes */
    ST_ENTROPY,    /* entropy-coded data after SOS */
    ST_ENTROPY_FF, /* saw FF in entropy-coded data */
};

int mjd_jpeg_split_init(struct mjd_jpeg_split *sp, size_t cap)
{
    memset(sp, 0, sizeof(*sp));
    if (cap < 4) {
        return -EINVAL;
    }
    sp->buf = malloc(cap);
    if (sp->buf == NULL) {
        return -ENOMEM;
    }
    sp->cap = cap;
    return 0;
}

void mjd_jpeg_split_free(struct mjd_jpeg_split *sp)
{
    free(sp->buf);
    sp->buf = NULL;
    sp->cap = 0;
    sp->len = 0;
}

void mjd_jpeg_split_reset(struct mjd_jpeg_split *sp)
{
    sp->len = 0;
    sp->state = ST_SEEK;
}

/* Starts a frame with its SOI. */
static void start_frame(struct mjd_jpeg_split *sp)
{
    sp->buf[0] = 0xff;
    sp->buf[1] = 0xd8;
    sp->len = 2;
    sp->state = ST_MARK;
}

/* Appends one byte; false (and the frame dropped) if the frame outgrew the cap. */
static bool put(struct mjd_jpeg_split *sp, unsigned char c)
{
    if (sp->len >= sp->cap) {
        sp->oversized++;
        sp->len = 0;
        sp->state = ST_SEEK;
        return false;
    }
    sp->buf[sp->len++] = c;
    return true;
}

/* Handles the marker code c (after its FF, both already stored). True if the frame ended. */
static bool on_marker(struct mjd_jpeg_split *sp, unsigned char c)
{
    if (c == 0xd9) {
        sp->frames++;
        sp->state = ST_SEEK;
        return true;
    }
    if (c == 0xd8) {
        sp->truncated++;
        start_frame(sp);
        return false;
    }
    if ((c >= 0xd0 && c <= 0xd7) || c == 0x01) {
        sp->state = ST_MARK; // RSTn and TEM have no length
        return false;
    }
    sp->marker = c;
    sp->state = ST_LEN1;
    return false;
}

size_t mjd_jpeg_split_feed(struct mjd_jpeg_split *sp, const unsigned char *data, size_t n,
                           bool *done)
{
    *done = false;
    size_t i = 0;
    while (i < n) {
        unsigned char c = data[i];
        switch (sp->state) {
        case ST_SEEK: {
            const unsigned char *ff = memchr(data + i, 0xff, n - i);
            size_t skip = ff != NULL ? (size_t)(ff - (data + i)) : n - i;
            sp->garbage += skip;
            i += skip;
            if (ff != NULL) {
                sp->state = ST_SEEK_FF;
                i++;
            }
            continue;
        }
        case ST_SEEK_FF:
            i++;
            if (c == 0xd8) {
                start_frame(sp);
            } else if (c != 0xff) {
                sp->garbage += 2;
                sp->state = ST_SEEK;
            } else {
                sp->garbage++;
            }
            continue;
        case ST_ENTROPY: {
            const unsigned char *ff = memchr(data + i, 0xff, n - i);
            size_t take = ff != NULL ? (size_t)(ff - (data + i)) + 1 : n - i;
            if (sp->len + take > sp->cap) {
                sp->oversized++;
                sp->len = 0;
                sp->state = ST_SEEK; // resync from here, at the next SOI
                continue;
            }
            memcpy(sp->buf + sp->len, data + i, take);
            sp->len += take;
            i += take;
            if (ff != NULL) {
                sp->state = ST_ENTROPY_FF;
            }
            continue;
        }
        default:
            break;
        }
        i++;
        if (!put(sp, c)) {
            continue;
        }
        switch (sp->state) {
        case ST_MARK:
            if (c == 0xff) {
                sp->state = ST_MARK_FF;
            } else {
                // Not a marker where one must be: a corrupt frame. Resync at the next SOI.
                sp->truncated++;
                sp->len = 0;
                sp->state = ST_SEEK;
            }
            break;
        case ST_MARK_FF:
            if (c != 0xff) {
                if (c == 0x00) {
                    sp->truncated++;
                    sp->len = 0;
                    sp->state = ST_SEEK;
                } else if (on_marker(sp, c)) {
                    *done = true;
                    return i;
                }
            }
            break;
        case ST_LEN1:
            sp->remaining = (size_t)c << 8;
            sp->state = ST_LEN2;
            break;
        case ST_LEN2:
            sp->remaining |= c;
            if (sp->remaining < 2) {
                sp->truncated++;
                sp->len = 0;
                sp->state = ST_SEEK;
                break;
            }
            sp->remaining -= 2;
            sp->state = ST_SKIP;
            if (sp->remaining == 0) {
                sp->state = sp->marker == 0xda ? ST_ENTROPY : ST_MARK;
            }
            break;
        case ST_SKIP: {
            // The byte c is stored; copy the rest of the payload in one go.
            sp->remaining--;
            size_t take = n - i < sp->remaining ? n - i : sp->remaining;
            if (sp->len + take > sp->cap) {
                sp->oversized++;
                sp->len = 0;
                sp->state = ST_SEEK;
                break;
            }
            memcpy(sp->buf + sp->len, data + i, take);
            sp->len += take;
            i += take;
            sp->remaining -= take;
            if (sp->remaining == 0) {
                sp->state = sp->marker == 0xda ? ST_ENTROPY : ST_MARK;
            }
            break;
        }
        case ST_ENTROPY_FF:
            if (c == 0x00 || (c >= 0xd0 && c <= 0xd7)) {
                sp->state = ST_ENTROPY; // stuffing, or a restart marker inside the scan
            } else if (c != 0xff) {
                sp->state = ST_MARK;
                if (on_marker(sp, c)) {
                    *done = true;
                    return i;
                }
            }
            break;
        default:
            break;
        }
    }
    return i;
}

int mjd_jpeg_size(const unsigned char *data, size_t n, unsigned *width, unsigned *height)
{
    if (n < 4 || data[0] != 0xff || data[1] != 0xd8) {
        return -EINVAL;
    }
    size_t i = 2;
    while (i + 4 <= n) {
        if (data[i] != 0xff) {
            return -EINVAL;
        }
        unsigned m = data[i + 1];
        if (m == 0xff) {
            i++; // fill byte
            continue;
        }
        if (m == 0xd8 || m == 0xd9 || m == 0xda || m == 0x00) {
            return -EINVAL; // SOS or EOI before any SOF
        }
        if ((m >= 0xd0 && m <= 0xd7) || m == 0x01) {
            i += 2;
            continue;
        }
        size_t len = ((size_t)data[i + 2] << 8) | data[i + 3];
        if (len < 2 || i + 2 + len > n) {
            return -EINVAL;
        }
        bool sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
        if (sof) {
            if (len < 7) {
                return -EINVAL;
            }
            unsigned h = ((unsigned)data[i + 5] << 8) | data[i + 6];
            unsigned w = ((unsigned)data[i + 7] << 8) | data[i + 8];
            if (w == 0 || h == 0) {
                return -EINVAL;
            }
            *width = w;
            *height = h;
            return 0;
        }
        i += 2 + len;
    }
    return -EINVAL;
}

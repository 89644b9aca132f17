// SPDX-License-Identifier: MIT
/* The JPEG stream splitter: a marker-walking state machine (see jpeg_split.h). */
#include "mjpegd/sources/jpeg_split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_SEEK,    /* outside a frame, looking for FF */
    S_SEEK_FF, /* outside a frame, after FF: D8 starts a frame */
    S_MARK,    /* in the headers, expecting FF */
    S_MARK_FF, /* in the headers, after FF: the marker code */
    S_LEN1,    /* the segment length's high byte */
    S_LEN2,    /* its low byte */
    S_SKIP,    /* the segment body: copied without looking */
    S_ENT,     /* entropy-coded data, looking for FF */
    S_ENT_FF,  /* entropy-coded data, after FF */
};

int mjd_jpeg_split_init(struct mjd_jpeg_split *s, size_t max)
{
    memset(s, 0, sizeof(*s));
    if (max < 4) {
        return -EINVAL;
    }
    s->buf = malloc(max);
    if (s->buf == NULL) {
        return -ENOMEM;
    }
    s->max = max;
    s->state_ = S_SEEK;
    return 0;
}

void mjd_jpeg_split_release(struct mjd_jpeg_split *s)
{
    free(s->buf);
    s->buf = NULL;
}

static void start_frame(struct mjd_jpeg_split *s)
{
    s->buf[0] = 0xff;
    s->buf[1] = 0xd8;
    s->len = 2;
    s->state_ = S_MARK;
}

static void drop_frame(struct mjd_jpeg_split *s)
{
    s->len = 0;
    s->state_ = S_SEEK;
}

/* Appends k bytes; on overflow keeps what fits, drops the frame (counted) and returns false, so
 * the caller rescans from the first byte that did not fit: the same bytes are rescanned however
 * the input was cut into calls. *stored (optional) is how many bytes were appended. */
static bool put_some(struct mjd_jpeg_split *s, const unsigned char *p, size_t k, size_t *stored)
{
    size_t room = s->max - s->len;
    size_t n = k < room ? k : room;
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    if (stored != NULL) {
        *stored = n;
    }
    if (n < k) {
        s->oversized++;
        drop_frame(s);
        return false;
    }
    return true;
}

static bool put(struct mjd_jpeg_split *s, const unsigned char *p, size_t k)
{
    return put_some(s, p, k, NULL);
}

/* After a marker code in a frame (headers or entropy data). Returns 1 when the frame ended,
 * -1 when the byte did not fit (the frame was dropped), 0 otherwise. */
static int marker(struct mjd_jpeg_split *s, unsigned char b)
{
    if (b == 0xd8) { // SOI inside a frame: the frame was cut short, start again here
        s->truncated++;
        start_frame(s);
        return 0;
    }
    if (!put(s, &b, 1)) {
        return -1;
    }
    if (b == 0xd9) {
        return 1;
    }
    if (b == 0x01 || (b >= 0xd0 && b <= 0xd7)) { // standalone markers
        s->state_ = s->sos_ ? S_ENT : S_MARK;
        return 0;
    }
    s->sos_ = b == 0xda;
    s->state_ = S_LEN1;
    return 0;
}

size_t mjd_jpeg_split_feed(struct mjd_jpeg_split *s, const unsigned char *data, size_t n,
                           const unsigned char **frame)
{
    *frame = NULL;
    if (s->ready_) {
        s->ready_ = false;
        drop_frame(s);
    }
    size_t i = 0;
    while (i < n) {
        unsigned char b = data[i];
        switch (s->state_) {
        case S_SEEK: {
            const unsigned char *ff = memchr(data + i, 0xff, n - i);
            size_t k = ff != NULL ? (size_t)(ff - (data + i)) + 1 : n - i;
            s->garbage += k;
            i += k;
            if (ff != NULL) {
                s->state_ = S_SEEK_FF;
            }
            continue;
        }
        case S_SEEK_FF:
            i++;
            s->garbage++;
            if (b == 0xd8) {
                s->garbage -= 2;
                s->sos_ = false;
                start_frame(s);
            } else if (b != 0xff) {
                s->state_ = S_SEEK;
            }
            continue;
        case S_MARK:
            i++;
            if (b != 0xff) { // not a marker where one must be: a broken frame
                s->truncated++;
                drop_frame(s);
                s->garbage++;
            } else if (put(s, &b, 1)) {
                s->state_ = S_MARK_FF;
            } else {
                i--;
            }
            continue;
        case S_MARK_FF:
        case S_ENT_FF:
            i++;
            if (b == 0xff) { // fill byte
                if (!put(s, &b, 1)) {
                    i--;
                }
                continue;
            }
            if (s->state_ == S_ENT_FF && b == 0x00) { // stuffed FF in the entropy data
                if (put(s, &b, 1)) {
                    s->state_ = S_ENT;
                } else {
                    i--;
                }
                continue;
            }
            if (s->state_ == S_MARK_FF && b == 0x00) {
                s->truncated++;
                drop_frame(s);
                continue;
            }
            int m = marker(s, b);
            if (m < 0) {
                i--;
                continue;
            }
            if (m > 0) {
                s->frames++;
                s->ready_ = true;
                *frame = s->buf;
                return i;
            }
            continue;
        case S_LEN1:
            i++;
            if (put(s, &b, 1)) {
                s->seglen_ = (unsigned)b << 8;
                s->state_ = S_LEN2;
            } else {
                i--;
            }
            continue;
        case S_LEN2:
            i++;
            if (!put(s, &b, 1)) {
                i--;
                continue;
            }
            s->seglen_ |= b;
            if (s->seglen_ < 2) {
                s->truncated++;
                drop_frame(s);
                continue;
            }
            s->skip_ = s->seglen_ - 2u;
            s->state_ = s->skip_ > 0 ? S_SKIP : s->sos_ ? S_ENT : S_MARK;
            continue;
        case S_SKIP: {
            size_t k = n - i < s->skip_ ? n - i : s->skip_;
            size_t stored = 0;
            bool ok = put_some(s, data + i, k, &stored);
            i += stored;
            if (!ok) {
                continue;
            }
            s->skip_ -= k;
            if (s->skip_ == 0) {
                s->state_ = s->sos_ ? S_ENT : S_MARK;
            }
            continue;
        }
        case S_ENT: {
            const unsigned char *ff = memchr(data + i, 0xff, n - i);
            size_t k = ff != NULL ? (size_t)(ff - (data + i)) + 1 : n - i;
            size_t stored = 0;
            bool ok = put_some(s, data + i, k, &stored);
            i += stored;
            if (ok && ff != NULL) {
                s->state_ = S_ENT_FF;
            }
            continue;
        }
        default:
            drop_frame(s);
            continue;
        }
    }
    return i;
}

int mjd_jpeg_size(const unsigned char *jpeg, size_t len, unsigned *width, unsigned *height)
{
    if (len < 4 || jpeg[0] != 0xff || jpeg[1] != 0xd8) {
        return -EINVAL;
    }
    size_t i = 2;
    while (i + 4 <= len) {
        if (jpeg[i] != 0xff) {
            return -EINVAL;
        }
        unsigned char m = jpeg[i + 1];
        if (m == 0xff) { // fill
            i++;
            continue;
        }
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
            i += 2;
            continue;
        }
        if (m == 0xd9 || m == 0xda) {
            return -EINVAL; // no SOF before the image data
        }
        size_t seg = ((size_t)jpeg[i + 2] << 8) | jpeg[i + 3];
        if (seg < 2 || seg > len - i - 2) {
            return -EINVAL;
        }
        bool sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
        if (sof) {
            if (seg < 7) {
                return -EINVAL;
            }
            const unsigned char *p = jpeg + i + 4; // precision, height, width
            *height = ((unsigned)p[1] << 8) | p[2];
            *width = ((unsigned)p[3] << 8) | p[4];
            return *width > 0 && *height > 0 ? 0 : -EINVAL;
        }
        i += 2 + seg;
    }
    return -EINVAL;
}

// SPDX-License-Identifier: MIT
/* Unit tests for the MJPEG stream splitter and the SOF size reader. */
#include "../testlib.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/sources/jpeg_split.h"

/*
 * A small synthetic JPEG (structure only, not decodable): SOI, APP0, SOF0 (w x h), SOS, entropy
 * data with FF00 stuffing, an RST marker and an FF fill byte before EOI. tag makes frames differ.
 */
static size_t make_jpeg(unsigned char *out, unsigned w, unsigned h, unsigned char tag)
{
    static const unsigned char head[] = {
        0xff, 0xd8,                                         /* SOI */
        0xff, 0xe0, 0x00, 0x07, 'J',  'F',  'I', 'F', 0x00, /* APP0 */
        0xff, 0xdb, 0x00, 0x04, 0xff, 0xd9,                 /* DQT whose payload has FFD9 */
    };
    size_t n = 0;
    memcpy(out, head, sizeof(head));
    n += sizeof(head);
    const unsigned char sof[] = { 0xff,
                                  0xc0,
                                  0x00,
                                  0x0b,
                                  0x08,
                                  (unsigned char)(h >> 8),
                                  (unsigned char)h,
                                  (unsigned char)(w >> 8),
                                  (unsigned char)w,
                                  0x01,
                                  0x01,
                                  0x11,
                                  0x00 };
    memcpy(out + n, sof, sizeof(sof));
    n += sizeof(sof);
    const unsigned char sos[] = { 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00 };
    memcpy(out + n, sos, sizeof(sos));
    n += sizeof(sos);
    const unsigned char data[] = { tag,  0x12, 0xff, 0x00, 0xd9, 0x34, 0xff,
                                   0xd0, 0x56, 0xff, 0x00, 0xff, 0xff, 0xd9 };
    memcpy(out + n, data, sizeof(data));
    n += sizeof(data);
    return n;
}

/* Feeds buf in chunks of step bytes; stores each frame's length and first data byte. */
static size_t split_all(struct mjd_jpeg_split *sp, const unsigned char *buf, size_t len,
                        size_t step, size_t *lens, size_t max)
{
    size_t frames = 0;
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off < step ? len - off : step;
        size_t used = 0;
        while (used < chunk) {
            bool done = false;
            used += mjd_jpeg_split_feed(sp, buf + off + used, chunk - used, &done);
            if (done && frames < max) {
                lens[frames++] = sp->len;
            }
        }
        off += chunk;
    }
    return frames;
}

TEST(jpeg_split_size_from_sof)
{
    unsigned char j[128];
    size_t n = make_jpeg(j, 640, 480, 1);
    unsigned w = 0, h = 0;
    ASSERT_OK(mjd_jpeg_size(j, n, &w, &h));
    ASSERT_EQ_INT((int)w, 640);
    ASSERT_EQ_INT((int)h, 480);
    ASSERT_EQ_INT(mjd_jpeg_size(j + 1, n - 1, &w, &h), -EINVAL);
    ASSERT_EQ_INT(mjd_jpeg_size(j, 20, &w, &h), -EINVAL); // cut inside SOF
    const unsigned char text[] = "hello, not a jpeg";
    ASSERT_EQ_INT(mjd_jpeg_size(text, sizeof(text), &w, &h), -EINVAL);
}

TEST(jpeg_split_every_split_point)
{
    unsigned char buf[512];
    size_t a = make_jpeg(buf, 320, 240, 1);
    size_t b = make_jpeg(buf + a, 320, 240, 2);
    size_t total = a + b;
    // Every step size, which covers every place a chunk boundary can fall.
    for (size_t step = 1; step <= total; step++) {
        struct mjd_jpeg_split sp;
        ASSERT_OK(mjd_jpeg_split_init(&sp, 4096));
        size_t lens[4];
        size_t frames = split_all(&sp, buf, total, step, lens, 4);
        ASSERT_EQ_INT((int)frames, 2);
        ASSERT_EQ_INT((int)lens[0], (int)a);
        ASSERT_EQ_INT((int)lens[1], (int)b);
        ASSERT_EQ_U64(sp.garbage, 0);
        ASSERT_EQ_MEM(sp.buf, buf + a, b); // the last frame, byte for byte
        mjd_jpeg_split_free(&sp);
    }
}

TEST(jpeg_split_skips_garbage_between_frames)
{
    unsigned char buf[512];
    size_t n = 0;
    memcpy(buf, "junk\xff\x00\xff", 7);
    n += 7;
    size_t a = make_jpeg(buf + n, 16, 16, 1);
    n += a;
    memcpy(buf + n, "\r\n--x\xff\xff", 7);
    n += 7;
    size_t b = make_jpeg(buf + n, 16, 16, 2);
    n += b;
    struct mjd_jpeg_split sp;
    ASSERT_OK(mjd_jpeg_split_init(&sp, 4096));
    size_t lens[4];
    ASSERT_EQ_INT((int)split_all(&sp, buf, n, n, lens, 4), 2);
    ASSERT_EQ_INT((int)lens[0], (int)a);
    ASSERT_EQ_INT((int)lens[1], (int)b);
    ASSERT_CMP_INT((int)sp.garbage, >=, 12);
    mjd_jpeg_split_free(&sp);
}

TEST(jpeg_split_drops_oversized_and_resyncs)
{
    unsigned char buf[4096];
    size_t n = 0;
    size_t a = make_jpeg(buf, 16, 16, 1);
    n += a;
    // A big frame: a long APP1 segment, then a normal tail.
    unsigned char *big = buf + n;
    big[0] = 0xff;
    big[1] = 0xd8;
    big[2] = 0xff;
    big[3] = 0xe1;
    big[4] = 0x04;
    big[5] = 0x00; // 1024 bytes
    memset(big + 6, 0x55, 1022);
    size_t bl = 6 + 1022;
    unsigned char tail[128];
    size_t tl = make_jpeg(tail, 16, 16, 9);
    memcpy(big + bl, tail + 2, tl - 2); // the rest of a JPEG without its SOI
    n += bl + tl - 2;
    size_t c = make_jpeg(buf + n, 16, 16, 3);
    n += c;
    for (size_t step = 1; step <= 64; step += 7) {
        struct mjd_jpeg_split sp;
        ASSERT_OK(mjd_jpeg_split_init(&sp, 512));
        size_t lens[4];
        ASSERT_EQ_INT((int)split_all(&sp, buf, n, step, lens, 4), 2);
        ASSERT_EQ_INT((int)lens[0], (int)a);
        ASSERT_EQ_INT((int)lens[1], (int)c);
        ASSERT_EQ_U64(sp.oversized, 1);
        mjd_jpeg_split_free(&sp);
    }
}

TEST(jpeg_split_truncated_frame_then_new_soi)
{
    unsigned char buf[512];
    size_t a = make_jpeg(buf, 16, 16, 1);
    size_t cut = a - 5; // inside the entropy data
    size_t b = make_jpeg(buf + cut, 16, 16, 2);
    struct mjd_jpeg_split sp;
    ASSERT_OK(mjd_jpeg_split_init(&sp, 4096));
    size_t lens[4];
    ASSERT_EQ_INT((int)split_all(&sp, buf, cut + b, 3, lens, 4), 1);
    ASSERT_EQ_INT((int)lens[0], (int)b);
    ASSERT_EQ_U64(sp.truncated, 1);
    // A frame cut at the end of input never comes out.
    mjd_jpeg_split_reset(&sp);
    ASSERT_EQ_INT((int)split_all(&sp, buf, a - 1, a, lens, 4), 0);
    mjd_jpeg_split_free(&sp);
}

TEST(jpeg_split_eoi_inside_segment_is_not_the_end)
{
    // make_jpeg's DQT payload and its stuffed entropy bytes both contain FF D9.
    unsigned char buf[128];
    size_t a = make_jpeg(buf, 16, 16, 0xd9);
    struct mjd_jpeg_split sp;
    ASSERT_OK(mjd_jpeg_split_init(&sp, 4096));
    size_t lens[2];
    ASSERT_EQ_INT((int)split_all(&sp, buf, a, 1, lens, 2), 1);
    ASSERT_EQ_INT((int)lens[0], (int)a);
    ASSERT_EQ_INT(mjd_jpeg_split_init(&sp, 2), -EINVAL);
    mjd_jpeg_split_free(&sp);
}

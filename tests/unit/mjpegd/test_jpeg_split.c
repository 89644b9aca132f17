// SPDX-License-Identifier: MIT
/* Unit tests for the JPEG stream splitter and the file and pipe sources (with the capture
 * thread's count of the frames a source refuses). */
#include "../testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "mjpegd/capture.h"
#include "mjpegd/hub.h"
#include "mjpegd/sources/jpeg_split.h"
#include "mjpegd/sources/source.h"

/* A synthetic JPEG of w x h: an APP1 segment whose body holds FF D9 and FF D8, a DQT, a SOF0, a
 * SOS, then entropy data with stuffed FF 00, a restart marker, fill bytes, and EOI. The splitter
 * never decodes, so only the marker structure matters. Returns the length written to out. */
static size_t make_jpeg(unsigned char *out, unsigned w, unsigned h, unsigned char tag)
{
    const unsigned char head[] = {
        0xff,
        0xd8, // SOI
        0xff,
        0xe1,
        0x00,
        0x08,
        0xff,
        0xd9,
        0xff,
        0xd8,
        0x00,
        tag, // APP1 with EOI/SOI inside
        0xff,
        0xdb,
        0x00,
        0x05,
        0x00,
        0xff,
        0xd9, // DQT (short, with FF D9)
        0xff,
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
        0x00, // SOF0, 1 component
        0xff,
        0xda,
        0x00,
        0x08,
        0x01,
        0x01,
        0x00,
        0x00,
        0x3f,
        0x00, // SOS
        0x12,
        0x34,
        0xff,
        0x00,
        0x56,
        0xff,
        0xd0,
        0x78,
        0xff,
        0xff,
        0x00,
        tag, // entropy
        0xff,
        0xd9, // EOI
    };
    memcpy(out, head, sizeof(head));
    return sizeof(head);
}

struct collected {
    unsigned char data[8][256];
    size_t len[8];
    size_t n;
};

static void feed_all(struct mjd_jpeg_split *s, const unsigned char *p, size_t n,
                     struct collected *c)
{
    while (n > 0) {
        const unsigned char *frame = NULL;
        size_t k = mjd_jpeg_split_feed(s, p, n, &frame);
        ASSERT_TRUE(k > 0 && k <= n);
        p += k;
        n -= k;
        if (frame != NULL) {
            ASSERT_TRUE(c->n < 8 && s->len <= 256);
            memcpy(c->data[c->n], frame, s->len);
            c->len[c->n++] = s->len;
        }
    }
}

/* garbage, J1, J2, garbage, J3 */
static size_t make_stream(unsigned char *buf, unsigned char js[3][128], size_t jl[3])
{
    size_t n = 0;
    const char junk[] = "junk\xff\xff\x00\xd9";
    memcpy(buf + n, junk, sizeof(junk) - 1);
    n += sizeof(junk) - 1;
    for (int i = 0; i < 3; i++) {
        jl[i] = make_jpeg(js[i], 320 + (unsigned)i, 240, (unsigned char)i);
        if (i == 2) {
            memcpy(buf + n, "\r\n--x\r\n", 7);
            n += 7;
        }
        memcpy(buf + n, js[i], jl[i]);
        n += jl[i];
    }
    return n;
}

static void check_three(const struct collected *c, unsigned char js[3][128], const size_t jl[3])
{
    ASSERT_EQ_INT(c->n, 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_INT(c->len[i], jl[i]);
        ASSERT_EQ_MEM(c->data[i], js[i], jl[i]);
    }
}

TEST(jpeg_split_whole_stream_with_garbage)
{
    unsigned char buf[512], js[3][128];
    size_t jl[3];
    size_t n = make_stream(buf, js, jl);
    struct mjd_jpeg_split s;
    ASSERT_OK(mjd_jpeg_split_init(&s, 4096));
    struct collected c = { .n = 0 };
    feed_all(&s, buf, n, &c);
    check_three(&c, js, jl);
    ASSERT_EQ_U64(s.frames, 3);
    ASSERT_EQ_U64(s.garbage, 8 + 7);
    ASSERT_EQ_U64(s.oversized, 0);
    mjd_jpeg_split_release(&s);
}

TEST(jpeg_split_at_every_byte_boundary)
{
    unsigned char buf[512], js[3][128];
    size_t jl[3];
    size_t n = make_stream(buf, js, jl);
    for (size_t cut = 0; cut <= n; cut++) {
        struct mjd_jpeg_split s;
        ASSERT_OK(mjd_jpeg_split_init(&s, 4096));
        struct collected c = { .n = 0 };
        feed_all(&s, buf, cut, &c);
        feed_all(&s, buf + cut, n - cut, &c);
        check_three(&c, js, jl);
        mjd_jpeg_split_release(&s);
    }
    // And one byte at a time.
    struct mjd_jpeg_split s;
    ASSERT_OK(mjd_jpeg_split_init(&s, 4096));
    struct collected c = { .n = 0 };
    for (size_t i = 0; i < n; i++) {
        feed_all(&s, buf + i, 1, &c);
    }
    check_three(&c, js, jl);
    mjd_jpeg_split_release(&s);
}

TEST(jpeg_split_drops_oversized_and_resyncs)
{
    unsigned char buf[1024], j[128], big[512];
    size_t jl = make_jpeg(j, 64, 48, 7);
    // A frame with a 300-byte APP segment: over the cap of 200.
    size_t bl = 0;
    big[bl++] = 0xff;
    big[bl++] = 0xd8;
    big[bl++] = 0xff;
    big[bl++] = 0xe0;
    big[bl++] = 300 >> 8;
    big[bl++] = 300 & 0xff;
    memset(big + bl, 0x11, 298);
    bl += 298;
    memcpy(big + bl, j + 2, jl - 2); // the rest of a normal frame
    bl += jl - 2;
    size_t n = 0;
    memcpy(buf + n, j, jl);
    n += jl;
    memcpy(buf + n, big, bl);
    n += bl;
    memcpy(buf + n, j, jl);
    n += jl;
    struct mjd_jpeg_split s;
    ASSERT_OK(mjd_jpeg_split_init(&s, 200));
    struct collected c = { .n = 0 };
    feed_all(&s, buf, n, &c);
    // The big frame's tail (after the cap) holds the APP1 body's FF D8, which the splitter may
    // take as a new SOI: whatever it yields from there is cut short, never a whole frame.
    ASSERT_EQ_U64(s.oversized, 1);
    ASSERT_TRUE(c.n >= 2);
    ASSERT_EQ_INT(c.len[0], jl);
    ASSERT_EQ_MEM(c.data[0], j, jl);
    ASSERT_EQ_INT(c.len[c.n - 1], jl);
    ASSERT_EQ_MEM(c.data[c.n - 1], j, jl);
    mjd_jpeg_split_release(&s);
}

TEST(jpeg_split_soi_inside_a_frame_restarts_it)
{
    unsigned char buf[512], j[128];
    size_t jl = make_jpeg(j, 64, 48, 1);
    size_t n = 0;
    memcpy(buf, j, 46); // cut inside the entropy data (it starts at byte 42)
    n = 46;
    memcpy(buf + n, j, jl);
    n += jl;
    struct mjd_jpeg_split s;
    ASSERT_OK(mjd_jpeg_split_init(&s, 4096));
    struct collected c = { .n = 0 };
    feed_all(&s, buf, n, &c);
    ASSERT_EQ_INT(c.n, 1);
    ASSERT_EQ_INT(c.len[0], jl);
    ASSERT_EQ_MEM(c.data[0], j, jl);
    ASSERT_EQ_U64(s.truncated, 1);
    mjd_jpeg_split_release(&s);
}

TEST(jpeg_size_reads_sof)
{
    unsigned char j[128];
    size_t jl = make_jpeg(j, 1920, 1080, 0);
    unsigned w = 0, h = 0;
    ASSERT_OK(mjd_jpeg_size(j, jl, &w, &h));
    ASSERT_EQ_INT(w, 1920);
    ASSERT_EQ_INT(h, 1080);
    ASSERT_EQ_INT(mjd_jpeg_size(j, 20, &w, &h), -EINVAL);
    ASSERT_EQ_INT(mjd_jpeg_size((const unsigned char *)"GIF89a", 6, &w, &h), -EINVAL);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_INT(fwrite(p, 1, n, f), n);
    ASSERT_EQ_INT(fclose(f), 0);
}

static struct mjd_raw_frame *new_frame(void)
{
    struct mjd_raw_frame *f = calloc(1, sizeof(*f));
    ASSERT_NOT_NULL(f);
    f->cap = MJD_SOURCE_MAX_JPEG;
    f->data = malloc(f->cap);
    ASSERT_NOT_NULL(f->data);
    return f;
}

static void free_frame(struct mjd_raw_frame *f)
{
    free(f->data);
    free(f);
}

TEST(file_source_loops_a_folder_in_name_order_and_skips_non_jpeg)
{
    char dir[512], spec[600];
    snprintf(dir, sizeof(dir), "%s/imgs", test_tmpdir());
    ASSERT_OK(mkdir(dir, 0700));
    struct mjd_source_params p = { .width = 16, .height = 16, .fps = 10 };
    struct mjd_source *src = NULL;
    snprintf(spec, sizeof(spec), "file:%s", dir);
    ASSERT_EQ_INT(mjd_source_create(&src, spec, &p), -ENOENT); // empty folder
    ASSERT_NULL(src);
    unsigned char a[128], b[128];
    size_t al = make_jpeg(a, 64, 48, 1);
    size_t bl = make_jpeg(b, 64, 48, 2);
    write_file(dir, "b.jpg", b, bl);
    write_file(dir, "a.JPEG", a, al);
    write_file(dir, "c.jpg", "not a jpeg", 10);
    write_file(dir, "d.txt", "ignored", 7);
    ASSERT_OK(mjd_source_create(&src, spec, &p));
    const struct mjd_source_info *info = mjd_source_get_info(src);
    ASSERT_EQ_INT(info->width, 64);
    ASSERT_EQ_INT(info->height, 48);
    ASSERT_EQ_INT(info->format, MJD_PIX_JPEG);
    struct mjd_raw_frame *f = new_frame();
    for (int round = 0; round < 2; round++) {
        ASSERT_OK(mjd_source_read(src, f, 0));
        ASSERT_EQ_INT(f->len, al);
        ASSERT_EQ_MEM(f->data, a, al);
        ASSERT_OK(mjd_source_read(src, f, 0));
        ASSERT_EQ_INT(f->len, bl);
        ASSERT_EQ_MEM(f->data, b, bl);
    }
    ASSERT_EQ_U64(mjd_source_rejected(src), 1); // c.jpg, skipped once between the rounds
    free_frame(f);
    mjd_source_destroy(src);
}

TEST(pipe_source_splits_and_reports_eof)
{
    int fds[2];
    ASSERT_OK(pipe(fds));
    unsigned char buf[512], js[3][128];
    size_t jl[3];
    size_t n = make_stream(buf, js, jl);
    ASSERT_EQ_INT(write(fds[1], buf, n), n);
    close(fds[1]);
    char spec[64];
    snprintf(spec, sizeof(spec), "pipe:/dev/fd/%d", fds[0]);
    struct mjd_source_params p = { .width = 16, .height = 16, .fps = 10 };
    struct mjd_source *src = NULL;
    ASSERT_OK(mjd_source_create(&src, spec, &p));
    const struct mjd_source_info *info = mjd_source_get_info(src);
    ASSERT_EQ_INT(info->width, 320); // the first frame's
    ASSERT_EQ_INT(info->height, 240);
    ASSERT_TRUE(info->self_paced);
    struct mjd_raw_frame *f = new_frame();
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(mjd_source_read(src, f, INT64_MAX));
        ASSERT_EQ_INT(f->len, jl[i]);
        ASSERT_EQ_MEM(f->data, js[i], jl[i]);
        ASSERT_EQ_INT(f->width, 320 + i);
    }
    ASSERT_EQ_INT(mjd_source_read(src, f, INT64_MAX), MJD_SOURCE_EOF);
    free_frame(f);
    mjd_source_destroy(src);
    close(fds[0]);
}

/* J1, J2 cut inside its entropy data (no EOI: the SOI of J3 follows), J3: the pipe hands J1
 * and J3 and counts the cut frame as refused. */
static size_t make_cut_stream(unsigned char *buf, unsigned char js[3][128], size_t jl[3])
{
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        jl[i] = make_jpeg(js[i], 64, 48, (unsigned char)i);
        size_t take = i == 1 ? jl[i] - 4 : jl[i];
        memcpy(buf + n, js[i], take);
        n += take;
    }
    return n;
}

TEST(pipe_source_counts_the_frames_it_refuses)
{
    int fds[2];
    ASSERT_OK(pipe(fds));
    unsigned char buf[512], js[3][128];
    size_t jl[3];
    size_t n = make_cut_stream(buf, js, jl);
    ASSERT_EQ_INT(write(fds[1], buf, n), n);
    close(fds[1]);
    char spec[64];
    snprintf(spec, sizeof(spec), "pipe:/dev/fd/%d", fds[0]);
    struct mjd_source_params p = { .width = 16, .height = 16, .fps = 10 };
    struct mjd_source *src = NULL;
    ASSERT_OK(mjd_source_create(&src, spec, &p));
    struct mjd_raw_frame *f = new_frame();
    ASSERT_OK(mjd_source_read(src, f, INT64_MAX));
    ASSERT_EQ_MEM(f->data, js[0], jl[0]);
    ASSERT_OK(mjd_source_read(src, f, INT64_MAX));
    ASSERT_EQ_INT(f->len, jl[2]);
    ASSERT_EQ_MEM(f->data, js[2], jl[2]);
    ASSERT_EQ_U64(mjd_source_rejected(src), 1);
    ASSERT_EQ_INT(mjd_source_read(src, f, INT64_MAX), MJD_SOURCE_EOF);
    free_frame(f);
    mjd_source_destroy(src);
    close(fds[0]);
}

TEST(capture_counts_refused_frames_as_captured_and_dropped_invalid)
{
    int fds[2];
    ASSERT_OK(pipe(fds));
    unsigned char buf[512], js[3][128];
    size_t jl[3];
    size_t n = make_cut_stream(buf, js, jl);
    ASSERT_EQ_INT(write(fds[1], buf, n), n); // the writer stays open: no end of input
    char spec[64];
    snprintf(spec, sizeof(spec), "pipe:/dev/fd/%d", fds[0]);
    struct mjd_source_params p = { .width = 16, .height = 16, .fps = 10 };
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_capture_config cc = { .hub = hub, .fps = 100, .quality = 50, .encoder_threads = 1 };
    ASSERT_OK(mjd_source_create(&cc.source, spec, &p));
    struct mjd_capture *cap = NULL;
    ASSERT_OK(mjd_capture_start(&cap, &cc));
    struct mjd_hub_stats st;
    int64_t deadline = core_now_ns() + 30 * CORE_NS_PER_SEC;
    do {
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
        mjd_hub_get_stats(hub, &st);
    } while ((st.published < 2 || st.dropped_by[MJD_DROP_INVALID] < 1) && core_now_ns() < deadline);
    mjd_capture_stop(cap);
    mjd_hub_get_stats(hub, &st);
    ASSERT_EQ_U64(st.published, 2);
    ASSERT_EQ_U64(st.dropped_by[MJD_DROP_INVALID], 1);
    ASSERT_EQ_U64(st.captured, st.published + st.dropped);
    ASSERT_EQ_STR(mjd_hub_drop_reason_name(MJD_DROP_INVALID), "invalid");
    mjd_hub_destroy(hub);
    close(fds[1]);
    close(fds[0]);
}

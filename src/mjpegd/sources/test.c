// SPDX-License-Identifier: MIT
/* The built-in test source: colour bars, a moving bar, a bouncing box, frame number and time. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "mjpegd/draw.h"
#include "mjpegd/sources/source_impl.h"

/* Noise amplitude (in luma steps) of the texture: makes a frame weigh what a camera scene does. */
#ifndef NOISE_AMPLITUDE
#define NOISE_AMPLITUDE 3
#endif
#define NOISE_SIZE 65536
#define NOISE_MASK (NOISE_SIZE - 1)

struct test_source {
    struct mjd_source base; /* first: the generic part */
    unsigned w, h;
    unsigned cw, ch;      /* chroma plane size */
    signed char *noise;   /* NOISE_SIZE + w texture values in [-A, A]; the tail repeats the head */
    short *col_y;         /* per-column bar luma, w entries */
    unsigned char *col_u; /* cw entries */
    unsigned char *col_v; /* cw entries */
    unsigned char *bg;    /* the static picture (bars, gradient, texture), drawn once */
    unsigned move, still; /* test:move=M,still=S: M frames moving, then S held; 0, 0: always */
};

/* The eight classic colour bars in Y'CbCr (BT.601, full range). */
static const unsigned char bars[8][3] = {
    { 235, 128, 128 }, { 210, 16, 146 }, { 170, 166, 16 }, { 145, 54, 34 },
    { 106, 202, 222 }, { 81, 90, 240 },  { 41, 240, 110 }, { 16, 128, 128 },
};

static unsigned char clamp_u8(int v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/*
 * The static picture, drawn once at create: colour bars, a vertical gradient and a texture (so
 * that a frame weighs what a camera scene does). Each frame starts as a copy of it and only
 * what moves is drawn on top: the moving bar, the box, the frame number and the time.
 */
static void render_background(struct test_source *s)
{
    unsigned w = s->w;
    unsigned h = s->h;
    unsigned char *yp = s->bg;
    unsigned char *up = yp + (size_t)w * h;
    unsigned char *vp = up + (size_t)s->cw * s->ch;
    unsigned barw = w / 8 ? w / 8 : 1;
    for (unsigned x = 0; x < w; x++) {
        s->col_y[x] = bars[(x / barw) % 8][0];
    }
    for (unsigned x = 0; x < s->cw; x++) {
        unsigned b = ((2 * x) / barw) % 8;
        s->col_u[x] = bars[b][1];
        s->col_v[x] = bars[b][2];
    }
    for (unsigned y = 0; y < h; y++) {
        int grad = (int)(y * 96 / h) - 48;
        unsigned char *row = yp + (size_t)y * w;
        const signed char *noise = s->noise + (((size_t)y * 4099u) & NOISE_MASK);
        for (unsigned x = 0; x < w; x++) {
            row[x] = clamp_u8(s->col_y[x] + grad + noise[x]);
        }
    }
    for (unsigned y = 0; y < s->ch; y++) {
        memcpy(up + (size_t)y * s->cw, s->col_u, s->cw);
        memcpy(vp + (size_t)y * s->cw, s->col_v, s->cw);
    }
}

/*
 * Where the moving parts are in frame seq (1, 2, ...). With test:move=M,still=S the pattern
 * moves for M frames, then holds the last of them for S frames, and again: the frames that
 * motion detection (and its tests) need. The frame number and the time keep running, as a
 * camera's timestamp overlay does.
 */
static uint64_t motion_clock(const struct test_source *s, uint64_t seq)
{
    if (s->move == 0 || seq == 0) {
        return seq;
    }
    uint64_t period = (uint64_t)s->move + s->still;
    uint64_t r = (seq - 1) % period;
    return 1 + (seq - 1) / period * s->move + (r < s->move ? r : s->move - 1);
}

static void render(struct test_source *s, struct mjd_raw_frame *f)
{
    unsigned w = s->w;
    unsigned h = s->h;
    unsigned char *yp = f->data;
    unsigned char *up = yp + (size_t)w * h;
    unsigned char *vp = up + (size_t)s->cw * s->ch;
    uint64_t n = motion_clock(s, f->seq);
    memcpy(f->data, s->bg, s->base.info.max_frame_bytes);

    // A white bar, a sixteenth of the width, sweeping right by 4 pixels per frame.
    int mbw = (int)(w / 16 ? w / 16 : 1);
    int mbx = (int)((n * 4) % (uint64_t)(w + (unsigned)mbw)) - mbw;
    mjd_draw_rect(yp, w, w, h, mbx, 0, mbw, (int)h, 235);
    mjd_draw_rect(up, s->cw, s->cw, s->ch, mbx / 2, 0, mbw / 2 + 1, (int)s->ch, 128);
    mjd_draw_rect(vp, s->cw, s->cw, s->ch, mbx / 2, 0, mbw / 2 + 1, (int)s->ch, 128);

    // A box bouncing off the edges (triangle waves in x and y).
    int bs = (int)(h / 6 > 8 ? h / 6 : 8);
    int rx = (int)w - bs > 1 ? (int)w - bs : 1;
    int ry = (int)h - bs > 1 ? (int)h - bs : 1;
    int px = (int)((n * 7) % (uint64_t)(2 * rx));
    int py = (int)((n * 5) % (uint64_t)(2 * ry));
    px = px < rx ? px : 2 * rx - px;
    py = py < ry ? py : 2 * ry - py;
    mjd_draw_rect(yp, w, w, h, px, py, bs, bs, 16);
    mjd_draw_rect(yp, w, w, h, px + 4, py + 4, bs - 8, bs - 8, 200);
    mjd_draw_rect(up, s->cw, s->cw, s->ch, px / 2 + 2, py / 2 + 2, bs / 2 - 4, bs / 2 - 4, 90);
    mjd_draw_rect(vp, s->cw, s->cw, s->ch, px / 2 + 2, py / 2 + 2, bs / 2 - 4, bs / 2 - 4, 200);

    // The frame number and the capture time (UTC) on a dark band.
    char text[96];
    time_t secs = (time_t)(f->wall_ns / CORE_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(text, sizeof(text), "MJPEGD TEST FRAME %06llu %04d-%02d-%02d %02d:%02d:%02d.%03d UTC",
             (unsigned long long)f->seq, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)((f->wall_ns % CORE_NS_PER_SEC) / CORE_NS_PER_MS));
    int scale = (int)(w / (6 * (unsigned)strlen(text) + 8));
    scale = scale < 1 ? 1 : scale > 4 ? 4 : scale;
    int band = 9 * scale + 4;
    mjd_draw_rect(yp, w, w, h, 0, 0, (int)w, band, 16);
    mjd_draw_rect(up, s->cw, s->cw, s->ch, 0, 0, (int)s->cw, band / 2 + 1, 128);
    mjd_draw_rect(vp, s->cw, s->cw, s->ch, 0, 0, (int)s->cw, band / 2 + 1, 128);
    mjd_draw_text(yp, w, w, h, 4, 2 + scale, (unsigned)scale, text, 235);

    f->len = (size_t)w * h + 2 * (size_t)s->cw * s->ch;
    // The capture time is when the picture is complete, as a camera driver stamps a filled
    // buffer (the text above shows when drawing began, about a millisecond earlier).
    f->wall_ns = core_wall_ns();
    f->width = w;
    f->height = h;
    f->format = MJD_PIX_YUV420P;
}

static void test_destroy(struct mjd_source *src)
{
    struct test_source *s = (struct test_source *)src;
    if (s == NULL) {
        return;
    }
    free(s->noise);
    free(s->col_y);
    free(s->col_u);
    free(s->col_v);
    free(s->bg);
    free(s);
}

/* Reads "KEY=N" at *arg (N in 1..1000000) into *val and moves *arg past it. */
static int read_key(const char **arg, const char *key, unsigned *val)
{
    size_t klen = strlen(key);
    if (strncmp(*arg, key, klen) != 0 || (*arg)[klen] != '=' || (*arg)[klen + 1] < '0' ||
        (*arg)[klen + 1] > '9') {
        return -EINVAL;
    }
    char *end = NULL;
    unsigned long v = strtoul(*arg + klen + 1, &end, 10);
    if (v < 1 || v > 1000000) {
        return -EINVAL;
    }
    *val = (unsigned)v;
    *arg = end;
    return 0;
}

/* "" (always moving) or "move=M,still=S". */
static int parse_arg(struct test_source *s, const char *arg)
{
    if (arg[0] == '\0') {
        return 0;
    }
    if (read_key(&arg, "move", &s->move) != 0 || arg[0] != ',') {
        return -EINVAL;
    }
    arg++;
    if (read_key(&arg, "still", &s->still) != 0 || arg[0] != '\0') {
        s->move = 0;
        return -EINVAL;
    }
    return 0;
}

static int test_create(struct mjd_source **out, const char *arg, const struct mjd_source_params *p)
{
    *out = NULL;
    if (p->width < 16 || p->height < 16 || p->width > 8192 || p->height > 8192 || p->fps == 0) {
        return -EINVAL;
    }
    struct test_source *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    if (parse_arg(s, arg) != 0) {
        free(s);
        return -EINVAL;
    }
    s->w = p->width;
    s->h = p->height;
    s->cw = (p->width + 1) / 2;
    s->ch = (p->height + 1) / 2;
    s->noise = malloc(NOISE_SIZE + (size_t)s->w);
    s->col_y = malloc(s->w * sizeof(*s->col_y));
    s->col_u = malloc(s->cw);
    s->col_v = malloc(s->cw);
    s->bg = malloc((size_t)s->w * s->h + 2 * (size_t)s->cw * s->ch);
    if (s->noise == NULL || s->col_y == NULL || s->col_u == NULL || s->col_v == NULL ||
        s->bg == NULL) {
        test_destroy(&s->base);
        return -ENOMEM;
    }
    // A fixed xorshift seed: the pattern is the same on every run, which tests rely on.
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < NOISE_SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s->noise[i] = (signed char)((int)(x % (2 * NOISE_AMPLITUDE + 1)) - NOISE_AMPLITUDE);
    }
    memcpy(s->noise + NOISE_SIZE, s->noise, s->w);
    s->base.info.kind = "test";
    s->base.info.width = s->w;
    s->base.info.height = s->h;
    s->base.info.format = MJD_PIX_YUV420P;
    s->base.info.self_paced = false;
    s->base.info.max_frame_bytes = (size_t)s->w * s->h + 2 * (size_t)s->cw * s->ch;
    render_background(s);
    *out = &s->base;
    return 0;
}

static int test_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns)
{
    (void)deadline_ns;
    struct test_source *s = (struct test_source *)src;
    if (frame->cap < s->base.info.max_frame_bytes) {
        return -ENOBUFS;
    }
    render(s, frame);
    return 0;
}

const struct mjd_source_ops mjd_source_test_ops = {
    .kind = "test",
    .create = test_create,
    .destroy = test_destroy,
    .read = test_read,
};

// SPDX-License-Identifier: MIT
/* Unit tests for the software flip (src/mjpegd/flip.c) and its path through the encoder pool. */
#include "../testlib.h"

#include <errno.h>
#include <stdatomic.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "config_args.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "mjpegd/capture.h"
#include "mjpegd/demand.h"
#include "mjpegd/encoder.h"
#include "mjpegd/flip.h"
#include "mjpegd/hub.h"
#include "mjpegd/sources/pixconv.h"
#include "mjpegd/sources/source.h"

static unsigned rnd_state = 11;
static unsigned char rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (unsigned char)(rnd_state >> 16);
}

/* The pixel of an unflipped w x h picture that lands at (x, y) after flip. */
static size_t from(unsigned x, unsigned y, unsigned w, unsigned h, unsigned flip, size_t stride)
{
    unsigned sx = (flip & MJD_FLIP_H) != 0 ? w - 1 - x : x;
    unsigned sy = (flip & MJD_FLIP_V) != 0 ? h - 1 - y : y;
    return (size_t)sy * stride + sx;
}

TEST(flip_plane_exact_on_odd_sizes)
{
    // Odd sizes, a single row or column, lines around the 8-byte words the reversal moves
    // (8, 15, 16, 17, 24) and a line longer than swap_bytes' 256-byte chunk.
    static const unsigned sizes[][2] = { { 1, 1 },  { 1, 4 },  { 3, 5 },  { 7, 2 },  { 5, 1 },
                                         { 2, 3 },  { 8, 1 },  { 15, 3 }, { 16, 3 }, { 17, 2 },
                                         { 24, 5 }, { 33, 4 }, { 9, 9 },  { 301, 3 } };
    static const unsigned flips[] = { MJD_FLIP_H, MJD_FLIP_V, MJD_FLIP_H | MJD_FLIP_V };
    for (size_t k = 0; k < CORE_ARRAY_SIZE(sizes); k++) {
        unsigned w = sizes[k][0];
        unsigned h = sizes[k][1];
        size_t stride = w + 3; // padded lines: the padding must stay as it is
        size_t n = stride * h;
        unsigned char *orig = malloc(n);
        unsigned char *p = malloc(n);
        ASSERT_TRUE(orig != NULL && p != NULL);
        for (size_t i = 0; i < n; i++) {
            orig[i] = rnd();
        }
        for (size_t f = 0; f < CORE_ARRAY_SIZE(flips); f++) {
            memcpy(p, orig, n);
            mjd_flip_plane(p, stride, w, h, flips[f]);
            for (unsigned y = 0; y < h; y++) {
                for (unsigned x = 0; x < stride; x++) {
                    size_t at = (size_t)y * stride + x;
                    unsigned char want =
                            x < w ? orig[from(x, y, w, h, flips[f], stride)] : orig[at];
                    if (p[at] != want) {
                        test_fail(__FILE__, __LINE__, "%ux%u flip %u: (%u,%u) is %u, want %u", w, h,
                                  flips[f], x, y, p[at], want);
                    }
                }
            }
            mjd_flip_plane(p, stride, w, h, flips[f]); // twice: the original again
            ASSERT_EQ_MEM(p, orig, n);
        }
        mjd_flip_plane(p, stride, w, h, 0); // no flip: untouched
        ASSERT_EQ_MEM(p, orig, n);
        free(orig);
        free(p);
    }
}

TEST(flip_yuv420p_mirrors_each_plane)
{
    const unsigned w = 5, h = 3, cw = 3, ch = 2;
    size_t n = mjd_pixconv_yuv420p_size(w, h);
    ASSERT_EQ_U64(n, w * h + 2 * cw * ch);
    unsigned char orig[64], p[64];
    for (size_t i = 0; i < n; i++) {
        orig[i] = (unsigned char)i;
    }
    memcpy(p, orig, n);
    mjd_flip_yuv420p(p, w, h, MJD_FLIP_H | MJD_FLIP_V);
    for (unsigned y = 0; y < h; y++) {
        for (unsigned x = 0; x < w; x++) {
            ASSERT_EQ_INT(p[y * w + x], orig[from(x, y, w, h, MJD_FLIP_H | MJD_FLIP_V, w)]);
        }
    }
    for (unsigned c = 0; c < 2; c++) {
        size_t base = w * h + c * cw * ch;
        for (unsigned y = 0; y < ch; y++) {
            for (unsigned x = 0; x < cw; x++) {
                ASSERT_EQ_INT(p[base + y * cw + x],
                              orig[base + from(x, y, cw, ch, MJD_FLIP_H | MJD_FLIP_V, cw)]);
            }
        }
    }
}

TEST(flip_jpeg_perfect_follows_the_mcu_size)
{
    // 4:2:0 has 16x16 MCUs: 1080 rows are 67.5 of them, so only the vertical flip is imperfect.
    ASSERT_TRUE(mjd_flip_jpeg_perfect(1920, 1080, TJSAMP_420, MJD_FLIP_H));
    ASSERT_FALSE(mjd_flip_jpeg_perfect(1920, 1080, TJSAMP_420, MJD_FLIP_V));
    ASSERT_FALSE(mjd_flip_jpeg_perfect(1920, 1080, TJSAMP_420, MJD_FLIP_H | MJD_FLIP_V));
    ASSERT_TRUE(mjd_flip_jpeg_perfect(1280, 720, TJSAMP_420, MJD_FLIP_H | MJD_FLIP_V));
    ASSERT_TRUE(mjd_flip_jpeg_perfect(640, 480, TJSAMP_420, MJD_FLIP_H | MJD_FLIP_V));
    // 4:2:2 is 16x8: 1080 rows are whole MCUs there.
    ASSERT_TRUE(mjd_flip_jpeg_perfect(1920, 1080, TJSAMP_422, MJD_FLIP_V));
    ASSERT_TRUE(mjd_flip_jpeg_perfect(24, 40, TJSAMP_444, MJD_FLIP_H | MJD_FLIP_V));
    ASSERT_FALSE(mjd_flip_jpeg_perfect(20, 40, TJSAMP_444, MJD_FLIP_H));
    ASSERT_TRUE(mjd_flip_jpeg_perfect(20, 40, TJSAMP_444, MJD_FLIP_V));
    ASSERT_FALSE(mjd_flip_jpeg_perfect(16, 16, -1, MJD_FLIP_H));
}

/* A w x h JPEG of an asymmetric picture (gradients, a block, noise); tjFree it. */
static unsigned char *make_jpeg(int w, int h, int subsamp, int quality, unsigned long *len)
{
    unsigned char *rgb = malloc((size_t)w * h * 3);
    if (rgb == NULL) {
        return NULL;
    }
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned char *px = rgb + ((size_t)y * w + x) * 3;
            bool block = x < w / 3 && y < h / 4;
            px[0] = (unsigned char)(block ? 250 : x * 200 / w);
            px[1] = (unsigned char)(y * 200 / h + (rnd() & 7));
            px[2] = (unsigned char)((x + 2 * y) * 100 / (w + h));
        }
    }
    tjhandle tj = tjInitCompress();
    unsigned char *out = NULL;
    *len = 0;
    int rc = tj != NULL ? tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &out, len, subsamp, quality, 0)
                        : -1;
    tjDestroy(tj);
    free(rgb);
    if (rc != 0) {
        tjFree(out);
        return NULL;
    }
    return out;
}

/* The luma of a JPEG (its size must be w x h); free it. */
static unsigned char *luma(const unsigned char *jpeg, size_t len, int w, int h)
{
    tjhandle tj = tjInitDecompress();
    int gw = 0, gh = 0, ss = 0, cs = 0;
    unsigned char *g = malloc((size_t)w * h);
    if (tj == NULL || g == NULL ||
        tjDecompressHeader3(tj, jpeg, (unsigned long)len, &gw, &gh, &ss, &cs) != 0 || gw != w ||
        gh != h || tjDecompress2(tj, jpeg, (unsigned long)len, g, w, 0, h, TJPF_GRAY, 0) != 0) {
        free(g);
        g = NULL;
    }
    tjDestroy(tj);
    return g;
}

/* Mean and largest difference between got and want mirrored by flip. */
static void mirror_diff(const unsigned char *got, const unsigned char *want, unsigned w, unsigned h,
                        unsigned flip, double *mean, int *max)
{
    double sum = 0;
    *max = 0;
    for (unsigned y = 0; y < h; y++) {
        for (unsigned x = 0; x < w; x++) {
            int d = abs((int)got[(size_t)y * w + x] - (int)want[from(x, y, w, h, flip, w)]);
            sum += d;
            *max = d > *max ? d : *max;
        }
    }
    *mean = sum / ((double)w * h);
}

struct flip_case {
    int w, h, subsamp;
    unsigned flip;
    enum mjd_flip_how how;
    double mean;
    int max;
};

static void check_flip(struct mjd_jpeg_flipper *fl, const struct flip_case *c)
{
    unsigned long len = 0;
    unsigned char *jpeg = make_jpeg(c->w, c->h, c->subsamp, 90, &len);
    ASSERT_NOT_NULL(jpeg);
    const unsigned char *out = NULL;
    size_t out_len = 0;
    enum mjd_flip_how how = 0;
    ASSERT_OK(mjd_flip_jpeg(fl, jpeg, len, c->flip, 90, &out, &out_len, &how));
    if (how != c->how) {
        test_fail(__FILE__, __LINE__, "%dx%d flip %u: how %d, want %d", c->w, c->h, c->flip, how,
                  c->how);
    }
    unsigned char *a = luma(jpeg, len, c->w, c->h);
    unsigned char *b = luma(out, out_len, c->w, c->h); // same size: never cropped
    ASSERT_TRUE(a != NULL && b != NULL);
    double mean = 0;
    int max = 0;
    mirror_diff(b, a, (unsigned)c->w, (unsigned)c->h, c->flip, &mean, &max);
    if (mean > c->mean || max > c->max) {
        test_fail(__FILE__, __LINE__, "%dx%d flip %u: mean diff %.3f (<= %.3f), max %d (<= %d)",
                  c->w, c->h, c->flip, mean, c->mean, max, c->max);
    }
    // And it is a mirror, not the same picture: unflipped, the two differ a lot.
    mirror_diff(b, a, (unsigned)c->w, (unsigned)c->h, 0, &mean, &max);
    ASSERT_TRUE(mean > 5.0);
    free(a);
    free(b);
    tjFree(jpeg);
}

TEST(flip_jpeg_lossless_when_perfect_else_reencoded_never_cropped)
{
    struct mjd_jpeg_flipper *fl = NULL;
    ASSERT_OK(mjd_jpeg_flipper_create(&fl));
    const int H = MJD_FLIP_H, V = MJD_FLIP_V, HV = MJD_FLIP_H | MJD_FLIP_V;
    const struct flip_case cases[] = {
        // Whole MCUs: the coefficients move, the decoded picture is the exact mirror.
        { 64, 48, TJSAMP_420, H, MJD_FLIP_LOSSLESS, 0.0, 0 },
        { 64, 48, TJSAMP_420, V, MJD_FLIP_LOSSLESS, 0.0, 0 },
        { 64, 48, TJSAMP_420, HV, MJD_FLIP_LOSSLESS, 0.0, 0 },
        { 24, 16, TJSAMP_444, HV, MJD_FLIP_LOSSLESS, 0.0, 0 },
        // A partial MCU row at the bottom (40 = 2.5 MCUs of 16): h is still perfect.
        { 64, 40, TJSAMP_420, H, MJD_FLIP_LOSSLESS, 0.0, 0 },
        { 64, 40, TJSAMP_420, V, MJD_FLIP_REENCODED, 1.5, 24 },
        { 64, 40, TJSAMP_420, HV, MJD_FLIP_REENCODED, 1.5, 24 },
        // Partial MCUs on both edges, odd sizes: TurboJPEG pads the luma plane to 62x46, and
        // a flip of the whole padded plane moved the picture by a pixel (mean diff 4.3).
        { 61, 45, TJSAMP_420, H, MJD_FLIP_REENCODED, 1.5, 24 },
        { 61, 45, TJSAMP_420, HV, MJD_FLIP_REENCODED, 1.5, 24 },
        { 30, 17, TJSAMP_GRAY, V, MJD_FLIP_REENCODED, 1.5, 24 },
    };
    for (size_t i = 0; i < CORE_ARRAY_SIZE(cases); i++) {
        check_flip(fl, &cases[i]);
    }
    mjd_jpeg_flipper_destroy(fl);
}

TEST_WITH_TIMEOUT(flip_jpeg_1080p_vertical_is_reencoded_at_full_size, 30)
{
    struct mjd_jpeg_flipper *fl = NULL;
    ASSERT_OK(mjd_jpeg_flipper_create(&fl));
    const struct flip_case cases[] = {
        { 1920, 1080, TJSAMP_420, MJD_FLIP_H, MJD_FLIP_LOSSLESS, 0.0, 0 },
        { 1920, 1080, TJSAMP_420, MJD_FLIP_V, MJD_FLIP_REENCODED, 1.5, 24 },
        { 1280, 720, TJSAMP_420, MJD_FLIP_V, MJD_FLIP_LOSSLESS, 0.0, 0 },
    };
    for (size_t i = 0; i < CORE_ARRAY_SIZE(cases); i++) {
        check_flip(fl, &cases[i]);
    }
    mjd_jpeg_flipper_destroy(fl);
}

TEST(flip_jpeg_refuses_what_is_not_a_jpeg)
{
    struct mjd_jpeg_flipper *fl = NULL;
    ASSERT_OK(mjd_jpeg_flipper_create(&fl));
    static const unsigned char junk[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x02, 1, 2, 3, 0xff, 0xd9 };
    const unsigned char *out = NULL;
    size_t n = 0;
    enum mjd_flip_how how;
    ASSERT_EQ_INT(mjd_flip_jpeg(fl, junk, sizeof(junk), MJD_FLIP_H, 75, &out, &n, &how), -EINVAL);
    ASSERT_NULL(out);
    ASSERT_TRUE(mjd_jpeg_flipper_error(fl)[0] != '\0');
    unsigned long len = 0;
    unsigned char *jpeg = make_jpeg(32, 32, TJSAMP_420, 75, &len);
    ASSERT_NOT_NULL(jpeg);
    // The flipper still works after the refusal: libturbojpeg 2.1 left the handle failing
    // every later call with the same error until flip.c replaced it (tests/fuzz/mjpegd_flip.c).
    ASSERT_OK(mjd_flip_jpeg(fl, jpeg, len, MJD_FLIP_H, 75, &out, &n, &how));
    ASSERT_EQ_INT(how, MJD_FLIP_LOSSLESS);
    // The same JPEG with its DQT segment's length made 1: "Bogus marker length" in the header.
    unsigned char *bad = malloc(len);
    ASSERT_NOT_NULL(bad);
    memcpy(bad, jpeg, len);
    size_t dqt = 2;
    while (dqt + 3 < len && !(bad[dqt] == 0xff && bad[dqt + 1] == 0xdb)) {
        dqt++;
    }
    ASSERT_TRUE(dqt + 3 < len);
    bad[dqt + 2] = 0;
    bad[dqt + 3] = 1;
    ASSERT_EQ_INT(mjd_flip_jpeg(fl, bad, len, MJD_FLIP_V, 75, &out, &n, &how), -EINVAL);
    ASSERT_OK(mjd_flip_jpeg(fl, jpeg, len, MJD_FLIP_V, 75, &out, &n, &how)); // failed before
    free(bad);
    ASSERT_EQ_INT(mjd_flip_jpeg(fl, jpeg, len, 0, 75, &out, &n, &how), -EINVAL); // nothing asked
    // A cut JPEG: flipped past the decoder's warning, or refused; never a crash.
    int rc = mjd_flip_jpeg(fl, jpeg, len / 2, MJD_FLIP_V, 75, &out, &n, &how);
    ASSERT_TRUE(rc == 0 || rc == -EINVAL);
    tjFree(jpeg);
    mjd_jpeg_flipper_destroy(fl);
}

/* A frame with stray bytes before a marker (libjpeg's "extraneous bytes" warning) is flipped
 * all the same, into a whole JPEG of its size: never the untouched buffer of a refused
 * transform (libturbojpeg 2.1 reports that refusal as a warning too; tests/fuzz/mjpegd_flip.c
 * found it, its input is in the corpus). */
TEST(flip_jpeg_with_stray_bytes_gives_a_whole_mirrored_jpeg)
{
    unsigned long len = 0;
    unsigned char *jpeg = make_jpeg(64, 48, TJSAMP_420, 90, &len);
    ASSERT_NOT_NULL(jpeg);
    size_t sof = 2;
    while (sof + 1 < len && !(jpeg[sof] == 0xff && jpeg[sof + 1] == 0xc0)) {
        sof++;
    }
    ASSERT_TRUE(sof + 1 < len);
    size_t n = len + 60;
    unsigned char *odd = malloc(n);
    ASSERT_NOT_NULL(odd);
    memcpy(odd, jpeg, sof);
    memset(odd + sof, 0, 60);
    memcpy(odd + sof + 60, jpeg + sof, len - sof);
    struct mjd_jpeg_flipper *fl = NULL;
    ASSERT_OK(mjd_jpeg_flipper_create(&fl));
    const unsigned char *out = NULL;
    size_t out_len = 0;
    enum mjd_flip_how how;
    ASSERT_OK(mjd_flip_jpeg(fl, odd, n, MJD_FLIP_V, 90, &out, &out_len, &how));
    ASSERT_TRUE(out_len >= 4 && out[0] == 0xff && out[1] == 0xd8 && out[out_len - 2] == 0xff &&
                out[out_len - 1] == 0xd9);
    unsigned char *a = luma(jpeg, len, 64, 48);
    unsigned char *b = luma(out, out_len, 64, 48);
    ASSERT_TRUE(a != NULL && b != NULL);
    double mean = 0;
    int max = 0;
    mirror_diff(b, a, 64, 48, MJD_FLIP_V, &mean, &max);
    ASSERT_TRUE(mean < 1.5);
    free(a);
    free(b);
    mjd_jpeg_flipper_destroy(fl);
    free(odd);
    tjFree(jpeg);
}

static void frame_back(void *ctx, struct mjd_raw_frame *frame)
{
    (void)frame;
    atomic_fetch_add((atomic_int *)ctx, 1);
}

/* Submits f to a one-thread encoder and returns the JPEG it published (unref it). */
static struct core_buf *through_encoder(struct mjd_raw_frame *f)
{
    struct mjd_hub *hub = NULL;
    if (mjd_hub_create(&hub) != 0) {
        return NULL;
    }
    atomic_int back = 0;
    struct mjd_encoder_config ec = {
        .threads = 1, .backlog = 1, .quality = 90, .hub = hub, .done = frame_back, .done_ctx = &back
    };
    struct mjd_encoder *enc = NULL;
    struct core_buf *jpeg = NULL;
    if (mjd_encoder_create(&enc, &ec) == 0 && mjd_encoder_submit(enc, f) == 0 &&
        mjd_hub_wait_first(hub, core_now_ns() + 10 * CORE_NS_PER_SEC * test_timeout_multiplier()) ==
                0) {
        struct mjd_frame out;
        if (mjd_hub_latest(hub, &out)) {
            jpeg = out.jpeg;
        }
    }
    mjd_encoder_destroy(enc);
    mjd_hub_destroy(hub);
    return jpeg;
}

TEST(encoder_flips_jpeg_and_raw_frames)
{
    // A JPEG frame, as the capture thread sends one only when it needs the software flip.
    unsigned long len = 0;
    unsigned char *jpeg = make_jpeg(64, 48, TJSAMP_420, 90, &len);
    ASSERT_NOT_NULL(jpeg);
    struct mjd_raw_frame f = { .data = jpeg,
                               .cap = len,
                               .len = len,
                               .width = 64,
                               .height = 48,
                               .format = MJD_PIX_JPEG,
                               .seq = 1,
                               .flip = MJD_FLIP_V };
    struct core_buf *out = through_encoder(&f);
    ASSERT_NOT_NULL(out);
    unsigned char *a = luma(jpeg, len, 64, 48);
    unsigned char *b = luma(out->data, out->len, 64, 48);
    ASSERT_TRUE(a != NULL && b != NULL);
    double mean = 0;
    int max = 0;
    mirror_diff(b, a, 64, 48, MJD_FLIP_V, &mean, &max);
    ASSERT_EQ_INT(max, 0); // lossless
    free(a);
    free(b);
    core_buf_unref(out);
    tjFree(jpeg);

    // A YUV420P frame: its planes are mirrored before it is encoded. Left half dark, right
    // half bright; flipped h, the encoded picture is bright on the left.
    const unsigned w = 64, h = 32;
    size_t n = mjd_pixconv_yuv420p_size(w, h);
    unsigned char *yuv = malloc(n);
    ASSERT_NOT_NULL(yuv);
    memset(yuv, 128, n);
    for (unsigned y = 0; y < h; y++) {
        memset(yuv + (size_t)y * w, 20, w / 2);
        memset(yuv + (size_t)y * w + w / 2, 230, w / 2);
    }
    struct mjd_raw_frame r = { .data = yuv,
                               .cap = n,
                               .len = n,
                               .width = w,
                               .height = h,
                               .format = MJD_PIX_YUV420P,
                               .seq = 1,
                               .flip = MJD_FLIP_H };
    out = through_encoder(&r);
    ASSERT_NOT_NULL(out);
    unsigned char *g = luma(out->data, out->len, (int)w, (int)h);
    ASSERT_NOT_NULL(g);
    ASSERT_CMP_INT(g[(h / 2) * w + 4], >, 200);
    ASSERT_CMP_INT(g[(h / 2) * w + w - 5], <, 50);
    free(g);
    core_buf_unref(out);
    free(yuv);
}

TEST(flip_option_is_taken_for_every_source_kind)
{
    static struct mjd_config cfg;
    const char *const a[] = { "--source", "file:/srv/frames",
                              "--flip",   "v",
                              "--source", "test",
                              "--flip",   "h",
                              "--source", "pipe:-",
                              "--flip",   "vh",
                              "--source", "http://127.0.0.1:1/video",
                              "--flip",   "none",
                              NULL };
    ASSERT_EQ_INT(mjd_test_parse_args(&cfg, a), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 4);
    ASSERT_EQ_INT(cfg.sources[0].flip, MJD_FLIP_V);
    ASSERT_EQ_INT(cfg.sources[1].flip, MJD_FLIP_H);
    ASSERT_EQ_INT(cfg.sources[2].flip, MJD_FLIP_H | MJD_FLIP_V);
    ASSERT_EQ_INT(cfg.sources[3].flip, 0);
    const char *const bad[] = { "--source", "test", "--flip", "x", NULL };
    ASSERT_EQ_INT(mjd_test_parse_args(&cfg, bad), MJD_CONFIG_USAGE);
}

TEST(demand_names_how_the_flip_is_done)
{
    struct mjd_demand d;
    ASSERT_OK(mjd_demand_init(&d, 0));
    ASSERT_EQ_STR(mjd_demand_flip_name(&d), "none");
    mjd_demand_set_flip(&d, 0, MJD_FLIP_V);
    ASSERT_EQ_STR(mjd_demand_flip_name(&d), "software");
    mjd_demand_set_flip(&d, MJD_FLIP_H | MJD_FLIP_V, 0);
    ASSERT_EQ_STR(mjd_demand_flip_name(&d), "hardware");
    mjd_demand_set_flip(&d, MJD_FLIP_V, MJD_FLIP_H);
    ASSERT_EQ_STR(mjd_demand_flip_name(&d), "hardware+software");
    mjd_demand_release(&d);
}

/* The capture thread sends a JPEG source's frames through the encoder pool to be flipped (a
 * file: source has no hardware flip), and says so in the demand record /state reads. */
TEST_WITH_TIMEOUT(capture_flips_a_jpeg_source_in_software, 30)
{
    unsigned long len = 0;
    unsigned char *jpeg = make_jpeg(64, 48, TJSAMP_420, 90, &len);
    ASSERT_NOT_NULL(jpeg);
    char path[512];
    snprintf(path, sizeof(path), "%s/f.jpg", test_tmpdir());
    FILE *fp = fopen(path, "wb");
    ASSERT_NOT_NULL(fp);
    ASSERT_EQ_INT(fwrite(jpeg, 1, len, fp), len);
    ASSERT_OK(fclose(fp));
    char spec[600];
    snprintf(spec, sizeof(spec), "file:%s", path);
    struct mjd_source_params params = { .width = 64, .height = 48, .fps = 20, .flip = MJD_FLIP_V };
    struct mjd_source *src = NULL;
    ASSERT_OK(mjd_source_create(&src, spec, &params));
    ASSERT_EQ_INT(mjd_source_get_info(src)->flip_done, 0);
    struct mjd_hub *hub = NULL;
    ASSERT_OK(mjd_hub_create(&hub));
    struct mjd_demand d;
    ASSERT_OK(mjd_demand_init(&d, 0));
    struct mjd_capture_config cc = {
        .source = src,
        .hub = hub,
        .fps = 20,
        .quality = 75,
        .encoder_threads = 2,
        .demand = &d,
        .spec = spec,
        .params = params,
    };
    struct mjd_capture *cap = NULL;
    ASSERT_OK(mjd_capture_start(&cap, &cc));
    ASSERT_OK(mjd_hub_wait_first(hub,
                                 core_now_ns() + 20 * CORE_NS_PER_SEC * test_timeout_multiplier()));
    ASSERT_EQ_STR(mjd_demand_flip_name(&d), "software"); // stored before the frame was sent
    struct mjd_frame f;
    ASSERT_TRUE(mjd_hub_latest(hub, &f));
    mjd_capture_stop(cap);
    unsigned char *a = luma(jpeg, len, 64, 48);
    unsigned char *b = luma(f.jpeg->data, f.jpeg->len, 64, 48);
    ASSERT_TRUE(a != NULL && b != NULL);
    double mean = 0;
    int max = 0;
    mirror_diff(b, a, 64, 48, MJD_FLIP_V, &mean, &max);
    ASSERT_EQ_INT(max, 0); // 64x48 4:2:0: whole MCUs, lossless
    free(a);
    free(b);
    core_buf_unref(f.jpeg);
    mjd_demand_release(&d);
    mjd_hub_destroy(hub);
    tjFree(jpeg);
    (void)unlink(path);
}

// SPDX-License-Identifier: MIT
/* --flip in software: raw planes before encoding, JPEG frames by a lossless transform. */
#include "mjpegd/flip.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/sources/source.h"

/* Swaps n bytes of a and b (distinct lines) through a small stack chunk: no scratch buffer. */
static void swap_bytes(unsigned char *a, unsigned char *b, size_t n)
{
    unsigned char tmp[256];
    while (n > 0) {
        size_t k = n < sizeof(tmp) ? n : sizeof(tmp);
        memcpy(tmp, a, k);
        memcpy(a, b, k);
        memcpy(b, tmp, k);
        a += k;
        b += k;
        n -= k;
    }
}

/* 8 bytes at p, reversed. */
static uint64_t load_reversed(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return __builtin_bswap64(v);
}

static void store(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* Reverses w bytes in place, 8 from each end at a time (byte swaps of 64-bit words), then
 * byte by byte in the middle. */
static void reverse_line(unsigned char *p, unsigned w)
{
    size_t i = 0;
    size_t j = w; // one past the right end
    while (j - i >= 16) {
        uint64_t a = load_reversed(p + i);
        uint64_t b = load_reversed(p + j - 8);
        store(p + i, b);
        store(p + j - 8, a);
        i += 8;
        j -= 8;
    }
    while (j - i >= 2) {
        unsigned char t = p[i];
        p[i] = p[j - 1];
        p[j - 1] = t;
        i++;
        j--;
    }
}

/* Lines a and b (distinct) swapped, each reversed on the way: one pass of a 180-degree turn. */
static void swap_reversed(unsigned char *a, unsigned char *b, unsigned w)
{
    size_t x = 0;
    for (; x + 8 <= w; x += 8) {
        uint64_t va = load_reversed(a + x);
        uint64_t vb = load_reversed(b + w - x - 8);
        store(a + x, vb);
        store(b + w - x - 8, va);
    }
    for (; x < w; x++) {
        unsigned char t = a[x];
        a[x] = b[w - 1 - x];
        b[w - 1 - x] = t;
    }
}

void mjd_flip_plane(unsigned char *p, size_t stride, unsigned w, unsigned h, unsigned flip)
{
    bool hf = (flip & MJD_FLIP_H) != 0;
    bool vf = (flip & MJD_FLIP_V) != 0;
    if (w == 0 || h == 0 || (!hf && !vf)) {
        return;
    }
    if (!vf) {
        for (unsigned y = 0; y < h; y++) {
            reverse_line(p + (size_t)y * stride, w);
        }
        return;
    }
    for (unsigned y = 0; y < h / 2; y++) {
        unsigned char *a = p + (size_t)y * stride;
        unsigned char *b = p + (size_t)(h - 1 - y) * stride;
        if (hf) {
            swap_reversed(a, b, w);
        } else {
            swap_bytes(a, b, w);
        }
    }
    if (hf && h % 2 == 1) {
        reverse_line(p + (size_t)(h / 2) * stride, w); // the middle line of an odd height
    }
}

void mjd_flip_yuv420p(unsigned char *data, unsigned w, unsigned h, unsigned flip)
{
    unsigned cw = (w + 1) / 2;
    unsigned ch = (h + 1) / 2;
    unsigned char *u = data + (size_t)w * h;
    unsigned char *v = u + (size_t)cw * ch;
    mjd_flip_plane(data, w, w, h, flip);
    mjd_flip_plane(u, cw, cw, ch, flip);
    mjd_flip_plane(v, cw, cw, ch, flip);
}

bool mjd_flip_jpeg_perfect(unsigned w, unsigned h, int subsamp, unsigned flip)
{
    if (subsamp < 0 || subsamp >= TJ_NUMSAMP) {
        return false;
    }
    bool right = (flip & MJD_FLIP_H) == 0 || w % (unsigned)tjMCUWidth[subsamp] == 0;
    bool bottom = (flip & MJD_FLIP_V) == 0 || h % (unsigned)tjMCUHeight[subsamp] == 0;
    return right && bottom;
}

struct mjd_jpeg_flipper {
    tjhandle tj;        /* tjInitTransform: transforms, and decodes and encodes too; NULL
                           after a failed renewal (out of memory), made again on next use */
    unsigned char *out; /* tjAlloc'ed, cap bytes: the flipped JPEG */
    unsigned long cap;  /* always >= tjBufSize of the last picture when used */
    unsigned char *yuv; /* the re-encode's decoded planes, yuv_cap bytes */
    size_t yuv_cap;
    char error[200]; /* the last failure's message (TurboJPEG's copied: the handle that
                        held it may be gone) */
};

static void set_error(struct mjd_jpeg_flipper *fl, const char *msg)
{
    snprintf(fl->error, sizeof(fl->error), "%s", msg);
}

int mjd_jpeg_flipper_create(struct mjd_jpeg_flipper **out)
{
    *out = NULL;
    struct mjd_jpeg_flipper *fl = calloc(1, sizeof(*fl));
    if (fl == NULL) {
        return -ENOMEM;
    }
    fl->tj = tjInitTransform();
    if (fl->tj == NULL) {
        free(fl);
        return -ENOMEM;
    }
    *out = fl;
    return 0;
}

void mjd_jpeg_flipper_destroy(struct mjd_jpeg_flipper *fl)
{
    if (fl == NULL) {
        return;
    }
    tjFree(fl->out);
    free(fl->yuv);
    if (fl->tj != NULL) {
        tjDestroy(fl->tj);
    }
    free(fl);
}

const char *mjd_jpeg_flipper_error(struct mjd_jpeg_flipper *fl)
{
    return fl->error;
}

/*
 * A fresh handle. libturbojpeg 2.1 can leave a handle that met a bad JPEG in a state where every
 * later call fails (a header read that failed, and one that only gave an unknown subsampling:
 * both found by tests/fuzz/mjpegd_flip.c; motion.c meets the same), and one garbage frame from a
 * relay must not stop the flip of every later one: so the handle is replaced after any call
 * that did not simply succeed. NULL (out of memory) is made again by the next call.
 */
static void renew(struct mjd_jpeg_flipper *fl)
{
    if (fl->tj != NULL) {
        tjDestroy(fl->tj);
    }
    fl->tj = tjInitTransform();
}

/*
 * A TurboJPEG call's result. With warning_ok, a warning (corrupt data the decoder got past) is
 * no failure: only for reads whose output is checked or harmless (a header's numbers, decoded
 * pixels). Never for a transform: libturbojpeg 2.1 reports a call that failed after an earlier
 * warning of the same call as TJERR_WARNING too (a frame with stray bytes whose transform
 * was then refused left its untouched buffer to be published; found by
 * tests/fuzz/mjpegd_flip.c). The handle is replaced after anything but a plain success.
 */
static bool tj_ok(struct mjd_jpeg_flipper *fl, int rc, bool warning_ok)
{
    if (rc == 0) {
        return true;
    }
    bool warning = fl->tj != NULL && tjGetErrorCode(fl->tj) == TJERR_WARNING;
    set_error(fl, tjGetErrorStr2(fl->tj));
    renew(fl);
    return warning && warning_ok;
}

/* True if out looks like one whole JPEG (SOI first, EOI last): the last guard before a buffer
 * is published. */
static bool whole_jpeg(const unsigned char *out, size_t len)
{
    return len >= 4 && out[0] == 0xff && out[1] == 0xd8 && out[len - 2] == 0xff &&
           out[len - 1] == 0xd9;
}

/* The output buffer at least tjBufSize(w, h, subsamp): what TJFLAG_NOREALLOC assumes. */
static int reserve_out(struct mjd_jpeg_flipper *fl, int w, int h, int subsamp)
{
    unsigned long need = tjBufSize(w, h, subsamp);
    if (need == (unsigned long)-1 || need > INT_MAX) {
        return -E2BIG;
    }
    if (fl->cap < need) {
        tjFree(fl->out);
        fl->out = tjAlloc((int)need);
        fl->cap = fl->out != NULL ? need : 0;
        if (fl->out == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

static int op_of(unsigned flip)
{
    bool hf = (flip & MJD_FLIP_H) != 0;
    bool vf = (flip & MJD_FLIP_V) != 0;
    return hf && vf ? TJXOP_ROT180 : hf ? TJXOP_HFLIP : TJXOP_VFLIP;
}

/* The lossless way: tjTransform of the coefficients, refusing anything imperfect. */
static int transform(struct mjd_jpeg_flipper *fl, const unsigned char *jpeg, unsigned long len,
                     int w, int h, int subsamp, unsigned flip, size_t *out_len)
{
    int rc = reserve_out(fl, w, h, subsamp);
    if (rc != 0) {
        return rc;
    }
    tjtransform xf;
    memset(&xf, 0, sizeof(xf));
    xf.op = op_of(flip);
    xf.options = TJXOPT_PERFECT; // never the strips of an imperfect transform, never a trim
    unsigned char *dst = fl->out;
    unsigned long size = fl->cap;
    // NOREALLOC: the buffer is tjBufSize; markers copied from a huge EXIF could outgrow it,
    // which fails here and goes the re-encoding way instead.
    if (!tj_ok(fl, tjTransform(fl->tj, jpeg, len, 1, &dst, &size, &xf, TJFLAG_NOREALLOC), false) ||
        !whole_jpeg(dst, size)) {
        return -EINVAL;
    }
    *out_len = size;
    return 0;
}

/* The fallback: decode to the JPEG's own YUV planes, mirror them, encode at quality. */
static int reencode(struct mjd_jpeg_flipper *fl, const unsigned char *jpeg, unsigned long len,
                    int w, int h, int subsamp, unsigned flip, int quality, size_t *out_len)
{
    int nplanes = subsamp == TJSAMP_GRAY ? 1 : 3;
    int pw[3] = { 0, 0, 0 };
    int ph[3] = { 0, 0, 0 };
    size_t total = 0;
    for (int i = 0; i < nplanes; i++) {
        pw[i] = tjPlaneWidth(i, w, subsamp);
        ph[i] = tjPlaneHeight(i, h, subsamp);
        if (pw[i] <= 0 || ph[i] <= 0) {
            set_error(fl, "no plane size for this subsampling");
            return -EINVAL;
        }
        total += (size_t)pw[i] * (size_t)ph[i];
    }
    if (fl->yuv_cap < total) {
        free(fl->yuv);
        fl->yuv = malloc(total);
        fl->yuv_cap = fl->yuv != NULL ? total : 0;
        if (fl->yuv == NULL) {
            return -ENOMEM;
        }
    }
    unsigned char *planes[3] = { NULL, NULL, NULL };
    size_t off = 0;
    for (int i = 0; i < nplanes; i++) {
        planes[i] = fl->yuv + off;
        off += (size_t)pw[i] * (size_t)ph[i];
    }
    if (!tj_ok(fl, tjDecompressToYUVPlanes(fl->tj, jpeg, len, planes, w, pw, h, 0), true)) {
        return -EINVAL;
    }
    // TurboJPEG pads the luma plane to whole chroma samples (a 61x45 4:2:0 picture has a
    // 62x46 luma plane): only the picture's own w x h is mirrored there, or it would move by
    // the padding. Chroma planes are mirrored whole (half a chroma sample off for odd sizes).
    mjd_flip_plane(planes[0], (size_t)pw[0], (unsigned)w, (unsigned)h, flip);
    for (int i = 1; i < nplanes; i++) {
        mjd_flip_plane(planes[i], (size_t)pw[i], (unsigned)pw[i], (unsigned)ph[i], flip);
    }
    int rc = reserve_out(fl, w, h, subsamp);
    if (rc != 0) {
        return rc;
    }
    const unsigned char *src[3] = { planes[0], planes[1], planes[2] };
    unsigned char *dst = fl->out;
    unsigned long size = fl->cap;
    if (fl->tj == NULL) {
        set_error(fl, "out of memory");
        return -ENOMEM; // the handle replaced after a warning of the decode could not be made
    }
    if (!tj_ok(fl,
               tjCompressFromYUVPlanes(fl->tj, src, w, pw, h, subsamp, &dst, &size, quality,
                                       TJFLAG_NOREALLOC | TJFLAG_FASTDCT),
               false) ||
        !whole_jpeg(dst, size)) {
        return -EINVAL;
    }
    *out_len = size;
    return 0;
}

/* The JPEG's size and subsampling, checked against what a flip takes. */
static int read_header(struct mjd_jpeg_flipper *fl, const unsigned char *jpeg, size_t len,
                       unsigned flip, int *w, int *h, int *subsamp)
{
    if ((flip & (MJD_FLIP_H | MJD_FLIP_V)) == 0 || len == 0 || len > ULONG_MAX) {
        set_error(fl, "nothing to flip");
        return -EINVAL;
    }
    if (fl->tj == NULL && (fl->tj = tjInitTransform()) == NULL) {
        set_error(fl, "out of memory");
        return -ENOMEM;
    }
    int cs = 0;
    *w = 0;
    *h = 0;
    *subsamp = -1;
    if (!tj_ok(fl, tjDecompressHeader3(fl->tj, jpeg, (unsigned long)len, w, h, subsamp, &cs),
               true)) {
        return -EINVAL;
    }
    if (*w <= 0 || *h <= 0 || *subsamp < 0 || *subsamp >= TJ_NUMSAMP) {
        set_error(fl, "unknown size or subsampling");
        renew(fl);
        return -EINVAL;
    }
    if ((size_t)*w * (size_t)*h > MJD_FLIP_MAX_PIXELS) {
        set_error(fl, "picture too large to flip");
        return -E2BIG;
    }
    return 0;
}

int mjd_flip_jpeg_reencode(struct mjd_jpeg_flipper *fl, const unsigned char *jpeg, size_t len,
                           unsigned flip, int quality, const unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    int w = 0, h = 0, subsamp = -1;
    int rc = read_header(fl, jpeg, len, flip, &w, &h, &subsamp);
    size_t n = 0;
    if (rc == 0) {
        rc = reencode(fl, jpeg, (unsigned long)len, w, h, subsamp, flip, quality, &n);
    }
    if (rc == 0) {
        *out = fl->out;
        *out_len = n;
    }
    return rc;
}

int mjd_flip_jpeg(struct mjd_jpeg_flipper *fl, const unsigned char *jpeg, size_t len, unsigned flip,
                  int quality, const unsigned char **out, size_t *out_len, enum mjd_flip_how *how)
{
    *out = NULL;
    *out_len = 0;
    int w = 0, h = 0, subsamp = -1;
    int rc = read_header(fl, jpeg, len, flip, &w, &h, &subsamp);
    if (rc != 0) {
        return rc;
    }
    if (mjd_flip_jpeg_perfect((unsigned)w, (unsigned)h, subsamp, flip)) {
        size_t n = 0;
        rc = transform(fl, jpeg, (unsigned long)len, w, h, subsamp, flip, &n);
        if (rc == 0) {
            *out = fl->out;
            *out_len = n;
            *how = MJD_FLIP_LOSSLESS;
            return 0;
        }
        if (rc != -EINVAL) {
            return rc;
        }
        // Refused (markers too large for the buffer, say): the re-encode may still do it.
    }
    rc = mjd_flip_jpeg_reencode(fl, jpeg, len, flip, quality, out, out_len);
    if (rc == 0) {
        *how = MJD_FLIP_REENCODED;
    }
    return rc;
}

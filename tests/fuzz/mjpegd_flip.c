// SPDX-License-Identifier: MIT
/* libFuzzer target: the software --flip of hostile JPEG frames (src/mjpegd/flip.c), as an
 * encoder thread flips what a relay, pipe or file hands it. Input: one byte choosing the flip
 * (its low two bits; 0 means both), then the JPEG. Properties: the result is 0 or one of the
 * documented errnos; a flipped JPEG has the input's size (never cropped) and decodes; after
 * any input, the same flipper still flips a good frame (a failure must not leave its handle
 * or buffers broken). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <turbojpeg.h>

#include "mjpegd/flip.h"
#include "mjpegd/sources/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mjd_jpeg_flipper *fl; /* one for the whole run, as an encoder thread keeps it */
static tjhandle dec;
static unsigned char *good; /* a small valid JPEG, made once */
static unsigned long good_len;

static void init(void)
{
    static unsigned char grey[40 * 24];
    for (size_t i = 0; i < sizeof(grey); i++) {
        grey[i] = (unsigned char)(i * 7);
    }
    tjhandle tj = tjInitCompress();
    dec = tjInitDecompress();
    if (tj == NULL || dec == NULL || mjd_jpeg_flipper_create(&fl) != 0 ||
        tjCompress2(tj, grey, 40, 0, 24, TJPF_GRAY, &good, &good_len, TJSAMP_GRAY, 80, 0) != 0) {
        abort();
    }
    tjDestroy(tj);
}

/* The header of a JPEG the flipper accepted: it must read (a warning, corrupt data libjpeg
 * gets past, is no failure: libturbojpeg 2.1 returns -1 for it too). */
static void header(const unsigned char *jpeg, size_t len, int *w, int *h)
{
    int ss = 0, cs = 0;
    if (tjDecompressHeader3(dec, jpeg, (unsigned long)len, w, h, &ss, &cs) != 0 &&
        tjGetErrorCode(dec) != TJERR_WARNING) {
        abort();
    }
}

/* out is a JPEG of w x h. */
static void check_size(const unsigned char *out, size_t len, int w, int h)
{
    int ow = 0, oh = 0;
    header(out, len, &ow, &oh);
    if (ow != w || oh != h) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fl == NULL) {
        init();
    }
    if (size < 1) {
        return 0;
    }
    unsigned flip = data[0] & 3u;
    flip = flip == 0 ? (MJD_FLIP_H | MJD_FLIP_V) : flip;
    const unsigned char *jpeg = data + 1;
    size_t len = size - 1;
    const unsigned char *out = NULL;
    size_t out_len = 0;
    enum mjd_flip_how how = MJD_FLIP_LOSSLESS;
    int rc = mjd_flip_jpeg(fl, jpeg, len, flip, 75, &out, &out_len, &how);
    if (rc == 0) {
        int w = 0, h = 0;
        if (out == NULL || out_len == 0) {
            abort();
        }
        header(jpeg, len, &w, &h);
        check_size(out, out_len, w, h);
    } else if (rc != -EINVAL && rc != -E2BIG && rc != -ENOMEM) {
        abort();
    } else if (out != NULL) {
        abort();
    }
    // The flipper still works: 40x24 grey is whole 8x8 MCUs, so every flip is lossless.
    if (mjd_flip_jpeg(fl, good, good_len, flip, 75, &out, &out_len, &how) != 0 ||
        how != MJD_FLIP_LOSSLESS) {
        abort();
    }
    check_size(out, out_len, 40, 24);
    return 0;
}

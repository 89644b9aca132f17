// SPDX-License-Identifier: MIT
/* libFuzzer target: the motion detector's 1/8-scale decode of hostile frames. Properties: a
 * frame gives a score in 0..100 or one of the documented negative errnos; the same frame again
 * scores 0 (it is the background now); after any input, a good frame still decodes (a failed
 * decode must not leave the decompressor broken). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <turbojpeg.h>

#include "mjpegd/motion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small valid JPEG, made once. */
static unsigned char *good;
static unsigned long good_len;

static void make_good(void)
{
    static unsigned char grey[32 * 24];
    for (size_t i = 0; i < sizeof(grey); i++) {
        grey[i] = (unsigned char)(i * 7);
    }
    tjhandle tj = tjInitCompress();
    if (tj == NULL ||
        tjCompress2(tj, grey, 32, 0, 24, TJPF_GRAY, &good, &good_len, TJSAMP_GRAY, 80, 0) != 0) {
        abort();
    }
    tjDestroy(tj);
}

static void check(double s)
{
    if (!((s >= 0.0 && s <= 100.0) || s == -EBADMSG || s == -E2BIG || s == -ENOMEM)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (good == NULL) {
        make_good();
    }
    struct mjd_motion *m = NULL;
    if (mjd_motion_create(&m, MJD_MOTION_DEFAULT_THRESHOLD) != 0) {
        return 0;
    }
    double s = mjd_motion_feed(m, data, size, 0);
    check(s);
    if (s >= 0.0) {
        // Decoded: it started the background, so the very same frame again has no motion.
        double again = mjd_motion_feed(m, data, size, 33000000);
        if (again != 0.0) {
            abort();
        }
    }
    if (mjd_motion_feed(m, good, good_len, 66000000) < 0.0) {
        abort();
    }
    mjd_motion_destroy(m);
    return 0;
}

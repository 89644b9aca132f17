// SPDX-License-Identifier: MIT
/* Motion detection on JPEG frames: 1/8-scale luma against a running background. */
#include "mjpegd/motion.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <turbojpeg.h>

#include "core/clock.h"

/* Everything belongs to the one thread that feeds the detector. */
struct mjd_motion {
    double threshold; /* immutable */
    tjhandle tj;
    unsigned char *px; /* the last small picture, cap bytes */
    size_t cap;
    float *bg;  /* the background, bw * bh blocks; valid when have_bg */
    int bw, bh; /* the small picture's size */
    bool have_bg;
    int64_t last_ns;     /* mono time of the last decoded frame */
    int64_t last_hit_ns; /* mono time of the last frame at or above the threshold */
    bool hit_seen;       /* last_hit_ns is valid (since the background started) */
    bool active;
};

int mjd_motion_create(struct mjd_motion **out, double threshold)
{
    *out = NULL;
    if (!(threshold > 0.0 && threshold <= 100.0)) {
        return -EINVAL;
    }
    struct mjd_motion *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return -ENOMEM;
    }
    m->threshold = threshold;
    m->tj = tjInitDecompress();
    if (m->tj == NULL) {
        free(m);
        return -ENOMEM;
    }
    *out = m;
    return 0;
}

void mjd_motion_destroy(struct mjd_motion *m)
{
    if (m == NULL) {
        return;
    }
    if (m->tj != NULL) {
        tjDestroy(m->tj);
    }
    free(m->px);
    free(m->bg);
    free(m);
}

/*
 * libturbojpeg 2.1 leaves a handle whose header read failed in a state where every later call
 * fails with the same error (one garbage frame would blind the detector for good), so a failed
 * decode replaces the handle. NULL (out of memory) is retried on the next frame.
 */
static int renew_handle(struct mjd_motion *m, int rc)
{
    if (m->tj != NULL) {
        tjDestroy(m->tj);
    }
    m->tj = tjInitDecompress();
    return rc;
}

/*
 * True if libjpeg will hold the whole image's coefficients in memory to decode jpeg: a
 * progressive frame, or one whose first scan does not carry every component (libjpeg's
 * has_multiple_scans). That buffer is 2 bytes per pixel per component whatever the output
 * scale, so a few hostile header bytes could ask for hundreds of MB; such frames get the smaller
 * MJD_MOTION_MAX_BUFFERED_PIXELS. True too when the header walk cannot tell.
 */
static bool buffered_decode(const uint8_t *jpeg, size_t len)
{
    unsigned nf = 0;
    bool progressive = false;
    size_t p = 2;
    while (p + 4 <= len) {
        if (jpeg[p] != 0xff) {
            return true;
        }
        unsigned mk = jpeg[p + 1];
        if (mk == 0xff) {
            p++; // fill byte
            continue;
        }
        if (mk == 0x01 || (mk >= 0xd0 && mk <= 0xd8)) {
            p += 2; // no length
            continue;
        }
        size_t seg = ((size_t)jpeg[p + 2] << 8) | jpeg[p + 3];
        if (seg < 2 || p + 2 + seg > len) {
            return true;
        }
        if (mk >= 0xc0 && mk <= 0xcf && mk != 0xc4 && mk != 0xc8 && mk != 0xcc) {
            if (seg < 8) {
                return true;
            }
            nf = jpeg[p + 9];
            progressive = mk == 0xc2 || mk == 0xc6 || mk == 0xca || mk == 0xce;
        } else if (mk == 0xda) {
            return nf == 0 || progressive || seg < 3 || jpeg[p + 4] < nf;
        }
        p += 2 + seg;
    }
    return true;
}

/* Decodes jpeg into m->px at 1/8 scale, luma only; sets *bw, *bh. 0 or a negative errno. */
static int decode_small(struct mjd_motion *m, const uint8_t *jpeg, size_t len, int *bw, int *bh)
{
    if (m->tj == NULL) {
        m->tj = tjInitDecompress();
        if (m->tj == NULL) {
            return -ENOMEM;
        }
    }
    int w = 0;
    int h = 0;
    int sub = 0;
    int cs = 0;
    if (len == 0 || len > (size_t)0xffffffffu) {
        return -EBADMSG;
    }
    if (tjDecompressHeader3(m->tj, jpeg, (unsigned long)len, &w, &h, &sub, &cs) != 0) {
        return renew_handle(m, -EBADMSG);
    }
    if (w <= 0 || h <= 0) {
        return -EBADMSG;
    }
    // Checked before the decoder allocates anything for the frame: a hostile header can claim
    // 65500x65500 in a few bytes.
    if (w > MJD_MOTION_MAX_DIM || h > MJD_MOTION_MAX_DIM ||
        ((size_t)w * (size_t)h > MJD_MOTION_MAX_BUFFERED_PIXELS && buffered_decode(jpeg, len))) {
        return -E2BIG;
    }
    const tjscalingfactor eighth = { 1, 8 };
    int sw = TJSCALED(w, eighth);
    int sh = TJSCALED(h, eighth);
    size_t need = (size_t)sw * (size_t)sh;
    if (m->cap < need) {
        unsigned char *px = realloc(m->px, need);
        if (px == NULL) {
            return -ENOMEM;
        }
        m->px = px;
        m->cap = need;
    }
    // TJFLAG_LIMITSCANS bounds the work a hostile progressive JPEG can ask for. A warning (a
    // slightly corrupt frame from a camera) still leaves a whole picture, so only errors count.
    if (tjDecompress2(m->tj, jpeg, (unsigned long)len, m->px, sw, sw, sh, TJPF_GRAY,
                      TJFLAG_LIMITSCANS) != 0 &&
        tjGetErrorCode(m->tj) != TJERR_WARNING) {
        return renew_handle(m, -EBADMSG);
    }
    *bw = sw;
    *bh = sh;
    return 0;
}

/* Starts a new background from the picture in m->px. */
static int restart(struct mjd_motion *m, int bw, int bh)
{
    size_t n = (size_t)bw * (size_t)bh;
    if (m->bw != bw || m->bh != bh || m->bg == NULL) {
        float *bg = realloc(m->bg, n * sizeof(*bg));
        if (bg == NULL) {
            return -ENOMEM;
        }
        m->bg = bg;
        m->bw = bw;
        m->bh = bh;
    }
    for (size_t i = 0; i < n; i++) {
        m->bg[i] = (float)m->px[i];
    }
    m->have_bg = true;
    m->hit_seen = false;
    m->active = false;
    return 0;
}

double mjd_motion_feed(struct mjd_motion *m, const uint8_t *jpeg, size_t len, int64_t mono_ns)
{
    int bw = 0;
    int bh = 0;
    int rc = decode_small(m, jpeg, len, &bw, &bh);
    if (rc != 0) {
        return rc;
    }
    int64_t dt = mono_ns - m->last_ns;
    if (!m->have_bg || bw != m->bw || bh != m->bh || dt < 0 ||
        dt > (int64_t)MJD_MOTION_GAP_MS * CORE_NS_PER_MS) {
        rc = restart(m, bw, bh);
        if (rc != 0) {
            m->have_bg = false;
            return rc;
        }
        m->last_ns = mono_ns;
        return 0.0;
    }
    m->last_ns = mono_ns;
    // The weight of this frame in the background: 1 - e^(-dt/tau), the same decay per second
    // at any frame rate.
    float a = (float)(1.0 - exp(-(double)dt / ((double)MJD_MOTION_BG_TAU_MS * CORE_NS_PER_MS)));
    size_t n = (size_t)bw * (size_t)bh;
    size_t changed = 0;
    for (size_t i = 0; i < n; i++) {
        float v = (float)m->px[i];
        float d = v - m->bg[i];
        changed += (d > (float)MJD_MOTION_BLOCK_DIFF || d < -(float)MJD_MOTION_BLOCK_DIFF);
        m->bg[i] += a * d;
    }
    double score = 100.0 * (double)changed / (double)n;
    if (score >= m->threshold) {
        m->last_hit_ns = mono_ns;
        m->hit_seen = true;
    }
    m->active =
            m->hit_seen && mono_ns - m->last_hit_ns <= (int64_t)MJD_MOTION_HOLD_MS * CORE_NS_PER_MS;
    return score;
}

bool mjd_motion_active(const struct mjd_motion *m)
{
    return m->active;
}

// SPDX-License-Identifier: MIT
/* Test helpers of the v4l2 source's unit tests (see v4l2_rig.h). */
#include "v4l2_rig.h"

#include "../testlib.h"

#include <linux/videodev2.h>
#include <turbojpeg.h>

#include "core/clock.h"
#include "mjpegd/sources/pixconv.h"

void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    fake_v4l2_init(&r->dev);
    r->ops = fake_v4l2_ops(&r->dev);
}

void rig_init_mplane(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    fake_v4l2_init_mplane(&r->dev);
    r->ops = fake_v4l2_ops(&r->dev);
}

int rig_open(struct rig *r, const struct mjd_source_params *p)
{
    int rc = mjd_v4l2_create(&r->src, "/dev/video7", p, &r->ops);
    if (rc == 0) {
        const struct mjd_source_info *info = mjd_source_get_info(r->src);
        r->frame.cap = info->max_frame_bytes;
        r->frame.data = malloc(r->frame.cap);
        ASSERT_NOT_NULL(r->frame.data);
    }
    return rc;
}

int rig_read(struct rig *r)
{
    r->frame.len = 0;
    return mjd_source_read(r->src, &r->frame, core_now_ns() + 100 * CORE_NS_PER_MS);
}

struct mjd_v4l2_stats rig_stats(const struct rig *r)
{
    struct mjd_v4l2_stats st;
    mjd_v4l2_get_stats(r->src, &st);
    return st;
}

void rig_done(struct rig *r)
{
    mjd_source_destroy(r->src);
    r->src = NULL;
    free(r->frame.data);
    r->frame.data = NULL;
    fake_v4l2_release(&r->dev);
}

struct mjd_source_params rig_params(unsigned w, unsigned h, unsigned format)
{
    return (struct mjd_source_params){ .width = w, .height = h, .fps = 30, .format = format };
}

unsigned char *rig_make_jpeg(unsigned w, unsigned h, unsigned long *len)
{
    unsigned char *rgb = malloc((size_t)w * h * 3);
    ASSERT_NOT_NULL(rgb);
    unsigned s = 7;
    for (unsigned y = 0; y < h; y++) {
        for (unsigned x = 0; x < w; x++) {
            unsigned char *p = rgb + ((size_t)y * w + x) * 3;
            s = s * 1103515245u + 12345u;
            p[0] = (unsigned char)(x * 255 / w);
            p[1] = (unsigned char)(y * 255 / h);
            p[2] = (unsigned char)(s >> 16);
        }
    }
    tjhandle tj = tjInitCompress();
    ASSERT_NOT_NULL(tj);
    unsigned char *out = NULL;
    ASSERT_EQ_INT(tjCompress2(tj, rgb, (int)w, 0, (int)h, TJPF_RGB, &out, len, TJSAMP_420, 80, 0),
                  0);
    tjDestroy(tj);
    free(rgb);
    return out;
}

unsigned char *rig_make_raw(size_t bytes, unsigned seed)
{
    unsigned char *p = malloc(bytes != 0 ? bytes : 1);
    ASSERT_NOT_NULL(p);
    unsigned s = seed;
    for (size_t i = 0; i < bytes; i++) {
        s = s * 1103515245u + 12345u;
        p[i] = (unsigned char)(s >> 16);
    }
    return p;
}

unsigned char *rig_expected_yuv420p(const struct rig *r, uint32_t fourcc, const unsigned char *raw,
                                    unsigned w, unsigned h)
{
    unsigned char *want = malloc(mjd_pixconv_yuv420p_size(w, h));
    if (want == NULL) {
        return NULL;
    }
    if (fourcc == V4L2_PIX_FMT_YUYV) {
        mjd_pixconv_yuyv(raw, r->dev.bpl, w, h, want);
    } else if (fourcc == V4L2_PIX_FMT_NV12) {
        mjd_pixconv_nv12(raw, r->dev.bpl, w, h, want);
    } else {
        mjd_pixconv_rgb24(raw, r->dev.bpl, w, h, want);
    }
    return want;
}

// SPDX-License-Identifier: MIT
/* The "no signal" picture viewers get while a source is down. */
#include "mjpegd/nosignal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "core/log.h"
#include "mjpegd/draw.h"

#define NOSIGNAL_TEXT    "NO SIGNAL"
#define NOSIGNAL_QUALITY 75
#define NOSIGNAL_BG      48  /* luma of the background: dark grey */
#define NOSIGNAL_FG      200 /* luma of the text */

static unsigned clamp_dim(unsigned v)
{
    return v < 16 ? 16 : v > 8192 ? 8192 : v;
}

/* Draws the text centred in the luma plane (w x h, stride w), as large as half the width. */
static void draw(unsigned char *yp, unsigned w, unsigned h)
{
    size_t len = strlen(NOSIGNAL_TEXT);
    unsigned scale = w / (2 * 6 * (unsigned)len);
    scale = scale < 1 ? 1 : scale;
    if (7 * scale > h / 2) {
        scale = h / 14 > 0 ? h / 14 : 1;
    }
    unsigned tw = (unsigned)len * 6 * scale - scale;
    unsigned x0 = tw < w ? (w - tw) / 2 : 0;
    unsigned y0 = 7 * scale < h ? (h - 7 * scale) / 2 : 0;
    mjd_draw_text(yp, w, w, h, (int)x0, (int)y0, scale, NOSIGNAL_TEXT, NOSIGNAL_FG);
}

int mjd_nosignal_render(struct core_buf **out, unsigned width, unsigned height)
{
    *out = NULL;
    unsigned w = clamp_dim(width);
    unsigned h = clamp_dim(height);
    unsigned cw = (w + 1) / 2;
    unsigned ch = (h + 1) / 2;
    size_t ysize = (size_t)w * h;
    size_t csize = (size_t)cw * ch;
    unsigned char *yuv = malloc(ysize + 2 * csize);
    if (yuv == NULL) {
        return -ENOMEM;
    }
    memset(yuv, NOSIGNAL_BG, ysize);
    memset(yuv + ysize, 128, 2 * csize); // grey: no chroma
    draw(yuv, w, h);
    tjhandle tj = tjInitCompress();
    unsigned long cap = tjBufSize((int)w, (int)h, TJSAMP_420);
    unsigned char *jpeg = cap != (unsigned long)-1 ? tjAlloc((int)cap) : NULL;
    int rc = tj != NULL && jpeg != NULL ? 0 : -ENOMEM;
    if (rc == 0) {
        const unsigned char *planes[3] = { yuv, yuv + ysize, yuv + ysize + csize };
        int strides[3] = { (int)w, (int)cw, (int)cw };
        unsigned long size = cap;
        if (tjCompressFromYUVPlanes(tj, planes, (int)w, strides, (int)h, TJSAMP_420, &jpeg, &size,
                                    NOSIGNAL_QUALITY, TJFLAG_NOREALLOC) != 0) {
            LOG_WARN("cannot encode the no-signal frame: %s", tjGetErrorStr2(tj));
            rc = -EIO;
        } else {
            rc = core_buf_from(out, jpeg, size);
        }
    }
    tjFree(jpeg);
    if (tj != NULL) {
        tjDestroy(tj);
    }
    free(yuv);
    return rc;
}

// SPDX-License-Identifier: MIT
/* The encoder pool: raw frames to JPEG on N threads, each with its own TurboJPEG handle. */
#include "mjpegd/encoder.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <turbojpeg.h>

#include "core/log.h"
#include "core/pool.h"
#include "mjpegd/flip.h"

struct mjd_encoder {
    struct mjd_encoder_config cfg; /* immutable */
    struct core_pool *pool;        /* owner thread only (submit is thread-safe) */
    atomic_uint flip_logged;       /* atomic: 1 << enum mjd_flip_how once that way was logged */
    atomic_uint flip_failed;       /* atomic: JPEG flips that failed (logged at 1, 2, 4...) */
};

/* A pool thread's private state, made by thread_init, freed by thread_fini: that thread's. */
struct tls {
    tjhandle tj;
    unsigned char *out; /* tjAlloc'ed, cap bytes */
    unsigned long cap;
    struct mjd_jpeg_flipper *flipper; /* --flip of JPEG frames: made on the first one */
};

static int tls_init(void *ctx, void **state)
{
    (void)ctx;
    struct tls *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return -ENOMEM;
    }
    t->tj = tjInitCompress();
    if (t->tj == NULL) {
        free(t);
        return -ENOMEM;
    }
    *state = t;
    return 0;
}

static void tls_fini(void *ctx, void *state)
{
    (void)ctx;
    struct tls *t = state;
    if (t == NULL) {
        return;
    }
    mjd_jpeg_flipper_destroy(t->flipper);
    tjFree(t->out);
    tjDestroy(t->tj);
    free(t);
}

/* Encodes with t's handle into t's buffer, then copies the JPEG into a new core_buf. */
static int encode(struct tls *t, const struct mjd_raw_frame *f, int quality, struct core_buf **out)
{
    *out = NULL;
    if (f->format != MJD_PIX_YUV420P) {
        return -EINVAL;
    }
    unsigned long need = tjBufSize((int)f->width, (int)f->height, TJSAMP_420);
    if (need == (unsigned long)-1) {
        return -EINVAL;
    }
    if (t->cap < need) {
        tjFree(t->out);
        t->out = tjAlloc((int)need);
        t->cap = t->out != NULL ? need : 0;
        if (t->out == NULL) {
            return -ENOMEM;
        }
    }
    int cw = ((int)f->width + 1) / 2;
    int ch = ((int)f->height + 1) / 2;
    const unsigned char *planes[3] = { f->data, f->data + (size_t)f->width * f->height,
                                       f->data + (size_t)f->width * f->height + (size_t)cw * ch };
    int strides[3] = { (int)f->width, cw, cw };
    unsigned char *dst = t->out;
    unsigned long size = t->cap;
    if (tjCompressFromYUVPlanes(t->tj, planes, (int)f->width, strides, (int)f->height, TJSAMP_420,
                                &dst, &size, quality, TJFLAG_NOREALLOC | TJFLAG_FASTDCT) != 0) {
        LOG_WARN("encode failed: %s", tjGetErrorStr2(t->tj));
        return -EIO;
    }
    return core_buf_from(out, dst, size);
}

/* A JPEG frame's software flip (capture.c sends only those with flip bits), into a new core_buf. */
static int flip_jpeg(struct mjd_encoder *enc, struct tls *t, const struct mjd_raw_frame *f,
                     struct core_buf **out)
{
    *out = NULL;
    if (t->flipper == NULL && mjd_jpeg_flipper_create(&t->flipper) != 0) {
        return -ENOMEM;
    }
    const unsigned char *jpeg = NULL;
    size_t len = 0;
    enum mjd_flip_how how = MJD_FLIP_LOSSLESS;
    int rc = mjd_flip_jpeg(t->flipper, f->data, f->len, f->flip, enc->cfg.quality, &jpeg, &len,
                           &how);
    if (rc != 0) {
        unsigned n = atomic_fetch_add(&enc->flip_failed, 1) + 1;
        if ((n & (n - 1)) == 0) {
            LOG_WARN("cannot flip a %ux%u JPEG (dropped, %u so far): %s", f->width, f->height, n,
                     mjd_jpeg_flipper_error(t->flipper));
        }
        return rc;
    }
    unsigned bit = 1u << how;
    if ((atomic_fetch_or(&enc->flip_logged, bit) & bit) == 0) {
        if (how == MJD_FLIP_LOSSLESS) {
            LOG_INFO("flipping %ux%u JPEG frames losslessly (tjTransform)", f->width, f->height);
        } else {
            LOG_INFO("flipping %ux%u JPEG frames by decoding and encoding again at quality %d "
                     "(not a whole number of MCUs on the edge the flip moves)",
                     f->width, f->height, enc->cfg.quality);
        }
    }
    return core_buf_from(out, jpeg, len);
}

static void encode_task(void *arg, void *state, int status)
{
    struct mjd_raw_frame *f = arg;
    struct mjd_encoder *enc = f->encoder_;
    struct core_buf *jpeg = NULL;
    int rc = status;
    if (rc == 0 && f->format == MJD_PIX_JPEG) {
        rc = flip_jpeg(enc, state, f, &jpeg);
    } else if (rc == 0) {
        if (f->flip != 0 && f->format == MJD_PIX_YUV420P) {
            mjd_flip_yuv420p(f->data, f->width, f->height, f->flip); // lent to this task
        }
        rc = encode(state, f, enc->cfg.quality, &jpeg);
    }
    if (rc != 0) {
        mjd_hub_count_dropped(enc->cfg.hub, MJD_DROP_ERROR);
    } else {
        mjd_hub_publish(enc->cfg.hub, jpeg, f->seq, f->wall_ns);
    }
    enc->cfg.done(enc->cfg.done_ctx, f);
}

int mjd_encoder_create(struct mjd_encoder **out, const struct mjd_encoder_config *cfg)
{
    *out = NULL;
    struct mjd_encoder *enc = calloc(1, sizeof(*enc));
    if (enc == NULL) {
        return -ENOMEM;
    }
    enc->cfg = *cfg;
    atomic_init(&enc->flip_logged, 0);
    atomic_init(&enc->flip_failed, 0);
    struct core_pool_config pc = {
        .name = "encode",
        .threads = cfg->threads,
        .backlog = cfg->backlog,
        .thread_init = tls_init,
        .thread_fini = tls_fini,
        .ctx = enc,
    };
    int rc = core_pool_create(&enc->pool, &pc);
    if (rc != 0) {
        free(enc);
        return rc;
    }
    *out = enc;
    return 0;
}

int mjd_encoder_submit(struct mjd_encoder *enc, struct mjd_raw_frame *frame)
{
    frame->encoder_ = enc;
    return core_pool_submit(enc->pool, encode_task, frame);
}

void mjd_encoder_destroy(struct mjd_encoder *enc)
{
    if (enc == NULL) {
        return;
    }
    core_pool_shutdown(enc->pool, CORE_POOL_DRAIN);
    core_pool_destroy(enc->pool);
    free(enc);
}

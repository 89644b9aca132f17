// SPDX-License-Identifier: MIT
/* Compressed frames: one gzip member or one zstd frame per piece of a tar stream. */
#include "quotepack/frame.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zstd.h>

#include "core/alloc.h"

struct qp_frame {
    enum qp_format format;
    enum qp_level level;
    unsigned char *isal_buf;          /* tgz fast: igzip's level buffer */
    struct libdeflate_compressor *ld; /* tgz default/best */
    ZSTD_CCtx *zc;                    /* tzst */
};

static int zstd_level(enum qp_level level)
{
    return level == QP_LEVEL_FAST ? 1 : level == QP_LEVEL_DEFAULT ? 3 : 19;
}

const char *qp_frame_encoder_name(enum qp_format format, enum qp_level level)
{
    if (format == QP_FORMAT_TZST) {
        return level == QP_LEVEL_FAST ? "zstd-1" : level == QP_LEVEL_DEFAULT ? "zstd-3" : "zstd-19";
    }
    return level == QP_LEVEL_FAST      ? "igzip-1"
           : level == QP_LEVEL_DEFAULT ? "libdeflate-6"
                                       : "libdeflate-12";
}

int qp_frame_create(struct qp_frame **out, enum qp_format format, enum qp_level level)
{
    struct qp_frame *f = core_xcalloc(1, sizeof(*f));
    f->format = format;
    f->level = level;
    *out = NULL;
    if (format == QP_FORMAT_TZST) {
        f->zc = ZSTD_createCCtx();
        if (f->zc == NULL ||
            ZSTD_isError(
                    ZSTD_CCtx_setParameter(f->zc, ZSTD_c_compressionLevel, zstd_level(level))) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(f->zc, ZSTD_c_checksumFlag, 1))) {
            qp_frame_destroy(f);
            return -ENOMEM;
        }
    } else if (level == QP_LEVEL_FAST) {
        f->isal_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
    } else {
        f->ld = libdeflate_alloc_compressor(level == QP_LEVEL_BEST ? 12 : 6);
    }
    if (f->zc == NULL && f->isal_buf == NULL && f->ld == NULL) {
        qp_frame_destroy(f);
        return -ENOMEM;
    }
    *out = f;
    return 0;
}

void qp_frame_destroy(struct qp_frame *f)
{
    if (f == NULL) {
        return;
    }
    free(f->isal_buf);
    libdeflate_free_compressor(f->ld);
    ZSTD_freeCCtx(f->zc);
    free(f);
}

size_t qp_frame_bound(size_t len)
{
    // Deflate's stored blocks cost 5 bytes per 64 KiB (igzip and libdeflate both fall back to
    // them), plus the gzip header and trailer; zstd's own bound is smaller.
    size_t gz = len + len / 16 + 1024;
    size_t zs = ZSTD_compressBound(len);
    return gz > zs ? gz : zs;
}

static int isal(struct qp_frame *f, const void *in, size_t len, void *out, size_t cap,
                size_t *out_len)
{
    struct isal_zstream zs;
    isal_deflate_init(&zs);
    zs.gzip_flag = IGZIP_GZIP;
    zs.level = 1;
    zs.level_buf = f->isal_buf;
    zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    zs.end_of_stream = 1;
    zs.flush = NO_FLUSH;
    zs.next_in = (uint8_t *)(uintptr_t)in;
    zs.avail_in = (uint32_t)len;
    zs.next_out = out;
    zs.avail_out = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    if (isal_deflate(&zs) != COMP_OK || zs.internal_state.state != ZSTATE_END) {
        return -EIO;
    }
    *out_len = zs.total_out;
    return 0;
}

int qp_frame_compress(struct qp_frame *f, const void *in, size_t len, void *out, size_t cap,
                      size_t *out_len)
{
    *out_len = 0;
    if (len > UINT32_MAX / 2) {
        return -EFBIG;
    }
    if (f->zc != NULL) {
        size_t n = ZSTD_compress2(f->zc, out, cap, in, len);
        if (ZSTD_isError(n)) {
            return -EIO;
        }
        *out_len = n;
        return 0;
    }
    if (f->isal_buf != NULL) {
        return isal(f, in, len, out, cap, out_len);
    }
    size_t n = libdeflate_gzip_compress(f->ld, in, len, out, cap);
    if (n == 0) {
        return -EIO;
    }
    *out_len = n;
    return 0;
}

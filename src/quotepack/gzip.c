// SPDX-License-Identifier: MIT
/* A streaming gzip encoder: ISA-L igzip for --level fast, libdeflate members otherwise. */
#include "quotepack/gzip.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include "core/alloc.h"

#define OUT_SIZE   (256 * 1024)
#define CHUNK_SIZE (1024 * 1024)

struct qp_gzip {
    qp_gzip_sink_fn sink;
    void *ctx;
    bool use_isal;
    /* igzip */
    struct isal_zstream zs;
    unsigned char *level_buf;
    /* libdeflate */
    struct libdeflate_compressor *ld;
    unsigned char *chunk; /* pending input, up to CHUNK_SIZE */
    size_t chunk_len;
    unsigned char *out; /* OUT_SIZE, or the compress bound of a chunk */
    size_t out_cap;
};

const char *qp_gzip_encoder_name(enum qp_level level)
{
    switch (level) {
    case QP_LEVEL_FAST:
        return "igzip-1";
    case QP_LEVEL_DEFAULT:
        return "libdeflate-6";
    case QP_LEVEL_BEST:
        return "libdeflate-12";
    }
    return "?";
}

int qp_gzip_create(struct qp_gzip **out, enum qp_level level, qp_gzip_sink_fn sink, void *ctx)
{
    struct qp_gzip *gz = core_xcalloc(1, sizeof(*gz));
    gz->sink = sink;
    gz->ctx = ctx;
    *out = NULL;
    if (level == QP_LEVEL_FAST) {
        gz->use_isal = true;
        gz->level_buf = core_xmalloc(ISAL_DEF_LVL1_DEFAULT);
        isal_deflate_init(&gz->zs);
        gz->zs.gzip_flag = IGZIP_GZIP;
        gz->zs.level = 1;
        gz->zs.level_buf = gz->level_buf;
        gz->zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
        gz->zs.end_of_stream = 0;
        gz->zs.flush = NO_FLUSH;
        gz->out_cap = OUT_SIZE;
    } else {
        gz->ld = libdeflate_alloc_compressor(level == QP_LEVEL_BEST ? 12 : 6);
        if (gz->ld == NULL) {
            qp_gzip_destroy(gz);
            return -ENOMEM;
        }
        gz->chunk = core_xmalloc(CHUNK_SIZE);
        gz->out_cap = libdeflate_gzip_compress_bound(gz->ld, CHUNK_SIZE);
    }
    gz->out = core_xmalloc(gz->out_cap);
    *out = gz;
    return 0;
}

static int isal_run(struct qp_gzip *gz, const void *data, size_t len, bool finish)
{
    gz->zs.next_in = (uint8_t *)(uintptr_t)data;
    gz->zs.avail_in = (uint32_t)len;
    gz->zs.end_of_stream = finish ? 1 : 0;
    for (;;) {
        gz->zs.next_out = gz->out;
        gz->zs.avail_out = (uint32_t)gz->out_cap;
        if (isal_deflate(&gz->zs) != COMP_OK) {
            return -EIO;
        }
        size_t n = gz->out_cap - gz->zs.avail_out;
        if (n > 0) {
            int rc = gz->sink(gz->ctx, gz->out, n);
            if (rc != 0) {
                return rc;
            }
        }
        if (finish) {
            if (gz->zs.internal_state.state == ZSTATE_END) {
                return 0;
            }
        } else if (gz->zs.avail_in == 0 && gz->zs.avail_out != 0) {
            return 0;
        }
    }
}

static int deflate_chunk(struct qp_gzip *gz)
{
    if (gz->chunk_len == 0) {
        return 0;
    }
    size_t n = libdeflate_gzip_compress(gz->ld, gz->chunk, gz->chunk_len, gz->out, gz->out_cap);
    if (n == 0) {
        return -EIO;
    }
    gz->chunk_len = 0;
    return gz->sink(gz->ctx, gz->out, n);
}

int qp_gzip_write(struct qp_gzip *gz, const void *data, size_t len)
{
    if (gz->use_isal) {
        const unsigned char *p = data;
        // avail_in is 32 bits: feed big inputs in slices.
        while (len > 0) {
            size_t n = CORE_MIN(len, (size_t)1 << 30);
            int rc = isal_run(gz, p, n, false);
            if (rc != 0) {
                return rc;
            }
            p += n;
            len -= n;
        }
        return 0;
    }
    const unsigned char *p = data;
    while (len > 0) {
        size_t n = CORE_MIN(len, CHUNK_SIZE - gz->chunk_len);
        memcpy(gz->chunk + gz->chunk_len, p, n);
        gz->chunk_len += n;
        p += n;
        len -= n;
        if (gz->chunk_len == CHUNK_SIZE) {
            int rc = deflate_chunk(gz);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

int qp_gzip_finish(struct qp_gzip *gz)
{
    if (gz->use_isal) {
        return isal_run(gz, NULL, 0, true);
    }
    if (gz->chunk_len == 0) {
        // An empty stream is still one (empty) member, so the result is valid gzip.
        size_t n = libdeflate_gzip_compress(gz->ld, "", 0, gz->out, gz->out_cap);
        return n == 0 ? -EIO : gz->sink(gz->ctx, gz->out, n);
    }
    return deflate_chunk(gz);
}

void qp_gzip_destroy(struct qp_gzip *gz)
{
    if (gz == NULL) {
        return;
    }
    if (gz->ld != NULL) {
        libdeflate_free_compressor(gz->ld);
    }
    free(gz->level_buf);
    free(gz->chunk);
    free(gz->out);
    free(gz);
}

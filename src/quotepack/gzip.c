// SPDX-License-Identifier: MIT
/* Gzip members: ISA-L igzip for --level fast, libdeflate for default and best. */
#include "quotepack/gzip.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

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

/* Room for incompressible input: deflate stored blocks cost 5 bytes per 64 KiB, plus the
 * gzip header and trailer. */
static size_t bound(size_t len)
{
    return len + len / 16 + 1024;
}

static int isal_compress(const void *data, size_t len, char **out, size_t *out_len)
{
    struct isal_zstream zs;
    size_t cap = bound(len);
    unsigned char *buf = malloc(cap);
    unsigned char *lb = malloc(ISAL_DEF_LVL1_DEFAULT);
    int rc = 0;
    if (buf == NULL || lb == NULL || cap > UINT32_MAX) {
        rc = buf == NULL || lb == NULL ? -ENOMEM : -EFBIG;
        goto out;
    }
    isal_deflate_init(&zs);
    zs.gzip_flag = IGZIP_GZIP;
    zs.level = 1;
    zs.level_buf = lb;
    zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    zs.end_of_stream = 1;
    zs.flush = NO_FLUSH;
    zs.next_in = (uint8_t *)(uintptr_t)data;
    zs.avail_in = (uint32_t)len;
    zs.next_out = buf;
    zs.avail_out = (uint32_t)cap;
    if (isal_deflate(&zs) != COMP_OK || zs.internal_state.state != ZSTATE_END) {
        rc = -EIO;
        goto out;
    }
    *out = (char *)buf;
    *out_len = zs.total_out;
    buf = NULL;
out:
    free(lb);
    free(buf);
    return rc;
}

int qp_gzip_compress(enum qp_level level, const void *data, size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (level == QP_LEVEL_FAST) {
        return isal_compress(data, len, out, out_len);
    }
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level == QP_LEVEL_BEST ? 12 : 6);
    if (c == NULL) {
        return -ENOMEM;
    }
    size_t cap = libdeflate_gzip_compress_bound(c, len);
    char *buf = malloc(cap);
    int rc = 0;
    if (buf == NULL) {
        rc = -ENOMEM;
    } else {
        size_t n = libdeflate_gzip_compress(c, data, len, buf, cap);
        if (n == 0) {
            free(buf);
            rc = -EIO;
        } else {
            *out = buf;
            *out_len = n;
        }
    }
    libdeflate_free_compressor(c);
    return rc;
}

// SPDX-License-Identifier: MIT
/* One tar entry (header, data, padding), compressed in frames as its data arrives. */
#include "quotepack/member.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

#include "archive/sha256.h"
#include "archive/tar.h"
#include "core/alloc.h"
#include "quotepack/frame.h"

struct qp_member {
    struct qp_frame *frame;
    unsigned char *piece; /* 512 header bytes, then up to QP_MEMBER_PIECE of tar data */
    size_t fill;          /* data bytes in piece after the header room */
    char *out;            /* one compressed frame */
    size_t out_cap;
    qp_member_sink_fn sink;
    void *ctx;
    char name[100];
    int64_t mtime;
    uint64_t xml_len;
    uint64_t sent; /* compressed bytes given to the sink */
    uint32_t crc;
    struct arc_sha256 sha;
    bool flushed; /* a data frame has gone out: the header will be a frame of its own */
    bool open;
};

int qp_member_ustar_header(unsigned char hdr[512], const char *name, uint64_t size, int64_t mtime)
{
    return arc_tar_header(hdr, name, size, mtime);
}

int qp_member_create(struct qp_member **out, enum qp_format format, enum qp_level level)
{
    struct qp_member *m = core_xcalloc(1, sizeof(*m));
    *out = NULL;
    int rc = qp_frame_create(&m->frame, format, level);
    if (rc != 0) {
        free(m);
        return rc;
    }
    m->piece = malloc(512 + QP_MEMBER_PIECE + 512);
    m->out_cap = qp_frame_bound(512 + QP_MEMBER_PIECE + 512);
    m->out = malloc(m->out_cap);
    if (m->piece == NULL || m->out == NULL) {
        qp_member_destroy(m);
        return -ENOMEM;
    }
    *out = m;
    return 0;
}

void qp_member_destroy(struct qp_member *m)
{
    if (m == NULL) {
        return;
    }
    qp_frame_destroy(m->frame);
    free(m->piece);
    free(m->out);
    free(m);
}

int qp_member_begin(struct qp_member *m, const char *name, int64_t mtime, qp_member_sink_fn sink,
                    void *ctx)
{
    if (strlen(name) > 99 || name[0] == '\0') {
        return -ENAMETOOLONG;
    }
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->mtime = mtime;
    m->sink = sink;
    m->ctx = ctx;
    m->fill = 0;
    m->xml_len = 0;
    m->sent = 0;
    m->crc = 0;
    arc_sha256_init(&m->sha);
    m->flushed = false;
    m->open = true;
    return 0;
}

/* Compresses len bytes at p as one frame and sends it. */
static int emit(struct qp_member *m, const void *p, size_t len)
{
    size_t n = 0;
    int rc = qp_frame_compress(m->frame, p, len, m->out, m->out_cap, &n);
    if (rc == 0) {
        rc = m->sink(m->ctx, m->out, n);
    }
    if (rc == 0) {
        m->sent += n;
    }
    return rc;
}

int qp_member_write(void *arg, const char *data, size_t len)
{
    struct qp_member *m = arg;
    if (!m->open) {
        return -EINVAL;
    }
    m->crc = (uint32_t)libdeflate_crc32(m->crc, data, len);
    arc_sha256_update(&m->sha, data, len);
    m->xml_len += len;
    while (len > 0) {
        if (m->fill == QP_MEMBER_PIECE) {
            // More follows, so the full piece is not the last: send it without the header.
            int rc = emit(m, m->piece + 512, m->fill);
            if (rc != 0) {
                m->open = false;
                return rc;
            }
            m->fill = 0;
            m->flushed = true;
        }
        size_t room = QP_MEMBER_PIECE - m->fill;
        size_t n = len < room ? len : room;
        memcpy(m->piece + 512 + m->fill, data, n);
        m->fill += n;
        data += n;
        len -= n;
    }
    return 0;
}

int qp_member_end(struct qp_member *m, struct qp_member_info *info)
{
    unsigned char hdr[512];
    memset(info, 0, sizeof(*info));
    if (!m->open) {
        return -EINVAL;
    }
    m->open = false;
    int rc = qp_member_ustar_header(hdr, m->name, m->xml_len, m->mtime);
    if (rc != 0) {
        return rc;
    }
    size_t pad = (size_t)((512 - m->xml_len % 512) % 512);
    memset(m->piece + 512 + m->fill, 0, pad);
    if (!m->flushed) {
        memcpy(m->piece, hdr, 512);
        rc = emit(m, m->piece, 512 + m->fill + pad);
    } else {
        rc = m->fill + pad > 0 ? emit(m, m->piece + 512, m->fill + pad) : 0;
        uint64_t data_sent = m->sent;
        if (rc == 0) {
            rc = emit(m, hdr, sizeof(hdr));
        }
        info->hdr_len = (uint32_t)(m->sent - data_sent);
    }
    if (rc != 0) {
        return rc;
    }
    info->xml_len = m->xml_len;
    info->crc32 = m->crc;
    arc_sha256_final(&m->sha, info->sha256);
    info->data_len = m->sent - info->hdr_len;
    return 0;
}

int qp_member_end_of_archive(enum qp_format format, enum qp_level level, char **out,
                             size_t *out_len)
{
    static const unsigned char zeros[1024];
    struct qp_frame *f = NULL;
    *out = NULL;
    *out_len = 0;
    int rc = qp_frame_create(&f, format, level);
    if (rc != 0) {
        return rc;
    }
    size_t cap = qp_frame_bound(sizeof(zeros));
    char *buf = core_xmalloc(cap);
    rc = qp_frame_compress(f, zeros, sizeof(zeros), buf, cap, out_len);
    qp_frame_destroy(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

// SPDX-License-Identifier: MIT
/* The manifest as an archive member (compressed frames), and facts read back from the spool. */
#include "quotepack/manifest_member.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/sha256.h"
#include "core/alloc.h"
#include "quotepack/config.h"
#include "quotepack/member.h"
#include "quotepack/reader.h"
#include "quotepack/strset.h"

/* The member's frames as the member writer sends them (owned by qp_manifest_member). */
struct frames {
    char *p;
    size_t len, cap;
};

static int frames_sink(void *ctx, const void *data, size_t len)
{
    struct frames *f = ctx;
    if (f->len + len > f->cap) {
        f->cap = (f->len + len) * 2;
        f->p = core_xrealloc(f->p, f->cap);
    }
    memcpy(f->p + f->len, data, len);
    f->len += len;
    return 0;
}

int qp_manifest_member(struct qp_member *m, const struct qp_manifest *man, int64_t mtime,
                       char **out, size_t *len)
{
    struct frames f = { NULL, 0, 0 };
    struct qp_member_info info;
    size_t tlen = 0;
    char *text = qp_manifest_format(man, &tlen);
    *out = NULL;
    *len = 0;
    int rc = qp_member_begin(m, QP_MANIFEST_NAME, mtime, frames_sink, &f);
    if (rc == 0) {
        rc = qp_member_write(m, text, tlen);
    }
    if (rc == 0) {
        rc = qp_member_end(m, &info);
    }
    free(text);
    if (rc != 0) {
        free(f.p);
        return rc;
    }
    // A manifest past one piece has its header frame last (member.h): put it first.
    if (info.hdr_len > 0) {
        char *o = core_xmalloc(f.len);
        memcpy(o, f.p + info.data_len, info.hdr_len);
        memcpy(o + info.hdr_len, f.p, info.data_len);
        free(f.p);
        f.p = o;
    }
    *out = f.p;
    *len = f.len;
    return 0;
}

void qp_manifest_entry_name(struct qp_manifest_entry *e, const char *symbol, const char *tmpl)
{
    snprintf(e->name, sizeof(e->name), "%s.xml", symbol);
    snprintf(e->symbol, sizeof(e->symbol), "%s", symbol);
    if (tmpl == NULL || qp_config_url(tmpl, symbol, e->source, sizeof(e->source)) != 0) {
        e->source[0] = '\0';
    }
}

int qp_manifest_member_without(struct qp_member *m, const char *text, size_t len,
                               const struct qp_strset *drop, int64_t mtime, char **out,
                               size_t *out_len, char *err, size_t errlen)
{
    struct qp_manifest old;
    struct qp_manifest keep;
    char now[QP_MANIFEST_DATE];
    *out = NULL;
    *out_len = 0;
    int rc = qp_manifest_parse(text, len, &old, err, errlen);
    if (rc != 0) {
        qp_manifest_release(&old);
        return -EINVAL;
    }
    qp_manifest_time(mtime, now);
    qp_manifest_init(&keep, now);
    for (size_t i = 0; i < old.n; i++) {
        if (!qp_strset_find(drop, old.entries[i].name, NULL)) {
            *qp_manifest_add(&keep) = old.entries[i];
        }
    }
    rc = qp_manifest_member(m, &keep, mtime, out, out_len);
    qp_manifest_release(&keep);
    qp_manifest_release(&old);
    return rc;
}

static int hash_piece(void *ctx, const void *data, size_t len)
{
    arc_sha256_update(ctx, data, len);
    return 0;
}

int qp_manifest_record_sha256(struct qp_spool *sp, const struct qp_spool_rec *rec, char hex[65])
{
    struct qp_reader *r = NULL;
    struct arc_sha256 sha;
    const char *name = NULL;
    int64_t size = 0;
    uint64_t got = 0;
    uint32_t crc = 0;
    hex[0] = '\0';
    int rc = qp_reader_open_record(&r, sp, rec);
    if (rc != 0) {
        return -EIO;
    }
    arc_sha256_init(&sha);
    rc = qp_reader_next(r, &name, &size) == 1 ? 0 : -EIO;
    if (rc == 0) {
        rc = qp_reader_data_each(r, hash_piece, &sha, &got, &crc);
    }
    qp_reader_close(r);
    if (rc != 0) {
        return -EIO;
    }
    unsigned char d[ARC_SHA256_LEN];
    arc_sha256_final(&sha, d);
    arc_sha256_hex(d, hex);
    return 0;
}

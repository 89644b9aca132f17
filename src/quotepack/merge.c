// SPDX-License-Identifier: MIT
/* compact --max-generations: merges a symbol's row-level generations into one member. */
#include "quotepack/merge.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive/sha256.h"
#include "core/alloc.h"
#include "quotepack/config.h"
#include "quotepack/history.h"
#include "quotepack/manifest_member.h"
#include "quotepack/member.h"
#include "quotepack/pack.h"

struct rows {
    struct qp_catalog_row *v;
    size_t n, cap;
};

/* Archived symbols with row-level generations (gen > 0): the candidates. */
static int collect(void *ctx, const struct qp_catalog_row *row)
{
    struct rows *rs = ctx;
    if (row->state != QP_STATE_ARCHIVED || row->gen == 0) {
        return 0;
    }
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 16;
        rs->v = core_xrealloc(rs->v, rs->cap * sizeof(*rs->v));
    }
    rs->v[rs->n++] = *row;
    return 0;
}

struct frames {
    char *data;
    size_t len, cap;
};

static int sink(void *ctx, const void *data, size_t len)
{
    struct frames *f = ctx;
    if (len == 0) {
        return 0;
    }
    if (f->len + len > f->cap) {
        f->cap = (f->len + len) * 2;
        f->data = core_xrealloc(f->data, f->cap);
    }
    memcpy(f->data + f->len, data, len);
    f->len += len;
    return 0;
}

static void crash_point(const char *point)
{
    const char *at = getenv("QUOTEPACK_TEST_CRASH_AT");
    if (at != NULL && strcmp(at, point) == 0) {
        raise(SIGKILL);
    }
}

/*
 * Frames the merged member of row (its history g[0..n)) through m (fr: scratch) onto arc, in
 * archive order (header frame first), fills *row as the new current member (sizes, checksum,
 * rows, dates) and lists it in man (source URLs from the template tmpl, NULL for none; the
 * fetch time is not in the catalog: unknown). 0, -1 (printed) or -errno.
 */
static int add_merged(const char *dir, struct qp_member *m, struct frames *fr, struct frames *arc,
                      const struct qp_catalog_generation *g, size_t n, struct qp_catalog_row *row,
                      struct qp_manifest *man, const char *tmpl)
{
    char *doc = NULL;
    size_t doc_len = 0;
    FILE *f = open_memstream(&doc, &doc_len);
    if (f == NULL) {
        return -ENOMEM;
    }
    int rc = qp_history_write("compact", dir, g, n, NULL, NULL, f) == 0 ? 0 : -EIO;
    if (fclose(f) != 0 && rc == 0) {
        rc = -ENOMEM;
    }
    char name[sizeof(row->symbol) + 8];
    snprintf(name, sizeof(name), "%s.xml", row->symbol);
    struct qp_member_info info;
    memset(&info, 0, sizeof(info));
    fr->len = 0;
    if (rc == 0) {
        rc = qp_member_begin(m, name, (int64_t)time(NULL), sink, fr);
    }
    if (rc == 0) {
        rc = qp_member_write(m, doc, doc_len);
    }
    if (rc == 0) {
        rc = qp_member_end(m, &info);
    }
    unsigned char digest[ARC_SHA256_LEN];
    if (rc == 0) {
        struct arc_sha256 sha;
        arc_sha256_init(&sha);
        arc_sha256_update(&sha, doc, doc_len);
        arc_sha256_final(&sha, digest);
    }
    free(doc);
    if (rc != 0) {
        return rc;
    }
    if (info.hdr_len > 0) {
        (void)sink(arc, fr->data + info.data_len, info.hdr_len);
    }
    (void)sink(arc, fr->data, (size_t)info.data_len);
    uint64_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        rows += g[i].rows;
    }
    row->rows = rows;
    row->xml_bytes = info.xml_len;
    row->crc32 = info.crc32;
    row->at_top = false;
    // In document order: the first member's first row, the last member's last row.
    snprintf(row->first_row, sizeof(row->first_row), "%s", g[0].first_row);
    snprintf(row->last_row, sizeof(row->last_row), "%s", g[n - 1].last_row);
    struct qp_manifest_entry *e = qp_manifest_add(man);
    qp_manifest_entry_name(e, row->symbol, tmpl);
    e->rows = rows;
    e->bytes = info.xml_len;
    arc_sha256_hex(digest, e->sha256);
    // A date field is far shorter than the room for it (QP_MANIFEST_DATE).
    snprintf(e->first, sizeof(e->first), "%.*s", (int)sizeof(e->first) - 1, row->first_row);
    snprintf(e->last, sizeof(e->last), "%.*s", (int)sizeof(e->last) - 1, row->last_row);
    return 0;
}

static enum qp_format format_of(const char *name)
{
    size_t n = strlen(name);
    return n > 8 && strcmp(name + n - 8, ".tar.zst") == 0 ? QP_FORMAT_TZST : QP_FORMAT_TGZ;
}

int qp_merge_generations(const char *dir, struct qp_catalog *cat, unsigned long max_gen,
                         size_t *merged)
{
    struct rows rs = { NULL, 0, 0 };
    *merged = 0;
    int rc = qp_catalog_foreach(cat, collect, &rs);
    // Which to merge, and their histories (read before anything is written).
    struct qp_catalog_generation **hist =
            core_xcalloc(rs.n + 1, sizeof(struct qp_catalog_generation *));
    size_t *hn = core_xcalloc(rs.n + 1, sizeof(*hn));
    size_t todo = 0;
    for (size_t i = 0; rc == 0 && i < rs.n; i++) {
        rc = qp_history_members(cat, &rs.v[i], &hist[i], &hn[i]);
        todo += rc == 0 && hn[i] > max_gen && hn[i] > 1;
    }
    if (rc != 0 || todo == 0) {
        goto out;
    }
    // One archive for every merged symbol, in the format of the first one's current archive.
    enum qp_format fmt = QP_FORMAT_TGZ;
    for (size_t i = 0; i < rs.n; i++) {
        if (hn[i] > max_gen && hn[i] > 1) {
            fmt = format_of(rs.v[i].archive);
            break;
        }
    }
    uint64_t seq = 0;
    char to[128] = "";
    struct qp_pack *pk = NULL;
    struct qp_member *m = NULL;
    char *end = NULL;
    size_t end_len = 0;
    struct frames fr = { NULL, 0, 0 };
    struct frames arc = { NULL, 0, 0 }; /* the merged members' frames, in archive order */
    char *mf = NULL;                    /* the manifest member's frames */
    size_t mf_len = 0;
    uint64_t bytes = 0;
    // The archive's first member is its manifest (manifest.h), so the merged members are
    // framed in memory first; the source URLs come from the run's recorded --source.
    int64_t now = (int64_t)time(NULL);
    char created[QP_MANIFEST_DATE];
    char *tmpl = core_xcalloc(1, 4096); // as long as the pipeline reads it (pipeline.c)
    bool have_tmpl = qp_catalog_get_setting(cat, "source", tmpl, 4096) == 0;
    struct qp_manifest man;
    qp_manifest_time(now, created);
    qp_manifest_init(&man, created);
    rc = qp_member_create(&m, fmt, QP_LEVEL_DEFAULT);
    if (rc == 0) {
        rc = qp_member_end_of_archive(fmt, QP_LEVEL_DEFAULT, &end, &end_len);
    }
    for (size_t i = 0; rc == 0 && i < rs.n; i++) {
        if (hn[i] > max_gen && hn[i] > 1) {
            rc = add_merged(dir, m, &fr, &arc, hist[i], hn[i], &rs.v[i], &man,
                            have_tmpl ? tmpl : NULL);
        }
    }
    if (rc == 0) {
        rc = qp_manifest_member(m, &man, now, &mf, &mf_len);
    }
    if (rc == 0) {
        rc = qp_catalog_next_archive_seq(cat, &seq);
    }
    if (rc == 0) {
        qp_pack_name(to, sizeof(to), seq, fmt);
        rc = qp_pack_create(&pk, dir, to);
    }
    if (rc == 0) {
        rc = qp_pack_add_frames(pk, mf, mf_len); // the first member
    }
    if (rc == 0) {
        rc = qp_pack_add_frames(pk, arc.data, arc.len);
    }
    if (rc == 0) {
        rc = qp_pack_commit(pk, end, end_len, &bytes);
    }
    qp_pack_destroy(pk);
    qp_member_destroy(m);
    qp_manifest_release(&man);
    free(tmpl);
    free(mf);
    free(end);
    free(fr.data);
    free(arc.data);
    if (rc == 0) {
        crash_point("merge-rename");
        rc = qp_catalog_begin(cat);
        for (size_t i = 0; rc == 0 && i < rs.n; i++) {
            if (hn[i] > max_gen && hn[i] > 1) {
                snprintf(rs.v[i].archive, sizeof(rs.v[i].archive), "%s", to);
                rc = qp_catalog_rearchive(cat, &rs.v[i], false);
            }
        }
        if (rc == 0) {
            struct qp_catalog_archive a;
            memset(&a, 0, sizeof(a));
            snprintf(a.name, sizeof(a.name), "%s", to);
            a.seq = seq;
            a.members = todo;
            a.bytes = bytes;
            rc = qp_catalog_add_archive(cat, &a);
        }
        rc = rc == 0 ? qp_catalog_commit(cat) : rc;
        if (rc != 0) {
            // The new archive is in place but unrecorded: take it back now (as the next
            // start would); the generations are as they were.
            qp_catalog_rollback(cat);
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", dir, to);
            if (unlink(path) == 0) {
                (void)qp_fsync_dir(dir);
            }
        } else {
            *merged = todo;
        }
    }
out:
    for (size_t i = 0; i < rs.n; i++) {
        free(hist[i]);
    }
    free(hist);
    free(hn);
    free(rs.v);
    return rc < 0 ? rc : rc > 0 ? -EIO : 0;
}

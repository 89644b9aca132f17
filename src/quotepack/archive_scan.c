// SPDX-License-Identifier: MIT
/* One archive read back whole: every member's size, CRC-32, SHA-256, rows; and its manifest. */
#include "quotepack/archive_scan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/sha256.h"
#include "core/alloc.h"
#include "quotepack/reader.h"
#include "quotepack/strset.h"
#include "quotepack/xml_scan.h"

/* A member's data on its way past: hashed and, for XML, checked. */
struct member_pass {
    struct arc_sha256 sha;
    struct qp_xml_scan xml;
    bool is_xml;
};

static int member_piece(void *ctx, const void *data, size_t len)
{
    struct member_pass *mp = ctx;
    arc_sha256_update(&mp->sha, data, len);
    if (mp->is_xml) {
        qp_xml_scan_feed(&mp->xml, data, len);
    }
    return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s);
    size_t b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void read_manifest(struct qp_reader *r, struct qp_scanned_archive *a)
{
    struct qp_manifest_text t = { NULL, 0, 0 };
    uint64_t size = 0;
    uint32_t crc = 0;
    if (a->has_manifest) {
        a->manifest_dup = true;
    }
    a->has_manifest = true;
    int rc = qp_reader_data_each(r, qp_manifest_text_piece, &t, &size, &crc);
    if (rc == -E2BIG) {
        snprintf(a->manifest_error, sizeof(a->manifest_error),
                 "the manifest is larger than %zu "
                 "bytes",
                 QP_MANIFEST_MAX);
    } else if (rc != 0) {
        a->damaged = true;
        snprintf(a->damage, sizeof(a->damage), "reading %s: %s", QP_MANIFEST_NAME,
                 qp_reader_error(r));
        snprintf(a->manifest_error, sizeof(a->manifest_error), "the manifest cannot be read");
    } else if (!a->manifest_dup) {
        rc = qp_manifest_parse(t.p != NULL ? t.p : "", t.len, &a->manifest, a->manifest_error,
                               sizeof(a->manifest_error));
        a->manifest_ok = rc == 0;
    }
    free(t.p);
}

void qp_archive_scan(const char *path, struct qp_scanned_archive *a)
{
    memset(a, 0, sizeof(*a));
    struct qp_reader *r = NULL;
    if (qp_reader_open_file(&r, path, a->open_error, sizeof(a->open_error)) != 0) {
        return;
    }
    a->opened = true;
    const char *name = NULL;
    int64_t hsize = 0;
    int rc;
    while ((rc = qp_reader_next(r, &name, &hsize)) == 1) {
        if (strcmp(name, QP_MANIFEST_NAME) == 0) {
            read_manifest(r, a);
            if (a->damaged) {
                break;
            }
            continue;
        }
        if (a->n == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 64;
            a->members = core_xrealloc(a->members, a->cap * sizeof(*a->members));
        }
        struct qp_scanned_member *m = &a->members[a->n++];
        memset(m, 0, sizeof(*m));
        snprintf(m->name, sizeof(m->name), "%s", name);
        struct member_pass mp;
        arc_sha256_init(&mp.sha);
        qp_xml_scan_init(&mp.xml);
        mp.is_xml = has_suffix(m->name, ".xml");
        rc = qp_reader_data_each(r, member_piece, &mp, &m->size, &m->crc32);
        if (rc != 0) {
            a->damaged = true;
            snprintf(a->damage, sizeof(a->damage), "reading %s: %s", m->name, qp_reader_error(r));
            break;
        }
        m->read_ok = true;
        unsigned char d[ARC_SHA256_LEN];
        arc_sha256_final(&mp.sha, d);
        arc_sha256_hex(d, m->sha256);
        if (mp.is_xml && qp_xml_scan_finish(&mp.xml, &m->rows) != 0) {
            snprintf(m->xml_error, sizeof(m->xml_error), "%s at byte %" PRIu64, mp.xml.error,
                     mp.xml.error_offset);
        }
    }
    if (rc < 0 && !a->damaged) {
        a->damaged = true;
        snprintf(a->damage, sizeof(a->damage), "%s", qp_reader_error(r));
    }
    qp_reader_close(r);
}

void qp_archive_scan_release(struct qp_scanned_archive *a)
{
    qp_manifest_release(&a->manifest);
    free(a->members);
    a->members = NULL;
    a->n = 0;
    a->cap = 0;
}

CORE_PRINTF(3, 4) static void say(qp_archive_diff_fn diff, void *ctx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diff(ctx, msg);
}

unsigned long qp_archive_check_manifest(const struct qp_scanned_archive *a, qp_archive_diff_fn diff,
                                        void *ctx)
{
    const struct qp_manifest *man = &a->manifest;
    unsigned long n = 0;
    struct qp_strset listed;
    unsigned char *seen = core_xcalloc(man->n + 1, 1);
    qp_strset_init(&listed, man->n);
    for (size_t i = 0; i < man->n; i++) {
        (void)qp_strset_add(&listed, man->entries[i].name, i);
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct qp_scanned_member *m = &a->members[i];
        size_t k = 0;
        if (!qp_strset_find(&listed, m->name, &k)) {
            say(diff, ctx, "member %s is not in the manifest", m->name);
            n++;
            continue;
        }
        const struct qp_manifest_entry *e = &man->entries[k];
        if (seen[k]++) {
            say(diff, ctx, "member %s appears more than once", m->name);
            n++;
            continue;
        }
        size_t sl = strlen(e->symbol);
        if (sl > 0 && (strncmp(m->name, e->symbol, sl) != 0 || strcmp(m->name + sl, ".xml") != 0)) {
            say(diff, ctx, "the manifest gives %s the symbol %s", m->name, e->symbol);
            n++;
        }
        if (m->size != e->bytes) {
            say(diff, ctx, "%s has %" PRIu64 " bytes, the manifest says %" PRIu64, m->name, m->size,
                e->bytes);
            n++;
        } else if (strcmp(m->sha256, e->sha256) != 0) {
            say(diff, ctx, "%s: SHA-256 differs from the manifest (the member's bytes changed)",
                m->name);
            n++;
        }
        if (m->xml_error[0] != '\0') {
            say(diff, ctx, "%s is not well-formed XML: %s", m->name, m->xml_error);
            n++;
        } else if (m->rows != e->rows) {
            say(diff, ctx, "%s has %" PRIu64 " rows, the manifest says %" PRIu64, m->name, m->rows,
                e->rows);
            n++;
        }
    }
    for (size_t k = 0; k < man->n; k++) {
        if (!seen[k]) {
            say(diff, ctx, "%s is in the manifest but not in the archive (member missing%s)",
                man->entries[k].name, a->damaged ? ", the archive is damaged" : " or truncated");
            n++;
        }
    }
    qp_strset_release(&listed);
    free(seen);
    return n;
}

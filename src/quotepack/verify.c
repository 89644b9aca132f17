// SPDX-License-Identifier: MIT
/* quotepack verify DIR: every archive read back and checked against the catalog. */
#include "quotepack/verify.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <libdeflate.h>

#include "core/alloc.h"
#include "core/compiler.h"
#include "quotepack/catalog.h"
#include "quotepack/shard.h"

struct entry {
    struct qp_catalog_row row;
    unsigned seen;
};

struct vstate {
    const char *dir;
    FILE *report;
    struct entry *rows;
    size_t n;
    size_t cap;
    size_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t nslots;
    unsigned long diffs;
    unsigned long archives;
    unsigned long members;
};

static int collect(void *ctx, const struct qp_catalog_row *row)
{
    struct vstate *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->rows = core_xrealloc(v->rows, v->cap * sizeof(*v->rows));
    }
    v->rows[v->n].row = *row;
    v->rows[v->n].seen = 0;
    v->n++;
    return 0;
}

static void index_rows(struct vstate *v)
{
    v->nslots = 16;
    while (v->nslots < v->n * 2) {
        v->nslots *= 2;
    }
    v->slots = core_xcalloc(v->nslots, sizeof(*v->slots));
    for (size_t i = 0; i < v->n; i++) {
        size_t h = (size_t)qp_shard_hash(v->rows[i].row.symbol) & (v->nslots - 1);
        while (v->slots[h] != 0) {
            h = (h + 1) & (v->nslots - 1);
        }
        v->slots[h] = i + 1;
    }
}

static struct entry *lookup(struct vstate *v, const char *symbol)
{
    size_t h = (size_t)qp_shard_hash(symbol) & (v->nslots - 1);
    while (v->slots[h] != 0) {
        struct entry *e = &v->rows[v->slots[h] - 1];
        if (strcmp(e->row.symbol, symbol) == 0) {
            return e;
        }
        h = (h + 1) & (v->nslots - 1);
    }
    return NULL;
}

CORE_PRINTF(2, 3) static void diff(struct vstate *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(v->report, "verify: ");
    vfprintf(v->report, fmt, ap);
    fprintf(v->report, "\n");
    va_end(ap);
    v->diffs++;
}

static int check_archive(void *ctx, const struct qp_catalog_archive *a)
{
    struct vstate *v = ctx;
    char path[4096];
    unsigned long long count = 0;
    snprintf(path, sizeof(path), "%s/%s", v->dir, a->name);
    v->archives++;
    struct archive *ar = archive_read_new();
    if (ar == NULL) {
        return -ENOMEM;
    }
    archive_read_support_filter_all(ar);
    archive_read_support_format_all(ar);
    if (archive_read_open_filename(ar, path, (size_t)256 * 1024) != ARCHIVE_OK) {
        diff(v, "%s: cannot open: %s", a->name, archive_error_string(ar));
        archive_read_free(ar);
        return 0;
    }
    struct archive_entry *e;
    int r;
    char buf[64 * 1024];
    while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        size_t nl = strlen(name);
        char sym[128];
        count++;
        v->members++;
        if (nl <= 4 || nl - 4 >= sizeof(sym) || strcmp(name + nl - 4, ".xml") != 0) {
            diff(v, "%s: unexpected member %s", a->name, name);
            continue;
        }
        memcpy(sym, name, nl - 4);
        sym[nl - 4] = '\0';
        struct entry *en = lookup(v, sym);
        if (en == NULL) {
            diff(v, "%s: member %s is not in the catalog", a->name, name);
            continue;
        }
        en->seen++;
        if (en->seen > 1) {
            diff(v, "%s: %s appears in more than one archive", a->name, sym);
        }
        if (en->row.state != QP_STATE_ARCHIVED || strcmp(en->row.archive, a->name) != 0) {
            diff(v, "%s: the catalog does not record %s in this archive", a->name, sym);
        }
        uint64_t size = 0;
        uint32_t crc = 0;
        la_ssize_t got;
        while ((got = archive_read_data(ar, buf, sizeof(buf))) > 0) {
            crc = (uint32_t)libdeflate_crc32(crc, buf, (size_t)got);
            size += (uint64_t)got;
        }
        if (got < 0) {
            diff(v, "%s: cannot read %s", a->name, name);
            continue;
        }
        if (size != en->row.xml_bytes || crc != en->row.crc32) {
            diff(v, "%s: %s differs from the catalog (size or CRC-32)", a->name, name);
        }
    }
    if (r != ARCHIVE_EOF) {
        diff(v, "%s: damaged: %s", a->name, archive_error_string(ar));
    }
    if (count != a->members) {
        diff(v, "%s: member count differs from the catalog", a->name);
    }
    archive_read_free(ar);
    return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s);
    size_t b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int qp_verify(const char *dir, FILE *report)
{
    struct qp_catalog *cat = NULL;
    struct vstate v;
    memset(&v, 0, sizeof(v));
    v.dir = dir;
    v.report = report;
    int rc = qp_catalog_open(&cat, dir, true);
    if (rc != 0) {
        fprintf(report, "verify: cannot open the catalog in %s: %s\n", dir, strerror(-rc));
        return rc;
    }
    rc = qp_catalog_foreach(cat, collect, &v);
    if (rc != 0) {
        goto out;
    }
    index_rows(&v);
    rc = qp_catalog_foreach_archive(cat, check_archive, &v);
    if (rc != 0) {
        goto out;
    }
    unsigned long archived = 0;
    unsigned long other = 0;
    for (size_t i = 0; i < v.n; i++) {
        const struct entry *e = &v.rows[i];
        if (e->row.state == QP_STATE_ARCHIVED) {
            archived++;
            if (e->seen == 0) {
                diff(&v, "%s: archived in %s but not found there", e->row.symbol, e->row.archive);
            }
        } else {
            other++;
        }
    }
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            const char *n = de->d_name;
            if (strncmp(n, "quotes-", 7) == 0 &&
                (has_suffix(n, ".tgz") || has_suffix(n, ".tar.zst"))) {
                if (qp_catalog_has_archive(cat, n) != 1) {
                    diff(&v, "%s: archive not recorded in the catalog", n);
                }
            } else if (strncmp(n, ".quotes-", 8) == 0 && has_suffix(n, ".tmp")) {
                diff(&v, "%s: leftover temporary archive", n);
            }
        }
        closedir(d);
    }
    fprintf(report,
            "verify: %s: %lu archives, %lu members, %lu symbols archived, %lu not archived: %s\n",
            dir, v.archives, v.members, archived, other, v.diffs == 0 ? "OK" : "DIFFERENCES FOUND");
    rc = v.diffs == 0 ? 0 : 1;
out:
    free(v.rows);
    free(v.slots);
    qp_catalog_close(cat);
    return rc;
}

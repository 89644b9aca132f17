// SPDX-License-Identifier: MIT
/* quotepack verify DIR: every archive read back and checked against the catalog. */
#include "quotepack/verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/compiler.h"
#include "quotepack/archive_scan.h"
#include "quotepack/catalog.h"
#include "quotepack/pack.h"
#include "quotepack/strset.h"

struct entry {
    struct qp_catalog_row row;
    unsigned seen;
};

/* An earlier generation of a symbol (a member a refresh replaced), keyed "archive/symbol". */
struct gen_entry {
    struct qp_catalog_generation g;
    char key[128 + 128 + 2];
    unsigned seen;
};

struct vstate {
    const char *dir;
    FILE *report;
    struct entry *rows;
    size_t n;
    size_t cap;
    struct qp_strset index;    /* symbol -> index into rows */
    struct qp_strset recorded; /* archive names of the snapshot */
    char **names;              /* the archive names (owned) */
    size_t nnames, names_cap;
    struct gen_entry *gens;
    size_t ngens, gens_cap;
    struct qp_strset gen_index; /* "archive/symbol" -> index into gens */
    unsigned long diffs;
    unsigned long archives;
    unsigned long members;
    unsigned long with_manifest; /* archives that carry a manifest */
    const char *current;         /* the archive being checked (its name or path) */
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

static int collect_generation(void *ctx, const struct qp_catalog_generation *g)
{
    struct vstate *v = ctx;
    if (v->ngens == v->gens_cap) {
        v->gens_cap = v->gens_cap ? v->gens_cap * 2 : 64;
        v->gens = core_xrealloc(v->gens, v->gens_cap * sizeof(*v->gens));
    }
    struct gen_entry *e = &v->gens[v->ngens++];
    e->g = *g;
    snprintf(e->key, sizeof(e->key), "%s/%s", g->archive, g->symbol);
    e->seen = 0;
    return 0;
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

static bool has_xml_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".xml") == 0;
}

/* A manifest difference, reported against the archive being checked (v->current). */
static void manifest_diff(void *ctx, const char *sentence)
{
    struct vstate *v = ctx;
    diff(v, "%s: %s", v->current, sentence);
}

/*
 * The archive's own checks, the same with and without a catalog: it opens and reads to its
 * end, and when it has a manifest (archives from before the manifest have none) every member
 * matches it. The members' facts are left in *sa for the catalog's checks.
 */
static void check_self(struct vstate *v, const char *path, const char *label,
                       struct qp_scanned_archive *sa, bool need_manifest)
{
    v->current = label;
    qp_archive_scan(path, sa);
    if (!sa->opened) {
        // libarchive reads ahead when it opens: a file that is there but fails that early is
        // damaged, not missing.
        struct stat st;
        bool there = stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
        diff(v, "%s: %s: %s", label, there ? "damaged (truncated or corrupt)" : "cannot open",
             sa->open_error);
        return;
    }
    if (sa->damaged) {
        diff(v, "%s: damaged (truncated or corrupt): %s", label, sa->damage);
    }
    if (sa->manifest_dup) {
        diff(v, "%s: more than one %s member", label, QP_MANIFEST_NAME);
    } else if (sa->has_manifest && !sa->manifest_ok) {
        diff(v, "%s: bad manifest: %s", label, sa->manifest_error);
    } else if (sa->has_manifest) {
        v->with_manifest++;
        (void)qp_archive_check_manifest(sa, manifest_diff, v);
    } else if (need_manifest) {
        diff(v,
             "%s: has no %s member (written before quotepack kept one, or it was removed): "
             "nothing to verify it against without its catalog",
             label, QP_MANIFEST_NAME);
    }
    for (size_t i = 0; !sa->has_manifest && i < sa->n; i++) {
        if (sa->members[i].xml_error[0] != '\0') {
            diff(v, "%s: %s is not well-formed XML: %s", label, sa->members[i].name,
                 sa->members[i].xml_error);
        }
    }
}

static int check_archive(void *ctx, const struct qp_catalog_archive *a)
{
    struct vstate *v = ctx;
    char path[4096];
    struct qp_scanned_archive sa;
    snprintf(path, sizeof(path), "%s/%s", v->dir, a->name);
    v->archives++;
    check_self(v, path, a->name, &sa, false);
    for (size_t k = 0; k < sa.n; k++) {
        const struct qp_scanned_member *m = &sa.members[k];
        const char *name = m->name;
        size_t nl = strlen(name);
        char sym[128];
        v->members++;
        if (nl <= 4 || nl - 4 >= sizeof(sym) || strcmp(name + nl - 4, ".xml") != 0) {
            diff(v, "%s: unexpected member %s", a->name, name);
            continue;
        }
        memcpy(sym, name, nl - 4);
        sym[nl - 4] = '\0';
        size_t i = 0;
        if (!qp_strset_find(&v->index, sym, &i)) {
            diff(v, "%s: member %s is not in the catalog", a->name, name);
            continue;
        }
        struct entry *en = &v->rows[i];
        char gkey[sizeof(((struct gen_entry *)NULL)->key)];
        size_t gi = 0;
        snprintf(gkey, sizeof(gkey), "%s/%s", a->name, sym);
        if (strcmp(en->row.archive, a->name) != 0 && qp_strset_find(&v->gen_index, gkey, &gi)) {
            // An earlier generation of the symbol (replaced by a refresh): checked against
            // its own record.
            struct gen_entry *ge = &v->gens[gi];
            ge->seen++;
            if (!m->read_ok) {
                continue; // the damage was reported
            }
            if (m->size != ge->g.xml_bytes || m->crc32 != ge->g.crc32) {
                diff(v, "%s: %s.xml differs from its earlier generation's record (size or CRC-32)",
                     a->name, sym);
            }
            continue;
        }
        en->seen++;
        if (en->seen > 1) {
            diff(v, "%s: %s appears in more than one archive", a->name, sym);
        }
        if (en->row.state != QP_STATE_ARCHIVED || strcmp(en->row.archive, a->name) != 0) {
            diff(v, "%s: the catalog does not record %s in this archive", a->name, sym);
        }
        if (!m->read_ok) {
            continue; // the damage was reported
        }
        if (m->size != en->row.xml_bytes || m->crc32 != en->row.crc32) {
            diff(v, "%s: %s.xml differs from the catalog (size or CRC-32)", a->name, sym);
        } else if (m->xml_error[0] == '\0' && m->rows != en->row.rows) {
            diff(v, "%s: %s.xml has %llu rows, the catalog says %llu", a->name, sym,
                 (unsigned long long)m->rows, (unsigned long long)en->row.rows);
        }
    }
    if (sa.opened && !sa.damaged && sa.n != a->members) {
        diff(v, "%s: member count differs from the catalog", a->name);
    }
    qp_archive_scan_release(&sa);
    return 0;
}

static int note_archive(void *ctx, const struct qp_catalog_archive *a)
{
    struct vstate *v = ctx;
    if (v->nnames == v->names_cap) {
        v->names_cap = v->names_cap ? v->names_cap * 2 : 256;
        v->names = core_xrealloc(v->names, v->names_cap * sizeof(*v->names));
    }
    v->names[v->nnames++] = core_xstrdup(a->name);
    return 0;
}

/* Whether a quotepack run holds DIR/.lock right now. */
static bool run_active(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/.lock", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); // releases the shared lock if it was taken
    return busy;
}

struct listing {
    char **names;
    enum qp_pack_name_kind *kinds;
    size_t n, cap;
};

/* The archives and temp files in DIR, listed before the catalog snapshot is taken: a file
 * appears before the transaction that records it, so every file found is either recorded in
 * the snapshot or not yet (or never) recorded. */
static void list_dir(const char *dir, struct listing *l)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        enum qp_pack_name_kind k = qp_pack_name_kind(de->d_name);
        if (k == QP_PACK_NAME_OTHER) {
            continue;
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 64;
            l->names = core_xrealloc(l->names, l->cap * sizeof(*l->names));
            l->kinds = core_xrealloc(l->kinds, l->cap * sizeof(*l->kinds));
        }
        l->names[l->n] = core_xstrdup(de->d_name);
        l->kinds[l->n++] = k;
    }
    closedir(d);
}

/* Files that the snapshot does not record: differences, unless a run is writing them now. */
static void judge_files(struct vstate *v, const struct listing *l, bool active)
{
    unsigned long pending = 0;
    for (size_t i = 0; i < l->n; i++) {
        bool unrecorded = l->kinds[i] == QP_PACK_NAME_TEMP ||
                          !qp_strset_find(&v->recorded, l->names[i], NULL);
        if (!unrecorded) {
            continue;
        }
        if (active || (active = run_active(v->dir))) {
            pending++;
        } else if (l->kinds[i] == QP_PACK_NAME_TEMP) {
            diff(v, "%s: leftover temporary archive", l->names[i]);
        } else {
            diff(v, "%s: archive not recorded in the catalog", l->names[i]);
        }
    }
    if (pending > 0) {
        fprintf(v->report,
                "verify: a run is writing %s: %lu archive file(s) newer than the catalog's "
                "snapshot were not judged\n",
                v->dir, pending);
    }
}

int qp_verify(const char *dir, FILE *report)
{
    struct qp_catalog *cat = NULL;
    struct vstate v;
    struct listing l;
    memset(&v, 0, sizeof(v));
    memset(&l, 0, sizeof(l));
    v.dir = dir;
    v.report = report;
    bool active = run_active(dir);
    list_dir(dir, &l);
    char cpath[4096];
    snprintf(cpath, sizeof(cpath), "%s/%s", dir, QP_CATALOG_FILE);
    // A run takes the lock, then creates the catalog file, then commits its schema: until
    // then there is nothing recorded, and so nothing to judge (the run deletes any archive
    // its catalog does not record before it writes one).
    int rc = active && access(cpath, F_OK) != 0 ? -ENOENT : qp_catalog_open(&cat, dir, true);
    if (rc == -ENOENT && active) {
        fprintf(report, "verify: a run is creating the catalog in %s: nothing is archived yet\n",
                dir);
        rc = 0;
        goto out;
    }
    if (rc != 0) {
        fprintf(report, "verify: cannot open the catalog in %s: %s\n", dir, strerror(-rc));
        goto out;
    }
    // One read transaction: the symbols and the archives come from one snapshot, however
    // many commits a running quotepack makes meanwhile.
    rc = qp_catalog_begin_read(cat);
    if (rc == 0) {
        rc = qp_catalog_foreach(cat, collect, &v);
    }
    if (rc == 0) {
        rc = qp_catalog_foreach_archive(cat, note_archive, &v);
    }
    if (rc == 0) {
        rc = qp_catalog_foreach_generation(cat, collect_generation, &v);
    }
    if (rc == 0) {
        qp_strset_init(&v.gen_index, v.ngens);
        for (size_t i = 0; i < v.ngens; i++) {
            qp_strset_add(&v.gen_index, v.gens[i].key, i);
        }
        qp_strset_init(&v.index, v.n);
        for (size_t i = 0; i < v.n; i++) {
            qp_strset_add(&v.index, v.rows[i].row.symbol, i);
        }
        qp_strset_init(&v.recorded, v.nnames);
        for (size_t i = 0; i < v.nnames; i++) {
            qp_strset_add(&v.recorded, v.names[i], i);
        }
        rc = qp_catalog_foreach_archive(cat, check_archive, &v);
    }
    qp_catalog_rollback(cat);
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
    for (size_t i = 0; i < v.ngens; i++) {
        if (v.gens[i].seen == 0) {
            diff(&v, "%s: an earlier generation in %s but not found there", v.gens[i].g.symbol,
                 v.gens[i].g.archive);
        }
    }
    judge_files(&v, &l, active);
    fprintf(report,
            "verify: %s: %lu archives (%lu with a manifest), %lu members, %lu symbols archived, "
            "%lu not archived: %s\n",
            dir, v.archives, v.with_manifest, v.members, archived, other,
            v.diffs == 0 ? "OK" : "DIFFERENCES FOUND");
    rc = v.diffs == 0 ? 0 : 1;
out:
    for (size_t i = 0; i < l.n; i++) {
        free(l.names[i]);
    }
    free(l.names);
    free(l.kinds);
    for (size_t i = 0; i < v.nnames; i++) {
        free(v.names[i]);
    }
    free(v.names);
    free(v.rows);
    free(v.gens);
    qp_strset_release(&v.gen_index);
    qp_strset_release(&v.index);
    qp_strset_release(&v.recorded);
    qp_catalog_close(cat);
    return rc;
}

int qp_verify_files(char *const *paths, size_t n, FILE *report)
{
    struct vstate v;
    memset(&v, 0, sizeof(v));
    v.report = report;
    for (size_t i = 0; i < n; i++) {
        struct qp_scanned_archive sa;
        unsigned long before = v.diffs;
        check_self(&v, paths[i], paths[i], &sa, true);
        v.archives++;
        v.members += sa.n;
        for (size_t k = 0; k < sa.n; k++) {
            if (!has_xml_suffix(sa.members[k].name)) {
                diff(&v, "%s: unexpected member %s", paths[i], sa.members[k].name);
            }
        }
        fprintf(report, "verify: %s: %zu members: %s\n", paths[i], sa.n,
                v.diffs == before ? "OK" : "DIFFERENCES FOUND");
        qp_archive_scan_release(&sa);
    }
    fprintf(report, "verify: %lu archives (without a catalog), %lu members: %s\n", v.archives,
            v.members, v.diffs == 0 ? "OK" : "DIFFERENCES FOUND");
    return v.diffs == 0 ? 0 : 1;
}

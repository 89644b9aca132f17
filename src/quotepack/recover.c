// SPDX-License-Identifier: MIT
/* What a run does first: bring the catalog, the archives and the spool into agreement. */
#include "quotepack/recover.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "quotepack/catalog.h"
#include "quotepack/console.h"
#include "quotepack/failpoint.h"
#include "quotepack/pack.h"
#include "quotepack/reader.h"
#include "quotepack/run.h"
#include "quotepack/shard.h"
#include "quotepack/spool.h"
#include "quotepack/strset.h"

int qp_recover_clean_dir(const char *dir, struct qp_catalog *cat)
{
    DIR *d = opendir(dir);
    int rc = 0;
    bool removed = false;
    if (d == NULL) {
        return -errno;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        enum qp_pack_name_kind kind = qp_pack_name_kind(n);
        if (kind == QP_PACK_NAME_ARCHIVE) {
            int known = qp_catalog_has_archive(cat, n);
            if (known < 0) {
                rc = known;
                break;
            }
            if (known == 1) {
                continue;
            }
            qp_console_log(CORE_LOG_WARN,
                           "removing %s: an interrupted run wrote it but never recorded it; its "
                           "symbols are packed again",
                           n);
        }
        if (kind != QP_PACK_NAME_OTHER) {
            qp_failpoint("unlink");
            if (unlinkat(dirfd(d), n, 0) != 0 && errno != ENOENT) {
                rc = -errno;
                break;
            }
            removed = true;
        }
    }
    closedir(d);
    if (rc == 0 && removed) {
        rc = qp_fsync_dir(dir);
    }
    return rc;
}

struct failed_list {
    const struct qp_config *cfg;
    char **names;
    size_t n, cap;
};

static int collect_failed(void *ctx, const struct qp_catalog_row *row)
{
    struct failed_list *f = ctx;
    if ((row->state == QP_STATE_FAILED || f->cfg->catalog_symbols) &&
        qp_shard_selects(row->symbol, f->cfg->shard_k, f->cfg->shard_n)) {
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 64;
            f->names = core_xrealloc(f->names, f->cap * sizeof(*f->names));
        }
        f->names[f->n++] = core_xstrdup(row->symbol);
    }
    return 0;
}

/* Whether a spooled entry is intact: the member its catalog row describes, byte for byte. */
static bool entry_intact(struct qp_spool *sp, const struct qp_spool_rec *rec,
                         const struct qp_catalog_row *row)
{
    struct qp_reader *r = NULL;
    if (qp_reader_open_record(&r, sp, rec) != 0) {
        return false;
    }
    char want[sizeof(row->symbol) + 8];
    snprintf(want, sizeof(want), "%s.xml", row->symbol);
    const char *name = NULL;
    int64_t size = 0;
    uint64_t got = 0;
    uint32_t crc = 0;
    bool ok = qp_reader_next(r, &name, &size) == 1 && strcmp(name, want) == 0 && size >= 0 &&
              (uint64_t)size == row->xml_bytes && qp_reader_data(r, NULL, &got, &crc) == 0 &&
              got == row->xml_bytes && crc == row->crc32;
    qp_reader_close(r);
    return ok;
}

struct foreign {
    const struct qp_strset *names;
    struct qp_catalog_row *rows;
    size_t n, cap;
};

static int collect_foreign(void *ctx, const struct qp_catalog_row *row)
{
    struct foreign *f = ctx;
    if (row->state == QP_STATE_CONVERTED && !qp_strset_find(f->names, row->symbol, NULL)) {
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 16;
            f->rows = core_xrealloc(f->rows, f->cap * sizeof(*f->rows));
        }
        f->rows[f->n++] = *row;
    }
    return 0;
}

/* Converted symbols of earlier runs that this run does not name go back to pending (their
 * entries would otherwise sit in the spool until a run names them again). */
static int reset_foreign(struct qp_run *run, struct qp_catalog *cat)
{
    struct qp_strset names;
    qp_strset_init(&names, run->nsyms);
    for (size_t i = 0; i < run->nsyms; i++) {
        qp_strset_add(&names, run->syms[i].name, i);
    }
    struct foreign f = { &names, NULL, 0, 0 };
    int rc = qp_catalog_foreach(cat, collect_foreign, &f);
    if (rc == 0 && f.n > 0) {
        rc = qp_catalog_begin(cat);
        for (size_t i = 0; rc == 0 && i < f.n; i++) {
            f.rows[i].state = QP_STATE_PENDING;
            rc = qp_catalog_update(cat, &f.rows[i]);
        }
        rc = rc == 0 ? qp_catalog_commit(cat) : rc;
        if (rc != 0) {
            qp_catalog_rollback(cat);
        }
    }
    qp_strset_release(&names);
    free(f.rows);
    return rc;
}

/* Sorts one symbol into archived / reused / skipped / to fetch (in a transaction). */
static int classify(struct qp_run *run, struct qp_catalog *cat, size_t i,
                    struct qp_recover_stats *st)
{
    const struct qp_config *cfg = run->cfg;
    struct qp_sym *s = &run->syms[i];
    struct qp_catalog_row row;
    int rc = qp_catalog_get(cat, s->name, &row);
    if (rc != 0) {
        return rc;
    }
    s->state = row.state;
    s->rows = row.rows;
    s->csv_bytes = row.csv_bytes;
    s->xml_bytes = row.xml_bytes;
    s->crc = row.crc32;
    // Kept until a new download replaces them (a reused spool entry keeps its body's).
    snprintf(s->etag, sizeof(s->etag), "%s", row.etag);
    snprintf(s->last_modified, sizeof(s->last_modified), "%s", row.last_modified);
    snprintf(s->body_sha256, sizeof(s->body_sha256), "%s", row.body_sha256);
    snprintf(s->first_row, sizeof(s->first_row), "%s", row.first_row);
    snprintf(s->last_row, sizeof(s->last_row), "%s", row.last_row);
    s->gen = row.gen;
    s->at_top = row.at_top;
    if (row.state == QP_STATE_ARCHIVED) {
        snprintf(s->archive, sizeof(s->archive), "%s", row.archive);
        if (cfg->refresh) {
            // Fetched again, conditionally; the catalog row stays as it is (run.h).
            s->refresh = true;
            s->this_run = true;
            run->todo[run->ntodo++] = i;
            st->refreshed++;
            return 0;
        }
        st->already++;
        return 0;
    }
    if (row.state == QP_STATE_FAILED && row.failure == QP_FAILURE_PERMANENT && !cfg->retry_failed) {
        s->failure = row.failure;
        s->error = core_xstrdup(row.error);
        st->skipped++;
        return 0;
    }
    s->this_run = true;
    if (row.state == QP_STATE_CONVERTED && row.spool_format == (int)cfg->format + 1) {
        struct qp_spool_rec rec = { row.spool_seg, row.spool_off, row.spool_len, row.spool_hdr };
        if (qp_spool_adopt(run->spool, &rec) == 0) {
            if (entry_intact(run->spool, &rec, &row)) {
                s->rec = rec;
                run->ready[run->ready_n++] = i;
                run->ready_bytes += rec.data_len + rec.hdr_len;
                st->reused++;
                return 0;
            }
            qp_spool_release(run->spool, &rec);
        }
    }
    // fetched (an old catalog), failed (try again), or converted whose entry is missing or
    // damaged: start over.
    s->state = QP_STATE_PENDING;
    if (row.state != QP_STATE_PENDING) {
        row.state = QP_STATE_PENDING;
        row.error[0] = '\0';
        row.failure = QP_FAILURE_NONE;
        rc = qp_catalog_update(cat, &row);
    }
    run->todo[run->ntodo++] = i;
    return rc;
}

int qp_recover(struct qp_run *run, struct qp_catalog *cat, struct qp_recover_stats *st)
{
    const struct qp_config *cfg = run->cfg;
    const char *const *names = (const char *const *)cfg->symbols;
    size_t n = cfg->nsymbols;
    int rc = 0;
    memset(st, 0, sizeof(*st));
    if (cfg->only_failed || cfg->catalog_symbols) {
        struct failed_list f = { cfg, NULL, 0, 0 };
        rc = qp_catalog_foreach(cat, collect_failed, &f);
        if (rc != 0) {
            for (size_t i = 0; i < f.n; i++) {
                free(f.names[i]);
            }
            free(f.names);
            return rc;
        }
        run->owned_names = f.names;
        names = (const char *const *)f.names;
        n = f.n;
    } else {
        rc = qp_catalog_add_symbols(cat, names, n);
        if (rc != 0) {
            return rc;
        }
    }
    qp_run_alloc_symbols(run, n);
    st->symbols = n;
    rc = qp_recover_clean_dir(cfg->out, cat);
    if (rc != 0) {
        return rc;
    }
    rc = qp_catalog_begin(cat);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        run->syms[i].name = names[i];
        rc = classify(run, cat, i, st);
    }
    rc = rc == 0 ? qp_catalog_commit(cat) : rc;
    if (rc != 0) {
        qp_catalog_rollback(cat);
        return rc;
    }
    rc = reset_foreign(run, cat);
    if (rc != 0) {
        return rc;
    }
    // Anything else in the spool (entries nobody keeps, bodies, an old layout's files) goes.
    return qp_spool_prune(run->spool);
}

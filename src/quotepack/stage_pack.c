// SPDX-License-Identifier: MIT
/* The pack stage: archives the converted symbols N at a time and writes the catalog. */
#include "quotepack/stage_pack.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive/sha256.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "core/thread.h"
#include "quotepack/catalog.h"
#include "quotepack/config.h"
#include "quotepack/console.h"
#include "quotepack/failpoint.h"
#include "quotepack/manifest_member.h"
#include "quotepack/member.h"
#include "quotepack/pack.h"
#include "quotepack/run.h"

struct qp_pack_stage {
    struct qp_run *run;
    struct qp_catalog *cat; /* pack thread only while it runs */
    pthread_t thread;
    uint64_t next_seq; /* pack thread only: the number of the next archive */
    char *end;         /* pack thread only: the end-of-archive frame */
    size_t end_len;
    size_t *members;             /* pack thread only: batch slots */
    struct qp_member *mw;        /* pack thread only: frames the manifest member */
    enum qp_split_kind *splits;  /* pack thread only: the members' splits (refreshes) */
    struct qp_catalog_row *rows; /* pack thread only: dirty rows, then members */
    size_t rows_cap;
};

/*
 * Test hook (docs/quotepack.md): QUOTEPACK_TEST_CRASH_AT=<point> kills the process with
 * SIGKILL at that point of the first archive, so the tests can check what a rerun does
 * after a crash exactly there: "pack-write" (the temp archive half written), "pack-rename"
 * (renamed into place, not recorded), "pack-commit" (recorded, spool not released).
 */
static void crash_point(const char *point)
{
    const char *at = getenv("QUOTEPACK_TEST_CRASH_AT");
    if (at != NULL && strcmp(at, point) == 0) {
        raise(SIGKILL);
    }
}

static int flush_rows(struct qp_pack_stage *ps, const struct qp_catalog_row *rows, size_t n)
{
    if (n == 0) {
        return 0;
    }
    int rc = qp_catalog_begin(ps->cat);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = qp_catalog_update(ps->cat, &rows[i]);
    }
    if (rc == 0) {
        rc = qp_catalog_commit(ps->cat);
    }
    if (rc != 0) {
        qp_catalog_rollback(ps->cat);
    }
    return rc;
}

/*
 * The manifest of the n symbols in ps->members, as the archive's first member (manifest.h),
 * into *frames (malloc'd). Their fields are stable (see pack_archive); what an earlier run
 * converted has no facts here, so its SHA-256 is read back from the spool.
 */
static int make_manifest(struct qp_pack_stage *ps, size_t n, char **frames, size_t *len)
{
    struct qp_run *run = ps->run;
    struct qp_manifest man;
    char now[QP_MANIFEST_DATE];
    int64_t t = (int64_t)time(NULL);
    qp_manifest_time(t, now);
    qp_manifest_init(&man, now);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct qp_sym *s = &run->syms[ps->members[i]];
        struct qp_manifest_entry *e = qp_manifest_add(&man);
        bool have_facts;
        struct qp_spool_rec rec;
        pthread_mutex_lock(&run->mu);
        qp_manifest_entry_name(e, s->name, run->source);
        e->rows = s->rows;
        e->bytes = s->xml_bytes;
        have_facts = s->have_facts;
        if (have_facts) {
            arc_sha256_hex(s->facts.sha256, e->sha256);
            snprintf(e->first, sizeof(e->first), "%s", s->facts.first);
            snprintf(e->last, sizeof(e->last), "%s", s->facts.last);
        }
        qp_manifest_time(s->fetched_at, e->fetched);
        rec = s->rec;
        pthread_mutex_unlock(&run->mu);
        if (!have_facts) {
            rc = qp_manifest_record_sha256(run->spool, &rec, e->sha256);
            if (rc != 0) {
                qp_console_log(CORE_LOG_ERROR, "cannot read the spooled entry of %s back", s->name);
            }
        }
    }
    if (rc == 0) {
        rc = qp_manifest_member(ps->mw, &man, t, frames, len);
    }
    qp_manifest_release(&man);
    return rc;
}

/*
 * Archives the n symbols in ps->members (their fields are stable: converted, taken off the
 * ready queue, written by nobody else).
 */
static int pack_archive(struct qp_pack_stage *ps, size_t n)
{
    struct qp_run *run = ps->run;
    const struct qp_config *cfg = run->cfg;
    struct qp_catalog_row *rows = ps->rows;
    struct qp_pack *pk = NULL;
    char name[64];
    uint64_t bytes = 0;
    int64_t t0 = core_now_ns();
    char *manifest = NULL;
    size_t manifest_len = 0;
    qp_pack_name(name, sizeof(name), ps->next_seq, cfg->format);
    int rc = make_manifest(ps, n, &manifest, &manifest_len);
    if (rc == 0) {
        rc = qp_pack_create(&pk, cfg->out, name);
    }
    if (rc == 0) {
        rc = qp_pack_add_frames(pk, manifest, manifest_len); // the first member
    }
    free(manifest);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        qp_failpoint("archive-write");
        rc = qp_pack_add_record(pk, run->spool, &run->syms[ps->members[i]].rec);
        crash_point("pack-write");
    }
    if (rc == 0) {
        qp_failpoint("archive-commit");
        rc = qp_pack_commit(pk, ps->end, ps->end_len, &bytes);
    }
    qp_pack_destroy(pk);
    if (rc != 0) {
        // The directory's fsync comes after the rename: on its error the archive is in place
        // but not recorded (and may not survive a power loss); take it back now rather than
        // leave it for the next run's startup scan. Before the rename there is nothing here.
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", cfg->out, name);
        if (unlink(path) == 0) {
            (void)qp_fsync_dir(cfg->out);
        }
        return rc;
    }
    crash_point("pack-rename");
    // One transaction records the members and the archive: membership at commit.
    rc = qp_catalog_begin(ps->cat);
    pthread_mutex_lock(&run->mu);
    for (size_t i = 0; i < n; i++) {
        qp_run_row_locked(run, ps->members[i], &rows[i]);
        ps->splits[i] = run->syms[ps->members[i]].split;
    }
    pthread_mutex_unlock(&run->mu);
    size_t rearchived = 0;
    size_t new_rows_only = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rows[i].state = QP_STATE_ARCHIVED;
        snprintf(rows[i].archive, sizeof(rows[i].archive), "%s", name);
        if (run->syms[ps->members[i]].refresh) {
            // A refresh's changed body: the old member becomes an earlier generation.
            // Only the new rows (APPEND/PREPEND): a row-level generation; else the whole body.
            enum qp_split_kind k = ps->splits[i];
            rows[i].at_top = k == QP_SPLIT_PREPEND;
            bool keep = k == QP_SPLIT_APPEND || k == QP_SPLIT_PREPEND;
            rc = qp_catalog_rearchive(ps->cat, &rows[i], keep);
            new_rows_only += keep;
            rearchived++;
        } else {
            rc = qp_catalog_update(ps->cat, &rows[i]);
        }
    }
    if (rc == 0) {
        struct qp_catalog_archive a;
        memset(&a, 0, sizeof(a));
        snprintf(a.name, sizeof(a.name), "%s", name);
        a.seq = ps->next_seq;
        a.members = n;
        a.bytes = bytes;
        rc = qp_catalog_add_archive(ps->cat, &a);
    }
    if (rc == 0) {
        rc = qp_catalog_commit(ps->cat);
    }
    if (rc != 0) {
        // The archive is in place but the catalog does not say so: take it back, as the
        // startup scan would after a crash at this point. The entries are still spooled.
        qp_catalog_rollback(ps->cat);
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", cfg->out, name);
        qp_failpoint("unlink");
        unlink(path);
        (void)qp_fsync_dir(cfg->out);
        return rc;
    }
    crash_point("pack-commit");
    ps->next_seq++;
    uint64_t csv = 0;
    uint64_t freed = 0;
    pthread_mutex_lock(&run->mu);
    for (size_t i = 0; i < n; i++) {
        struct qp_sym *s = &run->syms[ps->members[i]];
        s->state = QP_STATE_ARCHIVED;
        snprintf(s->archive, sizeof(s->archive), "%s", name);
        freed += s->rec.data_len + s->rec.hdr_len;
        csv += s->fetched ? s->csv_bytes : 0;
    }
    run->packing -= n;
    run->packing_bytes -= freed;
    pthread_mutex_unlock(&run->mu);
    for (size_t i = 0; i < n; i++) {
        qp_spool_release(run->spool, &run->syms[ps->members[i]].rec);
    }
    atomic_fetch_add(&run->archived, n - rearchived);
    atomic_fetch_add(&run->rearchived, rearchived);
    atomic_fetch_add(&run->new_rows_only, new_rows_only);
    atomic_fetch_add(&run->archives, 1);
    atomic_fetch_add(&run->archived_csv, csv);
    qp_console_log(CORE_LOG_DEBUG, "packed %s: %zu members, %llu bytes in %.3f s", name, n,
                   (unsigned long long)bytes, (double)(core_now_ns() - t0) / 1e9);
    return 0;
}

/* How many ready symbols to archive now (mu held): a full batch, or what is there when the
 * byte bound is reached or nothing more will come. */
static size_t take_count_locked(const struct qp_run *run)
{
    const struct qp_config *cfg = run->cfg;
    if (run->stopping || run->ready_n == 0) {
        return 0;
    }
    if (run->ready_n >= cfg->batch) {
        return cfg->batch;
    }
    if (qp_run_nothing_more_locked(run) ||
        run->ready_bytes + run->packing_bytes >= cfg->spool_bytes) {
        return run->ready_n;
    }
    return 0;
}

static void *pack_main(void *arg)
{
    struct qp_pack_stage *ps = arg;
    struct qp_run *run = ps->run;
    int64_t last_flush = core_now_ns();
    pthread_mutex_lock(&run->mu);
    for (;;) {
        size_t take = 0;
        bool finished = false;
        for (;;) {
            take = take_count_locked(run);
            finished = run->stopping ? run->upstream_done
                                     : qp_run_nothing_more_locked(run) && run->ready_n == 0;
            bool flush_due = run->ndirty > 0 && core_now_ns() - last_flush > CORE_NS_PER_SEC;
            if (take > 0 || finished || flush_due) {
                break;
            }
            core_cond_wait_until(&run->cond, &run->mu, core_now_ns() + 250 * CORE_NS_PER_MS);
        }
        size_t ndirty = run->ndirty;
        if (ndirty + take > ps->rows_cap) {
            ps->rows_cap = (ndirty + take) * 2;
            ps->rows = core_xrealloc(ps->rows, ps->rows_cap * sizeof(*ps->rows));
        }
        for (size_t i = 0; i < ndirty; i++) {
            qp_run_row_locked(run, run->dirty[i], &ps->rows[i]);
            run->syms[run->dirty[i]].dirty = false;
        }
        run->ndirty = 0;
        uint64_t bytes = 0;
        for (size_t i = 0; i < take; i++) {
            size_t idx = run->ready[run->ready_head];
            run->ready_head = (run->ready_head + 1) % run->nsyms;
            ps->members[i] = idx;
            bytes += run->syms[idx].rec.data_len + run->syms[idx].rec.hdr_len;
        }
        run->ready_n -= take;
        run->ready_bytes -= bytes;
        run->packing += take;
        run->packing_bytes += bytes;
        pthread_mutex_unlock(&run->mu);

        // The queued rows first, in their own transaction (WAL, synchronous=NORMAL: no
        // fsync), so that the entries about to be packed are recorded as converted and a
        // crash while packing loses no conversion (recover.c reuses them).
        int rc = flush_rows(ps, ps->rows, ndirty);
        if (rc == 0 && take > 0) {
            rc = pack_archive(ps, take);
        }
        last_flush = core_now_ns();
        if (rc != 0) {
            qp_console_log(CORE_LOG_ERROR, "%s: %s", take > 0 ? "cannot pack" : "catalog",
                           strerror(-rc));
            qp_run_fail(run, rc);
        } else if (take > 0 && run->wake_fetch != NULL) {
            run->wake_fetch(run->wake_ctx); // the window has room again
        }
        pthread_mutex_lock(&run->mu);
        if (finished && run->ndirty == 0) {
            break;
        }
    }
    pthread_mutex_unlock(&run->mu);
    atomic_store(&run->packer_exited, true);
    core_event_set(run->wake_main);
    return NULL;
}

int qp_pack_stage_start(struct qp_pack_stage **out, struct qp_run *run, struct qp_catalog *cat)
{
    struct qp_pack_stage *ps = core_xcalloc(1, sizeof(*ps));
    ps->run = run;
    ps->cat = cat;
    *out = NULL;
    int rc = qp_catalog_next_archive_seq(cat, &ps->next_seq);
    if (rc == 0) {
        rc = qp_member_end_of_archive(run->cfg->format, run->cfg->level, &ps->end, &ps->end_len);
    }
    if (rc == 0) {
        rc = qp_member_create(&ps->mw, run->cfg->format, run->cfg->level);
    }
    if (rc != 0) {
        free(ps->end);
        free(ps);
        return rc;
    }
    ps->members = core_xcalloc(run->cfg->batch + 1, sizeof(*ps->members));
    ps->splits = core_xcalloc(run->cfg->batch + 1, sizeof(*ps->splits));
    rc = core_thread_start(&ps->thread, "pack", pack_main, ps);
    if (rc != 0) {
        qp_member_destroy(ps->mw);
        free(ps->end);
        free(ps->members);
        free(ps->splits);
        free(ps);
        return rc;
    }
    *out = ps;
    return 0;
}

void qp_pack_stage_join(struct qp_pack_stage *ps)
{
    if (ps == NULL) {
        return;
    }
    pthread_join(ps->thread, NULL);
    qp_member_destroy(ps->mw);
    free(ps->end);
    free(ps->members);
    free(ps->splits);
    free(ps->rows);
    free(ps);
}

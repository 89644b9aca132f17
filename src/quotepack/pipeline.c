// SPDX-License-Identifier: MIT
/* The quotepack pipeline: wires the fetch, convert and pack stages and runs them. */
#include "quotepack/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "quotepack/catalog.h"
#include "quotepack/console.h"
#include "quotepack/dialect.h"
#include "quotepack/progress.h"
#include "quotepack/recover.h"
#include "quotepack/run.h"
#include "quotepack/settings.h"
#include "quotepack/spool.h"
#include "quotepack/stage_convert.h"
#include "quotepack/stage_fetch.h"
#include "quotepack/stage_pack.h"

/*
 * Threads (docs/quotepack.md, docs/THREADING.md):
 *   main      - locks the directory, recovers, starts the stages, draws the progress line,
 *               handles SIGINT/SIGTERM, shuts the stages down in order, gathers the stats;
 *   fetch     - stage_fetch.c;   convert/N - stage_convert.c;   pack - stage_pack.c.
 * They share struct qp_run (run.h) and nothing else.
 */

struct stages {
    struct qp_convert_stage *cs;
    struct qp_fetch_stage *fs;
    struct qp_pack_stage *ps;
    bool convert_started;
};

static int mkdir_p(const char *path)
{
    char *p = core_xstrdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (c == '\0') {
                break;
            }
        }
    }
    free(p);
    return rc;
}

/* Takes DIR/.lock for the run (flock: released when the process ends however it ends). */
static int lock_dir(const char *dir, int *fd)
{
    char lp[4096];
    snprintf(lp, sizeof(lp), "%s/.lock", dir);
    *fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        return -errno;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        return -errno;
    }
    return 0;
}

/* The source and the archive settings, kept so that `quotepack retry DIR` and `quotepack
 * update DIR` can reuse them (settings.h says which). */
static const char *settle_source(struct qp_run *run, struct qp_catalog *cat, char *buf, size_t size)
{
    const struct qp_config *cfg = run->cfg;
    if (cfg->only_failed && !cfg->source_given &&
        qp_catalog_get_setting(cat, "source", buf, size) == 0) {
        return buf;
    }
    if (cfg->catalog_symbols) {
        return cfg->source; // update: the recorded options came in as arguments (main.c)
    }
    int rc = cfg->only_failed ? qp_catalog_set_setting(cat, "source", cfg->source)
                              : qp_settings_store(cat, cfg);
    if (rc != 0) {
        qp_console_log(CORE_LOG_WARN, "cannot record the run's options in the catalog");
    }
    return cfg->source;
}

/* The one shutdown sequence, for the end of the run and for every error after setup. */
static void shutdown_stages(struct qp_run *run, struct stages *sg, bool cancel)
{
    if (cancel) {
        qp_fetch_stage_stop(sg->fs);
    }
    qp_fetch_stage_join(sg->fs);
    if (sg->convert_started) {
        qp_convert_stage_shutdown(sg->cs, cancel);
        sg->convert_started = false;
    }
    qp_run_upstream_done(run);
    qp_pack_stage_join(sg->ps);
    sg->ps = NULL;
}

/* Draws progress until the packer is done or the run must stop. */
static void watch(struct qp_run *run, struct stages *sg, volatile sig_atomic_t *stop,
                  uint64_t total, int64_t t0, struct qp_pipeline_stats *stats)
{
    bool tty = isatty(2) == 1;
    while (!atomic_load(&run->packer_exited) && !qp_run_stopping(run)) {
        if (*stop) {
            qp_console_print("quotepack: interrupted; finishing the current step\n");
            stats->interrupted = 1;
            qp_run_fail(run, 0);
            break;
        }
        (void)core_event_timed_wait(run->wake_main, 250);
        core_event_clear(run->wake_main);
        if (tty) {
            char line[200];
            qp_progress_format(line, sizeof(line), atomic_load(&run->done),
                               atomic_load(&run->failed), total, qp_fetch_stage_bytes(sg->fs),
                               (double)(core_now_ns() - t0) / 1e9);
            qp_console_progress(line);
        }
    }
    qp_console_clear();
}

/* Appends name to a list of at most 10 names in line (size bytes, n used so far). */
static size_t list_name(char *line, size_t size, size_t n, size_t count, const char *name)
{
    if (count < 10) {
        n += (size_t)snprintf(line + n, size - n, "%s%s", count ? ", " : "", name);
        n = n < size ? n : size - 1;
    }
    return n;
}

/*
 * What the run read in an unusual way: files whose delimiter was detected as something else
 * than a comma, and files with a header and no rows (archived as an empty document). One line
 * each (at most 10 symbols named), after the run. Main thread, after every stage thread ended
 * (the symbols' fields are no longer written).
 */
static void print_notes(const struct qp_run *run, struct qp_pipeline_stats *stats)
{
    static const char kinds[] = { ';', '\t', '|', 0 }; /* 0: anything else */
    for (size_t k = 0; run->cfg->dialect.detect && k < sizeof(kinds); k++) {
        char line[1024];
        size_t n = 0, count = 0;
        char example = 0;
        for (size_t i = 0; i < run->nsyms; i++) {
            char d = run->syms[i].delimiter;
            bool match = kinds[k] != 0 ? d == kinds[k] : d != 0 && strchr(",;\t|", d) == NULL;
            if (!match) {
                continue;
            }
            n = list_name(line, sizeof(line), n, count, run->syms[i].name);
            example = d;
            count++;
        }
        if (count > 0) {
            char name[24];
            qp_console_print("quotepack: note: %zu symbol%s read as %s-separated (detected from "
                             "the header line; --delimiter sets it): %s%s\n",
                             count, count == 1 ? "" : "s",
                             qp_dialect_delimiter_name(example, name, sizeof(name)), line,
                             count > 10 ? ", ..." : "");
            stats->other_delimiter += count;
        }
    }
    char line[1024];
    size_t n = 0, count = 0;
    for (size_t i = 0; i < run->nsyms; i++) {
        const struct qp_sym *s = &run->syms[i];
        if (s->delimiter == 0 || s->rows != 0 || s->state == QP_STATE_FAILED) {
            continue;
        }
        n = list_name(line, sizeof(line), n, count, s->name);
        count++;
    }
    if (count > 0) {
        qp_console_print("quotepack: warning: %zu symbol%s had a header and no rows (archived as "
                         "an empty document): %s%s\n",
                         count, count == 1 ? "" : "s", line, count > 10 ? ", ..." : "");
    }
    stats->no_rows = count;
}

int qp_pipeline_run(const struct qp_config *cfg, volatile sig_atomic_t *stop,
                    struct qp_pipeline_stats *stats)
{
    struct qp_run run;
    struct stages sg;
    struct qp_catalog *cat = NULL;
    struct qp_recover_stats rs;
    char stored_source[4096];
    int lock_fd = -1;
    int64_t t0 = core_now_ns();
    memset(stats, 0, sizeof(*stats));
    memset(&sg, 0, sizeof(sg));
    memset(&rs, 0, sizeof(rs));
    int rc = qp_run_init(&run, cfg);
    if (rc != 0) {
        stats->setup_failed = 1;
        return rc;
    }
    // Worker processes first: they must be forked before any thread exists.
    rc = qp_convert_stage_create(&sg.cs, &run);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot start the converter processes (--isolate): %s\n",
                strerror(-rc));
        goto setup_failed;
    }
    rc = mkdir_p(cfg->out);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot create %s: %s\n", cfg->out, strerror(-rc));
        goto setup_failed;
    }
    rc = lock_dir(cfg->out, &lock_fd);
    if (rc != 0) {
        fprintf(stderr, "quotepack: %s: %s\n", cfg->out,
                rc == -EWOULDBLOCK ? "another quotepack run is using this directory (try again "
                                     "when it ends)"
                                   : strerror(-rc));
        goto setup_failed;
    }
    rc = qp_catalog_open(&cat, cfg->out, false);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot open the catalog in %s: %s\n", cfg->out,
                rc == -EPROTO ? "it was written by a newer quotepack" : strerror(-rc));
        goto setup_failed;
    }
    rc = qp_spool_open(&run.spool, cfg->out);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot create the spool in %s: %s\n", cfg->out, strerror(-rc));
        goto setup_failed;
    }
    run.source = settle_source(&run, cat, stored_source, sizeof(stored_source));
    rc = qp_recover(&run, cat, &rs);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot prepare the run in %s: %s\n", cfg->out, strerror(-rc));
        goto setup_failed;
    }
    stats->symbols = rs.symbols;
    stats->already = rs.already;
    stats->reused = rs.reused;
    stats->skipped = rs.skipped;
    stats->refreshed = rs.refreshed;

    rc = qp_fetch_stage_create(&sg.fs, &run, sg.cs);
    if (rc == 0) {
        rc = qp_pack_stage_start(&sg.ps, &run, cat);
    }
    if (rc == 0) {
        rc = qp_convert_stage_start(sg.cs);
        sg.convert_started = rc == 0;
    }
    if (rc == 0) {
        rc = qp_fetch_stage_start(sg.fs);
    }
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot start the run: %s\n", strerror(-rc));
        qp_run_fail(&run, rc);
    } else {
        watch(&run, &sg, stop, run.ntodo, t0, stats);
    }
    bool stopped = qp_run_stopping(&run);
    shutdown_stages(&run, &sg, stopped);
    rc = run.fatal;

    stats->failed = atomic_load(&run.failed);
    stats->host_skipped = atomic_load(&run.host_skipped);
    stats->archived = atomic_load(&run.archived);
    stats->archives = atomic_load(&run.archives);
    stats->csv_bytes = atomic_load(&run.archived_csv);
    stats->xml_bytes = atomic_load(&run.xml_bytes);
    stats->requests = qp_fetch_stage_requests(sg.fs);
    stats->not_modified = atomic_load(&run.not_modified);
    stats->unchanged = atomic_load(&run.unchanged);
    stats->rearchived = atomic_load(&run.rearchived);
    stats->new_rows_only = atomic_load(&run.new_rows_only);
    stats->refresh_failed = atomic_load(&run.refresh_failed);
    stats->peak_files = run.peak_files;
    stats->peak_bytes = run.peak_bytes;
    print_notes(&run, stats);
    if (rc == 0 && !stopped) {
        qp_spool_finish(run.spool);
    }
    goto out;
setup_failed:
    stats->setup_failed = 1;
out:
    qp_fetch_stage_destroy(sg.fs);
    qp_convert_stage_destroy(sg.cs);
    qp_spool_close(run.spool);
    qp_catalog_close(cat);
    if (lock_fd >= 0) {
        close(lock_fd);
    }
    qp_run_release(&run);
    stats->seconds = (double)(core_now_ns() - t0) / 1e9;
    return rc;
}

void qp_pipeline_print_summary(const struct qp_config *cfg, const struct qp_pipeline_stats *st)
{
    double mb = (double)st->csv_bytes / 1e6;
    char empty[64] = "";
    if (st->no_rows > 0) {
        snprintf(empty, sizeof(empty), " (%llu with a header and no rows)",
                 (unsigned long long)st->no_rows);
    }
    char extra[256] = "";
    if (st->skipped > 0) {
        snprintf(extra, sizeof(extra),
                 "; %llu failed permanently before and were not fetched again (quotepack retry "
                 "%s)",
                 (unsigned long long)st->skipped, cfg->out);
    }
    fprintf(stderr,
            "quotepack: %llu symbols: %llu archived now%s, %llu earlier, %llu failed%s; "
            "%llu archives in %s; %.1f MB of CSV archived in %.2f s (%.1f MB/s), %llu requests\n",
            (unsigned long long)st->symbols, (unsigned long long)st->archived, empty,
            (unsigned long long)st->already, (unsigned long long)st->failed, extra,
            (unsigned long long)st->archives, cfg->out, mb, st->seconds,
            st->seconds > 0 ? mb / st->seconds : 0.0, (unsigned long long)st->requests);
    if (cfg->refresh) {
        fprintf(stderr,
                "quotepack: refresh: %llu archived symbols checked: %llu not modified (304), "
                "%llu unchanged (same SHA-256), %llu changed and archived again (%llu of them "
                "only their new rows), %llu failed (kept as archived)\n",
                (unsigned long long)st->refreshed, (unsigned long long)st->not_modified,
                (unsigned long long)st->unchanged, (unsigned long long)st->rearchived,
                (unsigned long long)st->new_rows_only, (unsigned long long)st->refresh_failed);
    }
    if (st->host_skipped > 0) {
        fprintf(stderr, "quotepack: %llu of the failures: their host was given up (see above)\n",
                (unsigned long long)st->host_skipped);
    }
    if (st->failed > 0) {
        fprintf(stderr, "quotepack: the failures are listed by: quotepack ls %s\n", cfg->out);
    }
    if (core_log_get_level() >= CORE_LOG_DEBUG) {
        fprintf(stderr, "quotepack: spool: at most %llu converted entries and %llu bytes waiting\n",
                (unsigned long long)st->peak_files, (unsigned long long)st->peak_bytes);
    }
}

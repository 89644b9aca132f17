// SPDX-License-Identifier: MIT
/* The quotepack pipeline: fetch -> convert -> spool -> pack, with the catalog and progress. */
#include "quotepack/pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libdeflate.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/procpool.h"
#include "core/thread.h"
#include "quotepack/catalog.h"
#include "quotepack/convert.h"
#include "quotepack/fetch.h"
#include "quotepack/pack.h"
#include "quotepack/progress.h"
#include "quotepack/shard.h"
#include "quotepack/spool.h"

/*
 * Threads (see docs/quotepack.md):
 *   main    - prepares the catalog, starts the others, shows progress, shuts down;
 *   fetch   - the curl multi loop; admits symbols batch by batch, at most two batches ahead
 *             of the packer, and hands each body to the convert pool;
 *   convert/N - core_pool workers: qp_convert (or a procpool call), XML into the spool;
 *   pack    - owns the catalog connection during the run: writes state changes in coalesced
 *             transactions and packs each batch when its last symbol is done.
 * Lock: one mutex (mu) for the shared symbol/batch state; it is never held across I/O,
 * a catalog call, a curl call or a pool submit.
 */

#define WINDOW_BATCHES 2 /* batches of XML that may exist in the spool at once */
/* Compressed tgz entries kept in memory for the packer; past this the packer compresses. */
#define GZ_BUDGET ((uint64_t)64 << 20)

struct sym {
    const char *name;    /* immutable: borrowed from the config */
    int64_t batch;       /* immutable after prepare */
    size_t work;         /* immutable after prepare: index into pl->wb, or SIZE_MAX */
    bool need_fetch;     /* immutable after prepare */
    enum qp_state state; /* guarded by mu */
    uint64_t rows;       /* guarded by mu */
    uint64_t csv_bytes;  /* guarded by mu */
    uint64_t xml_bytes;  /* guarded by mu */
    uint32_t crc;        /* guarded by mu */
    char *error;         /* guarded by mu */
    char *gz;            /* guarded by mu: its tgz entry, compressed by the converter, or NULL */
    size_t gz_len;       /* guarded by mu */
    bool dirty;          /* guarded by mu: in pl->dirty, not yet in the catalog */
    char delim;          /* guarded by mu: the delimiter its CSV was read with, 0 if not */
};

struct wbatch {
    int64_t batch;     /* immutable */
    size_t *members;   /* immutable: indexes into pl->syms, todo symbols of the batch */
    size_t n;          /* immutable */
    size_t remaining;  /* guarded by mu: members not yet converted or failed */
    size_t next_admit; /* fetch thread only */
};

struct job {
    struct qp_pipeline *pl;
    size_t idx;
    char *body;
    size_t len;
};

struct qp_pipeline {
    const struct qp_config *cfg;  /* immutable */
    struct qp_catalog *cat;       /* main thread, then pack thread, then main again */
    struct qp_spool *spool;       /* thread-safe */
    struct sym *syms;             /* see struct sym */
    size_t nsyms;                 /* immutable */
    struct wbatch *wb;            /* see struct wbatch */
    size_t nwb;                   /* immutable */
    struct qp_convert_opts copts; /* immutable */
    struct core_pool *pool;
    struct core_procpool *pp;
    struct qp_fetch *fetch;
    struct core_event *wake_main; /* set when the packer exits or the run must stop */

    pthread_mutex_t mu;
    pthread_cond_t cond;       /* packer: dirty rows, a batch done, stop */
    size_t lowest;             /* guarded by mu: first work batch not packed yet */
    size_t admit_wb;           /* fetch thread only */
    size_t *dirty;             /* guarded by mu: nsyms slots */
    size_t ndirty;             /* guarded by mu */
    int fatal;                 /* guarded by mu: first run-level error */
    bool stopping;             /* guarded by mu */
    bool upstream_done;        /* guarded by mu: fetch and pool are finished */
    atomic_bool packer_exited; /* atomic */

    atomic_uint_fast64_t done;      /* atomic: symbols terminal in this run */
    atomic_uint_fast64_t failed;    /* atomic */
    atomic_uint_fast64_t archived;  /* atomic */
    atomic_uint_fast64_t archives;  /* atomic */
    atomic_uint_fast64_t xml_bytes; /* atomic */
    atomic_uint_fast64_t gz_held;   /* atomic: bytes of sym.gz not yet packed */
};

/* ---- shared state changes ---------------------------------------------------------------- */

static void mark_dirty_locked(struct qp_pipeline *pl, size_t idx)
{
    if (!pl->syms[idx].dirty) {
        pl->syms[idx].dirty = true;
        pl->dirty[pl->ndirty++] = idx;
    }
}

/* A run-level failure: remember the first one and stop everything. Any thread. */
static void fail_run(struct qp_pipeline *pl, int rc)
{
    pthread_mutex_lock(&pl->mu);
    if (pl->fatal == 0) {
        pl->fatal = rc;
    }
    pl->stopping = true;
    pthread_cond_broadcast(&pl->cond);
    pthread_mutex_unlock(&pl->mu);
    qp_fetch_stop(pl->fetch);
    core_event_set(pl->wake_main);
}

static bool stopping(struct qp_pipeline *pl)
{
    pthread_mutex_lock(&pl->mu);
    bool s = pl->stopping;
    pthread_mutex_unlock(&pl->mu);
    return s;
}

/* A symbol reached converted or failed. Any thread. error is copied. */
/* A symbol reached converted (with its tgz entry gz, ownership passes, or NULL) or failed.
 * Any thread. error is copied. */
static void finish_sym_gz(struct qp_pipeline *pl, size_t idx, enum qp_state state, uint64_t rows,
                          uint64_t xml_bytes, uint32_t crc, const char *error, char *gz,
                          size_t gz_len)
{
    struct sym *s = &pl->syms[idx];
    char *e = error != NULL ? core_xstrdup(error) : NULL;
    pthread_mutex_lock(&pl->mu);
    s->state = state;
    s->rows = rows;
    s->xml_bytes = xml_bytes;
    s->crc = crc;
    free(s->error);
    s->error = e;
    s->gz = gz;
    s->gz_len = gz_len;
    mark_dirty_locked(pl, idx);
    struct wbatch *w = &pl->wb[s->work];
    w->remaining--;
    if (w->remaining == 0) {
        pthread_cond_broadcast(&pl->cond);
    }
    pthread_mutex_unlock(&pl->mu);
    if (state == QP_STATE_FAILED) {
        LOG_WARN("%s: %s", s->name, error);
        atomic_fetch_add(&pl->failed, 1);
    }
    atomic_fetch_add(&pl->done, 1);
}

/* Records the delimiter a symbol's CSV was read with (for the summary). Any thread. */
static void set_delim(struct qp_pipeline *pl, size_t idx, char delim)
{
    pthread_mutex_lock(&pl->mu);
    pl->syms[idx].delim = delim;
    pthread_mutex_unlock(&pl->mu);
}

static void finish_sym(struct qp_pipeline *pl, size_t idx, enum qp_state state, uint64_t rows,
                       uint64_t xml_bytes, uint32_t crc, const char *error)
{
    finish_sym_gz(pl, idx, state, rows, xml_bytes, crc, error, NULL, 0);
}

/* ---- convert stage ----------------------------------------------------------------------- */

struct iso_reply {
    int32_t status;   /* enum qp_convert_status */
    int32_t io_error; /* 0, or the negative errno of the spool write */
    uint32_t crc;     /* CRC-32 of the XML */
    uint32_t delim;   /* the delimiter the CSV was read with */
    uint64_t rows;
    uint64_t xml_len;
    uint64_t gz_len; /* bytes of tgz entry following this header */
    uint64_t line;
    uint64_t column;
    char message[200];
};

/*
 * Runs in a worker process (--isolate). The request is the CSV followed by the symbol and a
 * 16-bit symbol length. The worker converts, writes the XML to the spool itself and, for
 * tgz, compresses the archive entry, so that only a small reply (header + compressed entry)
 * crosses the socket. A crash anywhere in here fails that symbol only; a spool file it left
 * half-written is a .tmp that the next startup removes.
 */
static int iso_handler(void *ctx, const void *in, size_t len, struct core_procpool_out *out)
{
    const struct qp_pipeline *pl = ctx;
    static struct qp_spool *spool; // this worker process's own handle, opened on first use
    struct qp_convert_result res;
    struct qp_convert_error err;
    struct iso_reply r;
    char name[QP_MAX_SYMBOL + 1];
    char *gz = NULL;
    uint16_t nl = 0;
    if (len < sizeof(nl)) {
        return -EINVAL;
    }
    memcpy(&nl, (const char *)in + len - sizeof(nl), sizeof(nl));
    if (nl == 0 || nl > QP_MAX_SYMBOL || (size_t)nl + sizeof(nl) > len) {
        return -EINVAL;
    }
    size_t csv_len = len - sizeof(nl) - nl;
    memcpy(name, (const char *)in + csv_len, nl);
    name[nl] = '\0';
    const char *marker = getenv("QUOTEPACK_TEST_CRASH_MARKER");
    // Test hook (docs/quotepack.md): a body containing the marker crashes the worker, which
    // is how the tests check that a crash fails one symbol only.
    if (marker != NULL && marker[0] != '\0' &&
        memmem(in, csv_len, marker, strlen(marker)) != NULL) {
        raise(SIGSEGV);
    }
    memset(&r, 0, sizeof(r));
    memset(&res, 0, sizeof(res));
    memset(&err, 0, sizeof(err));
    enum qp_convert_status st = qp_convert(in, csv_len, &pl->copts, &res, &err);
    r.status = (int32_t)st;
    if (st == QP_CONVERT_OK) {
        r.delim = (uint8_t)res.delimiter;
        r.rows = res.rows;
        r.xml_len = res.xml_len;
        r.crc = (uint32_t)libdeflate_crc32(0, res.xml, res.xml_len);
        int wrc = spool != NULL ? 0 : qp_spool_open(&spool, pl->cfg->out);
        if (wrc == 0) {
            wrc = qp_spool_write(spool, name, res.xml, res.xml_len);
        }
        r.io_error = wrc;
        if (wrc == 0 && pl->cfg->format == QP_FORMAT_TGZ) {
            char member[QP_MAX_SYMBOL + 8];
            size_t gz_len = 0;
            snprintf(member, sizeof(member), "%s.xml", name);
            if (qp_pack_gzip_entry(pl->cfg->level, member, res.xml, res.xml_len,
                                   (int64_t)time(NULL), &gz, &gz_len) == 0) {
                r.gz_len = gz_len;
            }
        }
    } else {
        r.line = err.line;
        r.column = err.column;
        memcpy(r.message, err.message, sizeof(r.message));
        r.message[sizeof(r.message) - 1] = '\0';
    }
    free(res.xml);
    int rc = core_procpool_out_append(out, &r, sizeof(r));
    if (rc == 0 && r.gz_len > 0) {
        rc = core_procpool_out_append(out, gz, r.gz_len);
    }
    free(gz);
    return rc;
}

static void describe_convert_error(char *buf, size_t size, const struct qp_convert_error *err)
{
    const char *what = err->status == QP_CONVERT_NOT_CSV     ? "not CSV"
                       : err->status == QP_CONVERT_BAD_CSV   ? "bad CSV"
                       : err->status == QP_CONVERT_BAD_XML   ? "not representable in XML"
                       : err->status == QP_CONVERT_TOO_LARGE ? "too large"
                                                             : "conversion failed";
    if (err->line > 0) {
        snprintf(buf, size, "%s (%s) at line %llu, column %llu: %s", what,
                 qp_convert_status_name(err->status), (unsigned long long)err->line,
                 (unsigned long long)err->column, err->message);
    } else {
        snprintf(buf, size, "%s (%s): %s", what, qp_convert_status_name(err->status), err->message);
    }
}

static void convert_task(void *arg, void *thread_state, int status)
{
    struct job *j = arg;
    struct qp_pipeline *pl = j->pl;
    const char *sym = pl->syms[j->idx].name;
    struct qp_convert_result res;
    struct qp_convert_error err;
    struct core_procpool_result pres;
    char msg[512];
    const char *xml = NULL;
    size_t xml_len = 0;
    char *owned = NULL;
    (void)thread_state;
    memset(&res, 0, sizeof(res));
    memset(&err, 0, sizeof(err));
    memset(&pres, 0, sizeof(pres));
    if (status != 0 || stopping(pl)) {
        goto out; // cancelled at shutdown: the symbol stays where the catalog has it
    }
    if (pl->pp != NULL) {
        // Append the symbol and its length to the request (see iso_handler).
        uint16_t nl = (uint16_t)strlen(sym);
        char *req = realloc(j->body, j->len + nl + sizeof(nl));
        if (req == NULL) {
            finish_sym(pl, j->idx, QP_STATE_FAILED, 0, 0, 0, "out of memory");
            goto out;
        }
        j->body = req;
        // Binary framing (the length follows the name), so no terminating NUL is wanted here.
        memcpy(req + j->len, sym, nl); // NOLINT(bugprone-not-null-terminated-result)
        memcpy(req + j->len + nl, &nl, sizeof(nl));
        int rc = core_procpool_call(pl->pp, req, j->len + nl + sizeof(nl), 60000, &pres);
        free(j->body);
        j->body = NULL;
        if (rc == -EPIPE) {
            goto out;
        }
        if (rc != 0) {
            char d[200];
            core_procpool_describe(&pres, d, sizeof(d));
            snprintf(msg, sizeof(msg), "converter crashed: %s", d);
            finish_sym(pl, j->idx, QP_STATE_FAILED, 0, 0, 0, msg);
            goto out;
        }
        struct iso_reply r;
        if (pres.reply == NULL || pres.reply->len < sizeof(r)) {
            finish_sym(pl, j->idx, QP_STATE_FAILED, 0, 0, 0, "converter sent a short reply");
            goto out;
        }
        memcpy(&r, pres.reply->data, sizeof(r));
        if (r.status != QP_CONVERT_OK) {
            err.status = (enum qp_convert_status)r.status;
            err.line = r.line;
            err.column = r.column;
            memcpy(err.message, r.message, sizeof(err.message));
            err.message[sizeof(err.message) - 1] = '\0';
            describe_convert_error(msg, sizeof(msg), &err);
            finish_sym(pl, j->idx, QP_STATE_FAILED, 0, 0, 0, msg);
            goto out;
        }
        if (r.io_error != 0) {
            LOG_ERROR("cannot write the XML of %s to the spool: %s", sym, strerror(-r.io_error));
            fail_run(pl, r.io_error);
            goto out;
        }
        char *gz = NULL;
        if (r.gz_len > 0 && r.gz_len == pres.reply->len - sizeof(r) &&
            atomic_load(&pl->gz_held) < GZ_BUDGET) {
            gz = core_xmalloc(r.gz_len);
            memcpy(gz, pres.reply->data + sizeof(r), r.gz_len);
            atomic_fetch_add(&pl->gz_held, r.gz_len);
        }
        atomic_fetch_add(&pl->xml_bytes, r.xml_len);
        set_delim(pl, j->idx, (char)r.delim);
        finish_sym_gz(pl, j->idx, QP_STATE_CONVERTED, r.rows, r.xml_len, r.crc, NULL, gz,
                      gz != NULL ? r.gz_len : 0);
        goto out;
    } else {
        enum qp_convert_status st = qp_convert(j->body, j->len, &pl->copts, &res, &err);
        if (st != QP_CONVERT_OK) {
            err.status = st;
            describe_convert_error(msg, sizeof(msg), &err);
            finish_sym(pl, j->idx, QP_STATE_FAILED, 0, 0, 0, msg);
            goto out;
        }
        owned = res.xml;
        xml = res.xml;
        xml_len = res.xml_len;
        set_delim(pl, j->idx, res.delimiter);
    }
    // The body is no longer needed: free it before the write, to keep the peak low.
    free(j->body);
    j->body = NULL;
    uint32_t crc = (uint32_t)libdeflate_crc32(0, xml, xml_len);
    int rc = qp_spool_write(pl->spool, sym, xml, xml_len);
    if (rc != 0) {
        LOG_ERROR("cannot write the XML of %s to the spool: %s", sym, strerror(-rc));
        fail_run(pl, rc);
        goto out;
    }
    atomic_fetch_add(&pl->xml_bytes, xml_len);
    // Compress the archive entry here, on this core, while the XML is in memory; the packer
    // then only concatenates. Past the memory budget the packer compresses from the spool.
    char *gz = NULL;
    size_t gz_len = 0;
    if (pl->cfg->format == QP_FORMAT_TGZ && atomic_load(&pl->gz_held) < GZ_BUDGET) {
        char member[QP_MAX_SYMBOL + 8];
        snprintf(member, sizeof(member), "%s.xml", sym);
        if (qp_pack_gzip_entry(pl->cfg->level, member, xml, xml_len, (int64_t)time(NULL), &gz,
                               &gz_len) == 0) {
            atomic_fetch_add(&pl->gz_held, gz_len);
        }
    }
    finish_sym_gz(pl, j->idx, QP_STATE_CONVERTED, res.rows, xml_len, crc, NULL, gz, gz_len);
out:
    free(owned);
    core_buf_unref(pres.reply);
    free(j->body);
    free(j);
}

/* ---- fetch stage callbacks (fetch thread) ------------------------------------------------ */

static enum qp_fetch_admit admit(void *ctx, size_t *idx, const char **symbol)
{
    struct qp_pipeline *pl = ctx;
    enum qp_fetch_admit a = QP_FETCH_ADMIT_DONE;
    pthread_mutex_lock(&pl->mu);
    while (!pl->stopping && pl->admit_wb < pl->nwb) {
        struct wbatch *w = &pl->wb[pl->admit_wb];
        if (w->next_admit == w->n) {
            pl->admit_wb++;
            continue;
        }
        // The spool bound: the packer must have finished batch k before batch k+2 starts.
        if (pl->admit_wb >= pl->lowest + WINDOW_BATCHES) {
            a = QP_FETCH_ADMIT_WAIT;
            break;
        }
        size_t i = w->members[w->next_admit++];
        if (!pl->syms[i].need_fetch) {
            continue;
        }
        *idx = i;
        *symbol = pl->syms[i].name;
        a = QP_FETCH_ADMIT_OK;
        break;
    }
    pthread_mutex_unlock(&pl->mu);
    return a;
}

static void fetched(void *ctx, size_t idx, char *body, size_t len, const char *error)
{
    struct qp_pipeline *pl = ctx;
    if (error != NULL) {
        char msg[512];
        snprintf(msg, sizeof(msg), "download failed: %s", error);
        finish_sym(pl, idx, QP_STATE_FAILED, 0, 0, 0, msg);
        return;
    }
    pthread_mutex_lock(&pl->mu);
    pl->syms[idx].state = QP_STATE_FETCHED;
    pl->syms[idx].csv_bytes = len;
    mark_dirty_locked(pl, idx);
    pthread_mutex_unlock(&pl->mu);
    struct job *j = core_xmalloc(sizeof(*j));
    j->pl = pl;
    j->idx = idx;
    j->body = body;
    j->len = len;
    if (core_pool_submit_wait(pl->pool, convert_task, j) != 0) {
        free(body);
        free(j);
    }
}

static void *fetch_main(void *arg)
{
    struct qp_pipeline *pl = arg;
    int rc = qp_fetch_run(pl->fetch);
    if (rc != 0) {
        fail_run(pl, rc);
    }
    return NULL;
}

/* ---- pack stage (pack thread) ------------------------------------------------------------ */

static int flush_rows(struct qp_pipeline *pl, const struct qp_catalog_row *rows, size_t n)
{
    if (n == 0) {
        return 0;
    }
    int rc = qp_catalog_begin(pl->cat);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = qp_catalog_update(pl->cat, &rows[i]);
    }
    if (rc == 0) {
        rc = qp_catalog_commit(pl->cat);
    }
    if (rc != 0) {
        qp_catalog_rollback(pl->cat);
    }
    return rc;
}

static void row_from_sym(const struct sym *s, struct qp_catalog_row *row)
{
    memset(row, 0, sizeof(*row));
    snprintf(row->symbol, sizeof(row->symbol), "%s", s->name);
    row->batch = s->batch;
    row->state = s->state;
    row->rows = s->rows;
    row->csv_bytes = s->csv_bytes;
    row->xml_bytes = s->xml_bytes;
    row->crc32 = s->crc;
    if (s->error != NULL) {
        snprintf(row->error, sizeof(row->error), "%s", s->error);
    }
}

static void archive_name(char *buf, size_t size, int64_t batch, int part, enum qp_format f)
{
    if (part <= 1) {
        snprintf(buf, size, "quotes-%06lld%s", (long long)batch, qp_pack_ext(f));
    } else {
        snprintf(buf, size, "quotes-%06lld-%d%s", (long long)batch, part, qp_pack_ext(f));
    }
}

/*
 * Packs work batch b: its converted members go into one archive (failed ones are left out and
 * stay failed in the catalog; a rerun retries them and packs them into a further part of the
 * same batch). Order: archive to a temp name, fsync, rename, fsync dir; then one catalog
 * transaction (members archived + the archive row); only then the spooled XML is deleted.
 */
static int pack_batch(struct qp_pipeline *pl, size_t b, struct qp_catalog_row *rows,
                      struct sym **gzs, const struct qp_catalog_row *dirty, size_t ndirty)
{
    const struct wbatch *w = &pl->wb[b];
    struct qp_pack *pk = NULL;
    char name[128];
    char *data = NULL;
    size_t n = 0;
    int part = 0;
    int rc = 0;
    uint64_t bytes = 0;
    int64_t t0 = core_now_ns();
    // remaining == 0 was seen under mu, so nobody writes these symbols any more.
    for (size_t i = 0; i < w->n; i++) {
        struct sym *s = &pl->syms[w->members[i]];
        if (s->state == QP_STATE_CONVERTED) {
            gzs[n] = s;
            row_from_sym(s, &rows[n++]);
        }
    }
    if (n == 0) {
        return flush_rows(pl, dirty, ndirty);
    }
    rc = qp_catalog_count_archives(pl->cat, w->batch, &part);
    if (rc != 0) {
        return rc;
    }
    archive_name(name, sizeof(name), w->batch, part + 1, pl->cfg->format);
    rc = qp_pack_create(&pk, pl->cfg->out, name, pl->cfg->format, pl->cfg->level);
    if (rc != 0) {
        return rc;
    }
    int64_t mtime = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        if (gzs[i]->gz != NULL) {
            rc = qp_pack_add_gzip_entry(pk, gzs[i]->gz, gzs[i]->gz_len);
            if (rc != 0) {
                goto out;
            }
            continue;
        }
        rc = qp_spool_read(pl->spool, rows[i].symbol, &data, &len);
        if (rc != 0) {
            LOG_ERROR("cannot read the spooled XML of %s: %s", rows[i].symbol, strerror(-rc));
            goto out;
        }
        if (len != rows[i].xml_bytes || (uint32_t)libdeflate_crc32(0, data, len) != rows[i].crc32) {
            LOG_ERROR("the spooled XML of %s changed on disk", rows[i].symbol);
            rc = -EIO;
            goto out;
        }
        char member[QP_MAX_SYMBOL + 8];
        snprintf(member, sizeof(member), "%s.xml", rows[i].symbol);
        rc = qp_pack_add(pk, member, data, len, mtime);
        free(data);
        data = NULL;
        if (rc != 0) {
            goto out;
        }
    }
    rc = qp_pack_commit(pk, &bytes);
    if (rc != 0) {
        goto out;
    }
    // One transaction (one fsync) records both the pending state changes and the archive.
    rc = qp_catalog_begin(pl->cat);
    for (size_t i = 0; rc == 0 && i < ndirty; i++) {
        rc = qp_catalog_update(pl->cat, &dirty[i]);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rows[i].state = QP_STATE_ARCHIVED;
        snprintf(rows[i].archive, sizeof(rows[i].archive), "%s", name);
        rc = qp_catalog_update(pl->cat, &rows[i]);
    }
    if (rc == 0) {
        struct qp_catalog_archive a;
        memset(&a, 0, sizeof(a));
        snprintf(a.name, sizeof(a.name), "%s", name);
        a.batch = w->batch;
        a.part = part + 1;
        a.members = n;
        a.bytes = bytes;
        rc = qp_catalog_add_archive(pl->cat, &a);
    }
    if (rc == 0) {
        rc = qp_catalog_commit(pl->cat);
    }
    if (rc != 0) {
        // The archive is in place but the catalog does not say so: take it back, as the
        // startup scan would after a crash at this point. The XML is still in the spool.
        qp_catalog_rollback(pl->cat);
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", pl->cfg->out, name);
        unlink(path);
        (void)qp_fsync_dir(pl->cfg->out);
        goto out;
    }
    pthread_mutex_lock(&pl->mu);
    for (size_t i = 0; i < n; i++) {
        gzs[i]->state = QP_STATE_ARCHIVED;
        atomic_fetch_sub(&pl->gz_held, gzs[i]->gz_len);
        free(gzs[i]->gz);
        gzs[i]->gz = NULL;
        gzs[i]->gz_len = 0;
    }
    pthread_mutex_unlock(&pl->mu);
    for (size_t i = 0; i < n; i++) {
        qp_spool_remove(pl->spool, rows[i].symbol);
    }
    atomic_fetch_add(&pl->archived, n);
    atomic_fetch_add(&pl->archives, 1);
    LOG_DEBUG("packed %s: %zu members, %llu bytes in %.3f s", name, n, (unsigned long long)bytes,
              (double)(core_now_ns() - t0) / 1e9);
out:
    free(data);
    qp_pack_destroy(pk);
    return rc;
}

static void *pack_main(void *arg)
{
    struct qp_pipeline *pl = arg;
    struct qp_catalog_row *rows = core_xcalloc(pl->nsyms + 1, sizeof(*rows));
    struct sym **gzs = core_xcalloc(pl->nsyms + 1, sizeof(struct sym *));
    struct qp_catalog_row *members = core_xcalloc(pl->nsyms + 1, sizeof(*members));
    int64_t last_flush = core_now_ns();
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        bool ready = false;
        bool finished = false;
        for (;;) {
            ready = !pl->stopping && pl->lowest < pl->nwb && pl->wb[pl->lowest].remaining == 0;
            finished = pl->lowest >= pl->nwb || (pl->stopping && pl->upstream_done);
            bool flush_due = pl->ndirty > 0 && core_now_ns() - last_flush > CORE_NS_PER_SEC;
            if (ready || finished || flush_due) {
                break;
            }
            core_cond_wait_until(&pl->cond, &pl->mu, core_now_ns() + 250 * CORE_NS_PER_MS);
        }
        size_t n = 0;
        for (size_t i = 0; i < pl->ndirty; i++) {
            struct sym *s = &pl->syms[pl->dirty[i]];
            row_from_sym(s, &rows[n++]);
            s->dirty = false;
        }
        pl->ndirty = 0;
        size_t b = pl->lowest;
        pthread_mutex_unlock(&pl->mu);

        int64_t tf = core_now_ns();
        int rc = 0;
        if (ready) {
            rc = pack_batch(pl, b, members, gzs, rows, n);
        } else {
            rc = flush_rows(pl, rows, n);
        }
        last_flush = core_now_ns();
        LOG_DEBUG("%s, %zu catalog rows in %.3f s", ready ? "packed" : "flushed", n,
                  (double)(last_flush - tf) / 1e9);
        if (rc == 0 && ready) {
            pthread_mutex_lock(&pl->mu);
            pl->lowest++;
            pthread_mutex_unlock(&pl->mu);
            qp_fetch_wakeup(pl->fetch);
        }
        if (rc != 0) {
            fail_run(pl, rc);
        }
        pthread_mutex_lock(&pl->mu);
        if (finished && pl->ndirty == 0) {
            break;
        }
        if (rc != 0 && pl->upstream_done && pl->ndirty == 0) {
            break;
        }
    }
    pthread_mutex_unlock(&pl->mu);
    free(rows);
    free(members);
    free(gzs);
    atomic_store(&pl->packer_exited, true);
    core_event_set(pl->wake_main);
    return NULL;
}

/* ---- preparation (main thread, before any thread) ---------------------------------------- */

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

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s);
    size_t b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Removes what an interrupted run can leave in DIR: temp archives and unrecorded archives. */
static int clean_out_dir(struct qp_pipeline *pl)
{
    DIR *d = opendir(pl->cfg->out);
    int rc = 0;
    bool removed = false;
    if (d == NULL) {
        return -errno;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        bool ours = strncmp(n, "quotes-", 7) == 0 &&
                    (has_suffix(n, ".tgz") || has_suffix(n, ".tar.zst"));
        bool tmp = strncmp(n, ".quotes-", 8) == 0 && has_suffix(n, ".tmp");
        if (ours) {
            int known = qp_catalog_has_archive(pl->cat, n);
            if (known < 0) {
                rc = known;
                break;
            }
            if (known == 1) {
                continue;
            }
            LOG_WARN("removing %s: an interrupted run wrote it but never recorded it; its "
                     "symbols are packed again",
                     n);
        }
        if (ours || tmp) {
            if (unlinkat(dirfd(d), n, 0) != 0 && errno != ENOENT) {
                rc = -errno;
                break;
            }
            removed = true;
        }
    }
    closedir(d);
    if (rc == 0 && removed) {
        rc = qp_fsync_dir(pl->cfg->out);
    }
    return rc;
}

static int sym_cmp_batch(const void *a, const void *b, void *ctx)
{
    const struct sym *syms = ctx;
    const struct sym *x = &syms[*(const size_t *)a];
    const struct sym *y = &syms[*(const size_t *)b];
    if (x->batch != y->batch) {
        return x->batch < y->batch ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

struct foreign {
    const char **set; /* open addressing over this run's symbols */
    size_t cap;
    struct qp_catalog_row *rows;
    size_t n;
    size_t rcap;
};

static bool in_set(const struct foreign *f, const char *name)
{
    size_t i = (size_t)qp_shard_hash(name) & (f->cap - 1);
    while (f->set[i] != NULL) {
        if (strcmp(f->set[i], name) == 0) {
            return true;
        }
        i = (i + 1) & (f->cap - 1);
    }
    return false;
}

static int collect_foreign(void *ctx, const struct qp_catalog_row *row)
{
    struct foreign *f = ctx;
    if (row->state == QP_STATE_CONVERTED && !in_set(f, row->symbol)) {
        if (f->n == f->rcap) {
            f->rcap = f->rcap ? f->rcap * 2 : 16;
            f->rows = core_xrealloc(f->rows, f->rcap * sizeof(*f->rows));
        }
        f->rows[f->n++] = *row;
    }
    return 0;
}

static int reset_foreign(struct qp_pipeline *pl)
{
    struct foreign f = { NULL, 16, NULL, 0, 0 };
    while (f.cap < pl->nsyms * 2) {
        f.cap *= 2;
    }
    f.set = core_xcalloc(f.cap, sizeof(*f.set));
    for (size_t i = 0; i < pl->nsyms; i++) {
        size_t h = (size_t)qp_shard_hash(pl->syms[i].name) & (f.cap - 1);
        while (f.set[h] != NULL) {
            h = (h + 1) & (f.cap - 1);
        }
        f.set[h] = pl->syms[i].name;
    }
    int rc = qp_catalog_foreach(pl->cat, collect_foreign, &f);
    if (rc == 0 && f.n > 0) {
        rc = qp_catalog_begin(pl->cat);
        for (size_t i = 0; rc == 0 && i < f.n; i++) {
            f.rows[i].state = QP_STATE_PENDING;
            rc = qp_catalog_update(pl->cat, &f.rows[i]);
        }
        rc = rc == 0 ? qp_catalog_commit(pl->cat) : rc;
        if (rc != 0) {
            qp_catalog_rollback(pl->cat);
        }
    }
    free(f.set);
    free(f.rows);
    return rc;
}

/*
 * Brings the catalog and the spool into agreement after whatever happened before, assigns
 * batches to new symbols, and builds this run's work batches.
 */
static int prepare(struct qp_pipeline *pl, struct qp_pipeline_stats *st)
{
    const struct qp_config *cfg = pl->cfg;
    size_t *order = NULL;
    int rc = qp_catalog_assign(pl->cat, (const char *const *)cfg->symbols, cfg->nsymbols,
                               cfg->batch);
    if (rc != 0) {
        return rc;
    }
    rc = clean_out_dir(pl);
    if (rc != 0) {
        return rc;
    }
    pl->nsyms = cfg->nsymbols;
    pl->syms = core_xcalloc(pl->nsyms + 1, sizeof(*pl->syms));
    pl->dirty = core_xcalloc(pl->nsyms + 1, sizeof(*pl->dirty));
    order = core_xcalloc(pl->nsyms + 1, sizeof(*order));
    size_t ntodo = 0;

    rc = qp_catalog_begin(pl->cat);
    if (rc != 0) {
        goto out;
    }
    for (size_t i = 0; i < pl->nsyms; i++) {
        struct sym *s = &pl->syms[i];
        struct qp_catalog_row row;
        s->name = cfg->symbols[i];
        s->work = SIZE_MAX;
        rc = qp_catalog_get(pl->cat, s->name, &row);
        if (rc != 0) {
            goto out;
        }
        s->batch = row.batch;
        s->state = row.state;
        if (row.state == QP_STATE_ARCHIVED) {
            st->already++;
            continue;
        }
        bool reuse = false;
        if (row.state == QP_STATE_CONVERTED) {
            reuse = qp_spool_check(pl->spool, s->name, row.xml_bytes, row.crc32) == 0;
            if (reuse) {
                s->rows = row.rows;
                s->csv_bytes = row.csv_bytes;
                s->xml_bytes = row.xml_bytes;
                s->crc = row.crc32;
                st->reused++;
            }
        }
        if (!reuse && row.state != QP_STATE_PENDING) {
            // fetched (the body was in memory), failed (try again), or converted whose XML
            // is missing or damaged: start over.
            qp_spool_remove(pl->spool, s->name);
            row.state = QP_STATE_PENDING;
            row.error[0] = '\0';
            rc = qp_catalog_update(pl->cat, &row);
            if (rc != 0) {
                goto out;
            }
            s->state = QP_STATE_PENDING;
        }
        s->need_fetch = !reuse;
        order[ntodo++] = i;
    }
    rc = qp_catalog_commit(pl->cat);
    if (rc != 0) {
        goto out;
    }
    // Converted symbols of earlier runs that this run does not include go back to pending
    // (their XML would otherwise sit in the spool until a run names them again).
    rc = reset_foreign(pl);
    if (rc != 0) {
        goto out;
    }
    // Anything else in the spool (temp files, symbols not converted) goes.
    rc = qp_spool_prune(pl->spool, pl->cat);
    if (rc != 0) {
        goto out;
    }

    qsort_r(order, ntodo, sizeof(*order), sym_cmp_batch, pl->syms);
    pl->wb = core_xcalloc(ntodo + 1, sizeof(*pl->wb));
    for (size_t i = 0; i < ntodo;) {
        size_t j = i;
        while (j < ntodo && pl->syms[order[j]].batch == pl->syms[order[i]].batch) {
            j++;
        }
        struct wbatch *w = &pl->wb[pl->nwb];
        w->batch = pl->syms[order[i]].batch;
        w->n = j - i;
        w->members = core_xcalloc(w->n, sizeof(*w->members));
        for (size_t k = i; k < j; k++) {
            size_t idx = order[k];
            w->members[k - i] = idx;
            pl->syms[idx].work = pl->nwb;
            if (pl->syms[idx].need_fetch) {
                w->remaining++;
            }
        }
        pl->nwb++;
        i = j;
    }
out:
    if (rc != 0) {
        qp_catalog_rollback(pl->cat);
    }
    free(order);
    return rc;
}

/* ---- run ----------------------------------------------------------------------------------- */

static void print_failures(struct qp_pipeline *pl)
{
    size_t shown = 0;
    size_t total = 0;
    for (size_t i = 0; i < pl->nsyms; i++) {
        const struct sym *s = &pl->syms[i];
        if (s->state != QP_STATE_FAILED) {
            continue;
        }
        total++;
        if (shown < 20) {
            fprintf(stderr, "  failed: %s: %s\n", s->name, s->error ? s->error : "?");
            shown++;
        }
    }
    if (total > shown) {
        fprintf(stderr, "  ... and %zu more (see the catalog)\n", total - shown);
    }
}

/*
 * What the run read in an unusual way: files whose delimiter was detected as something else
 * than a comma, and files with a header and no rows (archived as an empty document). One line
 * each (at most 10 symbols named), after the failures. Main thread, after the workers.
 */
static void print_notes(struct qp_pipeline *pl, struct qp_pipeline_stats *stats)
{
    static const char kinds[] = { ';', '\t', '|', 0 }; /* 0: anything else */
    for (size_t k = 0; pl->cfg->dialect.detect && k < sizeof(kinds); k++) {
        char line[1024];
        size_t n = 0, count = 0;
        char example = 0;
        for (size_t i = 0; i < pl->nsyms; i++) {
            char d = pl->syms[i].delim;
            bool match = kinds[k] != 0 ? d == kinds[k] : d != 0 && strchr(",;\t|", d) == NULL;
            if (!match) {
                continue;
            }
            if (count < 10) {
                n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", count ? ", " : "",
                                      pl->syms[i].name);
                n = n < sizeof(line) ? n : sizeof(line) - 1;
            }
            example = d;
            count++;
        }
        if (count > 0) {
            char name[24];
            fprintf(stderr,
                    "quotepack: note: %zu symbol%s read as %s-separated (detected from the "
                    "header line; --delimiter sets it): %s%s\n",
                    count, count == 1 ? "" : "s",
                    qp_dialect_delimiter_name(example, name, sizeof(name)), line,
                    count > 10 ? ", ..." : "");
            stats->other_delimiter += count;
        }
    }
    char line[1024];
    size_t n = 0, count = 0;
    for (size_t i = 0; i < pl->nsyms; i++) {
        const struct sym *s = &pl->syms[i];
        if (s->delim == 0 || s->rows != 0 || s->state == QP_STATE_FAILED) {
            continue;
        }
        if (count < 10) {
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", count ? ", " : "", s->name);
            n = n < sizeof(line) ? n : sizeof(line) - 1;
        }
        count++;
    }
    if (count > 0) {
        fprintf(stderr,
                "quotepack: warning: %zu symbol%s had a header and no rows (archived as an empty "
                "document): %s%s\n",
                count, count == 1 ? "" : "s", line, count > 10 ? ", ..." : "");
    }
    stats->no_rows = count;
}

static void free_pipeline(struct qp_pipeline *pl)
{
    for (size_t i = 0; i < pl->nsyms; i++) {
        free(pl->syms[i].error);
        free(pl->syms[i].gz);
    }
    for (size_t i = 0; i < pl->nwb; i++) {
        free(pl->wb[i].members);
    }
    free(pl->wb);
    free(pl->syms);
    free(pl->dirty);
}

int qp_pipeline_run(const struct qp_config *cfg, volatile sig_atomic_t *stop,
                    struct qp_pipeline_stats *stats)
{
    struct qp_pipeline pl;
    pthread_t fetch_thread;
    pthread_t pack_thread;
    bool fetch_started = false;
    bool pack_started = false;
    bool mu_ready = false;
    int lock_fd = -1;
    int rc = 0;
    int64_t t0 = core_now_ns();

    memset(&pl, 0, sizeof(pl));
    memset(stats, 0, sizeof(*stats));
    pl.cfg = cfg;
    pl.copts.compact = cfg->compact;
    pl.copts.max_output = 0;
    pl.copts.dialect = cfg->dialect;
    stats->symbols = cfg->nsymbols;
    atomic_init(&pl.packer_exited, false);
    atomic_init(&pl.gz_held, 0);

    // Worker processes first: they must be forked before any thread exists.
    if (cfg->isolate) {
        struct core_procpool_config pc = {
            .workers = cfg->jobs,
            .handler = iso_handler,
            .ctx = &pl,
            .max_request = cfg->max_body,
            .max_reply = 0,
        };
        rc = core_procpool_create(&pl.pp, &pc);
        if (rc != 0) {
            fprintf(stderr, "quotepack: cannot start the converter processes (--isolate): %s\n",
                    strerror(-rc));
            goto out;
        }
    }
    rc = mkdir_p(cfg->out);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot create %s: %s\n", cfg->out, strerror(-rc));
        goto out;
    }
    {
        char lp[4096];
        snprintf(lp, sizeof(lp), "%s/.lock", cfg->out);
        lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
            rc = -errno;
            fprintf(stderr, "quotepack: %s: %s\n", cfg->out,
                    rc == -EWOULDBLOCK ? "another quotepack run is using this directory"
                                       : strerror(-rc));
            goto out;
        }
    }
    rc = qp_catalog_open(&pl.cat, cfg->out, false);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot open the catalog in %s: %s\n", cfg->out, strerror(-rc));
        goto out;
    }
    rc = qp_spool_open(&pl.spool, cfg->out);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot create the spool in %s: %s\n", cfg->out, strerror(-rc));
        goto out;
    }
    rc = prepare(&pl, stats);
    if (rc != 0) {
        fprintf(stderr, "quotepack: cannot prepare the run in %s: %s\n", cfg->out, strerror(-rc));
        goto out;
    }

    if (pthread_mutex_init(&pl.mu, NULL) != 0 || core_cond_init_monotonic(&pl.cond) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    mu_ready = true;
    rc = core_event_create(&pl.wake_main);
    if (rc != 0) {
        goto out;
    }
    struct core_pool_config poolc = {
        .name = "convert",
        // With --isolate a pool thread mostly waits for its worker process; twice as many
        // threads let the parent's share (gzip entry, spool write) overlap the conversions.
        .threads = cfg->isolate ? cfg->jobs * 2 : cfg->jobs,
        .backlog = cfg->jobs * 2 + cfg->connections,
    };
    rc = core_pool_create(&pl.pool, &poolc);
    if (rc != 0) {
        goto out;
    }
    struct qp_fetch_config fc = {
        .url_template = cfg->source,
        .connections = cfg->connections,
        .rate = cfg->rate,
        .retries = cfg->retries,
        .timeout_s = cfg->timeout_s,
        .max_body = cfg->max_body,
        .admit = admit,
        .done = fetched,
        .ctx = &pl,
    };
    rc = qp_fetch_create(&pl.fetch, &fc);
    if (rc != 0) {
        goto out;
    }
    rc = core_thread_start(&pack_thread, "pack", pack_main, &pl);
    if (rc != 0) {
        goto out;
    }
    pack_started = true; // NOLINT(clang-analyzer-deadcode.DeadStores): read on the error path
    rc = core_thread_start(&fetch_thread, "fetch", fetch_main, &pl);
    if (rc != 0) {
        fail_run(&pl, rc);
    } else {
        fetch_started = true;
    }

    // Progress until the packer is done or the run must stop.
    bool tty = isatty(2) == 1;
    uint64_t total = cfg->nsymbols - stats->already - stats->reused;
    while (!atomic_load(&pl.packer_exited) && !stopping(&pl)) {
        if (*stop) {
            fprintf(stderr, "%squotepack: interrupted; finishing the current step\n",
                    tty ? "\r\033[K" : "");
            stats->interrupted = 1;
            fail_run(&pl, 0);
            break;
        }
        (void)core_event_timed_wait(pl.wake_main, 250);
        core_event_clear(pl.wake_main);
        if (tty) {
            char line[200];
            qp_progress_format(line, sizeof(line), atomic_load(&pl.done), atomic_load(&pl.failed),
                               total, qp_fetch_bytes(pl.fetch), (double)(core_now_ns() - t0) / 1e9);
            qp_progress_show(line);
        }
    }
    if (tty) {
        qp_progress_clear();
    }
    bool stopped = stopping(&pl);
    if (stopped) {
        qp_fetch_stop(pl.fetch);
    }
    if (fetch_started) {
        pthread_join(fetch_thread, NULL);
        fetch_started = false;
    }
    core_pool_shutdown(pl.pool, stopped ? CORE_POOL_CANCEL : CORE_POOL_DRAIN);
    pthread_mutex_lock(&pl.mu);
    pl.upstream_done = true;
    pthread_cond_broadcast(&pl.cond);
    pthread_mutex_unlock(&pl.mu);
    pthread_join(pack_thread, NULL);
    pack_started = false;
    rc = pl.fatal;

    stats->failed = atomic_load(&pl.failed);
    stats->archived = atomic_load(&pl.archived);
    stats->archives = atomic_load(&pl.archives);
    stats->csv_bytes = qp_fetch_bytes(pl.fetch);
    stats->xml_bytes = atomic_load(&pl.xml_bytes);
    stats->requests = qp_fetch_requests(pl.fetch);
    print_failures(&pl);
    print_notes(&pl, stats);
    if (rc == 0 && !stopped) {
        qp_spool_finish(pl.spool);
    }
out:
    if (pack_started || fetch_started) {
        fail_run(&pl, rc != 0 ? rc : -ECANCELED);
        if (fetch_started) {
            pthread_join(fetch_thread, NULL);
        }
        core_pool_shutdown(pl.pool, CORE_POOL_CANCEL);
        pthread_mutex_lock(&pl.mu);
        pl.upstream_done = true;
        pthread_cond_broadcast(&pl.cond);
        pthread_mutex_unlock(&pl.mu);
        if (pack_started) {
            pthread_join(pack_thread, NULL);
        }
    }
    core_pool_destroy(pl.pool);
    qp_fetch_destroy(pl.fetch);
    core_procpool_destroy(pl.pp);
    core_event_destroy(pl.wake_main);
    if (mu_ready) {
        pthread_mutex_destroy(&pl.mu);
        pthread_cond_destroy(&pl.cond);
    }
    qp_spool_close(pl.spool);
    qp_catalog_close(pl.cat);
    if (lock_fd >= 0) {
        close(lock_fd);
    }
    free_pipeline(&pl);
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
    fprintf(stderr,
            "quotepack: %llu symbols: %llu archived now%s, %llu earlier, %llu failed; "
            "%llu archives in %s; %.1f MB of CSV in %.2f s (%.1f MB/s), %llu requests\n",
            (unsigned long long)st->symbols, (unsigned long long)st->archived, empty,
            (unsigned long long)st->already, (unsigned long long)st->failed,
            (unsigned long long)st->archives, cfg->out, mb, st->seconds,
            st->seconds > 0 ? mb / st->seconds : 0.0, (unsigned long long)st->requests);
}

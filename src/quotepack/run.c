// SPDX-License-Identifier: MIT
/* The state one run shares between its stages: symbols, the spool window, the ready queue. */
#include "quotepack/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/event.h"
#include "core/thread.h"
#include "quotepack/body.h"
#include "quotepack/console.h"
#include "quotepack/datetmpl.h"

int qp_run_init(struct qp_run *run, const struct qp_config *cfg)
{
    memset(run, 0, sizeof(*run));
    run->cfg = cfg;
    run->source = cfg->source;
    atomic_init(&run->packer_exited, false);
    atomic_init(&run->done, 0);
    atomic_init(&run->failed, 0);
    atomic_init(&run->host_skipped, 0);
    atomic_init(&run->archived, 0);
    atomic_init(&run->archives, 0);
    atomic_init(&run->archived_csv, 0);
    atomic_init(&run->xml_bytes, 0);
    atomic_init(&run->not_modified, 0);
    atomic_init(&run->unchanged, 0);
    atomic_init(&run->rearchived, 0);
    atomic_init(&run->new_rows_only, 0);
    atomic_init(&run->refresh_failed, 0);
    if (pthread_mutex_init(&run->mu, NULL) != 0) {
        return -ENOMEM;
    }
    int rc = core_cond_init_monotonic(&run->cond);
    if (rc != 0) {
        pthread_mutex_destroy(&run->mu);
        return rc;
    }
    rc = core_event_create(&run->wake_main);
    if (rc != 0) {
        pthread_cond_destroy(&run->cond);
        pthread_mutex_destroy(&run->mu);
        return rc;
    }
    return 0;
}

void qp_run_alloc_symbols(struct qp_run *run, size_t n)
{
    run->nsyms = n;
    run->syms = core_xcalloc(n + 1, sizeof(*run->syms));
    run->todo = core_xcalloc(n + 1, sizeof(*run->todo));
    run->ready = core_xcalloc(n + 1, sizeof(*run->ready));
    run->dirty = core_xcalloc(n + 1, sizeof(*run->dirty));
}

void qp_run_release(struct qp_run *run)
{
    if (run->wake_main == NULL) {
        return; // never initialised
    }
    for (size_t i = 0; i < run->nsyms; i++) {
        free(run->syms[i].error);
    }
    if (run->owned_names != NULL) {
        for (size_t i = 0; i < run->nsyms; i++) {
            free(run->owned_names[i]);
        }
        free(run->owned_names);
    }
    free(run->syms);
    free(run->todo);
    free(run->ready);
    free(run->dirty);
    core_event_destroy(run->wake_main);
    pthread_cond_destroy(&run->cond);
    pthread_mutex_destroy(&run->mu);
    memset(run, 0, sizeof(*run));
}

void qp_run_mark_dirty_locked(struct qp_run *run, size_t idx)
{
    // A refreshed symbol's row stays archived until its new archive commits (stage_pack.c):
    // its intermediate states are never written, so a crash or a failure leaves it archived.
    if (!run->syms[idx].dirty && !run->syms[idx].refresh) {
        run->syms[idx].dirty = true;
        run->dirty[run->ndirty++] = idx;
    }
}

void qp_run_row_locked(const struct qp_run *run, size_t idx, struct qp_catalog_row *row)
{
    const struct qp_sym *s = &run->syms[idx];
    memset(row, 0, sizeof(*row));
    snprintf(row->symbol, sizeof(row->symbol), "%s", s->name);
    row->state = s->state;
    row->rows = s->rows;
    row->csv_bytes = s->csv_bytes;
    row->xml_bytes = s->xml_bytes;
    row->crc32 = s->crc;
    row->failure = s->state == QP_STATE_FAILED ? s->failure : QP_FAILURE_NONE;
    if (s->error != NULL && s->state == QP_STATE_FAILED) {
        snprintf(row->error, sizeof(row->error), "%s", s->error);
    }
    if (s->state == QP_STATE_ARCHIVED) {
        snprintf(row->archive, sizeof(row->archive), "%s", s->archive);
    }
    if (s->state == QP_STATE_CONVERTED || s->state == QP_STATE_ARCHIVED) {
        // Validators only of a body that was converted: a conditional request must never
        // skip a body that never reached an archive.
        snprintf(row->etag, sizeof(row->etag), "%s", s->etag);
        snprintf(row->last_modified, sizeof(row->last_modified), "%s", s->last_modified);
        snprintf(row->body_sha256, sizeof(row->body_sha256), "%s", s->body_sha256);
        snprintf(row->first_row, sizeof(row->first_row), "%s", s->first_row);
        snprintf(row->last_row, sizeof(row->last_row), "%s", s->last_row);
    }
    if (s->state == QP_STATE_CONVERTED) {
        row->spool_format = (int)run->cfg->format + 1;
        row->spool_seg = s->rec.seg;
        row->spool_off = s->rec.off;
        row->spool_len = s->rec.data_len;
        row->spool_hdr = s->rec.hdr_len;
    }
}

bool qp_run_nothing_more_locked(const struct qp_run *run)
{
    return run->upstream_done || (run->next_todo == run->ntodo && run->in_flight == 0);
}

/* Keeps the high-water marks of the spool window. */
static void note_peak_locked(struct qp_run *run)
{
    size_t files = run->ready_n + run->packing;
    uint64_t bytes = run->ready_bytes + run->packing_bytes;
    if (files > run->peak_files) {
        run->peak_files = files;
    }
    if (bytes > run->peak_bytes) {
        run->peak_bytes = bytes;
    }
}

enum qp_fetch_admit qp_run_admit(struct qp_run *run, size_t *idx, const char **symbol)
{
    enum qp_fetch_admit a = QP_FETCH_ADMIT_DONE;
    pthread_mutex_lock(&run->mu);
    if (!run->stopping && run->next_todo < run->ntodo) {
        size_t places = run->in_flight + run->ready_n + run->packing;
        uint64_t bytes = run->ready_bytes + run->packing_bytes;
        if (places >= run->cfg->spool_files || bytes >= run->cfg->spool_bytes) {
            a = QP_FETCH_ADMIT_WAIT;
        } else {
            *idx = run->todo[run->next_todo++];
            *symbol = run->syms[*idx].name;
            run->in_flight++;
            a = QP_FETCH_ADMIT_OK;
        }
    }
    pthread_mutex_unlock(&run->mu);
    return a;
}

void qp_run_validators(struct qp_run *run, size_t idx, char *etag, size_t etag_size,
                       char *last_modified, size_t lm_size)
{
    const struct qp_sym *s = &run->syms[idx];
    etag[0] = '\0';
    last_modified[0] = '\0';
    if (!s->refresh) {
        return;
    }
    pthread_mutex_lock(&run->mu);
    snprintf(etag, etag_size, "%s", s->etag);
    snprintf(last_modified, lm_size, "%s", s->last_modified);
    pthread_mutex_unlock(&run->mu);
}

/* A refresh found idx unchanged: it ends here, archived as it was. */
static void end_unchanged(struct qp_run *run, size_t idx, bool not_modified)
{
    pthread_mutex_lock(&run->mu);
    run->in_flight--;
    if (qp_run_nothing_more_locked(run)) {
        pthread_cond_broadcast(&run->cond);
    }
    pthread_mutex_unlock(&run->mu);
    qp_console_log(CORE_LOG_DEBUG, "%s: %s: kept as archived", run->syms[idx].name,
                   not_modified ? "not modified (304)" : "the same body (SHA-256)");
    atomic_fetch_add(not_modified ? &run->not_modified : &run->unchanged, 1);
    atomic_fetch_add(&run->done, 1);
    if (run->wake_fetch != NULL) {
        run->wake_fetch(run->wake_ctx); // a place in the window opened
    }
}

/* What a {from} body (only the rows after the archived ones, if the server honoured it) is. */
enum from_kind {
    FROM_NEW,     /* data rows, every one after the archived ones */
    FROM_NOTHING, /* no data row: nothing new */
    FROM_REFUSED, /* a row not after the archived ones: refused (printed), the archive stays */
};

static enum from_kind from_body(struct qp_run *run, size_t idx, const char *first, const char *last)
{
    const struct qp_sym *s = &run->syms[idx];
    if (first[0] == '\0') {
        return FROM_NOTHING;
    }
    pthread_mutex_lock(&run->mu);
    char archived[QP_ROW_KEY_MAX];
    snprintf(archived, sizeof(archived), "%s",
             strcmp(s->first_row, s->last_row) > 0 ? s->first_row : s->last_row);
    pthread_mutex_unlock(&run->mu);
    const char *oldest = strcmp(first, last) < 0 ? first : last;
    if (archived[0] == '\0' || strcmp(oldest, archived) <= 0) {
        char msg[300];
        snprintf(msg, sizeof(msg),
                 "the body for {from} has a row of %s, not after the last archived row (%s): "
                 "not packed (does the server honour {from}?)",
                 oldest[0] ? oldest : "unknown date", archived[0] ? archived : "unknown");
        qp_run_failed(run, idx, msg, QP_FAILURE_TRANSIENT, false);
        return FROM_REFUSED;
    }
    return FROM_NEW;
}

/* Reads up to n bytes of the spill file at off: the count read (0 on an error). */
static size_t read_at(int fd, char *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    return got;
}

/*
 * The first field of the body's first and last data rows (rowsplit.h). A spilled body is read
 * at its two ends only: the header and first rows from its first 64 KiB, the last row from its
 * last 64 KiB (after the header line, so that the delimiter is found as for a whole body).
 */
static void body_keys(const struct qp_body *body, char delim, char *first, char *last)
{
    first[0] = last[0] = '\0';
    if (!qp_body_spilled(body)) {
        if (body->data != NULL) {
            qp_row_keys(body->data, body->len, delim, first, last);
        }
        return;
    }
    const size_t PART = (size_t)64 * 1024;
    char *buf = core_xmalloc(2 * PART);
    size_t head = read_at(body->fd, buf, PART, 0);
    const char *nl = memchr(buf, '\n', head);
    char unused[QP_ROW_KEY_MAX];
    if (nl != NULL) {
        size_t hl = (size_t)(nl - buf) + 1;
        qp_row_keys(buf, head, delim, first, unused); // the last line may be cut: not used
        uint64_t off = body->size > PART ? body->size - PART : 0;
        size_t tail = read_at(body->fd, buf + hl, PART, off);
        const char *cut = off > 0 ? memchr(buf + hl, '\n', tail) : NULL;
        if (off > 0 && cut != NULL) {
            // From the first whole line of the tail: header line, then those lines.
            size_t skip = (size_t)(cut - (buf + hl)) + 1;
            memmove(buf + hl, buf + hl + skip, tail - skip);
            tail -= skip;
        }
        if (off == 0 || cut != NULL) {
            char unused2[QP_ROW_KEY_MAX];
            qp_row_keys(buf, off > 0 ? hl + tail : head, delim, unused2, last);
        }
    }
    free(buf);
}

/* The delimiter to read row dates with: the given one, or 0 to detect it from the header. */
static char key_delimiter(const struct qp_config *cfg)
{
    return cfg->dialect.detect ? 0 : cfg->dialect.delimiter != 0 ? cfg->dialect.delimiter : ',';
}

/* Whether the symbol's source gives its newest row first (as far as its archive tells). */
static enum qp_row_order row_order(const struct qp_sym *s);

static bool newest_first(const struct qp_sym *s)
{
    return row_order(s) == QP_ORDER_NEWEST_FIRST;
}

/* The source's order as far as the archive tells (mu held). */
static enum qp_row_order row_order(const struct qp_sym *s)
{
    // The member's own dates first (a member of one row tells nothing), then where the
    // last row-level generation went.
    int c = strcmp(s->first_row, s->last_row);
    if (s->first_row[0] != '\0' && c != 0) {
        return c > 0 ? QP_ORDER_NEWEST_FIRST : QP_ORDER_OLDEST_FIRST;
    }
    if (s->gen > 0) {
        return s->at_top ? QP_ORDER_NEWEST_FIRST : QP_ORDER_OLDEST_FIRST;
    }
    return QP_ORDER_UNKNOWN;
}

bool qp_run_fetched(struct qp_run *run, size_t idx, struct qp_body *body)
{
    struct qp_sym *s = &run->syms[idx];
    struct qp_split split = { .kind = QP_SPLIT_CHANGED };
    bool in_memory = !qp_body_spilled(body) && body->data != NULL;
    char first[QP_ROW_KEY_MAX] = "";
    char last[QP_ROW_KEY_MAX] = "";
    uint64_t full_size = body->size;
    if (s->refresh) {
        pthread_mutex_lock(&run->mu);
        bool same = body->not_modified ||
                    (s->body_sha256[0] != '\0' && strcmp(s->body_sha256, body->sha256) == 0);
        uint64_t old_len = s->csv_bytes;
        char old_sha[sizeof(s->body_sha256)];
        snprintf(old_sha, sizeof(old_sha), "%s", s->body_sha256);
        bool at_top = newest_first(s);
        enum qp_row_order order = row_order(s);
        pthread_mutex_unlock(&run->mu);
        if (!same && in_memory) {
            // Only the rows not archived yet are packed (a spilled body is archived again
            // whole: docs/quotepack.md).
            qp_rowsplit(body->data, body->len, old_len, old_sha, order, &split);
            same = split.kind == QP_SPLIT_NOTHING_NEW;
        }
        if (!same && split.kind == QP_SPLIT_CHANGED && run->cfg->has_from) {
            // A {from} body: only the rows after the archived ones, checked; all of it is
            // the new generation.
            body_keys(body, key_delimiter(run->cfg), first, last);
            enum from_kind fk = from_body(run, idx, first, last);
            if (fk == FROM_REFUSED) {
                return false;
            }
            same = fk == FROM_NOTHING;
            split.kind = at_top ? QP_SPLIT_PREPEND : QP_SPLIT_APPEND;
        } else if (!same) {
            if (split.kind == QP_SPLIT_CHANGED) {
                qp_console_log(CORE_LOG_INFO,
                               "%s: the archived rows changed: archived again whole (the earlier "
                               "generations become replaced)",
                               s->name);
            } else {
                qp_rowsplit_apply(body->data, &body->len, &split);
                body->size = body->len;
            }
        }
        if (same) {
            end_unchanged(run, idx, body->not_modified);
            return false;
        }
    }
    // The member's first and last row dates.
    if (first[0] == '\0') {
        body_keys(body, key_delimiter(run->cfg), first, last);
    }
    pthread_mutex_lock(&run->mu);
    s->split = split.kind;
    s->csv_bytes = full_size; // the whole body's, as its SHA-256: the next refresh splits on it
    s->fetched = true;
    snprintf(s->etag, sizeof(s->etag), "%s", body->etag);
    snprintf(s->last_modified, sizeof(s->last_modified), "%s", body->last_modified);
    snprintf(s->body_sha256, sizeof(s->body_sha256), "%s", body->sha256);
    s->fetched_at = (int64_t)time(NULL);
    snprintf(s->first_row, sizeof(s->first_row), "%s", first);
    snprintf(s->last_row, sizeof(s->last_row), "%s", last);
    pthread_mutex_unlock(&run->mu);
    return true;
}

void qp_run_from(struct qp_run *run, size_t idx, const char *fmt, char *out, size_t size)
{
    const struct qp_sym *s = &run->syms[idx];
    char key[QP_ROW_KEY_MAX] = "";
    pthread_mutex_lock(&run->mu);
    if (s->refresh) {
        snprintf(key, sizeof(key), "%s",
                 strcmp(s->first_row, s->last_row) > 0 ? s->first_row : s->last_row);
    }
    pthread_mutex_unlock(&run->mu);
    struct qp_day d = { 1970, 1, 1 };
    key[10] = '\0'; // the YYYY-MM-DD of a date or a date-time
    struct qp_day k;
    if (qp_day_parse(key, &k) == 0) {
        d = qp_day_next(k);
    }
    if (qp_day_format(d, fmt, out, size) != 0) {
        out[0] = '\0';
    }
}

void qp_run_converted(struct qp_run *run, size_t idx, uint64_t rows, uint64_t xml_bytes,
                      uint32_t crc, char delimiter, const struct qp_spool_rec *rec,
                      const struct qp_entry_facts *facts)
{
    struct qp_sym *s = &run->syms[idx];
    pthread_mutex_lock(&run->mu);
    s->state = QP_STATE_CONVERTED;
    s->rows = rows;
    s->xml_bytes = xml_bytes;
    s->crc = crc;
    s->delimiter = delimiter;
    s->rec = *rec;
    s->facts = *facts;
    s->have_facts = true;
    free(s->error);
    s->error = NULL;
    qp_run_mark_dirty_locked(run, idx);
    run->in_flight--;
    run->ready[(run->ready_head + run->ready_n) % run->nsyms] = idx;
    run->ready_n++;
    run->ready_bytes += rec->data_len + rec->hdr_len;
    note_peak_locked(run);
    if (run->ready_n >= run->cfg->batch || run->ready_bytes >= run->cfg->spool_bytes ||
        qp_run_nothing_more_locked(run)) {
        pthread_cond_broadcast(&run->cond);
    }
    pthread_mutex_unlock(&run->mu);
    atomic_fetch_add(&run->xml_bytes, xml_bytes);
    atomic_fetch_add(&run->done, 1);
}

void qp_run_failed(struct qp_run *run, size_t idx, const char *message, enum qp_failure failure,
                   bool quiet)
{
    struct qp_sym *s = &run->syms[idx];
    char *e = core_xstrdup(message);
    pthread_mutex_lock(&run->mu);
    // A refresh that failed leaves the archived body as it was (the catalog row is not
    // touched); the failure is reported and counted, and the next refresh tries again.
    s->state = s->refresh ? QP_STATE_ARCHIVED : QP_STATE_FAILED;
    s->failure = failure;
    free(s->error);
    s->error = e;
    qp_run_mark_dirty_locked(run, idx);
    run->in_flight--;
    if (qp_run_nothing_more_locked(run)) {
        pthread_cond_broadcast(&run->cond);
    }
    pthread_mutex_unlock(&run->mu);
    if (quiet) {
        atomic_fetch_add(&run->host_skipped, 1);
    } else {
        qp_console_log(CORE_LOG_WARN, "%s: %s%s", s->name, message,
                       failure == QP_FAILURE_PERMANENT ? " (permanent: not fetched again unless "
                                                         "asked)"
                                                       : "");
    }
    atomic_fetch_add(s->refresh ? &run->refresh_failed : &run->failed, 1);
    atomic_fetch_add(&run->done, 1);
    if (run->wake_fetch != NULL) {
        run->wake_fetch(run->wake_ctx); // a place in the window opened
    }
}

void qp_run_fail(struct qp_run *run, int rc)
{
    pthread_mutex_lock(&run->mu);
    if (run->fatal == 0) {
        run->fatal = rc;
    }
    run->stopping = true;
    pthread_cond_broadcast(&run->cond);
    pthread_mutex_unlock(&run->mu);
    core_event_set(run->wake_main);
    if (run->wake_fetch != NULL) {
        run->wake_fetch(run->wake_ctx);
    }
}

bool qp_run_stopping(struct qp_run *run)
{
    pthread_mutex_lock(&run->mu);
    bool s = run->stopping;
    pthread_mutex_unlock(&run->mu);
    return s;
}

void qp_run_upstream_done(struct qp_run *run)
{
    pthread_mutex_lock(&run->mu);
    run->upstream_done = true;
    pthread_cond_broadcast(&run->cond);
    pthread_mutex_unlock(&run->mu);
}

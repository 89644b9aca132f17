// SPDX-License-Identifier: MIT
/* Streaming RFC 4180 CSV parser: a byte-class state machine with zero-copy field slices. */
#include "quotepack/csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "quotepack/csv_impl.h"
#include "quotepack/csv_scan.h"

/*
 * How it works. The parser scans the current buffer (the caller's chunk, or what csv_input.c
 * made of it: see csv_impl.h) with a 256-entry class table, so ordinary bytes cost one load and
 * one branch. A field that lies entirely in one buffer and needs no unquoting ("" -> ") is
 * returned as a slice of it (zero copy). A field with a doubled quote, or a record still open
 * when a buffer ends, is copied into the parser's own buffer, which is capped by max_record.
 * Field boundaries are kept as (offset, in_buf) descriptors and turned into pointers only when
 * the record is complete, so the buffer may move meanwhile.
 */

int qp_csv_create(const struct qp_csv_opts *opts, struct qp_csv **out)
{
    *out = NULL;
    const struct qp_csv_dialect *d = opts != NULL ? &opts->dialect : NULL;
    if (d != NULL && ((!d->detect && d->delimiter != 0 && !qp_dialect_delimiter_ok(d->delimiter)) ||
                      (d->encoding != QP_ENCODING_UTF8 && d->encoding != QP_ENCODING_LATIN1 &&
                       d->encoding != QP_ENCODING_CP1252))) {
        return -EINVAL;
    }
    struct qp_csv *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    if (opts != NULL) {
        p->opts = *opts;
    }
    if (p->opts.max_field == 0) {
        p->opts.max_field = QP_CSV_DEFAULT_MAX_FIELD;
    }
    if (p->opts.max_record == 0) {
        p->opts.max_record = QP_CSV_DEFAULT_MAX_RECORD;
    }
    if (p->opts.max_columns == 0) {
        p->opts.max_columns = QP_CSV_DEFAULT_MAX_COLUMNS;
    }
    d = &p->opts.dialect;
    p->delim = d->detect || d->delimiter == 0 ? ',' : d->delimiter;
    p->enc = d->encoding;
    p->enc_settled = d->encoding == QP_ENCODING_UTF8;
    qp_csv_build_classes(p);
    p->st = ST_RECORD;
    p->width_limit = SIZE_MAX;
    p->line = 1;
    p->last_cr = UINT64_MAX;
    p->fcap = p->opts.max_columns < 16 ? p->opts.max_columns : 16; /* never over the cap */
    p->fd = malloc(p->fcap * sizeof(*p->fd));
    p->fields = malloc(p->fcap * sizeof(*p->fields));
    if (p->fd == NULL || p->fields == NULL) {
        qp_csv_destroy(p);
        return -ENOMEM;
    }
    *out = p;
    return 0;
}

void qp_csv_destroy(struct qp_csv *p)
{
    if (p == NULL) {
        return;
    }
    qp_csv_input_release(p);
    free(p->fd);
    free(p->fields);
    free(p->buf);
    free(p);
}

uint64_t qp_csv_boundary_steps(const struct qp_csv *p)
{
    return p->moved_steps;
}

char qp_csv_delimiter(const struct qp_csv *p)
{
    return p->delim;
}

const struct qp_csv_error *qp_csv_error(const struct qp_csv *p)
{
    return &p->err;
}

const char *qp_csv_error_name(enum qp_csv_error_kind kind)
{
    switch (kind) {
    case QP_CSV_ERR_NONE:
        return "none";
    case QP_CSV_ERR_RAGGED:
        return "ragged-row";
    case QP_CSV_ERR_UNTERMINATED:
        return "unterminated-quote";
    case QP_CSV_ERR_STRAY_QUOTE:
        return "stray-quote";
    case QP_CSV_ERR_AFTER_QUOTE:
        return "text-after-quote";
    case QP_CSV_ERR_UTF8:
        return "bad-utf8";
    case QP_CSV_ERR_NUL:
        return "nul-byte";
    case QP_CSV_ERR_XML_CHAR:
        return "xml-forbidden-char";
    case QP_CSV_ERR_FIELD_TOO_LARGE:
        return "field-too-large";
    case QP_CSV_ERR_RECORD_TOO_LARGE:
        return "record-too-large";
    case QP_CSV_ERR_TOO_MANY_COLUMNS:
        return "too-many-columns";
    case QP_CSV_ERR_NO_MEMORY:
        return "no-memory";
    }
    return "unknown";
}

enum qp_csv_status qp_csv_fail(struct qp_csv *p, enum qp_csv_error_kind kind, uint64_t line,
                               uint64_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err.message, sizeof(p->err.message), fmt, ap);
    va_end(ap);
    p->err.kind = kind;
    p->err.line = line;
    p->err.column = col;
    p->failed = true;
    return QP_CSV_ERROR;
}

static void newline(struct qp_csv *p, uint8_t c, size_t i)
{
    uint64_t abs = p->base + i;
    if (c == '\r') {
        p->line++;
        p->last_cr = abs;
    } else if (p->last_cr == UINT64_MAX || p->last_cr + 1 != abs) {
        p->line++;
    }
    p->line_start = abs + 1;
}

/* Appends n bytes to buf; the callers have checked the caps, which bound its size. */
static int buf_append(struct qp_csv *p, const char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (p->buf_len + n > p->buf_cap) {
        size_t cap = p->buf_cap ? p->buf_cap : 4096;
        while (cap < p->buf_len + n) {
            cap *= 2;
        }
        char *nb = realloc(p->buf, cap);
        if (nb == NULL) {
            qp_csv_fail(p, QP_CSV_ERR_NO_MEMORY, p->f_line, csv_f_col(p),
                        "out of memory for a %zu-byte field", p->buf_len + n);
            return -ENOMEM;
        }
        p->buf = nb;
        p->buf_cap = cap;
    }
    memcpy(p->buf + p->buf_len, s, n);
    p->buf_len += n;
    return 0;
}

/* Checks that the current field, grown to cur bytes, stays within the caps. */
static int check_field_size(struct qp_csv *p, size_t cur)
{
    if (cur > p->opts.max_field) {
        qp_csv_fail(p, QP_CSV_ERR_FIELD_TOO_LARGE, p->f_line, csv_f_col(p),
                    "field is larger than the %zu-byte cap", p->opts.max_field);
        return -E2BIG;
    }
    if (p->rec_bytes + cur > p->opts.max_record) {
        qp_csv_fail(p, QP_CSV_ERR_RECORD_TOO_LARGE, p->rec_line, 1,
                    "record is larger than the %zu-byte cap", p->opts.max_record);
        return -E2BIG;
    }
    return 0;
}

/* Appends in[run_start..end) to the current field's copy in buf, within the caps. */
static int migrate_fields(struct qp_csv *p);

static int field_copy(struct qp_csv *p, size_t end)
{
    if (!p->f_in_buf) {
        if (migrate_fields(p) < 0) {
            return -ENOMEM;
        }
        p->f_in_buf = true;
        p->f_buf_start = p->buf_len;
    }
    size_t n = end - p->run_start;
    if (n == 0) {
        return 0;
    }
    if (check_field_size(p, p->buf_len - p->f_buf_start + n) < 0) {
        return -E2BIG;
    }
    return buf_append(p, p->in + p->run_start, n);
}

/*
 * The caps count raw bytes (quotes and separators included) and fire at the first byte past
 * them that is not a terminator, so the error is the same however the input is chunked.
 */
enum qp_csv_status qp_csv_cap_error(struct qp_csv *p, uint64_t abs)
{
    if (abs >= p->rec_stop) {
        return qp_csv_fail(p, QP_CSV_ERR_RECORD_TOO_LARGE, p->rec_line, 1,
                           "record is larger than the %zu-byte cap", p->opts.max_record);
    }
    return qp_csv_fail(p, QP_CSV_ERR_FIELD_TOO_LARGE, p->f_line, csv_f_col(p),
                       "field is larger than the %zu-byte cap", p->opts.max_field);
}

/* How far a scan from in[i] may go before the caps need a look (at most n). */
static size_t scan_limit(const struct qp_csv *p, size_t i, size_t n)
{
    uint64_t abs = p->base + i;
    if (p->stop <= abs) {
        return i;
    }
    uint64_t room = p->stop - abs;
    return room < n - i ? i + (size_t)room : n;
}

/* The rare cases of starting a field: too many fields, or the descriptor arrays are full. */
static int start_field_slow(struct qp_csv *p, size_t i)
{
    if (p->nf == p->width_limit) {
        qp_csv_fail(p, QP_CSV_ERR_RAGGED, p->line, csv_col_at(p, i),
                    "record has more fields than the header's %zu", p->width);
        return -EINVAL;
    }
    if (p->nf >= p->opts.max_columns) {
        qp_csv_fail(p, QP_CSV_ERR_TOO_MANY_COLUMNS, p->line, csv_col_at(p, i),
                    "record has more than %zu fields", p->opts.max_columns);
        return -E2BIG;
    }
    size_t cap = p->fcap * 2;
    if (cap > p->opts.max_columns) {
        cap = p->opts.max_columns;
    }
    struct qp_csv_fdesc *fd = realloc(p->fd, cap * sizeof(*fd));
    if (fd != NULL) {
        p->fd = fd;
    }
    struct qp_csv_field *fl = realloc(p->fields, cap * sizeof(*fl));
    if (fl != NULL) {
        p->fields = fl;
    }
    if (fd == NULL || fl == NULL) {
        qp_csv_fail(p, QP_CSV_ERR_NO_MEMORY, p->line, csv_col_at(p, i),
                    "out of memory for %zu fields", cap);
        return -ENOMEM;
    }
    p->fcap = cap;
    return 0;
}

static inline int start_field(struct qp_csv *p, size_t i)
{
    /* fcap <= max_columns, so nf == fcap also covers the column cap. */
    if ((p->nf == p->fcap || p->nf == p->width_limit) && start_field_slow(p, i) < 0) {
        return -1;
    }
    p->f_line = p->line;
    p->f_line_start = p->line_start;
    p->f_abs = p->base + i;
    uint64_t fstop = p->f_abs + p->opts.max_field;
    if (fstop < p->f_abs) {
        fstop = UINT64_MAX;
    }
    p->stop = fstop < p->rec_stop ? fstop : p->rec_stop;
    p->f_in_buf = false;
    p->f_special = false;
    p->qflag = false;
    p->run_start = i;
    return 0;
}

/* Ends the current field, whose chunk part is in[run_start..end). */
static inline int end_field(struct qp_csv *p, size_t end)
{
    struct qp_csv_fdesc *d = &p->fd[p->nf];
    d->special = p->f_special;
    if (!p->f_in_buf) {
        d->off = p->run_start;
        d->len = end - p->run_start;
        d->in_buf = false;
        /* No size check: the raw-byte caps already bound an unquoted or unescaped field.
         * The public slice is filled now, so that end_record() has nothing to do when the
         * whole record is in the chunk. */
        struct qp_csv_field *f = &p->fields[p->nf];
        f->data = d->len ? p->in + d->off : "";
        f->len = d->len;
        f->xml_special = d->special;
    } else {
        if (field_copy(p, end) < 0) {
            return -E2BIG;
        }
        d->off = p->f_buf_start;
        d->len = p->buf_len - p->f_buf_start;
        d->in_buf = true;
        p->rec_in_buf = true;
    }
    p->rec_bytes += d->len;
    p->nf++;
    return 0;
}

/* Ends a quoted field whose closing quote is at pos - 1 (or, with qflag, at the end of buf). */
static int end_quoted_field(struct qp_csv *p)
{
    if (p->qflag) {
        p->qflag = false;
        p->buf_len--;
        return end_field(p, p->run_start);
    }
    return end_field(p, p->pos - 1);
}

/* Whether the record is one unquoted field of only spaces and tabs: a blank line. */
static bool blank_record(const struct qp_csv *p)
{
    const struct qp_csv_fdesc *d = &p->fd[0];
    if (p->nf != 1 || p->rec_quoted || d->len == 0) {
        return false;
    }
    const char *s = d->in_buf ? p->buf + d->off : p->in + d->off;
    for (size_t k = 0; k < d->len; k++) {
        if (s[k] != ' ' && s[k] != '\t') {
            return false;
        }
    }
    return true;
}

/*
 * Ends the record at in[i] (its terminator, or the end of the input). Returns 1 with *rec
 * filled, 0 when the record was a line of only spaces and tabs (skipped like an empty line;
 * the state is back between records), -1 on an error.
 */
static int end_record(struct qp_csv *p, struct qp_csv_record *rec, size_t i)
{
    if (p->nf == 1 && blank_record(p)) {
        p->st = ST_RECORD;
        p->nf = 0;
        p->nf_moved = 0;
        p->rec_bytes = 0;
        p->buf_len = 0;
        p->rec_in_buf = false;
        return 0;
    }
    if (p->opts.same_width) {
        if (p->records == 0) {
            p->width = p->nf;
            p->width_limit = p->nf;
        } else if (p->nf != p->width) {
            qp_csv_fail(p, QP_CSV_ERR_RAGGED, p->line, csv_col_at(p, i),
                        "record has %zu field%s but the header has %zu", p->nf,
                        p->nf == 1 ? "" : "s", p->width);
            return -1;
        }
    }
    for (size_t k = 0; p->rec_in_buf && k < p->nf; k++) {
        /* buf may have moved since the fields were parsed: point into it only now. */
        const struct qp_csv_fdesc *d = &p->fd[k];
        if (d->len == 0) {
            p->fields[k].data = ""; /* never NULL: callers may pass it to memcpy */
        } else {
            p->fields[k].data = d->in_buf ? p->buf + d->off : p->in + d->off;
        }
        p->fields[k].len = d->len;
        p->fields[k].xml_special = d->special;
    }
    rec->fields = p->fields;
    rec->count = p->nf;
    rec->bytes = p->rec_bytes;
    rec->line = p->rec_line;
    rec->index = p->records;
    p->records++;
    p->st = ST_RECORD;
    return 1;
}

/*
 * Moves the finished fields of the record that still point into the chunk into buf, so that
 * buf holds the record's fields in order before the current field is copied after them. The
 * fields before nf_moved were moved by an earlier call (or parsed into buf): it starts after
 * them, so a wide record fed a byte at a time costs each field one look, not one per byte.
 */
static int migrate_fields(struct qp_csv *p)
{
    for (size_t k = p->nf_moved; k < p->nf; k++) {
        p->moved_steps++;
        struct qp_csv_fdesc *d = &p->fd[k];
        if (!d->in_buf) {
            size_t off = p->buf_len;
            if (d->len > 0 && buf_append(p, p->in + d->off, d->len) < 0) {
                p->nf_moved = k;
                return -ENOMEM;
            }
            d->off = off;
            d->in_buf = true;
            p->rec_in_buf = true;
        }
    }
    p->nf_moved = p->nf;
    return 0;
}

int qp_csv_migrate(struct qp_csv *p)
{
    if (migrate_fields(p) < 0) {
        return -ENOMEM;
    }
    if (p->st == ST_UNQUOTED || p->st == ST_QUOTED || p->st == ST_QUOTE) {
        if (field_copy(p, p->in_len) < 0) {
            return -E2BIG;
        }
        if (p->st == ST_QUOTE) {
            p->qflag = true;
        }
    }
    p->base += p->in_len;
    p->in = NULL;
    p->in_len = 0;
    p->pos = 0;
    p->run_start = 0;
    return 0;
}

/* A record that at_eof() closed, as a status: a skipped blank line ends the input. */
static enum qp_csv_status last_record(struct qp_csv *p, struct qp_csv_record *rec)
{
    int r = end_record(p, rec, p->pos);
    if (r > 0) {
        return QP_CSV_OK;
    }
    if (r == 0) {
        p->ended = true;
        return QP_CSV_END;
    }
    return QP_CSV_ERROR;
}

static enum qp_csv_status at_eof(struct qp_csv *p, struct qp_csv_record *rec)
{
    if (p->u8_need > 0) {
        return qp_csv_fail(p, QP_CSV_ERR_UTF8, p->u8_line, p->u8_col,
                           "truncated UTF-8 sequence at the end of the input" QP_CSV_ENC_HINT);
    }
    switch (p->st) {
    case ST_RECORD:
        p->ended = true;
        return QP_CSV_END;
    case ST_FIELD:
        /* A comma right before the end: one more, empty field. */
        if (start_field(p, p->pos) < 0 || end_field(p, p->pos) < 0) {
            return QP_CSV_ERROR;
        }
        return last_record(p, rec);
    case ST_UNQUOTED:
        if (end_field(p, p->pos) < 0) {
            return QP_CSV_ERROR;
        }
        return last_record(p, rec);
    case ST_QUOTED:
        return qp_csv_fail(p, QP_CSV_ERR_UNTERMINATED, p->f_line, csv_f_col(p),
                           "quoted field opened here is never closed");
    case ST_QUOTE:
        if (end_quoted_field(p) < 0) {
            return QP_CSV_ERROR;
        }
        return last_record(p, rec);
    }
    CORE_BUG("bad parser state");
}

/*
 * Scans unquoted fields from pos. The common case, an unquoted field after a delimiter, stays in
 * this loop. Returns true when *st holds the status to return, false to go on in the main loop.
 */
static bool run_unquoted(struct qp_csv *p, struct qp_csv_record *rec, enum qp_csv_status *st)
{
    const uint8_t *s = (const uint8_t *)p->in;
    const uint8_t *cls = p->cls_unq;
    size_t n = p->in_len, i = p->pos;
    for (;;) {
        i = scan_marking_special(p, cls, false, s, i, scan_limit(p, i, n));
        p->pos = i;
        if (i == n) {
            return false;
        }
        uint8_t k = cls[s[i]];
        if (k == C_COMMA) {
            if (p->base + i >= p->rec_stop) {
                *st = qp_csv_cap_error(p, p->base + i);
                return true;
            }
            if (end_field(p, i) < 0) {
                *st = QP_CSV_ERROR;
                return true;
            }
            i++;
            p->pos = i;
            p->st = ST_FIELD;
            if (i == n || s[i] == '"' || s[i] == '\n' || s[i] == '\r' ||
                p->base + i >= p->rec_stop) {
                return false;
            }
            if (start_field(p, i) < 0) {
                *st = QP_CSV_ERROR;
                return true;
            }
            p->st = ST_UNQUOTED;
            continue;
        }
        if (k == C_LF || k == C_CR) {
            if (end_field(p, i) < 0) {
                *st = QP_CSV_ERROR;
                return true;
            }
            int r = end_record(p, rec, i);
            if (r < 0) {
                *st = QP_CSV_ERROR;
                return true;
            }
            newline(p, s[i], i);
            p->pos = i + 1;
            *st = QP_CSV_OK;
            return r > 0; /* a blank line: on to the next record */
        }
        if (p->base + i >= p->stop) {
            *st = qp_csv_cap_error(p, p->base + i);
            return true;
        }
        if (k == C_QUOTE) {
            *st = qp_csv_fail(
                    p, QP_CSV_ERR_STRAY_QUOTE, p->line, csv_col_at(p, i),
                    "quote inside an unquoted field (quote the whole field and double it)");
            return true;
        }
        if (qp_csv_special_byte(p, k, i) < 0) {
            *st = QP_CSV_ERROR;
            return true;
        }
        if (p->u8_need > 0) {
            return false; /* the chunk ends inside a UTF-8 sequence */
        }
        i = p->pos;
    }
}

static enum qp_csv_status after_quote_error(struct qp_csv *p, size_t i)
{
    uint8_t c = (uint8_t)p->in[i];
    char d[24];
    qp_dialect_delimiter_name(p->delim, d, sizeof(d));
    if (c >= 0x20 && c < 0x7F) {
        return qp_csv_fail(p, QP_CSV_ERR_AFTER_QUOTE, p->line, csv_col_at(p, i),
                           "'%c' after the closing quote of a field (expected a %s or a line end)",
                           c, d);
    }
    return qp_csv_fail(
            p, QP_CSV_ERR_AFTER_QUOTE, p->line, csv_col_at(p, i),
            "byte 0x%02X after the closing quote of a field (expected a %s or a line end)", c, d);
}

enum qp_csv_status qp_csv_next_record(struct qp_csv *p, struct qp_csv_record *rec)
{
    if (p->failed) {
        return QP_CSV_ERROR;
    }
    if (p->ended) {
        return QP_CSV_END;
    }
    if (!p->started) {
        enum qp_csv_status st = qp_csv_input_start(p);
        if (st != QP_CSV_OK) {
            return st;
        }
    }
    if (p->st == ST_RECORD) {
        /* The previous record has been handed out and is no longer needed. */
        p->nf = 0;
        p->nf_moved = 0;
        p->rec_bytes = 0;
        p->buf_len = 0;
        p->rec_in_buf = false;
    }
    for (;;) {
        if (p->pos == p->in_len) {
            switch (qp_csv_input_refill(p)) {
            case QP_CSV_REFILL_MORE:
                continue;
            case QP_CSV_REFILL_NEED_MORE:
                return QP_CSV_NEED_MORE;
            case QP_CSV_REFILL_EOF:
                return at_eof(p, rec);
            case QP_CSV_REFILL_ERROR:
                return QP_CSV_ERROR;
            }
            CORE_BUG("bad refill result");
        }
        if (p->u8_need > 0) {
            if (qp_csv_utf8_cont(p) < 0) {
                return QP_CSV_ERROR;
            }
            continue;
        }
        const uint8_t *s = (const uint8_t *)p->in;
        size_t n = p->in_len;
        size_t i = p->pos;
        switch (p->st) {
        case ST_RECORD:
            if (s[i] == '\n' || s[i] == '\r') {
                newline(p, s[i], i);
                p->pos = i + 1;
                continue;
            }
            p->nf = 0;
            p->nf_moved = 0;
            p->rec_bytes = 0;
            p->buf_len = 0;
            p->rec_in_buf = false;
            p->rec_quoted = false;
            p->rec_line = p->line;
            p->rec_abs = p->base + i;
            p->rec_stop = p->rec_abs + p->opts.max_record;
            if (p->rec_stop < p->rec_abs) {
                p->rec_stop = UINT64_MAX;
            }
            p->st = ST_FIELD;
            continue;
        case ST_FIELD:
            if (s[i] != '\n' && s[i] != '\r' && p->base + i >= p->rec_stop) {
                return qp_csv_cap_error(p, p->base + i);
            }
            if (start_field(p, i) < 0) {
                return QP_CSV_ERROR;
            }
            if (s[i] == '"') {
                p->pos = i + 1;
                p->run_start = i + 1;
                p->st = ST_QUOTED;
                p->rec_quoted = true;
                continue;
            }
            p->st = ST_UNQUOTED;
            continue;
        case ST_UNQUOTED: {
            enum qp_csv_status st;
            if (run_unquoted(p, rec, &st)) {
                return st;
            }
            continue;
        }
        case ST_QUOTED: {
            const uint8_t *cls = p->cls_q;
            i = scan_marking_special(p, cls, true, s, i, scan_limit(p, i, n));
            p->pos = i;
            if (i == n) {
                continue;
            }
            uint8_t k = cls[s[i]];
            if (k == C_QUOTE) {
                /* Maybe the closing quote, which the caps do not count. */
                p->pos = i + 1;
                p->st = ST_QUOTE;
                continue;
            }
            if (p->base + i >= p->stop) {
                return qp_csv_cap_error(p, p->base + i);
            }
            if (k == C_LF || k == C_CR) {
                p->f_special |= k == C_CR;
                newline(p, s[i], i);
                p->pos = i + 1;
                continue;
            }
            if (qp_csv_special_byte(p, k, i) < 0) {
                return QP_CSV_ERROR;
            }
            continue;
        }
        case ST_QUOTE:
            if (s[i] == (uint8_t)p->delim) {
                if (p->base + i >= p->rec_stop) {
                    return qp_csv_cap_error(p, p->base + i);
                }
                if (end_quoted_field(p) < 0) {
                    return QP_CSV_ERROR;
                }
                p->pos = i + 1;
                p->st = ST_FIELD;
                continue;
            }
            if (s[i] == '\n' || s[i] == '\r') {
                if (end_quoted_field(p) < 0) {
                    return QP_CSV_ERROR;
                }
                if (end_record(p, rec, i) < 0) {
                    return QP_CSV_ERROR; /* (never 0: a quoted field is no blank line) */
                }
                newline(p, s[i], i);
                p->pos = i + 1;
                return QP_CSV_OK;
            }
            if (p->base + i >= p->stop) {
                return qp_csv_cap_error(p, p->base + i);
            }
            if (s[i] == '"') {
                /* A doubled quote: keep one. */
                if (p->qflag) {
                    p->qflag = false;
                } else if (field_copy(p, i) < 0) {
                    return QP_CSV_ERROR;
                }
                p->run_start = i + 1;
                p->pos = i + 1;
                p->st = ST_QUOTED;
                continue;
            }
            return after_quote_error(p, i);
        }
    }
}

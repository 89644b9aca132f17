// SPDX-License-Identifier: MIT
/* Streaming RFC 4180 CSV parser: a byte-class state machine with zero-copy field slices. */
#include "quotepack/csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/*
 * How it works. The parser scans the current chunk with a 256-entry class table, so ordinary
 * bytes cost one load and one branch. A field that lies entirely in one chunk and needs no
 * unquoting ("" -> ") is returned as a slice of that chunk (zero copy). A field with a doubled
 * quote, or a record still open when a chunk ends, is copied into the parser's own buffer,
 * which is capped by max_record. Field boundaries are kept as (offset, in_buf) descriptors and
 * turned into pointers only when the record is complete, so the buffer may move meanwhile.
 */

enum state {
    ST_RECORD,   /* between records: skipping empty lines */
    ST_FIELD,    /* at the start of a field */
    ST_UNQUOTED, /* inside an unquoted field */
    ST_QUOTED,   /* inside a quoted field */
    ST_QUOTE,    /* just after a quote inside a quoted field: end, or the first of "" */
};

/* Byte classes; C_ORD (0) means "part of the field, keep scanning". */
enum {
    C_ORD = 0,
    C_COMMA,
    C_QUOTE,
    C_CR,
    C_LF,
    C_NUL,
    C_CTRL,
    C_HIGH,
    C_XML, /* & < > with xml_chars: part of the field, but flagged */
};

struct fdesc {
    size_t off; /* in the chunk or in buf */
    size_t len;
    bool in_buf;
    bool special; /* has & < > or CR */
};

struct qp_csv {
    struct qp_csv_opts opts;

    const char *in; /* current chunk (borrowed) */
    size_t in_len;
    size_t pos;
    uint64_t base; /* absolute offset of in[0] */

    /* A partial byte order mark that turned out not to be one is replayed as data. */
    size_t bom_n;
    const char *saved_in;
    size_t saved_len, saved_pos;
    uint64_t saved_base;

    uint64_t line;       /* current physical line */
    uint64_t line_start; /* absolute offset of its first byte */
    uint64_t last_cr;    /* absolute offset of the last CR line break, UINT64_MAX if none */

    struct fdesc *fd; /* descriptors of the record being parsed */
    struct qp_csv_field *fields;
    size_t fcap;
    size_t nf;
    size_t width;       /* fields in the first record */
    size_t width_limit; /* width once the header is known and same_width is set, else SIZE_MAX */
    uint64_t records;
    uint64_t rec_line;
    size_t rec_bytes;

    /* The field being parsed: its data so far is buf[f_buf_start..] (if f_in_buf) followed by
     * in[run_start..pos). qflag: buf ends with a quote that may be the first of "". */
    size_t run_start;
    size_t f_buf_start;
    uint64_t f_line, f_line_start;
    uint64_t f_abs;    /* absolute offset of the field's first byte */
    uint64_t rec_abs;  /* absolute offset of the record's first byte */
    uint64_t rec_stop; /* first absolute offset past the record cap */
    uint64_t stop;     /* first absolute offset past the field or record cap */

    /* A UTF-8 sequence in progress: bytes still needed and the range of the next one. */
    uint64_t u8_line, u8_col;
    uint32_t u8_cp;
    unsigned u8_need;

    char *buf;
    size_t buf_len, buf_cap;

    struct qp_csv_error err;
    enum state st;
    uint8_t u8_lo, u8_hi;
    bool eof;
    bool bom_done;
    bool replay;
    bool f_in_buf;
    bool qflag;
    bool f_special;
    bool rec_in_buf; /* some field of the record is in buf */
    bool failed;
    bool ended;

    uint8_t cls_unq[256]; /* classes inside an unquoted field */
    uint8_t cls_q[256];   /* classes inside a quoted field */
};

static const char bom_bytes[3] = { '\xEF', '\xBB', '\xBF' };

static void build_classes(struct qp_csv *p)
{
    for (int c = 0; c < 256; c++) {
        uint8_t k = C_ORD;
        if (c == 0) {
            k = C_NUL;
        } else if (c == '\r') {
            k = C_CR;
        } else if (c == '\n') {
            k = C_LF;
        } else if (c < 0x20 && c != '\t') {
            k = p->opts.xml_chars ? C_CTRL : C_ORD;
        } else if (c >= 0x80) {
            k = C_HIGH;
        } else if (c == '"') {
            k = C_QUOTE;
        } else if (p->opts.xml_chars && (c == '&' || c == '<' || c == '>')) {
            k = C_XML;
        }
        p->cls_q[c] = k;
        p->cls_unq[c] = c == ',' ? C_COMMA : k;
    }
}

int qp_csv_create(const struct qp_csv_opts *opts, struct qp_csv **out)
{
    *out = NULL;
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
    build_classes(p);
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
    free(p->fd);
    free(p->fields);
    free(p->buf);
    free(p);
}

void qp_csv_feed(struct qp_csv *p, const char *data, size_t len)
{
    p->in = data;
    p->in_len = len;
    p->pos = 0;
    p->run_start = 0;
}

void qp_csv_finish(struct qp_csv *p)
{
    p->eof = true;
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

static uint64_t col_at(const struct qp_csv *p, size_t i)
{
    return p->base + i - p->line_start + 1;
}

/* The column of the current field's first byte. */
static uint64_t f_col(const struct qp_csv *p)
{
    return p->f_abs - p->f_line_start + 1;
}

CORE_PRINTF(5, 6)
static enum qp_csv_status fail(struct qp_csv *p, enum qp_csv_error_kind kind, uint64_t line,
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
            fail(p, QP_CSV_ERR_NO_MEMORY, p->f_line, f_col(p), "out of memory for a %zu-byte field",
                 p->buf_len + n);
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
        fail(p, QP_CSV_ERR_FIELD_TOO_LARGE, p->f_line, f_col(p),
             "field is larger than the %zu-byte cap", p->opts.max_field);
        return -E2BIG;
    }
    if (p->rec_bytes + cur > p->opts.max_record) {
        fail(p, QP_CSV_ERR_RECORD_TOO_LARGE, p->rec_line, 1,
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
static enum qp_csv_status cap_error(struct qp_csv *p, uint64_t abs)
{
    if (abs >= p->rec_stop) {
        return fail(p, QP_CSV_ERR_RECORD_TOO_LARGE, p->rec_line, 1,
                    "record is larger than the %zu-byte cap", p->opts.max_record);
    }
    return fail(p, QP_CSV_ERR_FIELD_TOO_LARGE, p->f_line, f_col(p),
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
        fail(p, QP_CSV_ERR_RAGGED, p->line, col_at(p, i),
             "record has more fields than the header's %zu", p->width);
        return -EINVAL;
    }
    if (p->nf >= p->opts.max_columns) {
        fail(p, QP_CSV_ERR_TOO_MANY_COLUMNS, p->line, col_at(p, i),
             "record has more than %zu fields", p->opts.max_columns);
        return -E2BIG;
    }
    size_t cap = p->fcap * 2;
    if (cap > p->opts.max_columns) {
        cap = p->opts.max_columns;
    }
    struct fdesc *fd = realloc(p->fd, cap * sizeof(*fd));
    if (fd != NULL) {
        p->fd = fd;
    }
    struct qp_csv_field *fl = realloc(p->fields, cap * sizeof(*fl));
    if (fl != NULL) {
        p->fields = fl;
    }
    if (fd == NULL || fl == NULL) {
        fail(p, QP_CSV_ERR_NO_MEMORY, p->line, col_at(p, i), "out of memory for %zu fields", cap);
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
    struct fdesc *d = &p->fd[p->nf];
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

/* Ends the record at in[i] (its terminator, or the end of the input) and fills *rec. */
static enum qp_csv_status end_record(struct qp_csv *p, struct qp_csv_record *rec, size_t i)
{
    if (p->opts.same_width) {
        if (p->records == 0) {
            p->width = p->nf;
            p->width_limit = p->nf;
        } else if (p->nf != p->width) {
            return fail(p, QP_CSV_ERR_RAGGED, p->line, col_at(p, i),
                        "record has %zu field%s but the header has %zu", p->nf,
                        p->nf == 1 ? "" : "s", p->width);
        }
    }
    for (size_t k = 0; p->rec_in_buf && k < p->nf; k++) {
        /* buf may have moved since the fields were parsed: point into it only now. */
        const struct fdesc *d = &p->fd[k];
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
    return QP_CSV_OK;
}

static int utf8_lead(struct qp_csv *p, uint8_t c, size_t i)
{
    p->u8_line = p->line;
    p->u8_col = col_at(p, i);
    if (c >= 0xC2 && c <= 0xDF) {
        p->u8_need = 1;
        p->u8_lo = 0x80;
        p->u8_hi = 0xBF;
        p->u8_cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        p->u8_need = 2;
        p->u8_lo = c == 0xE0 ? 0xA0 : 0x80;
        /* ED A0..BF encodes a surrogate: invalid UTF-8, or with xml_chars reported as a
         * character XML forbids once the sequence is complete. */
        p->u8_hi = c == 0xED && !p->opts.xml_chars ? 0x9F : 0xBF;
        p->u8_cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        p->u8_need = 3;
        p->u8_lo = c == 0xF0 ? 0x90 : 0x80;
        p->u8_hi = c == 0xF4 ? 0x8F : 0xBF;
        p->u8_cp = c & 0x07u;
    } else {
        fail(p, QP_CSV_ERR_UTF8, p->u8_line, p->u8_col, "invalid UTF-8 byte 0x%02X", c);
        return -EILSEQ;
    }
    return 0;
}

/* Consumes continuation bytes of the sequence in progress while the chunk has them. */
static int utf8_cont(struct qp_csv *p)
{
    while (p->u8_need > 0 && p->pos < p->in_len) {
        if (p->base + p->pos >= p->stop) {
            cap_error(p, p->base + p->pos);
            return -E2BIG;
        }
        uint8_t c = (uint8_t)p->in[p->pos];
        if (c < p->u8_lo || c > p->u8_hi) {
            fail(p, QP_CSV_ERR_UTF8, p->u8_line, p->u8_col,
                 "invalid UTF-8 sequence (byte 0x%02X is not a valid continuation)", c);
            return -EILSEQ;
        }
        p->u8_cp = (p->u8_cp << 6) | (c & 0x3Fu);
        p->u8_lo = 0x80;
        p->u8_hi = 0xBF;
        p->u8_need--;
        p->pos++;
    }
    if (p->u8_need == 0 && p->opts.xml_chars) {
        uint32_t cp = p->u8_cp;
        if (cp == 0xFFFE || cp == 0xFFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            fail(p, QP_CSV_ERR_XML_CHAR, p->u8_line, p->u8_col,
                 "character U+%04X is not allowed in XML 1.0", (unsigned)cp);
            return -EILSEQ;
        }
    }
    return 0;
}

/* Handles a byte that stopped a scan inside a field and is not a delimiter. */
static int special_byte(struct qp_csv *p, uint8_t cls, size_t i)
{
    uint8_t c = (uint8_t)p->in[i];
    switch (cls) {
    case C_NUL:
        fail(p, QP_CSV_ERR_NUL, p->line, col_at(p, i), "NUL byte in the data");
        return -EILSEQ;
    case C_CTRL:
        fail(p, QP_CSV_ERR_XML_CHAR, p->line, col_at(p, i),
             "control character U+%04X is not allowed in XML 1.0", c);
        return -EILSEQ;
    case C_HIGH:
        if (utf8_lead(p, c, i) < 0) {
            return -EILSEQ;
        }
        /* The continuation bytes this chunk has (each checked against the caps); the rest,
         * if the chunk ends inside the sequence, at the top of the main loop. */
        p->pos = i + 1;
        return utf8_cont(p);
    default:
        CORE_BUG("unexpected byte class");
    }
}

/* Moves the finished fields of the record that still point into the chunk into buf, so that
 * buf holds the record's fields in order before the current field is copied after them. */
static int migrate_fields(struct qp_csv *p)
{
    for (size_t k = 0; k < p->nf; k++) {
        struct fdesc *d = &p->fd[k];
        if (!d->in_buf) {
            size_t off = p->buf_len;
            if (d->len > 0 && buf_append(p, p->in + d->off, d->len) < 0) {
                return -ENOMEM;
            }
            d->off = off;
            d->in_buf = true;
            p->rec_in_buf = true;
        }
    }
    return 0;
}

/* Moves everything of the unfinished record that still points into the chunk into buf. */
static int migrate(struct qp_csv *p)
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

static enum qp_csv_status skip_bom(struct qp_csv *p)
{
    while (p->bom_n < 3) {
        if (p->pos == p->in_len) {
            if (!p->eof) {
                p->base += p->in_len;
                p->in = NULL;
                p->in_len = 0;
                p->pos = 0;
                return QP_CSV_NEED_MORE;
            }
            break;
        }
        if (p->in[p->pos] != bom_bytes[p->bom_n]) {
            break;
        }
        p->bom_n++;
        p->pos++;
    }
    p->bom_done = true;
    if (p->bom_n == 3) {
        p->line_start = 3;
    } else if (p->bom_n > 0) {
        /* Not a BOM after all: parse the bytes taken so far, then go on with the chunk. */
        p->replay = true;
        p->saved_in = p->in;
        p->saved_len = p->in_len;
        p->saved_pos = p->pos;
        p->saved_base = p->base;
        p->in = bom_bytes;
        p->in_len = p->bom_n;
        p->pos = 0;
        p->base = 0;
    }
    p->run_start = p->pos;
    return QP_CSV_OK;
}

static enum qp_csv_status at_eof(struct qp_csv *p, struct qp_csv_record *rec)
{
    if (p->u8_need > 0) {
        return fail(p, QP_CSV_ERR_UTF8, p->u8_line, p->u8_col,
                    "truncated UTF-8 sequence at the end of the input");
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
        return end_record(p, rec, p->pos);
    case ST_UNQUOTED:
        if (end_field(p, p->pos) < 0) {
            return QP_CSV_ERROR;
        }
        return end_record(p, rec, p->pos);
    case ST_QUOTED:
        return fail(p, QP_CSV_ERR_UNTERMINATED, p->f_line, f_col(p),
                    "quoted field opened here is never closed");
    case ST_QUOTE:
        if (end_quoted_field(p) < 0) {
            return QP_CSV_ERROR;
        }
        return end_record(p, rec, p->pos);
    }
    CORE_BUG("bad parser state");
}

/*
 * The length of the valid, allowed UTF-8 sequence at s[0] (a byte >= 0x80) when it lies wholly
 * in s[0..avail), else 0: then the resumable byte-at-a-time path (utf8_lead, utf8_cont) takes
 * it and reports the error, or a sequence cut by the end of a chunk or a cap.
 */
static inline size_t utf8_seq(const uint8_t *s, size_t avail, bool xml)
{
    uint8_t c = s[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return avail >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
            (c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) ||
            (xml && c == 0xEF && s[1] == 0xBF && s[2] >= 0xBE)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80 ||
            (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/*
 * Returns the index of the first byte in s[i..lim) whose class is not C_ORD, or lim; valid
 * UTF-8 sequences wholly before lim are stepped over. With
 * SSE2, 16 bytes at a time: a signed compare with 0x20 finds controls and bytes >= 0x80 at
 * once, equality finds the punctuation; a candidate that the table calls ordinary (TAB, or a
 * control without xml_chars) is stepped over.
 */
static inline size_t scan(const struct qp_csv *p, const uint8_t *cls, bool quoted, const uint8_t *s,
                          size_t i, size_t lim)
{
#if defined(__SSE2__)
    const bool xml = p->opts.xml_chars;
    const __m128i v_ctl = _mm_set1_epi8(0x20);
    const __m128i v_quote = _mm_set1_epi8('"');
    const __m128i v_comma = _mm_set1_epi8(quoted ? '"' : ',');
    const __m128i v_amp = _mm_set1_epi8(xml ? '&' : '"');
    const __m128i v_lt = _mm_set1_epi8(xml ? '<' : '"');
    const __m128i v_gt = _mm_set1_epi8(xml ? '>' : '"');
    while (lim - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_cmplt_epi8(x, v_ctl);
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_quote));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_comma));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_amp));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_lt));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_gt));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        size_t next = i + 16; /* where the next vector starts */
        while (mask != 0) {
            size_t j = i + (size_t)__builtin_ctz(mask);
            if (cls[s[j]] == C_ORD) {
                mask &= mask - 1;
                continue;
            }
            size_t u = s[j] >= 0x80 ? utf8_seq(s + j, lim - j, xml) : 0;
            if (u == 0) {
                return j;
            }
            if (j + u >= next) {
                next = j + u;
                break;
            }
            mask &= ~0u << (j + u - i); /* drop the sequence's own bytes */
        }
        i = next;
    }
#else
    (void)quoted;
#endif
    while (i < lim) {
        if (cls[s[i]] == C_ORD) {
            i++;
            continue;
        }
        size_t u = s[i] >= 0x80 ? utf8_seq(s + i, lim - i, p->opts.xml_chars) : 0;
        if (u == 0) {
            break;
        }
        i += u;
    }
    return i;
}

/*
 * Scans unquoted fields from pos. The common case, an unquoted field after a comma, stays in
 * this loop. Returns true when *st holds the status to return, false to go on in the main loop.
 */
/*
 * Scans ordinary bytes up to lim, stepping over bytes that only need XML escaping (and
 * flagging the field for it); stops at the first byte the state machine must handle.
 */
static inline size_t scan_marking_special(struct qp_csv *p, const uint8_t *cls, bool quoted,
                                          const uint8_t *s, size_t i, size_t lim)
{
    for (;;) {
        i = scan(p, cls, quoted, s, i, lim);
        if (i < lim && cls[s[i]] == C_XML) {
            p->f_special = true;
            i++;
            continue;
        }
        return i;
    }
}

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
                *st = cap_error(p, p->base + i);
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
            *st = end_record(p, rec, i);
            if (*st == QP_CSV_OK) {
                newline(p, s[i], i);
                p->pos = i + 1;
            }
            return true;
        }
        if (p->base + i >= p->stop) {
            *st = cap_error(p, p->base + i);
            return true;
        }
        if (k == C_QUOTE) {
            *st = fail(p, QP_CSV_ERR_STRAY_QUOTE, p->line, col_at(p, i),
                       "quote inside an unquoted field (quote the whole field and double it)");
            return true;
        }
        if (special_byte(p, k, i) < 0) {
            *st = QP_CSV_ERROR;
            return true;
        }
        if (p->u8_need > 0) {
            return false; /* the chunk ends inside a UTF-8 sequence */
        }
        i = p->pos;
    }
}

enum qp_csv_status qp_csv_next_record(struct qp_csv *p, struct qp_csv_record *rec)
{
    if (p->failed) {
        return QP_CSV_ERROR;
    }
    if (p->ended) {
        return QP_CSV_END;
    }
    if (!p->bom_done) {
        enum qp_csv_status st = skip_bom(p);
        if (st != QP_CSV_OK) {
            return st;
        }
    }
    if (p->st == ST_RECORD) {
        /* The previous record has been handed out and is no longer needed. */
        p->nf = 0;
        p->rec_bytes = 0;
        p->buf_len = 0;
        p->rec_in_buf = false;
    }
    for (;;) {
        if (p->pos == p->in_len) {
            if (p->replay) {
                if (migrate(p) < 0) {
                    return QP_CSV_ERROR;
                }
                p->replay = false;
                p->in = p->saved_in;
                p->in_len = p->saved_len;
                p->pos = p->saved_pos;
                p->base = p->saved_base;
                p->run_start = p->pos;
                continue;
            }
            if (!p->eof) {
                return migrate(p) < 0 ? QP_CSV_ERROR : QP_CSV_NEED_MORE;
            }
            return at_eof(p, rec);
        }
        if (p->u8_need > 0) {
            if (utf8_cont(p) < 0) {
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
            p->rec_bytes = 0;
            p->buf_len = 0;
            p->rec_in_buf = false;
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
                return cap_error(p, p->base + i);
            }
            if (start_field(p, i) < 0) {
                return QP_CSV_ERROR;
            }
            if (s[i] == '"') {
                p->pos = i + 1;
                p->run_start = i + 1;
                p->st = ST_QUOTED;
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
                return cap_error(p, p->base + i);
            }
            if (k == C_LF || k == C_CR) {
                p->f_special |= k == C_CR;
                newline(p, s[i], i);
                p->pos = i + 1;
                continue;
            }
            if (special_byte(p, k, i) < 0) {
                return QP_CSV_ERROR;
            }
            continue;
        }
        case ST_QUOTE:
            if (s[i] == ',') {
                if (p->base + i >= p->rec_stop) {
                    return cap_error(p, p->base + i);
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
                enum qp_csv_status st = end_record(p, rec, i);
                if (st == QP_CSV_OK) {
                    newline(p, s[i], i);
                    p->pos = i + 1;
                }
                return st;
            }
            if (p->base + i >= p->stop) {
                return cap_error(p, p->base + i);
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
            if (s[i] >= 0x20 && s[i] < 0x7F) {
                return fail(
                        p, QP_CSV_ERR_AFTER_QUOTE, p->line, col_at(p, i),
                        "'%c' after the closing quote of a field (expected a comma or a line end)",
                        s[i]);
            }
            return fail(
                    p, QP_CSV_ERR_AFTER_QUOTE, p->line, col_at(p, i),
                    "byte 0x%02X after the closing quote of a field (expected a comma or a line end)",
                    s[i]);
        }
    }
}

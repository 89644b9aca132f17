// SPDX-License-Identifier: MIT
/* CSV document -> XML document: drives the CSV parser and writes the XML in pieces. */
#include "quotepack/convert.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quotepack/csv.h"
#include "quotepack/sniff.h"
#include "quotepack/xml.h"

#define DEFAULT_MAX_OUTPUT ((size_t)1 << 30)

static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Data";

const char *qp_convert_status_name(enum qp_convert_status status)
{
    switch (status) {
    case QP_CONVERT_OK:
        return "ok";
    case QP_CONVERT_NOT_CSV:
        return "not-csv";
    case QP_CONVERT_BAD_CSV:
        return "bad-csv";
    case QP_CONVERT_BAD_XML:
        return "bad-xml";
    case QP_CONVERT_TOO_LARGE:
        return "too-large";
    case QP_CONVERT_NO_MEMORY:
        return "no-memory";
    case QP_CONVERT_IO:
        return "io-error";
    }
    return "unknown";
}

CORE_PRINTF(5, 6)
static enum qp_convert_status set_error(struct qp_convert_error *err, enum qp_convert_status st,
                                        uint64_t line, uint64_t col, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        err->status = st;
        err->line = line;
        err->column = col;
    }
    return st;
}

static enum qp_convert_status status_of(enum qp_csv_error_kind kind)
{
    switch (kind) {
    case QP_CSV_ERR_XML_CHAR:
        return QP_CONVERT_BAD_XML;
    case QP_CSV_ERR_FIELD_TOO_LARGE:
    case QP_CSV_ERR_RECORD_TOO_LARGE:
    case QP_CSV_ERR_TOO_MANY_COLUMNS:
        return QP_CONVERT_TOO_LARGE;
    case QP_CSV_ERR_NO_MEMORY:
        return QP_CONVERT_NO_MEMORY;
    default:
        return QP_CONVERT_BAD_CSV;
    }
}

/*
 * The output: a buffer capped at max bytes of document in all. With a write callback the
 * buffer holds only what has not been handed on yet (flushed counts what has), so it stays
 * about QP_CONVERT_PIECE long; without one it is the whole document.
 */
struct out {
    char *p;
    size_t len, cap, max;
    size_t flushed;            /* bytes already given to write() */
    qp_convert_write_fn write; /* NULL: keep the whole document */
    void *wctx;
    int werr; /* the first write() error */
};

/* Hands the buffer to the write callback: 0 or -EIO (the callback's errno is in werr). */
static int out_flush(struct out *o)
{
    if (o->write == NULL || o->len == 0) {
        return 0;
    }
    int rc = o->write(o->wctx, o->p, o->len);
    if (rc != 0) {
        o->werr = rc;
        return -EIO;
    }
    o->flushed += o->len;
    o->len = 0;
    return 0;
}

/* Makes room for need more bytes; -E2BIG past the cap, -ENOMEM, -EIO (write failed). */
static int out_reserve(struct out *o, size_t need)
{
    if (need > o->max - o->flushed - o->len) {
        return -E2BIG;
    }
    if (o->len + need <= o->cap) {
        return 0;
    }
    if (o->write != NULL && o->len > 0) {
        int rc = out_flush(o);
        if (rc != 0 || need <= o->cap) {
            return rc;
        }
    }
    size_t cap = o->cap > o->max / 2 ? o->max : o->cap * 2;
    if (cap < o->len + need) {
        cap = o->len + need;
    }
    char *np = realloc(o->p, cap);
    if (np == NULL) {
        return -ENOMEM;
    }
    o->p = np;
    o->cap = cap;
    return 0;
}

/*
 * Per-column element strings, precomputed from the header. A row is written as
 * joint[0] value[0] joint[1] value[1] ... joint[n], where joint[i] is the close tag of column
 * i - 1 (or the row's open tag) followed by the open tag of column i (or the row's close tag).
 * An empty value backs up over the open tag, writes <Name />, and skips the close tag at the
 * start of the next joint. The block has SLACK readable bytes past its end, so that short
 * strings are copied with one fixed-size memcpy.
 */
#define SLACK 32

struct tags {
    char *block;
    size_t *joint_off, *joint_len;                        /* n + 1 of each */
    size_t *empty_off, *empty_len, *open_len, *close_len; /* n of each */
    size_t fixed; /* bytes of a row with every value non-empty, values excluded */
};

static void tags_release(struct tags *t)
{
    free(t->block);
    free(t->joint_off);
}

static int tags_init(struct tags *t, const struct qp_xml_names *names, bool compact)
{
    size_t n = names->count;
    const char *indent = compact ? "" : "\n\t\t";
    const char *row_open = compact ? "<Row>" : "\n\t<Row>";
    const char *row_close = compact ? "</Row>" : "\n\t</Row>";
    size_t ilen = strlen(indent);
    size_t total = strlen(row_open) + strlen(row_close) + SLACK + 1;
    for (size_t i = 0; i < n; i++) {
        /* </name>indent<name> and indent<name /> */
        total += 3 * names->lens[i] + 2 * ilen + 9;
    }
    memset(t, 0, sizeof(*t));
    t->block = calloc(1, total);
    t->joint_off = malloc((6 * n + 2) * sizeof(size_t));
    if (t->block == NULL || t->joint_off == NULL) {
        tags_release(t);
        return -ENOMEM;
    }
    t->joint_len = t->joint_off + n + 1;
    t->empty_off = t->joint_len + n + 1;
    t->empty_len = t->empty_off + n;
    t->open_len = t->empty_len + n;
    t->close_len = t->open_len + n;
    char *b = t->block;
    size_t off = 0;
    for (size_t i = 0; i <= n; i++) {
        int w1 = i == 0 ? sprintf(b + off, "%s", row_open)
                        : sprintf(b + off, "</%s>", names->names[i - 1]);
        int w2 = i == n ? sprintf(b + off + (size_t)w1, "%s", row_close)
                        : sprintf(b + off + (size_t)w1, "%s<%s>", indent, names->names[i]);
        if (i > 0) {
            t->close_len[i - 1] = (size_t)w1;
        }
        if (i < n) {
            t->open_len[i] = (size_t)w2;
        }
        t->joint_off[i] = off;
        t->joint_len[i] = (size_t)w1 + (size_t)w2;
        t->fixed += t->joint_len[i];
        off += t->joint_len[i];
    }
    for (size_t i = 0; i < n; i++) {
        int w = sprintf(b + off, "%s<%s />", indent, names->names[i]);
        t->empty_off[i] = off;
        t->empty_len[i] = (size_t)w;
        off += (size_t)w;
    }
    return 0;
}

struct conv {
    const struct qp_convert_opts *opts;
    const char *csv; /* the current piece of input, whose bytes may be read past a field */
    size_t csv_len;
    struct out out;
    struct tags tags;
    bool have_tags;
};

/* Copies a short string whose source has SLACK readable bytes (the tag block). */
static inline char *put_tag(char *o, const char *src, size_t n)
{
    if (n <= SLACK) {
        memcpy(o, src, SLACK);
    } else {
        memcpy(o, src, n);
    }
    return o + n;
}

/* Exact size of one row's XML. */
static size_t row_size(const struct conv *c, const struct qp_csv_record *rec)
{
    size_t n = c->tags.fixed;
    for (size_t i = 0; i < rec->count; i++) {
        const struct qp_csv_field *f = &rec->fields[i];
        if (f->len == 0) {
            n = n - c->tags.open_len[i] - c->tags.close_len[i] + c->tags.empty_len[i];
            continue;
        }
        n += f->len;
        for (size_t k = 0; k < f->len; k++) {
            char ch = f->data[k];
            n += ch == '&' || ch == '\r' ? 4 : ch == '<' || ch == '>' ? 3 : 0;
        }
    }
    return n;
}

static enum qp_convert_status write_row(struct conv *c, const struct qp_csv_record *rec,
                                        struct qp_convert_error *err)
{
    /* Worst case first (one check per row, SLACK for the fixed-size copies); the exact size
     * only near the cap. */
    size_t need = c->tags.fixed + 5 * rec->bytes + SLACK;
    int rc = out_reserve(&c->out, need);
    if (rc == -E2BIG) {
        /* Near the cap: the exact size decides; the row is written into a scratch buffer with
         * room for the fixed-size copies, then copied. */
        size_t exact = row_size(c, rec);
        if (exact > c->out.max - c->out.flushed - c->out.len) {
            return set_error(err, QP_CONVERT_TOO_LARGE, rec->line, 1,
                             "XML output would be larger than the %zu-byte cap", c->out.max);
        }
        char *tmp = malloc(need);
        if (tmp == NULL || out_reserve(&c->out, exact) < 0) {
            free(tmp);
            return set_error(err, QP_CONVERT_NO_MEMORY, rec->line, 1, "out of memory for the XML");
        }
        struct out saved = c->out;
        c->out = (struct out){ .p = tmp, .cap = need, .max = need };
        enum qp_convert_status st = write_row(c, rec, err);
        size_t written = c->out.len;
        c->out = saved;
        if (st == QP_CONVERT_OK) {
            memcpy(c->out.p + c->out.len, tmp, written);
            c->out.len += written;
        }
        free(tmp);
        return st;
    }
    if (rc == -EIO) {
        return set_error(err, QP_CONVERT_IO, rec->line, 1, "cannot write the XML");
    }
    if (rc < 0) {
        return set_error(err, QP_CONVERT_NO_MEMORY, rec->line, 1, "out of memory for the XML");
    }
    char *o = c->out.p + c->out.len;
    const char *block = c->tags.block;
    uintptr_t in_lo = (uintptr_t)c->csv, in_hi = (uintptr_t)c->csv + c->csv_len;
    size_t skip = 0;
    size_t i;
    for (i = 0; i < rec->count; i++) {
        o = put_tag(o, block + c->tags.joint_off[i] + skip, c->tags.joint_len[i] - skip);
        const struct qp_csv_field *f = &rec->fields[i];
        size_t n = f->len;
        if (n == 0) {
            o -= c->tags.open_len[i];
            o = put_tag(o, block + c->tags.empty_off[i], c->tags.empty_len[i]);
            skip = c->tags.close_len[i];
            continue;
        }
        skip = 0;
        if (f->xml_special) {
            o += qp_xml_escape_text(f->data, n, o);
        } else if (n <= 16 && (uintptr_t)f->data >= in_lo && in_hi - (uintptr_t)f->data >= 16) {
            memcpy(o, f->data, 16);
            o += n;
        } else {
            memcpy(o, f->data, n);
            o += n;
        }
    }
    o = put_tag(o, block + c->tags.joint_off[i] + skip, c->tags.joint_len[i] - skip);
    c->out.len = (size_t)(o - c->out.p);
    return QP_CONVERT_OK;
}

static enum qp_convert_status append(struct conv *c, const char *s, size_t n,
                                     struct qp_convert_error *err)
{
    int rc = out_reserve(&c->out, n);
    if (rc == -E2BIG) {
        return set_error(err, QP_CONVERT_TOO_LARGE, 0, 0,
                         "XML output would be larger than the %zu-byte cap", c->out.max);
    }
    if (rc == -EIO) {
        return set_error(err, QP_CONVERT_IO, 0, 0, "cannot write the XML");
    }
    if (rc < 0) {
        return set_error(err, QP_CONVERT_NO_MEMORY, 0, 0, "out of memory for the XML");
    }
    memcpy(c->out.p + c->out.len, s, n);
    c->out.len += n;
    return QP_CONVERT_OK;
}

static enum qp_convert_status header(struct conv *c, const struct qp_csv_record *rec,
                                     struct qp_convert_error *err)
{
    struct qp_xml_text *hdr = malloc((rec->count ? rec->count : 1) * sizeof(*hdr));
    if (hdr == NULL) {
        return set_error(err, QP_CONVERT_NO_MEMORY, rec->line, 1, "out of memory for the header");
    }
    for (size_t i = 0; i < rec->count; i++) {
        hdr[i].data = rec->fields[i].data;
        hdr[i].len = rec->fields[i].len;
    }
    struct qp_xml_names *names = NULL;
    int rc = qp_xml_names_create(hdr, rec->count, &names);
    free(hdr);
    if (rc == 0) {
        rc = tags_init(&c->tags, names, c->opts->compact);
        c->have_tags = rc == 0;
    }
    qp_xml_names_destroy(names);
    if (rc == -E2BIG) {
        return set_error(err, QP_CONVERT_TOO_LARGE, rec->line, 1, "header is too large");
    }
    if (rc < 0) {
        return set_error(err, QP_CONVERT_NO_MEMORY, rec->line, 1, "out of memory for the header");
    }
    return QP_CONVERT_OK;
}

/*
 * Sizes the output once, from the number of line ends left in the input and the tags of a
 * row, so that the buffer is seldom copied by realloc (the copy showed up in profiles).
 */
static enum qp_convert_status reserve_estimate(struct conv *c, const char *csv, size_t len,
                                               struct qp_convert_error *err)
{
    size_t lines = 1;
    const char *s = csv, *end = csv + len;
    while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
        lines++;
        s++;
    }
    size_t per_row = c->tags.fixed;
    size_t est = len + 64 + SLACK;
    if (per_row != 0 && lines > (SIZE_MAX / 2 - len) / per_row) {
        est = c->out.max;
    } else {
        est += lines * per_row;
    }
    if (est > c->out.max - c->out.len) {
        est = c->out.max - c->out.len;
    }
    int rc = out_reserve(&c->out, est);
    if (rc == -ENOMEM) {
        return set_error(err, QP_CONVERT_NO_MEMORY, 0, 0, "out of memory for the XML");
    }
    return QP_CONVERT_OK;
}

/* Copies the record's first field, cut to QP_CONVERT_KEY - 1 bytes, into key. */
static void keep_key(char key[QP_CONVERT_KEY], const struct qp_csv_record *rec)
{
    size_t n = rec->count > 0 ? rec->fields[0].len : 0;
    if (n > QP_CONVERT_KEY - 1) {
        n = QP_CONVERT_KEY - 1;
        // Not inside a UTF-8 sequence: back to the start of the character that is cut.
        while (n > 0 && ((unsigned char)rec->fields[0].data[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    if (n > 0) {
        memcpy(key, rec->fields[0].data, n);
    }
    key[n] = '\0';
}

/* Makes the room the first rows need: the whole document's estimate in one-buffer mode. */
static enum qp_convert_status reserve_first(struct conv *c, const char *csv, size_t len,
                                            struct qp_convert_error *err)
{
    if (c->out.write == NULL) {
        return reserve_estimate(c, csv, len, err);
    }
    int rc = out_reserve(&c->out, QP_CONVERT_PIECE);
    if (rc == -ENOMEM) {
        return set_error(err, QP_CONVERT_NO_MEMORY, 0, 0, "out of memory for the XML");
    }
    return QP_CONVERT_OK;
}

/* The error of a read callback. */
static enum qp_convert_status read_error(struct qp_convert_error *err, int rc)
{
    set_error(err, QP_CONVERT_IO, 0, 0, "cannot read the CSV: %s", strerror(-rc));
    if (err != NULL) {
        err->sys_errno = rc;
    }
    return QP_CONVERT_IO;
}

enum qp_convert_status qp_convert_stream(qp_convert_read_fn read, void *rctx,
                                         qp_convert_write_fn write, void *wctx,
                                         const struct qp_convert_opts *opts,
                                         struct qp_convert_result *result,
                                         struct qp_convert_error *err)
{
    static const struct qp_convert_opts defaults = { 0 };
    memset(result, 0, sizeof(*result));
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
    }
    if (opts == NULL) {
        opts = &defaults;
    }
    const char *csv = NULL;
    size_t len = 0;
    int rrc = read(rctx, &csv, &len);
    if (rrc != 0) {
        return read_error(err, rrc);
    }
    // Whether more input follows the first piece (one-buffer mode: never).
    bool more = write != NULL && len > 0;
    struct qp_sniff sn = { 0 };
    enum qp_sniff_verdict sv = qp_sniff_piece(&sn, csv, len, more, err);
    if (sv == QP_SNIFF_NOT_CSV) {
        return QP_CONVERT_NOT_CSV;
    }
    bool blank = sv == QP_SNIFF_MORE; // no byte but blanks yet (pieces only)
    enum qp_convert_status st = QP_CONVERT_OK;
    struct conv c = { .opts = opts, .csv = csv, .csv_len = len };
    c.out.max = opts->max_output ? opts->max_output : write ? SIZE_MAX : DEFAULT_MAX_OUTPUT;
    c.out.write = write;
    c.out.wctx = wctx;

    struct qp_csv *p = NULL;
    struct qp_csv_opts copts = { .same_width = true, .xml_chars = true, .dialect = opts->dialect };
    int crc = qp_csv_create(&copts, &p);
    if (crc == -EINVAL) {
        return set_error(err, QP_CONVERT_BAD_CSV, 0, 0, "invalid delimiter or encoding");
    }
    if (crc < 0) {
        return set_error(err, QP_CONVERT_NO_MEMORY, 0, 0, "out of memory for the parser");
    }
    c.out.p = malloc(sizeof(decl) + 64);
    if (c.out.p == NULL) {
        st = set_error(err, QP_CONVERT_NO_MEMORY, 0, 0, "out of memory for the XML");
        goto out;
    }
    c.out.cap = sizeof(decl) + 64;
    st = append(&c, decl, sizeof(decl) - 1, err);
    if (st != QP_CONVERT_OK) {
        goto out;
    }
    qp_csv_feed(p, csv, len);
    if (!more) {
        qp_csv_finish(p);
    }
    struct qp_csv_record rec;
    enum qp_csv_status cs;
    for (;;) {
        cs = qp_csv_next_record(p, &rec);
        if (cs == QP_CSV_NEED_MORE) {
            // The parser is done with the current piece: fetch the next (0 bytes = the end).
            rrc = read(rctx, &csv, &len);
            if (rrc != 0) {
                st = read_error(err, rrc);
                goto out;
            }
            if (blank) {
                // Still only blanks so far: this piece (or the end, len 0) decides.
                sv = qp_sniff_piece(&sn, csv, len, len > 0, err);
                if (sv == QP_SNIFF_NOT_CSV) {
                    st = QP_CONVERT_NOT_CSV;
                    goto out;
                }
                blank = sv == QP_SNIFF_MORE;
            }
            c.csv = csv;
            c.csv_len = len;
            qp_csv_feed(p, csv, len);
            if (len == 0) {
                qp_csv_finish(p);
            }
            continue;
        }
        if (cs != QP_CSV_OK) {
            break;
        }
        if (!c.have_tags) {
            /* The first record is the header (header() fails or sets have_tags). */
            st = header(&c, &rec, err);
            result->columns = rec.count;
            if (st == QP_CONVERT_OK) {
                st = reserve_first(&c, csv, len, err);
            }
        } else {
            if (rec.index == 1) {
                st = append(&c, ">", 1, err);
            }
            if (st == QP_CONVERT_OK) {
                st = write_row(&c, &rec, err);
            }
            keep_key(result->rows == 0 ? result->first : result->last, &rec);
            result->rows++;
        }
        if (st != QP_CONVERT_OK) {
            goto out;
        }
    }
    if (cs == QP_CSV_ERROR) {
        const struct qp_csv_error *e = qp_csv_error(p);
        st = set_error(err, status_of(e->kind), e->line, e->column, "%s", e->message);
        goto out;
    }
    if (blank || !c.have_tags) {
        // Not expected: the sniffer decides at the end of the input, and content makes the
        // parser return a header or an error. Kept so that no document lacks its header.
        st = set_error(err, QP_CONVERT_NOT_CSV, 1, 1, "body is only whitespace");
        goto out;
    }
    if (result->rows == 0) {
        st = append(&c, " />\n", 4, err);
    } else if (opts->compact) {
        st = append(&c, "</Data>\n", 8, err);
    } else {
        st = append(&c, "\n</Data>\n", 9, err);
    }
    if (st != QP_CONVERT_OK) {
        goto out;
    }
    result->delimiter = qp_csv_delimiter(p);
    if (write != NULL) {
        size_t total = c.out.flushed + c.out.len;
        if (out_flush(&c.out) != 0) {
            st = set_error(err, QP_CONVERT_IO, 0, 0, "cannot write the XML");
            goto out;
        }
        result->xml_len = total;
        goto out;
    }
    /* A NUL after the document (not counted in xml_len), and no more than 1/8 left unused. */
    size_t want = c.out.len + 1;
    if (c.out.cap < want || c.out.cap - want > c.out.len / 8) {
        char *np = realloc(c.out.p, want);
        if (np != NULL) {
            c.out.p = np;
            c.out.cap = want;
        } else if (c.out.cap < want) {
            st = set_error(err, QP_CONVERT_NO_MEMORY, 0, 0, "out of memory for the XML");
            goto out;
        }
    }
    c.out.p[c.out.len] = '\0';
    result->xml = c.out.p;
    result->xml_len = c.out.len;
    c.out.p = NULL;
out:
    if (st == QP_CONVERT_IO && err != NULL && err->sys_errno == 0) {
        err->sys_errno = c.out.werr != 0 ? c.out.werr : -EIO;
    }
    if (st != QP_CONVERT_OK) {
        result->rows = 0;
        result->columns = 0;
        result->xml_len = 0;
        result->delimiter = 0;
        result->first[0] = '\0';
        result->last[0] = '\0';
    } else if (result->rows == 1) {
        memcpy(result->last, result->first, sizeof(result->last));
    }
    free(c.out.p);
    if (c.have_tags) {
        tags_release(&c.tags);
    }
    qp_csv_destroy(p);
    return st;
}

/* The one piece of qp_convert's input. */
struct whole {
    const char *csv;
    size_t len;
    bool given;
};

static int read_whole(void *ctx, const char **data, size_t *len)
{
    struct whole *w = ctx;
    *data = w->given ? "" : w->csv;
    *len = w->given ? 0 : w->len;
    w->given = true;
    return 0;
}

enum qp_convert_status qp_convert(const char *csv, size_t len, const struct qp_convert_opts *opts,
                                  struct qp_convert_result *result, struct qp_convert_error *err)
{
    struct whole w = { csv, len, false };
    return qp_convert_stream(read_whole, &w, NULL, NULL, opts, result, err);
}

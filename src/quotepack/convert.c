// SPDX-License-Identifier: MIT
/* CSV document -> XML document: drives the CSV parser and writes the XML in one buffer. */
#include "quotepack/convert.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quotepack/csv.h"
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

static bool starts_with_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != prefix[i]) {
            return false;
        }
    }
    return true;
}

/* Rejects bodies that are obviously not CSV: empty, blank, or markup / JSON. */
static enum qp_convert_status sniff(const char *csv, size_t len, struct qp_convert_error *err)
{
    size_t bom = len >= 3 && memcmp(csv, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    size_t i = bom;
    if (i == len) {
        return set_error(err, QP_CONVERT_NOT_CSV, 1, 1, "body is empty");
    }
    uint64_t line = 1, line_start = 0;
    while (i < len && (csv[i] == ' ' || csv[i] == '\t' || csv[i] == '\r' || csv[i] == '\n')) {
        if (csv[i] == '\n' || (csv[i] == '\r' && (i + 1 == len || csv[i + 1] != '\n'))) {
            line++;
            line_start = i + 1;
        }
        i++;
    }
    if (i == len) {
        return set_error(err, QP_CONVERT_NOT_CSV, 1, 1, "body is only whitespace");
    }
    uint64_t col = i - line_start + 1 - (line == 1 ? bom : 0); /* columns count after a BOM */
    const char *s = csv + i;
    size_t n = len - i;
    if (s[0] == '<') {
        if (starts_with_ci(s, n, "<?xml")) {
            return set_error(err, QP_CONVERT_NOT_CSV, line, col,
                             "body is an XML document, not CSV");
        }
        return set_error(err, QP_CONVERT_NOT_CSV, line, col, "body is an HTML page, not CSV");
    }
    if (s[0] == '{') {
        return set_error(err, QP_CONVERT_NOT_CSV, line, col, "body is a JSON document, not CSV");
    }
    return QP_CONVERT_OK;
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

/* The output document, one growing buffer capped at max. */
struct out {
    char *p;
    size_t len, cap, max;
};

/* Makes room for need more bytes; -E2BIG past the cap, -ENOMEM. */
static int out_reserve(struct out *o, size_t need)
{
    if (need > o->max - o->len) {
        return -E2BIG;
    }
    if (o->len + need <= o->cap) {
        return 0;
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
    const char *csv; /* the input, whose bytes may be read a little past a field */
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
        if (exact > c->out.max - c->out.len) {
            return set_error(err, QP_CONVERT_TOO_LARGE, rec->line, 1,
                             "XML output would be larger than the %zu-byte cap", c->out.max);
        }
        char *tmp = malloc(need);
        if (tmp == NULL || out_reserve(&c->out, exact) < 0) {
            free(tmp);
            return set_error(err, QP_CONVERT_NO_MEMORY, rec->line, 1, "out of memory for the XML");
        }
        struct out saved = c->out;
        c->out = (struct out){ tmp, 0, need, need };
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

enum qp_convert_status qp_convert(const char *csv, size_t len, const struct qp_convert_opts *opts,
                                  struct qp_convert_result *result, struct qp_convert_error *err)
{
    static const struct qp_convert_opts defaults = { 0 };
    memset(result, 0, sizeof(*result));
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
    }
    if (opts == NULL) {
        opts = &defaults;
    }
    enum qp_convert_status st = sniff(csv, len, err);
    if (st != QP_CONVERT_OK) {
        return st;
    }
    struct conv c = { .opts = opts, .csv = csv, .csv_len = len };
    c.out.max = opts->max_output ? opts->max_output : DEFAULT_MAX_OUTPUT;

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
    qp_csv_finish(p);
    struct qp_csv_record rec;
    enum qp_csv_status cs;
    while ((cs = qp_csv_next_record(p, &rec)) == QP_CSV_OK) {
        if (!c.have_tags) {
            /* The first record is the header (header() fails or sets have_tags). */
            st = header(&c, &rec, err);
            result->columns = rec.count;
            if (st == QP_CONVERT_OK) {
                st = reserve_estimate(&c, csv, len, err);
            }
        } else {
            if (rec.index == 1) {
                st = append(&c, ">", 1, err);
            }
            if (st == QP_CONVERT_OK) {
                st = write_row(&c, &rec, err);
            }
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
    result->delimiter = qp_csv_delimiter(p);
    result->xml = c.out.p;
    result->xml_len = c.out.len;
    c.out.p = NULL;
out:
    if (st != QP_CONVERT_OK) {
        result->rows = 0;
        result->columns = 0;
    }
    free(c.out.p);
    if (c.have_tags) {
        tags_release(&c.tags);
    }
    qp_csv_destroy(p);
    return st;
}

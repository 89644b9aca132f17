// SPDX-License-Identifier: MIT
/* Unit tests for wide CSV records fed in pieces: the parser's work at the ends of pieces grows
 * with the input, not with how often it is cut, and the verdict is the same however it is cut. */
#include "../testlib.h"

#include <stdlib.h>
#include <string.h>

#include "csv_check.h"
#include "quotepack/convert.h"
#include "quotepack/csv.h"

/*
 * A header of n names (plain, quoted, and quoted with a doubled quote, in turn; with latin1 the
 * plain ones start with 0xE9), then rows data rows of n one-digit values, each line ended by
 * LF (the last one only with newline). malloc'd; *len gets its length.
 */
static char *wide_doc(size_t n, char delim, size_t rows, bool latin1, bool newline, size_t *len)
{
    size_t cap = n * 16 * (rows + 1) + 16;
    char *b = malloc(cap);
    ASSERT_NOT_NULL(b);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            b[o++] = delim;
        }
        if (i % 3 == 0) {
            o += (size_t)snprintf(b + o, cap - o, "%sc%zu", latin1 ? "\xE9" : "", i);
        } else if (i % 3 == 1) {
            o += (size_t)snprintf(b + o, cap - o, "\"q%c%zu\"", delim, i);
        } else {
            o += (size_t)snprintf(b + o, cap - o, "\"d\"\"%zu\"", i);
        }
    }
    for (size_t r = 0; r < rows; r++) {
        b[o++] = '\n';
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                b[o++] = delim;
            }
            b[o++] = (char)('0' + (i + r) % 10);
        }
    }
    if (newline) {
        b[o++] = '\n';
    }
    ASSERT_CMP_INT(o, <, cap);
    *len = o;
    return b;
}

/*
 * Parses in[0..len) fed in pieces of piece bytes, checking after every piece that the work at
 * piece ends so far is at most the bytes fed (a field has at least one byte or a delimiter, and
 * each field of a record is moved at most once): a parser that looks at the whole unfinished
 * record again at every piece end fails within the first few hundred bytes of a wide header.
 * Returns the records; *width gets the first one's fields.
 */
static size_t parse_counting(const char *in, size_t len, size_t piece,
                             const struct qp_csv_opts *opts, size_t *width)
{
    struct qp_csv *p = NULL;
    ASSERT_OK(qp_csv_create(opts, &p));
    struct qp_csv_record rec;
    size_t off = 0, records = 0;
    for (;;) {
        enum qp_csv_status st = qp_csv_next_record(p, &rec);
        if (st == QP_CSV_NEED_MORE) {
            if (qp_csv_boundary_steps(p) > off) {
                test_fail(__FILE__, __LINE__,
                          "%llu boundary steps after %zu bytes in %zu-byte pieces",
                          (unsigned long long)qp_csv_boundary_steps(p), off, piece);
            }
            size_t n = len - off < piece ? len - off : piece;
            qp_csv_feed(p, in + off, n);
            off += n;
            if (off == len) {
                qp_csv_finish(p);
            }
            continue;
        }
        if (st != QP_CSV_OK) {
            if (st != QP_CSV_END) {
                test_fail(__FILE__, __LINE__, "%zu-byte pieces: %s at %llu:%llu: %s", piece,
                          qp_csv_error_name(qp_csv_error(p)->kind),
                          (unsigned long long)qp_csv_error(p)->line,
                          (unsigned long long)qp_csv_error(p)->column, qp_csv_error(p)->message);
            }
            break;
        }
        if (records == 0) {
            *width = rec.count;
        }
        records++;
    }
    ASSERT_CMP_INT(qp_csv_boundary_steps(p), <=, len);
    qp_csv_destroy(p);
    return records;
}

/* Under the parser's default 16,384-column cap, as qp_convert uses it. */
#define WIDE 16000

TEST_WITH_TIMEOUT(csv_wide_records_fed_a_byte_at_a_time_cost_linear_work, 60)
{
    static const struct {
        char delim;
        bool detect, latin1, newline;
    } cases[] = {
        { ',', false, false, true },
        { ';', true, false, true },
        { '\t', true, true, true },
        { ',', false, false, false }, /* a long first line that never ends */
    };
    static const size_t pieces[] = { 1, 16384 };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t len;
        size_t rows = cases[c].newline ? 2 : 0;
        char *doc = wide_doc(WIDE, cases[c].delim, rows, cases[c].latin1, cases[c].newline, &len);
        struct qp_csv_opts o = { .same_width = true, .xml_chars = true };
        o.dialect.delimiter = cases[c].detect ? 0 : cases[c].delim;
        o.dialect.detect = cases[c].detect;
        o.dialect.encoding = cases[c].latin1 ? QP_ENCODING_LATIN1 : QP_ENCODING_UTF8;
        for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
            size_t width = 0;
            ASSERT_EQ_INT(parse_counting(doc, len, pieces[k], &o, &width), rows + 1);
            ASSERT_EQ_INT(width, WIDE);
        }
        free(doc);
    }
}

TEST(csv_many_columns_past_a_lifted_cap_cost_linear_work)
{
    /* 100,000 columns (a 1.1 MB header) in 4 KiB pieces: looking at every field again at each
     * piece end would pass the bytes fed after about 20 pieces. */
    size_t len;
    char *doc = wide_doc(100000, ',', 1, false, true, &len);
    struct qp_csv_opts o = { .same_width = true, .max_columns = 200000 };
    size_t width = 0;
    ASSERT_EQ_INT(parse_counting(doc, len, 4096, &o, &width), 2);
    ASSERT_EQ_INT(width, 100000);
    free(doc);
}

/* Parses in every way in ways[], and checks each gives what the first gave. */
static void check_same_verdict(const char *in, size_t len, const struct qp_csv_opts *opts,
                               enum qp_csv_status want, int at)
{
    static const size_t chunks[] = { 0, 1, 7, 4096, 16384, 65535, 65536, 65537 };
    const size_t splits[] = { 1, 2, 65535, 65536, 65537, len / 2, len - 1 };
    size_t cap = len * 2 + 64;
    char *first = malloc(cap), *out = malloc(cap);
    ASSERT_NOT_NULL(first);
    ASSERT_NOT_NULL(out);
    struct qp_csv_error e0, e;
    char d0 = 0, d = 0;
    enum qp_csv_status st0 = csv_parse(in, len, 0, 0, opts, first, cap, &e0, &d0);
    if (st0 != want) {
        test_fail(__FILE__, __LINE__, "(line %d) whole: status %d (%s: %s), want %d", at, st0,
                  qp_csv_error_name(e0.kind), e0.message, want);
    }
    size_t nways = sizeof(chunks) / sizeof(chunks[0]) + sizeof(splits) / sizeof(splits[0]);
    for (size_t w = 1; w < nways; w++) {
        size_t chunk = 0, split = 0;
        if (w < sizeof(chunks) / sizeof(chunks[0])) {
            chunk = chunks[w];
        } else {
            split = splits[w - sizeof(chunks) / sizeof(chunks[0])];
            if (split == 0 || split >= len) {
                continue;
            }
        }
        enum qp_csv_status st = csv_parse(in, len, chunk, split, opts, out, cap, &e, &d);
        if (st != st0 || d != d0 || strcmp(out, first) != 0 || e.kind != e0.kind ||
            e.line != e0.line || e.column != e0.column) {
            test_fail(__FILE__, __LINE__,
                      "(line %d) chunk %zu split %zu: status %d delim 0x%02X %s at %llu:%llu, "
                      "whole: status %d delim 0x%02X %s at %llu:%llu%s",
                      at, chunk, split, st, (unsigned)(unsigned char)d, qp_csv_error_name(e.kind),
                      (unsigned long long)e.line, (unsigned long long)e.column, st0,
                      (unsigned)(unsigned char)d0, qp_csv_error_name(e0.kind),
                      (unsigned long long)e0.line, (unsigned long long)e0.column,
                      strcmp(out, first) != 0 ? " (records differ)" : "");
        }
    }
    free(first);
    free(out);
}

TEST_WITH_TIMEOUT(csv_wide_header_verdict_is_the_same_however_it_is_cut, 60)
{
    size_t len;
    /* 12,000 columns: the header (over 100 KB) is longer than the 64 KiB detection reads. */
    char *doc = wide_doc(12000, ';', 1, false, true, &len);
    struct qp_csv_opts o = { .same_width = true, .xml_chars = true, .dialect = { .detect = true } };
    check_same_verdict(doc, len, &o, QP_CSV_END, __LINE__);
    o.dialect.encoding = QP_ENCODING_CP1252;
    check_same_verdict(doc, len, &o, QP_CSV_END, __LINE__);
    free(doc);

    /* A ragged row after a wide header: one value more. */
    doc = wide_doc(12000, ',', 1, false, false, &len);
    memcpy(doc + len, ",9\n", 3);
    o = (struct qp_csv_opts){ .same_width = true, .xml_chars = true };
    check_same_verdict(doc, len + 3, &o, QP_CSV_ERROR, __LINE__);
    free(doc);

    /* One column over the default cap, and a wide header whose last quote never closes. */
    doc = wide_doc(QP_CSV_DEFAULT_MAX_COLUMNS + 1, ',', 0, false, true, &len);
    check_same_verdict(doc, len, &o, QP_CSV_ERROR, __LINE__);
    free(doc);
    doc = wide_doc(9000, ',', 0, false, false, &len);
    memcpy(doc + len, ",\"open\n", 7);
    check_same_verdict(doc, len + 7, &o, QP_CSV_ERROR, __LINE__);
    free(doc);
}

/* ---- the converter, fed like the fetch stage feeds it -----------------------------------------
 */

struct pieces {
    const char *data;
    size_t len, off, piece;
};

static int read_pieces(void *ctx, const char **data, size_t *len)
{
    struct pieces *r = ctx;
    size_t n = r->len - r->off < r->piece ? r->len - r->off : r->piece;
    *data = r->data + r->off;
    *len = n;
    r->off += n;
    return 0;
}

struct sink {
    char *p;
    size_t len, cap;
};

static int write_sink(void *ctx, const char *data, size_t len)
{
    struct sink *s = ctx;
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->p = realloc(s->p, s->cap);
        ASSERT_NOT_NULL(s->p);
    }
    memcpy(s->p + s->len, data, len);
    s->len += len;
    return 0;
}

TEST_WITH_TIMEOUT(convert_wide_header_in_pieces_gives_the_same_document, 60)
{
    size_t len;
    char *doc = wide_doc(WIDE, '|', 2, false, true, &len);
    static const size_t pieces[] = { SIZE_MAX, 1, 1000, 16384 };
    struct qp_convert_opts opts = { .dialect = { .detect = true } };
    struct sink first = { 0 };
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        struct pieces r = { doc, len, 0, pieces[k] };
        struct sink s = { 0 };
        struct qp_convert_result res;
        struct qp_convert_error err;
        ASSERT_EQ_INT(qp_convert_stream(read_pieces, &r, write_sink, &s, &opts, &res, &err),
                      QP_CONVERT_OK);
        ASSERT_EQ_INT(res.columns, WIDE);
        ASSERT_EQ_INT(res.rows, 2);
        ASSERT_EQ_INT(res.delimiter, '|');
        if (k == 0) {
            first = s;
            continue;
        }
        ASSERT_EQ_INT(s.len, first.len);
        ASSERT_EQ_MEM(s.p, first.p, s.len);
        free(s.p);
    }
    free(first.p);
    free(doc);

    /* Over the column cap: the same error, at the same place. */
    doc = wide_doc(QP_CSV_DEFAULT_MAX_COLUMNS + 1, ',', 1, false, true, &len);
    uint64_t col0 = 0;
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        struct pieces r = { doc, len, 0, pieces[k] };
        struct sink s = { 0 };
        struct qp_convert_result res;
        struct qp_convert_error err;
        ASSERT_EQ_INT(qp_convert_stream(read_pieces, &r, write_sink, &s, &opts, &res, &err),
                      QP_CONVERT_TOO_LARGE);
        ASSERT_EQ_INT(err.line, 1);
        if (k == 0) {
            col0 = err.column;
            ASSERT_CMP_INT(col0, >, QP_CSV_DEFAULT_MAX_COLUMNS * 4);
        }
        ASSERT_EQ_U64(err.column, col0);
        free(s.p);
    }
    free(doc);
}

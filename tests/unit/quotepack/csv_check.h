// SPDX-License-Identifier: MIT
/* Test helpers for the CSV parser: parse at every chunking and compare (test_csv*.c). */
#ifndef TEST_CSV_CHECK_H
#define TEST_CSV_CHECK_H

#include "../testlib.h"

#include "quotepack/csv.h"

/* Parses in[0..len) fed in chunks (0 = all at once; split > 0: two chunks cut there) and
 * writes the records as "<f1><f2>\n" lines into out. Returns END or ERROR; *delim (if not
 * NULL) gets the delimiter the parser used. */
static inline enum qp_csv_status csv_parse(const char *in, size_t len, size_t chunk, size_t split,
                                           const struct qp_csv_opts *opts, char *out, size_t cap,
                                           struct qp_csv_error *err, char *delim)
{
    struct qp_csv *p = NULL;
    ASSERT_OK(qp_csv_create(opts, &p));
    size_t off = 0, o = 0;
    out[0] = '\0';
    bool fed_all = false;
    char *copy = NULL;
    enum qp_csv_status st;
    struct qp_csv_record rec;
    for (;;) {
        st = qp_csv_next_record(p, &rec);
        if (st == QP_CSV_NEED_MORE) {
            ASSERT_FALSE(fed_all);
            size_t n = len - off;
            if (split > 0) {
                n = off < split ? split - off : len - off;
            } else if (chunk > 0 && n > chunk) {
                n = chunk;
            }
            /* A copy per chunk, freed at the next NEED_MORE, lets ASan catch stale pointers. */
            free(copy);
            copy = malloc(n ? n : 1);
            ASSERT_NOT_NULL(copy);
            memcpy(copy, in + off, n);
            qp_csv_feed(p, copy, n);
            off += n;
            if (off == len) {
                qp_csv_finish(p);
                fed_all = true;
            }
            continue;
        }
        if (st != QP_CSV_OK) {
            break;
        }
        for (size_t i = 0; i < rec.count; i++) {
            ASSERT_CMP_INT(o + rec.fields[i].len + 3, <, cap);
            out[o++] = '<';
            if (rec.fields[i].len > 0) {
                memcpy(out + o, rec.fields[i].data, rec.fields[i].len);
            }
            o += rec.fields[i].len;
            out[o++] = '>';
        }
        out[o++] = '\n';
        out[o] = '\0';
    }
    if (err != NULL) {
        *err = *qp_csv_error(p);
    }
    if (delim != NULL) {
        *delim = qp_csv_delimiter(p);
    }
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), st); /* END and ERROR are final */
    qp_csv_destroy(p);
    free(copy);
    return st;
}

/* Parses with every chunking (whole, 1-byte chunks, every two-way split) and checks that all
 * give expect (or the same error kind and position) and, unless want_delim is 0, that the
 * parser used want_delim. */
static inline void check_all_d(const char *in, size_t len, const struct qp_csv_opts *opts,
                               const char *expect, enum qp_csv_error_kind kind, uint64_t line,
                               uint64_t col, char want_delim, int at)
{
    char out[4096];
    struct qp_csv_error err;
    char delim = 0;
    for (size_t mode = 0; mode <= len + 1; mode++) {
        enum qp_csv_status st;
        if (mode == 0) {
            st = csv_parse(in, len, 0, 0, opts, out, sizeof(out), &err, &delim);
        } else if (mode == 1) {
            st = csv_parse(in, len, 1, 0, opts, out, sizeof(out), &err, &delim);
        } else {
            st = csv_parse(in, len, 0, mode - 1, opts, out, sizeof(out), &err, &delim);
        }
        if (kind == QP_CSV_ERR_NONE) {
            if (st != QP_CSV_END) {
                test_fail(__FILE__, __LINE__, "(line %d) mode %zu: error %s at %llu:%llu: %s", at,
                          mode, qp_csv_error_name(err.kind), (unsigned long long)err.line,
                          (unsigned long long)err.column, err.message);
            }
            if (strcmp(out, expect) != 0) {
                test_fail(__FILE__, __LINE__, "(line %d) mode %zu: got \"%s\", want \"%s\"", at,
                          mode, out, expect);
            }
            if (want_delim != 0 && delim != want_delim) {
                test_fail(__FILE__, __LINE__, "(line %d) mode %zu: delimiter 0x%02X, want 0x%02X",
                          at, mode, (unsigned)(unsigned char)delim,
                          (unsigned)(unsigned char)want_delim);
            }
        } else {
            if (st != QP_CSV_ERROR) {
                test_fail(__FILE__, __LINE__, "(line %d) mode %zu: no error, got \"%s\"", at, mode,
                          out);
            }
            if (err.kind != kind || err.line != line || err.column != col) {
                test_fail(__FILE__, __LINE__,
                          "(line %d) mode %zu: got %s at %llu:%llu (%s), want %s at %llu:%llu", at,
                          mode, qp_csv_error_name(err.kind), (unsigned long long)err.line,
                          (unsigned long long)err.column, err.message, qp_csv_error_name(kind),
                          (unsigned long long)line, (unsigned long long)col);
            }
            ASSERT_TRUE(err.message[0] != '\0');
        }
    }
}

#define CHECK_ALL(in, len, opts, expect, kind, line, col) \
    check_all_d((in), (len), (opts), (expect), (kind), (line), (col), 0, __LINE__)

#endif

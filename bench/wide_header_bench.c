// SPDX-License-Identifier: MIT
/* Benchmark of wide CSV headers through qp_convert_stream, fed in pieces of a given size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quotepack/convert.h"
#include "quotepack/csv.h"

/*
 * Usage: wide_header_bench [--convert] [--columns N[,N...]] [--pieces P[,P...]] [--detect]
 *                          [--same-names] [--no-newline] [--rounds R] [--max-seconds S]
 * For each column count N (default 3000,6000,12000,24000,48000) it writes a document of a
 * header line of N names ("c000001,...", or all "c" with --same-names) and one data row of N
 * values, then parses it with the CSV parser (qp_csv, column cap lifted) fed in pieces of P
 * bytes (default 1 and 16384: a byte at a time, and libcurl-sized pieces). --convert converts
 * it through qp_convert_stream instead (the converter's own 16,384-column cap applies: a wider
 * header is a too-large verdict, timed all the same). --no-newline leaves only the header,
 * without its line end (a long first line). Prints the verdict, the time and the cost per MB
 * of input (1 MB = 1e6 bytes), the best of R runs (default 3; a run slower than 1 s is not
 * repeated). A case slower than --max-seconds (default 60) skips the larger counts of its piece
 * size, so that a quadratic build still finishes.
 */

struct feed {
    const char *data;
    size_t len, off, piece;
};

static int feed_read(void *ctx, const char **data, size_t *len)
{
    struct feed *f = ctx;
    size_t n = f->len - f->off < f->piece ? f->len - f->off : f->piece;
    *data = f->data + f->off;
    *len = n;
    f->off += n;
    return 0;
}

static int sink_write(void *ctx, const char *data, size_t len)
{
    (void)data;
    *(size_t *)ctx += len;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *gen_doc(size_t cols, bool same, bool newline, size_t *len)
{
    size_t cap = cols * 16 + 16;
    char *b = malloc(cap);
    if (b == NULL) {
        perror("malloc");
        exit(1);
    }
    size_t n = 0;
    for (size_t i = 0; i < cols; i++) {
        n += same ? (size_t)snprintf(b + n, cap - n, "%sc", i ? "," : "")
                  : (size_t)snprintf(b + n, cap - n, "%sc%06zu", i ? "," : "", i);
    }
    if (newline) {
        b[n++] = '\n';
        for (size_t i = 0; i < cols; i++) {
            n += (size_t)snprintf(b + n, cap - n, "%s%zu", i ? "," : "", i % 100);
        }
        b[n++] = '\n';
    }
    *len = n;
    return b;
}

/* Parses doc with qp_csv fed in pieces; returns the last status and the header's width. */
static const char *parse_csv(const char *doc, size_t len, size_t piece, bool detect, size_t *width)
{
    struct qp_csv_opts o = { .same_width = true,
                             .xml_chars = true,
                             .max_columns = (size_t)1 << 24,
                             .dialect = { .detect = detect } };
    struct qp_csv *p = NULL;
    if (qp_csv_create(&o, &p) != 0) {
        return "no-memory";
    }
    struct qp_csv_record rec;
    size_t off = 0;
    *width = 0;
    const char *verdict = "ok";
    for (;;) {
        enum qp_csv_status st = qp_csv_next_record(p, &rec);
        if (st == QP_CSV_NEED_MORE) {
            size_t n = len - off < piece ? len - off : piece;
            qp_csv_feed(p, doc + off, n);
            off += n;
            if (off == len) {
                qp_csv_finish(p);
            }
            continue;
        }
        if (st == QP_CSV_OK) {
            *width = rec.index == 0 ? rec.count : *width;
            continue;
        }
        if (st == QP_CSV_ERROR) {
            verdict = qp_csv_error_name(qp_csv_error(p)->kind);
        }
        break;
    }
    qp_csv_destroy(p);
    return verdict;
}

static const char *convert(const char *doc, size_t len, size_t piece, bool detect, size_t *width)
{
    struct feed f = { doc, len, 0, piece };
    struct qp_convert_opts opts = { .compact = true, .dialect = { .detect = detect } };
    struct qp_convert_result res;
    struct qp_convert_error err;
    size_t out = 0;
    enum qp_convert_status st =
            qp_convert_stream(feed_read, &f, sink_write, &out, &opts, &res, &err);
    *width = res.columns;
    return qp_convert_status_name(st);
}

static size_t parse_list(const char *s, size_t *out, size_t max)
{
    size_t n = 0;
    while (*s != '\0' && n < max) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s) {
            break;
        }
        out[n++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

int main(int argc, char **argv)
{
    size_t cols[16] = { 3000, 6000, 12000, 24000, 48000 }, ncols = 5;
    size_t pieces[8] = { 1, 16384 }, npieces = 2;
    bool detect = false, same = false, newline = true, use_convert = false;
    double max_s = 60;
    int rounds = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--convert") == 0) {
            use_convert = true;
        } else if (strcmp(argv[i], "--columns") == 0 && i + 1 < argc) {
            ncols = parse_list(argv[++i], cols, 16);
        } else if (strcmp(argv[i], "--pieces") == 0 && i + 1 < argc) {
            npieces = parse_list(argv[++i], pieces, 8);
        } else if (strcmp(argv[i], "--detect") == 0) {
            detect = true;
        } else if (strcmp(argv[i], "--same-names") == 0) {
            same = true;
        } else if (strcmp(argv[i], "--no-newline") == 0) {
            newline = false;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc) {
            max_s = atof(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: %s [--convert] [--columns N,...] [--pieces P,...] [--detect] [--same-names] "
                    "[--no-newline] [--rounds R] [--max-seconds S]\n",
                    argv[0]);
            return 2;
        }
    }
    printf("%s%s%s%s\n", use_convert ? "qp_convert_stream" : "qp_csv", detect ? ", --detect" : "",
           same ? ", --same-names" : "", newline ? "" : ", --no-newline");
    printf("%-8s %-7s %-16s %10s %10s %12s %10s\n", "columns", "piece", "verdict", "bytes",
           "seconds", "s/MB", "MB/s");
    int failures = 0;
    for (size_t pi = 0; pi < npieces; pi++) {
        for (size_t ci = 0; ci < ncols; ci++) {
            size_t len;
            char *doc = gen_doc(cols[ci], same, newline, &len);
            size_t piece = pieces[pi] ? pieces[pi] : len;
            size_t width = 0;
            const char *verdict = "";
            double t = 0;
            for (int r = 0; r < rounds && (r == 0 || t < 1.0); r++) {
                double t0 = now_s();
                verdict = use_convert ? convert(doc, len, piece, detect, &width)
                                      : parse_csv(doc, len, piece, detect, &width);
                double dt = now_s() - t0;
                t = r == 0 || dt < t ? dt : t;
            }
            free(doc);
            bool ok = strcmp(verdict, "ok") == 0;
            if (ok && width != cols[ci]) {
                fprintf(stderr, "%zu columns, piece %zu: header of %zu\n", cols[ci], pieces[pi],
                        width);
                failures++;
            }
            double mb = (double)len / 1e6;
            printf("%-8zu %-7zu %-16s %10zu %10.4f %12.4f %10.2f\n", cols[ci], pieces[pi], verdict,
                   len, t, t / mb, mb / t);
            fflush(stdout);
            if (t > max_s) {
                printf("(slower than %.0f s: larger counts skipped for this piece size)\n", max_s);
                break;
            }
        }
    }
    return failures ? 1 : 0;
}

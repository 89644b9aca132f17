// SPDX-License-Identifier: MIT
/* libFuzzer target: qp_convert on arbitrary bytes, plus whole-vs-chunked CSV parsing; the first
 * bytes' hash also picks a dialect (delimiter or detection, strict quotes, encoding). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quotepack/convert.h"
#include "quotepack/csv.h"
#include "quotepack/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)           \
    do {                      \
        if (!(cond)) {        \
            __builtin_trap(); \
        }                     \
    } while (0)

struct digest {
    uint64_t hash;
    uint64_t records;
    enum qp_csv_status end;
    struct qp_csv_error err;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        *h = (*h ^ s[i]) * 1099511628211ull;
    }
}

/* Parses data fed in chunks whose sizes cycle through sizes[] (a 0 entry means "the rest"),
 * each chunk copied into its own allocation freed right after the next NEED_MORE. */
static void parse(const uint8_t *data, size_t size, const size_t *sizes, size_t nsizes,
                  const struct qp_csv_opts *opts, struct digest *d)
{
    memset(d, 0, sizeof(*d));
    d->hash = 1469598103934665603ull;
    struct qp_csv *p = NULL;
    if (qp_csv_create(opts, &p) != 0) {
        abort();
    }
    size_t off = 0, k = 0;
    char *chunk = NULL;
    struct qp_csv_record rec;
    for (;;) {
        enum qp_csv_status st = qp_csv_next_record(p, &rec);
        if (st == QP_CSV_NEED_MORE) {
            CHECK(off < size || size == 0);
            size_t n = sizes[k++ % nsizes];
            if (n == 0 || n > size - off) {
                n = size - off;
            }
            free(chunk);
            chunk = malloc(n ? n : 1);
            CHECK(chunk != NULL);
            if (n > 0) {
                memcpy(chunk, data + off, n);
            }
            qp_csv_feed(p, chunk, n);
            off += n;
            if (off == size) {
                qp_csv_finish(p);
            }
            continue;
        }
        if (st != QP_CSV_OK) {
            d->end = st;
            d->err = *qp_csv_error(p);
            break;
        }
        d->records++;
        mix(&d->hash, &rec.count, sizeof(rec.count));
        mix(&d->hash, &rec.line, sizeof(rec.line));
        for (size_t i = 0; i < rec.count; i++) {
            mix(&d->hash, &rec.fields[i].len, sizeof(size_t));
            if (rec.fields[i].len > 0) {
                mix(&d->hash, rec.fields[i].data, rec.fields[i].len);
            }
        }
    }
    free(chunk);
    qp_csv_destroy(p);
}

static void same(const struct digest *a, const struct digest *b)
{
    CHECK(a->end == b->end);
    CHECK(a->records == b->records);
    CHECK(a->hash == b->hash);
    CHECK(a->err.kind == b->err.kind);
    CHECK(a->err.line == b->err.line);
    CHECK(a->err.column == b->err.column);
}

static void convert(const uint8_t *data, size_t size, bool compact, size_t max_output,
                    const struct qp_csv_dialect *dialect, enum qp_convert_status *st_out)
{
    struct qp_convert_opts opts = { .compact = compact, .max_output = max_output };
    if (dialect != NULL) {
        opts.dialect = *dialect;
    }
    struct qp_convert_result res;
    struct qp_convert_error err;
    enum qp_convert_status st = qp_convert((const char *)data, size, &opts, &res, &err);
    *st_out = st;
    if (st != QP_CONVERT_OK) {
        CHECK(res.xml == NULL);
        CHECK(err.status == st);
        CHECK(err.message[0] != '\0');
        CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
        return;
    }
    CHECK(res.xml != NULL);
    CHECK(res.xml[res.xml_len] == '\0');
    CHECK(max_output == 0 || res.xml_len <= max_output);
    static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Data";
    CHECK(res.xml_len > sizeof(decl) && memcmp(res.xml, decl, sizeof(decl) - 1) == 0);
    /* Everything written must be characters XML 1.0 allows. */
    CHECK(qp_xml_check_text(res.xml, res.xml_len, NULL) == 0);
    /* One <Row> per record. */
    uint64_t rows = 0;
    const char *s = res.xml, *end = res.xml + res.xml_len;
    while ((s = memmem(s, (size_t)(end - s), "<Row>", 5)) != NULL) {
        rows++;
        s += 5;
    }
    CHECK(rows == res.rows);
    CHECK(res.columns > 0);
    free(res.xml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum qp_convert_status pretty, compact, capped, dialected;
    convert(data, size, false, 0, NULL, &pretty);
    convert(data, size, true, 0, NULL, &compact);
    CHECK(pretty == compact);
    convert(data, size, true, size + 64, NULL, &capped);
    CHECK(capped == compact || capped == QP_CONVERT_TOO_LARGE);

    /* A dialect from the first bytes: the XML is still valid, and the records below are the
     * same whatever the chunking. */
    uint64_t h = 1469598103934665603ull;
    mix(&h, data, size < 16 ? size : 16);
    static const char delims[4] = { 0, ';', '\t', '|' };
    struct qp_csv_dialect dialect = {
        .delimiter = delims[(h >> 24) % 4],
        .detect = (h >> 26) % 3 == 0,
        .strict = (h >> 28) % 2 == 0,
        .encoding = (enum qp_encoding)((h >> 29) % 3),
    };
    convert(data, size, true, 0, &dialect, &dialected);
    (void)dialected;
    size_t sizes[4] = { 1 + h % 7, 1 + (h >> 8) % 64, 1 + (h >> 16) % 3, 0 };
    size_t whole[1] = { 0 };
    size_t ones[1] = { 1 };
    static const struct qp_csv_opts small = { .max_field = 64,
                                              .max_record = 256,
                                              .max_columns = 8 };
    const struct qp_csv_opts *optsets[4] = { NULL, NULL, &small, NULL };
    struct qp_csv_opts strict = { .same_width = true, .xml_chars = true };
    optsets[1] = &strict;
    struct qp_csv_opts dialected_opts = {
        .same_width = true, .xml_chars = true, .max_field = 64, .dialect = dialect
    };
    optsets[3] = &dialected_opts;
    for (int o = 0; o < 4; o++) {
        struct digest a, b, c;
        parse(data, size, whole, 1, optsets[o], &a);
        parse(data, size, sizes, 4, optsets[o], &b);
        same(&a, &b);
        if (size < 4096) {
            parse(data, size, ones, 1, optsets[o], &c);
            same(&a, &c);
        }
    }
    return 0;
}

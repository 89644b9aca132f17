// SPDX-License-Identifier: MIT
/* libFuzzer target: the streaming CSV parser in every dialect, lean (no XML conversion, small
 * inputs only chunked three ways). data[0] picks the dialect (delimiter or detection, strict
 * quotes, encoding), data[1] the options (same_width, xml_chars, small caps) and the chunk size;
 * the rest is the CSV. Properties: the same records and the same error, at the same position,
 * whatever the chunking; record invariants (index, line, bytes, widths, XML characters); work
 * at chunk ends bounded by the input's size (qp_csv_boundary_steps). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static void check_record(const struct qp_csv_opts *o, const struct qp_csv_record *rec,
                         const struct digest *d, size_t *width, uint64_t *last_line)
{
    CHECK(rec->count >= 1 && rec->fields != NULL);
    CHECK(rec->index == d->records);
    CHECK(rec->line >= 1 && rec->line > *last_line);
    *last_line = rec->line;
    if (d->records == 0) {
        *width = rec->count;
    } else if (o->same_width) {
        CHECK(rec->count == *width);
    }
    size_t max_columns = o->max_columns ? o->max_columns : QP_CSV_DEFAULT_MAX_COLUMNS;
    size_t max_field = o->max_field ? o->max_field : QP_CSV_DEFAULT_MAX_FIELD;
    CHECK(rec->count <= max_columns);
    size_t bytes = 0;
    for (size_t i = 0; i < rec->count; i++) {
        const struct qp_csv_field *f = &rec->fields[i];
        CHECK(f->data != NULL && f->len <= max_field);
        CHECK(memchr(f->data, '\0', f->len) == NULL);
        bytes += f->len;
        if (o->xml_chars) {
            CHECK(qp_xml_check_text(f->data, f->len, NULL) == 0);
            bool special = memchr(f->data, '&', f->len) || memchr(f->data, '<', f->len) ||
                           memchr(f->data, '>', f->len) || memchr(f->data, '\r', f->len);
            CHECK(!special || f->xml_special);
        }
    }
    CHECK(bytes == rec->bytes);
}

/* Parses data fed in chunks of `step` bytes (0: all at once), each chunk in its own exact
 * allocation so that ASan sees any read past it. */
static void parse(const uint8_t *data, size_t size, size_t step, const struct qp_csv_opts *opts,
                  struct digest *d)
{
    memset(d, 0, sizeof(*d));
    d->hash = 1469598103934665603ull;
    struct qp_csv *p = NULL;
    CHECK(qp_csv_create(opts, &p) == 0);
    size_t off = 0, width = 0;
    uint64_t last_line = 0;
    char *chunk = NULL;
    struct qp_csv_record rec;
    for (;;) {
        enum qp_csv_status st = qp_csv_next_record(p, &rec);
        if (st == QP_CSV_NEED_MORE) {
            CHECK(off < size || size == 0);
            size_t n = step == 0 || step > size - off ? size - off : step;
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
            CHECK(st == QP_CSV_END || (st == QP_CSV_ERROR && d->err.kind != QP_CSV_ERR_NONE));
            CHECK(st != QP_CSV_ERROR || (d->err.line >= 1 && d->err.column >= 1));
            break;
        }
        check_record(opts, &rec, d, &width, &last_line);
        d->records++;
        mix(&d->hash, &rec.count, sizeof(rec.count));
        mix(&d->hash, &rec.line, sizeof(rec.line));
        for (size_t i = 0; i < rec.count; i++) {
            mix(&d->hash, &rec.fields[i].len, sizeof(size_t));
            mix(&d->hash, rec.fields[i].data, rec.fields[i].len);
        }
    }
    free(chunk);
    /* Linear work however the input is cut: each field is moved at most once at piece ends,
     * and every such field was ended by a delimiter or line end of the input. */
    CHECK(qp_csv_boundary_steps(p) <= size);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    static const char delims[8] = { 0, ',', ';', '\t', '|', ' ', ':', 0 };
    struct qp_csv_opts o = {
        .same_width = (data[1] & 1) != 0,
        .xml_chars = (data[1] & 2) != 0,
        .dialect = {
            .delimiter = delims[data[0] & 7],
            .detect = (data[0] & 7) == 7,
            .strict = (data[0] & 8) != 0,
            .encoding = (enum qp_encoding)((data[0] >> 4) % 3),
        },
    };
    if (data[1] & 4) {
        o.max_field = 16 + (data[1] >> 5) * 8;
        o.max_record = 4 * o.max_field;
        o.max_columns = 1 + (data[1] >> 3) % 8;
    }
    size_t step = 1 + (size_t)(data[1] >> 3) % 16;
    const uint8_t *csv = data + 2;
    size_t len = size - 2;
    struct digest whole, split, ones;
    parse(csv, len, 0, &o, &whole);
    parse(csv, len, step, &o, &split);
    same(&whole, &split);
    if (len < 512 && step != 1) {
        parse(csv, len, 1, &o, &ones);
        same(&whole, &ones);
    }
    return 0;
}

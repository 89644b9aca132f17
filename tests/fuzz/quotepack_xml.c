// SPDX-License-Identifier: MIT
/* libFuzzer target: CSV -> XML (qp_convert) in every dialect. data[0] picks the dialect as in
 * quotepack_csv, data[1] compact/pretty and an output cap; the rest is the CSV. Properties: a
 * successful conversion is a well-formed XML document (checked by the small checker below:
 * declaration, one root, matched tags, valid names, entity and character references, no raw
 * '<' '&' or CR in text), shaped <Data><Row><col>value</col>...</Row>...</Data>, and every
 * value, unescaped, is the field the CSV parser reads with the same dialect, in order. */
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

#define MAX_DEPTH 8

/* The walk: the document, a cursor, the element stack, and the CSV parser replayed alongside. */
struct walk {
    const char *s, *end;
    const char *name[MAX_DEPTH];
    size_t name_len[MAX_DEPTH];
    int depth;
    struct qp_csv *csv;
    struct qp_csv_record rec; /* the record of the current <Row> */
    size_t field;             /* next field of rec to compare */
    uint64_t rows;
    char *text; /* unescaped content of the current column element */
    size_t text_len;
};

static bool name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t name(struct walk *w)
{
    const char *p = w->s;
    CHECK(p < w->end && name_start((unsigned char)*p));
    while (p < w->end && name_char((unsigned char)*p)) {
        p++;
    }
    size_t n = (size_t)(p - w->s);
    w->s = p;
    return n;
}

static void skip_space(struct walk *w)
{
    while (w->s < w->end && space(*w->s)) {
        w->s++;
    }
}

static void put_utf8(struct walk *w, unsigned long cp)
{
    char *o = w->text + w->text_len;
    if (cp < 0x80) {
        o[0] = (char)cp;
        w->text_len += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 63));
        w->text_len += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 63));
        o[2] = (char)(0x80 | (cp & 63));
        w->text_len += 3;
    } else {
        o[0] = (char)(0xF0 | cp >> 18);
        o[1] = (char)(0x80 | (cp >> 12 & 63));
        o[2] = (char)(0x80 | (cp >> 6 & 63));
        o[3] = (char)(0x80 | (cp & 63));
        w->text_len += 4;
    }
}

/* One reference after '&': a predefined entity or a character reference to an XML Char. */
static void reference(struct walk *w)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {
        { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' }
    };
    for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
        size_t n = strlen(ents[i].name);
        if ((size_t)(w->end - w->s) >= n && memcmp(w->s, ents[i].name, n) == 0) {
            w->s += n;
            put_utf8(w, (unsigned char)ents[i].c);
            return;
        }
    }
    CHECK(w->s < w->end && *w->s == '#');
    w->s++;
    int base = 10;
    if (w->s < w->end && *w->s == 'x') {
        base = 16;
        w->s++;
    }
    unsigned long cp = 0;
    int digits = 0;
    for (; w->s < w->end && *w->s != ';'; w->s++, digits++) {
        char c = *w->s;
        int v = c >= '0' && c <= '9'                 ? c - '0'
                : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                     : -1;
        CHECK(v >= 0 && digits < 8);
        cp = cp * (unsigned long)base + (unsigned long)v;
    }
    CHECK(digits > 0 && w->s < w->end);
    w->s++;
    CHECK(cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
          (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF));
    put_utf8(w, cp);
}

/* Character data up to the next '<'. Only a column element (depth 3) may hold non-space. */
static void text(struct walk *w)
{
    const char *start = w->s;
    while (w->s < w->end && *w->s != '<') {
        char c = *w->s;
        CHECK(c != '\r'); // a parser would turn a raw CR into LF: the value would not round-trip
        CHECK(!(c == ']' && w->end - w->s >= 3 && memcmp(w->s, "]]>", 3) == 0));
        if (w->depth != 3) {
            CHECK(space(c));
            w->s++;
        } else if (c == '&') {
            w->s++;
            reference(w);
        } else {
            w->text[w->text_len++] = c;
            w->s++;
        }
    }
    (void)start;
}

static void open_element(struct walk *w, const char *n, size_t len)
{
    CHECK(w->depth < MAX_DEPTH);
    w->name[w->depth] = n;
    w->name_len[w->depth] = len;
    w->depth++;
    if (w->depth == 1) {
        CHECK(len == 4 && memcmp(n, "Data", 4) == 0);
    } else if (w->depth == 2) {
        CHECK(len == 3 && memcmp(n, "Row", 3) == 0);
        CHECK(qp_csv_next_record(w->csv, &w->rec) == QP_CSV_OK);
        w->field = 0;
        w->rows++;
    } else if (w->depth == 3) {
        w->text_len = 0;
    } else {
        CHECK(0); // nothing nests below a column element
    }
}

static void close_element(struct walk *w)
{
    if (w->depth == 3) {
        CHECK(w->field < w->rec.count);
        const struct qp_csv_field *f = &w->rec.fields[w->field++];
        CHECK(f->len == w->text_len && memcmp(f->data, w->text, f->len) == 0);
        // Column names: distinct within the row (checked against the earlier siblings' names
        // is not possible here without storing them; the converter's names are checked by its
        // unit tests). Same-width is enforced by the field count below.
    } else if (w->depth == 2) {
        CHECK(w->field == w->rec.count);
    }
    w->depth--;
}

static void element(struct walk *w)
{
    const char *root_end = NULL;
    (void)root_end;
    do {
        CHECK(w->s < w->end && *w->s == '<');
        w->s++;
        if (w->s < w->end && *w->s == '/') {
            w->s++;
            const char *n = w->s;
            size_t len = name(w);
            CHECK(w->depth > 0 && len == w->name_len[w->depth - 1] &&
                  memcmp(n, w->name[w->depth - 1], len) == 0);
            skip_space(w);
            CHECK(w->s < w->end && *w->s == '>');
            w->s++;
            close_element(w);
        } else {
            const char *n = w->s;
            size_t len = name(w);
            skip_space(w);
            CHECK(w->s < w->end);
            open_element(w, n, len);
            if (*w->s == '/') {
                CHECK(w->end - w->s >= 2 && w->s[1] == '>');
                w->s += 2;
                close_element(w);
            } else {
                CHECK(*w->s == '>'); // the converter writes no attributes
                w->s++;
            }
        }
        if (w->depth > 0) {
            text(w);
        }
    } while (w->depth > 0);
}

static void check_document(const char *xml, size_t len, const uint8_t *csv, size_t csv_len,
                           const struct qp_csv_dialect *dialect, uint64_t rows)
{
    static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    CHECK(len >= sizeof(decl) - 1 && memcmp(xml, decl, sizeof(decl) - 1) == 0);
    CHECK(qp_xml_check_text(xml, len, NULL) == 0);
    struct walk w = { .s = xml + sizeof(decl) - 1, .end = xml + len };
    w.text = malloc(len + 4);
    CHECK(w.text != NULL);
    struct qp_csv_opts copts = { .same_width = true, .xml_chars = true, .dialect = *dialect };
    CHECK(qp_csv_create(&copts, &w.csv) == 0);
    qp_csv_feed(w.csv, (const char *)csv, csv_len);
    qp_csv_finish(w.csv);
    struct qp_csv_record header;
    CHECK(qp_csv_next_record(w.csv, &header) == QP_CSV_OK);
    skip_space(&w);
    element(&w);
    skip_space(&w);
    CHECK(w.s == w.end);
    CHECK(w.rows == rows);
    CHECK(qp_csv_next_record(w.csv, &w.rec) == QP_CSV_END);
    qp_csv_destroy(w.csv);
    free(w.text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 65536) {
        return 0;
    }
    static const char delims[8] = { 0, ',', ';', '\t', '|', ' ', ':', 0 };
    struct qp_convert_opts opts = {
        .compact = (data[1] & 1) != 0,
        .max_output = (data[1] & 2) ? (size_t)(data[1] >> 2) * 16 : 0,
        .dialect = {
            .delimiter = delims[data[0] & 7],
            .detect = (data[0] & 7) == 7,
            .strict = (data[0] & 8) != 0,
            .encoding = (enum qp_encoding)((data[0] >> 4) % 3),
        },
    };
    const uint8_t *csv = data + 2;
    size_t len = size - 2;
    struct qp_convert_result res;
    struct qp_convert_error err;
    enum qp_convert_status st = qp_convert((const char *)csv, len, &opts, &res, &err);
    if (st != QP_CONVERT_OK) {
        CHECK(res.xml == NULL && err.status == st && err.message[0] != '\0');
        CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
        CHECK(st != QP_CONVERT_IO);
        return 0;
    }
    CHECK(res.xml != NULL && res.xml[res.xml_len] == '\0');
    CHECK(opts.max_output == 0 || res.xml_len <= opts.max_output);
    CHECK(res.columns > 0);
    // With detection, the parser below must use the delimiter the converter chose.
    struct qp_csv_dialect used = opts.dialect;
    used.detect = false;
    used.delimiter = res.delimiter;
    check_document(res.xml, res.xml_len, csv, len, &used, res.rows);
    free(res.xml);
    return 0;
}

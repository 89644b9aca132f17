// SPDX-License-Identifier: MIT
/* libFuzzer target: the archive manifest parser (manifest.c) and the XML structure scan
 * (xml_scan.c), both of which read bytes from archives that may come from anywhere.
 * data[0] picks: even, the manifest: a parse that succeeds must format back to a text that
 * parses to the same entries (every field); odd, the scan: data[1] is a piece size, and the
 * result, rows and error position must be the same fed in pieces or whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quotepack/manifest.h"
#include "quotepack/xml_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)           \
    do {                      \
        if (!(cond)) {        \
            __builtin_trap(); \
        }                     \
    } while (0)

static void same_entry(const struct qp_manifest_entry *a, const struct qp_manifest_entry *b)
{
    CHECK(strcmp(a->name, b->name) == 0);
    CHECK(strcmp(a->symbol, b->symbol) == 0);
    CHECK(a->rows == b->rows && a->bytes == b->bytes);
    CHECK(strcmp(a->sha256, b->sha256) == 0);
    CHECK(strcmp(a->first, b->first) == 0 && strcmp(a->last, b->last) == 0);
    CHECK(strcmp(a->fetched, b->fetched) == 0 && strcmp(a->source, b->source) == 0);
}

static void manifest(const char *text, size_t len)
{
    struct qp_manifest m;
    char err[256];
    int rc = qp_manifest_parse(text, len, &m, err, sizeof(err));
    CHECK(rc == 0 || (err[0] != '\0' && strlen(err) < sizeof(err)));
    if (rc == 0) {
        size_t n = 0;
        char *again = qp_manifest_format(&m, &n);
        struct qp_manifest back;
        CHECK(qp_manifest_parse(again, n, &back, err, sizeof(err)) == 0);
        CHECK(back.n == m.n);
        CHECK(strcmp(back.created, m.created) == 0);
        for (size_t i = 0; i < m.n; i++) {
            same_entry(&m.entries[i], &back.entries[i]);
            CHECK(qp_manifest_find(&back, m.entries[i].name) == &back.entries[i]);
        }
        qp_manifest_release(&back);
        free(again);
    }
    qp_manifest_release(&m);
}

static void scan(const uint8_t *data, size_t size, size_t piece)
{
    struct qp_xml_scan whole, parts;
    uint64_t rows_w = 0, rows_p = 0;
    qp_xml_scan_init(&whole);
    qp_xml_scan_feed(&whole, data, size);
    int rw = qp_xml_scan_finish(&whole, &rows_w);
    qp_xml_scan_init(&parts);
    for (size_t o = 0; o < size; o += piece) {
        qp_xml_scan_feed(&parts, data + o, size - o < piece ? size - o : piece);
    }
    int rp = qp_xml_scan_finish(&parts, &rows_p);
    CHECK(rw == rp && rows_w == rows_p);
    CHECK(strcmp(whole.error, parts.error) == 0 && whole.error_offset == parts.error_offset);
    CHECK(rw != 0 || rows_w <= size / 3);
    CHECK(whole.error_offset <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    if ((data[0] & 1) == 0) {
        manifest((const char *)data + 1, size - 1);
    } else {
        scan(data + 2, size - 2, (size_t)data[1] % 17 + 1);
    }
    return 0;
}

// SPDX-License-Identifier: MIT
/* Unit tests for the archive manifest (manifest.c) and the XML structure scan (xml_scan.c). */
#include "../testlib.h"

#include <errno.h>
#include <string.h>

#include "archive/sha256.h"
#include "quotepack/archive_scan.h"
#include "quotepack/manifest.h"
#include "quotepack/manifest_member.h"
#include "quotepack/member.h"
#include "quotepack/reader.h"
#include "quotepack/strset.h"
#include "quotepack/xml_scan.h"

static void fill(struct qp_manifest_entry *e, const char *sym, uint64_t rows, char hexdigit)
{
    snprintf(e->name, sizeof(e->name), "%s.xml", sym);
    snprintf(e->symbol, sizeof(e->symbol), "%s", sym);
    e->rows = rows;
    e->bytes = rows * 100 + 7;
    memset(e->sha256, hexdigit, 64);
    e->sha256[64] = '\0';
    snprintf(e->first, sizeof(e->first), "2024-12-31");
    snprintf(e->last, sizeof(e->last), "2024-01-02");
    snprintf(e->fetched, sizeof(e->fetched), "2026-12-03T09:30:00Z");
    snprintf(e->source, sizeof(e->source), "http://127.0.0.1:8080/q/%s", sym);
}

/* Parses text (NUL-terminated) expecting rc; err must contain want when want is not NULL. */
static void parse_expect(const char *text, int rc, const char *want)
{
    struct qp_manifest m;
    char err[256];
    ASSERT_EQ_INT(qp_manifest_parse(text, strlen(text), &m, err, sizeof(err)), rc);
    if (want != NULL && strstr(err, want) == NULL) {
        fprintf(stderr, "# got \"%s\", want \"%s\"\n", err, want);
        ASSERT_NOT_NULL(strstr(err, want));
    }
    qp_manifest_release(&m);
}

TEST(manifest_round_trip)
{
    struct qp_manifest m;
    qp_manifest_init(&m, "2026-12-03T09:31:00Z");
    fill(qp_manifest_add(&m), "AAA", 250, 'a');
    fill(qp_manifest_add(&m), "B.B", 1, '0');
    struct qp_manifest_entry *odd = qp_manifest_add(&m);
    fill(odd, "C", 0, 'f');
    // Every character that needs escaping, and an empty (unknown) field.
    snprintf(odd->source, sizeof(odd->source), "file:///a\tb\\c\nd\re");
    odd->first[0] = '\0';
    odd->fetched[0] = '\0';
    size_t len = 0;
    char *text = qp_manifest_format(&m, &len);
    ASSERT_NOT_NULL(text);
    ASSERT_EQ_U64(len, strlen(text));
    ASSERT_NOT_NULL(strstr(text, "manifest\t1\n"));
    ASSERT_NOT_NULL(strstr(text, "members\t3\n"));
    ASSERT_NOT_NULL(strstr(text, "file:///a\\tb\\\\c\\nd\\re\n"));
    struct qp_manifest back;
    char err[200];
    ASSERT_OK(qp_manifest_parse(text, len, &back, err, sizeof(err)));
    ASSERT_EQ_INT(back.version, 1);
    ASSERT_EQ_STR(back.created, "2026-12-03T09:31:00Z");
    ASSERT_EQ_STR(back.quotepack, m.quotepack);
    ASSERT_EQ_U64(back.n, 3);
    for (size_t i = 0; i < 3; i++) {
        const struct qp_manifest_entry *a = &m.entries[i];
        const struct qp_manifest_entry *b = &back.entries[i];
        ASSERT_EQ_STR(a->name, b->name);
        ASSERT_EQ_STR(a->symbol, b->symbol);
        ASSERT_EQ_U64(a->rows, b->rows);
        ASSERT_EQ_U64(a->bytes, b->bytes);
        ASSERT_EQ_STR(a->sha256, b->sha256);
        ASSERT_EQ_STR(a->first, b->first);
        ASSERT_EQ_STR(a->last, b->last);
        ASSERT_EQ_STR(a->fetched, b->fetched);
        ASSERT_EQ_STR(a->source, b->source);
    }
    ASSERT_NOT_NULL(qp_manifest_find(&back, "B.B.xml"));
    ASSERT_NULL(qp_manifest_find(&back, "B.B"));
    qp_manifest_release(&back);
    free(text);
    qp_manifest_release(&m);
}

TEST(manifest_empty_archive)
{
    struct qp_manifest m;
    qp_manifest_init(&m, "");
    size_t len = 0;
    char *text = qp_manifest_format(&m, &len);
    struct qp_manifest back;
    char err[200];
    ASSERT_OK(qp_manifest_parse(text, len, &back, err, sizeof(err)));
    ASSERT_EQ_U64(back.n, 0);
    qp_manifest_release(&back);
    free(text);
    qp_manifest_release(&m);
}

#define H   "manifest\t1\nmembers\t1\nfields\tname\tbytes\tsha256\n"
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(manifest_later_fields_and_keys_are_ignored)
{
    // Forward compatibility: unknown keys and columns are skipped, columns in any order.
    const char *t = "# a comment\n\nmanifest\t1\nsomething\tnew\twith\tcolumns\nmembers\t1\n"
                    "fields\tsha256\tcolour\tname\tbytes\n"
                    "member\t" SHA "\tblue\tX.xml\t42\n";
    struct qp_manifest m;
    char err[200];
    ASSERT_OK(qp_manifest_parse(t, strlen(t), &m, err, sizeof(err)));
    ASSERT_EQ_U64(m.n, 1);
    ASSERT_EQ_STR(m.entries[0].name, "X.xml");
    ASSERT_EQ_U64(m.entries[0].bytes, 42);
    ASSERT_EQ_STR(m.entries[0].sha256, SHA);
    ASSERT_EQ_STR(m.entries[0].symbol, "");
    qp_manifest_release(&m);
}

TEST(manifest_rejects_what_it_cannot_trust)
{
    parse_expect("", -EINVAL, "empty");
    parse_expect("hello\n", -EINVAL, "not a quotepack manifest");
    parse_expect("manifest\t2\n", -EPROTO, "newer");
    parse_expect("manifest\t1", -EINVAL, "no newline");
    parse_expect(H "member\tX.xml\t1\t" SHA, -EINVAL, "truncated");
    parse_expect(H, -EINVAL, "0 member lines where the members line gives 1");
    parse_expect(H "member\tX.xml\t1\t" SHA "\nmember\tY.xml\t1\t" SHA "\n", -EINVAL,
                 "more member lines");
    parse_expect(H "member\tX.xml\t1\n", -EINVAL, "2 fields where the fields line names 3");
    parse_expect(H "member\tX.xml\t1x\t" SHA "\n", -EINVAL, "bytes is not a number");
    parse_expect(H "member\tX.xml\t99999999999999999999\t" SHA "\n", -EINVAL, "not a number");
    parse_expect(H "member\tX.xml\t1\t" SHA "0\n", -EINVAL, "sha256 is too long");
    parse_expect(H "member\tX.xml\t1\tabc\n", -EINVAL, "sha256 of X.xml");
    parse_expect(H "member\tX.xml\t1\t0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789"
                   "abcdef\n",
                 -EINVAL, "lower-case hex");
    parse_expect(H "member\t\t1\t" SHA "\n", -EINVAL, "without a name");
    parse_expect(H "member\tX\\q.xml\t1\t" SHA "\n", -EINVAL, "bad escape");
    parse_expect(H "member\tX.xml\\\t1\t" SHA "\n", -EINVAL, "bad escape");
    parse_expect("manifest\t1\nmembers\t2\nfields\tname\tbytes\tsha256\nmember\tX.xml\t1\t" SHA
                 "\nmember\tX.xml\t2\t" SHA "\n",
                 -EINVAL, "listed twice");
    parse_expect("manifest\t1\nmembers\t1\nmember\tX.xml\t1\t" SHA "\n", -EINVAL, "before");
    parse_expect("manifest\t1\nmembers\t0\nfields\tname\tbytes\n", -EINVAL, "lacks");
    parse_expect("manifest\t1\nmembers\t0\nfields\tname\tname\tbytes\tsha256\n", -EINVAL, "twice");
    parse_expect("manifest\t1\nmembers\t0\nmembers\t0\nfields\tname\tbytes\tsha256\n", -EINVAL,
                 "second members");
    char big[400];
    memset(big, 'n', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    char t[1000];
    snprintf(t, sizeof(t), H "member\t%s\t1\t" SHA "\n", big);
    parse_expect(t, -EINVAL, "name is too long");
    // A NUL inside a value.
    const char nul[] = H "member\tX\0.xml\t1\t" SHA "\n";
    struct qp_manifest m;
    char err[200];
    ASSERT_EQ_INT(qp_manifest_parse(nul, sizeof(nul) - 1, &m, err, sizeof(err)), -EINVAL);
    qp_manifest_release(&m);
}

TEST(manifest_time_is_utc_iso8601)
{
    char t[QP_MANIFEST_DATE];
    qp_manifest_time(1764754200, t);
    ASSERT_EQ_STR(t, "2025-12-03T09:30:00Z");
    qp_manifest_time(0, t);
    ASSERT_EQ_STR(t, "");
}

/* Scans doc in pieces of `piece` bytes: the result, and *rows. */
static int scan(const char *doc, size_t piece, uint64_t *rows, struct qp_xml_scan *s)
{
    size_t n = strlen(doc);
    qp_xml_scan_init(s);
    for (size_t o = 0; o < n; o += piece) {
        qp_xml_scan_feed(s, doc + o, n - o < piece ? n - o : piece);
    }
    return qp_xml_scan_finish(s, rows);
}

static void scan_ok(const char *doc, uint64_t want)
{
    for (size_t piece = 1; piece <= strlen(doc) + 1; piece += piece < 8 ? 1 : 7) {
        struct qp_xml_scan s;
        uint64_t rows = 99;
        ASSERT_OK(scan(doc, piece, &rows, &s));
        ASSERT_EQ_U64(rows, want);
    }
}

static void scan_bad(const char *doc, const char *want)
{
    for (size_t piece = 1; piece <= strlen(doc) + 1; piece += piece < 8 ? 1 : 7) {
        struct qp_xml_scan s;
        uint64_t rows = 0;
        ASSERT_EQ_INT(scan(doc, piece, &rows, &s), -EINVAL);
        ASSERT_NOT_NULL(strstr(s.error, want));
    }
}

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

TEST(xml_scan_counts_rows_of_the_documents_quotepack_writes)
{
    scan_ok(DECL "<Data />\n", 0);
    scan_ok(DECL "<Data><Row><Date>2024-01-02</Date><Close>1&lt;2</Close></Row></Data>\n", 1);
    scan_ok(DECL "<Data>\n\t<Row>\n\t\t<Date>a</Date>\n\t\t<Row>x</Row>\n\t</Row>\n"
                 "\t<Row>\n\t\t<Date>b</Date>\n\t\t<E />\n\t</Row>\n</Data>\n",
            2);
    scan_ok("<Data><Row/><Row/><Row/></Data>", 3);
}

TEST(xml_scan_finds_broken_structure)
{
    scan_bad(DECL "<Data><Row><Date>a</Date></Row>", "ends inside an element");
    scan_bad(DECL "<Data><Row><Date>a</Dat></Row></Data>\n", "does not match");
    scan_bad(DECL "<Data></Data><Data></Data>", "second root");
    scan_bad(DECL "junk<Data></Data>", "text outside");
    scan_bad(DECL "<Data></Data>junk", "text outside");
    scan_bad(DECL "<Data></Data></Data>", "no element open");
    scan_bad(DECL "<!-- c --><Data></Data>", "does not write");
    scan_bad(DECL "<Data><Row <Date>", "'<' inside a tag");
    scan_bad(DECL, "no root");
    scan_bad(DECL "<Data", "ends inside");
    scan_bad("<Data></Data><?pi?>", "after the root");
    scan_bad("<Data></Da ta>", "bad end tag");
    char deep[200] = "";
    for (int i = 0; i < QP_XML_SCAN_DEPTH + 1; i++) {
        strcat(deep, "<a>");
    }
    scan_bad(deep, "too deep");
}

static int discard(void *ctx, const void *data, size_t len)
{
    (void)data;
    *(size_t *)ctx += len;
    return 0;
}

TEST(member_writer_gives_the_sha256_of_its_data)
{
    // Past one piece, written in odd sizes: the digest is of the data, whatever the framing.
    size_t n = QP_MEMBER_PIECE + 12345;
    char *data = malloc(n);
    ASSERT_NOT_NULL(data);
    for (size_t i = 0; i < n; i++) {
        data[i] = (char)('a' + (i * 7) % 26);
    }
    struct qp_member *m = NULL;
    struct qp_member_info info;
    size_t sent = 0;
    ASSERT_OK(qp_member_create(&m, QP_FORMAT_TGZ, QP_LEVEL_FAST));
    for (int round = 0; round < 2; round++) { // the writer is reused: the digest starts over
        ASSERT_OK(qp_member_begin(m, "X.xml", 1700000000, discard, &sent));
        for (size_t o = 0; o < n; o += 99991) {
            ASSERT_OK(qp_member_write(m, data + o, n - o < 99991 ? n - o : 99991));
        }
        ASSERT_OK(qp_member_end(m, &info));
        unsigned char want[ARC_SHA256_LEN];
        arc_sha256(data, n, want);
        ASSERT_EQ_MEM(info.sha256, want, ARC_SHA256_LEN);
    }
    qp_member_destroy(m);
    free(data);
}

static int keep_text(void *ctx, const void *data, size_t len)
{
    char **t = ctx;
    size_t have = *t != NULL ? strlen(*t) : 0;
    char *n = realloc(*t, have + len + 1);
    if (n == NULL) {
        return -ENOMEM;
    }
    memcpy(n + have, data, len);
    n[have + len] = '\0';
    *t = n;
    return 0;
}

/* Frames a manifest of n members as an archive's first member, writes the archive and reads
 * it back with libarchive: the manifest parses to the same n entries. */
static void manifest_member_round_trip(size_t n, enum qp_format format)
{
    struct qp_manifest man;
    qp_manifest_init(&man, "2026-12-03T09:31:00Z");
    for (size_t i = 0; i < n; i++) {
        char sym[32];
        snprintf(sym, sizeof(sym), "S%06zu", i);
        fill(qp_manifest_add(&man), sym, i, "0123456789abcdef"[i % 16]);
    }
    struct qp_member *m = NULL;
    ASSERT_OK(qp_member_create(&m, format, QP_LEVEL_FAST));
    char *frames = NULL, *end = NULL;
    size_t len = 0, end_len = 0;
    ASSERT_OK(qp_manifest_member(m, &man, 1700000000, &frames, &len));
    ASSERT_OK(qp_member_end_of_archive(format, QP_LEVEL_FAST, &end, &end_len));
    char path[4096];
    snprintf(path, sizeof(path), "%s/m%zu.tar", test_tmpdir(), n);
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_U64(fwrite(frames, 1, len, f), len);
    ASSERT_EQ_U64(fwrite(end, 1, end_len, f), end_len);
    ASSERT_OK(fclose(f));
    struct qp_reader *r = NULL;
    char err[256];
    ASSERT_OK(qp_reader_open_file(&r, path, err, sizeof(err)));
    const char *name = NULL;
    int64_t size = 0;
    ASSERT_EQ_INT(qp_reader_next(r, &name, &size), 1);
    ASSERT_EQ_STR(name, QP_MANIFEST_NAME);
    char *text = NULL;
    uint64_t got = 0;
    uint32_t crc = 0;
    ASSERT_OK(qp_reader_data_each(r, keep_text, &text, &got, &crc));
    ASSERT_EQ_INT(qp_reader_next(r, &name, &size), 0);
    qp_reader_close(r);
    struct qp_manifest back;
    ASSERT_OK(qp_manifest_parse(text, strlen(text), &back, err, sizeof(err)));
    ASSERT_EQ_U64(back.n, n);
    ASSERT_EQ_INT(n < 100 || strlen(text) > QP_MEMBER_PIECE, 1);
    ASSERT_EQ_STR(back.entries[n - 1].name, man.entries[n - 1].name);
    qp_manifest_release(&back);
    free(text);
    free(frames);
    free(end);
    qp_member_destroy(m);
    qp_manifest_release(&man);
}

TEST(manifest_member_small_and_past_one_piece_reads_back_first)
{
    manifest_member_round_trip(3, QP_FORMAT_TGZ);
    // Past 1 MiB of text the header frame comes last from the member writer and must be moved
    // first (about 180 bytes a member).
    manifest_member_round_trip(8000, QP_FORMAT_TGZ);
    manifest_member_round_trip(8000, QP_FORMAT_TZST);
}

struct said {
    char text[2048];
    unsigned n;
};

static void collect_diff(void *ctx, const char *sentence)
{
    struct said *s = ctx;
    s->n++;
    strncat(s->text, sentence, sizeof(s->text) - strlen(s->text) - 2);
    strcat(s->text, "\n");
}

static struct qp_scanned_member *scanned(struct qp_scanned_archive *a, const char *name,
                                         uint64_t size, char hexdigit, uint64_t rows)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->members = realloc(a->members, a->cap * sizeof(*a->members));
        ASSERT_NOT_NULL(a->members);
    }
    struct qp_scanned_member *m = &a->members[a->n++];
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->size = size;
    memset(m->sha256, hexdigit, 64);
    m->rows = rows;
    m->read_ok = true;
    return m;
}

TEST(archive_check_manifest_reports_each_difference)
{
    struct qp_scanned_archive a;
    memset(&a, 0, sizeof(a));
    qp_manifest_init(&a.manifest, "");
    fill(qp_manifest_add(&a.manifest), "A", 10, 'a'); // bytes = rows * 100 + 7
    fill(qp_manifest_add(&a.manifest), "B", 20, 'b');
    fill(qp_manifest_add(&a.manifest), "C", 30, 'c');
    fill(qp_manifest_add(&a.manifest), "D", 40, 'd');
    a.manifest_ok = a.has_manifest = true;
    struct said s;
    memset(&s, 0, sizeof(s));
    scanned(&a, "A.xml", 1007, 'a', 10);
    scanned(&a, "B.xml", 2007, 'b', 20);
    scanned(&a, "C.xml", 3007, 'c', 30);
    scanned(&a, "D.xml", 4007, 'd', 40);
    ASSERT_EQ_U64(qp_archive_check_manifest(&a, collect_diff, &s), 0);
    // Now: A's bytes changed, B's size, C's rows and XML, D gone, E extra, A twice.
    a.n = 0;
    scanned(&a, "A.xml", 1007, 'e', 10);
    scanned(&a, "B.xml", 2008, 'b', 20);
    scanned(&a, "C.xml", 3007, 'c', 31);
    scanned(&a, "E.xml", 1, '0', 0);
    scanned(&a, "A.xml", 1007, 'a', 10);
    ASSERT_EQ_U64(qp_archive_check_manifest(&a, collect_diff, &s), 6);
    ASSERT_NOT_NULL(strstr(s.text, "A.xml: SHA-256 differs from the manifest"));
    ASSERT_NOT_NULL(strstr(s.text, "B.xml has 2008 bytes, the manifest says 2007"));
    ASSERT_NOT_NULL(strstr(s.text, "C.xml has 31 rows, the manifest says 30"));
    ASSERT_NOT_NULL(strstr(s.text, "member E.xml is not in the manifest"));
    ASSERT_NOT_NULL(strstr(s.text, "member A.xml appears more than once"));
    ASSERT_NOT_NULL(strstr(s.text, "D.xml is in the manifest but not in the archive"));
    // Broken XML is said instead of the rows.
    memset(&s, 0, sizeof(s));
    a.n = 0;
    scanned(&a, "A.xml", 1007, 'a', 10);
    scanned(&a, "B.xml", 2007, 'b', 20);
    snprintf(scanned(&a, "C.xml", 3007, 'c', 0)->xml_error, 160, "no root element at byte 9");
    scanned(&a, "D.xml", 4007, 'd', 40);
    ASSERT_EQ_U64(qp_archive_check_manifest(&a, collect_diff, &s), 1);
    ASSERT_NOT_NULL(strstr(s.text, "C.xml is not well-formed XML: no root element at byte 9"));
    qp_archive_scan_release(&a);
}

TEST(manifest_member_without_drops_the_named_members)
{
    struct qp_manifest man;
    qp_manifest_init(&man, "2026-01-01T00:00:00Z");
    fill(qp_manifest_add(&man), "A", 1, 'a');
    fill(qp_manifest_add(&man), "B", 2, 'b');
    fill(qp_manifest_add(&man), "C", 3, 'c');
    size_t len = 0;
    char *text = qp_manifest_format(&man, &len);
    struct qp_strset drop;
    qp_strset_init(&drop, 1);
    ASSERT_TRUE(qp_strset_add(&drop, "B.xml", 0));
    struct qp_member *m = NULL;
    ASSERT_OK(qp_member_create(&m, QP_FORMAT_TGZ, QP_LEVEL_FAST));
    char *frames = NULL;
    size_t flen = 0;
    char err[200];
    ASSERT_OK(qp_manifest_member_without(m, text, len, &drop, 1764754200, &frames, &flen, err,
                                         sizeof(err)));
    ASSERT_TRUE(flen > 0);
    // The frames are one gzip member: inflate it and read the manifest back.
    char path[4096];
    snprintf(path, sizeof(path), "%s/without.tgz", test_tmpdir());
    char *end = NULL;
    size_t end_len = 0;
    ASSERT_OK(qp_member_end_of_archive(QP_FORMAT_TGZ, QP_LEVEL_FAST, &end, &end_len));
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_U64(fwrite(frames, 1, flen, f), flen);
    ASSERT_EQ_U64(fwrite(end, 1, end_len, f), end_len);
    ASSERT_OK(fclose(f));
    struct qp_reader *r = NULL;
    ASSERT_OK(qp_reader_open_file(&r, path, err, sizeof(err)));
    const char *name = NULL;
    int64_t size = 0;
    ASSERT_EQ_INT(qp_reader_next(r, &name, &size), 1);
    char *back_text = NULL;
    uint64_t got = 0;
    uint32_t crc = 0;
    ASSERT_OK(qp_reader_data_each(r, keep_text, &back_text, &got, &crc));
    qp_reader_close(r);
    struct qp_manifest back;
    ASSERT_OK(qp_manifest_parse(back_text, strlen(back_text), &back, err, sizeof(err)));
    ASSERT_EQ_U64(back.n, 2);
    ASSERT_EQ_STR(back.entries[0].name, "A.xml");
    ASSERT_EQ_STR(back.entries[1].name, "C.xml");
    ASSERT_EQ_STR(back.entries[1].sha256, man.entries[2].sha256);
    ASSERT_EQ_STR(back.created, "2025-12-03T09:30:00Z");
    qp_manifest_release(&back);
    free(back_text);
    free(frames);
    // An old manifest that does not parse is refused, with the reason.
    ASSERT_EQ_INT(
            qp_manifest_member_without(m, "junk\n", 5, &drop, 0, &frames, &flen, err, sizeof(err)),
            -EINVAL);
    ASSERT_NOT_NULL(strstr(err, "not a quotepack manifest"));
    ASSERT_NULL(frames);
    free(end);
    qp_member_destroy(m);
    qp_strset_release(&drop);
    free(text);
    qp_manifest_release(&man);
}

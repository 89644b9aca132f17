// SPDX-License-Identifier: MIT
/* Unit tests for qp_convert (exact XML bytes, statuses and positions) and the convert CLI. */
#include "../testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "quotepack/convert.h"
#include "quotepack/convert_cli.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static char *convert_ok(const char *csv, size_t len, bool compact, uint64_t rows, uint64_t cols)
{
    struct qp_convert_opts opts = { .compact = compact };
    struct qp_convert_result res;
    struct qp_convert_error err;
    enum qp_convert_status st = qp_convert(csv, len, &opts, &res, &err);
    if (st != QP_CONVERT_OK) {
        test_fail(__FILE__, __LINE__, "%s at %llu:%llu: %s", qp_convert_status_name(st),
                  (unsigned long long)err.line, (unsigned long long)err.column, err.message);
    }
    ASSERT_EQ_U64(res.rows, rows);
    ASSERT_EQ_U64(res.columns, cols);
    ASSERT_EQ_INT(strlen(res.xml), res.xml_len);
    char *s = malloc(res.xml_len + 1);
    ASSERT_NOT_NULL(s);
    memcpy(s, res.xml, res.xml_len);
    s[res.xml_len] = '\0';
    free(res.xml);
    return s;
}

static void check_xml(const char *csv, bool compact, uint64_t rows, uint64_t cols,
                      const char *expect)
{
    char *s = convert_ok(csv, strlen(csv), compact, rows, cols);
    ASSERT_EQ_STR(s, expect);
    free(s);
}

static void check_err(const char *csv, size_t len, const struct qp_convert_opts *opts,
                      enum qp_convert_status want, uint64_t line, uint64_t col,
                      const char *msg_part)
{
    struct qp_convert_result res;
    struct qp_convert_error err;
    enum qp_convert_status st = qp_convert(csv, len, opts, &res, &err);
    if (st != want || err.line != line || err.column != col || err.status != want) {
        test_fail(__FILE__, __LINE__, "got %s at %llu:%llu (%s), want %s at %llu:%llu",
                  qp_convert_status_name(st), (unsigned long long)err.line,
                  (unsigned long long)err.column, err.message, qp_convert_status_name(want),
                  (unsigned long long)line, (unsigned long long)col);
    }
    ASSERT_NULL(res.xml);
    ASSERT_EQ_INT(res.xml_len, 0);
    if (msg_part != NULL && strstr(err.message, msg_part) == NULL) {
        test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", err.message, msg_part);
    }
}

#define CHECK_ERR(csv, want, line, col, msg) \
    check_err((csv), sizeof(csv) - 1, NULL, (want), (line), (col), (msg))

static const struct qp_convert_opts strict_quotes = { .dialect = { .strict = true } };

/* The bytes the original csvToXml + pretty() + ElementTree.write() produce for this sample
 * (checked with Python 3's xml.etree), after our XML declaration. */
TEST(convert_pretty_matches_the_original_layout)
{
    check_xml("Date,Open,Adj Close\n2016-01-04,102.6,\nx,\"a&b<c>\"\"\",z\n", false, 2, 3,
              DECL "<Data>\n"
                   "\t<Row>\n"
                   "\t\t<Date>2016-01-04</Date>\n"
                   "\t\t<Open>102.6</Open>\n"
                   "\t\t<AdjClose />\n"
                   "\t</Row>\n"
                   "\t<Row>\n"
                   "\t\t<Date>x</Date>\n"
                   "\t\t<Open>a&amp;b&lt;c&gt;\"</Open>\n"
                   "\t\t<AdjClose>z</AdjClose>\n"
                   "\t</Row>\n"
                   "</Data>\n");
}

TEST(convert_compact)
{
    check_xml("Date,Open,Adj Close\r\n2016-01-04,102.6,\r\n1,2,3\r\n", true, 2, 3,
              DECL "<Data><Row><Date>2016-01-04</Date><Open>102.6</Open><AdjClose /></Row>"
                   "<Row><Date>1</Date><Open>2</Open><AdjClose>3</AdjClose></Row></Data>\n");
}

TEST(convert_header_only_is_an_empty_document)
{
    check_xml("Date,Open\n", false, 0, 2, DECL "<Data />\n");
    check_xml("Date,Open", true, 0, 2, DECL "<Data />\n");
    check_xml("\xEF\xBB\xBF"
              "Date\n\n\n",
              false, 0, 1, DECL "<Data />\n");
}

TEST(convert_values_keep_cr_as_reference_and_lf_as_is)
{
    check_xml("a\n\"x\r\ny\nz\rw\"\n", true, 1, 1,
              DECL "<Data><Row><a>x&#13;\ny\nz&#13;w</a></Row></Data>\n");
}

TEST(convert_real_world_headers)
{
    check_xml("52-week high,P&L,Adj Close,Close,Close,\"x y\"\n1,2,3,4,5,6\n", true, 1, 6,
              DECL "<Data><Row><_52-weekhigh>1</_52-weekhigh><P_L>2</P_L><AdjClose>3</AdjClose>"
                   "<Close>4</Close><Close_2>5</Close_2><xy>6</xy></Row></Data>\n");
}

TEST(convert_unicode_and_quotes)
{
    check_xml("\xEF\xBB\xBF"
              "Name,Stadt\n\"Jos\xC3\xA9 \"\"J\"\"\",\xE6\x9D\xB1\xE4\xBA\xAC\n",
              true, 1, 2,
              DECL
              "<Data><Row><Name>Jos\xC3\xA9 \"J\"</Name><Stadt>\xE6\x9D\xB1\xE4\xBA\xAC</Stadt>"
              "</Row></Data>\n");
}

TEST(convert_not_csv)
{
    CHECK_ERR("", QP_CONVERT_NOT_CSV, 1, 1, "body is empty");
    CHECK_ERR("\xEF\xBB\xBF", QP_CONVERT_NOT_CSV, 1, 1, "body is empty");
    CHECK_ERR(" \r\n\t\n", QP_CONVERT_NOT_CSV, 1, 1, "whitespace");
    CHECK_ERR("<!DOCTYPE html><html></html>", QP_CONVERT_NOT_CSV, 1, 1, "HTML page");
    CHECK_ERR("\n\n  <html>", QP_CONVERT_NOT_CSV, 3, 3, "body is an HTML page, not CSV");
    CHECK_ERR("<?xml version=\"1.0\"?><a/>", QP_CONVERT_NOT_CSV, 1, 1, "XML document");
    CHECK_ERR("\xEF\xBB\xBF  <HTML>", QP_CONVERT_NOT_CSV, 1, 3, "HTML page");
    CHECK_ERR("\r\n\r\n{}", QP_CONVERT_NOT_CSV, 3, 1, "JSON");
    CHECK_ERR("\xEF\xBB\xBF{\"error\":\"rate\"}", QP_CONVERT_NOT_CSV, 1, 1, "JSON");
}

TEST(convert_bad_csv_statuses_and_positions)
{
    CHECK_ERR("a,b\n1,2,3\n", QP_CONVERT_BAD_CSV, 2, 5, "more fields");
    CHECK_ERR("a,b\n1\n", QP_CONVERT_BAD_CSV, 2, 2, "1 field but the header has 2");
    CHECK_ERR("a,b\n1,\"2\n", QP_CONVERT_BAD_CSV, 2, 3, "never closed");
    check_err("a,b\n1,2\"\n", 9, &strict_quotes, QP_CONVERT_BAD_CSV, 2, 4, "quote inside");
    CHECK_ERR("a,b\n1,\"2\"x\n", QP_CONVERT_BAD_CSV, 2, 6, "after the closing quote");
    CHECK_ERR("a,b\n1,\xC3(\n", QP_CONVERT_BAD_CSV, 2, 3, "UTF-8");
    CHECK_ERR("a,b\n1,\0\n", QP_CONVERT_BAD_CSV, 2, 3, "NUL");
}

TEST(convert_bad_xml_characters)
{
    CHECK_ERR("a,b\n1,x\x1B[0m\n", QP_CONVERT_BAD_XML, 2, 4, "U+001B");
    CHECK_ERR("a\x01,b\n", QP_CONVERT_BAD_XML, 1, 2, "U+0001");
    CHECK_ERR("a,b\n1,\xEF\xBF\xBF\n", QP_CONVERT_BAD_XML, 2, 3, "U+FFFF");
    CHECK_ERR("a,b\n1,\xED\xB0\x80\n", QP_CONVERT_BAD_XML, 2, 3, "U+DC00");
}

TEST(convert_output_cap)
{
    static const char csv[] = "a,b\n1,2\n3,4\n";
    struct qp_convert_opts opts = { .max_output = 80 };
    struct qp_convert_result res;
    struct qp_convert_error err;
    ASSERT_EQ_INT(qp_convert(csv, sizeof(csv) - 1, &opts, &res, &err), QP_CONVERT_TOO_LARGE);
    ASSERT_NULL(res.xml);
    ASSERT_EQ_INT(err.status, QP_CONVERT_TOO_LARGE);
    ASSERT_TRUE(strstr(err.message, "80-byte cap") != NULL);
    /* Exactly the size of the document fits. */
    opts.max_output = 0;
    ASSERT_EQ_INT(qp_convert(csv, sizeof(csv) - 1, &opts, &res, &err), QP_CONVERT_OK);
    size_t need = res.xml_len;
    free(res.xml);
    opts.max_output = need;
    ASSERT_EQ_INT(qp_convert(csv, sizeof(csv) - 1, &opts, &res, &err), QP_CONVERT_OK);
    ASSERT_EQ_INT(res.xml_len, need);
    free(res.xml);
    opts.max_output = need - 1;
    ASSERT_EQ_INT(qp_convert(csv, sizeof(csv) - 1, &opts, &res, &err), QP_CONVERT_TOO_LARGE);
}

TEST(convert_escapes_worst_case_near_the_cap)
{
    /* Every byte of a value escapes to 5; the exact-size path must get it right. */
    static const char csv[] = "a\n&&&&\r\n";
    struct qp_convert_opts opts = { .compact = true };
    struct qp_convert_result res;
    struct qp_convert_error err;
    ASSERT_EQ_INT(qp_convert(csv, sizeof(csv) - 1, &opts, &res, &err), QP_CONVERT_OK);
    size_t need = res.xml_len;
    free(res.xml);
    opts.max_output = need;
    ASSERT_EQ_INT(qp_convert(csv, sizeof(csv) - 1, &opts, &res, &err), QP_CONVERT_OK);
    ASSERT_EQ_INT(res.xml_len, need);
    free(res.xml);
}

TEST(convert_large_document)
{
    size_t rows = 20000;
    char *csv = malloc(64 + rows * 80);
    ASSERT_NOT_NULL(csv);
    size_t n = (size_t)sprintf(csv, "Date,Open,High,Low,Close,Volume,Adj Close\n");
    for (size_t i = 0; i < rows; i++) {
        n += (size_t)sprintf(csv + n, "2016-01-%02zu,%zu.5,2,3,4,%zu,\"5\"\n", i % 28 + 1, i,
                             i * 7);
    }
    char *xml = convert_ok(csv, n, false, rows, 7);
    ASSERT_TRUE(strstr(xml, "\t\t<Open>19999.5</Open>\n\t\t<High>2</High>") != NULL);
    free(xml);
    free(csv);
}

/* Input in pieces of `piece` bytes; output collected into one buffer, piece sizes checked. */
struct pieces {
    const char *csv;
    size_t len, off, piece;
    char *out;
    size_t out_len, writes, biggest;
    int fail_after; /* writes before the write callback fails, -1 never */
};

static int pieces_read(void *ctx, const char **data, size_t *len)
{
    struct pieces *p = ctx;
    size_t n = p->len - p->off < p->piece ? p->len - p->off : p->piece;
    *data = p->csv + p->off;
    *len = n;
    p->off += n;
    return 0;
}

static int pieces_write(void *ctx, const char *data, size_t len)
{
    struct pieces *p = ctx;
    if (p->fail_after >= 0 && (int)p->writes >= p->fail_after) {
        return -ENOSPC;
    }
    p->out = realloc(p->out, p->out_len + len);
    ASSERT_NOT_NULL(p->out);
    memcpy(p->out + p->out_len, data, len);
    p->out_len += len;
    p->writes++;
    p->biggest = len > p->biggest ? len : p->biggest;
    return 0;
}

/* A minute: 30,000 rows converted several ways take 3.6 s under TSan unloaded, and took 36 s
 * of the default 10 s (x4) on a loaded machine. */
TEST_WITH_TIMEOUT(convert_stream_in_pieces_equals_one_buffer, 60)
{
    size_t rows = 30000;
    char *csv = malloc(64 + rows * 80);
    ASSERT_NOT_NULL(csv);
    size_t n = (size_t)sprintf(csv, "\xEF\xBB\xBF"
                                    "Date,Open,\"Note\"\r\n");
    for (size_t i = 0; i < rows; i++) {
        n += (size_t)sprintf(csv + n, "2016-01-%02zu,%zu.5,\"a \"\"q\"\", & <b>\"\r\n", i % 28 + 1,
                             i);
    }
    struct qp_convert_result whole, res;
    struct qp_convert_error err;
    ASSERT_EQ_INT(qp_convert(csv, n, NULL, &whole, &err), QP_CONVERT_OK);
    static const size_t sizes[] = { 1, 7, 4096, 65536, (size_t)1 << 20, (size_t)64 << 20 };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        if (sizes[k] == 1 && test_timeout_multiplier() > 1) {
            continue; // byte by byte is slow under the sanitizers; 7 covers the same paths
        }
        struct pieces p = { .csv = csv, .len = n, .piece = sizes[k], .fail_after = -1 };
        ASSERT_EQ_INT(qp_convert_stream(pieces_read, &p, pieces_write, &p, NULL, &res, &err),
                      QP_CONVERT_OK);
        ASSERT_NULL(res.xml);
        ASSERT_EQ_U64(res.rows, rows);
        ASSERT_EQ_INT(res.xml_len, whole.xml_len);
        ASSERT_EQ_INT(p.out_len, whole.xml_len);
        ASSERT_TRUE(memcmp(p.out, whole.xml, whole.xml_len) == 0);
        ASSERT_TRUE(p.writes > 1);
        // Pieces stay near QP_CONVERT_PIECE: the XML is never held whole.
        ASSERT_CMP_INT(p.biggest, <=, QP_CONVERT_PIECE + 4096);
        free(p.out);
    }
    free(whole.xml);
    free(csv);
}

TEST(convert_stream_reports_errors_of_the_input_and_of_the_writer)
{
    static const char csv[] = "a,b\n1,2\n3\n";
    struct pieces p = { .csv = csv, .len = sizeof(csv) - 1, .piece = 3, .fail_after = -1 };
    struct qp_convert_result res;
    struct qp_convert_error err;
    ASSERT_EQ_INT(qp_convert_stream(pieces_read, &p, pieces_write, &p, NULL, &res, &err),
                  QP_CONVERT_BAD_CSV);
    ASSERT_EQ_U64(err.line, 3);
    free(p.out);
    // A writer that fails: QP_CONVERT_IO with its errno.
    size_t rows = 20000;
    char *big = malloc(16 + rows * 8);
    ASSERT_NOT_NULL(big);
    size_t n = (size_t)sprintf(big, "a,b\n");
    for (size_t i = 0; i < rows; i++) {
        n += (size_t)sprintf(big + n, "%zu,x\n", i % 1000);
    }
    struct pieces q = { .csv = big, .len = n, .piece = 4096, .fail_after = 1 };
    ASSERT_EQ_INT(qp_convert_stream(pieces_read, &q, pieces_write, &q, NULL, &res, &err),
                  QP_CONVERT_IO);
    ASSERT_EQ_INT(err.sys_errno, -ENOSPC);
    free(q.out);
    free(big);
    // An empty input and one of only blanks, in pieces.
    struct pieces e = { .csv = "", .len = 0, .piece = 3, .fail_after = -1 };
    ASSERT_EQ_INT(qp_convert_stream(pieces_read, &e, pieces_write, &e, NULL, &res, &err),
                  QP_CONVERT_NOT_CSV);
    struct pieces b = { .csv = "  \n\n \r\n  ", .len = 9, .piece = 2, .fail_after = -1 };
    ASSERT_EQ_INT(qp_convert_stream(pieces_read, &b, pieces_write, &b, NULL, &res, &err),
                  QP_CONVERT_NOT_CSV);
    free(b.out);
}

/* One dialect case through qp_convert_stream in pieces of every size, against qp_convert. */
static void check_dialect_stream(const char *csv, const struct qp_convert_opts *opts,
                                 enum qp_convert_status want, char delim, uint64_t rows)
{
    size_t n = strlen(csv);
    struct qp_convert_result whole, res;
    struct qp_convert_error werr, err;
    ASSERT_EQ_INT(qp_convert(csv, n, opts, &whole, &werr), want);
    if (want == QP_CONVERT_OK) {
        ASSERT_EQ_INT(whole.delimiter, delim);
        ASSERT_EQ_U64(whole.rows, rows);
    }
    static const size_t sizes[] = { 1, 2, 3, 5, 7, 64, 4096 };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        struct pieces p = { .csv = csv, .len = n, .piece = sizes[k], .fail_after = -1 };
        enum qp_convert_status st =
                qp_convert_stream(pieces_read, &p, pieces_write, &p, opts, &res, &err);
        if (st != want) {
            test_fail(__FILE__, __LINE__, "pieces of %zu: %s (%s), want %s", sizes[k],
                      qp_convert_status_name(st), err.message, qp_convert_status_name(want));
        }
        if (want == QP_CONVERT_OK) {
            // The delimiter the stream detected is reported, as by the one-buffer form.
            ASSERT_EQ_INT(res.delimiter, delim);
            ASSERT_EQ_U64(res.rows, rows);
            ASSERT_EQ_INT(p.out_len, whole.xml_len);
            ASSERT_TRUE(memcmp(p.out, whole.xml, whole.xml_len) == 0);
        } else if (err.line != werr.line || err.column != werr.column) {
            test_fail(__FILE__, __LINE__, "pieces of %zu: %llu:%llu, want %llu:%llu (%s)", sizes[k],
                      (unsigned long long)err.line, (unsigned long long)err.column,
                      (unsigned long long)werr.line, (unsigned long long)werr.column, werr.message);
        } else {
            ASSERT_EQ_STR(err.message, werr.message);
        }
        free(p.out);
    }
    free(whole.xml);
}

TEST(convert_stream_keeps_the_dialect_in_pieces)
{
    struct qp_convert_opts detect = { .dialect = { .detect = true } };
    struct qp_convert_opts cp1252 = { .dialect = { .detect = true,
                                                   .encoding = QP_ENCODING_CP1252 } };
    struct qp_convert_opts strict = { .dialect = { .detect = true, .strict = true } };
    struct qp_convert_opts pipe = { .dialect = { .delimiter = '|' } };
    // Leading lines of spaces (the first pieces are all blank), a semicolon header found by
    // detection, cp1252 bytes (0x80 euro, 0xE9 e-acute), a line of spaces inside and at the end.
    check_dialect_stream("  \r\n \t \r\nDatum;Schluss \x80;Notiz\r\n02.01.2024;1.240,00;caf\xE9\r\n"
                         "   \r\n03.01.2024;\"1,5\";\"a;b\"\r\n \t ",
                         &cp1252, QP_CONVERT_OK, ';', 2);
    check_dialect_stream("a\tb\tc\n1\t2\t3\n", &detect, QP_CONVERT_OK, '\t', 1);
    // A header and no rows: an empty document, its delimiter still detected.
    check_dialect_stream("\n  \nDate|Open|Close\r\n  \r\n", &detect, QP_CONVERT_OK, '|', 0);
    check_dialect_stream("x|y\n1|2\n", &pipe, QP_CONVERT_OK, '|', 1);
    check_dialect_stream("a,b\n1,2\n", &detect, QP_CONVERT_OK, ',', 1);
    // A stray quote: data by default, an error with its position under strict.
    check_dialect_stream("lat;lon\n55\"45;37\n", &detect, QP_CONVERT_OK, ';', 1);
    check_dialect_stream("lat;lon\n55\"45;37\n", &strict, QP_CONVERT_BAD_CSV, 0, 0);
    // Not CSV after blank pieces, and invalid UTF-8 without --encoding.
    check_dialect_stream(" \n \n<html><body>no</body></html>\n", &cp1252, QP_CONVERT_NOT_CSV, 0, 0);
    check_dialect_stream("a;b\n1;caf\xE9\n", &detect, QP_CONVERT_BAD_CSV, 0, 0);
}

/* The "not CSV" verdict and its position do not depend on where the pieces are cut: a byte
 * order mark, a CRLF or "<?xml" split between pieces, blank lines before the markup. */
TEST(convert_stream_not_csv_verdict_is_the_same_however_the_input_is_cut)
{
    struct qp_convert_opts detect = { .dialect = { .detect = true } };
    static const char *const bodies[] = {
        "\xEF\xBB\xBF  <html><body>x</body></html>",
        "\r\n\r\n\r\r\n  \t<!DOCTYPE html>\n",
        "\n\n <?XML version=\"1.0\"?><a/>",
        " \n {\"error\": \"no such symbol\"}",
        "\xEF\xBB\xBF",
        " \r\n\t\n  ",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        check_dialect_stream(bodies[i], &detect, QP_CONVERT_NOT_CSV, 0, 0);
    }
    // What only begins like a byte order mark, or like markup further on, is content.
    check_dialect_stream("\xEF\xBB"
                         "a,b\n",
                         &detect, QP_CONVERT_BAD_CSV, 0, 0);
    check_dialect_stream("\xEF\xBB\xBF \n\ta;<b>\n1;2\n", &detect, QP_CONVERT_OK, ';', 1);
}

TEST(convert_status_names)
{
    ASSERT_EQ_STR(qp_convert_status_name(QP_CONVERT_OK), "ok");
    ASSERT_EQ_STR(qp_convert_status_name(QP_CONVERT_NOT_CSV), "not-csv");
    ASSERT_EQ_STR(qp_convert_status_name(QP_CONVERT_BAD_CSV), "bad-csv");
    ASSERT_EQ_STR(qp_convert_status_name(QP_CONVERT_BAD_XML), "bad-xml");
    ASSERT_EQ_STR(qp_convert_status_name(QP_CONVERT_TOO_LARGE), "too-large");
    ASSERT_EQ_STR(qp_convert_status_name(QP_CONVERT_NO_MEMORY), "no-memory");
    ASSERT_EQ_STR(qp_convert_status_name(QP_CONVERT_IO), "io-error");
    ASSERT_EQ_STR(qp_convert_status_name((enum qp_convert_status)42), "unknown");
}

/* Runs qp_convert_cli with stdout and stderr sent to files; returns the exit status. */
static int run_cli(int argc, char **argv, char *out, size_t outcap, char *errbuf, size_t errcap)
{
    char opath[512], epath[512];
    snprintf(opath, sizeof(opath), "%s/out", test_tmpdir());
    snprintf(epath, sizeof(epath), "%s/err", test_tmpdir());
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int ofd = open(opath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int efd = open(epath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_TRUE(saved_out >= 0 && saved_err >= 0 && ofd >= 0 && efd >= 0);
    dup2(ofd, 1);
    dup2(efd, 2);
    int rc = qp_convert_cli(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(ofd);
    close(efd);
    FILE *f = fopen(opath, "rb");
    size_t n = fread(out, 1, outcap - 1, f);
    out[n] = '\0';
    fclose(f);
    f = fopen(epath, "rb");
    n = fread(errbuf, 1, errcap - 1, f);
    errbuf[n] = '\0';
    fclose(f);
    return rc;
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    fputs(s, f);
    fclose(f);
}

TEST(convert_cli_writes_xml_or_a_positioned_error)
{
    char good[512], bad[512], out[4096], errb[1024];
    char cmd[] = "convert", compact[] = "--compact", bogus[] = "--bogus";
    snprintf(good, sizeof(good), "%s/good.csv", test_tmpdir());
    snprintf(bad, sizeof(bad), "%s/bad.csv", test_tmpdir());
    write_file(good, "a,b\n1,2\n");
    write_file(bad, "a,b\n1,2\n3,\"4\n");

    char *a1[] = { cmd, compact, good, NULL };
    ASSERT_EQ_INT(run_cli(3, a1, out, sizeof(out), errb, sizeof(errb)), 0);
    ASSERT_EQ_STR(out, DECL "<Data><Row><a>1</a><b>2</b></Row></Data>\n");
    ASSERT_EQ_STR(errb, "");

    char *a2[] = { cmd, bad, NULL };
    ASSERT_EQ_INT(run_cli(2, a2, out, sizeof(out), errb, sizeof(errb)), 1);
    ASSERT_EQ_STR(out, "");
    char want[1024];
    snprintf(want, sizeof(want),
             "quotepack: %s:3:3: bad-csv: quoted field opened here is never closed\n", bad);
    ASSERT_EQ_STR(errb, want);

    char missing[600];
    snprintf(missing, sizeof(missing), "%s/nope.csv", test_tmpdir());
    char *a3[] = { cmd, missing, NULL };
    ASSERT_EQ_INT(run_cli(2, a3, out, sizeof(out), errb, sizeof(errb)), 1);
    ASSERT_TRUE(strstr(errb, "No such file") != NULL);

    char *a4[] = { cmd, NULL };
    ASSERT_EQ_INT(run_cli(1, a4, out, sizeof(out), errb, sizeof(errb)), 2);
    char *a5[] = { cmd, bogus, good, NULL };
    ASSERT_EQ_INT(run_cli(3, a5, out, sizeof(out), errb, sizeof(errb)), 2);
    char *a6[] = { cmd, good, good, NULL };
    ASSERT_EQ_INT(run_cli(3, a6, out, sizeof(out), errb, sizeof(errb)), 2);
}

TEST(convert_cli_reads_stdin)
{
    char path[512], out[4096], errb[1024];
    char cmd[] = "convert", dash[] = "-";
    snprintf(path, sizeof(path), "%s/in.csv", test_tmpdir());
    write_file(path, "<html><body>Not found</body></html>\n");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    dup2(fd, 0);
    close(fd);
    char *a[] = { cmd, dash, NULL };
    ASSERT_EQ_INT(run_cli(2, a, out, sizeof(out), errb, sizeof(errb)), 1);
    ASSERT_EQ_STR(errb, "quotepack: <stdin>:1:1: not-csv: body is an HTML page, not CSV\n");
}

/* The manifest's first and last date: the first column of the first and last data rows. */
static void check_keys(const char *csv, const char *first, const char *last)
{
    struct qp_convert_opts opts = { .compact = true };
    struct qp_convert_result res;
    struct qp_convert_error err;
    ASSERT_EQ_INT(qp_convert(csv, strlen(csv), &opts, &res, &err), QP_CONVERT_OK);
    ASSERT_EQ_STR(res.first, first);
    ASSERT_EQ_STR(res.last, last);
    free(res.xml);
}

TEST(convert_keeps_the_first_and_last_key)
{
    check_keys("Date,Close\n2024-12-31,1\n2024-12-30,2\n2024-12-27,3\n", "2024-12-31",
               "2024-12-27");
    check_keys("Date,Close\n2024-01-02,1\n", "2024-01-02", "2024-01-02");
    check_keys("Date,Close\n", "", "");
    check_keys("Date,Close\n\"quoted, date\",1\n", "quoted, date", "quoted, date");
    // Cut to 31 bytes, never inside a UTF-8 character (é is 2 bytes: 30 + 2 > 31).
    check_keys("D,C\n012345678901234567890123456789\xc3\xa9,1\n", "012345678901234567890123456789",
               "012345678901234567890123456789");
    // A failed conversion keeps none.
    struct qp_convert_opts opts = { .compact = true };
    struct qp_convert_result res;
    struct qp_convert_error err;
    const char *bad = "Date,Close\n2024-01-02,1\n2024-01-03\n";
    ASSERT_NE_INT(qp_convert(bad, strlen(bad), &opts, &res, &err), QP_CONVERT_OK);
    ASSERT_EQ_STR(res.first, "");
}

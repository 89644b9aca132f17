// SPDX-License-Identifier: MIT
/* Unit tests for the CSV parser's dialects: delimiters, detection, stray quotes, encodings and
 * blank lines, each at every chunking of the input. */
#include "../testlib.h"

#include <errno.h>

#include "csv_check.h"
#include "quotepack/csv.h"

/* The options qp_convert uses, with a dialect. */
#define DIALECT(...)              \
    (&(const struct qp_csv_opts){ \
            .same_width = true, .xml_chars = true, .dialect = { __VA_ARGS__ } })

#define OK_D(opts, in, expect) \
    check_all_d((in), sizeof(in) - 1, (opts), (expect), QP_CSV_ERR_NONE, 0, 0, 0, __LINE__)
#define OK_DELIM(opts, in, expect, d) \
    check_all_d((in), sizeof(in) - 1, (opts), (expect), QP_CSV_ERR_NONE, 0, 0, (d), __LINE__)
#define BAD_D(opts, in, kind, l, c) \
    check_all_d((in), sizeof(in) - 1, (opts), NULL, (kind), (l), (c), 0, __LINE__)

#define LATIN1 .encoding = QP_ENCODING_LATIN1
#define CP1252 .encoding = QP_ENCODING_CP1252

/* ---- stray quotes (issue 10, item 6) -------------------------------------------------------- */

TEST(csv_stray_quote_in_an_unquoted_field_is_data_unless_strict)
{
    /* What Python's csv (strict or not) and pandas read: the quote is part of the field. */
    OK_D(DIALECT(0),
         "lat,lon\n37\xC2\xB0"
         "36'37.8\"N,x\n",
         "<lat><lon>\n<37\xC2\xB0"
         "36'37.8\"N><x>\n");
    OK_D(DIALECT(0), "a,b\n1,ab\"c\n", "<a><b>\n<1><ab\"c>\n");
    OK_D(DIALECT(0), "a,b\nx\"\"y,\"z\"\n", "<a><b>\n<x\"\"y><z>\n");
    OK_D(DIALECT(0), "a,b\n1,2\"\n", "<a><b>\n<1><2\">\n");
    OK_D(DIALECT(0), "a\" b,c\n 1 \"2\",3\n", "<a\" b><c>\n< 1 \"2\"><3>\n");
    OK_D(DIALECT(0), "h\n0123456789abcdef01234\"0123456789abcdef\"\n",
         "<h>\n<0123456789abcdef01234\"0123456789abcdef\">\n");
    /* ... but a quote that opens a field still opens a quoted field. */
    BAD_D(DIALECT(0), "a,b\n1,\"ab\"c\n", QP_CSV_ERR_AFTER_QUOTE, 2, 7);
    BAD_D(DIALECT(0), "a,b\n1,\"ab\n", QP_CSV_ERR_UNTERMINATED, 2, 3);
    /* --strict: an error with line and column. */
    BAD_D(DIALECT(.strict = true),
          "lat,lon\n37\xC2\xB0"
          "36'37.8\"N,x\n",
          QP_CSV_ERR_STRAY_QUOTE, 2, 12);
    BAD_D(DIALECT(.strict = true), "a,b\n1,ab\"c\n", QP_CSV_ERR_STRAY_QUOTE, 2, 5);
    BAD_D(DIALECT(.strict = true, .delimiter = ';'), "a;b\n1;2\"\n", QP_CSV_ERR_STRAY_QUOTE, 2, 4);
}

/* ---- delimiters (item 5) -------------------------------------------------------------------- */

TEST(csv_delimiter_option_semicolon_tab_pipe_and_any_byte)
{
    OK_DELIM(DIALECT(.delimiter = ';'), "Date;Open\n2024-01-02;1,5\n",
             "<Date><Open>\n<2024-01-02><1,5>\n", ';');
    OK_D(DIALECT(.delimiter = '\t'), "a\tb c\n1\t\"x\ty\"\n\t\n", "<a><b c>\n<1><x\ty>\n<><>\n");
    OK_D(DIALECT(.delimiter = '|'), "a|b\n\"1|2\"|,\n", "<a><b>\n<1|2><,>\n");
    OK_D(DIALECT(.delimiter = ' '), "a b\n1 \"2 3\"\n", "<a><b>\n<1><2 3>\n");
    OK_D(DIALECT(.delimiter = 0x1F),
         "a\x1F"
         "b\n1\x1F"
         "2\n",
         "<a><b>\n<1><2>\n");
    OK_D(DIALECT(.delimiter = '&'), "a&b\n1&<\n", "<a><b>\n<1><<>\n");
    /* Long fields take the vector scan: the delimiter must be found there too. */
    OK_D(DIALECT(.delimiter = ';'), "h;i\n0123456789abcdef0123;0123456789abcdef,x\n",
         "<h><i>\n<0123456789abcdef0123><0123456789abcdef,x>\n");
    /* A comma is data; after a closing quote only the delimiter or a line end may follow. */
    BAD_D(DIALECT(.delimiter = ';'), "a;b\n\"1\",2\n", QP_CSV_ERR_AFTER_QUOTE, 2, 4);
    BAD_D(DIALECT(.delimiter = ';'), "a;b\n1,2\n", QP_CSV_ERR_RAGGED, 2, 4);
}

TEST(csv_invalid_delimiters_and_encodings_are_refused)
{
    static const char bad[] = { '"', '\r', '\n', (char)0x80, (char)0xFF };
    for (size_t i = 0; i < sizeof(bad); i++) {
        struct qp_csv_opts o = { .dialect = { .delimiter = bad[i] } };
        struct qp_csv *p = (struct qp_csv *)&o; /* not NULL, to see it cleared */
        ASSERT_EQ_INT(qp_csv_create(&o, &p), -EINVAL);
        ASSERT_NULL(p);
    }
    struct qp_csv_opts o = { .dialect = { .encoding = (enum qp_encoding)77 } };
    struct qp_csv *p = NULL;
    ASSERT_EQ_INT(qp_csv_create(&o, &p), -EINVAL);
    /* With detection the delimiter field is not used. */
    o = (struct qp_csv_opts){ .dialect = { .detect = true, .delimiter = '"' } };
    ASSERT_OK(qp_csv_create(&o, &p));
    qp_csv_destroy(p);
}

TEST(csv_delimiter_is_detected_from_the_header_line)
{
    OK_DELIM(DIALECT(.detect = true), "Date;Open;Close\n2024-01-02;1,5;2\n",
             "<Date><Open><Close>\n<2024-01-02><1,5><2>\n", ';');
    OK_DELIM(DIALECT(.detect = true), "Date\tOpen\tAdj Close\n1\t2,5\t3;4\n",
             "<Date><Open><Adj Close>\n<1><2,5><3;4>\n", '\t');
    OK_DELIM(DIALECT(.detect = true), "a|b\n1|2\n", "<a><b>\n<1><2>\n", '|');
    OK_DELIM(DIALECT(.detect = true), "Date,Open\n1;2,3\n", "<Date><Open>\n<1;2><3>\n", ',');
    /* No candidate, or a tie: comma (the earlier candidate wins). */
    OK_DELIM(DIALECT(.detect = true), "Close\n1;2\n", "<Close>\n<1;2>\n", ',');
    OK_DELIM(DIALECT(.detect = true), "a,b;c\n1,2;3\n", "<a><b;c>\n<1><2;3>\n", ',');
    OK_DELIM(DIALECT(.detect = true), "a;b;c,d\n1;2;3,4\n", "<a><b><c,d>\n<1><2><3,4>\n", ';');
    /* Candidates inside quoted headers do not count, nor do their line ends. */
    OK_DELIM(DIALECT(.detect = true), "\"Price, EUR\";\"a,b\nc\"\n1;2\n",
             "<Price, EUR><a,b\nc>\n<1><2>\n", ';');
    OK_DELIM(DIALECT(.detect = true), "\"x\"\"y,z\";w\n1;2\n", "<x\"y,z><w>\n<1><2>\n", ';');
    /* A stray quote in a header does not open anything. */
    OK_DELIM(DIALECT(.detect = true), "lat 37\"N;lon\n1;2\n", "<lat 37\"N><lon>\n<1><2>\n", ';');
    /* Blank lines (and lines of spaces) before the header are skipped by detection too. */
    OK_DELIM(DIALECT(.detect = true), "\r\n\n \t\na;b\r\n1;2\r\n", "<a><b>\n<1><2>\n", ';');
    /* A byte order mark, CR line ends, no line end at all, an empty input. */
    OK_DELIM(DIALECT(.detect = true),
             "\xEF\xBB\xBF"
             "a;b\r1;2\r",
             "<a><b>\n<1><2>\n", ';');
    OK_DELIM(DIALECT(.detect = true), "a;b", "<a><b>\n", ';');
    OK_DELIM(DIALECT(.detect = true), "", "", ',');
    OK_DELIM(DIALECT(.detect = true), "\xEF\xBB\xBF", "", ',');
}

TEST(csv_detection_keeps_positions_and_errors)
{
    /* The header line is parsed from the parser's copy: the positions are the input's. */
    BAD_D(DIALECT(.detect = true), "a;b\n1;2;3\n", QP_CSV_ERR_RAGGED, 2, 5);
    BAD_D(DIALECT(.detect = true, .strict = true), "a;b\"c\n", QP_CSV_ERR_STRAY_QUOTE, 1, 4);
    BAD_D(DIALECT(.detect = true, .strict = true),
          "\xEF\xBB\xBF"
          "a;b\"\n",
          QP_CSV_ERR_STRAY_QUOTE, 1, 4);
    BAD_D(DIALECT(.detect = true), "\n\na;\"b\n", QP_CSV_ERR_UNTERMINATED, 3, 3);
    BAD_D(DIALECT(.detect = true), "\xEF\xBB", QP_CSV_ERR_UTF8, 1, 1);
    BAD_D(DIALECT(.detect = true), "\xEF\xBBx;y\n", QP_CSV_ERR_UTF8, 1, 1);
    BAD_D(DIALECT(.detect = true), "a;b\xC3\n", QP_CSV_ERR_UTF8, 1, 4);
}

/* A header of n columns "c00000;c00001;..." (with latin1, "\xE900000;...": the sniffed part
 * then ends inside a UTF-8 character) and one row of n fields, fed in chunks of chunk bytes
 * (0 = whole): both records must have n fields and the delimiter must be ';'. */
static void check_wide(size_t n, size_t chunk, bool latin1)
{
    size_t cap = n * 16 + 16, len = 0;
    char *in = malloc(cap);
    ASSERT_NOT_NULL(in);
    if (latin1) {
        /* 8 UTF-8 bytes a column ("\xC3\xA9" "00001;"): 7 more in front put a character
         * across offset 65536, where the sniffed copy ends. */
        len += (size_t)snprintf(in, cap, "abcdefg");
    }
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(in + len, cap - len, "%s%c%05zu", i ? ";" : "",
                                latin1 ? '\xE9' : 'c', i);
    }
    in[len++] = '\n';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(in + len, cap - len, "%s%zu", i ? ";" : "", i % 10);
    }
    struct qp_csv_opts o = { .same_width = true, .dialect = { .detect = true } };
    o.dialect.encoding = latin1 ? QP_ENCODING_LATIN1 : QP_ENCODING_UTF8;
    struct qp_csv *p = NULL;
    ASSERT_OK(qp_csv_create(&o, &p));
    struct qp_csv_record rec;
    size_t off = 0, records = 0;
    for (;;) {
        enum qp_csv_status st = qp_csv_next_record(p, &rec);
        if (st == QP_CSV_NEED_MORE) {
            size_t k = chunk == 0 || len - off < chunk ? len - off : chunk;
            qp_csv_feed(p, in + off, k);
            off += k;
            if (off == len) {
                qp_csv_finish(p);
            }
            continue;
        }
        if (st != QP_CSV_OK) {
            ASSERT_EQ_INT(st, QP_CSV_END);
            break;
        }
        ASSERT_EQ_INT(rec.count, n);
        ASSERT_EQ_INT(rec.fields[n - 1].len, records == 0 ? 6 + latin1 : 1);
        records++;
    }
    ASSERT_EQ_INT(records, 2);
    ASSERT_EQ_INT(qp_csv_delimiter(p), ';');
    qp_csv_destroy(p);
    free(in);
}

/* Fed a byte at a time, the 84 KB header once cost about 1 s in the plain build and 12 s under
 * TSan (every piece end looked at all the record's fields again); linear now, 0.1 s plain (the
 * work is checked by test_csv_wide.c). The minute is left for a loaded machine. */
TEST_WITH_TIMEOUT(csv_detection_of_a_header_longer_than_the_sniffed_part, 60)
{
    /* 12,000 columns: the header line is 84 KB, over the 64 KiB detection reads. */
    check_wide(12000, 0, false);
    check_wide(12000, 1000, false);
    check_wide(12000, 1, false);
    check_wide(3, 1, false);
    check_wide(12000, 0, true);
    check_wide(12000, 777, true);
}

/* ---- encodings (item 7) --------------------------------------------------------------------- */

TEST(csv_latin1_and_cp1252_are_transcoded_to_utf8)
{
    OK_D(DIALECT(LATIN1), "name,city\nJos\xE9,K\xF6ln\n",
         "<name><city>\n<Jos\xC3\xA9><K\xC3\xB6ln>\n");
    OK_D(DIALECT(LATIN1), "a\n\x80\x9F\xA0\xFF\n", "<a>\n<\xC2\x80\xC2\x9F\xC2\xA0\xC3\xBF>\n");
    OK_D(DIALECT(CP1252), "a,b\n\x80 5,\x93q\x94\n",
         "<a><b>\n<\xE2\x82\xAC 5><\xE2\x80\x9Cq\xE2\x80\x9D>\n");
    OK_D(DIALECT(CP1252), "a\n\x81\x8A\x99\x9F\xE9\n",
         "<a>\n<\xC2\x81\xC5\xA0\xE2\x84\xA2\xC5\xB8\xC3\xA9>\n");
    /* Quoted multi-line fields, doubled quotes and long runs across every split. */
    OK_D(DIALECT(CP1252), "a\n\"\xE9\n\xE9\"\"x\x85\"\n",
         "<a>\n<\xC3\xA9\n\xC3\xA9\"x\xE2\x80\xA6>\n");
    OK_D(DIALECT(LATIN1),
         "h\n0123456789abcdef\xE9"
         "0123456789abcdef\n",
         "<h>\n<0123456789abcdef\xC3\xA9"
         "0123456789abcdef>\n");
    /* With detection: a semicolon file from a European Excel. */
    OK_DELIM(DIALECT(CP1252, .detect = true),
             "Datum;Er\xF6"
             "ffnung;Schluss\n02.01.2024;1,5;\x80 2\n",
             "<Datum><Er\xC3\xB6"
             "ffnung><Schluss>\n<02.01.2024><1,5><\xE2\x82\xAC 2>\n",
             ';');
}

TEST(csv_utf8_byte_order_mark_overrides_a_single_byte_encoding)
{
    OK_D(DIALECT(LATIN1),
         "\xEF\xBB\xBF"
         "Jos\xC3\xA9\n",
         "<Jos\xC3\xA9>\n");
    OK_D(DIALECT(CP1252, .detect = true),
         "\xEF\xBB\xBF"
         "a;\xE2\x82\xAC\n1;2\n",
         "<a><\xE2\x82\xAC>\n<1><2>\n");
    /* The first bytes of one, then something else: ordinary Latin-1 text. */
    OK_D(DIALECT(LATIN1), "\xEF\xBBx\n", "<\xC3\xAF\xC2\xBBx>\n");
    OK_D(DIALECT(LATIN1), "\xEF\xBB\xBE\n", "<\xC3\xAF\xC2\xBB\xC2\xBE>\n");
    OK_D(DIALECT(LATIN1), "\xEF", "<\xC3\xAF>\n");
    OK_D(DIALECT(LATIN1), "", "");
    /* And the UTF-8 is checked as UTF-8 then. */
    BAD_D(DIALECT(LATIN1),
          "\xEF\xBB\xBF"
          "a\n\xE9\n",
          QP_CSV_ERR_UTF8, 2, 1);
}

TEST(csv_transcoded_errors_count_columns_in_input_bytes)
{
    BAD_D(DIALECT(LATIN1, .strict = true), "a,b\n\xE9\xE9,x\"y\n", QP_CSV_ERR_STRAY_QUOTE, 2, 5);
    BAD_D(DIALECT(LATIN1), "a,b\n\xE9\xE9\xE9,1,2\n", QP_CSV_ERR_RAGGED, 2, 7);
    BAD_D(DIALECT(LATIN1), "a,b\n\xE9\xE9\n", QP_CSV_ERR_RAGGED, 2, 3);
    BAD_D(DIALECT(LATIN1), "a,b\n\xE9\xE9,\"x\n\xE9\n", QP_CSV_ERR_UNTERMINATED, 2, 4);
    BAD_D(DIALECT(LATIN1), "a\n\xE9\xE9\0\n", QP_CSV_ERR_NUL, 2, 3);
    BAD_D(DIALECT(CP1252), "a\n\x80\x01\n", QP_CSV_ERR_XML_CHAR, 2, 2);
    BAD_D(DIALECT(LATIN1), "a,b\n\xE9,\"\xE9\"\xE9\n", QP_CSV_ERR_AFTER_QUOTE, 2, 6);
    BAD_D(DIALECT(CP1252), "\x80,b\n\"\x80\n\x80\x80\"\x80\n", QP_CSV_ERR_AFTER_QUOTE, 3, 4);
    /* The caps count UTF-8 bytes; the column is still the input's. */
    CHECK_ALL("a,b\n\xE9,\xE9\xE9\xE9\n", 10,
              (&(const struct qp_csv_opts){ .max_field = 4, .dialect = { LATIN1 } }), NULL,
              QP_CSV_ERR_FIELD_TOO_LARGE, 2, 3);
}

TEST(csv_invalid_utf8_error_suggests_an_encoding)
{
    static const char *const bad[] = { "a\nJos\xE9\n", "a\n\xE9t\xE9\n", "a\nx\xE9" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[256];
        struct qp_csv_error err;
        ASSERT_EQ_INT(csv_parse(bad[i], strlen(bad[i]), 0, 0, NULL, out, sizeof(out), &err, NULL),
                      QP_CSV_ERROR);
        ASSERT_EQ_INT(err.kind, QP_CSV_ERR_UTF8);
        if (strstr(err.message, "--encoding") == NULL) {
            test_fail(__FILE__, __LINE__, "message \"%s\" does not suggest --encoding",
                      err.message);
        }
    }
}

/* Builds a Latin-1 text of rows rows (with quoted multi-line fields and doubled quotes) and
 * its UTF-8 equivalent. */
static void latin1_doc(size_t rows, char **l1, size_t *l1_len, char **u8, size_t *u8_len)
{
    static const char row_l1[] = "Jos\xE9 N,\"caf\xE9\r\n\xE9t\xE9 \"\"x\"\"\",\xFF\n";
    static const char row_u8[] =
            "Jos\xC3\xA9 N,\"caf\xC3\xA9\r\n\xC3\xA9t\xC3\xA9 \"\"x\"\"\",\xC3\xBF\n";
    *l1 = malloc(16 + rows * sizeof(row_l1));
    *u8 = malloc(16 + rows * sizeof(row_u8));
    ASSERT_NOT_NULL(*l1);
    ASSERT_NOT_NULL(*u8);
    memcpy(*l1, "name,note,x\n", 12);
    memcpy(*u8, "name,note,x\n", 12);
    *l1_len = *u8_len = 12;
    for (size_t i = 0; i < rows; i++) {
        memcpy(*l1 + *l1_len, row_l1, sizeof(row_l1) - 1);
        *l1_len += sizeof(row_l1) - 1;
        memcpy(*u8 + *u8_len, row_u8, sizeof(row_u8) - 1);
        *u8_len += sizeof(row_u8) - 1;
    }
}

TEST(csv_large_latin1_input_is_transcoded_in_slices)
{
    /* 300 KB, so a whole-input feed is transcoded in several 64 KiB slices; the records must
     * be those of the UTF-8 text, whatever the chunking. */
    char *l1, *u8;
    size_t l1_len, u8_len;
    latin1_doc(10000, &l1, &l1_len, &u8, &u8_len);
    size_t cap = u8_len * 2;
    char *want = malloc(cap), *got = malloc(cap);
    ASSERT_NOT_NULL(want);
    ASSERT_NOT_NULL(got);
    struct qp_csv_error err;
    ASSERT_EQ_INT(csv_parse(u8, u8_len, 0, 0, DIALECT(0), want, cap, &err, NULL), QP_CSV_END);
    static const size_t chunks[] = { 0, 1000, 7, 65536, 65537 };
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        enum qp_csv_status st =
                csv_parse(l1, l1_len, chunks[c], 0, DIALECT(LATIN1), got, cap, &err, NULL);
        if (st != QP_CSV_END) {
            test_fail(__FILE__, __LINE__, "chunk %zu: %s at %llu:%llu: %s", chunks[c],
                      qp_csv_error_name(err.kind), (unsigned long long)err.line,
                      (unsigned long long)err.column, err.message);
        }
        ASSERT_TRUE(strcmp(got, want) == 0);
    }
    free(want);
    free(got);
    free(l1);
    free(u8);
}

/* Line 2 is pre bytes of 0xE9, then tail: the error must be at line 2, column want_col. */
static void check_long_line(size_t pre, const char *tail, const struct qp_csv_opts *o,
                            enum qp_csv_error_kind kind, uint64_t want_col)
{
    size_t tl = strlen(tail), len = 4 + pre + tl;
    char *in = malloc(len);
    ASSERT_NOT_NULL(in);
    memcpy(in, "a,b\n", 4);
    memset(in + 4, 0xE9, pre);
    memcpy(in + 4 + pre, tail, tl);
    static const size_t chunks[] = { 0, 4096, 70001 };
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        size_t cap = 4 * len + 64;
        char *out = malloc(cap);
        ASSERT_NOT_NULL(out);
        struct qp_csv_error err;
        ASSERT_EQ_INT(csv_parse(in, len, chunks[c], 0, o, out, cap, &err, NULL), QP_CSV_ERROR);
        if (err.kind != kind || err.line != 2 || err.column != want_col) {
            test_fail(__FILE__, __LINE__, "chunk %zu: %s at %llu:%llu, want %s at 2:%llu",
                      chunks[c], qp_csv_error_name(err.kind), (unsigned long long)err.line,
                      (unsigned long long)err.column, qp_csv_error_name(kind),
                      (unsigned long long)want_col);
        }
        free(out);
    }
    free(in);
}

TEST(csv_transcoded_columns_on_lines_longer_than_a_slice)
{
    check_long_line(100000, "\"x,1\n", DIALECT(LATIN1, .strict = true), QP_CSV_ERR_STRAY_QUOTE,
                    100001);
    check_long_line(100000, ",1,2\n", DIALECT(LATIN1), QP_CSV_ERR_RAGGED, 100004);
    /* A quoted field opened at column 70,002 and never closed, 100,000 bytes later. */
    char tail[100010];
    memcpy(tail, ",\"", 2);
    memset(tail + 2, 'x', 100000);
    tail[100002] = '\0';
    check_long_line(70000, tail, DIALECT(LATIN1), QP_CSV_ERR_UNTERMINATED, 70002);
}

/* ---- blank lines (item 8) ------------------------------------------------------------------- */

TEST(csv_lines_of_only_spaces_and_tabs_are_blank_lines)
{
    OK_D(DIALECT(0), "a,b\n1,2\n   \n", "<a><b>\n<1><2>\n");
    OK_D(DIALECT(0), "a,b\n1,2\n   ", "<a><b>\n<1><2>\n");
    OK_D(DIALECT(0), "a,b\r\n1,2\r\n \t \r\n3,4\r\n\t\r\n", "<a><b>\n<1><2>\n<3><4>\n");
    OK_D(DIALECT(0), "  \n\t\na,b\n1,2\n", "<a><b>\n<1><2>\n");
    OK_D(DIALECT(0), "a,b\n  \n", "<a><b>\n");
    OK_D(DIALECT(0), "   \n", "");
    OK_D(DIALECT(0), "a\n \n1\n", "<a>\n<1>\n");
    OK_D(DIALECT(.detect = true), "a;b\n1;2\n    ", "<a><b>\n<1><2>\n");
    OK_D(DIALECT(LATIN1), "a,b\n\xE9,2\n  \n", "<a><b>\n<\xC3\xA9><2>\n");
    /* With a tab or space delimiter, only lines without one are blank. */
    OK_D(DIALECT(.delimiter = '\t'), "a\tb\n1\t2\n   \n\t\n", "<a><b>\n<1><2>\n<><>\n");
    /* Not blank: a quoted field of spaces, or spaces with a delimiter. */
    OK_D(NULL, "a\n\"  \"\n", "<a>\n<  >\n");
    OK_D(DIALECT(0), "a,b\n , \n", "<a><b>\n< >< >\n");
    BAD_D(DIALECT(0), "a,b\n1,2\n\"  \"\n", QP_CSV_ERR_RAGGED, 3, 5);
    BAD_D(DIALECT(0), "a,b\n1,2\n  x\n", QP_CSV_ERR_RAGGED, 3, 4);
    /* The next record keeps its line number. */
    BAD_D(DIALECT(0), "a,b\n  \n \n1\n", QP_CSV_ERR_RAGGED, 4, 2);
}

/* Fuzz finding (quotepack_csv, tests/fuzz/corpus/quotepack_csv/column-detect-cp1252): with
 * detection and transcoding, a field starting where the sniffed copy's last buffer began got
 * its column in UTF-8 bytes when the input came in 2-byte chunks. */
TEST(csv_transcoded_detected_error_column_same_at_every_chunk_size)
{
    static const char *const ins[] = { "\na\x9c,\"\n", "\n\t\t\x9c\x08\t\"\n",
                                       "\n\xE9\xE9,\"x\n\xE9\n" };
    static const uint64_t cols[] = { 4, 6, 4 };
    for (int enc = QP_ENCODING_LATIN1; enc <= QP_ENCODING_CP1252; enc++) {
        struct qp_csv_opts o = { .dialect = { .detect = true, .encoding = (enum qp_encoding)enc } };
        for (size_t i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
            for (size_t chunk = 0; chunk <= 8; chunk++) {
                char out[256];
                struct qp_csv_error err;
                enum qp_csv_status st = csv_parse(ins[i], strlen(ins[i]), chunk, 0, &o, out,
                                                  sizeof(out), &err, NULL);
                ASSERT_EQ_INT(st, QP_CSV_ERROR);
                ASSERT_EQ_INT(err.kind, QP_CSV_ERR_UNTERMINATED);
                ASSERT_EQ_U64(err.line, 2);
                ASSERT_EQ_U64(err.column, cols[i]);
            }
        }
    }
}

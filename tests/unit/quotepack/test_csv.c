// SPDX-License-Identifier: MIT
/* Unit tests for the streaming CSV parser: grammar, errors with positions, every chunking. */
#include "../testlib.h"

#include "csv_check.h"
#include "quotepack/csv.h"

static const struct qp_csv_opts strict = { .same_width = true, .xml_chars = true };
/* With --strict: a quote inside an unquoted field is an error. */
static const struct qp_csv_opts strict_quotes = { .same_width = true,
                                                  .xml_chars = true,
                                                  .dialect = { .strict = true } };

#define OK(in, expect)          CHECK_ALL((in), sizeof(in) - 1, &strict, (expect), QP_CSV_ERR_NONE, 0, 0)
#define BAD(in, kind, l, c)     CHECK_ALL((in), sizeof(in) - 1, &strict, NULL, (kind), (l), (c))
#define OK_LAX(in, expect)      CHECK_ALL((in), sizeof(in) - 1, NULL, (expect), QP_CSV_ERR_NONE, 0, 0)
#define BAD_LAX(in, kind, l, c) CHECK_ALL((in), sizeof(in) - 1, NULL, NULL, (kind), (l), (c))
#define BAD_SQ(in, kind, l, c) \
    CHECK_ALL((in), sizeof(in) - 1, &strict_quotes, NULL, (kind), (l), (c))

TEST(csv_simple_lf_crlf_cr_and_no_final_newline)
{
    OK("a,b\n1,2\n", "<a><b>\n<1><2>\n");
    OK("a,b\r\n1,2\r\n", "<a><b>\n<1><2>\n");
    OK("a,b\r1,2\r", "<a><b>\n<1><2>\n");
    OK("a,b\n1,2", "<a><b>\n<1><2>\n");
    OK("a", "<a>\n");
    OK("", "");
}

TEST(csv_blank_lines_are_skipped)
{
    OK("\n\r\n\na,b\n\n1,2\r\n\r\n\r\n3,4\n\n", "<a><b>\n<1><2>\n<3><4>\n");
}

TEST(csv_empty_fields_and_trailing_comma)
{
    OK("a,b,c\n,,\n\"\",x,\n", "<a><b><c>\n<><><>\n<><x><>\n");
    OK("a,b\n1,", "<a><b>\n<1><>\n");
}

TEST(csv_quoted_fields)
{
    OK("h1,h2\n\"a,b\",\"say \"\"hi\"\"\"\n", "<h1><h2>\n<a,b><say \"hi\">\n");
    OK("h\n\"\"\"\"\n", "<h>\n<\">\n");
    OK("h\n\"line1\nline2\r\nline3\rx\"\n", "<h>\n<line1\nline2\r\nline3\rx>\n");
    OK("h,i\n\"a\"\"\",\"\"\"b\"\r\n", "<h><i>\n<a\"><\"b>\n");
    OK("h\n\"x\"", "<h>\n<x>\n");
}

TEST(csv_spaces_are_data)
{
    OK("a , b\n 1 ,2 \n", "<a >< b>\n< 1 ><2 >\n");
}

TEST(csv_bom_is_skipped)
{
    OK("\xEF\xBB\xBF"
       "Date,Open\n1,2\n",
       "<Date><Open>\n<1><2>\n");
    OK("\xEF\xBB\xBF", "");
    /* A BOM only counts at the very start. */
    OK("a\n\xEF\xBB\xBF\n", "<a>\n<\xEF\xBB\xBF>\n");
    /* Column numbers on line 1 count after the BOM. */
    BAD_SQ("\xEF\xBB\xBF"
           "a,b\"\n",
           QP_CSV_ERR_STRAY_QUOTE, 1, 4);
}

TEST(csv_partial_bom_is_data)
{
    /* EF BF BE is U+FFFE: valid UTF-8, allowed without xml_chars, forbidden with it. */
    OK_LAX("\xEF\xBF\xBE,x\n", "<\xEF\xBF\xBE><x>\n");
    BAD("\xEF\xBF\xBE,x\n", QP_CSV_ERR_XML_CHAR, 1, 1);
    BAD("\xEF\xBBx\n", QP_CSV_ERR_UTF8, 1, 1);
    BAD("\xEF", QP_CSV_ERR_UTF8, 1, 1);
    BAD("\xEF\xBB", QP_CSV_ERR_UTF8, 1, 1);
    OK_LAX("\xEF\xBB\xBE\n", "<\xEF\xBB\xBE>\n");
}

TEST(csv_unicode_values)
{
    OK("name,city\nJos\xC3\xA9,\xE6\x9D\xB1\xE4\xBA\xAC\n\xF0\x9F\x98\x80,\"\xC3\xA9,\"\n",
       "<name><city>\n<Jos\xC3\xA9><\xE6\x9D\xB1\xE4\xBA\xAC>\n<\xF0\x9F\x98\x80><\xC3\xA9,>\n");
}

TEST(csv_ragged_rows_are_errors_with_position)
{
    BAD("a,b\n1,2,3\n", QP_CSV_ERR_RAGGED, 2, 5);
    BAD("a,b\n1,2,\n", QP_CSV_ERR_RAGGED, 2, 5);
    BAD("a,b,c\n1,2\n", QP_CSV_ERR_RAGGED, 2, 4);
    BAD("a,b,c\r\n1,2\r\n", QP_CSV_ERR_RAGGED, 2, 4);
    BAD("a,b,c\n1,2", QP_CSV_ERR_RAGGED, 2, 4);
    BAD("a,b\n1,2\n\n\"x\ny\"\n", QP_CSV_ERR_RAGGED, 5, 3);
    OK_LAX("a,b\n1,2,3\n4\n", "<a><b>\n<1><2><3>\n<4>\n");
}

TEST(csv_unterminated_quote_points_at_the_opening_quote)
{
    BAD("a,b\n1,\"abc\n\n", QP_CSV_ERR_UNTERMINATED, 2, 3);
    BAD("\"", QP_CSV_ERR_UNTERMINATED, 1, 1);
    BAD("a\n\"x\"\"", QP_CSV_ERR_UNTERMINATED, 2, 1);
}

TEST(csv_stray_quote_and_text_after_quote)
{
    BAD_SQ("a,b\n1,ab\"c\n", QP_CSV_ERR_STRAY_QUOTE, 2, 5);
    BAD("a,b\n1,\"ab\"c\n", QP_CSV_ERR_AFTER_QUOTE, 2, 7);
    BAD("a,b\n1,\"ab\" \n", QP_CSV_ERR_AFTER_QUOTE, 2, 7);
    BAD("a\n\"ab\"\xC3\xA9\n", QP_CSV_ERR_AFTER_QUOTE, 2, 5);
}

TEST(csv_nul_is_an_error)
{
    static const char in[] = "a,b\n1,x\0y\n";
    CHECK_ALL(in, sizeof(in) - 1, &strict, NULL, QP_CSV_ERR_NUL, 2, 4);
    CHECK_ALL(in, sizeof(in) - 1, NULL, NULL, QP_CSV_ERR_NUL, 2, 4);
    static const char q[] = "a\n\"\0\"\n";
    CHECK_ALL(q, sizeof(q) - 1, NULL, NULL, QP_CSV_ERR_NUL, 2, 2);
}

TEST(csv_invalid_utf8_is_an_error_with_position)
{
    BAD("a,b\n1,x\xFFy\n", QP_CSV_ERR_UTF8, 2, 4);
    BAD("a,b\n1,\x80\n", QP_CSV_ERR_UTF8, 2, 3);
    BAD("a\n\xC0\x80\n", QP_CSV_ERR_UTF8, 2, 1);         /* overlong NUL */
    BAD("a\n\xE0\x80\x80\n", QP_CSV_ERR_UTF8, 2, 1);     /* overlong */
    BAD("a\n\xF4\x90\x80\x80\n", QP_CSV_ERR_UTF8, 2, 1); /* over U+10FFFF */
    BAD("a\n\xF5\x80\x80\x80\n", QP_CSV_ERR_UTF8, 2, 1);
    BAD("a\nxy\xC3\n", QP_CSV_ERR_UTF8, 2, 3);   /* truncated */
    BAD("a\nxy\xE6\x9D", QP_CSV_ERR_UTF8, 2, 3); /* truncated at the end */
    BAD("a\n\"\xC3\"\n", QP_CSV_ERR_UTF8, 2, 2);
    BAD_LAX("a\n\xED\xA0\x80\n", QP_CSV_ERR_UTF8, 2, 1); /* surrogate */
}

TEST(csv_xml_forbidden_characters)
{
    BAD("a\nx\x01y\n", QP_CSV_ERR_XML_CHAR, 2, 2);
    BAD("a\n\"\x1F\"\n", QP_CSV_ERR_XML_CHAR, 2, 2);
    BAD("a\n\xEF\xBF\xBF\n", QP_CSV_ERR_XML_CHAR, 2, 1);
    BAD("a\nab\xED\xA0\x80\n", QP_CSV_ERR_XML_CHAR, 2, 3);
    OK("a\nx\ty\x7F\n", "<a>\n<x\ty\x7F>\n");
    OK_LAX("a\nx\x01y\n", "<a>\n<x\x01y>\n");
}

TEST(csv_line_numbers_count_lines_inside_quotes)
{
    BAD("h\n\"a\r\nb\rc\nd\"\n\"x\"y\n", QP_CSV_ERR_AFTER_QUOTE, 6, 4);
    BAD_SQ("h\r\n\r\n\r\nx\"\n", QP_CSV_ERR_STRAY_QUOTE, 4, 2);
}

TEST(csv_record_lines_and_indexes)
{
    static const char in[] = "a\n\n\"x\ny\"\nz\n";
    struct qp_csv *p = NULL;
    ASSERT_OK(qp_csv_create(NULL, &p));
    qp_csv_feed(p, in, sizeof(in) - 1);
    qp_csv_finish(p);
    struct qp_csv_record rec;
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_EQ_U64(rec.line, 1);
    ASSERT_EQ_U64(rec.index, 0);
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_EQ_U64(rec.line, 3);
    ASSERT_EQ_U64(rec.index, 1);
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_EQ_U64(rec.line, 5);
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_END);
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_END);
    ASSERT_EQ_INT(qp_csv_error(p)->kind, QP_CSV_ERR_NONE);
    qp_csv_destroy(p);
}

TEST(csv_unquoted_fields_in_one_chunk_are_zero_copy)
{
    static const char in[] = "ab,cd\n\"q\",\"r\"\"s\"\n\"t\",u\n";
    struct qp_csv *p = NULL;
    ASSERT_OK(qp_csv_create(NULL, &p));
    qp_csv_feed(p, in, sizeof(in) - 1);
    qp_csv_finish(p);
    struct qp_csv_record rec;
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_TRUE(rec.fields[0].data == in);
    ASSERT_TRUE(rec.fields[1].data == in + 3);
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_EQ_INT(rec.fields[0].len, 1);
    ASSERT_EQ_MEM(rec.fields[0].data, "q", 1);
    ASSERT_EQ_INT(rec.fields[1].len, 3);
    ASSERT_EQ_MEM(rec.fields[1].data, "r\"s", 3);
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_TRUE(rec.fields[0].data == in + 18); /* quoted without "" : still a slice */
    ASSERT_TRUE(rec.fields[1].data == in + 21);
    qp_csv_destroy(p);
}

TEST(csv_caps_on_field_record_and_columns)
{
    struct qp_csv_opts o = { .max_field = 4, .max_record = 10, .max_columns = 3 };
    CHECK_ALL("abcd,x\n", 7, &o, "<abcd><x>\n", QP_CSV_ERR_NONE, 0, 0);
    CHECK_ALL("a\nabcde\n", 8, &o, NULL, QP_CSV_ERR_FIELD_TOO_LARGE, 2, 1);
    CHECK_ALL("a\n\"ab\"\"cd\"\n", 11, &o, NULL, QP_CSV_ERR_FIELD_TOO_LARGE, 2, 1);
    CHECK_ALL("abcd,abcd,abc\n", 14, &o, NULL, QP_CSV_ERR_RECORD_TOO_LARGE, 1, 1);
    CHECK_ALL("a,b,c,d\n", 8, &o, NULL, QP_CSV_ERR_TOO_MANY_COLUMNS, 1, 7);
}

TEST(csv_many_columns_grow_the_field_array)
{
    char in[4000];
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
        n += (size_t)sprintf(in + n, "%s%d", i ? "," : "", i % 10);
    }
    in[n++] = '\n';
    struct qp_csv *p = NULL;
    ASSERT_OK(qp_csv_create(&strict, &p));
    qp_csv_feed(p, in, n);
    qp_csv_finish(p);
    struct qp_csv_record rec;
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_EQ_INT(rec.count, 500);
    ASSERT_EQ_INT(rec.fields[499].data[0], '9');
    qp_csv_destroy(p);
}

TEST(csv_long_quoted_field_across_many_chunks)
{
    size_t n = 100000;
    char *in = malloc(2 * n);
    ASSERT_NOT_NULL(in);
    size_t o = 0;
    memcpy(in, "h\n\"", 3);
    o = 3;
    for (size_t i = 0; i < n - 10; i++) {
        in[o++] = i % 97 == 0 ? '"' : (char)('a' + i % 26);
        if (i % 97 == 0) {
            in[o++] = '"';
        }
    }
    in[o++] = '"';
    in[o++] = '\n';
    struct qp_csv *p = NULL;
    ASSERT_OK(qp_csv_create(NULL, &p));
    struct qp_csv_record rec;
    size_t off = 0, expect_len = 0;
    for (size_t i = 0; i < n - 10; i++) {
        expect_len++;
    }
    int records = 0;
    for (;;) {
        enum qp_csv_status st = qp_csv_next_record(p, &rec);
        if (st == QP_CSV_NEED_MORE) {
            size_t c = o - off < 777 ? o - off : 777;
            qp_csv_feed(p, in + off, c);
            off += c;
            if (off == o) {
                qp_csv_finish(p);
            }
            continue;
        }
        if (st != QP_CSV_OK) {
            ASSERT_EQ_INT(st, QP_CSV_END);
            break;
        }
        if (records++ == 1) {
            ASSERT_EQ_INT(rec.fields[0].len, expect_len);
            ASSERT_EQ_INT(rec.fields[0].data[0], '"');
            ASSERT_EQ_INT(rec.fields[0].data[1], 'b');
        }
    }
    ASSERT_EQ_INT(records, 2);
    qp_csv_destroy(p);
    free(in);
}

TEST(csv_error_names)
{
    ASSERT_EQ_STR(qp_csv_error_name(QP_CSV_ERR_RAGGED), "ragged-row");
    ASSERT_EQ_STR(qp_csv_error_name(QP_CSV_ERR_UTF8), "bad-utf8");
    ASSERT_EQ_STR(qp_csv_error_name((enum qp_csv_error_kind)999), "unknown");
}

TEST(csv_caps_count_raw_bytes_whatever_the_chunking)
{
    struct qp_csv_opts o = { .max_field = 5, .max_record = 12 };
    /* A quoted field's raw bytes include the opening quote, not the closing one. */
    CHECK_ALL("\"abcd\"\n", 7, &o, "<abcd>\n", QP_CSV_ERR_NONE, 0, 0);
    CHECK_ALL("\"abcde\"\n", 8, &o, NULL, QP_CSV_ERR_FIELD_TOO_LARGE, 1, 1);
    CHECK_ALL("\"a\"\"b\"\n", 7, &o, "<a\"b>\n", QP_CSV_ERR_NONE, 0, 0);
    CHECK_ALL("\"ab\"\"c\"\n", 8, &o, NULL, QP_CSV_ERR_FIELD_TOO_LARGE, 1, 1);
    /* The cap wins over an error later in the same field. */
    CHECK_ALL("abcdefgh\0\n", 10, &o, NULL, QP_CSV_ERR_FIELD_TOO_LARGE, 1, 1);
    CHECK_ALL("abcde\xC3\xA9\n", 8, &o, NULL, QP_CSV_ERR_FIELD_TOO_LARGE, 1, 1);
    CHECK_ALL("abcd\xC3\xA9\n", 7, &o, NULL, QP_CSV_ERR_FIELD_TOO_LARGE, 1, 1);
    /* Record bytes include the commas; the line end does not count. */
    CHECK_ALL("abcde,abcde,\n", 13, &o, "<abcde><abcde><>\n", QP_CSV_ERR_NONE, 0, 0);
    CHECK_ALL("abcde,abcde,x\n", 14, &o, NULL, QP_CSV_ERR_RECORD_TOO_LARGE, 1, 1);
    CHECK_ALL("x\nabcde,abcde,,\n", 16, &o, NULL, QP_CSV_ERR_RECORD_TOO_LARGE, 2, 1);
}

TEST(csv_long_fields_take_the_vector_path_and_agree_with_bytes)
{
    /* Fields longer than 16 bytes with TAB, & < >, UTF-8 and DEL at varied places: the
     * whole-input parse (16-byte scans) must match 1-byte chunks (byte scans). */
    OK("h,i\n0123456789abcdef\tghij,\"klmnopqrstuvwxyz&0123<>\"\n",
       "<h><i>\n<0123456789abcdef\tghij><klmnopqrstuvwxyz&0123<>>\n");
    OK("h\n\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\tx\n",
       "<h>\n<\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\tx>\n");
    OK("h\n0123456789abcde\xC3\xA9\x7F"
       "0123456789abcdef\n",
       "<h>\n<0123456789abcde\xC3\xA9\x7F"
       "0123456789abcdef>\n");
    BAD("h\n0123456789abcdef0123\x02\n", QP_CSV_ERR_XML_CHAR, 2, 21);
    BAD_SQ("h\n0123456789abcdef01234\"\n", QP_CSV_ERR_STRAY_QUOTE, 2, 22);
    OK("h\n0123456789abcdef01234\"\n", "<h>\n<0123456789abcdef01234\">\n");
    BAD("h\n\"0123456789abcdef0123456789\"x\n", QP_CSV_ERR_AFTER_QUOTE, 2, 29);
    BAD("h,i\n0123456789abcdef,0123456789abcdef,x\n", QP_CSV_ERR_RAGGED, 2, 35);
}

TEST(csv_fields_flag_what_xml_must_escape)
{
    static const char in[] = "a,b,c,d\nx&y,\"p\rq\",plain,\"<\"\n";
    struct qp_csv *p = NULL;
    ASSERT_OK(qp_csv_create(&strict, &p));
    qp_csv_feed(p, in, sizeof(in) - 1);
    qp_csv_finish(p);
    struct qp_csv_record rec;
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_EQ_INT(rec.bytes, 4);
    ASSERT_EQ_INT(qp_csv_next_record(p, &rec), QP_CSV_OK);
    ASSERT_TRUE(rec.fields[0].xml_special);
    ASSERT_TRUE(rec.fields[1].xml_special);
    ASSERT_FALSE(rec.fields[2].xml_special);
    ASSERT_TRUE(rec.fields[3].xml_special);
    ASSERT_EQ_INT(rec.bytes, 3 + 3 + 5 + 1);
    qp_csv_destroy(p);
}

TEST(csv_utf8_errors_at_every_offset_of_the_vector_scan)
{
    /* k two-byte characters, then a bad sequence: the vector scan steps over the good ones
     * and leaves the bad one to the byte path, whatever k is relative to 16. */
    static const char *const bad[] = { "\xC3(",        "\xE6\x9D",         "\xED\xA0\x80",
                                       "\xEF\xBF\xBE", "\xF4\x90\x80\x80", "\xFF" };
    static const enum qp_csv_error_kind kinds[] = { QP_CSV_ERR_UTF8,     QP_CSV_ERR_UTF8,
                                                    QP_CSV_ERR_XML_CHAR, QP_CSV_ERR_XML_CHAR,
                                                    QP_CSV_ERR_UTF8,     QP_CSV_ERR_UTF8 };
    for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
        for (size_t k = 0; k < 20; k++) {
            char in[128];
            size_t n = 0;
            memcpy(in, "h\n", 2);
            n = 2;
            for (size_t j = 0; j < k; j++) {
                memcpy(in + n, "\xC3\xA9", 2);
                n += 2;
            }
            memcpy(in + n, bad[b], strlen(bad[b]));
            n += strlen(bad[b]);
            memcpy(in + n, "xyz0123456789abcdef\n", 20);
            n += 20;
            CHECK_ALL(in, n, &strict, NULL, kinds[b], 2, 2 * k + 1);
        }
    }
    /* And valid ones of every length around a 16-byte boundary. */
    for (size_t k = 1; k < 20; k++) {
        char in[128], expect[160];
        size_t n = 2;
        memcpy(in, "h\n", 2);
        for (size_t j = 0; j < k; j++) {
            static const char *const seqs[] = { "\xC3\xA9", "\xE6\x9D\xB1", "\xF0\x9F\x98\x80" };
            const char *q = seqs[j % 3];
            memcpy(in + n, q, strlen(q));
            n += strlen(q);
        }
        in[n++] = '\n';
        snprintf(expect, sizeof(expect), "<h>\n<%.*s>\n", (int)(n - 3), in + 2);
        CHECK_ALL(in, n, &strict, expect, QP_CSV_ERR_NONE, 0, 0);
    }
}

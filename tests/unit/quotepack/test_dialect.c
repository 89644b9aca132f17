// SPDX-License-Identifier: MIT
/* Unit tests for dialect helpers (delimiter names, detection) and the single-byte transcoder. */
#include "../testlib.h"

#include <errno.h>

#include "quotepack/dialect.h"
#include "quotepack/transcode.h"

static char guess(const char *s)
{
    return qp_dialect_guess(s, strlen(s));
}

TEST(dialect_guess_counts_candidates_outside_quotes)
{
    ASSERT_EQ_INT(guess("Date,Open,High"), ',');
    ASSERT_EQ_INT(guess("Date;Open;High"), ';');
    ASSERT_EQ_INT(guess("Date\tOpen\tAdj Close"), '\t');
    ASSERT_EQ_INT(guess("a|b|c"), '|');
    ASSERT_EQ_INT(guess("Close"), ',');
    ASSERT_EQ_INT(guess(""), ',');
    ASSERT_EQ_INT(guess("a;b,c"), ',');   /* a tie: the earlier candidate */
    ASSERT_EQ_INT(guess("a\tb|c"), '\t'); /* a tie */
    ASSERT_EQ_INT(guess("a;b;c,d"), ';');
    ASSERT_EQ_INT(guess("\"a,b,c\";d"), ';');       /* inside quotes: not counted */
    ASSERT_EQ_INT(guess("\"a\"\",\"\",\";d"), ';'); /* "" inside quotes */
    ASSERT_EQ_INT(guess("x;\"a,b,c\";d"), ';');     /* a quote after a candidate opens */
    ASSERT_EQ_INT(guess("lat 37\"N,x;y;z"), ';');   /* a stray quote does not */
    ASSERT_EQ_INT(guess(" \"a,b,c\";d"), ',');      /* nor one after a space (as parsed) */
}

/* Feeds s to a scanner in pieces of n bytes; returns the bytes consumed in all. */
static size_t scan_in_pieces(struct qp_dialect_scan *sc, const char *s, size_t n)
{
    memset(sc, 0, sizeof(*sc));
    size_t len = strlen(s), off = 0;
    while (off < len && !sc->found) {
        size_t k = len - off < n ? len - off : n;
        off += qp_dialect_scan(sc, s + off, k);
    }
    return off;
}

TEST(dialect_scan_finds_the_header_line_in_any_pieces)
{
    static const char in[] = "\r\n  \t\n\"a\nb\";\"c\"\"\r\";d\r\n1;2;3\n";
    for (size_t n = 1; n <= sizeof(in); n++) {
        struct qp_dialect_scan sc;
        size_t used = scan_in_pieces(&sc, in, n);
        ASSERT_TRUE(sc.found);
        ASSERT_EQ_U64(sc.line_start, 6);
        ASSERT_EQ_U64(sc.line_end, 20);
        ASSERT_EQ_INT(used, 21); /* through the CR; the LF is left to the parser */
        ASSERT_EQ_INT(qp_dialect_guess(in + 6, 20 - 6), ';');
    }
    struct qp_dialect_scan sc;
    ASSERT_EQ_INT(scan_in_pieces(&sc, "a;\"b\nc", 3), 6); /* open quote to the end */
    ASSERT_FALSE(sc.found);
    ASSERT_EQ_INT(scan_in_pieces(&sc, "\n \n", 1), 3);
    ASSERT_FALSE(sc.found);
    ASSERT_EQ_U64(sc.line_start, 3);
}

TEST(dialect_delimiter_arguments_and_names)
{
    struct qp_csv_dialect d = { 0 };
    ASSERT_OK(qp_dialect_parse_delimiter("semicolon", &d));
    ASSERT_EQ_INT(d.delimiter, ';');
    ASSERT_OK(qp_dialect_parse_delimiter("auto", &d));
    ASSERT_TRUE(d.detect);
    ASSERT_OK(qp_dialect_parse_delimiter("#", &d));
    ASSERT_FALSE(d.detect);
    ASSERT_EQ_INT(d.delimiter, '#');
    ASSERT_OK(qp_dialect_parse_delimiter("\x1F", &d));
    ASSERT_EQ_INT(d.delimiter, 0x1F);
    static const char *const bad[] = { "", "\"", "\n", "\r", "ab", "\xC3\xA9", "\xA7", "Tab" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d.delimiter = 'x';
        ASSERT_EQ_INT(qp_dialect_parse_delimiter(bad[i], &d), -EINVAL);
        ASSERT_EQ_INT(d.delimiter, 'x');
    }
    char buf[24];
    ASSERT_EQ_STR(qp_dialect_delimiter_name(',', buf, sizeof(buf)), "comma");
    ASSERT_EQ_STR(qp_dialect_delimiter_name('\t', buf, sizeof(buf)), "tab");
    ASSERT_EQ_STR(qp_dialect_delimiter_name('#', buf, sizeof(buf)), "'#'");
    ASSERT_EQ_STR(qp_dialect_delimiter_name(0x1F, buf, sizeof(buf)), "byte 0x1F");
}

TEST(transcode_latin1_and_cp1252)
{
    char in[256], out[3 * 256 + 1];
    for (int i = 0; i < 256; i++) {
        in[i] = (char)i;
    }
    /* Latin-1: every byte b >= 0x80 is U+00bb, two bytes. */
    size_t n = qp_transcode_to_utf8(QP_ENCODING_LATIN1, in, 256, out);
    ASSERT_EQ_INT(n, 128 + 2 * 128);
    ASSERT_EQ_MEM(out, in, 128);
    for (int b = 0x80; b < 0x100; b++) {
        const unsigned char *o = (const unsigned char *)out + 128 + 2 * (b - 0x80);
        ASSERT_EQ_INT(o[0], 0xC0 | (b >> 6));
        ASSERT_EQ_INT(o[1], 0x80 | (b & 0x3F));
    }
    /* Windows-1252 0x80..0x9F: 27 signs of 2 or 3 bytes and 5 C1 controls; the rest Latin-1. */
    static const struct {
        unsigned char b;
        const char *utf8;
    } signs[] = { { 0x80, "\xE2\x82\xAC" }, { 0x81, "\xC2\x81" },     { 0x83, "\xC6\x92" },
                  { 0x84, "\xE2\x80\x9E" }, { 0x8A, "\xC5\xA0" },     { 0x8D, "\xC2\x8D" },
                  { 0x8F, "\xC2\x8F" },     { 0x90, "\xC2\x90" },     { 0x93, "\xE2\x80\x9C" },
                  { 0x94, "\xE2\x80\x9D" }, { 0x96, "\xE2\x80\x93" }, { 0x99, "\xE2\x84\xA2" },
                  { 0x9D, "\xC2\x9D" },     { 0x9F, "\xC5\xB8" },     { 0xA0, "\xC2\xA0" },
                  { 0xE9, "\xC3\xA9" },     { 0xFF, "\xC3\xBF" } };
    for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]); i++) {
        char c = (char)signs[i].b;
        n = qp_transcode_to_utf8(QP_ENCODING_CP1252, &c, 1, out);
        ASSERT_EQ_INT(n, strlen(signs[i].utf8));
        ASSERT_EQ_MEM(out, signs[i].utf8, n);
    }
    /* ASCII runs longer than a vector, around a sign. */
    static const char mixed[] = "0123456789abcdefghij\x80klmnopqrstuvwxyz0123456789";
    n = qp_transcode_to_utf8(QP_ENCODING_CP1252, mixed, sizeof(mixed) - 1, out);
    out[n] = '\0';
    ASSERT_EQ_STR(out, "0123456789abcdefghij\xE2\x82\xACklmnopqrstuvwxyz0123456789");
    ASSERT_EQ_INT(qp_transcode_to_utf8(QP_ENCODING_UTF8, "ab", 2, out), 2);
    ASSERT_EQ_INT(qp_transcode_to_utf8(QP_ENCODING_LATIN1, "", 0, out), 0);
}

TEST(encoding_names)
{
    enum qp_encoding e;
    ASSERT_OK(qp_encoding_parse("UTF-8", &e));
    ASSERT_EQ_INT(e, QP_ENCODING_UTF8);
    ASSERT_OK(qp_encoding_parse("ISO-8859-1", &e));
    ASSERT_EQ_INT(e, QP_ENCODING_LATIN1);
    ASSERT_OK(qp_encoding_parse("cp1252", &e));
    ASSERT_EQ_INT(e, QP_ENCODING_CP1252);
    ASSERT_EQ_INT(qp_encoding_parse("utf-16", &e), -EINVAL);
    ASSERT_EQ_STR(qp_encoding_name(QP_ENCODING_CP1252), "cp1252");
    ASSERT_EQ_STR(qp_encoding_name(QP_ENCODING_LATIN1), "latin-1");
}

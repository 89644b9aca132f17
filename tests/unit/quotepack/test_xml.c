// SPDX-License-Identifier: MIT
/* Unit tests for the XML helpers: the element-name rule, numbering, text checks, escaping. */
#include "../testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "quotepack/xml.h"

static void check_name(const char *hdr, const char *expect)
{
    char out[256];
    size_t n = qp_xml_name_from_header(hdr, strlen(hdr), out);
    ASSERT_CMP_INT(n, <=, QP_XML_NAME_MAX(strlen(hdr)));
    out[n] = '\0';
    ASSERT_EQ_STR(out, expect);
}

TEST(xml_name_removes_spaces_like_the_original)
{
    check_name("Adj Close", "AdjClose");
    check_name("Date", "Date");
    check_name(" Open ", "Open");
    check_name("   ", "_");
    check_name("", "_");
}

TEST(xml_name_replaces_invalid_characters)
{
    check_name("P&L", "P_L");
    check_name("a:b", "a_b");
    check_name("tab\there", "tab_here");
    check_name("%chg (1d)", "_chg_1d_");
    check_name("a\xE2\x80\x94"
               "b",
               "a_b");           /* U+2014 is not a name character */
    check_name("x\xFFy", "x_y"); /* invalid UTF-8: one _ per byte */
    check_name("a\"b'c<d>", "a_b_c_d_");
}

TEST(xml_name_prefixes_what_cannot_start_a_name)
{
    check_name("52-week high", "_52-weekhigh");
    check_name("-x", "_-x");
    check_name(".x", "_.x");
    check_name("\xC2\xB7x", "_\xC2\xB7x"); /* U+00B7 */
    check_name("\xCC\x81x", "_\xCC\x81x"); /* U+0301, a combining mark */
    check_name("1", "_1");
}

TEST(xml_name_reserves_xml_prefix)
{
    check_name("xmlData", "_xmlData");
    check_name("XML", "_XML");
    check_name("x m l", "_xml");
    check_name("xm", "xm");
    check_name("Xmas", "Xmas");
}

TEST(xml_name_keeps_non_ascii_letters)
{
    check_name("Gr\xC3\xB6\xC3\x9F"
               "e",
               "Gr\xC3\xB6\xC3\x9F"
               "e");
    check_name("\xE6\x97\xA5\xE4\xBB\x98", "\xE6\x97\xA5\xE4\xBB\x98");
    check_name("\xCE\xA9\xCE\xB1", "\xCE\xA9\xCE\xB1"); /* Greek */
    check_name("\xD0\x94\xD0\xB0", "\xD0\x94\xD0\xB0"); /* Cyrillic */
    check_name("a\xD9\xA3", "a\xD9\xA3");               /* U+0663, an Arabic-Indic digit */
    check_name("\xD9\xA3", "_\xD9\xA3");                /* ... which cannot start a name */
}

TEST(xml_name_rejects_what_expat_rejects)
{
    /* Only XML 1.0 fifth edition allows these; expat (Python's xml.etree) does not. */
    check_name("Prix \xE2\x82\xAC", "Prix_"); /* U+20AC */
    check_name("\xF0\x90\x80\x80", "_");      /* U+10000 */
    check_name("\xF3\xB0\x80\x80", "_");      /* U+F0000 */
    check_name("\xE2\xB0\x80", "_");          /* U+2C00, Glagolitic */
}

static void check_names(const char *const *hdrs, size_t n, const char *const *expect)
{
    struct qp_xml_text t[16];
    for (size_t i = 0; i < n; i++) {
        t[i].data = hdrs[i];
        t[i].len = strlen(hdrs[i]);
    }
    struct qp_xml_names *names = NULL;
    ASSERT_OK(qp_xml_names_create(t, n, &names));
    ASSERT_EQ_INT(names->count, n);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ_STR(names->names[i], expect[i]);
        ASSERT_EQ_INT(names->lens[i], strlen(expect[i]));
    }
    qp_xml_names_destroy(names);
}

TEST(xml_names_number_duplicates)
{
    static const char *const h1[] = { "Close", "Close", "Close" };
    static const char *const e1[] = { "Close", "Close_2", "Close_3" };
    check_names(h1, 3, e1);
    /* A numbered name never takes another column's own name. */
    static const char *const h2[] = { "Close", "Close", "Close_2" };
    static const char *const e2[] = { "Close", "Close_3", "Close_2" };
    check_names(h2, 3, e2);
    static const char *const h3[] = { "Adj Close", "AdjClose", "P&L", "P_L", "", "" };
    static const char *const e3[] = { "AdjClose", "AdjClose_2", "P_L", "P_L_2", "_", "__2" };
    check_names(h3, 6, e3);
    static const char *const h4[] = { "a_2", "a", "a", "a_3", "a" };
    static const char *const e4[] = { "a_2", "a", "a_4", "a_3", "a_5" };
    check_names(h4, 5, e4);
    qp_xml_names_destroy(NULL);
}

TEST(xml_names_many_columns)
{
    struct qp_xml_text t[2000];
    for (size_t i = 0; i < 2000; i++) {
        t[i].data = "v";
        t[i].len = 1;
    }
    struct qp_xml_names *names = NULL;
    ASSERT_OK(qp_xml_names_create(t, 2000, &names));
    ASSERT_EQ_STR(names->names[0], "v");
    ASSERT_EQ_STR(names->names[1999], "v_2000");
    qp_xml_names_destroy(names);
    ASSERT_OK(qp_xml_names_create(t, 0, &names));
    ASSERT_EQ_INT(names->count, 0);
    qp_xml_names_destroy(names);
}

/*
 * A hostile header: 100,000 equal names (an empty header row of a wide file is one). Numbering
 * each from _2 again took n * n / 2 lookups, 5 billion here: minutes, where the per-test
 * timeout fails it; numbered in one pass it takes a fraction of a second, under the sanitizers
 * too. No wall-clock assert: the timeout is the guard. Every name is checked as well.
 */
TEST(xml_names_numbering_many_equal_names_is_linear)
{
    const size_t n = 100000;
    struct qp_xml_text *t = malloc(n * sizeof(*t));
    ASSERT_NOT_NULL(t);
    for (size_t i = 0; i < n; i++) {
        t[i].data = "";
        t[i].len = 0;
    }
    /* A column's own name is reserved: the numbering of the others steps over it. */
    t[1].data = "__3";
    t[1].len = 3;
    struct qp_xml_names *names = NULL;
    ASSERT_OK(qp_xml_names_create(t, n, &names));
    ASSERT_EQ_STR(names->names[0], "_");
    ASSERT_EQ_STR(names->names[1], "__3");
    ASSERT_EQ_STR(names->names[2], "__2");
    char want[32];
    for (size_t i = 3; i < n; i++) {
        snprintf(want, sizeof(want), "__%zu", i + 1);
        if (strcmp(names->names[i], want) != 0) {
            test_fail(__FILE__, __LINE__, "column %zu: %s, want %s", i, names->names[i], want);
        }
    }
    qp_xml_names_destroy(names);
    free(t);
}

TEST(xml_check_text)
{
    size_t bad = 99;
    ASSERT_OK(qp_xml_check_text("a\tb\nc\rd \xC3\xA9 \xEF\xBF\xBD \xF4\x8F\xBF\xBF", 19, &bad));
    ASSERT_EQ_INT(qp_xml_check_text("ab\x01", 3, &bad), -EILSEQ);
    ASSERT_EQ_INT(bad, 2);
    ASSERT_EQ_INT(qp_xml_check_text("a\xEF\xBF\xBE", 4, &bad), -EILSEQ);
    ASSERT_EQ_INT(bad, 1);
    ASSERT_EQ_INT(qp_xml_check_text("\xEF\xBF\xBF", 3, &bad), -EILSEQ);
    ASSERT_EQ_INT(qp_xml_check_text("xy\xED\xA0\x80", 5, &bad), -EILSEQ);
    ASSERT_EQ_INT(bad, 2);
    ASSERT_EQ_INT(qp_xml_check_text("\xC3", 1, &bad), -EILSEQ);
    ASSERT_EQ_INT(qp_xml_check_text("a\0", 2, NULL), -EILSEQ);
}

TEST(xml_escape_text)
{
    static const char in[] = "a&b<c>d\re\"f'\ng";
    char out[QP_XML_ESCAPE_MAX(sizeof(in))];
    size_t n = qp_xml_escape_text(in, sizeof(in) - 1, out);
    out[n] = '\0';
    ASSERT_EQ_STR(out, "a&amp;b&lt;c&gt;d&#13;e\"f'\ng");
    char worst[QP_XML_ESCAPE_MAX(4)];
    ASSERT_EQ_INT(qp_xml_escape_text("&&\r&", 4, worst), 20);
}

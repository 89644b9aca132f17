// SPDX-License-Identifier: MIT
/* Unit tests for row-level generations: splitting a refreshed body, joining the documents. */
#include "../testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/sha256.h"
#include "quotepack/convert.h"
#include "quotepack/rowsplit.h"
#include "quotepack/xmlrange.h"

#define HDR "Date,Open,Close\n"
#define R1  "2025-01-01,1,2\n"
#define R2  "2025-01-02,3,4\n"
#define R3  "2025-01-03,5,6\n"

static void sha_hex(const char *s, char out[ARC_SHA256_HEX])
{
    unsigned char d[ARC_SHA256_LEN];
    arc_sha256(s, strlen(s), d);
    arc_sha256_hex(d, out);
}

/* Splits body against old; returns the kind and, for a split, the new rows' body in *rest. */
static enum qp_split_kind split_as(const char *old, const char *body, enum qp_row_order order,
                                   char **rest)
{
    char sha[ARC_SHA256_HEX];
    sha_hex(old, sha);
    struct qp_split s;
    qp_rowsplit(body, strlen(body), strlen(old), sha, order, &s);
    size_t len = strlen(body);
    *rest = strdup(body);
    qp_rowsplit_apply(*rest, &len, &s);
    (*rest)[len] = '\0';
    return s.kind;
}

static enum qp_split_kind split(const char *old, const char *body, char **rest)
{
    return split_as(old, body, QP_ORDER_UNKNOWN, rest);
}

TEST(a_known_order_splits_one_way_only)
{
    char *rest = NULL;
    // An oldest-first history whose last row was archived alone ({from}) matches "on top".
    ASSERT_EQ_INT(split(HDR R3, HDR R1 R2 R3, &rest), QP_SPLIT_PREPEND);
    free(rest);
    ASSERT_EQ_INT(split_as(HDR R3, HDR R1 R2 R3, QP_ORDER_OLDEST_FIRST, &rest), QP_SPLIT_CHANGED);
    free(rest);
    ASSERT_EQ_INT(split_as(HDR R1, HDR R1 R2, QP_ORDER_NEWEST_FIRST, &rest), QP_SPLIT_CHANGED);
    free(rest);
    ASSERT_EQ_INT(split_as(HDR R2 R1, HDR R3 R2 R1, QP_ORDER_NEWEST_FIRST, &rest),
                  QP_SPLIT_PREPEND);
    free(rest);
}

TEST(an_appended_row_is_split_from_the_archived_ones)
{
    char *rest = NULL;
    ASSERT_EQ_INT(split(HDR R1 R2, HDR R1 R2 R3, &rest), QP_SPLIT_APPEND);
    ASSERT_EQ_STR(rest, HDR R3);
    free(rest);
    // An archived body without its last line break.
    ASSERT_EQ_INT(split(HDR R1 "2025-01-02,3,4", HDR R1 R2 R3, &rest), QP_SPLIT_APPEND);
    ASSERT_EQ_STR(rest, HDR R3);
    free(rest);
    ASSERT_EQ_INT(split("D\r\n1\r\n", "D\r\n1\r\n2\r\n", &rest), QP_SPLIT_APPEND);
    ASSERT_EQ_STR(rest, "D\r\n2\r\n");
    free(rest);
}

TEST(a_row_on_top_of_a_newest_first_history_is_split)
{
    char *rest = NULL;
    ASSERT_EQ_INT(split(HDR R2 R1, HDR R3 R2 R1, &rest), QP_SPLIT_PREPEND);
    ASSERT_EQ_STR(rest, HDR R3);
    free(rest);
}

TEST(a_changed_archived_row_is_a_changed_body)
{
    char *rest = NULL;
    ASSERT_EQ_INT(split(HDR R1 R2, HDR R1 "2025-01-02,3,5\n" R3, &rest), QP_SPLIT_CHANGED);
    free(rest);
    ASSERT_EQ_INT(split(HDR R2 R1, HDR R3 R2 "2025-01-01,1,9\n", &rest), QP_SPLIT_CHANGED);
    free(rest);
    ASSERT_EQ_INT(split(HDR R1 R2, "Day,Open,Close\n" R1 R2 R3, &rest), QP_SPLIT_CHANGED);
    free(rest);
    // A prefix that does not end on a line boundary is not the archived rows.
    ASSERT_EQ_INT(split(HDR "2025-01-01,1,", HDR R1 R2, &rest), QP_SPLIT_CHANGED);
    free(rest);
    ASSERT_EQ_INT(split(HDR R1, HDR R2, &rest), QP_SPLIT_CHANGED);
    free(rest);
}

TEST(only_a_line_break_more_is_nothing_new)
{
    char *rest = NULL;
    ASSERT_EQ_INT(split(HDR R1 "2025-01-02,3,4", HDR R1 R2, &rest), QP_SPLIT_NOTHING_NEW);
    free(rest);
}

static char *convert(const char *csv, bool compact, size_t *len)
{
    struct qp_convert_opts o;
    memset(&o, 0, sizeof(o));
    o.compact = compact;
    struct qp_convert_result r;
    struct qp_convert_error e;
    if (qp_convert(csv, strlen(csv), &o, &r, &e) != QP_CONVERT_OK) {
        return NULL;
    }
    *len = strlen(r.xml);
    return r.xml;
}

/* Joining the conversions of a..c (in that order) gives the conversion of full. */
static void check_concat(const char *full, const char *a, const char *b, const char *c)
{
    for (int compact = 0; compact < 2; compact++) {
        size_t lens[3];
        size_t flen = 0;
        char *docs[3] = { convert(a, compact, &lens[0]), convert(b, compact, &lens[1]),
                          convert(c, compact, &lens[2]) };
        char *want = convert(full, compact, &flen);
        ASSERT_TRUE(docs[0] != NULL && docs[1] != NULL && docs[2] != NULL && want != NULL);
        char *got = NULL;
        size_t got_len = 0;
        FILE *f = open_memstream(&got, &got_len);
        ASSERT_EQ_INT(qp_xml_concat((const char *const *)docs, lens, 3, f), 0);
        fclose(f);
        ASSERT_EQ_STR(got, want);
        free(got);
        free(want);
        for (int i = 0; i < 3; i++) {
            free(docs[i]);
        }
    }
}

TEST(generations_joined_are_the_conversion_of_the_whole_history)
{
    check_concat(HDR R1 R2 R3, HDR R1, HDR R2, HDR R3);
    check_concat(HDR R3 R2 R1, HDR R3, HDR R2, HDR R1);
    check_concat(HDR R1 R2, HDR R1, HDR, HDR R2); // an empty generation adds nothing
    check_concat(HDR, HDR, HDR, HDR);
}

TEST(row_keys_are_the_first_fields_of_the_first_and_last_rows)
{
    char f[QP_ROW_KEY_MAX];
    char l[QP_ROW_KEY_MAX];
    qp_row_keys(HDR R1 R2 R3, strlen(HDR R1 R2 R3), 0, f, l);
    ASSERT_EQ_STR(f, "2025-01-01");
    ASSERT_EQ_STR(l, "2025-01-03");
    const char *q = "\"Date\";\"Close\"\r\n\"2025-02-02\";1\r\n\"2025-02-01\";2\r\n\r\n";
    qp_row_keys(q, strlen(q), 0, f, l);
    ASSERT_EQ_STR(f, "2025-02-02");
    ASSERT_EQ_STR(l, "2025-02-01");
    qp_row_keys(HDR, strlen(HDR), 0, f, l);
    ASSERT_EQ_STR(f, "");
    ASSERT_EQ_STR(l, "");
    qp_row_keys(HDR R1, strlen(HDR R1) - 1, ',', f, l); // no last line break
    ASSERT_EQ_STR(f, "2025-01-01");
    ASSERT_EQ_STR(l, "2025-01-01");
}

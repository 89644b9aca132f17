// SPDX-License-Identifier: MIT
/* Unit tests for cutting a date range out of a converted document (cat --from/--to). */
#include "../testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quotepack/convert.h"
#include "quotepack/xmlrange.h"

static char *convert(const char *csv, bool compact)
{
    struct qp_convert_opts o;
    memset(&o, 0, sizeof(o));
    o.compact = compact;
    struct qp_convert_result r;
    struct qp_convert_error e;
    if (qp_convert(csv, strlen(csv), &o, &r, &e) != QP_CONVERT_OK) {
        return NULL;
    }
    return r.xml;
}

/* qp_xml_range of full's conversion equals the conversion of part. */
static void check_range(const char *full, const char *part, const char *from, const char *to)
{
    for (int compact = 0; compact < 2; compact++) {
        char *doc = convert(full, compact);
        char *want = convert(part, compact);
        ASSERT_TRUE(doc != NULL && want != NULL);
        char *got = NULL;
        size_t got_len = 0;
        FILE *f = open_memstream(&got, &got_len);
        ASSERT_TRUE(f != NULL);
        ASSERT_OK(qp_xml_range(doc, strlen(doc), from, to, f));
        ASSERT_EQ_INT(fclose(f), 0);
        ASSERT_EQ_STR(got, want);
        free(got);
        free(doc);
        free(want);
    }
}

#define HDR "Date,Open,Close\n"
#define R1  "2025-01-01,1,1.5\n"
#define R2  "2025-01-02,2,\n"
#define R3  "2025-01-03,3,\"a<b\"\n"
#define R4  "2025-02-01,4,4.5\n"

TEST(a_range_cut_is_the_conversion_of_those_rows_alone)
{
    const char *full = HDR R1 R2 R3 R4;
    check_range(full, full, NULL, NULL);
    check_range(full, HDR R2 R3, "2025-01-02", "2025-01-03");
    check_range(full, HDR R1 R2 R3, NULL, "2025-01-31");
    check_range(full, HDR R4, "2025-01-04", NULL);
    check_range(full, HDR, "2026-01-01", NULL); // none: the empty document
    check_range(HDR, HDR, "2025-01-01", "2025-12-31");
}

TEST(a_newest_first_history_keeps_its_order)
{
    check_range(HDR R4 R3 R2 R1, HDR R3 R2, "2025-01-02", "2025-01-03");
}

TEST(a_column_named_row_and_an_empty_first_field_are_no_trouble)
{
    check_range("Row,Date\n2025-01-01,x\n,y\n2025-03-01,z\n", "Row,Date\n2025-03-01,z\n",
                "2025-02-01", NULL);
    check_range("Date,Row\n2025-01-01,x\n2025-03-01,\n", "Date,Row\n2025-03-01,\n", "2025-02-01",
                "2025-03-01");
}

TEST(what_is_not_a_converted_document_is_refused)
{
    char *got = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&got, &n);
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ_INT(qp_xml_range("<a/>", 4, NULL, NULL, f), -EINVAL);
    const char trunc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Data><Row><D>1</D>";
    ASSERT_EQ_INT(qp_xml_range(trunc, sizeof(trunc) - 1, NULL, NULL, f), -EINVAL);
    fclose(f);
    free(got);
}

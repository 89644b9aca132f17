// SPDX-License-Identifier: MIT
/* Unit tests for dates in URL templates: parsing, the next day, formatting, {to} expansion. */
#include "../testlib.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "quotepack/datetmpl.h"

TEST(days_parse_only_real_iso_dates)
{
    struct qp_day d;
    ASSERT_OK(qp_day_parse("2024-02-29", &d));
    ASSERT_EQ_INT(d.year, 2024);
    ASSERT_EQ_INT(d.month, 2);
    ASSERT_EQ_INT(d.day, 29);
    ASSERT_EQ_INT(qp_day_parse("2023-02-29", &d), -EINVAL); // not a leap year
    ASSERT_EQ_INT(qp_day_parse("1900-02-29", &d), -EINVAL);
    ASSERT_OK(qp_day_parse("2000-02-29", &d));
    ASSERT_EQ_INT(qp_day_parse("2024-13-01", &d), -EINVAL);
    ASSERT_EQ_INT(qp_day_parse("2024-04-31", &d), -EINVAL);
    ASSERT_EQ_INT(qp_day_parse("2024-4-01", &d), -EINVAL);
    ASSERT_EQ_INT(qp_day_parse("2024-04-01x", &d), -EINVAL);
    ASSERT_EQ_INT(qp_day_parse("", &d), -EINVAL);
}

TEST(the_next_day_crosses_months_years_and_leap_days)
{
    struct qp_day d = { 2024, 2, 28 };
    d = qp_day_next(d);
    ASSERT_EQ_INT(d.day, 29);
    d = qp_day_next(d);
    ASSERT_EQ_INT(d.month, 3);
    ASSERT_EQ_INT(d.day, 1);
    struct qp_day e = { 2023, 12, 31 };
    e = qp_day_next(e);
    ASSERT_EQ_INT(e.year, 2024);
    ASSERT_EQ_INT(e.month, 1);
    ASSERT_EQ_INT(e.day, 1);
    struct qp_day f = { 2023, 2, 28 };
    f = qp_day_next(f);
    ASSERT_EQ_INT(f.month, 3);
}

TEST(days_format_with_strftime_conversions_in_utc)
{
    char out[64];
    struct qp_day d = { 2025, 7, 4 };
    ASSERT_OK(qp_day_format(d, QP_DEFAULT_DATE_FORMAT, out, sizeof(out)));
    ASSERT_EQ_STR(out, "2025-07-04");
    ASSERT_OK(qp_day_format(d, "%d.%m.%Y", out, sizeof(out)));
    ASSERT_EQ_STR(out, "04.07.2025");
    ASSERT_OK(qp_day_format(d, "%Y%m%d", out, sizeof(out)));
    ASSERT_EQ_STR(out, "20250704");
    ASSERT_OK(qp_day_format(d, "%a %d %b %Y, day %j", out, sizeof(out)));
    ASSERT_EQ_STR(out, "Fri 04 Jul 2025, day 185");
    ASSERT_OK(qp_day_format(d, "%s", out, sizeof(out))); // Unix seconds at midnight UTC
    ASSERT_EQ_STR(out, "1751587200");
    struct qp_day epoch = { 1970, 1, 1 };
    ASSERT_OK(qp_day_format(epoch, "%s/%A", out, sizeof(out)));
    ASSERT_EQ_STR(out, "0/Thursday");
    ASSERT_OK(qp_day_format(d, "100%%", out, sizeof(out)));
    ASSERT_EQ_STR(out, "100%");
    ASSERT_EQ_INT(qp_day_format(d, "%Y-%m-%d", out, 5), -ENAMETOOLONG);
    ASSERT_EQ_INT(qp_day_format(d, "", out, sizeof(out)), -EINVAL);
    ASSERT_TRUE(qp_date_format_ok("%Y-%m-%d"));
    ASSERT_TRUE(!qp_date_format_ok(""));
}

TEST(templates_expand_symbol_and_to_with_percent_encoding)
{
    char out[128];
    ASSERT_OK(qp_template_expand("http://h/q?s={symbol}&to={to}", "^GSPC", NULL, "04/07/2025", out,
                                 sizeof(out)));
    ASSERT_EQ_STR(out, "http://h/q?s=%5EGSPC&to=04%2F07%2F2025");
    ASSERT_OK(qp_template_expand("http://h/{symbol}?end={to}&again={to}", "A", NULL, "2025-07-04",
                                 out, sizeof(out)));
    ASSERT_EQ_STR(out, "http://h/A?end=2025-07-04&again=2025-07-04");
    // Without a value {to} stays; other braces are left alone.
    ASSERT_OK(qp_template_expand("http://h/{symbol}/{to}/{x}", "B", NULL, NULL, out, sizeof(out)));
    ASSERT_EQ_STR(out, "http://h/B/{to}/{x}");
    ASSERT_OK(qp_template_expand("http://h/{symbol}?from={from}&to={to}", "C", "02/07/2025",
                                 "2025-07-04", out, sizeof(out)));
    ASSERT_EQ_STR(out, "http://h/C?from=02%2F07%2F2025&to=2025-07-04");
    ASSERT_EQ_INT(qp_template_expand("http://h/{symbol}?to={to}", "A", NULL, "2025-07-04", out, 20),
                  -ENAMETOOLONG);
}

TEST(today_comes_from_the_test_hook_when_set)
{
    struct qp_day d;
    ASSERT_EQ_INT(setenv("QUOTEPACK_TODAY", "2030-01-31", 1), 0);
    ASSERT_OK(qp_today(&d));
    ASSERT_EQ_INT(d.year, 2030);
    ASSERT_EQ_INT(d.month, 1);
    ASSERT_EQ_INT(d.day, 31);
    ASSERT_EQ_INT(setenv("QUOTEPACK_TODAY", "tomorrow", 1), 0);
    ASSERT_EQ_INT(qp_today(&d), -EINVAL);
    ASSERT_EQ_INT(unsetenv("QUOTEPACK_TODAY"), 0);
    ASSERT_OK(qp_today(&d));
    ASSERT_TRUE(d.year >= 2024);
}

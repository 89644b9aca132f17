// SPDX-License-Identifier: MIT
/* Dates in URL templates: {to} (today) in a --date-format, and the run's notion of today. */
#include "quotepack/datetmpl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
    static const int n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : n[m - 1];
}

int qp_day_parse(const char *s, struct qp_day *out)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return -EINVAL;
    }
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return -EINVAL;
        }
    }
    int y = atoi(s);
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in(y, m)) {
        return -EINVAL;
    }
    out->year = y;
    out->month = m;
    out->day = d;
    return 0;
}

struct qp_day qp_day_next(struct qp_day d)
{
    if (d.day < days_in(d.year, d.month)) {
        d.day++;
    } else if (d.month < 12) {
        d.month++;
        d.day = 1;
    } else {
        d.year++;
        d.month = 1;
        d.day = 1;
    }
    return d;
}

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil), for the weekday and %s. */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int qp_day_format(struct qp_day d, const char *fmt, char *out, size_t size)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = d.year - 1900;
    tm.tm_mon = d.month - 1;
    tm.tm_mday = d.day;
    long long days = days_from_civil(d.year, d.month, d.day);
    tm.tm_wday = (int)(((days % 7) + 11) % 7); // 1970-01-01 was a Thursday (4)
    int yday = 0;
    for (int m = 1; m < d.month; m++) {
        yday += days_in(d.year, m);
    }
    tm.tm_yday = yday + d.day - 1;
    if (size == 0) {
        return -ENAMETOOLONG;
    }
    // %s would read the local time zone: give the UTC seconds by hand.
    char expanded[256];
    size_t o = 0;
    for (const char *p = fmt; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 's') {
            int n = snprintf(expanded + o, sizeof(expanded) - o, "%lld", days * 86400);
            if (n < 0 || (size_t)n >= sizeof(expanded) - o) {
                return -ENAMETOOLONG;
            }
            o += (size_t)n;
            p++;
            continue;
        }
        if (p[0] == '%' && p[1] != '\0') {
            if (o + 2 >= sizeof(expanded)) {
                return -ENAMETOOLONG;
            }
            expanded[o++] = *p++;
        }
        if (o + 1 >= sizeof(expanded)) {
            return -ENAMETOOLONG;
        }
        expanded[o++] = *p;
    }
    expanded[o] = '\0';
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = strftime(out, size, expanded, &tm); // the user's --date-format, by design
#pragma GCC diagnostic pop
    if (n == 0) {
        out[0] = '\0';
        return strlen(expanded) == 0 ? -EINVAL : -ENAMETOOLONG;
    }
    return 0;
}

bool qp_date_format_ok(const char *fmt)
{
    char buf[128];
    struct qp_day sample = { 2024, 2, 29 };
    return fmt[0] != '\0' && qp_day_format(sample, fmt, buf, sizeof(buf)) == 0;
}

int qp_today(struct qp_day *out)
{
    const char *env = getenv("QUOTEPACK_TODAY");
    if (env != NULL) {
        return qp_day_parse(env, out);
    }
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL) {
        return -EINVAL;
    }
    out->year = tm.tm_year + 1900;
    out->month = tm.tm_mon + 1;
    out->day = tm.tm_mday;
    return 0;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Appends s to out at *o, percent-encoding the bytes enc() refuses. */
static int put(char *out, size_t size, size_t *o, const char *s, bool all)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool encode = all ? !unreserved(c) : (c == '^' || c == '=');
        if (encode) {
            if (*o + 3 >= size) {
                return -ENAMETOOLONG;
            }
            snprintf(out + *o, 4, "%%%02X", c);
            *o += 3;
        } else {
            if (*o + 1 >= size) {
                return -ENAMETOOLONG;
            }
            out[(*o)++] = (char)c;
        }
    }
    return 0;
}

int qp_template_expand(const char *tmpl, const char *symbol, const char *from, const char *to,
                       char *out, size_t size)
{
    static const char ksym[] = "{symbol}";
    static const char kfrom[] = "{from}";
    static const char kto[] = "{to}";
    size_t o = 0;
    if (size == 0) {
        return -ENAMETOOLONG;
    }
    for (const char *p = tmpl; *p != '\0';) {
        int rc = 0;
        if (strncmp(p, ksym, sizeof(ksym) - 1) == 0) {
            rc = put(out, size, &o, symbol, false);
            p += sizeof(ksym) - 1;
        } else if (from != NULL && strncmp(p, kfrom, sizeof(kfrom) - 1) == 0) {
            rc = put(out, size, &o, from, true);
            p += sizeof(kfrom) - 1;
        } else if (to != NULL && strncmp(p, kto, sizeof(kto) - 1) == 0) {
            rc = put(out, size, &o, to, true);
            p += sizeof(kto) - 1;
        } else {
            if (o + 1 >= size) {
                return -ENAMETOOLONG;
            }
            out[o++] = *p++;
        }
        if (rc != 0) {
            return rc;
        }
    }
    out[o] = '\0';
    return 0;
}

// SPDX-License-Identifier: MIT
/* Playback's ?at=TIME: unix seconds or an ISO 8601 date and time, to microseconds. */
#include "mjpegd/playback_time.h"

#include <errno.h>
#include <stdbool.h>

#define US_PER_SEC 1000000LL

struct cursor {
    const char *p;
    const char *end;
};

static bool at_end(const struct cursor *c)
{
    return c->p == c->end;
}

static bool peek(const struct cursor *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

/* Exactly n digits. */
static bool digits(struct cursor *c, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') {
            return false;
        }
        v = v * 10 + (*c->p - '0');
        c->p++;
    }
    *out = v;
    return true;
}

/* An optional ".ddd" (or ",ddd", as ISO allows): microseconds, extra digits truncated. */
static bool fraction(struct cursor *c, int64_t *us)
{
    *us = 0;
    if (!peek(c, '.') && !peek(c, ',')) {
        return true;
    }
    c->p++;
    int n = 0;
    int64_t scale = 100000;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (scale > 0) {
            *us += (*c->p - '0') * scale;
            scale /= 10;
        }
        c->p++;
        n++;
    }
    return n > 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil, written out). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static int parse_unix(const char *s, size_t len, int64_t *out_us)
{
    struct cursor c = { s, s + len };
    int64_t sec = 0;
    int n = 0;
    while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
        if (n >= 12) {
            return -EINVAL;
        }
        sec = sec * 10 + (*c.p - '0');
        c.p++;
        n++;
    }
    int64_t us = 0;
    if (n == 0 || !fraction(&c, &us) || !at_end(&c)) {
        return -EINVAL;
    }
    *out_us = sec * US_PER_SEC + us;
    return 0;
}

/* The zone: Z, +HH, +HH:MM, +HHMM (or -), none (UTC). Seconds east of UTC into *off. */
static bool zone(struct cursor *c, int64_t *off)
{
    *off = 0;
    if (at_end(c)) {
        return true;
    }
    if (peek(c, 'Z') || peek(c, 'z')) {
        c->p++;
        return at_end(c);
    }
    // A query string's '+' arrives decoded as a space (form encoding): take it as '+'.
    if (!peek(c, '+') && !peek(c, '-') && !peek(c, ' ')) {
        return false;
    }
    int sign = *c->p == '-' ? -1 : 1;
    c->p++;
    int hh = 0;
    int mm = 0;
    if (!digits(c, 2, &hh)) {
        return false;
    }
    if (peek(c, ':')) {
        c->p++;
    }
    if (!at_end(c) && !digits(c, 2, &mm)) {
        return false;
    }
    if (hh > 23 || mm > 59 || !at_end(c)) {
        return false;
    }
    *off = (int64_t)sign * ((int64_t)hh * 3600 + (int64_t)mm * 60);
    return true;
}

int mjd_playback_parse_time(const char *s, size_t len, int64_t *out_us)
{
    if (len == 0 || len > 64) {
        return -EINVAL;
    }
    // "YYYY-" or "YYYYmmddT" tells a date from plain seconds.
    bool extended = len > 4 && s[4] == '-';
    bool basic = len > 8 && (s[8] == 'T' || s[8] == 't');
    if (!extended && !basic) {
        return parse_unix(s, len, out_us);
    }
    struct cursor c = { s, s + len };
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int sec = 0;
    bool ok = digits(&c, 4, &y);
    if (ok && extended) {
        ok = peek(&c, '-') && (c.p++, digits(&c, 2, &mo)) && peek(&c, '-') &&
             (c.p++, digits(&c, 2, &d));
    } else if (ok) {
        ok = digits(&c, 2, &mo) && digits(&c, 2, &d);
    }
    if (!ok || !(peek(&c, 'T') || peek(&c, 't') || (extended && peek(&c, ' ')))) {
        return -EINVAL;
    }
    c.p++;
    if (extended) {
        ok = digits(&c, 2, &h) && peek(&c, ':') && (c.p++, digits(&c, 2, &mi)) && peek(&c, ':') &&
             (c.p++, digits(&c, 2, &sec));
    } else {
        ok = digits(&c, 2, &h) && digits(&c, 2, &mi) && digits(&c, 2, &sec);
    }
    int64_t us = 0;
    int64_t off = 0;
    if (!ok || !fraction(&c, &us) || !zone(&c, &off)) {
        return -EINVAL;
    }
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 60) {
        return -EINVAL;
    }
    int64_t t =
            days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off;
    if (t < 0) {
        return -EINVAL;
    }
    *out_us = t * US_PER_SEC + us;
    return 0;
}

// SPDX-License-Identifier: MIT
/* Dates in URL templates: {to} (today) in a --date-format, and the run's notion of today. */
#ifndef QP_DATETMPL_H
#define QP_DATETMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

#define QP_DEFAULT_DATE_FORMAT "%Y-%m-%d"

/* A calendar day (proleptic Gregorian, UTC). */
struct qp_day {
    int year;  /* 1..9999 */
    int month; /* 1..12 */
    int day;   /* 1..31, valid for the month */
};

/** Parses "YYYY-MM-DD" (exactly, a real day): 0 or -EINVAL. Pure. */
int qp_day_parse(const char *s, struct qp_day *out) CORE_MUST_CHECK;
/** The day after d. Pure. */
struct qp_day qp_day_next(struct qp_day d);

/**
 * Formats d with fmt, strftime's conversions for a date (%Y %m %d %e %j %y %b %B %a %A %F
 * %s %%...; time fields are midnight UTC; the C locale's names). Returns 0, -EINVAL for an
 * empty result, or -ENAMETOOLONG when it does not fit in size. Thread-safe (no locale or
 * global state is changed).
 */
int qp_day_format(struct qp_day d, const char *fmt, char *out, size_t size) CORE_MUST_CHECK;

/**
 * Whether fmt is a usable --date-format: it formats a sample day to something non-empty that
 * fits 127 bytes (whatever it gives is percent-encoded in the URL). Pure.
 */
bool qp_date_format_ok(const char *fmt);

/**
 * Today (UTC): from $QUOTEPACK_TODAY (YYYY-MM-DD, a test hook: no test reads the clock) when
 * set, else the system clock. -EINVAL when the variable is set but not a day.
 */
int qp_today(struct qp_day *out) CORE_MUST_CHECK;

/**
 * Expands "{symbol}" (percent-encoding '^' and '=', as qp_config_url), "{from}" and "{to}"
 * (from and to, every byte but unreserved ones percent-encoded; NULL leaves the placeholder
 * as it is) in tmpl. 0 or -ENAMETOOLONG. Pure.
 */
int qp_template_expand(const char *tmpl, const char *symbol, const char *from, const char *to,
                       char *out, size_t size) CORE_MUST_CHECK;

#endif

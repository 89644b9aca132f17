// SPDX-License-Identifier: MIT
/* Row-level generations: the rows of a refreshed body that are not archived yet (issue 15). */
#ifndef QP_ROWSPLIT_H
#define QP_ROWSPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * "Not yet archived" is known from what the catalog keeps of the body last archived for the
 * symbol: its length in bytes (csv_bytes) and its hex SHA-256 (body_sha256). A refreshed body
 * that holds those rows plus new ones is, byte for byte, either
 *   oldest-first (new rows appended): the old body, then (after a line break) the new rows;
 *   newest-first (new rows on top): the header line, the new rows, then the old body's rows.
 * Anything else (a row of the archived part changed, a different header) is a changed body,
 * archived again whole (the existing replacement). The split is on line boundaries, so a
 * header or row boundary holding a quoted line break is no trouble for oldest-first; for
 * newest-first the header is the first line.
 */
enum qp_split_kind {
    QP_SPLIT_CHANGED = 0, /* the archived part changed: archive the whole body again */
    QP_SPLIT_APPEND,      /* oldest-first: the new rows follow the archived ones */
    QP_SPLIT_PREPEND,     /* newest-first: the new rows come before the archived ones */
    QP_SPLIT_NOTHING_NEW, /* the archived rows and no new row (only line breaks differ) */
};

struct qp_split {
    enum qp_split_kind kind;
    size_t header_len; /* APPEND/PREPEND: body[0..header_len) is the header line */
    size_t new_start;  /* the new rows: body[new_start..new_end) */
    size_t new_end;
};

/* What the archive tells of the source's order, to split one way only when it is known. */
enum qp_row_order {
    QP_ORDER_UNKNOWN = 0, /* try oldest-first, then newest-first */
    QP_ORDER_OLDEST_FIRST,
    QP_ORDER_NEWEST_FIRST,
};

/**
 * Splits body (len bytes) against the archived body (old_len bytes, hex SHA-256 old_sha).
 * Pure. Always fills *out (CHANGED when nothing else fits or old_sha is empty).
 */
void qp_rowsplit(const char *body, size_t len, uint64_t old_len, const char *old_sha,
                 enum qp_row_order order, struct qp_split *out);

/**
 * Rewrites body[0..*len) in place into the body of the new rows alone (the header line, then
 * the new rows) for an APPEND or PREPEND split; *len becomes its length. Pure.
 */
void qp_rowsplit_apply(char *body, size_t *len, const struct qp_split *s);

/* The first field of a member's first and last data rows (its dates, for {from}). */
#define QP_ROW_KEY_MAX 64

/**
 * Finds the first field of the first and the last data row of a CSV body (the header line
 * skipped), as text: up to the first delimiter (delim, or the first of ",;\t|" in the header
 * when 0), surrounding double quotes removed, truncated to QP_ROW_KEY_MAX - 1 bytes. "" when
 * there is no data row. A good-enough reading for dates, not a CSV parser. Pure.
 */
void qp_row_keys(const char *body, size_t len, char delim, char first[QP_ROW_KEY_MAX],
                 char last[QP_ROW_KEY_MAX]);

#endif

// SPDX-License-Identifier: MIT
/* The "not CSV" check on the leading pieces of a body: empty, blank, markup or JSON. */
#ifndef QP_SNIFF_H
#define QP_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quotepack/convert.h"

/*
 * Fed the leading pieces of the input one by one (any size: a UTF-8 byte order mark, a CRLF
 * or "<?xml" may be split between two), it decides at the first byte that is not a blank
 * (space, tab, CR, LF) after an optional byte order mark, so that the verdict and its position
 * are the same however the input is cut. Plain data: zero-initialise one per document. Used by
 * convert.c; pure apart from *s and *err, any thread.
 */
struct qp_sniff {
    uint64_t line; /* 0-based line of the next byte */
    uint64_t col;  /* bytes of that line before it (after a byte order mark on line 1) */
    uint8_t bom;   /* bytes of a UTF-8 byte order mark matched so far */
    bool bom_done; /* the mark (or its absence) is settled */
    bool any;      /* a byte other than the mark was seen */
    bool cr;       /* the last byte was a CR (an LF right after it ends no other line) */
    char mark[5];  /* the first content byte and up to four more, when it is '<' */
    size_t mark_n;
};

enum qp_sniff_verdict {
    QP_SNIFF_CONTENT = 0, /* something that may be CSV starts here: parse it */
    QP_SNIFF_MORE,        /* only blanks so far: give the next piece */
    QP_SNIFF_NOT_CSV,     /* *err has QP_CONVERT_NOT_CSV, the line, column and message */
};

/**
 * Scans the next piece data[0..len) (borrowed); more says whether other pieces follow (at
 * the end, pass more false, with len 0 if need be). Once it returned CONTENT or NOT_CSV it
 * must not be called again for this document. err may be NULL.
 */
enum qp_sniff_verdict qp_sniff_piece(struct qp_sniff *s, const char *data, size_t len, bool more,
                                     struct qp_convert_error *err);

#endif

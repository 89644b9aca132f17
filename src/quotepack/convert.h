// SPDX-License-Identifier: MIT
/* CSV document -> XML document: the conversion stage's one entry point. */
#ifndef QP_CONVERT_H
#define QP_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quotepack/dialect.h"

/*
 * Contract shared by the converter (csv.c, xml.c, convert.c) and the pipeline (main, pack,
 * procpool isolation). Pure functions: no globals, no I/O, callable from any thread at once.
 */

enum qp_convert_status {
    QP_CONVERT_OK = 0,
    QP_CONVERT_NOT_CSV,   /* empty body, or an HTML/XML/JSON page instead of CSV */
    QP_CONVERT_BAD_CSV,   /* ragged row, unterminated quote, stray quote, NUL, bad UTF-8... */
    QP_CONVERT_BAD_XML,   /* a character XML 1.0 forbids (control characters, U+FFFE...) */
    QP_CONVERT_TOO_LARGE, /* over opts->max_output bytes or a field over its cap */
    QP_CONVERT_NO_MEMORY,
};

struct qp_convert_opts {
    bool compact;                  /* no indentation or newlines between elements */
    size_t max_output;             /* cap on the XML size in bytes; 0 = 1 GiB */
    struct qp_csv_dialect dialect; /* delimiter or detection, strict quotes, encoding */
};

struct qp_convert_error {
    enum qp_convert_status status;
    uint64_t line;     /* 1-based physical line of the input where the error is, 0 if none */
    uint64_t column;   /* 1-based byte column in that line, 0 if none */
    char message[200]; /* an English sentence naming the problem, without the position */
};

struct qp_convert_result {
    char *xml; /* malloc'd XML document (caller frees), NULL on error */
    size_t xml_len;
    uint64_t rows;    /* data records converted (the header is not counted) */
    uint64_t columns; /* columns in the header */
    char delimiter;   /* the delimiter used: the dialect's, or the detected one */
};

/**
 * Converts one CSV document (csv, len bytes, borrowed) to an XML document. Returns
 * QP_CONVERT_OK and fills *result, or another status and fills *err (result->xml NULL).
 */
enum qp_convert_status qp_convert(const char *csv, size_t len, const struct qp_convert_opts *opts,
                                  struct qp_convert_result *result, struct qp_convert_error *err);

/** A short name for a status ("not-csv", "bad-csv", ...), for the catalog and messages. */
const char *qp_convert_status_name(enum qp_convert_status status);

#endif

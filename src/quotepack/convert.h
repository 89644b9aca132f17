// SPDX-License-Identifier: MIT
/* CSV document -> XML document: the conversion stage's one entry point. */
#ifndef QP_CONVERT_H
#define QP_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quotepack/dialect.h"

/*
 * Contract shared by the converter (csv.c, xml.c, convert.c) and the pipeline (the convert
 * stage, in a thread or an isolated worker process). No globals and no I/O of its own:
 * qp_convert_stream pulls its input through a read callback and pushes the XML through a
 * write callback, in pieces, so a document of any size needs only a few buffers; qp_convert
 * is the one-buffer form. Callable from any thread at once (one conversion per call).
 */

enum qp_convert_status {
    QP_CONVERT_OK = 0,
    QP_CONVERT_NOT_CSV,   /* empty body, or an HTML/XML/JSON page instead of CSV */
    QP_CONVERT_BAD_CSV,   /* ragged row, unterminated quote, stray quote, NUL, bad UTF-8... */
    QP_CONVERT_BAD_XML,   /* a character XML 1.0 forbids (control characters, U+FFFE...) */
    QP_CONVERT_TOO_LARGE, /* over opts->max_output bytes or a field over its cap */
    QP_CONVERT_NO_MEMORY,
    QP_CONVERT_IO, /* the read or write callback failed: err->sys_errno has its errno */
};

struct qp_convert_opts {
    bool compact;      /* no indentation or newlines between elements */
    size_t max_output; /* cap on the XML size in bytes; 0 = 1 GiB for qp_convert (one buffer),
                          no cap for qp_convert_stream */
    struct qp_csv_dialect dialect; /* delimiter or detection, strict quotes, encoding */
};

struct qp_convert_error {
    enum qp_convert_status status;
    uint64_t line;     /* 1-based physical line of the input where the error is, 0 if none */
    uint64_t column;   /* 1-based byte column in that line, 0 if none */
    char message[200]; /* an English sentence naming the problem, without the position */
    int sys_errno;     /* QP_CONVERT_IO: the negative errno the callback returned, else 0 */
};

#define QP_CONVERT_KEY 32

struct qp_convert_result {
    char *xml;        /* qp_convert: malloc'd XML document (caller frees), NULL on error; NULL
                         from qp_convert_stream, which hands the XML to its write callback */
    size_t xml_len;   /* bytes of XML produced */
    uint64_t rows;    /* data records converted (the header is not counted) */
    uint64_t columns; /* columns in the header */
    char delimiter;   /* the delimiter used: the dialect's, or the detected one */
    /* The first column of the first and of the last data row, in source order (the date in
     * every quote layout), cut to QP_CONVERT_KEY - 1 bytes; "" without data rows. The
     * archive's manifest lists them. */
    char first[QP_CONVERT_KEY];
    char last[QP_CONVERT_KEY];
};

/**
 * Converts one CSV document (csv, len bytes, borrowed) to an XML document. Returns
 * QP_CONVERT_OK and fills *result, or another status and fills *err (result->xml NULL).
 */
enum qp_convert_status qp_convert(const char *csv, size_t len, const struct qp_convert_opts *opts,
                                  struct qp_convert_result *result, struct qp_convert_error *err);

/**
 * Gives the converter its next piece of input: sets *data and *len (borrowed until the next
 * call; any size), *len == 0 only at the end of the input. Returns 0 or a negative errno.
 */
typedef int (*qp_convert_read_fn)(void *ctx, const char **data, size_t *len);
/** Takes the next piece of the XML (borrowed for the call). Returns 0 or a negative errno. */
typedef int (*qp_convert_write_fn)(void *ctx, const char *data, size_t len);

/** The XML is handed to the write callback in pieces of about this size (the last smaller). */
#define QP_CONVERT_PIECE ((size_t)256 << 10)

/**
 * Converts a CSV document read through read(rctx) into an XML document written through
 * write(wctx), never holding more than a piece of each (plus one record). The XML written
 * before an error is garbage the caller discards. Returns QP_CONVERT_OK and fills *result
 * (xml NULL), or another status and fills *err; a callback's failure is QP_CONVERT_IO.
 */
enum qp_convert_status qp_convert_stream(qp_convert_read_fn read, void *rctx,
                                         qp_convert_write_fn write, void *wctx,
                                         const struct qp_convert_opts *opts,
                                         struct qp_convert_result *result,
                                         struct qp_convert_error *err);

/** A short name for a status ("not-csv", "bad-csv", ...), for the catalog and messages. */
const char *qp_convert_status_name(enum qp_convert_status status);

#endif

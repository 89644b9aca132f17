// SPDX-License-Identifier: MIT
/* Streaming RFC 4180 CSV parser: chunks of any size in, records of field slices out. */
#ifndef QP_CSV_H
#define QP_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/dialect.h"

/*
 * Grammar (RFC 4180 plus what real files need; D is the dialect's delimiter, ',' by default):
 * - records end with LF, CRLF or a lone CR (like Python's csv module); the last record may
 *   end at the end of the input; empty lines between records are skipped, and so are lines of
 *   only spaces and tabs (one unquoted field of them, as pandas skips them);
 * - a field is either unquoted (any bytes but D CR LF) or quoted: "..." where a doubled ""
 *   is one quote and D, CR and LF are data. A quote inside an unquoted field is data (as
 *   Python's csv and pandas read it), or an error with dialect.strict;
 * - with dialect.detect, the delimiter is chosen from the header line (qp_dialect_guess);
 * - with dialect.encoding latin-1 or cp1252 the input is transcoded to UTF-8 first, unless it
 *   starts with a UTF-8 byte order mark, which wins (as browsers decode);
 * - a UTF-8 byte order mark at the very start is skipped (columns of line 1 count after it);
 * - errors: a quote inside an unquoted field (strict), anything but D CR LF after a closing
 *   quote, a quoted field still open at the end of the input, a NUL byte, invalid UTF-8
 *   (overlong, truncated, over U+10FFFF, stray continuation bytes, surrogates unless xml_chars
 *   is set), a ragged record (when same_width is set), and caps on field size, record size and
 *   column count. Each error has the 1-based physical line and byte column where it is, the
 *   column counting bytes of the input as given (before transcoding).
 * Not thread-safe: one parser per thread; distinct parsers are independent.
 */

struct qp_csv;

enum qp_csv_status {
    QP_CSV_OK = 0,    /* *rec holds one record */
    QP_CSV_NEED_MORE, /* the chunk is consumed: feed the next one, or finish */
    QP_CSV_END,       /* finish() was called and every record has been returned */
    QP_CSV_ERROR,     /* see qp_csv_error(); the parser stays in this state */
};

enum qp_csv_error_kind {
    QP_CSV_ERR_NONE = 0,
    QP_CSV_ERR_RAGGED,           /* a record's field count differs from the header's */
    QP_CSV_ERR_UNTERMINATED,     /* the input ends inside a quoted field */
    QP_CSV_ERR_STRAY_QUOTE,      /* a quote inside an unquoted field */
    QP_CSV_ERR_AFTER_QUOTE,      /* a byte other than , CR LF right after a closing quote */
    QP_CSV_ERR_UTF8,             /* invalid UTF-8 */
    QP_CSV_ERR_NUL,              /* a NUL byte */
    QP_CSV_ERR_XML_CHAR,         /* xml_chars: a C0 control, U+FFFE, U+FFFF or a surrogate */
    QP_CSV_ERR_FIELD_TOO_LARGE,  /* a field over max_field bytes */
    QP_CSV_ERR_RECORD_TOO_LARGE, /* a record over max_record bytes of field data */
    QP_CSV_ERR_TOO_MANY_COLUMNS, /* a record with more than max_columns fields */
    QP_CSV_ERR_NO_MEMORY,
};

#define QP_CSV_DEFAULT_MAX_FIELD   ((size_t)16 << 20)
#define QP_CSV_DEFAULT_MAX_RECORD  ((size_t)64 << 20)
#define QP_CSV_DEFAULT_MAX_COLUMNS ((size_t)16384)

struct qp_csv_opts {
    /* Caps count raw input bytes (UTF-8 bytes after transcoding): a field from its first byte (the
     * opening quote, if any) to before its closing quote or delimiter; a record from its first byte
     * to before its line end, commas included. An error fires at the first byte past a cap, so it
     * is the same however the input is chunked. */
    size_t max_field;   /* 0 = QP_CSV_DEFAULT_MAX_FIELD */
    size_t max_record;  /* 0 = QP_CSV_DEFAULT_MAX_RECORD */
    size_t max_columns; /* fields in one record; 0 = QP_CSV_DEFAULT_MAX_COLUMNS */
    bool same_width;    /* every record must have as many fields as the first (the header) */
    bool xml_chars;     /* also reject characters XML 1.0 forbids: C0 controls other than TAB,
                           LF and CR, U+FFFE, U+FFFF, and UTF-8-encoded surrogates */
    struct qp_csv_dialect dialect; /* delimiter, detection, strict quotes, encoding */
};

/** One field: data is not NUL-terminated and never NULL ("" when len is 0). */
struct qp_csv_field {
    const char *data;
    size_t len;
    bool xml_special; /* with xml_chars: the field has & < > or CR (it needs escaping) */
};

struct qp_csv_record {
    const struct qp_csv_field *fields; /* count fields, owned by the parser */
    size_t count;
    uint64_t line;  /* 1-based physical line where the record starts */
    uint64_t index; /* 0 for the first record (the header), then 1, 2, ... */
    size_t bytes;   /* sum of the fields' lengths */
};

struct qp_csv_error {
    enum qp_csv_error_kind kind;
    uint64_t line;     /* 1-based physical line */
    uint64_t column;   /* 1-based byte column in that line */
    char message[160]; /* an English sentence without the position */
};

/**
 * Creates a parser (opts borrowed, may be NULL for defaults). Returns 0, -EINVAL for a
 * delimiter that qp_dialect_delimiter_ok() refuses or an unknown encoding, or -ENOMEM; on
 * failure *out is NULL. Any thread.
 */
CORE_MUST_CHECK int qp_csv_create(const struct qp_csv_opts *opts, struct qp_csv **out);

/** Destroys a parser; accepts NULL. */
void qp_csv_destroy(struct qp_csv *p);

/**
 * Gives the parser the next chunk of input (borrowed: it must stay valid and unchanged until
 * qp_csv_next_record() returns NEED_MORE, END or ERROR). Call it before the first
 * qp_csv_next_record() and after each NEED_MORE, never while a chunk is still being consumed.
 * A chunk may have any size, including 0.
 */
void qp_csv_feed(struct qp_csv *p, const char *data, size_t len);

/** Tells the parser that no more input follows the current chunk. */
void qp_csv_finish(struct qp_csv *p);

/**
 * Parses the next record. On QP_CSV_OK, *rec describes it; its fields point into the current
 * chunk or the parser's own buffer, valid until the next call on this parser.
 */
enum qp_csv_status qp_csv_next_record(struct qp_csv *p, struct qp_csv_record *rec);

/**
 * The delimiter in use: the dialect's, or the detected one once the first record (or END) has
 * been returned.
 */
char qp_csv_delimiter(const struct qp_csv *p);

/**
 * The work done at buffer ends so far: how many field descriptors were looked at to move an
 * unfinished record into the parser's own buffer. It grows with the fields parsed, not with
 * how often the input was cut (at most one step per field of a record that spans a cut), so
 * tests can check the parser's cost without timing it.
 */
uint64_t qp_csv_boundary_steps(const struct qp_csv *p);

/** The error after QP_CSV_ERROR (kind QP_CSV_ERR_NONE otherwise). Borrowed from the parser. */
const struct qp_csv_error *qp_csv_error(const struct qp_csv *p);

/** A short name for an error kind ("ragged-row", "bad-utf8", ...). */
const char *qp_csv_error_name(enum qp_csv_error_kind kind);

#endif

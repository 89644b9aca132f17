// SPDX-License-Identifier: MIT
/* CSV dialects: the options that vary between producers, and the delimiter detection. */
#ifndef QP_DIALECT_H
#define QP_DIALECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quotepack/transcode.h"

/*
 * How a CSV file is written. Zero-initialised it is RFC 4180: comma, no detection, a quote in
 * an unquoted field read as data, UTF-8. Plain data, copied by value; pure functions below.
 */
struct qp_csv_dialect {
    char delimiter;            /* the field separator; 0 means ','. See qp_dialect_delimiter_ok */
    bool detect;               /* choose the delimiter from the header line (delimiter unused) */
    bool strict;               /* a quote inside an unquoted field is an error, not data */
    enum qp_encoding encoding; /* the input's encoding, transcoded to UTF-8 before parsing */
};

/* What detection chooses from, in the order that breaks ties: comma, semicolon, tab, pipe. */
#define QP_DIALECT_CANDIDATES ",;\t|"

/* Detection reads at most this much of the input looking for the end of the header line. */
#define QP_DIALECT_SNIFF_MAX ((size_t)64 << 10)

/** Whether c may be a delimiter: a byte 0x01..0x7F other than '"', CR and LF. */
bool qp_dialect_delimiter_ok(int c);

/**
 * Parses a --delimiter argument into d (delimiter and detect): "auto" (detect), "comma",
 * "semicolon", "tab", "pipe", "space", "\t", or one byte that qp_dialect_delimiter_ok accepts.
 * Returns 0, or -EINVAL with d unchanged.
 */
int qp_dialect_parse_delimiter(const char *arg, struct qp_csv_dialect *d);

/** Names a delimiter for messages: "comma", "semicolon", "tab", "pipe", "space", "'x'" or
 * "byte 0x1F"; buf (borrowed, at least 16 bytes) is returned. */
const char *qp_dialect_delimiter_name(char c, char *buf, size_t size);

/*
 * Finds the header line, in pieces: the first line that has something other than spaces and
 * tabs. A quote at the start of a line or right after a candidate opens a quoted span, in which
 * line ends and candidates are data and "" is a quote (so it works before the delimiter is
 * known). Zero-initialise, then call qp_dialect_scan on consecutive pieces.
 */
struct qp_dialect_scan {
    uint64_t off;        /* bytes scanned so far */
    uint64_t line_start; /* offset of the current (or, once found, the header) line */
    uint64_t line_end;   /* once found: offset of the header line's CR or LF */
    int state;
    bool content; /* the current line has a byte other than space and tab */
    bool found;
};

/**
 * Scans data[0..len) (borrowed). Returns how many bytes it consumed: up to and including the
 * header line's end (then s->found is set), or len. Pure apart from *s.
 */
size_t qp_dialect_scan(struct qp_dialect_scan *s, const char *data, size_t len);

/**
 * The delimiter of a header line (line[0..len), borrowed, without its line end): the candidate
 * that occurs most often outside quoted spans, the earlier one in QP_DIALECT_CANDIDATES on a
 * tie, ',' when none occurs. Pure.
 */
char qp_dialect_guess(const char *line, size_t len);

#endif

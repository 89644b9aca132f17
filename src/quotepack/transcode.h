// SPDX-License-Identifier: MIT
/* Single-byte text encodings (Latin-1, Windows-1252) to UTF-8, by hand-written tables. */
#ifndef QP_TRANSCODE_H
#define QP_TRANSCODE_H

#include <stddef.h>

/*
 * Pure functions: no state, no allocation, callable from any thread at once.
 * Why tables and not iconv(3): the two encodings are 256-entry maps, a table is a few lines,
 * needs no locale or descriptor per thread, never fails halfway, and copies ASCII runs 16 bytes
 * at a time; iconv would add a stateful handle per parser and an error path per call for the
 * same result.
 */

enum qp_encoding {
    QP_ENCODING_UTF8 = 0, /* no transcoding: the input is checked as UTF-8 */
    QP_ENCODING_LATIN1,   /* ISO-8859-1: byte b is U+00bb (what Python's "latin-1" does) */
    QP_ENCODING_CP1252,   /* Windows-1252: Latin-1 but 0x80..0x9F are mostly punctuation */
};

/* Output bytes per input byte, at most (U+20AC and the other 0x80..0x9F signs take 3). */
#define QP_TRANSCODE_MAX_GROWTH 3

/**
 * Parses an encoding name, case-insensitively: utf-8/utf8, latin-1/latin1/iso-8859-1,
 * cp1252/windows-1252. Returns 0 and sets *out, or -EINVAL.
 */
int qp_encoding_parse(const char *name, enum qp_encoding *out);

/** The canonical name of an encoding ("utf-8", "latin-1", "cp1252"). */
const char *qp_encoding_name(enum qp_encoding enc);

/**
 * Transcodes in[0..len) from enc (LATIN1 or CP1252; UTF8 copies) to UTF-8 in out, which must
 * have room for QP_TRANSCODE_MAX_GROWTH * len bytes. Returns the bytes written. Every byte
 * has a mapping: the five bytes Windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D)
 * become U+0081.. as in Windows' own tables and the WHATWG Encoding Standard (Python's codec
 * rejects them instead). Both buffers are borrowed.
 */
size_t qp_transcode_to_utf8(enum qp_encoding enc, const char *in, size_t len, char *out);

#endif

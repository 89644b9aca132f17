// SPDX-License-Identifier: MIT
/* XML helpers for the converter: element names from CSV headers, text checks and escaping. */
#ifndef QP_XML_H
#define QP_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/* All functions are pure and callable from any thread. docs/quotepack-xml.md has the rules. */

/** A borrowed byte string (not NUL-terminated). */
struct qp_xml_text {
    const char *data;
    size_t len;
};

/** Room qp_xml_name_from_header() needs for a header of len bytes. */
#define QP_XML_NAME_MAX(len) ((len) + 2)

/**
 * Maps one CSV header to a valid XML 1.0 element name (before duplicates are numbered):
 * U+0020 spaces are removed; every code point that is not a name character, and ':' (which
 * namespaces reserve), and every byte of invalid UTF-8, becomes '_'; a first character that
 * cannot start a name (a digit, '-', '.', U+00B7, a combining mark) gets a '_' prefix; an
 * empty result is "_"; a name starting with "xml" in any case gets a '_' prefix. Name
 * characters: ASCII letters, digits, '_', '-', '.', and the non-ASCII letters, digits and
 * marks of XML 1.0 fourth edition (what expat accepts; a subset of the fifth edition).
 * Writes into out (room for QP_XML_NAME_MAX(len) bytes, not NUL-terminated) and returns the
 * name's length, at least 1.
 */
size_t qp_xml_name_from_header(const char *hdr, size_t len, char *out);

/** Distinct element names for a header row. */
struct qp_xml_names {
    size_t count;
    char **names; /* NUL-terminated, in header order; owned by this object */
    size_t *lens;
};

/**
 * Maps n headers (borrowed) to distinct element names: each goes through
 * qp_xml_name_from_header(); a name already taken by an earlier column becomes name_2,
 * name_3, ... skipping any numbered name that another column has as its own name.
 * Returns 0 and a new object in *out (free with qp_xml_names_destroy), or -ENOMEM / -E2BIG
 * (n or the total size is too large); on failure *out is NULL.
 */
CORE_MUST_CHECK int qp_xml_names_create(const struct qp_xml_text *headers, size_t n,
                                        struct qp_xml_names **out);

/** Frees names from qp_xml_names_create(); accepts NULL. */
void qp_xml_names_destroy(struct qp_xml_names *names);

/**
 * Checks that s is UTF-8 made only of characters XML 1.0 allows (Char production: TAB, LF,
 * CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF). Returns 0, or -EILSEQ with the
 * byte offset of the first bad character in *bad_offset (may be NULL).
 */
int qp_xml_check_text(const char *s, size_t len, size_t *bad_offset);

/** Room qp_xml_escape_text() needs for len input bytes. */
#define QP_XML_ESCAPE_MAX(len) ((len)*5)

/**
 * Escapes character data for an element's content: & -> &amp;, < -> &lt;, > -> &gt;,
 * CR -> &#13; (so that a parser's line-end normalisation keeps it); every other byte is
 * copied. The input must already be checked (qp_xml_check_text or a parser that rejects
 * what XML forbids). Writes into out (room for QP_XML_ESCAPE_MAX(len)) and returns the
 * number of bytes written.
 */
size_t qp_xml_escape_text(const char *s, size_t len, char *out);

#endif

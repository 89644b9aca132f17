// SPDX-License-Identifier: MIT
/* A range of rows out of a converted document, as the document a conversion of them gives. */
#ifndef QP_XMLRANGE_H
#define QP_XMLRANGE_H

#include <stddef.h>
#include <stdio.h>

#include "core/compiler.h"

/*
 * For `quotepack cat --from/--to`. The document is one quotepack made (convert.c,
 * docs/quotepack-xml.md): the declaration, "<Data>", rows ("<Row>" elements, indented or
 * compact), "</Data>", or "<Data />" when it has none. Field text is escaped, so every '<'
 * starts a tag and the rows are the elements at depth 1 (a column named Row is no trouble).
 * A row is kept when its first field's text, as a string, is not before from and its first
 * len(to) bytes are not after to (ISO dates YYYY-MM-DD compare so; NULL = no bound).
 * The output is byte for byte what converting only the kept rows gives, the empty form
 * ("<Data />") included.
 */

/**
 * Writes the rows of doc[0..len) in [from, to] to out. Returns 0, -EINVAL when doc is not
 * in that form (what was written before is then to be discarded), or -EIO on a write error.
 */
int qp_xml_range(const char *doc, size_t len, const char *from, const char *to,
                 FILE *out) CORE_MUST_CHECK;

/**
 * Writes the n documents docs[i] (lens[i] bytes each, in that form, all compact or all
 * indented) as one: their rows in the given order, which is what converting all those rows
 * at once gives (`quotepack cat` across a symbol's generations). 0, -EINVAL or -EIO.
 */
int qp_xml_concat(const char *const *docs, const size_t *lens, size_t n, FILE *out) CORE_MUST_CHECK;

#endif

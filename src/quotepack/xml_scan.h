// SPDX-License-Identifier: MIT
/* A streaming check of an archived XML document's structure, counting its rows. */
#ifndef QP_XML_SCAN_H
#define QP_XML_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * verify reads every member back; this scanner checks, as the bytes stream past, that the
 * document has the shape quotepack writes (docs/quotepack-xml.md): an optional <?...?>
 * declaration, one root element, start and end tags that nest and match (by name), no text
 * outside the root, and it ends outside every element. It counts the root's child elements:
 * the data rows, which the manifest and the catalog record. It is not a validating parser
 * (no attribute, entity or character checks beyond that: the converter checked those when it
 * wrote the document, and the SHA-256 / CRC-32 say the bytes are the ones it wrote).
 * A plain struct the caller owns; no allocation; any thread, one scanner per thread.
 */
#define QP_XML_SCAN_DEPTH 32

struct qp_xml_scan {
    int state;
    uint64_t offset;                   /* bytes fed so far */
    uint64_t rows;                     /* elements at depth 2 so far */
    unsigned depth;                    /* open elements */
    unsigned roots;                    /* elements at depth 1 so far */
    uint32_t hash;                     /* of the tag name being read */
    bool in_name;                      /* reading the tag's name */
    char prev;                         /* previous byte inside a tag ('/' before '>') */
    uint32_t stack[QP_XML_SCAN_DEPTH]; /* name hashes of the open elements */
    char error[96];                    /* the first problem, "" while there is none */
    uint64_t error_offset;             /* where it is */
};

void qp_xml_scan_init(struct qp_xml_scan *s);
/** Feeds the next len bytes of the document (borrowed). After an error, does nothing. */
void qp_xml_scan_feed(struct qp_xml_scan *s, const void *data, size_t len);
/** The end of the document: 0 and *rows, or -EINVAL (s->error says what, at error_offset). */
int qp_xml_scan_finish(struct qp_xml_scan *s, uint64_t *rows);

#endif

// SPDX-License-Identifier: MIT
/* The CSV parser's byte-level checks: class tables, UTF-8 validation, NUL and control bytes. */
#include <errno.h>

#include "core/log.h"
#include "quotepack/csv_impl.h"

void qp_csv_build_classes(struct qp_csv *p)
{
    const uint8_t delim = (uint8_t)p->delim;
    const bool strict = p->opts.dialect.strict;
    for (int c = 0; c < 256; c++) {
        uint8_t k = C_ORD;
        if (c == 0) {
            k = C_NUL;
        } else if (c == '\r') {
            k = C_CR;
        } else if (c == '\n') {
            k = C_LF;
        } else if (c < 0x20 && c != '\t') {
            k = p->opts.xml_chars ? C_CTRL : C_ORD;
        } else if (c >= 0x80) {
            k = C_HIGH;
        } else if (c == '"') {
            k = C_QUOTE;
        } else if (p->opts.xml_chars && (c == '&' || c == '<' || c == '>')) {
            k = C_XML;
        }
        p->cls_q[c] = k;
        /* Unquoted, a quote is data unless strict (as Python's csv and pandas read it). */
        p->cls_unq[c] = c == delim ? C_COMMA : c == '"' && !strict ? C_ORD : k;
    }
}

static int utf8_lead(struct qp_csv *p, uint8_t c, size_t i)
{
    p->u8_line = p->line;
    p->u8_col = csv_col_at(p, i);
    if (c >= 0xC2 && c <= 0xDF) {
        p->u8_need = 1;
        p->u8_lo = 0x80;
        p->u8_hi = 0xBF;
        p->u8_cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        p->u8_need = 2;
        p->u8_lo = c == 0xE0 ? 0xA0 : 0x80;
        /* ED A0..BF encodes a surrogate: invalid UTF-8, or with xml_chars reported as a
         * character XML forbids once the sequence is complete. */
        p->u8_hi = c == 0xED && !p->opts.xml_chars ? 0x9F : 0xBF;
        p->u8_cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        p->u8_need = 3;
        p->u8_lo = c == 0xF0 ? 0x90 : 0x80;
        p->u8_hi = c == 0xF4 ? 0x8F : 0xBF;
        p->u8_cp = c & 0x07u;
    } else {
        qp_csv_fail(p, QP_CSV_ERR_UTF8, p->u8_line, p->u8_col,
                    "invalid UTF-8 byte 0x%02X" QP_CSV_ENC_HINT, c);
        return -EILSEQ;
    }
    return 0;
}

/* Consumes continuation bytes of the sequence in progress while the chunk has them. */
int qp_csv_utf8_cont(struct qp_csv *p)
{
    while (p->u8_need > 0 && p->pos < p->in_len) {
        if (p->base + p->pos >= p->stop) {
            qp_csv_cap_error(p, p->base + p->pos);
            return -E2BIG;
        }
        uint8_t c = (uint8_t)p->in[p->pos];
        if (c < p->u8_lo || c > p->u8_hi) {
            qp_csv_fail(
                    p, QP_CSV_ERR_UTF8, p->u8_line, p->u8_col,
                    "invalid UTF-8 sequence (byte 0x%02X is not a valid continuation)" QP_CSV_ENC_HINT,
                    c);
            return -EILSEQ;
        }
        p->u8_cp = (p->u8_cp << 6) | (c & 0x3Fu);
        p->u8_lo = 0x80;
        p->u8_hi = 0xBF;
        p->u8_need--;
        p->pos++;
    }
    if (p->u8_need == 0 && p->opts.xml_chars) {
        uint32_t cp = p->u8_cp;
        if (cp == 0xFFFE || cp == 0xFFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            qp_csv_fail(p, QP_CSV_ERR_XML_CHAR, p->u8_line, p->u8_col,
                        "character U+%04X is not allowed in XML 1.0", (unsigned)cp);
            return -EILSEQ;
        }
    }
    return 0;
}

/* Handles a byte that stopped a scan inside a field and is not a delimiter. */
int qp_csv_special_byte(struct qp_csv *p, uint8_t cls, size_t i)
{
    uint8_t c = (uint8_t)p->in[i];
    switch (cls) {
    case C_NUL:
        qp_csv_fail(p, QP_CSV_ERR_NUL, p->line, csv_col_at(p, i), "NUL byte in the data");
        return -EILSEQ;
    case C_CTRL:
        qp_csv_fail(p, QP_CSV_ERR_XML_CHAR, p->line, csv_col_at(p, i),
                    "control character U+%04X is not allowed in XML 1.0", c);
        return -EILSEQ;
    case C_HIGH:
        if (utf8_lead(p, c, i) < 0) {
            return -EILSEQ;
        }
        /* The continuation bytes this chunk has (each checked against the caps); the rest,
         * if the chunk ends inside the sequence, at the top of the main loop. */
        p->pos = i + 1;
        return qp_csv_utf8_cont(p);
    default:
        CORE_BUG("unexpected byte class");
    }
}

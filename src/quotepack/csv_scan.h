// SPDX-License-Identifier: MIT
/* Private to the CSV parser (csv.c): byte classes and the scan over ordinary bytes. */
#ifndef QP_CSV_SCAN_H
#define QP_CSV_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quotepack/csv_impl.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Static inline, so that the grammar's loops (csv.c) keep the scan inlined. */

/*
 * The length of the valid, allowed UTF-8 sequence at s[0] (a byte >= 0x80) when it lies wholly
 * in s[0..avail), else 0: then the resumable byte-at-a-time path (utf8_lead, utf8_cont) takes
 * it and reports the error, or a sequence cut by the end of a chunk or a cap.
 */
static inline size_t utf8_seq(const uint8_t *s, size_t avail, bool xml)
{
    uint8_t c = s[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return avail >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
            (c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) ||
            (xml && c == 0xEF && s[1] == 0xBF && s[2] >= 0xBE)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80 ||
            (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

/*
 * Returns the index of the first byte in s[i..lim) whose class is not C_ORD, or lim; valid
 * UTF-8 sequences wholly before lim are stepped over. With
 * SSE2, 16 bytes at a time: a signed compare with 0x20 finds controls and bytes >= 0x80 at
 * once, equality finds the punctuation; a candidate that the table calls ordinary (TAB, or a
 * control without xml_chars) is stepped over.
 */
static inline size_t scan(const struct qp_csv *p, const uint8_t *cls, bool quoted, const uint8_t *s,
                          size_t i, size_t lim)
{
#if defined(__SSE2__)
    const bool xml = p->opts.xml_chars;
    const __m128i v_ctl = _mm_set1_epi8(0x20);
    const __m128i v_quote = _mm_set1_epi8('"');
    const __m128i v_comma = _mm_set1_epi8(quoted ? '"' : p->delim);
    const __m128i v_amp = _mm_set1_epi8(xml ? '&' : '"');
    const __m128i v_lt = _mm_set1_epi8(xml ? '<' : '"');
    const __m128i v_gt = _mm_set1_epi8(xml ? '>' : '"');
    while (lim - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_cmplt_epi8(x, v_ctl);
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_quote));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_comma));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_amp));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_lt));
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, v_gt));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        size_t next = i + 16; /* where the next vector starts */
        while (mask != 0) {
            size_t j = i + (size_t)__builtin_ctz(mask);
            if (cls[s[j]] == C_ORD) {
                mask &= mask - 1;
                continue;
            }
            size_t u = s[j] >= 0x80 ? utf8_seq(s + j, lim - j, xml) : 0;
            if (u == 0) {
                return j;
            }
            if (j + u >= next) {
                next = j + u;
                break;
            }
            mask &= ~0u << (j + u - i); /* drop the sequence's own bytes */
        }
        i = next;
    }
#else
    (void)quoted;
#endif
    while (i < lim) {
        if (cls[s[i]] == C_ORD) {
            i++;
            continue;
        }
        size_t u = s[i] >= 0x80 ? utf8_seq(s + i, lim - i, p->opts.xml_chars) : 0;
        if (u == 0) {
            break;
        }
        i += u;
    }
    return i;
}

/*
 * Scans ordinary bytes up to lim, stepping over bytes that only need XML escaping (and
 * flagging the field for it); stops at the first byte the state machine must handle.
 */
static inline size_t scan_marking_special(struct qp_csv *p, const uint8_t *cls, bool quoted,
                                          const uint8_t *s, size_t i, size_t lim)
{
    for (;;) {
        i = scan(p, cls, quoted, s, i, lim);
        if (i < lim && cls[s[i]] == C_XML) {
            p->f_special = true;
            i++;
            continue;
        }
        return i;
    }
}

#endif

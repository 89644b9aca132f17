// SPDX-License-Identifier: MIT
/* The CSV parser's input layer: chunks, transcoding, byte order mark, delimiter detection. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "quotepack/csv_impl.h"

/*
 * The grammar (csv.c) scans one buffer at a time and, at its end, asks qp_csv_input_refill()
 * for the next. For UTF-8 input each caller chunk is that buffer, untouched (the fast path). For
 * a single-byte encoding the chunk is transcoded in slices of SLICE bytes into tbuf; the end of
 * a slice is then a buffer boundary like the end of a chunk, which the grammar handles already
 * (the unfinished record moves into its own buffer). Two more buffers are replayed before the
 * rest of a chunk: the first bytes of a byte order mark that turned out not to be one, and,
 * with detection, the input up to the end of the header line, copied while it was looked for.
 */

#define SLICE ((size_t)64 << 10)

static const char bom_bytes[3] = { '\xEF', '\xBB', '\xBF' };

void qp_csv_feed(struct qp_csv *p, const char *data, size_t len)
{
    if (p->enc_settled && !p->transcoding) {
        p->in = data;
        p->in_len = len;
    } else {
        p->src = data;
        p->src_len = len;
        p->src_pos = 0;
        p->in = NULL;
        p->in_len = 0;
    }
    p->pos = 0;
    p->run_start = 0;
}

void qp_csv_finish(struct qp_csv *p)
{
    p->eof = true;
}

void qp_csv_input_release(struct qp_csv *p)
{
    free(p->tbuf);
    free(p->sniff);
    p->tbuf = NULL;
    p->sniff = NULL;
}

static void set_in(struct qp_csv *p, const char *data, size_t len)
{
    p->in = data;
    p->in_len = len;
    p->pos = 0;
    p->run_start = 0;
}

/* Whether the caller's chunk (or held bytes) can still give a buffer. */
static bool more_source(const struct qp_csv *p)
{
    return p->src_pos < p->src_len || (!p->enc_settled && p->eof && p->pend_n > 0);
}

/* Characters in s[0..n) of UTF-8: the bytes that are not continuation bytes. */
static uint64_t chars(const char *s, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c += ((uint8_t)s[i] & 0xC0) != 0x80;
    }
    return c;
}

uint64_t qp_csv_input_column(const struct qp_csv *p, uint64_t ls, uint64_t abs)
{
    /* Each input byte became one character, so a column is characters since the line start:
     * those in this buffer, plus those before it (carry) for a line that began earlier. */
    if (p->transcoding && abs >= p->base && abs - p->base <= p->in_len && ls <= abs) {
        if (ls >= p->base) {
            return chars(p->in + (ls - p->base), (size_t)(abs - ls)) + 1;
        }
        if (p->carry_ok && p->carry_ls == ls) {
            return p->carry + chars(p->in, (size_t)(abs - p->base)) + 1;
        }
    }
    return abs - ls + 1;
}

/* Before the buffer ending at next is left: what columns on its lines will need later. */
static void note_columns(struct qp_csv *p, uint64_t next)
{
    bool in_field = p->st == ST_UNQUOTED || p->st == ST_QUOTED || p->st == ST_QUOTE;
    if (in_field && p->f_abs >= p->base && p->f_abs - p->base <= p->in_len) {
        p->f_ocol = qp_csv_input_column(p, p->f_line_start, p->f_abs);
        p->f_ocol_abs = p->f_abs;
        p->f_ocol_ok = true;
    }
    uint64_t ls = p->line_start;
    if (ls < next) {
        p->carry_ok = next >= p->base && next - p->base <= p->in_len;
        if (p->carry_ok) {
            p->carry = qp_csv_input_column(p, ls, next) - 1;
            p->carry_ls = ls;
        }
    }
}

/*
 * Makes the next buffer from the caller's chunk: the rest of it (UTF-8), or one transcoded
 * slice. While the encoding is not settled, up to three leading bytes that match a UTF-8 byte
 * order mark are held in pend: a whole mark makes the input UTF-8, anything else settles the
 * dialect's encoding. May leave in empty (the chunk ended while bytes are held).
 */
static int load(struct qp_csv *p)
{
    set_in(p, NULL, 0);
    if (!p->enc_settled) {
        while (p->src_pos < p->src_len && p->pend_n < 3 &&
               p->src[p->src_pos] == bom_bytes[p->pend_n]) {
            p->pend[p->pend_n++] = (uint8_t)p->src[p->src_pos++];
        }
        if (p->pend_n == 3) {
            p->enc = QP_ENCODING_UTF8;
            p->enc_settled = true;
            p->pend_n = 0;
            set_in(p, bom_bytes, 3);
            return 0;
        }
        if (p->src_pos == p->src_len && !p->eof) {
            return 0;
        }
        p->enc_settled = true;
        p->transcoding = true;
    }
    if (!p->transcoding) {
        set_in(p, p->src + p->src_pos, p->src_len - p->src_pos);
        p->src_pos = p->src_len;
        return 0;
    }
    if (p->tbuf == NULL) {
        p->tbuf = malloc((SLICE + sizeof(p->pend)) * QP_TRANSCODE_MAX_GROWTH);
        if (p->tbuf == NULL) {
            qp_csv_fail(p, QP_CSV_ERR_NO_MEMORY, p->line, 1, "out of memory for transcoding");
            return -ENOMEM;
        }
    }
    size_t o = qp_transcode_to_utf8(p->enc, (const char *)p->pend, p->pend_n, p->tbuf);
    p->pend_n = 0;
    size_t n = p->src_len - p->src_pos < SLICE ? p->src_len - p->src_pos : SLICE;
    o += qp_transcode_to_utf8(p->enc, p->src + p->src_pos, n, p->tbuf + o);
    p->src_pos += n;
    set_in(p, p->tbuf, o);
    return 0;
}

enum qp_csv_refill qp_csv_input_refill(struct qp_csv *p)
{
    bool last = !p->replay && !more_source(p);
    if (last && p->eof) {
        return QP_CSV_REFILL_EOF;
    }
    uint64_t next = p->replay ? p->saved_base : p->base + p->in_len;
    bool sniffed = p->replay && p->sniff != NULL && p->in == p->sniff;
    if (p->transcoding) {
        note_columns(p, next);
    }
    if (qp_csv_migrate(p) < 0) {
        return QP_CSV_REFILL_ERROR;
    }
    if (last) {
        return QP_CSV_REFILL_NEED_MORE;
    }
    if (p->replay) {
        p->replay = false;
        set_in(p, p->saved_in, p->saved_len);
        p->pos = p->saved_pos;
        p->run_start = p->pos;
        p->base = p->saved_base;
        if (sniffed) {
            free(p->sniff); /* nothing points into it any more (migrate copied the record) */
            p->sniff = NULL;
        }
        return QP_CSV_REFILL_MORE;
    }
    return load(p) < 0 ? QP_CSV_REFILL_ERROR : QP_CSV_REFILL_MORE;
}

/* Replays buf[0..len), which holds the input from absolute offset base, before the rest of in. */
static void replay(struct qp_csv *p, const char *buf, size_t len, uint64_t base)
{
    p->replay = true;
    p->saved_in = p->in;
    p->saved_len = p->in_len;
    p->saved_pos = p->pos;
    p->saved_base = p->base;
    set_in(p, buf, len);
    p->base = base;
}

/* Returns OK (a buffer with bytes, or the end of the input: see p->pos == p->in_len),
 * NEED_MORE or ERROR. */
static enum qp_csv_status wait_bytes(struct qp_csv *p)
{
    while (p->pos == p->in_len) {
        switch (qp_csv_input_refill(p)) {
        case QP_CSV_REFILL_MORE:
            continue;
        case QP_CSV_REFILL_NEED_MORE:
            return QP_CSV_NEED_MORE;
        case QP_CSV_REFILL_EOF:
            return QP_CSV_OK;
        case QP_CSV_REFILL_ERROR:
            return QP_CSV_ERROR;
        }
    }
    return QP_CSV_OK;
}

static enum qp_csv_status skip_bom(struct qp_csv *p)
{
    while (p->bom_n < 3) {
        enum qp_csv_status st = wait_bytes(p);
        if (st != QP_CSV_OK) {
            return st;
        }
        if (p->pos == p->in_len || p->in[p->pos] != bom_bytes[p->bom_n]) {
            break;
        }
        p->bom_n++;
        p->pos++;
    }
    p->bom_done = true;
    if (p->bom_n == 3) {
        p->line_start = 3;
    } else if (p->bom_n > 0) {
        /* Not a BOM after all: its bytes are data. In this buffer, they are scanned again;
         * taken from earlier chunks, they are replayed before the rest of this one. */
        if (p->base == 0) {
            p->pos = 0;
        } else {
            replay(p, bom_bytes, p->bom_n, 0);
        }
    }
    p->run_start = p->pos;
    return QP_CSV_OK;
}

/*
 * Copies the input into p->sniff up to the end of the header line (or QP_DIALECT_SNIFF_MAX
 * bytes, or the end of the input), picks the delimiter from that line, then replays the copy.
 */
static enum qp_csv_status detect(struct qp_csv *p)
{
    for (;;) {
        enum qp_csv_status st = wait_bytes(p);
        if (st != QP_CSV_OK) {
            return st;
        }
        if (p->pos == p->in_len) {
            break; /* the end of the input */
        }
        if (p->sniff == NULL) {
            p->sniff = malloc(QP_DIALECT_SNIFF_MAX);
            if (p->sniff == NULL) {
                return qp_csv_fail(p, QP_CSV_ERR_NO_MEMORY, p->line, 1,
                                   "out of memory for detecting the delimiter");
            }
            p->sniff_base = p->base + p->pos;
        }
        size_t n = p->in_len - p->pos;
        if (n > QP_DIALECT_SNIFF_MAX - p->sniff_len) {
            n = QP_DIALECT_SNIFF_MAX - p->sniff_len;
        }
        size_t k = qp_dialect_scan(&p->scan, p->in + p->pos, n);
        memcpy(p->sniff + p->sniff_len, p->in + p->pos, k);
        p->sniff_len += k;
        p->pos += k;
        if (p->scan.found || p->sniff_len == QP_DIALECT_SNIFF_MAX) {
            break;
        }
    }
    uint64_t end = p->scan.found ? p->scan.line_end : p->sniff_len;
    uint64_t start = p->scan.line_start < end ? p->scan.line_start : end;
    if (p->sniff_len > 0) {
        p->delim = qp_dialect_guess(p->sniff + start, (size_t)(end - start));
        qp_csv_build_classes(p);
        assert(!p->replay); /* a partial byte order mark has been scanned by now */
        replay(p, p->sniff, p->sniff_len, p->sniff_base);
    }
    return QP_CSV_OK;
}

enum qp_csv_status qp_csv_input_start(struct qp_csv *p)
{
    if (!p->bom_done) {
        enum qp_csv_status st = skip_bom(p);
        if (st != QP_CSV_OK) {
            return st;
        }
    }
    if (p->opts.dialect.detect) {
        enum qp_csv_status st = detect(p);
        if (st != QP_CSV_OK) {
            return st;
        }
    }
    p->started = true;
    return QP_CSV_OK;
}

// SPDX-License-Identifier: MIT
/* Private to the CSV parser: its state, shared by csv.c, csv_bytes.c and csv_input.c. */
#ifndef QP_CSV_IMPL_H
#define QP_CSV_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/csv.h"
#include "quotepack/dialect.h"

/*
 * Two layers. csv_input.c turns the caller's chunks into the buffers the grammar scans (in,
 * in_len): the chunk itself for UTF-8, slices of it transcoded into tbuf otherwise, a byte
 * order mark or the sniffed header line replayed from a buffer of the parser's own. csv.c is
 * the grammar over those buffers, with the scan in csv_scan.h and the byte-level checks (class
 * tables, UTF-8, NUL, controls) in csv_bytes.c. Positions (base, line_start, f_abs...) are absolute
 * offsets in the stream of buffers (after transcoding); columns in errors are mapped back to bytes
 * of the caller's input by qp_csv_input_column().
 */

/* Byte classes; C_ORD (0) means "part of the field, keep scanning". */
enum {
    C_ORD = 0,
    C_COMMA, /* the delimiter */
    C_QUOTE,
    C_CR,
    C_LF,
    C_NUL,
    C_CTRL,
    C_HIGH,
    C_XML, /* & < > with xml_chars: part of the field, but flagged */
};

/* Appended to the messages about invalid UTF-8. */
#define QP_CSV_ENC_HINT "; if the file is not UTF-8, give --encoding (cp1252, latin-1)"

enum qp_csv_state {
    ST_RECORD,   /* between records: skipping empty lines */
    ST_FIELD,    /* at the start of a field */
    ST_UNQUOTED, /* inside an unquoted field */
    ST_QUOTED,   /* inside a quoted field */
    ST_QUOTE,    /* just after a quote inside a quoted field: end, or the first of "" */
};

struct qp_csv_fdesc {
    size_t off; /* in the buffer or in buf */
    size_t len;
    bool in_buf;
    bool special; /* has & < > or CR */
};

struct qp_csv {
    struct qp_csv_opts opts;

    const char *in; /* the buffer being scanned (borrowed, or tbuf/sniff/bom bytes) */
    size_t in_len;
    size_t pos;
    uint64_t base; /* absolute offset of in[0] */

    /* A buffer replayed before the rest of in (a partial byte order mark, the sniffed line). */
    const char *saved_in;
    size_t saved_len, saved_pos;
    uint64_t saved_base;

    /* Input layer (csv_input.c). src is the caller's chunk while it is transcoded in slices. */
    const char *src;
    size_t src_len, src_pos;
    char *tbuf; /* one transcoded slice */
    uint8_t pend[3];
    size_t pend_n;     /* leading bytes held while they may be a UTF-8 byte order mark */
    uint64_t carry_ls; /* transcoding: characters in [carry_ls, base) are carry */
    uint64_t carry;
    uint64_t f_ocol_abs; /* transcoding: the column of the field starting at f_ocol_abs */
    uint64_t f_ocol;
    char *sniff; /* detection: the input up to the end of the header line */
    size_t sniff_len;
    uint64_t sniff_base;
    struct qp_dialect_scan scan;
    size_t bom_n;

    uint64_t line;       /* current physical line */
    uint64_t line_start; /* absolute offset of its first byte */
    uint64_t last_cr;    /* absolute offset of the last CR line break, UINT64_MAX if none */

    struct qp_csv_fdesc *fd; /* descriptors of the record being parsed */
    struct qp_csv_field *fields;
    size_t fcap;
    size_t nf;

    /* fd[0..nf_moved) are in buf already (migrate_fields starts after them); moved_steps counts
     * the descriptors migrate_fields looked at (qp_csv_boundary_steps). */
    size_t nf_moved;
    uint64_t moved_steps;

    size_t width;       /* fields in the first record */
    size_t width_limit; /* width once the header is known and same_width is set, else SIZE_MAX */
    uint64_t records;
    uint64_t rec_line;
    size_t rec_bytes;

    /* The field being parsed: its data so far is buf[f_buf_start..] (if f_in_buf) followed by
     * in[run_start..pos). qflag: buf ends with a quote that may be the first of "". */
    size_t run_start;
    size_t f_buf_start;
    uint64_t f_line, f_line_start;
    uint64_t f_abs;    /* absolute offset of the field's first byte */
    uint64_t rec_abs;  /* absolute offset of the record's first byte */
    uint64_t rec_stop; /* first absolute offset past the record cap */
    uint64_t stop;     /* first absolute offset past the field or record cap */

    /* A UTF-8 sequence in progress: bytes still needed and the range of the next one. */
    uint64_t u8_line, u8_col;
    uint32_t u8_cp;
    unsigned u8_need;

    char *buf;
    size_t buf_len, buf_cap;

    struct qp_csv_error err;
    enum qp_csv_state st;
    enum qp_encoding enc; /* what the input is in (UTF8 once a byte order mark says so) */
    char delim;
    uint8_t u8_lo, u8_hi;
    bool eof;
    bool started; /* the byte order mark and the delimiter are settled */
    bool bom_done;
    bool enc_settled; /* enc is final (no byte order mark can still change it) */
    bool transcoding; /* enc is settled and not UTF-8 */
    bool carry_ok;
    bool f_ocol_ok;
    bool replay;
    bool f_in_buf;
    bool qflag;
    bool f_special;
    bool rec_in_buf; /* some field of the record is in buf */
    bool rec_quoted; /* some field of the record is quoted */
    bool failed;
    bool ended;

    uint8_t cls_unq[256]; /* classes inside an unquoted field */
    uint8_t cls_q[256];   /* classes inside a quoted field */
};

enum qp_csv_refill {
    QP_CSV_REFILL_MORE,      /* in holds new bytes (possibly none): scan on */
    QP_CSV_REFILL_NEED_MORE, /* the caller's chunk is used up: return NEED_MORE */
    QP_CSV_REFILL_EOF,       /* no more input will come */
    QP_CSV_REFILL_ERROR,     /* p->err is set */
};

/* csv_input.c */
/** With transcoding: the 1-based column, in bytes of the caller's input, of absolute offset
 * abs on the line that starts at ls. */
uint64_t qp_csv_input_column(const struct qp_csv *p, uint64_t ls, uint64_t abs);

/* The column of in[i] on the current line (in bytes of the caller's input). */
static inline uint64_t csv_col_at(const struct qp_csv *p, size_t i)
{
    if (p->transcoding) {
        return qp_csv_input_column(p, p->line_start, p->base + i);
    }
    return p->base + i - p->line_start + 1;
}

/* The column of the current field's first byte. */
static inline uint64_t csv_f_col(const struct qp_csv *p)
{
    if (p->transcoding) {
        if (p->f_ocol_ok && p->f_ocol_abs == p->f_abs) {
            /* Noted when a buffer holding the field's start was left. Also right when the start
             * is in the current buffer's range but was parsed from a replayed copy (the sniffed
             * header line), where the carry is for a later line. */
            return p->f_ocol;
        }
        return qp_csv_input_column(p, p->f_line_start, p->f_abs);
    }
    return p->f_abs - p->f_line_start + 1;
}

/* csv.c */
CORE_PRINTF(5, 6)
enum qp_csv_status qp_csv_fail(struct qp_csv *p, enum qp_csv_error_kind kind, uint64_t line,
                               uint64_t col, const char *fmt, ...);
/** The error for a cap passed at absolute offset abs (field or record cap). */
enum qp_csv_status qp_csv_cap_error(struct qp_csv *p, uint64_t abs);
/** Moves what the unfinished record still has in `in` into buf; base moves past in. */
int qp_csv_migrate(struct qp_csv *p);

/* csv_bytes.c */
/** Fills the byte-class tables for p->delim and the options. */
void qp_csv_build_classes(struct qp_csv *p);
/** Handles a byte of class cls at in[i] that stopped a scan inside a field and is not a
 * delimiter: NUL, a control, the lead byte of a UTF-8 sequence. 0 or a negative errno. */
int qp_csv_special_byte(struct qp_csv *p, uint8_t cls, size_t i);
/** Consumes continuation bytes of the UTF-8 sequence in progress while in has them. */
int qp_csv_utf8_cont(struct qp_csv *p);

/* csv_input.c */
/** At pos == in_len: the next buffer, or what to tell the caller. */
enum qp_csv_refill qp_csv_input_refill(struct qp_csv *p);
/** Before the first record: skips a byte order mark and detects the delimiter. Returns OK
 * when done, NEED_MORE or ERROR. */
enum qp_csv_status qp_csv_input_start(struct qp_csv *p);
/** Frees what the input layer allocated. */
void qp_csv_input_release(struct qp_csv *p);

#endif

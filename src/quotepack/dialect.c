// SPDX-License-Identifier: MIT
/* CSV dialects: the options that vary between producers, and the delimiter detection. */
#include "quotepack/dialect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
    S_START = 0, /* outside a quoted span, at a line start or right after a candidate */
    S_OUT,       /* outside a quoted span, elsewhere */
    S_IN,        /* inside a quoted span */
    S_IN_QUOTE,  /* inside a quoted span, just after a quote: the end, or the first of "" */
};

static bool is_candidate(unsigned char c)
{
    return c == ',' || c == ';' || c == '\t' || c == '|';
}

bool qp_dialect_delimiter_ok(int c)
{
    return c > 0 && c < 0x80 && c != '"' && c != '\r' && c != '\n';
}

int qp_dialect_parse_delimiter(const char *arg, struct qp_csv_dialect *d)
{
    static const struct {
        const char *name;
        char c;
    } names[] = {
        { "comma", ',' }, { "semicolon", ';' }, { "tab", '\t' },
        { "\\t", '\t' },  { "pipe", '|' },      { "space", ' ' },
    };
    if (strcmp(arg, "auto") == 0) {
        d->detect = true;
        d->delimiter = 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(arg, names[i].name) == 0) {
            d->detect = false;
            d->delimiter = names[i].c;
            return 0;
        }
    }
    if (arg[0] != '\0' && arg[1] == '\0' && qp_dialect_delimiter_ok((unsigned char)arg[0])) {
        d->detect = false;
        d->delimiter = arg[0];
        return 0;
    }
    return -EINVAL;
}

const char *qp_dialect_delimiter_name(char c, char *buf, size_t size)
{
    switch (c) {
    case ',':
        snprintf(buf, size, "comma");
        break;
    case ';':
        snprintf(buf, size, "semicolon");
        break;
    case '\t':
        snprintf(buf, size, "tab");
        break;
    case '|':
        snprintf(buf, size, "pipe");
        break;
    case ' ':
        snprintf(buf, size, "space");
        break;
    default:
        if (c > 0x20 && c < 0x7F) {
            snprintf(buf, size, "'%c'", c);
        } else {
            snprintf(buf, size, "byte 0x%02X", (unsigned)(unsigned char)c);
        }
    }
    return buf;
}

/* One step of the span machine for a byte outside a span; returns the next state. */
static int step_out(int state, unsigned char c)
{
    if (c == '"' && state == S_START) {
        return S_IN;
    }
    return is_candidate(c) ? S_START : S_OUT;
}

size_t qp_dialect_scan(struct qp_dialect_scan *s, const char *data, size_t len)
{
    const unsigned char *u = (const unsigned char *)data;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        if (s->state == S_IN) {
            if (c == '"') {
                s->state = S_IN_QUOTE;
            }
            continue;
        }
        if (s->state == S_IN_QUOTE) {
            if (c == '"') {
                s->state = S_IN;
                continue;
            }
            s->state = S_OUT; /* the span ended: c is outside it */
        }
        if (c == '\r' || c == '\n') {
            if (s->content) {
                s->found = true;
                s->line_end = s->off + i;
                s->off += i + 1;
                return i + 1;
            }
            s->line_start = s->off + i + 1; /* a blank line: skipped, as the parser does */
            s->state = S_START;
            continue;
        }
        if (c != ' ' && c != '\t') {
            s->content = true;
        }
        s->state = step_out(s->state, c);
    }
    s->off += len;
    return len;
}

char qp_dialect_guess(const char *line, size_t len)
{
    static const char cands[] = QP_DIALECT_CANDIDATES;
    size_t count[sizeof(cands) - 1] = { 0 };
    const unsigned char *u = (const unsigned char *)line;
    int state = S_START;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        if (state == S_IN) {
            if (c == '"') {
                state = S_IN_QUOTE;
            }
            continue;
        }
        if (state == S_IN_QUOTE) {
            if (c == '"') {
                state = S_IN;
                continue;
            }
            state = S_OUT;
        }
        for (size_t k = 0; k < sizeof(count) / sizeof(count[0]); k++) {
            count[k] += c == (unsigned char)cands[k];
        }
        state = step_out(state, c);
    }
    size_t best = 0;
    for (size_t k = 1; k < sizeof(count) / sizeof(count[0]); k++) {
        if (count[k] > count[best]) {
            best = k;
        }
    }
    return count[best] > 0 ? cands[best] : ',';
}

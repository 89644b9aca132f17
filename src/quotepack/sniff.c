// SPDX-License-Identifier: MIT
/* The "not CSV" check on the leading pieces of a body: empty, blank, markup or JSON. */
#include "quotepack/sniff.h"

#include <stdio.h>
#include <string.h>

static enum qp_sniff_verdict not_csv(struct qp_convert_error *err, uint64_t line, uint64_t col,
                                     const char *message)
{
    if (err != NULL) {
        err->status = QP_CONVERT_NOT_CSV;
        err->line = line;
        err->column = col;
        snprintf(err->message, sizeof(err->message), "%s", message);
    }
    return QP_SNIFF_NOT_CSV;
}

static bool starts_with_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != prefix[i]) {
            return false;
        }
    }
    return true;
}

/* The verdict on the first content byte (and those after a '<' in s->mark). */
static enum qp_sniff_verdict verdict(const struct qp_sniff *s, struct qp_convert_error *err)
{
    uint64_t line = s->line + 1, col = s->col + 1;
    if (s->mark[0] == '<') {
        return not_csv(err, line, col,
                       starts_with_ci(s->mark, s->mark_n, "<?xml")
                               ? "body is an XML document, not CSV"
                               : "body is an HTML page, not CSV");
    }
    if (s->mark[0] == '{') {
        return not_csv(err, line, col, "body is a JSON document, not CSV");
    }
    return QP_SNIFF_CONTENT;
}

enum qp_sniff_verdict qp_sniff_piece(struct qp_sniff *s, const char *data, size_t len, bool more,
                                     struct qp_convert_error *err)
{
    static const char bom[3] = { '\xEF', '\xBB', '\xBF' };
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (s->mark_n > 0) {
            s->mark[s->mark_n++] = c; // after a '<': enough to tell XML from HTML
            if (s->mark_n == sizeof(s->mark)) {
                return verdict(s, err);
            }
            continue;
        }
        if (!s->bom_done) {
            if (c == bom[s->bom]) {
                s->bom_done = ++s->bom == 3;
                continue;
            }
            s->bom_done = true;
            if (s->bom > 0) {
                return QP_SNIFF_CONTENT; // not a byte order mark after all: content
            }
        }
        s->any = true;
        if (c == ' ' || c == '\t') {
            s->col++;
        } else if (c == '\n' || c == '\r') {
            s->line += c == '\r' || !s->cr;
            s->col = 0;
        } else {
            s->mark[s->mark_n++] = c;
            if (c != '<') {
                return verdict(s, err);
            }
        }
        s->cr = c == '\r';
    }
    if (more) {
        return QP_SNIFF_MORE;
    }
    if (s->mark_n > 0) {
        return verdict(s, err);
    }
    if (!s->bom_done && s->bom > 0) {
        return QP_SNIFF_CONTENT; // the input ends inside what began like a byte order mark
    }
    return not_csv(err, 1, 1, s->any ? "body is only whitespace" : "body is empty");
}

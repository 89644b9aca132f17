// SPDX-License-Identifier: MIT
/* Row-level generations: the rows of a refreshed body that are not archived yet (issue 15). */
#include "quotepack/rowsplit.h"

#include <stdbool.h>
#include <string.h>

#include "archive/sha256.h"

static bool hex_equal(const unsigned char digest[ARC_SHA256_LEN], const char *hex)
{
    char h[ARC_SHA256_HEX];
    arc_sha256_hex(digest, h);
    return strcmp(h, hex) == 0;
}

/* The length of the first line, its line break included (len when there is none). */
static size_t first_line(const char *body, size_t len)
{
    const char *nl = memchr(body, '\n', len);
    return nl == NULL ? len : (size_t)(nl - body) + 1;
}

/* Skips one line break ("\r\n", "\n" or "\r") at body[i]. */
static size_t skip_break(const char *body, size_t len, size_t i)
{
    if (i < len && body[i] == '\r') {
        i++;
    }
    if (i < len && body[i] == '\n') {
        i++;
    }
    return i;
}

static bool only_breaks(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\r' && p[i] != '\n') {
            return false;
        }
    }
    return true;
}

/* Oldest-first: the old body is a prefix ending on a line boundary. */
static bool try_append(const char *body, size_t len, size_t old_len, const char *old_sha,
                       struct qp_split *out)
{
    if (old_len == 0 || old_len >= len) {
        return false;
    }
    bool at_break = body[old_len - 1] == '\n' || body[old_len] == '\n' || body[old_len] == '\r';
    if (!at_break) {
        return false;
    }
    unsigned char d[ARC_SHA256_LEN];
    arc_sha256(body, old_len, d);
    if (!hex_equal(d, old_sha)) {
        return false;
    }
    size_t hl = first_line(body, old_len);
    size_t start = body[old_len - 1] == '\n' ? old_len : skip_break(body, len, old_len);
    out->header_len = hl;
    out->new_start = start;
    out->new_end = len;
    out->kind = only_breaks(body + start, len - start) ? QP_SPLIT_NOTHING_NEW : QP_SPLIT_APPEND;
    return true;
}

/* Newest-first: the header line, new rows, then the old body's rows as its suffix. */
static bool try_prepend(const char *body, size_t len, size_t old_len, const char *old_sha,
                        struct qp_split *out)
{
    size_t hl = first_line(body, len);
    if (hl == len || body[hl - 1] != '\n' || old_len < hl || old_len - hl > len - hl) {
        return false;
    }
    size_t tail = old_len - hl;
    size_t cut = len - tail; /* the old rows start here */
    if (cut <= hl || body[cut - 1] != '\n') {
        return false; /* nothing new in front, or not on a line boundary */
    }
    struct arc_sha256 s;
    unsigned char d[ARC_SHA256_LEN];
    arc_sha256_init(&s);
    arc_sha256_update(&s, body, hl);
    arc_sha256_update(&s, body + cut, tail);
    arc_sha256_final(&s, d);
    if (!hex_equal(d, old_sha)) {
        return false;
    }
    out->header_len = hl;
    out->new_start = hl;
    out->new_end = cut;
    out->kind = only_breaks(body + hl, cut - hl) ? QP_SPLIT_NOTHING_NEW : QP_SPLIT_PREPEND;
    return true;
}

void qp_rowsplit(const char *body, size_t len, uint64_t old_len, const char *old_sha,
                 enum qp_row_order order, struct qp_split *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = QP_SPLIT_CHANGED;
    if (old_sha == NULL || strlen(old_sha) != ARC_SHA256_HEX - 1 || old_len > len) {
        return;
    }
    if (order != QP_ORDER_NEWEST_FIRST && try_append(body, len, (size_t)old_len, old_sha, out)) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (order == QP_ORDER_OLDEST_FIRST || !try_prepend(body, len, (size_t)old_len, old_sha, out)) {
        memset(out, 0, sizeof(*out));
        out->kind = QP_SPLIT_CHANGED;
    }
}

void qp_rowsplit_apply(char *body, size_t *len, const struct qp_split *s)
{
    if (s->kind != QP_SPLIT_APPEND && s->kind != QP_SPLIT_PREPEND) {
        return;
    }
    size_t n = s->new_end - s->new_start;
    memmove(body + s->header_len, body + s->new_start, n);
    *len = s->header_len + n;
}

/* The first field of the line body[start..end), into key. */
static void key_of(const char *body, size_t start, size_t end, char delim, char *key)
{
    size_t e = start;
    while (e < end && body[e] != delim && body[e] != '\r' && body[e] != '\n') {
        e++;
    }
    size_t s = start;
    if (e - s >= 2 && body[s] == '"' && body[e - 1] == '"') {
        s++;
        e--;
    }
    size_t n = e - s < QP_ROW_KEY_MAX - 1 ? e - s : QP_ROW_KEY_MAX - 1;
    memcpy(key, body + s, n);
    key[n] = '\0';
}

void qp_row_keys(const char *body, size_t len, char delim, char first[QP_ROW_KEY_MAX],
                 char last[QP_ROW_KEY_MAX])
{
    first[0] = last[0] = '\0';
    size_t hl = first_line(body, len);
    if (delim == 0) {
        static const char cands[] = ",;\t|";
        for (size_t i = 0; i < hl && delim == 0; i++) {
            if (memchr(cands, body[i], sizeof(cands) - 1) != NULL) {
                delim = body[i];
            }
        }
        delim = delim == 0 ? ',' : delim;
    }
    // The first data line: the next line with something in it.
    size_t i = hl;
    while (i < len && (body[i] == '\r' || body[i] == '\n')) {
        i++;
    }
    if (i >= len) {
        return;
    }
    key_of(body, i, len, delim, first);
    // The last: back over trailing line breaks to the start of that line.
    size_t e = len;
    while (e > i && (body[e - 1] == '\r' || body[e - 1] == '\n')) {
        e--;
    }
    size_t b = e;
    while (b > i && body[b - 1] != '\n' && body[b - 1] != '\r') {
        b--;
    }
    key_of(body, b, e, delim, last);
}

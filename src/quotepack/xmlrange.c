// SPDX-License-Identifier: MIT
/* A range of rows out of a converted document, as the document a conversion of them gives. */
#include "quotepack/xmlrange.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Data";

struct row {
    size_t start, end;   /* doc[start..end): the row with what precedes it ("\n\t" indented) */
    size_t key, key_len; /* the first field's text */
};

/* Whether the row's key lies in [from, to]. */
static bool in_range(const char *doc, const struct row *r, const char *from, const char *to)
{
    const char *k = doc + r->key;
    size_t kl = r->key_len;
    if (from != NULL) {
        size_t fl = strlen(from);
        int c = memcmp(k, from, kl < fl ? kl : fl);
        if (c < 0 || (c == 0 && kl < fl)) {
            return false;
        }
    }
    if (to != NULL) {
        size_t tl = strlen(to);
        int c = memcmp(k, to, kl < tl ? kl : tl);
        if (c > 0) {
            return false;
        }
    }
    return true;
}

/*
 * Finds the end of the tag at doc[i] == '<': sets *kind to 1 (open), -1 (close) or 0
 * (self-closing) and returns the index after '>', or 0 when there is none.
 */
static size_t tag_end(const char *doc, size_t len, size_t i, int *kind)
{
    const char *gt = memchr(doc + i, '>', len - i);
    if (gt == NULL) {
        return 0;
    }
    size_t e = (size_t)(gt - doc);
    *kind = doc[i + 1] == '/' ? -1 : (e > i && doc[e - 1] == '/') ? 0 : 1;
    return e + 1;
}

static int emit(FILE *out, const char *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, out) == n ? 0 : -EIO;
}

int qp_xml_range(const char *doc, size_t len, const char *from, const char *to, FILE *out)
{
    size_t dl = sizeof(decl) - 1;
    if (len < dl || memcmp(doc, decl, dl) != 0) {
        return -EINVAL;
    }
    static const char empty[] = " />\n";
    if (len == dl + sizeof(empty) - 1 && memcmp(doc + dl, empty, sizeof(empty) - 1) == 0) {
        return emit(out, doc, len); // no rows, none to cut
    }
    if (doc[dl] != '>') {
        return -EINVAL;
    }
    bool compact = !(dl + 1 < len && doc[dl + 1] == '\n');
    // Walk the elements: depth 1 is a row, depth 2 its fields.
    size_t i = dl + 1;
    int depth = 1;
    struct row cur = { 0, 0, 0, 0 };
    bool have_key = false;
    size_t kept = 0;
    size_t last_row_end = i;
    int rc = 0;
    bool wrote_head = false;
    while (i < len) {
        if (doc[i] != '<') {
            i++;
            continue;
        }
        int kind = 0;
        size_t e = tag_end(doc, len, i, &kind);
        if (e == 0) {
            return -EINVAL;
        }
        if (depth == 1 && kind == 1) {
            cur.start = last_row_end; // the row's indentation belongs to it
            have_key = false;
        }
        if (depth == 2 && !have_key) {
            // The first field: its text runs to the next '<' (empty for <name />).
            have_key = true;
            if (kind == 1) {
                const char *lt = memchr(doc + e, '<', len - e);
                if (lt == NULL) {
                    return -EINVAL;
                }
                cur.key = e;
                cur.key_len = (size_t)(lt - doc) - e;
            } else {
                cur.key = e;
                cur.key_len = 0;
            }
        }
        depth += kind;
        if (kind == 1 && depth > 3) {
            return -EINVAL; // rows hold fields that hold text: nothing deeper
        }
        if (depth == 1 && kind == -1) {
            cur.end = e;
            last_row_end = e;
            if (in_range(doc, &cur, from, to)) {
                if (!wrote_head) {
                    rc = emit(out, doc, dl + 1);
                    wrote_head = true;
                }
                rc = rc == 0 ? emit(out, doc + cur.start, cur.end - cur.start) : rc;
                if (rc != 0) {
                    return rc;
                }
                kept++;
            }
        }
        if (depth == 0) {
            break; // </Data>
        }
        i = e;
    }
    if (depth != 0) {
        return -EINVAL;
    }
    if (kept == 0) {
        rc = emit(out, doc, dl);
        return rc == 0 ? emit(out, empty, sizeof(empty) - 1) : rc;
    }
    return emit(out, compact ? "</Data>\n" : "\n</Data>\n", compact ? 8 : 9);
}

/* The rows of doc: [*start, *end), and whether it is compact; an empty document has none. */
static int rows_of(const char *doc, size_t len, size_t *start, size_t *end, int *compact)
{
    static const char empty[] = " />\n";
    size_t dl = sizeof(decl) - 1;
    if (len < dl || memcmp(doc, decl, dl) != 0) {
        return -EINVAL;
    }
    if (len == dl + sizeof(empty) - 1 && memcmp(doc + dl, empty, sizeof(empty) - 1) == 0) {
        *start = *end = dl;
        return 0;
    }
    if (doc[dl] != '>') {
        return -EINVAL;
    }
    int c = !(dl + 1 < len && doc[dl + 1] == '\n');
    const char *close = c ? "</Data>\n" : "\n</Data>\n";
    size_t cl = strlen(close);
    if (len < dl + 1 + cl || memcmp(doc + len - cl, close, cl) != 0) {
        return -EINVAL;
    }
    *start = dl + 1;
    *end = len - cl;
    if (*compact >= 0 && *compact != c) {
        return -EINVAL;
    }
    *compact = c;
    return 0;
}

int qp_xml_concat(const char *const *docs, const size_t *lens, size_t n, FILE *out)
{
    int compact = -1;
    size_t dl = sizeof(decl) - 1;
    for (size_t i = 0; i < n; i++) {
        size_t s = 0;
        size_t e = 0;
        int rc = rows_of(docs[i], lens[i], &s, &e, &compact);
        if (rc != 0) {
            return rc;
        }
    }
    if (compact < 0) {
        // Every one empty (or none at all): the empty document.
        int rc = emit(out, decl, dl);
        return rc == 0 ? emit(out, " />\n", 4) : rc;
    }
    int rc = emit(out, decl, dl);
    rc = rc == 0 ? emit(out, ">", 1) : rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t s = 0;
        size_t e = 0;
        int c = compact;
        rc = rows_of(docs[i], lens[i], &s, &e, &c);
        rc = rc == 0 ? emit(out, docs[i] + s, e - s) : rc;
    }
    if (rc != 0) {
        return rc;
    }
    return emit(out, compact ? "</Data>\n" : "\n</Data>\n", compact ? 8 : 9);
}

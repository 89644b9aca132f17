// SPDX-License-Identifier: MIT
/* The manifest member every archive carries: what each member is, written and parsed here. */
#include "quotepack/manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/version.h"
#include "quotepack/strset.h"

/*
 * The text (version 1):
 *   # comment lines (ignored)
 *   manifest<TAB>1                     first line that is not a comment
 *   quotepack<TAB>0.1.0
 *   created<TAB>2026-12-03T09:30:00Z
 *   members<TAB>N                      the number of member lines
 *   fields<TAB>name<TAB>symbol<TAB>...  names the columns of the member lines, in order
 *   member<TAB>AAA.xml<TAB>AAA<TAB>...  one per member, in archive order
 * Values escape backslash, tab, LF and CR as \\ \t \n \r. A reader ignores keys and fields it
 * does not know (later versions may add them); name, bytes and sha256 are required.
 */

static const char *const FIELDS[] = { "name",  "symbol", "rows",    "bytes", "sha256",
                                      "first", "last",   "fetched", "source" };
enum {
    F_NAME,
    F_SYMBOL,
    F_ROWS,
    F_BYTES,
    F_SHA256,
    F_FIRST,
    F_LAST,
    F_FETCHED,
    F_SOURCE,
    F_N
};

void qp_manifest_init(struct qp_manifest *m, const char *created)
{
    memset(m, 0, sizeof(*m));
    m->version = QP_MANIFEST_VERSION;
    snprintf(m->quotepack, sizeof(m->quotepack), "%s", CORE_VERSION);
    snprintf(m->created, sizeof(m->created), "%s", created != NULL ? created : "");
}

void qp_manifest_release(struct qp_manifest *m)
{
    free(m->entries);
    m->entries = NULL;
    m->n = 0;
    m->cap = 0;
}

struct qp_manifest_entry *qp_manifest_add(struct qp_manifest *m)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->entries = core_xrealloc(m->entries, m->cap * sizeof(*m->entries));
    }
    struct qp_manifest_entry *e = &m->entries[m->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

void qp_manifest_time(int64_t t, char out[QP_MANIFEST_DATE])
{
    out[0] = '\0';
    if (t <= 0) {
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) != NULL) {
        strftime(out, QP_MANIFEST_DATE, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

struct text {
    char *p;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        while (t->len + n + 1 > t->cap) {
            t->cap = t->cap ? t->cap * 2 : 4096;
        }
        t->p = core_xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_escaped(struct text *t, const char *s)
{
    for (; *s != '\0'; s++) {
        const char *esc = *s == '\\'   ? "\\\\"
                          : *s == '\t' ? "\\t"
                          : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r"
                                       : NULL;
        if (esc != NULL) {
            put(t, esc, 2);
        } else {
            put(t, s, 1);
        }
    }
}

static void put_u64(struct text *t, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%" PRIu64, v);
    put(t, b, (size_t)n);
}

static void put_kv(struct text *t, const char *key, const char *value)
{
    put(t, key, strlen(key));
    put(t, "\t", 1);
    puts_escaped(t, value);
    put(t, "\n", 1);
}

char *qp_manifest_format(const struct qp_manifest *m, size_t *len)
{
    struct text t = { NULL, 0, 0 };
    static const char head[] = "# quotepack archive manifest: one member per line, tab-separated "
                               "(docs/quotepack.md, \"Archive manifest\")\n";
    char v[16];
    put(&t, head, sizeof(head) - 1);
    snprintf(v, sizeof(v), "%u", m->version);
    put_kv(&t, "manifest", v);
    put_kv(&t, "quotepack", m->quotepack);
    put_kv(&t, "created", m->created);
    put(&t, "members\t", 8);
    put_u64(&t, m->n);
    put(&t, "\nfields", 7);
    for (size_t f = 0; f < F_N; f++) {
        put(&t, "\t", 1);
        put(&t, FIELDS[f], strlen(FIELDS[f]));
    }
    put(&t, "\n", 1);
    for (size_t i = 0; i < m->n; i++) {
        const struct qp_manifest_entry *e = &m->entries[i];
        put(&t, "member\t", 7);
        puts_escaped(&t, e->name);
        put(&t, "\t", 1);
        puts_escaped(&t, e->symbol);
        put(&t, "\t", 1);
        put_u64(&t, e->rows);
        put(&t, "\t", 1);
        put_u64(&t, e->bytes);
        put(&t, "\t", 1);
        puts_escaped(&t, e->sha256);
        put(&t, "\t", 1);
        puts_escaped(&t, e->first);
        put(&t, "\t", 1);
        puts_escaped(&t, e->last);
        put(&t, "\t", 1);
        puts_escaped(&t, e->fetched);
        put(&t, "\t", 1);
        puts_escaped(&t, e->source);
        put(&t, "\n", 1);
    }
    *len = t.len;
    return t.p;
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct parser {
    const char *p, *end;
    uint64_t line; /* 1-based number of the line being parsed */
    char *err;
    size_t errlen;
};

CORE_PRINTF(2, 3) static int fail(struct parser *ps, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ps->errlen > 0) {
        snprintf(ps->err, ps->errlen, "manifest line %" PRIu64 ": %s", ps->line, msg);
    }
    return -EINVAL;
}

/* Unescapes the n bytes at s into out (size bytes with the NUL): 0, or -E2BIG / -EINVAL. */
static int unescape(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\0') {
            return -EINVAL;
        }
        if (c == '\\') {
            if (++i == n) {
                return -EINVAL;
            }
            c = s[i] == '\\'  ? '\\'
                : s[i] == 't' ? '\t'
                : s[i] == 'n' ? '\n'
                : s[i] == 'r' ? '\r'
                              : 0;
            if (c == 0) {
                return -EINVAL;
            }
        }
        if (o + 1 >= size) {
            return -E2BIG;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -EINVAL;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -EINVAL;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static bool is_hex64(const char *s)
{
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return i == 64;
}

#define MAX_COLS 64

/* Splits the line [s, e) at tabs: up to MAX_COLS columns; -E2BIG past that. */
static int split(const char *s, const char *e, const char **col, size_t *clen, size_t *n)
{
    *n = 0;
    const char *c = s;
    for (;;) {
        const char *tab = memchr(c, '\t', (size_t)(e - c));
        const char *stop = tab != NULL ? tab : e;
        if (*n == MAX_COLS) {
            return -E2BIG;
        }
        col[*n] = c;
        clen[*n] = (size_t)(stop - c);
        (*n)++;
        if (tab == NULL) {
            return 0;
        }
        c = tab + 1;
    }
}

static bool col_is(const char *c, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(c, word, n) == 0;
}

struct state {
    bool have_version, have_members, have_fields;
    uint64_t members;
    int map[MAX_COLS]; /* column of a member line -> field (F_*), -1 for one not known */
    size_t ncols;      /* columns a member line has, the key included */
};

static int field_into(struct parser *ps, struct qp_manifest_entry *e, int f, const char *c,
                      size_t n)
{
    static const size_t sizes[F_N] = {
        sizeof(e->name),
        sizeof(e->symbol),
        0,
        0,
        sizeof(e->sha256),
        sizeof(e->first),
        sizeof(e->last),
        sizeof(e->fetched),
        sizeof(e->source),
    };
    char *dst[F_N] = { e->name,  e->symbol, NULL,       NULL,     e->sha256,
                       e->first, e->last,   e->fetched, e->source };
    if (f == F_ROWS || f == F_BYTES) {
        if (parse_u64(c, n, f == F_ROWS ? &e->rows : &e->bytes) != 0) {
            return fail(ps, "%s is not a number", FIELDS[f]);
        }
        return 0;
    }
    int rc = unescape(c, n, dst[f], sizes[f]);
    if (rc == -E2BIG) {
        return fail(ps, "%s is too long", FIELDS[f]);
    }
    if (rc != 0) {
        return fail(ps, "%s has a bad escape or a NUL byte", FIELDS[f]);
    }
    return 0;
}

static int member_line(struct parser *ps, struct state *st, struct qp_manifest *m, const char **col,
                       const size_t *clen, size_t ncol)
{
    if (!st->have_fields || !st->have_members) {
        return fail(ps, "a member line before the members and fields lines");
    }
    if (ncol != st->ncols) {
        return fail(ps, "%zu fields where the fields line names %zu", ncol - 1, st->ncols - 1);
    }
    if (m->n >= st->members) {
        return fail(ps, "more member lines than the %" PRIu64 " the members line gives",
                    st->members);
    }
    struct qp_manifest_entry *e = qp_manifest_add(m);
    for (size_t i = 1; i < ncol; i++) {
        if (st->map[i] >= 0) {
            int rc = field_into(ps, e, st->map[i], col[i], clen[i]);
            if (rc != 0) {
                return rc;
            }
        }
    }
    if (e->name[0] == '\0') {
        return fail(ps, "a member without a name");
    }
    if (!is_hex64(e->sha256)) {
        return fail(ps, "sha256 of %s is not 64 lower-case hex digits", e->name);
    }
    return 0;
}

static int fields_line(struct parser *ps, struct state *st, const char **col, const size_t *clen,
                       size_t ncol)
{
    if (st->have_fields) {
        return fail(ps, "a second fields line");
    }
    st->have_fields = true;
    st->ncols = ncol;
    unsigned seen = 0;
    st->map[0] = -1;
    for (size_t i = 1; i < ncol; i++) {
        st->map[i] = -1;
        for (int f = 0; f < F_N; f++) {
            if (col_is(col[i], clen[i], FIELDS[f])) {
                if (seen & (1u << f)) {
                    return fail(ps, "field %s named twice", FIELDS[f]);
                }
                seen |= 1u << f;
                st->map[i] = f;
            }
        }
    }
    if (!(seen & (1u << F_NAME)) || !(seen & (1u << F_BYTES)) || !(seen & (1u << F_SHA256))) {
        return fail(ps, "the fields line lacks name, bytes or sha256");
    }
    return 0;
}

static int header_line(struct parser *ps, struct state *st, struct qp_manifest *m, const char **col,
                       const size_t *clen, size_t ncol)
{
    if (col_is(col[0], clen[0], "fields")) {
        return fields_line(ps, st, col, clen, ncol);
    }
    if (ncol != 2) {
        return 0; // a key this version does not know, or a later version's shape: ignored
    }
    if (col_is(col[0], clen[0], "members")) {
        if (st->have_members || parse_u64(col[1], clen[1], &st->members) != 0) {
            return fail(ps, "a bad or second members line");
        }
        st->have_members = true;
    } else if (col_is(col[0], clen[0], "quotepack")) {
        if (unescape(col[1], clen[1], m->quotepack, sizeof(m->quotepack)) != 0) {
            return fail(ps, "a bad quotepack version");
        }
    } else if (col_is(col[0], clen[0], "created")) {
        if (unescape(col[1], clen[1], m->created, sizeof(m->created)) != 0) {
            return fail(ps, "a bad created time");
        }
    }
    return 0;
}

int qp_manifest_parse(const char *text, size_t len, struct qp_manifest *m, char *err, size_t errlen)
{
    struct parser ps = { text, text + len, 0, err, errlen };
    struct state st;
    const char *col[MAX_COLS];
    size_t clen[MAX_COLS];
    memset(&st, 0, sizeof(st));
    memset(m, 0, sizeof(*m));
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (len > QP_MANIFEST_MAX) {
        return fail(&ps, "the manifest is larger than %zu bytes", QP_MANIFEST_MAX);
    }
    while (ps.p < ps.end) {
        const char *nl = memchr(ps.p, '\n', (size_t)(ps.end - ps.p));
        if (nl == NULL) {
            ps.line++;
            return fail(&ps, "the last line has no newline (truncated?)");
        }
        const char *s = ps.p;
        ps.p = nl + 1;
        ps.line++;
        if (s == nl || s[0] == '#') {
            continue;
        }
        size_t ncol = 0;
        if (split(s, nl, col, clen, &ncol) != 0) {
            return fail(&ps, "more than %d fields", MAX_COLS);
        }
        if (!st.have_version) {
            uint64_t v = 0;
            if (ncol != 2 || !col_is(col[0], clen[0], "manifest") ||
                parse_u64(col[1], clen[1], &v) != 0 || v == 0) {
                return fail(&ps, "not a quotepack manifest (no \"manifest<TAB>VERSION\" line)");
            }
            if (v > QP_MANIFEST_VERSION) {
                fail(&ps, "manifest version %" PRIu64 " is newer than this quotepack reads (%d)", v,
                     QP_MANIFEST_VERSION);
                return -EPROTO;
            }
            m->version = (unsigned)v;
            st.have_version = true;
            continue;
        }
        int rc = col_is(col[0], clen[0], "member") ? member_line(&ps, &st, m, col, clen, ncol)
                                                   : header_line(&ps, &st, m, col, clen, ncol);
        if (rc != 0) {
            return rc;
        }
    }
    ps.line++;
    if (!st.have_version) {
        return fail(&ps, "empty: not a quotepack manifest");
    }
    if (!st.have_members || !st.have_fields) {
        return fail(&ps, "no members or fields line");
    }
    if (m->n != st.members) {
        return fail(&ps, "%zu member lines where the members line gives %" PRIu64 " (truncated?)",
                    m->n, st.members);
    }
    struct qp_strset names;
    qp_strset_init(&names, m->n);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        if (!qp_strset_add(&names, m->entries[i].name, i)) {
            rc = fail(&ps, "member %s listed twice", m->entries[i].name);
        }
    }
    qp_strset_release(&names);
    return rc;
}

const struct qp_manifest_entry *qp_manifest_find(const struct qp_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->entries[i].name, name) == 0) {
            return &m->entries[i];
        }
    }
    return NULL;
}

int qp_manifest_text_piece(void *ctx, const void *data, size_t len)
{
    struct qp_manifest_text *t = ctx;
    if (len > QP_MANIFEST_MAX - t->len) {
        return -E2BIG;
    }
    if (t->len + len > t->cap) {
        t->cap = (t->len + len) * 2;
        t->p = core_xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, data, len);
    t->len += len;
    return 0;
}

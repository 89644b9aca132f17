// SPDX-License-Identifier: MIT
/* A symbol's history across its row-level generations, read back as one document (cat). */
#include "quotepack/history.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "quotepack/reader.h"
#include "quotepack/xmlrange.h"

struct collect {
    const char *symbol;
    struct qp_catalog_generation *g; /* the unreplaced ones, in generation order */
    size_t n, cap;
};

static int collect_one(void *ctx, const struct qp_catalog_generation *g)
{
    struct collect *c = ctx;
    if (g->replaced || strcmp(g->symbol, c->symbol) != 0) {
        return 0;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->g = core_xrealloc(c->g, c->cap * sizeof(*c->g));
    }
    c->g[c->n++] = *g;
    return 0;
}

int qp_history_members(struct qp_catalog *cat, const struct qp_catalog_row *row,
                       struct qp_catalog_generation **out, size_t *n_out)
{
    struct collect c = { .symbol = row->symbol };
    int rc = qp_catalog_foreach_generation(cat, collect_one, &c); // ordered by gen
    if (rc != 0) {
        free(c.g);
        return rc;
    }
    struct qp_catalog_generation cur;
    memset(&cur, 0, sizeof(cur));
    snprintf(cur.symbol, sizeof(cur.symbol), "%s", row->symbol);
    snprintf(cur.archive, sizeof(cur.archive), "%s", row->archive);
    cur.rows = row->rows;
    cur.xml_bytes = row->xml_bytes;
    cur.crc32 = row->crc32;
    cur.gen = row->gen;
    cur.at_top = row->at_top;
    snprintf(cur.first_row, sizeof(cur.first_row), "%s", row->first_row);
    snprintf(cur.last_row, sizeof(cur.last_row), "%s", row->last_row);
    collect_one(&c, &cur);
    // Document order: a deque, each generation at the top or the bottom of the earlier ones.
    size_t n = c.n;
    struct qp_catalog_generation *d = core_xcalloc(2 * n + 1, sizeof(*d));
    size_t head = n;
    size_t tail = n;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && c.g[i].at_top) {
            d[--head] = c.g[i];
        } else {
            d[tail++] = c.g[i];
        }
    }
    memmove(d, d + head, n * sizeof(*d));
    free(c.g);
    *out = d;
    *n_out = n;
    return 0;
}

/* Reads member m into memory, checked. 0 or -1 after printing. */
static int read_member(const char *cmd, const char *dir, const struct qp_catalog_generation *m,
                       char **doc, size_t *len)
{
    char path[4096];
    char err[256];
    char want[sizeof(m->symbol) + 8];
    snprintf(path, sizeof(path), "%s/%s", dir, m->archive);
    snprintf(want, sizeof(want), "%s.xml", m->symbol);
    struct qp_reader *r = NULL;
    if (qp_reader_open_file(&r, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "quotepack %s: %s: %s\n", cmd, path, err);
        return -1;
    }
    const char *name = NULL;
    int64_t size = 0;
    int rc = 0;
    int status = -1;
    bool found = false;
    while (!found && (rc = qp_reader_next(r, &name, &size)) == 1) {
        if (strcmp(name, want) != 0) {
            continue;
        }
        found = true;
        uint64_t got = 0;
        uint32_t crc = 0;
        FILE *dst = open_memstream(doc, len);
        if (dst == NULL) {
            fprintf(stderr, "quotepack %s: %s\n", cmd, strerror(errno));
            break;
        }
        rc = qp_reader_data(r, dst, &got, &crc);
        if (fclose(dst) != 0 && rc == 0) {
            rc = -ENOMEM;
        }
        if (rc != 0) {
            fprintf(stderr, "quotepack %s: %s: %s\n", cmd, path,
                    rc == -EIO ? qp_reader_error(r) : strerror(-rc));
        } else if (got != m->xml_bytes || crc != m->crc32) {
            fprintf(stderr, "quotepack %s: %s in %s differs from the catalog (size or CRC-32)\n",
                    cmd, want, m->archive);
        } else {
            status = 0;
        }
    }
    if (!found && rc == 0) {
        fprintf(stderr, "quotepack %s: %s is not in %s\n", cmd, want, m->archive);
    } else if (!found && rc < 0) {
        fprintf(stderr, "quotepack %s: %s: %s\n", cmd, path, qp_reader_error(r));
    }
    qp_reader_close(r);
    if (status != 0) {
        free(*doc);
        *doc = NULL;
    }
    return status;
}

int qp_history_write(const char *cmd, const char *dir, const struct qp_catalog_generation *m,
                     size_t n, const char *from, const char *to, FILE *out)
{
    char **docs = core_xcalloc(n + 1, sizeof(*docs));
    size_t *lens = core_xcalloc(n + 1, sizeof(*lens));
    int status = 0;
    for (size_t i = 0; status == 0 && i < n; i++) {
        status = read_member(cmd, dir, &m[i], &docs[i], &lens[i]);
    }
    char *whole = NULL;
    size_t whole_len = 0;
    if (status == 0) {
        bool ranged = from != NULL || to != NULL;
        FILE *dst = ranged ? open_memstream(&whole, &whole_len) : out;
        int rc = dst == NULL ? -ENOMEM : qp_xml_concat((const char *const *)docs, lens, n, dst);
        if (ranged && dst != NULL && fclose(dst) != 0 && rc == 0) {
            rc = -ENOMEM;
        }
        if (rc == 0 && ranged) {
            rc = qp_xml_range(whole, whole_len, from, to, out);
        }
        if (rc != 0) {
            fprintf(stderr, "quotepack %s: %s: %s\n", cmd, m[0].symbol,
                    rc == -EINVAL ? "its generations are not documents quotepack made"
                                  : strerror(-rc));
            status = -1;
        }
    }
    free(whole);
    for (size_t i = 0; i < n; i++) {
        free(docs[i]);
    }
    free(docs);
    free(lens);
    return status;
}

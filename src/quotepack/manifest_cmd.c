// SPDX-License-Identifier: MIT
/* quotepack ls ARCHIVE...: what an archive's manifest says, without its catalog. */
#include "quotepack/manifest_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "quotepack/manifest.h"
#include "quotepack/reader.h"

/* Reads path's manifest into *m: 0, or 1 after saying why on stderr. */
static int read_manifest(const char *path, struct qp_manifest *m)
{
    char err[256];
    struct qp_reader *r = NULL;
    memset(m, 0, sizeof(*m));
    if (qp_reader_open_file(&r, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "quotepack ls: %s: cannot open: %s\n", path, err);
        return 1;
    }
    const char *name = NULL;
    int64_t size = 0;
    int rc;
    bool found = false;
    struct qp_manifest_text t = { NULL, 0, 0 };
    while (!found && (rc = qp_reader_next(r, &name, &size)) == 1) {
        if (strcmp(name, QP_MANIFEST_NAME) != 0) {
            continue; // quotepack writes it first; another tool may have moved it
        }
        found = true;
        uint64_t got = 0;
        uint32_t crc = 0;
        rc = qp_reader_data_each(r, qp_manifest_text_piece, &t, &got, &crc);
    }
    int status = 1;
    if (rc < 0) {
        fprintf(stderr, "quotepack ls: %s: damaged: %s\n", path,
                rc == -E2BIG ? "the manifest is too large" : qp_reader_error(r));
    } else if (!found) {
        fprintf(stderr,
                "quotepack ls: %s has no %s (written before quotepack kept one?); "
                "`quotepack ls DIR` lists a directory from its catalog\n",
                path, QP_MANIFEST_NAME);
    } else if (qp_manifest_parse(t.p != NULL ? t.p : "", t.len, m, err, sizeof(err)) != 0) {
        fprintf(stderr, "quotepack ls: %s: bad manifest: %s\n", path, err);
    } else {
        status = 0;
    }
    free(t.p);
    qp_reader_close(r);
    return status;
}

static const char *or_dash(const char *s)
{
    return s[0] != '\0' ? s : "-";
}

int qp_cmd_ls_archives(char *const *paths, size_t n, FILE *out)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        struct qp_manifest m;
        if (read_manifest(paths[i], &m) != 0) {
            qp_manifest_release(&m);
            status = 1;
            continue;
        }
        fprintf(out, "%s: %zu members, manifest %u, written by quotepack %s at %s\n", paths[i], m.n,
                m.version, or_dash(m.quotepack), or_dash(m.created));
        fprintf(out, "%-20s %10s %-12s %-12s %12s %-20s %-64s %s\n", "SYMBOL", "ROWS", "FIRST",
                "LAST", "BYTES", "FETCHED", "SHA256", "SOURCE");
        for (size_t k = 0; k < m.n; k++) {
            const struct qp_manifest_entry *e = &m.entries[k];
            fprintf(out, "%-20s %10" PRIu64 " %-12s %-12s %12" PRIu64 " %-20s %-64s %s\n",
                    or_dash(e->symbol), e->rows, or_dash(e->first), or_dash(e->last), e->bytes,
                    or_dash(e->fetched), e->sha256, or_dash(e->source));
        }
        qp_manifest_release(&m);
    }
    if (fflush(out) != 0) {
        status = 1;
    }
    return status;
}

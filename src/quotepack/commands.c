// SPDX-License-Identifier: MIT
/* The operator's subcommands that read a finished directory: ls and cat (--from/--to). */
#include "quotepack/commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "quotepack/catalog.h"
#include "quotepack/config.h"
#include "quotepack/datetmpl.h"
#include "quotepack/history.h"
#include "quotepack/manifest_cmd.h"
#include "quotepack/reader.h"
#include "quotepack/strset.h"
#include "quotepack/xmlrange.h"

static int open_catalog(const char *cmd, const char *dir, struct qp_catalog **cat)
{
    int rc = qp_catalog_open(cat, dir, true);
    if (rc != 0) {
        fprintf(stderr, "quotepack %s: cannot read the catalog in %s: %s\n", cmd, dir,
                rc == -ENOENT   ? "there is none (not a quotepack output directory?)"
                : rc == -EPROTO ? "its version differs (see above)"
                                : strerror(-rc));
    }
    return rc;
}

struct ls_ctx {
    FILE *out;
    const struct qp_strset *wanted; /* NULL: every symbol */
    bool *seen;
};

static int print_row(void *arg, const struct qp_catalog_row *row)
{
    struct ls_ctx *c = arg;
    size_t i = 0;
    if (c->wanted != NULL) {
        if (!qp_strset_find(c->wanted, row->symbol, &i)) {
            return 0;
        }
        c->seen[i] = true;
    }
    char what[300] = "";
    if (row->state == QP_STATE_FAILED) {
        snprintf(what, sizeof(what), "%s: %s", qp_failure_name(row->failure), row->error);
    } else if (row->state == QP_STATE_ARCHIVED) {
        snprintf(what, sizeof(what), "%s", row->archive);
    }
    fprintf(c->out, "%-20s %-9s %10" PRIu64 "  %s\n", row->symbol, qp_state_name(row->state),
            row->rows, what);
    return 0;
}

int qp_cmd_ls(int argc, char **argv, FILE *out)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: quotepack ls DIR [SYMBOL...]\n"
                "       quotepack ls ARCHIVE...\n"
                "Lists each symbol: state, rows, archive (or the error of a failed one); given\n"
                "archive files, what their manifests say (no catalog needed).\n");
        return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    struct stat st;
    if (stat(argv[1], &st) == 0 && S_ISREG(st.st_mode)) {
        return qp_cmd_ls_archives(argv + 1, (size_t)argc - 1, out);
    }
    struct qp_catalog *cat = NULL;
    if (open_catalog("ls", argv[1], &cat) != 0) {
        return 1;
    }
    struct qp_strset wanted;
    memset(&wanted, 0, sizeof(wanted));
    size_t n = (size_t)argc - 2;
    bool *seen = core_xcalloc(n + 1, sizeof(bool));
    if (n > 0) {
        qp_strset_init(&wanted, n);
        for (size_t i = 0; i < n; i++) {
            qp_strset_add(&wanted, argv[2 + i], i);
        }
    }
    struct ls_ctx c = { out, n > 0 ? &wanted : NULL, seen };
    fprintf(out, "%-20s %-9s %10s  %s\n", "SYMBOL", "STATE", "ROWS", "ARCHIVE OR ERROR");
    int rc = qp_catalog_begin_read(cat);
    if (rc == 0) {
        rc = qp_catalog_foreach(cat, print_row, &c);
    }
    qp_catalog_rollback(cat);
    int status = rc == 0 ? 0 : 1;
    for (size_t i = 0; i < n; i++) {
        if (!seen[i] && qp_strset_find(&wanted, argv[2 + i], NULL)) {
            fprintf(stderr, "quotepack ls: %s is not in the catalog\n", argv[2 + i]);
            status = 1;
        }
    }
    free(seen);
    qp_strset_release(&wanted);
    qp_catalog_close(cat);
    return status;
}

int qp_cmd_cat(int argc, char **argv, FILE *out)
{
    const char *from = NULL;
    const char *to = NULL;
    bool usage = argc < 3 || argv[1][0] == '-' || argv[2][0] == '-';
    for (int i = 3; !usage && i < argc; i += 2) {
        struct qp_day d;
        bool is_from = strcmp(argv[i], "--from") == 0;
        bool ok = (is_from || strcmp(argv[i], "--to") == 0) && i + 1 < argc &&
                  qp_day_parse(argv[i + 1], &d) == 0;
        if (!ok) {
            usage = true;
        } else if (is_from) {
            from = argv[i + 1];
        } else {
            to = argv[i + 1];
        }
    }
    if (usage) {
        bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: quotepack cat DIR SYMBOL [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
                "Writes the XML of an archived symbol to stdout; --from/--to keep the rows\n"
                "whose first field (the date) lies in that range, as one document.\n");
        return help ? 0 : 2;
    }
    const char *dir = argv[1];
    const char *sym = argv[2];
    struct qp_catalog *cat = NULL;
    struct qp_catalog_row row;
    if (open_catalog("cat", dir, &cat) != 0) {
        return 1;
    }
    // The row and its generations from one snapshot.
    struct qp_catalog_generation *members = NULL;
    size_t nmembers = 0;
    int rc = qp_catalog_begin_read(cat);
    int grc = -ENOENT;
    if (rc == 0) {
        rc = qp_catalog_get(cat, sym, &row);
    }
    if (rc == 0 && row.state == QP_STATE_ARCHIVED) {
        grc = qp_history_members(cat, &row, &members, &nmembers);
    }
    qp_catalog_rollback(cat);
    qp_catalog_close(cat);
    if (rc != 0) {
        fprintf(stderr, "quotepack cat: %s is not in the catalog of %s\n", sym, dir);
        return 1;
    }
    if (row.state != QP_STATE_ARCHIVED) {
        fprintf(stderr, "quotepack cat: %s is %s, not archived%s%s\n", sym,
                qp_state_name(row.state), row.error[0] ? ": " : "", row.error);
        return 1;
    }
    if (grc != 0) {
        fprintf(stderr, "quotepack cat: %s: its generations: %s\n", sym, strerror(-grc));
        return 1;
    }
    if (nmembers > 1) {
        // Row-level generations: every member read and checked, joined as one document.
        int hrc = qp_history_write("cat", dir, members, nmembers, from, to, out);
        free(members);
        return hrc == 0 && fflush(out) == 0 ? 0 : 1;
    }
    free(members);
    char path[4096];
    char err[256];
    char want[QP_MAX_SYMBOL + 8];
    snprintf(path, sizeof(path), "%s/%s", dir, row.archive);
    snprintf(want, sizeof(want), "%s.xml", sym);
    struct qp_reader *r = NULL;
    if (qp_reader_open_file(&r, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "quotepack cat: %s: %s\n", path, err);
        return 1;
    }
    const char *name = NULL;
    int64_t size = 0;
    int status = 1;
    bool found = false;
    while (!found && (rc = qp_reader_next(r, &name, &size)) == 1) {
        if (strcmp(name, want) != 0) {
            continue;
        }
        found = true;
        uint64_t got = 0;
        uint32_t crc = 0;
        // A range is cut from the whole member, checked first (it is read into memory).
        char *doc = NULL;
        size_t doc_len = 0;
        FILE *dst = out;
        if (from != NULL || to != NULL) {
            dst = open_memstream(&doc, &doc_len);
            if (dst == NULL) {
                fprintf(stderr, "quotepack cat: %s\n", strerror(errno));
                break;
            }
        }
        rc = qp_reader_data(r, dst, &got, &crc);
        if (dst != out && fclose(dst) != 0 && rc == 0) {
            rc = -ENOMEM;
        }
        if (rc != 0) {
            fprintf(stderr, "quotepack cat: %s: %s\n", path,
                    rc == -EIO ? qp_reader_error(r) : strerror(-rc));
        } else if (got != row.xml_bytes || crc != row.crc32) {
            fprintf(stderr, "quotepack cat: %s in %s differs from the catalog (size or CRC-32)\n",
                    want, row.archive);
        } else if (dst != out) {
            rc = qp_xml_range(doc, doc_len, from, to, out);
            if (rc != 0) {
                fprintf(stderr, "quotepack cat: %s in %s: %s\n", want, row.archive,
                        rc == -EINVAL ? "not a document quotepack made" : strerror(-rc));
            } else {
                status = 0;
            }
        } else {
            status = 0;
        }
        free(doc);
    }
    if (!found && rc == 0) {
        fprintf(stderr, "quotepack cat: %s is not in %s\n", want, row.archive);
    } else if (!found && rc < 0) {
        fprintf(stderr, "quotepack cat: %s: %s\n", path, qp_reader_error(r));
    }
    qp_reader_close(r);
    if (fflush(out) != 0) {
        status = 1;
    }
    return status;
}

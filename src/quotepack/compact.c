// SPDX-License-Identifier: MIT
/* quotepack compact DIR: drops the replaced generations of symbols that have too many. */
#include "quotepack/compact.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "quotepack/catalog.h"
#include "quotepack/config.h"
#include "quotepack/manifest_member.h"
#include "quotepack/member.h"
#include "quotepack/merge.h"
#include "quotepack/pack.h"
#include "quotepack/reader.h"
#include "quotepack/recover.h"
#include "quotepack/strset.h"

/* The generations of the catalog, and which to drop. */
struct gens {
    struct qp_catalog_generation *v;
    size_t n, cap;
    bool *drop;
};

static int collect(void *ctx, const struct qp_catalog_generation *g)
{
    struct gens *gs = ctx;
    if (gs->n == gs->cap) {
        gs->cap = gs->cap ? gs->cap * 2 : 64;
        gs->v = core_xrealloc(gs->v, gs->cap * sizeof(*gs->v));
    }
    gs->v[gs->n++] = *g;
    return 0;
}

/* Test hook, as the packer's (docs/quotepack.md): SIGKILL at a named point of the first
 * archive compacted. */
static void crash_point(const char *point)
{
    const char *at = getenv("QUOTEPACK_TEST_CRASH_AT");
    if (at != NULL && strcmp(at, point) == 0) {
        raise(SIGKILL);
    }
}

struct frames {
    char *data;
    size_t len, cap;
};

static int sink(void *ctx, const void *data, size_t len)
{
    struct frames *f = ctx;
    if (f->len + len > f->cap) {
        f->cap = (f->len + len) * 2;
        f->data = core_xrealloc(f->data, f->cap);
    }
    memcpy(f->data + f->len, data, len);
    f->len += len;
    return 0;
}

static enum qp_format format_of(const char *name)
{
    size_t n = strlen(name);
    return n > 8 && strcmp(name + n - 8, ".tar.zst") == 0 ? QP_FORMAT_TZST : QP_FORMAT_TGZ;
}

/* The manifest member being read from r, listed again without the dropped members, into pk. */
static int rewrite_manifest(struct qp_reader *r, struct qp_member *m, const struct qp_strset *drop,
                            struct qp_pack *pk, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    uint64_t n = 0;
    uint32_t crc = 0;
    char err[256];
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        return -ENOMEM;
    }
    int rc = qp_reader_data(r, f, &n, &crc);
    if (fclose(f) != 0 && rc == 0) {
        rc = -ENOMEM;
    }
    char *frames = NULL;
    size_t flen = 0;
    if (rc == 0) {
        rc = qp_manifest_member_without(m, text, len, drop, (int64_t)time(NULL), &frames, &flen,
                                        err, sizeof(err));
        if (rc == -EINVAL) {
            fprintf(stderr, "quotepack compact: %s: its manifest: %s\n", path, err);
        }
    }
    if (rc == 0) {
        rc = qp_pack_add_frames(pk, frames, flen);
    }
    free(frames);
    free(text);
    return rc;
}

/*
 * Copies every member of archive `from` but the dropped ones (drop: "<symbol>.xml" names) into
 * the new archive `to`, recompressed. *kept = members copied, *bytes = its size. 0 or -errno.
 */
static int rewrite(const char *dir, const char *from, const char *to, const struct qp_strset *drop,
                   uint64_t *kept, uint64_t *bytes)
{
    enum qp_format fmt = format_of(from);
    char path[4096];
    char err[256];
    snprintf(path, sizeof(path), "%s/%s", dir, from);
    struct qp_reader *r = NULL;
    struct qp_pack *pk = NULL;
    struct qp_member *m = NULL;
    char *end = NULL;
    size_t end_len = 0;
    struct frames fr = { NULL, 0, 0 };
    int rc = qp_reader_open_file(&r, path, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "quotepack compact: %s: %s\n", path, err);
        return rc;
    }
    rc = qp_pack_create(&pk, dir, to);
    if (rc == 0) {
        rc = qp_member_create(&m, fmt, QP_LEVEL_DEFAULT);
    }
    if (rc == 0) {
        rc = qp_member_end_of_archive(fmt, QP_LEVEL_DEFAULT, &end, &end_len);
    }
    *kept = 0;
    const char *name = NULL;
    int64_t size = 0;
    int more = 0;
    while (rc == 0 && (more = qp_reader_next(r, &name, &size)) == 1) {
        if (qp_strset_find(drop, name, NULL)) {
            uint64_t n = 0;
            uint32_t crc = 0;
            rc = qp_reader_data(r, NULL, &n, &crc);
            continue;
        }
        if (strcmp(name, QP_MANIFEST_NAME) == 0) {
            // The old archive's manifest (its first member): the new archive's first member
            // lists the same members but the dropped ones (manifest.h). Not counted as kept.
            rc = rewrite_manifest(r, m, drop, pk, path);
            continue;
        }
        // The member's XML in memory, then one member of the new archive (its header
        // frame first, as the packer adds spooled entries).
        char *xml = NULL;
        size_t xml_len = 0;
        FILE *f = open_memstream(&xml, &xml_len);
        if (f == NULL) {
            rc = -ENOMEM;
            break;
        }
        uint64_t n = 0;
        uint32_t crc = 0;
        char member[QP_MAX_SYMBOL + 16];
        snprintf(member, sizeof(member), "%s", name);
        int64_t mtime = qp_reader_mtime(r);
        rc = qp_reader_data(r, f, &n, &crc);
        if (fclose(f) != 0 && rc == 0) {
            rc = -ENOMEM;
        }
        struct qp_member_info info;
        memset(&info, 0, sizeof(info));
        fr.len = 0;
        if (rc == 0) {
            rc = qp_member_begin(m, member, mtime, sink, &fr);
        }
        if (rc == 0) {
            rc = qp_member_write(m, xml, xml_len);
        }
        if (rc == 0) {
            rc = qp_member_end(m, &info);
        }
        free(xml);
        if (rc == 0 && (info.xml_len != n || info.crc32 != crc)) {
            rc = -EIO; // not what was read: never write a member that differs
        }
        if (rc == 0 && info.hdr_len > 0) {
            rc = qp_pack_add_frames(pk, fr.data + info.data_len, info.hdr_len);
        }
        if (rc == 0) {
            rc = qp_pack_add_frames(pk, fr.data, (size_t)info.data_len);
        }
        (*kept)++;
    }
    if (rc == 0 && more < 0) {
        fprintf(stderr, "quotepack compact: %s: %s\n", path, qp_reader_error(r));
        rc = -EIO;
    }
    if (rc == 0) {
        rc = qp_pack_commit(pk, end, end_len, bytes);
    }
    qp_pack_destroy(pk);
    qp_member_destroy(m);
    qp_reader_close(r);
    free(end);
    free(fr.data);
    return rc;
}

/* Compacts one archive: the generations gs->v[idx[0..n)] (all in it) are dropped. */
static int compact_archive(const char *dir, struct qp_catalog *cat, const char *archive,
                           const struct gens *gs, const size_t *idx, size_t n, bool *rewritten)
{
    char(*names)[sizeof(gs->v[0].symbol) + 8] = core_xcalloc(n + 1, sizeof(*names));
    struct qp_strset drop;
    qp_strset_init(&drop, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "%s.xml", gs->v[idx[i]].symbol);
        qp_strset_add(&drop, names[i], i);
    }
    uint64_t seq = 0;
    char to[128] = "";
    uint64_t kept = 0;
    uint64_t bytes = 0;
    int rc = qp_catalog_next_archive_seq(cat, &seq);
    if (rc == 0) {
        qp_pack_name(to, sizeof(to), seq, format_of(archive));
        rc = rewrite(dir, archive, to, &drop, &kept, &bytes);
    }
    *rewritten = kept > 0;
    char path[4096];
    if (rc == 0 && kept == 0) {
        // Nothing left in it: the new (empty) archive is not wanted.
        snprintf(path, sizeof(path), "%s/%s", dir, to);
        rc = unlink(path) == 0 ? qp_fsync_dir(dir) : -errno;
    }
    if (rc == 0) {
        crash_point("compact-rename");
        rc = qp_catalog_begin(cat);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            rc = qp_catalog_drop_generation(cat, gs->v[idx[i]].symbol, archive);
        }
        if (rc == 0 && kept > 0) {
            struct qp_catalog_archive a;
            memset(&a, 0, sizeof(a));
            snprintf(a.name, sizeof(a.name), "%s", to);
            a.seq = seq;
            a.members = kept;
            a.bytes = bytes;
            rc = qp_catalog_add_archive(cat, &a);
            if (rc == 0) {
                rc = qp_catalog_move_archive(cat, archive, to);
            }
        }
        if (rc == 0) {
            rc = qp_catalog_delete_archive(cat, archive);
        }
        rc = rc == 0 ? qp_catalog_commit(cat) : rc;
        if (rc != 0) {
            qp_catalog_rollback(cat); // the new archive is unrecorded: the next start deletes it
        }
    }
    if (rc == 0) {
        crash_point("compact-commit");
        snprintf(path, sizeof(path), "%s/%s", dir, archive);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = -errno;
        } else {
            rc = qp_fsync_dir(dir);
        }
    }
    qp_strset_release(&drop);
    free(names);
    return rc;
}

static int cmp_gen(const void *a, const void *b)
{
    const struct qp_catalog_generation *x = a;
    const struct qp_catalog_generation *y = b;
    int c = strcmp(x->archive, y->archive);
    return c != 0 ? c : strcmp(x->symbol, y->symbol);
}

/* The compaction itself, with the lock held. */
static int compact_dir(const char *dir, unsigned long max_gen, FILE *out)
{
    struct qp_catalog *cat = NULL;
    struct gens gs = { NULL, 0, 0, NULL };
    int rc = qp_catalog_open(&cat, dir, false);
    if (rc != 0) {
        fprintf(stderr, "quotepack compact: cannot open the catalog in %s: %s\n", dir,
                strerror(-rc));
        return rc;
    }
    rc = qp_recover_clean_dir(dir, cat); // what a killed run or compaction left
    size_t merged = 0;
    if (rc == 0) {
        // Row-level generations first: merged into one whole member each, which makes the
        // earlier ones replaced generations, dropped below.
        rc = qp_merge_generations(dir, cat, max_gen, &merged);
    }
    if (rc == 0) {
        rc = qp_catalog_foreach_generation(cat, collect, &gs);
    }
    // Generations per symbol: 1 (the current member) + its earlier ones (sorted by symbol).
    gs.drop = core_xcalloc(gs.n + 1, sizeof(bool));
    size_t symbols = 0;
    size_t dropped = 0;
    for (size_t i = 0; rc == 0 && i < gs.n;) {
        size_t j = i;
        while (j < gs.n && strcmp(gs.v[j].symbol, gs.v[i].symbol) == 0) {
            j++;
        }
        if (j - i + 1 > max_gen) {
            symbols++;
            for (size_t k = i; k < j; k++) {
                gs.drop[k] = gs.v[k].replaced;
                dropped += gs.v[k].replaced;
            }
        }
        i = j;
    }
    // Keep only the dropped ones, grouped by archive.
    size_t nd = 0;
    for (size_t i = 0; i < gs.n; i++) {
        if (gs.drop[i]) {
            gs.v[nd++] = gs.v[i];
        }
    }
    if (nd > 0) {
        qsort(gs.v, nd, sizeof(*gs.v), cmp_gen);
    }
    size_t *idx = core_xcalloc(nd + 1, sizeof(size_t));
    unsigned long rewritten = 0;
    unsigned long deleted = 0;
    for (size_t i = 0; rc == 0 && i < nd;) {
        size_t n = 0;
        size_t j = i;
        while (j < nd && strcmp(gs.v[j].archive, gs.v[i].archive) == 0) {
            idx[n++] = j++;
        }
        bool rw = false;
        rc = compact_archive(dir, cat, gs.v[i].archive, &gs, idx, n, &rw);
        if (rc == 0) {
            rewritten += rw;
            deleted += !rw;
        }
        i = j;
    }
    if (rc == 0) {
        fprintf(out,
                "quotepack compact: %s: %zu symbols over %lu generations: %zu merged into one "
                "member, %zu earlier members dropped, %lu archives rewritten, %lu deleted\n",
                dir, symbols, max_gen, merged, dropped, rewritten, deleted);
    } else {
        fprintf(stderr,
                "quotepack compact: stopped: %s; the catalog records every member in "
                "one archive, and a rerun goes on\n",
                strerror(-rc));
    }
    free(idx);
    free(gs.v);
    free(gs.drop);
    qp_catalog_close(cat);
    return rc;
}

int qp_cmd_compact(int argc, char **argv, FILE *out)
{
    unsigned long max_gen = 1;
    bool usage = argc < 2 || argv[1][0] == '-';
    for (int i = 2; !usage && i < argc; i += 2) {
        char *end = NULL;
        if (strcmp(argv[i], "--max-generations") != 0 || i + 1 >= argc) {
            usage = true;
            break;
        }
        max_gen = strtoul(argv[i + 1], &end, 10);
        usage = end == argv[i + 1] || *end != '\0' || max_gen < 1 || max_gen > 1000000;
    }
    if (usage) {
        bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: quotepack compact DIR [--max-generations N]\n"
                "A symbol whose history is in more than N row-level generations has them\n"
                "merged into one member. For every symbol with more than N generations (its\n"
                "current member and the earlier ones refreshes replaced; default N = 1), drops\n"
                "the replaced ones: archives holding them are rewritten without them,\n"
                "crash-safely.\n");
        return help ? 0 : 2;
    }
    const char *dir = argv[1];
    char lp[4096];
    snprintf(lp, sizeof(lp), "%s/.lock", dir);
    int fd = open(lp, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "quotepack compact: %s is not a quotepack output directory\n", dir);
        return 1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "quotepack compact: another quotepack run is using %s\n", dir);
        close(fd);
        return 1;
    }
    int rc = compact_dir(dir, max_gen, out);
    close(fd);
    return rc == 0 ? 0 : 1;
}

// SPDX-License-Identifier: MIT
/* quotepack's archives: names, and spooled entries written through archive/writer.h. */
#include "quotepack/pack.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/writer.h"
#include "core/alloc.h"
#include "core/log.h"
#include "quotepack/console.h"
#include "quotepack/spool.h"

/* quotepack's archive: the shared crash-safe writer (archive/writer.h) plus its naming. */
struct qp_pack {
    struct arc_writer *w;
};

const char *qp_pack_ext(enum qp_format format)
{
    return format == QP_FORMAT_TZST ? ".tar.zst" : ".tgz";
}

void qp_pack_name(char *buf, size_t size, uint64_t seq, enum qp_format format)
{
    snprintf(buf, size, "quotes-%06" PRIu64 "%s", seq, qp_pack_ext(format));
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s);
    size_t b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* "<digits>[-<digits>]" exactly, for the n bytes at s. */
static bool numbered(const char *s, size_t n)
{
    size_t i = 0;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (digits == 0) {
        return false;
    }
    if (i < n && s[i] == '-') {
        i++;
        digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
        if (digits == 0) {
            return false;
        }
    }
    return i == n;
}

enum qp_pack_name_kind qp_pack_name_kind(const char *name)
{
    static const char *const exts[] = { ".tgz", ".tar.zst" };
    bool tmp = name[0] == '.';
    const char *s = tmp ? name + 1 : name;
    size_t n = strlen(s);
    if (tmp) {
        if (!has_suffix(s, ".tmp")) {
            return QP_PACK_NAME_OTHER;
        }
        n -= 4;
    }
    if (strncmp(s, "quotes-", 7) != 0) {
        return QP_PACK_NAME_OTHER;
    }
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t e = strlen(exts[i]);
        if (n > 7 + e && strncmp(s + n - e, exts[i], e) == 0 && numbered(s + 7, n - 7 - e)) {
            return tmp ? QP_PACK_NAME_TEMP : QP_PACK_NAME_ARCHIVE;
        }
    }
    return QP_PACK_NAME_OTHER;
}

int qp_fsync_dir(const char *dir)
{
    return arc_fsync_dir(dir);
}

int qp_pack_create(struct qp_pack **out, const char *dir, const char *name)
{
    struct qp_pack *p = core_xcalloc(1, sizeof(*p));
    *out = NULL;
    int rc = arc_writer_open(&p->w, dir, name);
    if (rc != 0) {
        qp_console_log(CORE_LOG_ERROR, "cannot create %s/.%s.tmp: %s", dir, name, strerror(-rc));
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int qp_pack_add_record(struct qp_pack *p, struct qp_spool *sp, const struct qp_spool_rec *rec)
{
    uint64_t n = 0;
    int rc = qp_spool_copy(sp, rec, arc_writer_fd(p->w), &n);
    arc_writer_count(p->w, n);
    if (rc != 0) {
        qp_console_log(CORE_LOG_ERROR, "writing %s: %s", arc_writer_tmp_path(p->w), strerror(-rc));
    }
    return rc;
}

int qp_pack_add_frames(struct qp_pack *p, const void *data, size_t len)
{
    int rc = arc_writer_write(p->w, data, len);
    if (rc != 0) {
        qp_console_log(CORE_LOG_ERROR, "writing %s: %s", arc_writer_tmp_path(p->w), strerror(-rc));
    }
    return rc;
}

int qp_pack_commit(struct qp_pack *p, const void *end, size_t end_len, uint64_t *bytes)
{
    int rc = qp_pack_add_frames(p, end, end_len);
    if (rc != 0) {
        return rc;
    }
    rc = arc_writer_commit(p->w);
    *bytes = arc_writer_bytes(p->w);
    if (rc != 0) {
        qp_console_log(CORE_LOG_ERROR, "cannot finish %s: %s", arc_writer_final_path(p->w),
                       strerror(-rc));
    }
    return rc;
}

void qp_pack_destroy(struct qp_pack *p)
{
    if (p == NULL) {
        return;
    }
    arc_writer_close(p->w);
    free(p);
}

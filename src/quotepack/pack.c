// SPDX-License-Identifier: MIT
/* Writes one archive crash-safely from spooled entries: temp name, fsync, rename, fsync dir. */
#include "quotepack/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/log.h"
#include "quotepack/console.h"
#include "quotepack/spool.h"

struct qp_pack {
    int fd;
    bool committed;
    uint64_t bytes;
    char *dir;
    char *tmp_path;
    char *final_path;
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
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    int rc = 0;
    if (fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

int qp_pack_create(struct qp_pack **out, const char *dir, const char *name)
{
    struct qp_pack *p = core_xcalloc(1, sizeof(*p));
    size_t n = strlen(dir) + strlen(name) + 16;
    int rc = 0;
    p->dir = core_xstrdup(dir);
    p->tmp_path = core_xmalloc(n);
    p->final_path = core_xmalloc(n);
    snprintf(p->tmp_path, n, "%s/.%s.tmp", dir, name);
    snprintf(p->final_path, n, "%s/%s", dir, name);
    *out = NULL;
    p->fd = open(p->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p->fd < 0) {
        rc = -errno;
        qp_console_log(CORE_LOG_ERROR, "cannot create %s: %s", p->tmp_path, strerror(-rc));
        qp_pack_destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

int qp_pack_add_record(struct qp_pack *p, struct qp_spool *sp, const struct qp_spool_rec *rec)
{
    int rc = qp_spool_copy(sp, rec, p->fd, &p->bytes);
    if (rc != 0) {
        qp_console_log(CORE_LOG_ERROR, "writing %s: %s", p->tmp_path, strerror(-rc));
    }
    return rc;
}

int qp_pack_add_frames(struct qp_pack *p, const void *data, size_t len)
{
    const char *c = data;
    while (len > 0) {
        ssize_t n = write(p->fd, c, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int rc = -errno;
            qp_console_log(CORE_LOG_ERROR, "writing %s: %s", p->tmp_path, strerror(-rc));
            return rc;
        }
        c += n;
        len -= (size_t)n;
        p->bytes += (uint64_t)n;
    }
    return 0;
}

int qp_pack_commit(struct qp_pack *p, const void *end, size_t end_len, uint64_t *bytes)
{
    int rc = qp_pack_add_frames(p, end, end_len);
    if (rc != 0) {
        return rc;
    }
    if (fsync(p->fd) != 0) {
        rc = -errno;
        goto out;
    }
    if (close(p->fd) != 0) {
        p->fd = -1;
        rc = -errno;
        goto out;
    }
    p->fd = -1;
    if (rename(p->tmp_path, p->final_path) != 0) {
        rc = -errno;
        goto out;
    }
    p->committed = true;
    rc = qp_fsync_dir(p->dir);
    *bytes = p->bytes;
out:
    if (rc != 0) {
        qp_console_log(CORE_LOG_ERROR, "cannot finish %s: %s", p->final_path, strerror(-rc));
    }
    return rc;
}

void qp_pack_destroy(struct qp_pack *p)
{
    if (p == NULL) {
        return;
    }
    if (p->fd >= 0) {
        close(p->fd);
    }
    if (!p->committed) {
        unlink(p->tmp_path);
    }
    free(p->dir);
    free(p->tmp_path);
    free(p->final_path);
    free(p);
}

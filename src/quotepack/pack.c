// SPDX-License-Identifier: MIT
/* Writes one archive (tar + gzip or zstd) crash-safely: temp name, fsync, rename, fsync dir. */
#include "quotepack/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/alloc.h"
#include "core/log.h"
#include "quotepack/gzip.h"

struct qp_pack {
    struct archive *ar;
    struct qp_gzip *gz; /* tgz only: libarchive writes plain tar, we compress */
    int fd;
    int err; /* first write error (negative errno) */
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

static int write_fd(void *ctx, const void *data, size_t len)
{
    struct qp_pack *p = ctx;
    const char *c = data;
    while (len > 0) {
        ssize_t n = write(p->fd, c, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        c += n;
        len -= (size_t)n;
        p->bytes += (uint64_t)n;
    }
    return 0;
}

static la_ssize_t ar_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct qp_pack *p = ctx;
    int rc = p->gz != NULL ? qp_gzip_write(p->gz, buf, len) : write_fd(p, buf, len);
    if (rc != 0) {
        if (p->err == 0) {
            p->err = rc;
        }
        archive_set_error(a, -rc, "%s", strerror(-rc));
        return -1;
    }
    return (la_ssize_t)len;
}

int qp_pack_create(struct qp_pack **out, const char *dir, const char *name, enum qp_format format,
                   enum qp_level level)
{
    struct qp_pack *p = core_xcalloc(1, sizeof(*p));
    size_t n = strlen(dir) + strlen(name) + 16;
    int rc = 0;
    p->fd = -1;
    p->dir = core_xstrdup(dir);
    p->tmp_path = core_xmalloc(n);
    p->final_path = core_xmalloc(n);
    snprintf(p->tmp_path, n, "%s/.%s.tmp", dir, name);
    snprintf(p->final_path, n, "%s/%s", dir, name);
    *out = NULL;

    p->fd = open(p->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p->fd < 0) {
        rc = -errno;
        LOG_ERROR("cannot create %s: %s", p->tmp_path, strerror(-rc));
        goto fail;
    }
    p->ar = archive_write_new();
    if (p->ar == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    archive_write_set_format_pax_restricted(p->ar);
    archive_write_set_bytes_per_block(p->ar, 64 * 1024);
    archive_write_set_bytes_in_last_block(p->ar, 1);
    if (format == QP_FORMAT_TGZ) {
        rc = qp_gzip_create(&p->gz, level, write_fd, p);
        if (rc != 0) {
            goto fail;
        }
    } else {
        const char *zl = level == QP_LEVEL_FAST ? "1" : level == QP_LEVEL_DEFAULT ? "3" : "19";
        if (archive_write_add_filter_zstd(p->ar) != ARCHIVE_OK ||
            archive_write_set_filter_option(p->ar, "zstd", "compression-level", zl) != ARCHIVE_OK) {
            LOG_ERROR("libarchive zstd: %s", archive_error_string(p->ar));
            rc = -ENOTSUP;
            goto fail;
        }
    }
    if (archive_write_open(p->ar, p, NULL, ar_write, NULL) != ARCHIVE_OK) {
        rc = p->err != 0 ? p->err : -EIO;
        LOG_ERROR("cannot start %s: %s", p->tmp_path, archive_error_string(p->ar));
        goto fail;
    }
    *out = p;
    return 0;
fail:
    qp_pack_destroy(p);
    return rc;
}

int qp_pack_add(struct qp_pack *p, const char *member, const void *data, size_t len, int64_t mtime)
{
    struct archive_entry *e = archive_entry_new();
    int rc = 0;
    if (e == NULL) {
        return -ENOMEM;
    }
    archive_entry_set_pathname(e, member);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, (time_t)mtime, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    if (archive_write_header(p->ar, e) != ARCHIVE_OK) {
        rc = p->err != 0 ? p->err : -EIO;
        goto out;
    }
    const char *c = data;
    while (len > 0) {
        la_ssize_t n = archive_write_data(p->ar, c, len);
        if (n <= 0) {
            rc = p->err != 0 ? p->err : -EIO;
            goto out;
        }
        c += n;
        len -= (size_t)n;
    }
out:
    if (rc != 0) {
        LOG_ERROR("writing %s to %s: %s", member, p->tmp_path, strerror(-rc));
    }
    archive_entry_free(e);
    return rc;
}

int qp_pack_commit(struct qp_pack *p, uint64_t *bytes)
{
    int rc = 0;
    if (archive_write_close(p->ar) != ARCHIVE_OK) {
        rc = p->err != 0 ? p->err : -EIO;
        goto out;
    }
    if (p->gz != NULL) {
        rc = qp_gzip_finish(p->gz);
        if (rc != 0) {
            goto out;
        }
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
        LOG_ERROR("cannot finish %s: %s", p->final_path, strerror(-rc));
    }
    return rc;
}

void qp_pack_destroy(struct qp_pack *p)
{
    if (p == NULL) {
        return;
    }
    if (p->ar != NULL) {
        archive_write_free(p->ar);
    }
    qp_gzip_destroy(p->gz);
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

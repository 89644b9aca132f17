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

/*
 * tgz: ustar entries written here, each compressed as its own gzip member (see gzip.h), and
 * a final member holding the two zero blocks that end a tar archive. tzst: libarchive's tar
 * writer with its zstd filter, streaming into the same file descriptor.
 */
struct qp_pack {
    struct archive *ar; /* tzst only */
    enum qp_format format;
    enum qp_level level;
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

static int write_fd(struct qp_pack *p, const void *data, size_t len)
{
    const char *c = data;
    while (len > 0) {
        ssize_t n = write(p->fd, c, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int rc = -errno;
            if (p->err == 0) {
                p->err = rc;
            }
            return rc;
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
    int rc = write_fd(p, buf, len);
    if (rc != 0) {
        archive_set_error(a, -rc, "%s", strerror(-rc));
        return -1;
    }
    return (la_ssize_t)len;
}

static void octal(unsigned char *field, size_t width, uint64_t v)
{
    // width - 1 digits, zero-padded, then NUL
    for (size_t i = width - 1; i-- > 0;) {
        field[i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
    field[width - 1] = '\0';
}

int qp_pack_ustar_header(unsigned char hdr[512], const char *member, uint64_t size, int64_t mtime)
{
    size_t n = strlen(member);
    if (n == 0 || n > 99) {
        return -ENAMETOOLONG;
    }
    if (size >= ((uint64_t)1 << 33)) {
        return -EFBIG;
    }
    memset(hdr, 0, 512);
    memcpy(hdr, member, n + 1);
    octal(hdr + 100, 8, 0644);
    octal(hdr + 108, 8, 0);
    octal(hdr + 116, 8, 0);
    octal(hdr + 124, 12, size);
    octal(hdr + 136, 12, mtime > 0 ? (uint64_t)mtime : 0);
    memset(hdr + 148, ' ', 8);
    hdr[156] = '0';
    memcpy(hdr + 257, "ustar", 6); // magic, with its NUL
    hdr[263] = '0';                // version "00", no NUL
    hdr[264] = '0';
    memcpy(hdr + 265, "root", 5);
    memcpy(hdr + 297, "root", 5);
    octal(hdr + 329, 8, 0);
    octal(hdr + 337, 8, 0);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++) {
        sum += hdr[i];
    }
    octal(hdr + 148, 7, sum);
    hdr[155] = ' ';
    return 0;
}

int qp_pack_gzip_entry(enum qp_level level, const char *member, const void *data, size_t len,
                       int64_t mtime, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    size_t padded = (len + 511) / 512 * 512;
    if (padded < len || padded > SIZE_MAX - 512) {
        return -EFBIG;
    }
    unsigned char *entry = malloc(512 + padded);
    if (entry == NULL) {
        return -ENOMEM;
    }
    int rc = qp_pack_ustar_header(entry, member, len, mtime);
    if (rc == 0) {
        if (len > 0) {
            memcpy(entry + 512, data, len);
        }
        memset(entry + 512 + len, 0, padded - len);
        rc = qp_gzip_compress(level, entry, 512 + padded, out, out_len);
    }
    free(entry);
    return rc;
}

int qp_pack_create(struct qp_pack **out, const char *dir, const char *name, enum qp_format format,
                   enum qp_level level)
{
    struct qp_pack *p = core_xcalloc(1, sizeof(*p));
    size_t n = strlen(dir) + strlen(name) + 16;
    int rc = 0;
    p->fd = -1;
    p->format = format;
    p->level = level;
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
    if (format == QP_FORMAT_TZST) {
        p->ar = archive_write_new();
        if (p->ar == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        archive_write_set_format_pax_restricted(p->ar);
        archive_write_set_bytes_per_block(p->ar, 64 * 1024);
        archive_write_set_bytes_in_last_block(p->ar, 1);
        const char *zl = level == QP_LEVEL_FAST ? "1" : level == QP_LEVEL_DEFAULT ? "3" : "19";
        if (archive_write_add_filter_zstd(p->ar) != ARCHIVE_OK ||
            archive_write_set_filter_option(p->ar, "zstd", "compression-level", zl) != ARCHIVE_OK) {
            LOG_ERROR("libarchive zstd: %s", archive_error_string(p->ar));
            rc = -ENOTSUP;
            goto fail;
        }
        if (archive_write_open(p->ar, p, NULL, ar_write, NULL) != ARCHIVE_OK) {
            rc = p->err != 0 ? p->err : -EIO;
            LOG_ERROR("cannot start %s: %s", p->tmp_path, archive_error_string(p->ar));
            goto fail;
        }
    }
    *out = p;
    return 0;
fail:
    qp_pack_destroy(p);
    return rc;
}

int qp_pack_add_gzip_entry(struct qp_pack *p, const void *gz, size_t len)
{
    if (p->format != QP_FORMAT_TGZ) {
        return -EINVAL;
    }
    int rc = write_fd(p, gz, len);
    if (rc != 0) {
        LOG_ERROR("writing %s: %s", p->tmp_path, strerror(-rc));
    }
    return rc;
}

int qp_pack_add(struct qp_pack *p, const char *member, const void *data, size_t len, int64_t mtime)
{
    int rc = 0;
    if (p->format == QP_FORMAT_TGZ) {
        char *gz = NULL;
        size_t gz_len = 0;
        rc = qp_pack_gzip_entry(p->level, member, data, len, mtime, &gz, &gz_len);
        if (rc == 0) {
            rc = qp_pack_add_gzip_entry(p, gz, gz_len);
        }
        free(gz);
        return rc;
    }
    struct archive_entry *e = archive_entry_new();
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
    if (p->format == QP_FORMAT_TGZ) {
        static const unsigned char zeros[1024];
        char *gz = NULL;
        size_t gz_len = 0;
        rc = qp_gzip_compress(p->level, zeros, sizeof(zeros), &gz, &gz_len);
        if (rc == 0) {
            rc = write_fd(p, gz, gz_len);
        }
        free(gz);
        if (rc != 0) {
            goto out;
        }
    } else if (archive_write_close(p->ar) != ARCHIVE_OK) {
        rc = p->err != 0 ? p->err : -EIO;
        goto out;
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

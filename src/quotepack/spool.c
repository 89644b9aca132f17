// SPDX-License-Identifier: MIT
/* The spool: converted XML waiting in DIR/.spool/<symbol>.xml until its batch is packed. */
#include "quotepack/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>

#include "core/alloc.h"
#include "quotepack/catalog.h"
#include "quotepack/config.h"

#define MAX_XML ((size_t)1 << 30)

struct qp_spool {
    char *dir; /* immutable */
};

static void path_of(const struct qp_spool *sp, const char *symbol, const char *ext, char *buf,
                    size_t size)
{
    snprintf(buf, size, "%s/%s%s", sp->dir, symbol, ext);
}

int qp_spool_open(struct qp_spool **out, const char *dir)
{
    struct qp_spool *sp = core_xcalloc(1, sizeof(*sp));
    size_t n = strlen(dir) + 16;
    sp->dir = core_xmalloc(n);
    snprintf(sp->dir, n, "%s/.spool", dir);
    *out = NULL;
    if (mkdir(sp->dir, 0755) != 0 && errno != EEXIST) {
        int rc = -errno;
        qp_spool_close(sp);
        return rc;
    }
    *out = sp;
    return 0;
}

void qp_spool_close(struct qp_spool *sp)
{
    if (sp == NULL) {
        return;
    }
    free(sp->dir);
    free(sp);
}

int qp_spool_write(struct qp_spool *sp, const char *symbol, const void *data, size_t len)
{
    char tmp[4096];
    char final[4096];
    int rc = 0;
    path_of(sp, symbol, ".xml.tmp", tmp, sizeof(tmp));
    path_of(sp, symbol, ".xml", final, sizeof(final));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -errno;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = -errno;
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    if (rc == 0 && rename(tmp, final) != 0) {
        rc = -errno;
    }
    if (rc != 0) {
        unlink(tmp);
    }
    return rc;
}

int qp_spool_read(struct qp_spool *sp, const char *symbol, char **data, size_t *len)
{
    char path[4096];
    struct stat st;
    char *buf = NULL;
    int rc = 0;
    *data = NULL;
    *len = 0;
    path_of(sp, symbol, ".xml", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if ((uint64_t)st.st_size > MAX_XML) {
        rc = -EFBIG;
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size + 1);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = -errno;
            goto out;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    *data = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

int qp_spool_check(struct qp_spool *sp, const char *symbol, uint64_t size, uint32_t crc)
{
    char *data = NULL;
    size_t len = 0;
    int rc = qp_spool_read(sp, symbol, &data, &len);
    if (rc == 0 && (len != size || (uint32_t)libdeflate_crc32(0, data, len) != crc)) {
        rc = -EIO;
    }
    free(data);
    return rc;
}

void qp_spool_remove(struct qp_spool *sp, const char *symbol)
{
    char path[4096];
    path_of(sp, symbol, ".xml", path, sizeof(path));
    unlink(path);
    path_of(sp, symbol, ".xml.tmp", path, sizeof(path));
    unlink(path);
}

int qp_spool_prune(struct qp_spool *sp, struct qp_catalog *cat)
{
    DIR *d = opendir(sp->dir);
    int rc = 0;
    if (d == NULL) {
        return -errno;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) {
            continue;
        }
        size_t len = strlen(n);
        bool keep = false;
        if (len > 4 && strcmp(n + len - 4, ".xml") == 0 && len - 4 <= QP_MAX_SYMBOL) {
            char sym[QP_MAX_SYMBOL + 1];
            struct qp_catalog_row row;
            memcpy(sym, n, len - 4);
            sym[len - 4] = '\0';
            int g = qp_catalog_get(cat, sym, &row);
            if (g != 0 && g != -ENOENT) {
                rc = g;
                break;
            }
            keep = g == 0 && row.state == QP_STATE_CONVERTED;
        }
        if (!keep && unlinkat(dirfd(d), n, 0) != 0 && errno != ENOENT) {
            rc = -errno;
            break;
        }
    }
    closedir(d);
    return rc;
}

void qp_spool_finish(struct qp_spool *sp)
{
    rmdir(sp->dir);
}

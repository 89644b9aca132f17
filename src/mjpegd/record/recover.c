// SPDX-License-Identifier: MIT
/* Recovery at start (and after an error): temp files removed, committed archives listed. */
#include "mjpegd/record/recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar.h"
#include "core/log.h"

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {
            return -EINVAL; // truncated
        }
        done += (size_t)n;
    }
    return 0;
}

/* An octal tar field, or -1 when it is not one. */
static int64_t octal(const unsigned char *f, size_t len)
{
    int64_t v = 0;
    size_t i = 0;
    while (i < len && f[i] == ' ') {
        i++;
    }
    bool any = false;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
        v = v * 8 + (f[i] - '0');
        any = true;
    }
    if (!any || (i < len && f[i] != '\0' && f[i] != ' ')) {
        return -1;
    }
    return v;
}

static bool header_ok(const unsigned char *h)
{
    int64_t want = octal(h + 148, 8);
    int64_t sum = 0;
    for (size_t i = 0; i < ARC_TAR_BLOCK; i++) {
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    }
    return want == sum;
}

/* Parses index.tsv's text into row's frames, start and end. */
static int parse_index(const char *text, size_t len, struct mjd_rec_row *row)
{
    row->frames = 0;
    const char *p = text;
    const char *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            return -EINVAL;
        }
        char line[96];
        size_t n = (size_t)(nl - p);
        if (n >= sizeof(line)) {
            return -EINVAL;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        int64_t wall = 0;
        uint64_t off = 0;
        uint64_t flen = 0;
        if (sscanf(line, "%" SCNd64 "\t%" SCNu64 "\t%" SCNu64, &wall, &off, &flen) != 3) {
            return -EINVAL;
        }
        if (row->frames == 0) {
            row->start_us = wall;
        }
        row->end_us = wall;
        row->frames++;
        p = nl + 1;
    }
    return row->frames > 0 ? 0 : -EINVAL;
}

int mjd_rec_read_segment(const char *path, struct mjd_rec_row *row)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    uint64_t size = rc == 0 ? (uint64_t)st.st_size : 0;
    uint64_t off = 0;
    rc = rc == 0 ? -EINVAL : rc;
    while (off + ARC_TAR_BLOCK <= size) {
        unsigned char h[ARC_TAR_BLOCK];
        if (read_at(fd, h, sizeof(h), off) != 0 || !header_ok(h)) {
            break;
        }
        int64_t msize = octal(h + 124, 12);
        if (msize < 0 || off + ARC_TAR_BLOCK + (uint64_t)msize > size) {
            break;
        }
        uint64_t data = off + ARC_TAR_BLOCK;
        static const char index_name[] = "index.tsv";
        if (memcmp(h, index_name, sizeof(index_name)) == 0) { // with its NUL: exactly the name
            if (msize > (int64_t)64 << 20) {
                break;
            }
            char *text = malloc((size_t)msize + 1);
            if (text == NULL) {
                rc = -ENOMEM;
                break;
            }
            rc = read_at(fd, text, (size_t)msize, data);
            if (rc == 0) {
                rc = parse_index(text, (size_t)msize, row);
            }
            free(text);
            if (rc == 0) {
                row->bytes = size;
                row->index_offset = data;
            }
            break;
        }
        off = data + (((uint64_t)msize + ARC_TAR_BLOCK - 1) / ARC_TAR_BLOCK) * ARC_TAR_BLOCK;
    }
    close(fd);
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The catalog's names of a source, to check each one's file. */
struct names {
    char (*v)[MJD_REC_NAME_MAX];
    size_t n, cap;
};

static int collect(void *ctx, const struct mjd_rec_row *row)
{
    struct names *ns = ctx;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap > 0 ? ns->cap * 2 : 64;
        char(*v)[MJD_REC_NAME_MAX] = realloc(ns->v, cap * sizeof(*v));
        if (v == NULL) {
            return 1;
        }
        ns->v = v;
        ns->cap = cap;
    }
    memcpy(ns->v[ns->n++], row->name, MJD_REC_NAME_MAX);
    return 0;
}

/* Deletes the rows of source whose archive is gone (removed by hand). */
static int drop_missing(struct mjd_rec_catalog *cat, const char *srcdir, const char *source,
                        struct mjd_rec_recovery *out)
{
    struct names ns = { 0 };
    int rc = mjd_rec_catalog_each(cat, source, collect, &ns);
    for (size_t i = 0; rc == 0 && i < ns.n; i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", srcdir, ns.v[i]);
        struct stat st;
        if (stat(path, &st) != 0 && errno == ENOENT) {
            LOG_WARN("recording %s is listed but gone: dropped from the catalog", path);
            rc = mjd_rec_catalog_delete(cat, ns.v[i]);
            out->rows_dropped += rc == 0 ? 1 : 0;
        }
    }
    free(ns.v);
    return rc;
}

int mjd_rec_recover(struct mjd_rec_catalog *cat, const char *srcdir, const char *source,
                    const char *reason, struct mjd_rec_recovery *out)
{
    memset(out, 0, sizeof(*out));
    DIR *d = opendir(srcdir);
    if (d == NULL) {
        return -errno;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", srcdir, name);
        if (name[0] == '.' && ends_with(name, ".tar.tmp")) {
            // A segment that was being written: never committed, so never listed.
            if (unlink(path) == 0) {
                out->temp_removed++;
            }
            continue;
        }
        if (name[0] == '.' || !ends_with(name, ".tar") || strlen(name) >= MJD_REC_NAME_MAX) {
            continue;
        }
        bool found = false;
        rc = mjd_rec_catalog_has(cat, name, &found);
        if (rc != 0 || found) {
            continue;
        }
        struct mjd_rec_row row;
        memset(&row, 0, sizeof(row));
        if (mjd_rec_read_segment(path, &row) != 0) {
            LOG_WARN("%s is not a complete recorded segment: left alone", path);
            out->unreadable++;
            continue;
        }
        memcpy(row.name, name, strlen(name) + 1); // shorter than MJD_REC_NAME_MAX: checked above
        snprintf(row.source, sizeof(row.source), "%s", source);
        snprintf(row.reason, sizeof(row.reason), "%s", reason);
        rc = mjd_rec_catalog_insert(cat, &row);
        out->listed += rc == 0 ? 1 : 0;
    }
    closedir(d);
    if (rc == 0) {
        rc = drop_missing(cat, srcdir, source, out);
    }
    return rc;
}

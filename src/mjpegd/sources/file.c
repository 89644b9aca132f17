// SPDX-License-Identifier: MIT
/* file:PATH: one JPEG, or a folder of *.jpg / *.jpeg in name order, looped, sent as they are. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "mjpegd/sources/jpeg.h"
#include "mjpegd/sources/jpeg_split.h"
#include "mjpegd/sources/source_impl.h"

struct file_source {
    struct mjd_source base; /* first: the generic part */
    char **paths;           /* npaths file names, sorted */
    bool *bad;              /* per path: was not a JPEG last time (logged once) */
    size_t npaths;
    size_t next;      /* the path read() sends next */
    uint64_t skipped; /* reads of files that were not JPEG */
};

static void file_destroy(struct mjd_source *src)
{
    struct file_source *s = (struct file_source *)src;
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->npaths; i++) {
        free(s->paths[i]);
    }
    free(s->paths);
    free(s->bad);
    free(s);
}

/* Reads the whole file into buf (cap bytes). Returns its length or -errno (-EFBIG: too big). */
static ssize_t slurp(const char *path, unsigned char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            unsigned char extra;
            ssize_t r = read(fd, &extra, 1);
            close(fd);
            return r == 0 ? (ssize_t)len : -EFBIG;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            int e = errno;
            if (e == EINTR) {
                continue;
            }
            close(fd);
            return -e;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    return (ssize_t)len;
}

/* A complete JPEG (jpeg.c's check: SOI, a sane segment walk, EOI at the end, zero padding
 * tolerated) whose SOF gives its size. */
static bool is_jpeg(const unsigned char *p, size_t len, unsigned *w, unsigned *h)
{
    struct mjd_jpeg_info info;
    return mjd_jpeg_check(p, len, &info) == 0 && mjd_jpeg_size(p, info.len, w, h) == 0;
}

static bool jpeg_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 4 && strcasecmp(name + n - 4, ".jpg") == 0) ||
                              (n > 5 && strcasecmp(name + n - 5, ".jpeg") == 0));
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_path(struct file_source *s, size_t *cap, const char *dir, const char *name)
{
    if (s->npaths == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **np = realloc(s->paths, nc * sizeof(*np));
        if (np == NULL) {
            return -ENOMEM;
        }
        s->paths = np;
        *cap = nc;
    }
    char *p = NULL;
    if (asprintf(&p, "%s%s%s", dir, dir[0] != '\0' ? "/" : "", name) < 0) {
        return -ENOMEM;
    }
    s->paths[s->npaths++] = p;
    return 0;
}

static int list_paths(struct file_source *s, const char *arg)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        return -errno;
    }
    size_t cap = 0;
    if (!S_ISDIR(st.st_mode)) {
        return add_path(s, &cap, "", arg);
    }
    DIR *d = opendir(arg);
    if (d == NULL) {
        return -errno;
    }
    int rc = 0;
    const struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (jpeg_name(de->d_name)) {
            rc = add_path(s, &cap, arg, de->d_name);
        }
    }
    closedir(d);
    if (rc == 0 && s->npaths == 0) {
        LOG_ERROR("file source: no *.jpg or *.jpeg file in %s", arg);
        return -ENOENT;
    }
    if (s->npaths > 0) {
        qsort(s->paths, s->npaths, sizeof(*s->paths), name_cmp);
    }
    return rc;
}

static int file_create(struct mjd_source **out, const char *arg, const struct mjd_source_params *p)
{
    *out = NULL;
    if (arg[0] == '\0' || p->fps == 0) {
        return -EINVAL;
    }
    struct file_source *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    int rc = list_paths(s, arg);
    if (rc == 0 && s->npaths == 0) {
        rc = -ENOENT;
    }
    if (rc == 0) {
        s->bad = calloc(s->npaths, sizeof(*s->bad));
        rc = s->bad != NULL ? 0 : -ENOMEM;
    }
    unsigned char *buf = rc == 0 ? malloc(MJD_SOURCE_MAX_JPEG) : NULL;
    if (rc == 0 && buf == NULL) {
        rc = -ENOMEM;
    }
    // The size is the first readable image's.
    unsigned w = 0, h = 0;
    for (size_t i = 0; rc == 0 && i < s->npaths && w == 0; i++) {
        ssize_t len = slurp(s->paths[i], buf, MJD_SOURCE_MAX_JPEG);
        if (len < 0 || !is_jpeg(buf, (size_t)len, &w, &h)) {
            w = 0;
        }
    }
    free(buf);
    if (rc == 0 && w == 0) {
        LOG_ERROR("file source: no readable JPEG in %s", arg);
        rc = -EINVAL;
    }
    if (rc != 0) {
        file_destroy(&s->base);
        return rc;
    }
    s->base.info.kind = "file";
    s->base.info.width = w;
    s->base.info.height = h;
    s->base.info.format = MJD_PIX_JPEG;
    s->base.info.self_paced = false;
    s->base.info.max_frame_bytes = MJD_SOURCE_MAX_JPEG;
    *out = &s->base;
    return 0;
}

static int file_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns)
{
    (void)deadline_ns;
    struct file_source *s = (struct file_source *)src;
    // At most one pass over the list: a folder where nothing is readable is an error.
    for (size_t tries = 0; tries < s->npaths; tries++) {
        size_t i = s->next;
        s->next = (s->next + 1) % s->npaths;
        ssize_t len = slurp(s->paths[i], frame->data, frame->cap);
        unsigned w = 0, h = 0;
        if (len >= 0 && is_jpeg(frame->data, (size_t)len, &w, &h)) {
            s->bad[i] = false;
            frame->len = (size_t)len;
            frame->width = w;
            frame->height = h;
            frame->format = MJD_PIX_JPEG;
            return 0;
        }
        s->skipped++;
        if (!s->bad[i]) {
            s->bad[i] = true;
            LOG_WARN("file source: skipping %s: %s", s->paths[i],
                     len < 0 ? strerror((int)-len) : "not a complete JPEG");
        }
    }
    return -EIO;
}

/* Each read of a file that was not a complete JPEG (or could not be read) is a refused frame. */
static uint64_t file_rejected(const struct mjd_source *src)
{
    return ((const struct file_source *)src)->skipped;
}

const struct mjd_source_ops mjd_source_file_ops = {
    .kind = "file",
    .create = file_create,
    .destroy = file_destroy,
    .read = file_read,
    .rejected = file_rejected,
};

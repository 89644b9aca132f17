// SPDX-License-Identifier: MIT
/* file:PATH: one JPEG, or a folder of *.jpg / *.jpeg in name order, looped, sent as they are. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "mjpegd/sources/jpeg_split.h"
#include "mjpegd/sources/source_impl.h"

/* The largest file sent; bigger ones are skipped like non-JPEG files. */
#define FILE_MAX_BYTES (32u << 20)

struct file_entry {
    char *path;
    bool bad; /* not a readable JPEG: skipped (logged once) */
};

struct file_source {
    struct mjd_source base; /* first: the generic part */
    struct file_entry *files;
    size_t nfiles;
    size_t next; /* index of the next file to send */
};

static bool has_jpeg_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct file_entry *)a)->path, ((const struct file_entry *)b)->path);
}

static void file_destroy(struct mjd_source *src)
{
    struct file_source *s = (struct file_source *)src;
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].path);
    }
    free(s->files);
    free(s);
}

static int add_file(struct file_source *s, const char *dir, const char *name)
{
    struct file_entry *f = realloc(s->files, (s->nfiles + 1) * sizeof(*f));
    if (f == NULL) {
        return -ENOMEM;
    }
    s->files = f;
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (path == NULL) {
        return -ENOMEM;
    }
    snprintf(path, n, "%s%s%s", dir, dir[0] != '\0' ? "/" : "", name);
    s->files[s->nfiles++] = (struct file_entry){ .path = path };
    return 0;
}

/* Reads path into buf[0..cap): its length, or a negative errno (-EFBIG if it does not fit). */
static ssize_t load(const char *path, unsigned char *buf, size_t cap)
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
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int e = errno;
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

/* Loads file i into buf; marks it bad (logging once) when it is not a JPEG. */
static int load_jpeg(struct file_source *s, size_t i, unsigned char *buf, size_t cap, size_t *len,
                     unsigned *w, unsigned *h)
{
    ssize_t n = load(s->files[i].path, buf, cap);
    unsigned fw = 0, fh = 0;
    if (n >= 0 && mjd_jpeg_size(buf, (size_t)n, &fw, &fh) == 0) {
        *len = (size_t)n;
        *w = fw;
        *h = fh;
        return 0;
    }
    if (!s->files[i].bad) {
        LOG_WARN("file source: skipping %s: %s", s->files[i].path,
                 n < 0 ? strerror((int)-n) : "not a JPEG");
        s->files[i].bad = true;
    }
    return n < 0 ? (int)n : -EINVAL;
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
    int rc = 0;
    struct stat st;
    if (stat(arg, &st) != 0) {
        rc = -errno;
        LOG_ERROR("file source: %s: %s", arg, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(arg);
        if (d == NULL) {
            rc = -errno;
            goto fail;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] != '.' && has_jpeg_ext(de->d_name)) {
                rc = add_file(s, arg, de->d_name);
                if (rc != 0) {
                    closedir(d);
                    goto fail;
                }
            }
        }
        closedir(d);
        qsort(s->files, s->nfiles, sizeof(*s->files), by_name);
    } else {
        rc = add_file(s, "", arg);
        if (rc != 0) {
            goto fail;
        }
    }
    // The largest file decides the buffer size; the first JPEG decides the frame size.
    size_t max = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        if (stat(s->files[i].path, &st) == 0 && (size_t)st.st_size > max &&
            (size_t)st.st_size <= FILE_MAX_BYTES) {
            max = (size_t)st.st_size;
        }
    }
    unsigned char *tmp = max > 0 ? malloc(max) : NULL;
    bool found = false;
    for (size_t i = 0; tmp != NULL && i < s->nfiles && !found; i++) {
        size_t len;
        found = load_jpeg(s, i, tmp, max, &len, &s->base.info.width, &s->base.info.height) == 0;
    }
    free(tmp);
    if (!found) {
        LOG_ERROR("file source: no JPEG file (*.jpg, *.jpeg) in %s", arg);
        rc = -ENOENT;
        goto fail;
    }
    s->base.info.kind = "file";
    s->base.info.format = MJD_PIX_JPEG;
    s->base.info.self_paced = false;
    s->base.info.max_frame_bytes = max;
    *out = &s->base;
    return 0;
fail:
    file_destroy(&s->base);
    return rc;
}

static int file_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns)
{
    (void)deadline_ns;
    struct file_source *s = (struct file_source *)src;
    // One pass over the list at most: a file that turned bad is skipped, not retried forever.
    for (size_t tries = 0; tries < s->nfiles; tries++) {
        size_t i = s->next;
        s->next = (s->next + 1) % s->nfiles;
        if (s->files[i].bad) {
            continue;
        }
        size_t len;
        unsigned w, h;
        if (load_jpeg(s, i, frame->data, frame->cap, &len, &w, &h) == 0) {
            frame->len = len;
            frame->width = w;
            frame->height = h;
            frame->format = MJD_PIX_JPEG;
            return 0;
        }
    }
    return -ENOENT; // every file went bad (deleted, replaced by something else)
}

const struct mjd_source_ops mjd_source_file_ops = {
    .kind = "file",
    .create = file_create,
    .destroy = file_destroy,
    .read = file_read,
};

// SPDX-License-Identifier: MIT
/* One archive file written crash-safely: temp name, fsync, rename, directory fsync. */
#include "archive/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/alloc.h"

struct arc_writer {
    int fd; /* the temp file, -1 once closed */
    bool committed;
    uint64_t bytes;
    char *dir;
    char *tmp_path;
    char *final_path;
};

/* Written once before any thread (arc_set_step_hook), read-only after. */
static arc_step_hook_fn step_hook;

void arc_set_step_hook(arc_step_hook_fn hook)
{
    step_hook = hook;
}

static void step(const char *kind)
{
    if (step_hook != NULL) {
        step_hook(kind);
    }
}

int arc_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    int rc = 0;
    step("fsync");
    if (fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

int arc_writer_open(struct arc_writer **out, const char *dir, const char *name)
{
    *out = NULL;
    if (name[0] == '\0' || strchr(name, '/') != NULL) {
        return -EINVAL;
    }
    struct arc_writer *w = core_xcalloc(1, sizeof(*w));
    size_t n = strlen(dir) + strlen(name) + 16;
    w->dir = core_xstrdup(dir);
    w->tmp_path = core_xmalloc(n);
    w->final_path = core_xmalloc(n);
    snprintf(w->tmp_path, n, "%s/.%s.tmp", dir, name);
    snprintf(w->final_path, n, "%s/%s", dir, name);
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int rc = -errno;
        w->committed = true; // nothing to unlink: it was never created
        arc_writer_close(w);
        return rc;
    }
    *out = w;
    return 0;
}

int arc_writer_write(struct arc_writer *w, const void *data, size_t len)
{
    const char *c = data;
    while (len > 0) {
        ssize_t n = write(w->fd, c, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        c += n;
        len -= (size_t)n;
        w->bytes += (uint64_t)n;
    }
    return 0;
}

int arc_writer_pwrite(struct arc_writer *w, const void *data, size_t len, uint64_t off)
{
    if (off > w->bytes || len > w->bytes - off) {
        return -EINVAL;
    }
    const char *c = data;
    while (len > 0) {
        ssize_t n = pwrite(w->fd, c, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        c += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int arc_writer_fd(const struct arc_writer *w)
{
    return w->fd;
}

void arc_writer_count(struct arc_writer *w, uint64_t n)
{
    w->bytes += n;
}

uint64_t arc_writer_bytes(const struct arc_writer *w)
{
    return w->bytes;
}

const char *arc_writer_tmp_path(const struct arc_writer *w)
{
    return w->tmp_path;
}

const char *arc_writer_final_path(const struct arc_writer *w)
{
    return w->final_path;
}

int arc_writer_commit(struct arc_writer *w)
{
    if (w->fd < 0 || w->committed) {
        return -EINVAL;
    }
    step("fsync");
    if (fsync(w->fd) != 0) {
        return -errno;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        return -errno;
    }
    step("rename");
    if (rename(w->tmp_path, w->final_path) != 0) {
        return -errno;
    }
    w->committed = true;
    return arc_fsync_dir(w->dir);
}

void arc_writer_close(struct arc_writer *w)
{
    if (w == NULL) {
        return;
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    if (!w->committed) {
        step("unlink");
        unlink(w->tmp_path);
    }
    free(w->dir);
    free(w->tmp_path);
    free(w->final_path);
    free(w);
}

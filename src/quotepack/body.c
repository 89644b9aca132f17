// SPDX-License-Identifier: MIT
/* A downloaded body: in memory while small, in a spill file past a threshold; read in pieces. */
#include "quotepack/body.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quotepack/failpoint.h"

#define PIECE ((size_t)1 << 20)

void qp_body_init(struct qp_body *b, const char *dir, size_t spill_at, uint64_t max)
{
    memset(b, 0, sizeof(*b));
    b->fd = -1;
    b->dir = dir;
    b->spill_at = spill_at;
    b->max = max;
}

bool qp_body_spilled(const struct qp_body *b)
{
    return b->fd >= 0;
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    qp_failpoint("spool-write");
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Moves the body into a new file. */
static int spill(struct qp_body *b)
{
    static atomic_uint counter;
    snprintf(b->path, sizeof(b->path), "%s/body-%ld-%u.csv", b->dir, (long)getpid(),
             atomic_fetch_add(&counter, 1));
    int fd = open(b->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        b->path[0] = '\0';
        return -errno;
    }
    int rc = b->len > 0 ? write_all(fd, b->data, b->len) : 0;
    if (rc != 0) {
        close(fd);
        qp_failpoint("unlink");
        unlink(b->path);
        b->path[0] = '\0';
        return rc;
    }
    b->fd = fd;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return 0;
}

int qp_body_append(struct qp_body *b, const void *data, size_t n)
{
    if (n > b->max - b->size) {
        return -EFBIG;
    }
    if (b->fd < 0 && b->len + n > b->spill_at) {
        int rc = spill(b);
        if (rc != 0) {
            return rc;
        }
    }
    if (b->fd >= 0) {
        int rc = write_all(b->fd, data, n);
        if (rc == 0) {
            b->size += n;
        }
        return rc;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : (size_t)64 << 10;
        while (cap < b->len + n) {
            cap *= 2;
        }
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            return -ENOMEM;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->size += n;
    return 0;
}

int qp_body_borrow(struct qp_body *b, const char *data, size_t len, const char *path)
{
    qp_body_init(b, NULL, 0, UINT64_MAX);
    b->borrowed = true;
    if (path == NULL) {
        b->data = (char *)(uintptr_t)data; // read only: release never frees a borrowed body
        b->len = len;
        b->size = len;
        return 0;
    }
    b->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (b->fd < 0) {
        return -errno;
    }
    snprintf(b->path, sizeof(b->path), "%s", path);
    return 0;
}

void qp_body_release(struct qp_body *b)
{
    if (!b->borrowed) {
        free(b->data);
    }
    free(b->piece);
    if (b->fd >= 0) {
        close(b->fd);
        if (!b->borrowed) {
            qp_failpoint("unlink");
            unlink(b->path);
        }
    }
    b->borrowed = false;
    b->data = NULL;
    b->piece = NULL;
    b->fd = -1;
    b->path[0] = '\0';
    b->len = b->cap = 0;
    b->size = 0;
    b->read_at = 0;
}

void qp_body_reset(struct qp_body *b)
{
    const char *dir = b->dir;
    size_t spill_at = b->spill_at;
    uint64_t max = b->max;
    qp_body_release(b);
    qp_body_init(b, dir, spill_at, max);
}

void qp_body_rewind(struct qp_body *b)
{
    b->read_at = 0;
}

int qp_body_read(void *arg, const char **data, size_t *len)
{
    struct qp_body *b = arg;
    *data = "";
    *len = 0;
    if (b->fd < 0) {
        if (b->read_at == 0 && b->len > 0) {
            *data = b->data;
            *len = b->len;
            b->read_at = b->len;
        }
        return 0;
    }
    if (b->piece == NULL) {
        b->piece = malloc(PIECE);
        if (b->piece == NULL) {
            return -ENOMEM;
        }
    }
    for (;;) {
        ssize_t n = pread(b->fd, b->piece, PIECE, (off_t)b->read_at);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        b->read_at += (uint64_t)n;
        *data = b->piece;
        *len = (size_t)n;
        return 0;
    }
}

// SPDX-License-Identifier: MIT
/* Stream parts: head + JPEG + boundary, written once into a sealed memfd where the kernel allows.
 */
#include "mjpegd/part.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TAIL     "\r\n--" MJD_PART_BOUNDARY "\r\n"
#define TAIL_LEN (sizeof(TAIL) - 1)
#define SEALS    (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static const char first_boundary[] = "--" MJD_PART_BOUNDARY "\r\n";

struct mjd_part {
    atomic_size_t refs;    /* atomic */
    int fd;                /* immutable: the sealed memfd, or -1 */
    struct core_buf *jpeg; /* immutable: one reference */
    size_t head_len;       /* immutable */
    size_t len;            /* immutable: head + JPEG + tail */
    char head[MJD_PART_HEAD_MAX];
};

/* Writes the whole of iov[0..n) to fd (a fresh memfd, so short writes only on a signal). */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            int err = errno;
            if (err == EINTR) {
                continue;
            }
            return -err;
        }
        size_t k = (size_t)w;
        while (n > 0 && k >= iov->iov_len) {
            k -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= k;
        }
    }
    return 0;
}

/* A sealed memfd holding the part, or -1 if the kernel refuses any step (then copy only). */
static int make_memfd(struct mjd_part *p)
{
    int fd = memfd_create("mjpegd-part", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return -1;
    }
    struct iovec iov[3];
    int n = mjd_part_iov(p, 0, iov);
    if (write_all(fd, iov, n) != 0 || fcntl(fd, F_ADD_SEALS, SEALS) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int mjd_part_create(struct mjd_part **out, struct core_buf *jpeg, int64_t wall_ns, unsigned flags)
{
    *out = NULL;
    if (jpeg == NULL || jpeg->len == 0) {
        return -EINVAL;
    }
    struct mjd_part *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    int64_t us = wall_ns / 1000;
    int n = snprintf(p->head, sizeof(p->head),
                     "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n"
                     "X-Timestamp: %lld.%06lld\r\n\r\n",
                     jpeg->len, (long long)(us / 1000000), (long long)(us % 1000000));
    if (n <= 0 || (size_t)n >= sizeof(p->head)) {
        free(p);
        return -EINVAL;
    }
    atomic_init(&p->refs, 1);
    p->head_len = (size_t)n;
    p->len = p->head_len + jpeg->len + TAIL_LEN;
    p->jpeg = core_buf_ref(jpeg);
    p->fd = (flags & MJD_PART_NO_MEMFD) != 0 ? -1 : make_memfd(p);
    *out = p;
    return 0;
}

struct mjd_part *mjd_part_ref(struct mjd_part *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void mjd_part_unref(struct mjd_part *p)
{
    if (p == NULL) {
        return;
    }
    // Release, then acquire on the last reference: every use by other threads happens before
    // the part is freed.
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    if (p->fd >= 0) {
        close(p->fd);
    }
    core_buf_unref(p->jpeg);
    free(p);
}

size_t mjd_part_len(const struct mjd_part *p)
{
    return p->len;
}

struct core_buf *mjd_part_jpeg(const struct mjd_part *p)
{
    return p->jpeg;
}

int mjd_part_fd(const struct mjd_part *p)
{
    return p->fd;
}

int mjd_part_iov(const struct mjd_part *p, size_t off, struct iovec iov[3])
{
    const struct iovec seg[3] = {
        { (void *)(uintptr_t)p->head, p->head_len },
        { p->jpeg->data, p->jpeg->len },
        { (void *)(uintptr_t)TAIL, TAIL_LEN },
    };
    int n = 0;
    for (int i = 0; i < 3; i++) {
        if (off >= seg[i].iov_len) {
            off -= seg[i].iov_len;
            continue;
        }
        iov[n].iov_base = (char *)seg[i].iov_base + off;
        iov[n].iov_len = seg[i].iov_len - off;
        off = 0;
        n++;
    }
    return n;
}

const char *mjd_part_first_boundary(size_t *len)
{
    *len = sizeof(first_boundary) - 1;
    return first_boundary;
}

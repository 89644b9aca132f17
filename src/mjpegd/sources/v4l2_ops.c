// SPDX-License-Identifier: MIT
/* The libc side of the v4l2 source's call table: what a real camera is driven through. */
#include "mjpegd/sources/v4l2_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int sys_open(void *ctx, const char *path, int flags)
{
    (void)ctx;
    return open(path, flags);
}

static int sys_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

static int sys_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
    (void)ctx;
    return ioctl(fd, request, arg);
}

static void *sys_mmap(void *ctx, size_t len, int prot, int flags, int fd, off_t offset)
{
    (void)ctx;
    return mmap(NULL, len, prot, flags, fd, offset);
}

static int sys_munmap(void *ctx, void *addr, size_t len)
{
    (void)ctx;
    return munmap(addr, len);
}

static int sys_poll(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    (void)ctx;
    return poll(fds, nfds, timeout_ms);
}

const struct mjd_v4l2_ops mjd_v4l2_sys_ops = {
    .ctx = NULL,
    .open = sys_open,
    .close = sys_close,
    .ioctl = sys_ioctl,
    .mmap = sys_mmap,
    .munmap = sys_munmap,
    .poll = sys_poll,
};

int mjd_v4l2_xioctl(const struct mjd_v4l2_ops *ops, int fd, unsigned long request, void *arg)
{
    int r;
    do {
        r = ops->ioctl(ops->ctx, fd, request, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -1 : 0;
}

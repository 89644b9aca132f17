// SPDX-License-Identifier: MIT
/* The systemd notification protocol (sd_notify), by hand: datagrams to $NOTIFY_SOCKET. */
#include "mjpegd/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills *sa from $NOTIFY_SOCKET; returns the address length, 0 when unset, or -errno. */
static int notify_address(struct sockaddr_un *sa)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    size_t n = strlen(path);
    if (path[0] != '/' && path[0] != '@') {
        return -EINVAL; // e.g. "vsock:...", which we do not speak
    }
    if (n < 2 || n > sizeof(sa->sun_path) - (path[0] == '/' ? 1 : 0)) {
        return -ENAMETOOLONG;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n);
    if (path[0] == '@') {
        sa->sun_path[0] = '\0'; // abstract namespace: the length, not a NUL, ends the name
    }
    return (int)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/' ? 1 : 0));
}

int mjd_notify_send(const char *state)
{
    struct sockaddr_un sa;
    int len = notify_address(&sa);
    if (len <= 0) {
        return len == 0 ? 1 : len;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    struct iovec iov = { .iov_base = (void *)(uintptr_t)state, .iov_len = strlen(state) };
    struct msghdr msg = {
        .msg_name = &sa,
        .msg_namelen = (socklen_t)len,
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };
    ssize_t w;
    do {
        w = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    int rc = w < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int64_t mjd_notify_watchdog_ns(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    if (usec == NULL || usec[0] < '0' || usec[0] > '9') {
        return 0;
    }
    const char *pid = getenv("WATCHDOG_PID");
    if (pid != NULL && pid[0] != '\0') {
        char *end = NULL;
        errno = 0;
        long long p = strtoll(pid, &end, 10);
        if (errno != 0 || *end != '\0' || p != (long long)getpid()) {
            return 0; // meant for another process (e.g. a wrapper that started us)
        }
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(usec, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > (unsigned long long)INT64_MAX / 1000) {
        return 0;
    }
    return (int64_t)v * 1000;
}

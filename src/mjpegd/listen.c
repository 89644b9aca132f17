// SPDX-License-Identifier: MIT
/* Listening addresses: resolving --listen, probing the port, opening the per-loop sockets. */
#include "mjpegd/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

int mjd_listen_open(const struct mjd_listen_addr *a, int *fd)
{
    *fd = -1;
    int s = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return -errno;
    }
    int one = 1;
    int rc = 0;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        rc = -errno;
        goto fail;
    }
    if (a->ss.ss_family == AF_INET6) {
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(s, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(s, SOMAXCONN) != 0) {
        rc = -errno;
        goto fail;
    }
    *fd = s;
    return 0;
fail:
    close(s);
    return rc;
}

/* Resolves one --listen entry (its first address) into *a and probes its port. */
static int resolve_one(const struct mjd_listen_config *lc, struct mjd_listen_addr *a)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(lc->host, lc->port, &hints, &res);
    if (gai != 0) {
        LOG_ERROR("cannot resolve %s: %s", lc->host, gai_strerror(gai));
        return -EINVAL;
    }
    memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
    a->len = res->ai_addrlen;
    freeaddrinfo(res);
    // SO_REUSEPORT would let us share a port another process of ours holds: probe it first
    // with a plain bind, which also picks the port when port 0 was asked for.
    int probe = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    socklen_t sl = sizeof(a->ss);
    if (probe < 0 || setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(probe, (struct sockaddr *)&a->ss, a->len) != 0 ||
        getsockname(probe, (struct sockaddr *)&a->ss, &sl) != 0) {
        int rc = -errno;
        LOG_ERROR("cannot listen on %s:%s: %s", lc->host, lc->port, strerror(-rc));
        if (probe >= 0) {
            close(probe);
        }
        return rc;
    }
    close(probe);
    return 0;
}

int mjd_listen_resolve(const struct mjd_config *cfg, struct mjd_listen_addr *out, size_t cap,
                       size_t *n)
{
    *n = 0;
    for (unsigned i = 0; i < cfg->nlisten; i++) {
        if (*n == cap) {
            LOG_ERROR("more than %zu listening addresses", cap);
            return -ENOSPC;
        }
        int rc = resolve_one(&cfg->listen[i], &out[*n]);
        if (rc != 0) {
            return rc;
        }
        (*n)++;
    }
    return 0;
}

void mjd_listen_format(const struct mjd_listen_addr *a, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&a->ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, cap, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&a->ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, cap, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    }
}

// SPDX-License-Identifier: MIT
/* Listening addresses: resolving --listen, probing the port, opening the per-loop sockets. */
#include "mjpegd/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* The IPv6 wildcard [::] is dual-stack (IPv4 too, as ::ffff:a.b.c.d); any other is IPv6 only. */
static int v6only(const struct mjd_listen_addr *a)
{
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&a->ss;
    return IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ? 0 : 1;
}

/* A socket for a, bound (SO_REUSEPORT for the loops' sockets, not for the probe). */
static int bind_socket(const struct mjd_listen_addr *a, bool reuseport, int flags, int *fd)
{
    *fd = -1;
    int s = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (s < 0) {
        return -errno;
    }
    int one = 1;
    int rc = 0;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)) {
        rc = -errno;
        goto fail;
    }
    if (a->ss.ss_family == AF_INET6) {
        int only = v6only(a);
        if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only)) != 0) {
            rc = -errno;
            goto fail;
        }
    }
    if (bind(s, (const struct sockaddr *)&a->ss, a->len) != 0) {
        rc = -errno;
        goto fail;
    }
    *fd = s;
    return 0;
fail:
    close(s);
    return rc;
}

int mjd_listen_open(const struct mjd_listen_addr *a, int *fd)
{
    int rc = bind_socket(a, true, SOCK_NONBLOCK, fd);
    if (rc == 0 && listen(*fd, SOMAXCONN) != 0) {
        rc = -errno;
        close(*fd);
        *fd = -1;
    }
    return rc;
}

static uint16_t get_port(const struct mjd_listen_addr *a)
{
    if (a->ss.ss_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_port);
    }
    return ntohs(((const struct sockaddr_in *)(const void *)&a->ss)->sin_port);
}

static void set_port(struct mjd_listen_addr *a, uint16_t port)
{
    if (a->ss.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)(void *)&a->ss)->sin6_port = htons(port);
    } else {
        ((struct sockaddr_in *)(void *)&a->ss)->sin_port = htons(port);
    }
}

static bool same_addr(const struct mjd_listen_addr *a, const struct mjd_listen_addr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/*
 * Probes a with a plain bind (no SO_REUSEPORT), which fails when anything holds the port and
 * picks one for port 0; the probe socket stays open in *probe until every address is probed,
 * so that two addresses cannot be given the same port twice.
 */
static int probe_addr(struct mjd_listen_addr *a, int *probe)
{
    int rc = bind_socket(a, false, 0, probe);
    if (rc != 0) {
        return rc;
    }
    socklen_t sl = sizeof(a->ss);
    if (getsockname(*probe, (struct sockaddr *)&a->ss, &sl) != 0) {
        return -errno;
    }
    a->len = sl;
    return 0;
}

/*
 * Every address one --listen entry resolves to (a name such as localhost may give IPv4 and
 * IPv6 ones), appended to out[*n..cap) and probed. With port 0, the first address picks the
 * port and the others of the same entry get it too.
 */
static int resolve_entry(const struct mjd_listen_config *lc, struct mjd_listen_addr *out,
                         int *probes, size_t cap, size_t *n)
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
    int rc = 0;
    size_t first = *n;
    size_t bound = 0;
    for (const struct addrinfo *ai = res; ai != NULL && rc == 0; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(out[0].ss)) {
            continue;
        }
        struct mjd_listen_addr a;
        memset(&a, 0, sizeof(a));
        memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
        a.len = ai->ai_addrlen;
        if (bound > 0 && get_port(&a) == 0) {
            set_port(&a, get_port(&out[first]));
        }
        bool dup = false;
        for (size_t i = 0; i < *n && !dup; i++) {
            dup = same_addr(&out[i], &a);
        }
        if (dup) {
            continue;
        }
        if (*n == cap) {
            LOG_ERROR("more than %zu listening addresses", cap);
            rc = -ENOSPC;
            break;
        }
        int prc = probe_addr(&a, &probes[*n]);
        char text[80];
        mjd_listen_format(&a, text, sizeof(text));
        if (prc == -EADDRNOTAVAIL || prc == -EAFNOSUPPORT) {
            // A name may resolve to an address this host does not have (::1 without IPv6).
            LOG_WARN("not listening on %s (from %s): %s", text, lc->host, strerror(-prc));
            if (probes[*n] >= 0) {
                close(probes[*n]);
                probes[*n] = -1;
            }
            continue;
        }
        if (prc != 0) {
            LOG_ERROR("cannot listen on %s (from %s): %s", text, lc->host, strerror(-prc));
            rc = prc;
            break;
        }
        out[(*n)++] = a;
        bound++;
    }
    freeaddrinfo(res);
    if (rc == 0 && bound == 0) {
        LOG_ERROR("cannot listen on %s:%s: no usable address", lc->host, lc->port);
        rc = -EADDRNOTAVAIL;
    }
    return rc;
}

int mjd_listen_resolve(const struct mjd_config *cfg, struct mjd_listen_addr *out, size_t cap,
                       size_t *n)
{
    int probes[MJD_LISTEN_MAX_ADDRS];
    for (size_t i = 0; i < MJD_LISTEN_MAX_ADDRS; i++) {
        probes[i] = -1;
    }
    *n = 0;
    cap = cap < MJD_LISTEN_MAX_ADDRS ? cap : MJD_LISTEN_MAX_ADDRS;
    int rc = 0;
    for (unsigned i = 0; i < cfg->nlisten && rc == 0; i++) {
        rc = resolve_entry(&cfg->listen[i], out, probes, cap, n);
    }
    // The probes are closed before the loops bind (a tiny race window, accepted).
    for (size_t i = 0; i < MJD_LISTEN_MAX_ADDRS; i++) {
        if (probes[i] >= 0) {
            close(probes[i]);
        }
    }
    if (rc != 0) {
        *n = 0;
    }
    return rc;
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

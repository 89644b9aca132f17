// SPDX-License-Identifier: MIT
/* Listening addresses: resolving --listen, probing the port, opening the per-loop sockets. */
#ifndef MJD_LISTEN_H
#define MJD_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "mjpegd/config.h"

/** Most addresses the server listens on (each --listen may resolve to several). */
#define MJD_LISTEN_MAX_ADDRS 16

/** One address to listen on, with its port fixed (never 0 once resolved). */
struct mjd_listen_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/**
 * Resolves the --listen options of cfg (borrowed) into out[0..cap), setting *n: every address
 * each one resolves to (a name may give several; one the host does not have, such as ::1
 * without IPv6, is skipped with a warning if another is left), without duplicates. The port
 * of each address is probed with a plain bind (without SO_REUSEPORT), which fails when
 * anything holds it and picks a port for port 0 (the same one for every address of one
 * option). Logs the reason and returns a negative errno on failure. Owner thread.
 */
int mjd_listen_resolve(const struct mjd_config *cfg, struct mjd_listen_addr *out, size_t cap,
                       size_t *n) CORE_MUST_CHECK;

/**
 * Opens a non-blocking SO_REUSEPORT listening socket on a (borrowed), for one loop: 0 and the
 * fd in *fd, or a negative errno (*fd is -1). The IPv6 wildcard [::] is dual-stack (it takes
 * IPv4 connections too); any other IPv6 address is IPv6 only. Any thread.
 */
int mjd_listen_open(const struct mjd_listen_addr *a, int *fd) CORE_MUST_CHECK;

/** Formats a as "HOST:PORT" ("[v6]:PORT" for IPv6) into buf (capacity cap). */
void mjd_listen_format(const struct mjd_listen_addr *a, char *buf, size_t cap);

#endif

// SPDX-License-Identifier: MIT
/* The HTTP side: listening sockets and the network worker loops that own every client. */
#ifndef MJD_SERVER_H
#define MJD_SERVER_H

#include <stddef.h>

#include "core/compiler.h"
#include "mjpegd/config.h"
#include "mjpegd/hub.h"
#include "mjpegd/sources/source.h"

/*
 * --workers threads ("net/0", "net/1"...), each an epoll loop with its own SO_REUSEPORT
 * listening socket, its own clients and its own eventfd, which the hub writes on every new
 * frame. Clients never move between loops. create/start/stop/destroy belong to the owner
 * (main) thread.
 */
struct mjd_server;

/**
 * Binds the listening sockets and registers the loops' eventfds with hub. Borrows cfg, hub
 * and info (they outlive the server). Does not start threads. *out is NULL on failure.
 */
int mjd_server_create(struct mjd_server **out, const struct mjd_config *cfg, struct mjd_hub *hub,
                      const struct mjd_source_info *info) CORE_MUST_CHECK;

/** Starts the worker threads. 0 or a negative errno (the started ones are stopped). */
int mjd_server_start(struct mjd_server *srv) CORE_MUST_CHECK;

/** The bound address as "HOST:PORT" ("[::1]:PORT" for IPv6), for the startup log line. */
void mjd_server_address(const struct mjd_server *srv, char *buf, size_t cap);

/** Stops accepting, closes every client and joins the workers. Idempotent. Owner thread. */
void mjd_server_stop(struct mjd_server *srv);

/** Stops if needed and frees. Accepts NULL. Owner thread. */
void mjd_server_destroy(struct mjd_server *srv);

#endif

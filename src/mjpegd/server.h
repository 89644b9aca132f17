// SPDX-License-Identifier: MIT
/* The HTTP server: the listening addresses and the network loops that own every client. */
#ifndef MJD_SERVER_H
#define MJD_SERVER_H

#include <stddef.h>

#include "core/compiler.h"
#include "mjpegd/config.h"
#include "mjpegd/demand.h"
#include "mjpegd/hub.h"
#include "mjpegd/record/recorder.h"
#include "mjpegd/sources/source.h"

/*
 * --workers loops ("net/0", "net/1"...), each an epoll thread with its own SO_REUSEPORT
 * listening socket per address, its own clients and its own eventfd, which every hub writes
 * on each new frame. Clients never move between loops. create/start/stop/destroy belong to
 * the owner (main) thread.
 */
struct mjd_server;

/** One source as the server serves it: source index i of the array is /i/... (0: plain URLs). */
struct mjd_server_source {
    struct mjd_hub *hub;                  /* thread-safe; outlives the server */
    const struct mjd_source_info *info;   /* immutable; outlives the server */
    const struct mjd_source_config *conf; /* immutable; outlives the server */
    struct mjd_demand *demand;            /* thread-safe; outlives the server; may be NULL */
    struct mjd_recorder *recorder;        /* --record: stats are thread-safe; outlives the
                                             server; NULL when the source is not recorded */
};

/**
 * Binds the listening sockets and registers the loops' eventfds with every hub. Borrows cfg;
 * copies sources[0..nsources) (whose hubs and infos outlive the server). Does not start
 * threads. *out is NULL on failure.
 */
int mjd_server_create(struct mjd_server **out, const struct mjd_config *cfg,
                      const struct mjd_server_source *sources, size_t nsources) CORE_MUST_CHECK;

/** Starts the loop threads. 0 or a negative errno (the started ones are stopped). */
int mjd_server_start(struct mjd_server *srv) CORE_MUST_CHECK;

/** How many addresses the server listens on (>= 1). */
size_t mjd_server_address_count(const struct mjd_server *srv);

/** Bound address i as "HOST:PORT" ("[::1]:PORT" for IPv6), for the startup log lines. */
void mjd_server_address(const struct mjd_server *srv, size_t i, char *buf, size_t cap);

/** Stops accepting, closes every client and joins the loops. Idempotent. Owner thread. */
void mjd_server_stop(struct mjd_server *srv);

/** Stops if needed and frees. Accepts NULL. Owner thread. */
void mjd_server_destroy(struct mjd_server *srv);

#endif

// SPDX-License-Identifier: MIT
/* The server's configuration: filled from the command line, then read-only and shared. */
#ifndef MJD_CONFIG_H
#define MJD_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "core/log.h"

#define MJD_DEFAULT_QUALITY     75
#define MJD_DEFAULT_MAX_PENDING 1024
#define MJD_MAX_WORKERS         64

/* Filled once by mjd_config_parse in main, immutable afterwards: any thread may read it. */
struct mjd_config {
    char source[256]; /* --source spec */
    unsigned width;   /* --size */
    unsigned height;
    unsigned fps;                /* --fps, target rate */
    int quality;                 /* --quality */
    char listen_host[256];       /* --listen host part, without brackets */
    char listen_port[16];        /* --listen port part ("0" for an ephemeral port) */
    unsigned workers;            /* --workers, network loops */
    unsigned encoders;           /* --encoders, encoder threads */
    unsigned max_clients;        /* --max-clients, streaming clients */
    unsigned max_clients_per_ip; /* --max-clients-per-ip, 0 = no limit */
    unsigned max_pending;        /* --max-pending, connections without a full request head */
    char auth[256];              /* --auth "user:pass", empty when off */
    int64_t header_timeout_ns;   /* --header-timeout */
    int64_t send_timeout_ns;     /* --send-timeout */
    enum core_log_level log_level;
    enum core_log_format log_format; /* --log-format */
};

enum mjd_config_result {
    MJD_CONFIG_RUN = 0,  /* start the server */
    MJD_CONFIG_EXIT = 1, /* --help or --version was printed: exit 0 */
    MJD_CONFIG_USAGE = 2 /* a usage error was printed to err: exit 2 */
};

/** Sets the defaults (test source, 1280x720, 30 fps, 127.0.0.1:8080, workers = cores...). */
void mjd_config_defaults(struct mjd_config *cfg);

/**
 * Parses argv (borrowed) on top of the defaults. Help and version go to out, errors to err.
 * Not thread-safe (main thread, once).
 */
enum mjd_config_result mjd_config_parse(struct mjd_config *cfg, int argc, char **argv, FILE *out,
                                        FILE *err);

#endif

// SPDX-License-Identifier: MIT
/* The server's configuration: filled from the command line, then read-only and shared. */
#ifndef MJD_CONFIG_H
#define MJD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"

#define MJD_DEFAULT_QUALITY     75
#define MJD_DEFAULT_MAX_PENDING 1024
#define MJD_MAX_WORKERS         64
/* Most --source options (one capture thread and one hub each). */
#define MJD_MAX_SOURCES 16
/* Most --listen options. */
#define MJD_MAX_LISTEN 8
/* Most --recordings options. */
#define MJD_MAX_RECORDINGS        16
#define MJD_DEFAULT_MAX_PLAYBACKS 8

/* What one --source captures, with the options that follow it (or the defaults). */
struct mjd_source_config {
    char spec[256];  /* --source spec */
    char shown[256]; /* spec as the log and /state show it: a URL's password as "***" */
    unsigned width;  /* --size */
    unsigned height;
    unsigned fps;              /* --fps, target rate */
    unsigned quality;          /* --quality */
    int64_t on_demand_ns;      /* --on-demand, 0: always open */
    int64_t source_timeout_ns; /* --source-timeout: a self-paced source's stall, 0: off */
    unsigned drop_same;   /* --drop-same-frames: most identical frames skipped in a row, 0 = off */
    unsigned format;      /* --format: enum mjd_capture_format (sources/source.h), 0 = auto */
    unsigned flip;        /* --flip: MJD_FLIP_* bits (sources/source.h), 0 = as the camera is */
    char controls[512];   /* --control NAME=VALUE items joined by ',', "" for none */
    char record_dir[512]; /* --record DIR, "" when this source is not recorded */
    int64_t segment_ns;   /* --segment: the span of one segment archive */
    uint64_t keep_size;   /* --keep-size: most bytes of committed segments kept, 0 = no limit */
    unsigned keep_days;   /* --keep-days: segments older than this are deleted, 0 = kept */
    unsigned record_on;   /* --record-on: enum mjd_record_on */
    double motion_threshold; /* --motion-threshold: percent of changed blocks, 0 = not given */
    int64_t pre_roll_ns;     /* --pre-roll: frames kept from before motion started */
    int64_t post_roll_ns;    /* --post-roll: recorded after motion stopped */
};

/* --record-on: when a recorded source writes segments. */
enum mjd_record_on {
    MJD_RECORD_ALWAYS = 0, /* every frame */
    MJD_RECORD_MOTION = 1, /* only while motion is detected (plus pre- and post-roll) */
};

/* One --listen option. */
struct mjd_listen_config {
    char host[256]; /* host part, without brackets ("::" for all IPv6 and IPv4 addresses) */
    char port[16];  /* port part ("0" for an ephemeral port) */
};

/* --send: how stream parts reach the sockets (part_send.h). */
enum mjd_send_mode {
    MJD_SEND_MODE_AUTO = 0, /* the cheapest this machine allows (splice), falling back */
    MJD_SEND_MODE_SPLICE,
    MJD_SEND_MODE_SENDFILE,
    MJD_SEND_MODE_COPY,
};

/* Filled once by mjd_config_parse in main, immutable afterwards: any thread may read it. */
struct mjd_config {
    struct mjd_source_config sources[MJD_MAX_SOURCES]; /* [0..nsources) */
    unsigned nsources;                                 /* >= 1 after parsing */
    struct mjd_listen_config listen[MJD_MAX_LISTEN];   /* [0..nlisten) */
    unsigned nlisten;                                  /* >= 1 */
    unsigned workers;                                  /* --workers, network loops */
    unsigned encoders;                                 /* --encoders, encoder threads per source */
    unsigned max_clients;                              /* --max-clients, streaming clients */
    unsigned max_clients_per_ip;                       /* --max-clients-per-ip, 0 = no limit */
    unsigned max_pending;         /* --max-pending, connections without a full request head */
    char auth[256];               /* --auth or --auth-file "user:pass", empty when off */
    char allow_origin[256];       /* --allow-origin, empty when off */
    char log_file[1024];          /* --log-file, empty for stderr */
    int64_t header_timeout_ns;    /* --header-timeout */
    int64_t send_timeout_ns;      /* --send-timeout */
    int64_t snapshot_timeout_ns;  /* --snapshot-timeout: a parked snapshot's deadline */
    enum mjd_send_mode send_mode; /* --send */
    char recordings[MJD_MAX_RECORDINGS][1024]; /* --recordings DIR, [0..nrecordings) */
    unsigned nrecordings;
    unsigned max_playbacks; /* --max-playbacks: playbacks and listings at once */
    bool wait_for_source;   /* --wait-for-source: the only source may start down (retried) */
    enum core_log_level log_level;
    enum core_log_format log_format; /* --log-format */
};

enum mjd_config_result {
    MJD_CONFIG_RUN = 0,  /* start the server */
    MJD_CONFIG_EXIT = 1, /* --help, --dump-options or --version was printed: exit 0 */
    MJD_CONFIG_USAGE = 2 /* a usage error was printed to err: exit 2 */
};

/**
 * Sets the defaults (no source yet, 127.0.0.1:8080, workers = cores...). The source
 * defaults (test, 1280x720, 30 fps) are in mjd_config_source_defaults.
 */
void mjd_config_defaults(struct mjd_config *cfg);

/** The defaults of a source: test, 1280x720, 30 fps, quality 75. */
void mjd_config_source_defaults(struct mjd_source_config *src);

/**
 * Parses argv (borrowed) on top of the defaults, driven by the option table (options.h).
 * Options of a source (--size, --fps, --quality) apply to the --source they follow; before
 * any --source they set the defaults of every source. Without --source, one test source.
 * The first --listen replaces the default address, each further one adds an address. Help
 * and version go to out, errors to err; an error never repeats a secret value (--auth).
 * Not thread-safe (main thread, once).
 */
enum mjd_config_result mjd_config_parse(struct mjd_config *cfg, int argc, char **argv, FILE *out,
                                        FILE *err);

/**
 * Overwrites the values of secret options (--auth) in argv, so that they do not show in ps.
 * Call after mjd_config_parse, with the process's own argv. Not thread-safe.
 */
void mjd_config_scrub_argv(int argc, char **argv);

#endif

// SPDX-License-Identifier: MIT
/* The HTTP server: the listening addresses and the network loops that own every client. */
#include "mjpegd/server.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/version.h"
#include "mjpegd/limits.h"
#include "mjpegd/listen.h"
#include "mjpegd/loop.h"
#include "mjpegd/part.h"
#include "mjpegd/pending.h"
#include "mjpegd/playback.h"
#include "mjpegd/report.h"

struct mjd_server {
    struct mjd_loop_shared shared;                      /* read-only once the loops start */
    struct mjd_server_source *sources;                  /* immutable array of shared.nsources */
    struct mjd_loop *loops;                             /* array of nloops */
    unsigned nloops;                                    /* immutable */
    struct mjd_listen_addr addrs[MJD_LISTEN_MAX_ADDRS]; /* immutable after create */
    size_t naddrs;                                      /* immutable after create */
    int64_t start_ns;                                   /* immutable */
    bool stopped;                                       /* owner thread only */
};

_Static_assert(MJD_REPORT_MAX_SOURCES >= MJD_MAX_SOURCES, "a report holds every source");

/* The report of /state and /metrics: called by any loop. */
static void gather_report(void *ctx, struct mjd_report *r)
{
    struct mjd_server *srv = ctx;
    memset(r, 0, sizeof(*r));
    r->version = CORE_VERSION;
    r->nsources = CORE_MIN(srv->shared.nsources, (size_t)MJD_REPORT_MAX_SOURCES);
    for (size_t i = 0; i < r->nsources; i++) {
        const struct mjd_server_source *src = &srv->sources[i];
        struct mjd_report_source *rs = &r->sources[i];
        struct mjd_hub_stats hs;
        mjd_hub_get_stats(src->hub, &hs);
        rs->kind = src->info->kind;
        rs->spec = src->conf->shown; // never a relay URL's password
        rs->clients = src->demand != NULL ? mjd_demand_clients(src->demand) : 0;
        rs->last_error = NULL;
        rs->up = true;
        enum mjd_demand_state ds =
                src->demand != NULL ? mjd_demand_state(src->demand) : MJD_DEMAND_ACTIVE;
        int err = src->demand != NULL ? mjd_demand_last_error(src->demand) : 0;
        if (err != 0) {
            rs->last_error = strerror(err); // glibc: a static string for every errno it knows
        }
        if (err == ETIMEDOUT && src->conf->source_timeout_ns > 0) {
            // capture.c's stall (--source-timeout) is the one ETIMEDOUT it reports itself.
            snprintf(rs->last_error_buf, sizeof(rs->last_error_buf), "no frame for %g s",
                     (double)src->conf->source_timeout_ns / 1e9);
            rs->last_error = rs->last_error_buf;
        }
        rs->restarts = src->demand != NULL ? mjd_demand_restarts(src->demand) : 0;
        if (ds == MJD_DEMAND_IDLE) {
            rs->status = "idle";
        } else if (ds == MJD_DEMAND_ENDED) {
            rs->status = "ended";
            rs->last_error = "end of input";
            rs->up = false;
        } else if (ds == MJD_DEMAND_RETRYING) {
            rs->status = "retrying";
            rs->up = false;
        } else {
            rs->status = hs.published > 0 ? "ok" : "starting";
        }
        rs->width = src->info->width;
        rs->height = src->info->height;
        if (src->demand != NULL) {
            // Opened after start-up (--wait-for-source, several sources): the size it opened at.
            (void)mjd_demand_size(src->demand, &rs->width, &rs->height);
        }
        rs->fps = hs.fps;
        rs->target_fps = src->conf->fps;
        rs->quality = (int)src->conf->quality;
        rs->flip = src->conf->flip != 0 && src->demand != NULL ? mjd_demand_flip_name(src->demand)
                                                               : "none";
        rs->frames_captured = hs.captured;
        rs->frames_published = hs.published;
        memcpy(rs->frames_dropped, hs.dropped_by, sizeof(rs->frames_dropped));
        rs->frames_in_flight = hs.in_flight;
        rs->frames_skipped = hs.skipped;
        rs->last_frame_age =
                hs.last_publish_ns > 0 ? (double)(core_now_ns() - hs.last_publish_ns) / 1e9 : -1.0;
        rs->recorded = src->recorder != NULL;
        if (rs->recorded) {
            mjd_recorder_get_stats(src->recorder, &rs->rec);
        }
    }
    r->clients = mjd_limits_streaming(srv->shared.limits);
    r->clients_total = mjd_limits_total(srv->shared.limits);
    for (unsigned i = 0; i < srv->nloops; i++) {
        r->bytes_sent += mjd_loop_bytes_sent(&srv->loops[i]);
        mjd_loop_send_stats(&srv->loops[i], &r->send_stats);
    }
    // The path streams start on: splice only while every loop still has its pipes.
    bool splicing = srv->nloops > 0;
    for (unsigned i = 0; i < srv->nloops; i++) {
        splicing = splicing && mjd_loop_can_splice(&srv->loops[i]);
    }
    enum mjd_send_mode mode = srv->shared.cfg->send_mode;
    r->send_path = mode == MJD_SEND_MODE_COPY       ? "copy"
                   : mode == MJD_SEND_MODE_SENDFILE ? "sendfile"
                   : splicing                       ? "splice"
                                                    : "sendfile";
    r->pending = mjd_pending_set_count(srv->shared.pending);
    for (unsigned i = 0; i < srv->nloops; i++) {
        mjd_loop_snapshot_stats(&srv->loops[i], &r->snapshots_waiting, &r->snapshot_timeouts);
    }
    if (srv->shared.playback != NULL) {
        r->playbacks = mjd_playback_active(srv->shared.playback);
        r->playbacks_max = mjd_playback_max(srv->shared.playback);
        r->playbacks_refused = mjd_playback_refused(srv->shared.playback);
    }
    r->uptime = (double)(core_now_ns() - srv->start_ns) / 1e9;
}

int mjd_server_create(struct mjd_server **out, const struct mjd_config *cfg,
                      const struct mjd_server_source *sources, size_t nsources)
{
    *out = NULL;
    if (nsources == 0) {
        return -EINVAL;
    }
    struct mjd_server *srv = core_xcalloc(1, sizeof(*srv));
    srv->sources = core_xcalloc(nsources, sizeof(*srv->sources));
    memcpy(srv->sources, sources, nsources * sizeof(*sources));
    srv->shared.cfg = cfg;
    srv->shared.sources = srv->sources;
    srv->shared.nsources = nsources;
    srv->shared.report = gather_report;
    srv->shared.report_ctx = srv;
    atomic_init(&srv->shared.stop, false);
    srv->nloops = cfg->workers;
    srv->start_ns = core_now_ns();
    srv->stopped = true;
    int rc = mjd_limits_create(&srv->shared.limits, cfg->max_clients, cfg->max_clients_per_ip);
    if (rc == 0) {
        rc = mjd_pending_set_create(&srv->shared.pending, cfg->max_pending, cfg->header_timeout_ns);
    }
    if (rc == 0) {
        rc = mjd_playback_create(&srv->shared.playback, cfg);
    }
    if (rc == 0) {
        rc = mjd_listen_resolve(cfg, srv->addrs, MJD_LISTEN_MAX_ADDRS, &srv->naddrs);
    }
    if (rc != 0) {
        goto fail;
    }
    srv->loops = core_xcalloc(srv->nloops, sizeof(*srv->loops));
    for (unsigned i = 0; i < srv->nloops; i++) {
        struct mjd_loop *l = &srv->loops[i];
        rc = mjd_loop_init(l, &srv->shared, i, srv->addrs, srv->naddrs);
        for (size_t s = 0; rc == 0 && s < nsources; s++) {
            mjd_hub_set_part_flags(sources[s].hub,
                                   cfg->send_mode == MJD_SEND_MODE_COPY ? MJD_PART_NO_MEMFD : 0);
            rc = mjd_hub_add_waker(sources[s].hub, l->efd);
        }
        if (rc != 0) {
            // The loops before this one are set up; this one is partly: release them all.
            srv->nloops = i + 1;
            goto fail;
        }
    }
    *out = srv;
    return 0;
fail:
    mjd_server_destroy(srv);
    return rc;
}

int mjd_server_start(struct mjd_server *srv)
{
    srv->stopped = false;
    for (unsigned i = 0; i < srv->nloops; i++) {
        int rc = mjd_loop_start(&srv->loops[i]);
        if (rc != 0) {
            mjd_server_stop(srv);
            return rc;
        }
    }
    return 0;
}

size_t mjd_server_address_count(const struct mjd_server *srv)
{
    return srv->naddrs;
}

void mjd_server_address(const struct mjd_server *srv, size_t i, char *buf, size_t cap)
{
    if (i >= srv->naddrs) {
        snprintf(buf, cap, "?");
        return;
    }
    mjd_listen_format(&srv->addrs[i], buf, cap);
}

void mjd_server_stop(struct mjd_server *srv)
{
    if (srv->stopped) {
        return;
    }
    srv->stopped = true;
    atomic_store(&srv->shared.stop, true);
    for (unsigned i = 0; i < srv->nloops; i++) {
        mjd_loop_join(&srv->loops[i]);
    }
    // The loops have ended every playback; the readers still write to their eventfds, which
    // stay open until mjd_loop_release.
    mjd_playback_stop(srv->shared.playback);
}

void mjd_server_destroy(struct mjd_server *srv)
{
    if (srv == NULL) {
        return;
    }
    mjd_server_stop(srv);
    if (srv->loops != NULL) {
        for (unsigned i = 0; i < srv->nloops; i++) {
            mjd_loop_release(&srv->loops[i]);
        }
    }
    mjd_playback_destroy(srv->shared.playback);
    mjd_pending_set_destroy(srv->shared.pending);
    mjd_limits_destroy(srv->shared.limits);
    free(srv->loops);
    free(srv->sources);
    free(srv);
}

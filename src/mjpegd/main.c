// SPDX-License-Identifier: MIT
/* mjpegd: parses options and wires the server together. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/config.h"
#include "mjpegd/feed.h"
#include "mjpegd/hub.h"
#include "mjpegd/logfile.h"
#include "mjpegd/notify.h"
#include "mjpegd/record/failpoint.h"
#include "mjpegd/record/recorder.h"
#include "mjpegd/server.h"
#include "mjpegd/watchdog.h"

/* Many clients need many fds: use the hard limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* SIGHUP: reopen the log file (logrotate moved it away); without one, only say so. */
static void reopen_log(const char *path)
{
    if (path[0] == '\0') {
        LOG_INFO("SIGHUP: no --log-file to reopen");
        return;
    }
    int rc = mjd_logfile_open(path);
    if (rc != 0) {
        LOG_ERROR("SIGHUP: cannot reopen the log file %s: %s; still logging to the old one", path,
                  strerror(-rc));
        return;
    }
    LOG_INFO("SIGHUP: reopened the log file %s", path);
}

/* Tells a service manager (Type=notify) that we serve; a no-op outside systemd. */
static void notify_ready(const char *addrs)
{
    char msg[1200];
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=listening on %s", addrs);
    int rc = mjd_notify_send(msg);
    if (rc < 0) {
        LOG_WARN("cannot notify the service manager: %s", strerror(-rc));
    }
}

int main(int argc, char **argv)
{
    struct mjd_config cfg;
    mjd_config_defaults(&cfg);
    enum mjd_config_result cr = mjd_config_parse(&cfg, argc, argv, stdout, stderr);
    if (cr == MJD_CONFIG_EXIT) {
        return 0;
    }
    if (cr == MJD_CONFIG_USAGE) {
        return 2;
    }
    mjd_config_scrub_argv(argc, argv);
    if (mjd_rec_failpoint_init() != 0) { // a test hook (docs/RECORDING.md)
        return 2;
    }
    core_log_set_ident("mjpegd");
    core_log_set_level(cfg.log_level);
    core_log_set_format(cfg.log_format);
    if (cfg.log_file[0] != '\0') {
        int lrc = mjd_logfile_open(cfg.log_file);
        if (lrc != 0) {
            LOG_ERROR("cannot open the log file %s: %s", cfg.log_file, strerror(-lrc));
            return 1;
        }
    }
    raise_fd_limit();

    // Only this thread takes SIGINT/SIGTERM/SIGHUP (core_thread_start blocks them in the
    // others), and it takes them synchronously with sigwait; SIGPIPE is never wanted
    // (MSG_NOSIGNAL anyway).
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    struct mjd_server *server = NULL;
    struct mjd_watchdog *watchdog = NULL;
    static struct mjd_feed feeds[MJD_MAX_SOURCES]; // static: a few KiB, zeroed
    struct mjd_server_source served[MJD_MAX_SOURCES];
    struct mjd_recorder *recorders[MJD_MAX_SOURCES] = { 0 };
    unsigned nfeeds = 0;
    int rc = 0;

    for (unsigned i = 0; i < cfg.nsources; i++) {
        if (cfg.sources[i].record_dir[0] != '\0' && cfg.sources[i].on_demand_ns > 0) {
            // The recorder watches the source all the time: it never sleeps.
            LOG_WARN("source %u: --on-demand is ignored for a source that is recorded (--record)",
                     i);
            cfg.sources[i].on_demand_ns = 0;
        }
        // Several sources: one that cannot be opened is retried while the others serve; with
        // --wait-for-source, the only one is retried too (the server listens meanwhile).
        rc = mjd_feed_open(&feeds[i], &cfg.sources[i], cfg.nsources > 1 || cfg.wait_for_source);
        nfeeds = i + 1;
        if (rc != 0) {
            goto out;
        }
        if (cfg.sources[i].record_dir[0] != '\0') {
            // Before any publish: the recorder registers its eventfd with the hub.
            rc = mjd_recorder_create(&recorders[i], &cfg.sources[i], i, feeds[i].hub);
            if (rc != 0) {
                goto out;
            }
        }
        served[i] = (struct mjd_server_source){ .hub = feeds[i].hub,
                                                .info = &feeds[i].info,
                                                .conf = &cfg.sources[i],
                                                .demand = &feeds[i].demand,
                                                .recorder = recorders[i] };
    }
    rc = mjd_server_create(&server, &cfg, served, nfeeds);
    if (rc != 0) {
        goto out;
    }
    for (unsigned i = 0; i < nfeeds; i++) {
        if (recorders[i] != NULL) {
            rc = mjd_recorder_start(recorders[i]);
            if (rc != 0) {
                LOG_ERROR("cannot start the recorder of source %u: %s", i, strerror(-rc));
                goto out;
            }
        }
    }
    for (unsigned i = 0; i < nfeeds; i++) {
        rc = mjd_feed_start(&feeds[i], cfg.encoders, nfeeds == 1);
        if (rc != 0) {
            goto out;
        }
    }
    rc = mjd_server_start(server);
    if (rc != 0) {
        LOG_ERROR("cannot start the network workers: %s", strerror(-rc));
        goto out;
    }
    // Announce only once a frame exists, so the first /snapshot always has one.
    int64_t first_deadline = core_now_ns() + 5 * CORE_NS_PER_SEC;
    for (unsigned i = 0; i < nfeeds; i++) {
        if (mjd_hub_wait_first(feeds[i].hub, first_deadline) != 0) {
            LOG_WARN("no frame from source %u ('%s') yet", i, cfg.sources[i].shown);
        }
    }
    char addrs[1024] = "";
    size_t alen = 0;
    for (size_t i = 0; i < mjd_server_address_count(server); i++) {
        char addr[128];
        mjd_server_address(server, i, addr, sizeof(addr));
        LOG_INFO("listening on %s", addr);
        int n = snprintf(addrs + alen, sizeof(addrs) - alen, "%s%s", i > 0 ? ", " : "", addr);
        if (n > 0 && (size_t)n < sizeof(addrs) - alen) {
            alen += (size_t)n;
        }
    }
    notify_ready(addrs);
    rc = mjd_watchdog_start(&watchdog, feeds[0].hub, &feeds[0].demand, mjd_notify_watchdog_ns());
    if (rc != 0) {
        LOG_WARN("cannot start the watchdog thread: %s", strerror(-rc));
    }

    int sig = 0;
    for (;;) {
        if (sigwait(&sigs, &sig) != 0) {
            continue;
        }
        if (sig != SIGHUP) {
            break;
        }
        reopen_log(cfg.log_file);
    }
    LOG_INFO("caught signal %d, shutting down", sig);
    (void)mjd_notify_send("STOPPING=1");
    status = 0;
out:
    mjd_watchdog_stop(watchdog);
    // Captures first, so nothing publishes into the loops' eventfds while they close.
    for (unsigned i = 0; i < nfeeds; i++) {
        mjd_feed_stop(&feeds[i]);
    }
    // Then the recorders: they write what is queued and commit their open segments.
    for (unsigned i = 0; i < nfeeds; i++) {
        mjd_recorder_stop(recorders[i]);
    }
    mjd_server_destroy(server);
    for (unsigned i = 0; i < nfeeds; i++) {
        mjd_feed_close(&feeds[i]);
        mjd_recorder_destroy(recorders[i]);
    }
    return status;
}

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
#include "mjpegd/capture.h"
#include "mjpegd/config.h"
#include "mjpegd/hub.h"
#include "mjpegd/logfile.h"
#include "mjpegd/notify.h"
#include "mjpegd/server.h"
#include "mjpegd/sources/source.h"
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
    struct mjd_hub *hub = NULL;
    struct mjd_source *source = NULL;
    struct mjd_server *server = NULL;
    struct mjd_capture *capture = NULL;
    struct mjd_watchdog *watchdog = NULL;
    const struct mjd_source_config *sc = &cfg.sources[0];
    struct mjd_source_params sp = { .width = sc->width, .height = sc->height, .fps = sc->fps };
    struct mjd_source_info info;
    struct mjd_source_status status_rec; /* the source's health; outlives capture and server */
    bool have_status = false;

    int rc = mjd_hub_create(&hub);
    if (rc != 0) {
        LOG_ERROR("cannot create the frame hub: %s", strerror(-rc));
        goto out;
    }
    rc = mjd_source_create(&source, sc->spec, &sp);
    if (rc != 0) {
        LOG_ERROR("cannot open source '%s': %s", sc->spec, strerror(-rc));
        goto out;
    }
    info = *mjd_source_get_info(source);
    rc = mjd_source_status_init(&status_rec);
    if (rc != 0) {
        goto out;
    }
    have_status = true;
    struct mjd_server_source served = {
        .hub = hub, .info = &info, .conf = sc, .status = &status_rec
    };
    rc = mjd_server_create(&server, &cfg, &served, 1);
    if (rc != 0) {
        goto out;
    }
    struct mjd_capture_config cc = {
        .source = source,
        .hub = hub,
        .fps = sc->fps,
        .quality = (int)sc->quality,
        .encoder_threads = cfg.encoders,
        .spec = sc->spec,
        .params = sp,
        .status = &status_rec,
        .drop_same = sc->drop_same,
    };
    rc = mjd_capture_start(&capture, &cc);
    source = cc.source; // NULL once the capture owns it
    if (rc != 0) {
        LOG_ERROR("cannot start capture: %s", strerror(-rc));
        goto out;
    }
    rc = mjd_server_start(server);
    if (rc != 0) {
        LOG_ERROR("cannot start the network workers: %s", strerror(-rc));
        goto out;
    }
    // Announce only once a frame exists, so the first /snapshot always has one.
    if (mjd_hub_wait_first(hub, core_now_ns() + 5 * CORE_NS_PER_SEC) != 0) {
        LOG_WARN("no frame from the source yet");
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
    rc = mjd_watchdog_start(&watchdog, hub, mjd_notify_watchdog_ns());
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
    // Capture first, so nothing publishes into the loops' eventfds while they close.
    mjd_capture_stop(capture);
    mjd_server_destroy(server);
    mjd_source_destroy(source);
    mjd_hub_destroy(hub);
    if (have_status) {
        mjd_source_status_destroy(&status_rec);
    }
    return status;
}

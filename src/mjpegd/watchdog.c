// SPDX-License-Identifier: MIT
/* Feeds the service manager's watchdog while frames are being published. */
#include "mjpegd/watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "core/thread.h"
#include "mjpegd/demand.h"
#include "mjpegd/hub.h"
#include "mjpegd/notify.h"

struct mjd_watchdog {
    struct mjd_hub *hub;       /* borrowed */
    struct mjd_demand *demand; /* borrowed, may be NULL */
    int64_t tick_ns;           /* period / 2; immutable */
    struct core_event *stop;
    pthread_t thread;
    atomic_uint_fast64_t ticks; /* atomic */
    atomic_uint_fast64_t pings; /* atomic */
};

/* Frames the hub has published so far: a change means a new frame. */
static uint64_t published(struct mjd_hub *hub)
{
    struct mjd_hub_stats st;
    mjd_hub_get_stats(hub, &st);
    return st.published;
}

static void *watchdog_main(void *arg)
{
    struct mjd_watchdog *wd = arg;
    uint64_t last_count = published(wd->hub);
    bool fed = true; // so that a server that never gets a frame says so once
    bool first = true;
    int64_t next = core_now_ns();
    for (;;) {
        uint64_t count = published(wd->hub);
        // The first turn feeds if a frame exists at all: main waited for one before READY=1.
        // A source closed by --on-demand is idle, not stuck: it publishes nothing by design.
        bool idle = wd->demand != NULL && mjd_demand_state(wd->demand) != MJD_DEMAND_ACTIVE;
        bool fresh = count != last_count || (first && count != 0) || idle;
        first = false;
        last_count = count;
        if (fresh) {
            // Counted before sending, so a reader that got the datagram also sees the count.
            atomic_fetch_add(&wd->pings, 1);
            int rc = mjd_notify_send("WATCHDOG=1");
            if (rc < 0) {
                LOG_WARN("cannot notify the watchdog: %s", strerror(-rc));
            }
            if (!fed) {
                LOG_INFO("frames are published again: feeding the watchdog");
            }
            fed = true;
        } else if (fed) {
            LOG_WARN("no frame published for %.3g s: not feeding the watchdog",
                     (double)wd->tick_ns / 1e9);
            fed = false;
        }
        atomic_fetch_add(&wd->ticks, 1);
        next += wd->tick_ns;
        int64_t now = core_now_ns();
        if (next < now) {
            next = now; // late (a loaded machine): never try to catch up in a burst
        }
        if (core_event_wait_until(wd->stop, next) == 0) {
            break;
        }
    }
    return NULL;
}

int mjd_watchdog_start(struct mjd_watchdog **out, struct mjd_hub *hub, struct mjd_demand *demand,
                       int64_t period_ns)
{
    *out = NULL;
    if (period_ns <= 0) {
        return 0;
    }
    struct mjd_watchdog *wd = calloc(1, sizeof(*wd));
    if (wd == NULL) {
        return -ENOMEM;
    }
    wd->hub = hub;
    wd->demand = demand;
    wd->tick_ns = period_ns / 2 > 0 ? period_ns / 2 : 1;
    atomic_init(&wd->ticks, 0);
    atomic_init(&wd->pings, 0);
    int rc = core_event_create(&wd->stop);
    if (rc != 0) {
        free(wd);
        return rc;
    }
    rc = core_thread_start(&wd->thread, "watchdog", watchdog_main, wd);
    if (rc != 0) {
        core_event_destroy(wd->stop);
        free(wd);
        return rc;
    }
    *out = wd;
    return 0;
}

void mjd_watchdog_get_stats(const struct mjd_watchdog *wd, struct mjd_watchdog_stats *out)
{
    out->ticks = atomic_load(&wd->ticks);
    out->pings = atomic_load(&wd->pings);
}

void mjd_watchdog_stop(struct mjd_watchdog *wd)
{
    if (wd == NULL) {
        return;
    }
    core_event_set(wd->stop);
    pthread_join(wd->thread, NULL);
    core_event_destroy(wd->stop);
    free(wd);
}

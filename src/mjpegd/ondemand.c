// SPDX-License-Identifier: MIT
/* --on-demand: the capture thread closes its source while nobody watches, reopens it on demand. */
#include "mjpegd/ondemand.h"

#include <string.h>

#include "core/clock.h"
#include "core/log.h"

void mjd_ondemand_init(struct mjd_ondemand *od, struct mjd_demand *demand, const char *spec,
                       const struct mjd_source_params *params, const struct mjd_source_info *info)
{
    memset(od, 0, sizeof(*od));
    od->demand = demand != NULL && demand->linger_ns > 0 ? demand : NULL;
    od->demand_any = demand;
    od->spec = spec;
    if (params != NULL) {
        od->params = *params;
    }
    od->info = *info;
    od->last_wanted_ns = core_now_ns();
}

static bool reopen(struct mjd_ondemand *od, struct mjd_source **src, struct core_event *stop)
{
    int rc = mjd_source_create(src, od->spec, &od->params);
    if (rc == 0) {
        const struct mjd_source_info *ni = mjd_source_get_info(*src);
        if (ni->max_frame_bytes > od->info.max_frame_bytes) {
            LOG_ERROR("source '%s' came back with larger frames than its buffers", od->spec);
            mjd_source_destroy(*src);
            *src = NULL;
            rc = -1;
        }
    }
    if (rc != 0) {
        LOG_WARN("cannot reopen source '%s' on demand: %d; retrying", od->spec, rc);
        (void)core_event_timed_wait(stop, 1000);
        return false;
    }
    LOG_INFO("source '%s' opened on demand", od->spec);
    atomic_store(&od->demand->state, MJD_DEMAND_ACTIVE);
    od->last_wanted_ns = core_now_ns();
    od->reopened = true;
    return true;
}

bool mjd_ondemand_gate(struct mjd_ondemand *od, struct mjd_source **src, struct core_event *stop)
{
    od->reopened = false;
    struct mjd_demand *d = od->demand;
    if (d == NULL) {
        return true;
    }
    int64_t now = core_now_ns();
    if (mjd_demand_wanted(d, now)) {
        od->last_wanted_ns = now;
    } else if (*src != NULL && now - od->last_wanted_ns >= d->linger_ns) {
        mjd_source_destroy(*src);
        *src = NULL;
        atomic_store(&d->state, MJD_DEMAND_IDLE);
        LOG_INFO("source '%s' closed: nobody watched for %.1f s", od->spec,
                 (double)d->linger_ns / 1e9);
    }
    if (*src != NULL) {
        return true;
    }
    // Asleep: clear, then check, then wait, so an arrival between the check and the wait is
    // not lost (the event stays set).
    core_event_clear(d->wake);
    if (core_event_is_set(stop)) {
        return false;
    }
    if (!mjd_demand_wanted(d, core_now_ns())) {
        core_event_wait(d->wake);
        return false; // the caller loops: checks stop, then calls the gate again
    }
    return reopen(od, src, stop);
}

void mjd_ondemand_kick(struct mjd_ondemand *od)
{
    if (od->demand != NULL) {
        core_event_set(od->demand->wake);
    }
}

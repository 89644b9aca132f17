// SPDX-License-Identifier: MIT
/* --on-demand: the capture thread closes its source while nobody watches, reopens it on demand. */
#include "mjpegd/ondemand.h"

#include <errno.h>
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
    mjd_source_spec_shown(spec != NULL ? spec : "?", od->name, sizeof(od->name));
    if (params != NULL) {
        od->params = *params;
    }
    od->info = *info;
    od->last_wanted_ns = core_now_ns();
}

/*
 * The one path that opens the source again, for --on-demand and for supervision (capture.c)
 * alike: from the same spec and parameters; a source that never opened (at start-up) adopts
 * the first open's info, any later one must fit the frame buffers sized from it. On failure
 * open_error says why and the caller decides when to try again.
 */
static bool reopen(struct mjd_ondemand *od, struct mjd_source **src)
{
    int rc = od->spec != NULL ? mjd_source_create(src, od->spec, &od->params) : -ENOTSUP;
    if (rc == 0) {
        const struct mjd_source_info *ni = mjd_source_get_info(*src);
        if (od->info.max_frame_bytes == 0) {
            od->info = *ni;
        } else if (ni->max_frame_bytes > od->info.max_frame_bytes) {
            LOG_ERROR("source '%s' came back with larger frames than its buffers", od->name);
            mjd_source_destroy(*src);
            *src = NULL;
            rc = -EMSGSIZE;
        }
    }
    if (rc != 0) {
        od->open_error = rc;
        return false;
    }
    LOG_INFO("source '%s' opened", od->name);
    od->last_wanted_ns = core_now_ns();
    od->reopened = true;
    return true;
}

bool mjd_ondemand_gate(struct mjd_ondemand *od, struct mjd_source **src, struct core_event *stop)
{
    od->reopened = false;
    od->open_error = 0;
    struct mjd_demand *d = od->demand;
    if (d == NULL) {
        // Without --on-demand the source is closed only after a failure: reopen it now (the
        // capture thread calls the gate once its backoff has passed).
        return *src != NULL || reopen(od, src);
    }
    int64_t now = core_now_ns();
    if (mjd_demand_wanted(d, now)) {
        od->last_wanted_ns = now;
    } else if (*src != NULL && now - od->last_wanted_ns >= d->linger_ns) {
        mjd_source_destroy(*src);
        *src = NULL;
        atomic_store(&d->state, MJD_DEMAND_IDLE);
        LOG_INFO("source '%s' closed: nobody watched for %.1f s", od->name,
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
    now = core_now_ns();
    if (!mjd_demand_wanted(d, now) && now - od->last_wanted_ns >= d->linger_ns) {
        atomic_store(&d->state, MJD_DEMAND_IDLE); // also a source that is down (capture.c)
        core_event_wait(d->wake);
        return false; // the caller loops: checks stop, then calls the gate again
    }
    // Wanted, or a source closed after a failure within the linger time: open it.
    return reopen(od, src);
}

bool mjd_ondemand_may_sleep(struct mjd_ondemand *od, int64_t now_ns)
{
    struct mjd_demand *d = od->demand;
    if (d == NULL) {
        return false;
    }
    if (mjd_demand_wanted(d, now_ns)) {
        od->last_wanted_ns = now_ns;
        return false;
    }
    return now_ns - od->last_wanted_ns >= d->linger_ns;
}

void mjd_ondemand_kick(struct mjd_ondemand *od)
{
    if (od->demand != NULL) {
        core_event_set(od->demand->wake);
    }
}

// SPDX-License-Identifier: MIT
/* Who watches a source: its streaming clients, and whether --on-demand lets it sleep. */
#include "mjpegd/demand.h"

#include <errno.h>

int mjd_demand_init(struct mjd_demand *d, int64_t linger_ns)
{
    atomic_init(&d->clients, 0);
    atomic_init(&d->hold, 0);
    atomic_init(&d->state, MJD_DEMAND_ACTIVE);
    atomic_init(&d->last_error, 0);
    atomic_init(&d->restarts, 0);
    atomic_init(&d->wake_seq, 0);
    atomic_init(&d->flip, 0);
    atomic_init(&d->size, 0);
    d->linger_ns = linger_ns;
    return core_event_create(&d->wake);
}

void mjd_demand_release(struct mjd_demand *d)
{
    core_event_destroy(d->wake);
    d->wake = NULL;
}

void mjd_demand_add_client(struct mjd_demand *d)
{
    atomic_fetch_add(&d->clients, 1);
    if (d->linger_ns > 0) {
        core_event_set(d->wake);
    }
}

void mjd_demand_remove_client(struct mjd_demand *d)
{
    atomic_fetch_sub(&d->clients, 1);
}

void mjd_demand_touch(struct mjd_demand *d, int64_t now_ns)
{
    if (d->linger_ns <= 0) {
        return;
    }
    int64_t until = now_ns + d->linger_ns;
    int64_t cur = atomic_load(&d->hold);
    while (cur < until && !atomic_compare_exchange_weak(&d->hold, &cur, until)) {
    }
    core_event_set(d->wake);
}

unsigned mjd_demand_clients(struct mjd_demand *d)
{
    return atomic_load(&d->clients);
}

bool mjd_demand_wanted(struct mjd_demand *d, int64_t now_ns)
{
    return atomic_load(&d->clients) > 0 || atomic_load(&d->hold) > now_ns;
}

enum mjd_demand_state mjd_demand_state(struct mjd_demand *d)
{
    return (enum mjd_demand_state)atomic_load(&d->state);
}

void mjd_demand_set_health(struct mjd_demand *d, enum mjd_demand_state state, int last_error,
                           bool restarted)
{
    // The error and the count first: a reader that sees the state sees why.
    if (last_error != 0) {
        atomic_store(&d->last_error, last_error);
    }
    if (restarted) {
        atomic_fetch_add(&d->restarts, 1);
    }
    atomic_store(&d->state, state);
}

void mjd_demand_set_size(struct mjd_demand *d, unsigned width, unsigned height)
{
    atomic_store(&d->size, (uint_fast64_t)width << 32 | (uint32_t)height);
}

bool mjd_demand_size(struct mjd_demand *d, unsigned *width, unsigned *height)
{
    uint_fast64_t v = atomic_load(&d->size);
    if (v == 0) {
        return false;
    }
    *width = (unsigned)(v >> 32);
    *height = (unsigned)(v & 0xffffffffu);
    return true;
}

int mjd_demand_last_error(struct mjd_demand *d)
{
    return atomic_load(&d->last_error);
}

uint64_t mjd_demand_restarts(struct mjd_demand *d)
{
    return atomic_load(&d->restarts);
}

void mjd_demand_set_flip(struct mjd_demand *d, unsigned hardware, unsigned software)
{
    atomic_store(&d->flip, (hardware & 3u) | (software & 3u) << 2);
}

const char *mjd_demand_flip_name(struct mjd_demand *d)
{
    unsigned f = atomic_load(&d->flip);
    bool hw = (f & 3u) != 0;
    bool sw = (f >> 2 & 3u) != 0;
    return hw && sw ? "hardware+software" : hw ? "hardware" : sw ? "software" : "none";
}

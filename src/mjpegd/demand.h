// SPDX-License-Identifier: MIT
/* Who watches a source: its streaming clients, and whether --on-demand lets it sleep. */
#ifndef MJD_DEMAND_H
#define MJD_DEMAND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/event.h"

/*
 * One per source. Network loops count the source's viewers with atomic increments and
 * decrements and set `wake` when someone arrives; they never block on the capture thread. The
 * capture thread (the only one that opens and closes the source) reads the count, sleeps on
 * `wake` while nobody watches, and publishes the state it is in for /state and the watchdog.
 * Every field is atomic or immutable; the event is thread-safe. Owner: the feed (feed.c).
 */
enum mjd_demand_state {
    MJD_DEMAND_ACTIVE = 0,   /* the source is open and read */
    MJD_DEMAND_IDLE = 1,     /* --on-demand: closed while nobody watches */
    MJD_DEMAND_ENDED = 2,    /* the input ended for good (a pipe's end), the others go on */
    MJD_DEMAND_RETRYING = 3, /* the source failed: closed, reopened with backoff; viewers get
                                the "no signal" frame (capture.c) */
};

struct mjd_demand {
    atomic_uint clients;           /* streaming clients of this source */
    atomic_int_least64_t hold;     /* monotonic ns until which a snapshot keeps the source open */
    atomic_int state;              /* enum mjd_demand_state, written by the capture thread */
    atomic_int last_error;         /* positive errno of the source's last failure, 0: none yet;
                                      written by the capture thread */
    atomic_uint_fast64_t restarts; /* reopens after a failure, written by the capture thread */
    atomic_uint_fast64_t wake_seq; /* the last frame seq given before the source last woke from
                                      sleep (a frame up to it is stale), written by the capture
                                      thread before it sets state ACTIVE; 0 before any wake */
    atomic_uint flip;              /* --flip as done for the open source: the MJD_FLIP_* bits
                                      the source does itself | the software ones << 2; written
                                      by the capture thread when it learns them, 0 before */
    atomic_uint_fast64_t size;     /* width << 32 | height of the source as it opened (the
                                      first open's, which sizes the frame buffers); 0 until it
                                      opened: /state then shows --size. Written by the capture
                                      thread */
    int64_t linger_ns;             /* --on-demand SEC in ns; 0: always open. Immutable */
    struct core_event *wake;       /* set on every arrival, and by stop */
};

/** Sets up d; linger_ns 0 means the source never sleeps. 0 or -ENOMEM. Owner thread. */
int mjd_demand_init(struct mjd_demand *d, int64_t linger_ns) CORE_MUST_CHECK;

/** Frees what d holds. Owner thread, after every user is gone. */
void mjd_demand_release(struct mjd_demand *d);

/** A stream of this source starts (wakes a sleeping source). Any thread, never blocks. */
void mjd_demand_add_client(struct mjd_demand *d);

/** A stream of this source ended. Any thread, never blocks. */
void mjd_demand_remove_client(struct mjd_demand *d);

/** A snapshot asks for the source: keeps it open for linger_ns at least. Any thread. */
void mjd_demand_touch(struct mjd_demand *d, int64_t now_ns);

/** Streaming clients now. Any thread. */
unsigned mjd_demand_clients(struct mjd_demand *d);

/** True if someone needs the source at now_ns (a client, or a snapshot's hold). Any thread. */
bool mjd_demand_wanted(struct mjd_demand *d, int64_t now_ns);

/** The capture thread's supervision of the source: its state, the positive errno of its last
 * failure (0: none) and how often it was reopened after one. Capture thread. */
void mjd_demand_set_health(struct mjd_demand *d, enum mjd_demand_state state, int last_error,
                           bool restarted);

/** The size the source opened at (it may differ from --size: a camera granting another one, a
 * relay's upstream). Capture thread. */
void mjd_demand_set_size(struct mjd_demand *d, unsigned width, unsigned height);

/** The size set by mjd_demand_set_size; false (outputs untouched) if none was yet. Any thread. */
bool mjd_demand_size(struct mjd_demand *d, unsigned *width, unsigned *height);

/** The capture thread's state. Any thread. */
enum mjd_demand_state mjd_demand_state(struct mjd_demand *d);

/** The positive errno of the source's last failure, 0 when none. Any thread. */
int mjd_demand_last_error(struct mjd_demand *d);

/** Reopens after a failure so far. Any thread. */
uint64_t mjd_demand_restarts(struct mjd_demand *d);

/** How --flip is done for the source now: MJD_FLIP_* bits by its hardware and in software.
 * Capture thread. */
void mjd_demand_set_flip(struct mjd_demand *d, unsigned hardware, unsigned software);

/** "none", "hardware", "software" or "hardware+software" (some of each: a camera with only
 * one of HFLIP and VFLIP), as the capture thread last set it; "none" before. Any thread. */
const char *mjd_demand_flip_name(struct mjd_demand *d);

#endif

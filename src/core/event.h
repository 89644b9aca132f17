// SPDX-License-Identifier: MIT
/* A manual-reset event, the C counterpart of Python's threading.Event. */
#ifndef CORE_EVENT_H
#define CORE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * An event is a flag that threads can wait on. set() raises it and wakes every thread blocked
 * in a wait at that moment, even if clear() lowers it again before they run (a set(); clear();
 * pulse wakes every waiter, as Python's threading.Event does); it stays raised until clear().
 * Waiters that arrive while it is raised return at once.
 * All functions are callable from any thread, except destroy, which no other thread may be
 * using the event during. Waits use CLOCK_MONOTONIC, so a wall-clock change never shortens or
 * stretches them. Timeouts follow the core's convention (core/clock.h): a negative timeout_ms
 * or deadline_ns waits for ever, 0 or a past deadline does not wait.
 * fork(): a child of a multi-threaded process must not touch an event it inherited.
 */
struct core_event;

/** Creates a cleared event. *out is NULL on failure. Returns 0 or -ENOMEM/-errno. */
int core_event_create(struct core_event **out) CORE_MUST_CHECK;
/** Destroys the event. Accepts NULL. No thread may be waiting on it. */
void core_event_destroy(struct core_event *ev);

/** Raises the flag and wakes every waiter. */
void core_event_set(struct core_event *ev);
/** Lowers the flag. Threads that a set() woke still return 0. */
void core_event_clear(struct core_event *ev);
/** Returns whether the flag is raised right now. */
bool core_event_is_set(struct core_event *ev);
/** Blocks until the flag is raised (or a set() happens while blocked). */
void core_event_wait(struct core_event *ev);
/**
 * Blocks until the flag is raised, a set() happens while blocked, or timeout_ms passes:
 * 0 if raised or set, -ETIMEDOUT otherwise. timeout_ms < 0 (CORE_TIMEOUT_INFINITE): no limit.
 */
int core_event_timed_wait(struct core_event *ev, int64_t timeout_ms);
/** As timed_wait, with an absolute CLOCK_MONOTONIC deadline in ns (see core_now_ns). */
int core_event_wait_until(struct core_event *ev, int64_t deadline_ns);
/** Number of threads blocked in a wait right now (a snapshot, for tests and stats). */
size_t core_event_waiters(struct core_event *ev);

#endif

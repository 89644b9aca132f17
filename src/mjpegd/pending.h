// SPDX-License-Identifier: MIT
/* The pending set shared by every network loop: admission, eviction and the header deadline. */
#ifndef MJD_PENDING_H
#define MJD_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mjpegd/limits.h"

/*
 * Connections still sending a request head, from every loop, oldest first (one mjd_pending
 * FIFO under one mutex). Any loop may evict or time out a node: under the mutex it sends a
 * best-effort 408 (timeouts) and shuts the socket down, and the owning loop then sees EOF and
 * closes it. An owner removes its node (mjd_pending_set_remove) before closing the fd, so a
 * listed fd is always valid. Every function is thread-safe; none blocks except on the mutex,
 * under which only non-blocking socket calls are made.
 */
struct mjd_pending_set;

/** Creates an empty set of at most cap connections, each given timeout_ns. Owner thread. */
int mjd_pending_set_create(struct mjd_pending_set **out, size_t cap,
                           int64_t timeout_ns) CORE_MUST_CHECK;
/** Frees the set. Accepts NULL. No loop may use it any more. */
void mjd_pending_set_destroy(struct mjd_pending_set *set);

/**
 * Admits node (borrowed until removed; node->fd set) at now_ns. A full set first ends its
 * oldest idle connection (one accepted more than a short grace ago, with no unread input).
 */
void mjd_pending_set_add(struct mjd_pending_set *set, struct mjd_pending_node *node,
                         int64_t now_ns);

/** Removes node if it is listed. Its owner calls this before closing node->fd. */
void mjd_pending_set_remove(struct mjd_pending_set *set, struct mjd_pending_node *node);

/**
 * Ends every connection past its deadline (a 408 for a started request, with the header line
 * date_hdr, borrowed: "Date: ...\r\n"), then trims the set back to its cap.
 */
void mjd_pending_set_expire(struct mjd_pending_set *set, int64_t now_ns, const char *date_hdr);

/** Ends the oldest connection, to free an fd (its owner closes it). */
void mjd_pending_set_shed_oldest(struct mjd_pending_set *set);

/** Connections listed now. */
size_t mjd_pending_set_count(struct mjd_pending_set *set);

#endif

// SPDX-License-Identifier: MIT
/* Connection accounting: streaming clients overall and per IP, and the pending-head FIFO. */
#ifndef MJD_LIMITS_H
#define MJD_LIMITS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/compiler.h"

/*
 * Streaming clients are the expensive ones and are counted against --max-clients and
 * --max-clients-per-ip, across every network loop: the counters are shared (an atomic for the
 * total, a mutex-guarded hash table for the per-IP counts, touched only when a stream starts
 * or ends).
 */
struct mjd_limits;

/** Creates the counters. max_per_ip 0 means no per-IP limit. Owner thread. */
int mjd_limits_create(struct mjd_limits **out, unsigned max_clients,
                      unsigned max_per_ip) CORE_MUST_CHECK;
/** Frees the counters. Accepts NULL. No other thread may use them any more. */
void mjd_limits_destroy(struct mjd_limits *lim);

/**
 * Admits one more streaming client from peer (borrowed): 0, -EBUSY when --max-clients are
 * streaming, -EUSERS when that IP already has --max-clients-per-ip. Any thread.
 */
int mjd_limits_acquire(struct mjd_limits *lim, const struct sockaddr *peer);
/** Releases what a successful acquire for the same peer took. Any thread. */
void mjd_limits_release(struct mjd_limits *lim, const struct sockaddr *peer);

/** Streaming clients now, and streams ever admitted. Any thread (atomic snapshots). */
unsigned mjd_limits_streaming(struct mjd_limits *lim);
uint64_t mjd_limits_total(struct mjd_limits *lim);

/*
 * The pending FIFO: connections that have not yet sent a full request head, in accept order,
 * each with a total deadline (added + header timeout). It is capped: adding to a full set
 * evicts the oldest connection, so idle or slowloris connections can never lock out a newcomer.
 * One FIFO is shared by every network loop (see pending.h, which guards it with a mutex); the
 * FIFO itself is not thread-safe. Callers embed the structs, whose fields ending in '_' are
 * private.
 */
struct mjd_pending_node {
    struct mjd_pending_node *prev_;
    struct mjd_pending_node *next_;
    int64_t deadline_ns; /* read-only for callers */
    int fd;              /* the connection's socket: set by the owner before adding */
    atomic_bool started; /* atomic: part of a request has arrived (set by the owner; a timed
                            out connection gets a 408 only then, an idle one is just closed) */
};

struct mjd_pending {
    struct mjd_pending_node head_; /* sentinel: next_ is the oldest */
    size_t count;                  /* read-only for callers */
    size_t cap_;
    int64_t timeout_ns_;
};

/** Initialises an empty set holding at most cap (>= 1) nodes, with the given timeout. */
void mjd_pending_init(struct mjd_pending *p, size_t cap, int64_t timeout_ns);

/** Says whether a node may be evicted now (e.g. not if it has unread input). */
typedef bool (*mjd_pending_evictable_fn)(struct mjd_pending_node *node, void *ctx);

/**
 * Adds node (borrowed until removed) with deadline now + timeout. When the set is full, the
 * oldest of the first scan nodes (oldest first) for which evictable(node, ctx) is true is
 * removed first and returned, for the caller to close; evictable NULL means any node. If none
 * is evictable, nothing is evicted and the set holds one more than its cap until nodes leave.
 * Returns the evicted node or NULL.
 */
struct mjd_pending_node *mjd_pending_add(struct mjd_pending *p, struct mjd_pending_node *node,
                                         int64_t now_ns, mjd_pending_evictable_fn evictable,
                                         void *ctx, size_t scan);

/**
 * If the set holds more than its cap (after adds that found nothing to evict), removes and
 * returns the first evictable node among the scan oldest; NULL otherwise.
 */
struct mjd_pending_node *mjd_pending_trim(struct mjd_pending *p, mjd_pending_evictable_fn evictable,
                                          void *ctx, size_t scan);

/** The time node was added (its deadline minus the timeout). */
int64_t mjd_pending_added_ns(const struct mjd_pending *p, const struct mjd_pending_node *node);

/** Removes node if it is in the set (idempotent). */
void mjd_pending_remove(struct mjd_pending *p, struct mjd_pending_node *node);
/** Removes and returns the oldest node whose deadline is <= now, or NULL. */
struct mjd_pending_node *mjd_pending_pop_expired(struct mjd_pending *p, int64_t now_ns);
/** Removes and returns the oldest node, or NULL when empty. */
struct mjd_pending_node *mjd_pending_pop_oldest(struct mjd_pending *p);

#endif

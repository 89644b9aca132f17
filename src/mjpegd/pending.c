// SPDX-License-Identifier: MIT
/* The pending set shared by every network loop: admission, eviction and the header deadline. */
#include "mjpegd/pending.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/version.h"

#define EVICT_SCAN     32
#define EVICT_GRACE_NS (200 * CORE_NS_PER_MS)

struct mjd_pending_set {
    pthread_mutex_t mu;
    struct mjd_pending fifo; /* guarded by mu */
};

int mjd_pending_set_create(struct mjd_pending_set **out, size_t cap, int64_t timeout_ns)
{
    *out = NULL;
    struct mjd_pending_set *set = calloc(1, sizeof(*set));
    if (set == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&set->mu, NULL);
    mjd_pending_init(&set->fifo, cap, timeout_ns);
    *out = set;
    return 0;
}

void mjd_pending_set_destroy(struct mjd_pending_set *set)
{
    if (set == NULL) {
        return;
    }
    pthread_mutex_destroy(&set->mu);
    free(set);
}

/*
 * Ends a pending connection that may belong to another loop; its owner closes it. At the
 * header deadline, a request that was started gets a 408; an idle connection (a keep-alive
 * one between requests) is closed quietly, as nginx does, since a pooled client would read an
 * unasked 408 as the answer to its next request.
 */
static void kick_locked(struct mjd_pending_node *n, const char *date_hdr)
{
    if (date_hdr != NULL && atomic_load_explicit(&n->started, memory_order_relaxed)) {
        char resp[320];
        int len = snprintf(resp, sizeof(resp),
                           "HTTP/1.1 408 Request Timeout\r\n%sServer: mjpegd/%s\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\n"
                           "Connection: close\r\nAccept-Ranges: none\r\n\r\n"
                           "408 Request Timeout\n",
                           date_hdr, CORE_VERSION);
        if (len > 0 && (size_t)len < sizeof(resp)) {
            // One try, never waiting: the connection is closed either way.
            ssize_t wr = send(n->fd, resp, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)wr;
        }
    }
    shutdown(n->fd, SHUT_RDWR);
}

/*
 * Eviction passes over a connection accepted less than EVICT_GRACE_NS ago (its request may be
 * on its way: a burst of viewers connecting at once) and one with input its loop has not read
 * yet (it may hold a complete request). Called with mu held, so the fd is valid.
 */
static bool evictable(struct mjd_pending_node *n, void *ctx)
{
    const struct mjd_pending_set *set = ctx;
    if (core_now_ns() - mjd_pending_added_ns(&set->fifo, n) < EVICT_GRACE_NS) {
        return false;
    }
    int unread = 0;
    return ioctl(n->fd, FIONREAD, &unread) != 0 || unread == 0;
}

void mjd_pending_set_add(struct mjd_pending_set *set, struct mjd_pending_node *node, int64_t now_ns)
{
    pthread_mutex_lock(&set->mu);
    struct mjd_pending_node *evicted =
            mjd_pending_add(&set->fifo, node, now_ns, evictable, set, EVICT_SCAN);
    if (evicted != NULL) {
        kick_locked(evicted, NULL);
    }
    pthread_mutex_unlock(&set->mu);
    if (evicted != NULL) {
        LOG_DEBUG("pending connections full: closed the oldest");
    }
}

void mjd_pending_set_remove(struct mjd_pending_set *set, struct mjd_pending_node *node)
{
    pthread_mutex_lock(&set->mu);
    mjd_pending_remove(&set->fifo, node);
    pthread_mutex_unlock(&set->mu);
}

void mjd_pending_set_expire(struct mjd_pending_set *set, int64_t now_ns, const char *date_hdr)
{
    struct mjd_pending_node *n;
    pthread_mutex_lock(&set->mu);
    while ((n = mjd_pending_pop_expired(&set->fifo, now_ns)) != NULL) {
        kick_locked(n, date_hdr);
    }
    // Back under the cap once the connections that eviction passed over are old enough.
    while ((n = mjd_pending_trim(&set->fifo, evictable, set, EVICT_SCAN)) != NULL) {
        kick_locked(n, NULL);
    }
    pthread_mutex_unlock(&set->mu);
}

void mjd_pending_set_shed_oldest(struct mjd_pending_set *set)
{
    pthread_mutex_lock(&set->mu);
    struct mjd_pending_node *n = mjd_pending_pop_oldest(&set->fifo);
    if (n != NULL) {
        kick_locked(n, NULL);
    }
    pthread_mutex_unlock(&set->mu);
}

size_t mjd_pending_set_count(struct mjd_pending_set *set)
{
    pthread_mutex_lock(&set->mu);
    size_t n = set->fifo.count;
    pthread_mutex_unlock(&set->mu);
    return n;
}

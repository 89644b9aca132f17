// SPDX-License-Identifier: MIT
/* Connection accounting: streaming clients overall and per IP, and the pending-head FIFO. */
#include "mjpegd/limits.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define IP_BUCKETS 1024

struct ip_count {
    unsigned char addr[16]; /* IPv6, or IPv4-mapped */
    unsigned count;
    struct ip_count *next;
};

struct mjd_limits {
    unsigned max_clients;       /* immutable */
    unsigned max_per_ip;        /* immutable, 0 = none */
    atomic_uint streaming;      /* atomic */
    atomic_uint_fast64_t total; /* atomic */
    pthread_mutex_t mu;
    struct ip_count *buckets[IP_BUCKETS]; /* guarded by mu */
};

int mjd_limits_create(struct mjd_limits **out, unsigned max_clients, unsigned max_per_ip)
{
    *out = NULL;
    struct mjd_limits *lim = calloc(1, sizeof(*lim));
    if (lim == NULL) {
        return -ENOMEM;
    }
    lim->max_clients = max_clients;
    lim->max_per_ip = max_per_ip;
    atomic_init(&lim->streaming, 0);
    atomic_init(&lim->total, 0);
    pthread_mutex_init(&lim->mu, NULL);
    *out = lim;
    return 0;
}

void mjd_limits_destroy(struct mjd_limits *lim)
{
    if (lim == NULL) {
        return;
    }
    for (size_t i = 0; i < IP_BUCKETS; i++) {
        struct ip_count *e = lim->buckets[i];
        while (e != NULL) {
            struct ip_count *next = e->next;
            free(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&lim->mu);
    free(lim);
}

static void ip_key(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        key[10] = 0xff;
        key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(key, &in6->sin6_addr, 16);
    }
}

static size_t ip_hash(const unsigned char key[16])
{
    // FNV-1a: spreads loopback and LAN addresses that differ in one byte.
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++) {
        h = (h ^ key[i]) * 16777619u;
    }
    return h % IP_BUCKETS;
}

/* Adjusts the count of key by delta (+1/-1) under mu; +1 fails past the limit. */
static bool ip_adjust(struct mjd_limits *lim, const unsigned char key[16], int delta)
{
    size_t b = ip_hash(key);
    bool ok = true;
    pthread_mutex_lock(&lim->mu);
    struct ip_count **pp = &lim->buckets[b];
    while (*pp != NULL && memcmp((*pp)->addr, key, 16) != 0) {
        pp = &(*pp)->next;
    }
    struct ip_count *e = *pp;
    if (delta > 0) {
        if (e == NULL) {
            e = calloc(1, sizeof(*e));
            if (e == NULL) {
                ok = false;
            } else {
                memcpy(e->addr, key, 16);
                *pp = e;
            }
        }
        if (ok && e->count >= lim->max_per_ip) {
            ok = false;
        } else if (ok) {
            e->count++;
        }
    } else if (e != NULL && e->count > 0) {
        e->count--;
    }
    if (e != NULL && e->count == 0) {
        *pp = e->next;
        free(e);
    }
    pthread_mutex_unlock(&lim->mu);
    return ok;
}

int mjd_limits_acquire(struct mjd_limits *lim, const struct sockaddr *peer)
{
    unsigned cur = atomic_load(&lim->streaming);
    do {
        if (cur >= lim->max_clients) {
            return -EBUSY;
        }
    } while (!atomic_compare_exchange_weak(&lim->streaming, &cur, cur + 1));
    if (lim->max_per_ip > 0) {
        unsigned char key[16];
        ip_key(peer, key);
        if (!ip_adjust(lim, key, +1)) {
            atomic_fetch_sub(&lim->streaming, 1);
            return -EUSERS;
        }
    }
    atomic_fetch_add_explicit(&lim->total, 1, memory_order_relaxed);
    return 0;
}

void mjd_limits_release(struct mjd_limits *lim, const struct sockaddr *peer)
{
    if (lim->max_per_ip > 0) {
        unsigned char key[16];
        ip_key(peer, key);
        ip_adjust(lim, key, -1);
    }
    atomic_fetch_sub(&lim->streaming, 1);
}

unsigned mjd_limits_streaming(struct mjd_limits *lim)
{
    return atomic_load(&lim->streaming);
}

uint64_t mjd_limits_total(struct mjd_limits *lim)
{
    return atomic_load_explicit(&lim->total, memory_order_relaxed);
}

void mjd_pending_init(struct mjd_pending *p, size_t cap, int64_t timeout_ns)
{
    p->head_.prev_ = &p->head_;
    p->head_.next_ = &p->head_;
    p->head_.deadline_ns = 0;
    p->count = 0;
    p->cap_ = cap ? cap : 1;
    p->timeout_ns_ = timeout_ns;
}

static void unlink_node(struct mjd_pending *p, struct mjd_pending_node *n)
{
    n->prev_->next_ = n->next_;
    n->next_->prev_ = n->prev_;
    n->prev_ = NULL;
    n->next_ = NULL;
    p->count--;
}

struct mjd_pending_node *mjd_pending_pop_oldest(struct mjd_pending *p)
{
    if (p->count == 0) {
        return NULL;
    }
    struct mjd_pending_node *n = p->head_.next_;
    unlink_node(p, n);
    return n;
}

/* Unlinks and returns the first evictable node among the scan oldest, or NULL. */
static struct mjd_pending_node *
pick_victim(struct mjd_pending *p, mjd_pending_evictable_fn evictable, void *ctx, size_t scan)
{
    struct mjd_pending_node *n = p->head_.next_;
    for (size_t i = 0; i < scan && n != &p->head_; i++, n = n->next_) {
        if (evictable == NULL || evictable(n, ctx)) {
            unlink_node(p, n);
            return n;
        }
    }
    return NULL;
}

struct mjd_pending_node *mjd_pending_trim(struct mjd_pending *p, mjd_pending_evictable_fn evictable,
                                          void *ctx, size_t scan)
{
    if (p->count <= p->cap_) {
        return NULL;
    }
    return pick_victim(p, evictable, ctx, scan);
}

int64_t mjd_pending_added_ns(const struct mjd_pending *p, const struct mjd_pending_node *node)
{
    return node->deadline_ns - p->timeout_ns_;
}

struct mjd_pending_node *mjd_pending_add(struct mjd_pending *p, struct mjd_pending_node *node,
                                         int64_t now_ns, mjd_pending_evictable_fn evictable,
                                         void *ctx, size_t scan)
{
    struct mjd_pending_node *evicted = NULL;
    if (p->count >= p->cap_) {
        evicted = pick_victim(p, evictable, ctx, scan);
    }
    // Deadlines are now + a fixed timeout, so appending keeps the list sorted by deadline.
    node->deadline_ns = now_ns + p->timeout_ns_;
    node->prev_ = p->head_.prev_;
    node->next_ = &p->head_;
    p->head_.prev_->next_ = node;
    p->head_.prev_ = node;
    p->count++;
    return evicted;
}

void mjd_pending_remove(struct mjd_pending *p, struct mjd_pending_node *node)
{
    if (node->next_ != NULL) {
        unlink_node(p, node);
    }
}

struct mjd_pending_node *mjd_pending_pop_expired(struct mjd_pending *p, int64_t now_ns)
{
    if (p->count == 0 || p->head_.next_->deadline_ns > now_ns) {
        return NULL;
    }
    return mjd_pending_pop_oldest(p);
}

// SPDX-License-Identifier: MIT
/* The fetch stage's view of each host: a Retry-After pause, connection failures in a row. */
#ifndef QP_FETCH_HOST_H
#define QP_FETCH_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A host is the scheme, name and port of a URL ("http://127.0.0.1:8080"). fetch.c asks which
 * host a URL belongs to, and records what each transfer learned about it. Fetch thread only.
 */
struct qp_fetch_host {
    char key[320];
    int64_t pause_until;    /* monotonic ns: no request starts before (Retry-After) */
    unsigned conn_failures; /* connection failures since the last response */
    bool given_up;          /* host_failures reached: no more requests */
    char last_error[200];
};

struct qp_fetch_hosts {
    struct qp_fetch_host *v;
    size_t n, cap;
    size_t last; /* the last one found: most runs have one host */
    uint64_t given_up;
};

/** The index of url's host, added on first sight. */
size_t qp_fetch_hosts_find(struct qp_fetch_hosts *h, const char *url);
/** Frees the table. */
void qp_fetch_hosts_release(struct qp_fetch_hosts *h);

/** The scheme://host:port of url into key (empty when url does not parse). Pure. */
void qp_fetch_host_key(const char *url, char *key, size_t size);

#endif

// SPDX-License-Identifier: MIT
/* The download stage: libcurl multi, bounded concurrency, retries with backoff, a rate cap. */
#ifndef QP_FETCH_H
#define QP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct qp_body;

/*
 * One fetch thread drives a curl multi handle: at most `connections` transfers at once over
 * reused keep-alive connections. Work comes from the pipeline through admit(); each symbol
 * ends in exactly one done() call, with its body or an error. Transient failures (timeouts,
 * connection errors, truncated bodies, HTTP 408, 429 and 5xx) are retried after an
 * exponential backoff with jitter, or after Retry-After when the server sends one; other
 * 4xx and local errors are final (the policy itself: fetch_policy.h).
 *
 * Per host (scheme, name and port of the URL): a Retry-After pauses every request to that
 * host, not just the symbol that got it; and after host_failures connection failures in a
 * row (refused, DNS, connect timeout, TLS handshake) with no response in between, the host is
 * given up: its symbols fail at once with a message that says so (fetch_host.c).
 * A transfer is cut when it connects too slowly, when it receives less than speed_limit
 * bytes/s for timeout_s, or (optionally) after max_time_s in all; a steady slow body is not.
 */
struct qp_fetch;

enum qp_fetch_admit {
    QP_FETCH_ADMIT_OK,   /* *idx and *symbol are set: start that one */
    QP_FETCH_ADMIT_WAIT, /* nothing may start now; qp_fetch_wakeup() will say when */
    QP_FETCH_ADMIT_DONE, /* nothing will ever come again */
};

/**
 * The validators a symbol's last archived body came with, for a conditional request (fetch
 * thread, once per transfer): fills etag and/or last_modified ("" for none). Optional.
 */
typedef void (*qp_fetch_validators_fn)(void *ctx, size_t idx, char *etag, size_t etag_size,
                                       char *last_modified, size_t lm_size);
/** Asks for the next symbol to download (fetch thread). symbol is borrowed for the run. */
typedef enum qp_fetch_admit (*qp_fetch_admit_fn)(void *ctx, size_t *idx, const char **symbol);
/** Why a symbol's download failed. */
struct qp_fetch_failure {
    const char *message; /* borrowed for the call */
    bool permanent;      /* 404 and other 4xx, a missing file, over the size cap */
    bool host_given_up;  /* not tried (or no longer): its host was given up */
    int local_err;       /* storing the body failed here (spill file: -ENOSPC...), else 0 */
};

/**
 * One symbol finished (fetch thread). On success body (malloc'd struct, ownership passes,
 * body->not_modified set and nothing in it for a 304 answer to a conditional request,
 * release with qp_body_release then free) holds the download and fail is NULL; on failure
 * body is NULL and fail says why. May block: the fetcher then stops pulling data, which is
 * the pipeline's backpressure.
 */
typedef void (*qp_fetch_done_fn)(void *ctx, size_t idx, struct qp_body *body,
                                 const struct qp_fetch_failure *fail);

struct qp_fetch_config {
    const char *url_template; /* borrowed, with {symbol} */
    const char *to;           /* borrowed: what {to} becomes (today, formatted), or NULL */
    size_t connections;
    double rate; /* requests per second, 0 = unlimited */
    unsigned retries;
    double timeout_s;         /* low-speed time: cut below speed_limit bytes/s for this long */
    size_t speed_limit;       /* bytes/s; 0 = 1 */
    double connect_timeout_s; /* 0 = 10 s */
    double max_time_s;        /* 0 = no limit */
    unsigned host_failures;   /* 0 = never give a host up */
    const char *cacert;       /* borrowed, or NULL */
    bool insecure;
    const char *const *headers; /* borrowed "Name: value" lines */
    size_t nheaders;
    const char *user_agent; /* borrowed, or NULL */
    size_t max_body;
    const char *spill_dir; /* borrowed: where a body past spill_at bytes goes (body.h) */
    size_t spill_at;       /* 0 = 4 MiB */
    qp_fetch_admit_fn admit;
    qp_fetch_validators_fn validators; /* NULL: no conditional requests */
    /* The value of {from} for a symbol (fetch thread, once per transfer); NULL: no {from} */
    void (*from)(void *ctx, size_t idx, char *out, size_t size);
    qp_fetch_done_fn done;
    void *ctx;
};

/** Creates the multi handle (curl_global_init must have run). *out NULL on failure. */
int qp_fetch_create(struct qp_fetch **out, const struct qp_fetch_config *cfg) CORE_MUST_CHECK;
/** Runs until admit() says DONE and every transfer finished, or stop. Fetch thread. */
int qp_fetch_run(struct qp_fetch *f);
/** Wakes the fetch thread to call admit() again. Any thread. */
void qp_fetch_wakeup(struct qp_fetch *f);
/** Makes run() abandon its transfers (no done() for them) and return soon. Any thread. */
void qp_fetch_stop(struct qp_fetch *f);
/** Frees. Accepts NULL. Not while run() is running. */
void qp_fetch_destroy(struct qp_fetch *f);

/** Requests started so far, including retries (stats and tests). Any thread. */
uint64_t qp_fetch_requests(struct qp_fetch *f);
/** 304 Not Modified answers so far (stats and tests). Any thread. */
uint64_t qp_fetch_not_modified(struct qp_fetch *f);
/** Body bytes received so far (progress). Any thread. */
uint64_t qp_fetch_bytes(struct qp_fetch *f);

/** Hosts given up so far (stats and tests). Any thread. */
uint64_t qp_fetch_hosts_given_up(struct qp_fetch *f);

#endif

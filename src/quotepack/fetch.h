// SPDX-License-Identifier: MIT
/* The download stage: libcurl multi, bounded concurrency, retries with backoff, a rate cap. */
#ifndef QP_FETCH_H
#define QP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * One fetch thread drives a curl multi handle: at most `connections` transfers at once over
 * reused keep-alive connections. Work comes from the pipeline through admit(); each symbol
 * ends in exactly one done() call, with its body or an error. Transient failures (timeouts,
 * connection errors, truncated bodies, HTTP 408, 429 and 5xx) are retried after an
 * exponential backoff with jitter, or after Retry-After when the server sends one; other
 * 4xx and local errors are final.
 */
struct qp_fetch;

enum qp_fetch_admit {
    QP_FETCH_ADMIT_OK,   /* *idx and *symbol are set: start that one */
    QP_FETCH_ADMIT_WAIT, /* nothing may start now; qp_fetch_wakeup() will say when */
    QP_FETCH_ADMIT_DONE, /* nothing will ever come again */
};

/** Asks for the next symbol to download (fetch thread). symbol is borrowed for the run. */
typedef enum qp_fetch_admit (*qp_fetch_admit_fn)(void *ctx, size_t *idx, const char **symbol);
/**
 * One symbol finished (fetch thread). On success body (malloc'd, ownership passes) holds len
 * bytes and error is NULL; on failure body is NULL and error says why (borrowed). May block:
 * the fetcher then stops pulling data, which is the pipeline's backpressure.
 */
typedef void (*qp_fetch_done_fn)(void *ctx, size_t idx, char *body, size_t len, const char *error);

struct qp_fetch_config {
    const char *url_template; /* borrowed, with {symbol} */
    size_t connections;
    double rate; /* requests per second, 0 = unlimited */
    unsigned retries;
    double timeout_s;
    size_t max_body;
    qp_fetch_admit_fn admit;
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
/** Body bytes received so far (progress). Any thread. */
uint64_t qp_fetch_bytes(struct qp_fetch *f);

/**
 * The delay before retry number `attempt` (1 = the first retry): 500 ms * 2^(attempt-1),
 * capped at 30 s, with "equal jitter" (half fixed, half uniform from rnd). A Retry-After of
 * retry_after_ms (>= 0) replaces it, capped at 10 minutes. Pure.
 */
int64_t qp_fetch_backoff_ms(unsigned attempt, int64_t retry_after_ms, uint64_t rnd);

/**
 * Parses a Retry-After value: delta-seconds or an HTTP date (IMF-fixdate, RFC 850, asctime),
 * relative to now_s (Unix seconds). Returns the delay in seconds (a past date gives 0), or -1
 * when the value is not valid. Pure.
 */
int64_t qp_fetch_parse_retry_after(const char *value, int64_t now_s);

/** Whether an HTTP status is worth retrying (408, 429, 5xx). Pure. */
bool qp_fetch_status_retryable(long status);

#endif

// SPDX-License-Identifier: MIT
/* The fetch stage's retry policy: what is retried, how long to wait, Retry-After. Pure. */
#ifndef QP_FETCH_POLICY_H
#define QP_FETCH_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

/*
 * fetch.c asks these functions what to do with a finished transfer; none of them keeps
 * state or touches a handle, so they are safe from any thread and tested on their own
 * (tests/unit/quotepack/test_fetch_policy.c).
 */

/** The longest pause a Retry-After may ask for; a longer one is cut to this. */
#define QP_FETCH_RETRY_AFTER_MAX_S 600

/** Whether an HTTP status is worth retrying (408, 429, 5xx). Pure. */
bool qp_fetch_status_retryable(long status);

/**
 * The delay before retry number `attempt` (1 = the first retry): 500 ms * 2^(attempt-1),
 * capped at 30 s, with "equal jitter" (half fixed, half uniform from rnd). A Retry-After of
 * retry_after_ms (>= 0) replaces it, capped at QP_FETCH_RETRY_AFTER_MAX_S (10 minutes). Pure.
 */
int64_t qp_fetch_backoff_ms(unsigned attempt, int64_t retry_after_ms, uint64_t rnd);

/**
 * A Retry-After of retry_after_s seconds (-1: none, as qp_fetch_parse_retry_after returns it)
 * in milliseconds, capped at QP_FETCH_RETRY_AFTER_MAX_S before the multiplication, so that no
 * value a server sends can overflow; -1 stays -1. Pure.
 */
int64_t qp_fetch_retry_after_ms(int64_t retry_after_s);

/**
 * Parses a Retry-After value: delta-seconds or an HTTP date (IMF-fixdate, RFC 850, asctime),
 * relative to now_s (Unix seconds). Returns the delay in seconds (a past date gives 0), or -1
 * when the value is not valid. Pure.
 */
int64_t qp_fetch_parse_retry_after(const char *value, int64_t now_s);

/** Whether a libcurl error is transient (timeouts, connection and transfer errors). Pure. */
bool qp_fetch_curl_retryable(CURLcode c);

/**
 * Whether a libcurl error says the source is not there (a missing file, a malformed URL, an
 * unsupported protocol, a redirect loop): not worth fetching again on the next run. Pure.
 */
bool qp_fetch_curl_permanent(CURLcode c);

/**
 * Whether a libcurl error means that the transfer failed before any response came from the
 * host (refused, DNS, TLS handshake, or a timeout while still connecting: `connected` false),
 * which counts towards giving the host up. Pure.
 */
bool qp_fetch_curl_connection_failure(CURLcode c, bool connected);

#endif

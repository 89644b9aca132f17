// SPDX-License-Identifier: MIT
/* The fetch stage's retry policy: what is retried, how long to wait, Retry-After. Pure. */
#include "quotepack/fetch_policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "core/compiler.h"

bool qp_fetch_status_retryable(long status)
{
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

int64_t qp_fetch_backoff_ms(unsigned attempt, int64_t retry_after_ms, uint64_t rnd)
{
    if (retry_after_ms >= 0) {
        return CORE_MIN(retry_after_ms, (int64_t)QP_FETCH_RETRY_AFTER_MAX_S * 1000);
    }
    if (attempt < 1) {
        attempt = 1;
    }
    int64_t base = attempt > 7 ? 30000 : CORE_MIN((int64_t)500 << (attempt - 1), (int64_t)30000);
    int64_t half = base / 2;
    return half + (int64_t)(rnd % (uint64_t)(half + 1));
}

int64_t qp_fetch_retry_after_ms(int64_t retry_after_s)
{
    if (retry_after_s < 0) {
        return -1;
    }
    return CORE_MIN(retry_after_s, (int64_t)QP_FETCH_RETRY_AFTER_MAX_S) * 1000;
}

int64_t qp_fetch_parse_retry_after(const char *value, int64_t now_s)
{
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    if (*value == '\0') {
        return -1;
    }
    if (isdigit((unsigned char)*value)) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') {
            end++;
        }
        if (errno != 0 || *end != '\0' || v < 0) {
            return -1;
        }
        return v;
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1) {
        return -1;
    }
    return (int64_t)t > now_s ? (int64_t)t - now_s : 0;
}

bool qp_fetch_curl_retryable(CURLcode c)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

bool qp_fetch_curl_permanent(CURLcode c)
{
    return c == CURLE_FILE_COULDNT_READ_FILE || c == CURLE_REMOTE_FILE_NOT_FOUND ||
           c == CURLE_URL_MALFORMAT || c == CURLE_UNSUPPORTED_PROTOCOL ||
           c == CURLE_TOO_MANY_REDIRECTS;
}

bool qp_fetch_curl_connection_failure(CURLcode c, bool connected)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return true;
    case CURLE_OPERATION_TIMEDOUT:
        return !connected; // timed out while connecting
    default:
        return false;
    }
}

// SPDX-License-Identifier: MIT
/* Unit tests for the fetch retry policy: status and curl error classes, backoff, Retry-After. */
#include "../testlib.h"

#include <curl/curl.h>
#include <stdint.h>

#include "quotepack/fetch_policy.h"

TEST(backoff_doubles_with_equal_jitter_and_caps)
{
    for (uint64_t r = 0; r < 2000; r += 7) {
        int64_t d1 = qp_fetch_backoff_ms(1, -1, r);
        ASSERT_CMP_INT(d1, >=, 250);
        ASSERT_CMP_INT(d1, <=, 500);
        int64_t d3 = qp_fetch_backoff_ms(3, -1, r * 12345);
        ASSERT_CMP_INT(d3, >=, 1000);
        ASSERT_CMP_INT(d3, <=, 2000);
        int64_t d20 = qp_fetch_backoff_ms(20, -1, r * 99991);
        ASSERT_CMP_INT(d20, >=, 15000);
        ASSERT_CMP_INT(d20, <=, 30000);
    }
    ASSERT_TRUE(qp_fetch_backoff_ms(2, -1, 0) != qp_fetch_backoff_ms(2, -1, 377));
}

TEST(backoff_uses_retry_after_capped_at_ten_minutes)
{
    ASSERT_EQ_INT(qp_fetch_backoff_ms(1, 2000, 5), 2000);
    ASSERT_EQ_INT(qp_fetch_backoff_ms(5, 0, 5), 0);
    ASSERT_EQ_INT(qp_fetch_backoff_ms(1, 86400000, 5), 600000);
}

TEST(retry_after_parses_seconds_and_http_dates)
{
    // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
    int64_t t = 1445412480;
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("120", t), 120);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after(" 5\r\n", t), 5);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("0", t), 0);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT\r\n", t - 30), 30);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", t - 7), 7);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("Wed Oct 21 07:28:00 2015", t - 60), 60);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", t + 100), 0);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("soon", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("12abc", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("", t), -1);
}

TEST(backoff_grows_from_half_a_second_to_thirty)
{
    // rnd 0 gives the fixed half of each step, rnd == half the whole step.
    static const int64_t step[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
    for (unsigned a = 1; a <= 9; a++) {
        int64_t base = step[a - 1];
        ASSERT_EQ_INT(qp_fetch_backoff_ms(a, -1, 0), base / 2);
        ASSERT_EQ_INT(qp_fetch_backoff_ms(a, -1, (uint64_t)(base / 2)), base);
    }
    ASSERT_EQ_INT(qp_fetch_backoff_ms(0, -1, 0), 250); // attempt 0 counts as the first retry
    ASSERT_EQ_INT(qp_fetch_backoff_ms(64, -1, 0), 15000);
    ASSERT_EQ_INT(qp_fetch_backoff_ms(UINT32_MAX, -1, 15000), 30000);
    for (uint64_t r = UINT64_MAX - 100; r != 0; r++) {
        ASSERT_CMP_INT(qp_fetch_backoff_ms(40, -1, r), <=, 30000);
    }
}

TEST(backoff_caps_a_huge_retry_after)
{
    ASSERT_EQ_INT(qp_fetch_backoff_ms(1, 600000, 5), 600000);
    ASSERT_EQ_INT(qp_fetch_backoff_ms(1, 600001, 5), 600000);
    ASSERT_EQ_INT(qp_fetch_backoff_ms(3, INT64_MAX, 5), 600000);
}

TEST(retry_after_rejects_garbage)
{
    int64_t t = 1445412480;
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("   ", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("\t\r\n", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("1.5", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("0x10", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("5 6", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("10s", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("Wed, 32 Foo 2015 07:28:00 GMT", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("\x01\xff", t), -1);
}

TEST(retry_after_handles_huge_values)
{
    int64_t t = 1445412480;
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("9223372036854775807", t), INT64_MAX);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("9223372036854775808", t), -1); // out of range
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("99999999999999999999999999", t), -1);
    ASSERT_EQ_INT(qp_fetch_parse_retry_after("000000000000000000000000042", t), 42);
}

TEST(status_classes)
{
    static const long retried[] = { 408, 429, 500, 502, 503, 599 };
    static const long final[] = { -1, 0, 100, 200, 304, 400, 403, 404, 410, 499, 600 };
    for (size_t i = 0; i < sizeof(retried) / sizeof(retried[0]); i++) {
        ASSERT_TRUE(qp_fetch_status_retryable(retried[i]));
    }
    for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++) {
        ASSERT_FALSE(qp_fetch_status_retryable(final[i]));
    }
}

TEST(curl_error_classes)
{
    static const CURLcode transient[] = {
        CURLE_OPERATION_TIMEDOUT,    CURLE_COULDNT_CONNECT,   CURLE_COULDNT_RESOLVE_HOST,
        CURLE_COULDNT_RESOLVE_PROXY, CURLE_RECV_ERROR,        CURLE_SEND_ERROR,
        CURLE_PARTIAL_FILE,          CURLE_GOT_NOTHING,       CURLE_HTTP2,
        CURLE_HTTP2_STREAM,          CURLE_SSL_CONNECT_ERROR,
    };
    static const CURLcode permanent[] = {
        CURLE_FILE_COULDNT_READ_FILE, CURLE_REMOTE_FILE_NOT_FOUND, CURLE_URL_MALFORMAT,
        CURLE_UNSUPPORTED_PROTOCOL,   CURLE_TOO_MANY_REDIRECTS,
    };
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
        ASSERT_TRUE(qp_fetch_curl_retryable(transient[i]));
        ASSERT_FALSE(qp_fetch_curl_permanent(transient[i]));
    }
    for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++) {
        ASSERT_TRUE(qp_fetch_curl_permanent(permanent[i]));
        ASSERT_FALSE(qp_fetch_curl_retryable(permanent[i]));
    }
    // Neither: retried by no one, failed for this run only.
    ASSERT_FALSE(qp_fetch_curl_retryable(CURLE_OK));
    ASSERT_FALSE(qp_fetch_curl_permanent(CURLE_OK));
    ASSERT_FALSE(qp_fetch_curl_retryable(CURLE_WRITE_ERROR));
    ASSERT_FALSE(qp_fetch_curl_permanent(CURLE_WRITE_ERROR));
    ASSERT_FALSE(qp_fetch_curl_retryable(CURLE_PEER_FAILED_VERIFICATION));
    ASSERT_FALSE(qp_fetch_curl_permanent(CURLE_FILESIZE_EXCEEDED));
}

TEST(curl_connection_failures_count_only_before_a_response)
{
    ASSERT_TRUE(qp_fetch_curl_connection_failure(CURLE_COULDNT_CONNECT, false));
    ASSERT_TRUE(qp_fetch_curl_connection_failure(CURLE_COULDNT_RESOLVE_HOST, false));
    ASSERT_TRUE(qp_fetch_curl_connection_failure(CURLE_COULDNT_RESOLVE_PROXY, false));
    ASSERT_TRUE(qp_fetch_curl_connection_failure(CURLE_SSL_CONNECT_ERROR, false));
    ASSERT_TRUE(qp_fetch_curl_connection_failure(CURLE_PEER_FAILED_VERIFICATION, false));
    // A timeout counts only while connecting.
    ASSERT_TRUE(qp_fetch_curl_connection_failure(CURLE_OPERATION_TIMEDOUT, false));
    ASSERT_FALSE(qp_fetch_curl_connection_failure(CURLE_OPERATION_TIMEDOUT, true));
    ASSERT_FALSE(qp_fetch_curl_connection_failure(CURLE_OK, false));
    ASSERT_FALSE(qp_fetch_curl_connection_failure(CURLE_RECV_ERROR, false));
    ASSERT_FALSE(qp_fetch_curl_connection_failure(CURLE_PARTIAL_FILE, true));
    ASSERT_FALSE(qp_fetch_curl_connection_failure(CURLE_GOT_NOTHING, false));
}

/*
 * Regression: fetch.c scaled the parsed Retry-After to ms as retry_after_s * 1000 before any
 * cap, a signed overflow (undefined, an abort under UBSan) for a server's "Retry-After:
 * 99999999999999999". qp_fetch_retry_after_ms caps first.
 */
TEST(retry_after_in_ms_is_capped_before_it_is_scaled)
{
    ASSERT_EQ_INT(qp_fetch_retry_after_ms(-1), -1);
    ASSERT_EQ_INT(qp_fetch_retry_after_ms(0), 0);
    ASSERT_EQ_INT(qp_fetch_retry_after_ms(4), 4000);
    ASSERT_EQ_INT(qp_fetch_retry_after_ms(QP_FETCH_RETRY_AFTER_MAX_S), 600000);
    ASSERT_EQ_INT(qp_fetch_retry_after_ms(QP_FETCH_RETRY_AFTER_MAX_S + 1), 600000);
    int64_t huge = qp_fetch_parse_retry_after("99999999999999999", 0);
    ASSERT_EQ_INT(huge, 99999999999999999LL);
    ASSERT_EQ_INT(qp_fetch_retry_after_ms(huge), 600000);
    ASSERT_EQ_INT(qp_fetch_retry_after_ms(INT64_MAX), 600000);
    ASSERT_EQ_INT(qp_fetch_backoff_ms(1, qp_fetch_retry_after_ms(INT64_MAX), 0), 600000);
}

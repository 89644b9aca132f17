// SPDX-License-Identifier: MIT
/* Unit tests for the fetch stage: backoff, Retry-After parsing, and a run over file:// URLs. */
#include "../testlib.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>

#include "quotepack/fetch.h"

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

TEST(retryable_statuses)
{
    ASSERT_TRUE(qp_fetch_status_retryable(408));
    ASSERT_TRUE(qp_fetch_status_retryable(429));
    ASSERT_TRUE(qp_fetch_status_retryable(500));
    ASSERT_TRUE(qp_fetch_status_retryable(503));
    ASSERT_FALSE(qp_fetch_status_retryable(404));
    ASSERT_FALSE(qp_fetch_status_retryable(403));
    ASSERT_FALSE(qp_fetch_status_retryable(200));
}

struct run_ctx {
    const char *syms[4];
    size_t next;
    int done[4];
    size_t len[4];
    char err[4][256];
};

static enum qp_fetch_admit admit_cb(void *ctx, size_t *idx, const char **symbol)
{
    struct run_ctx *c = ctx;
    if (c->next == 4) {
        return QP_FETCH_ADMIT_DONE;
    }
    *idx = c->next;
    *symbol = c->syms[c->next++];
    return QP_FETCH_ADMIT_OK;
}

static void done_cb(void *ctx, size_t idx, char *body, size_t len, const char *error)
{
    struct run_ctx *c = ctx;
    c->done[idx]++;
    c->len[idx] = len;
    snprintf(c->err[idx], sizeof(c->err[idx]), "%s", error ? error : "");
    free(body);
}

TEST(fetch_runs_file_urls_and_reports_each_symbol_once)
{
    char tmpl[512];
    char path[512];
    struct run_ctx c = { { "A", "B", "MISSING", "BIG" }, 0, { 0 }, { 0 }, { { 0 } } };
    snprintf(path, sizeof(path), "%s/A.csv", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("Date,Open\n2020-01-01,1\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/B.csv", test_tmpdir());
    f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/BIG.csv", test_tmpdir());
    f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    for (int i = 0; i < 3000; i++) {
        fputs("0123456789", f);
    }
    fclose(f);
    snprintf(tmpl, sizeof(tmpl), "file://%s/{symbol}.csv", test_tmpdir());
    ASSERT_EQ_INT(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    struct qp_fetch *fx = NULL;
    struct qp_fetch_config cfg = {
        .url_template = tmpl,
        .connections = 2,
        .rate = 0,
        .retries = 1,
        .timeout_s = 5,
        .max_body = 20000,
        .admit = admit_cb,
        .done = done_cb,
        .ctx = &c,
    };
    ASSERT_OK(qp_fetch_create(&fx, &cfg));
    ASSERT_OK(qp_fetch_run(fx));
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ_INT(c.done[i], 1);
    }
    ASSERT_EQ_INT(c.len[0], 23);
    ASSERT_EQ_STR(c.err[0], "");
    ASSERT_EQ_INT(c.len[1], 0);
    ASSERT_EQ_STR(c.err[1], "");
    ASSERT_TRUE(c.err[2][0] != '\0');
    ASSERT_TRUE(strstr(c.err[3], "cap") != NULL);
    ASSERT_EQ_INT(qp_fetch_requests(fx), 4); // local errors are not retried
    qp_fetch_destroy(fx);
    curl_global_cleanup();
}

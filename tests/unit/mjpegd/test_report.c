// SPDX-License-Identifier: MIT
/* Unit tests for the /state JSON and /metrics writers. */
#include "../testlib.h"

#include <errno.h>

#include "mjpegd/report.h"

static struct mjd_report sample(void)
{
    struct mjd_report r = {
        .source = "test",
        .width = 1280,
        .height = 720,
        .fps = 29.5,
        .target_fps = 30,
        .quality = 75,
        .clients = 3,
        .clients_total = 7,
        .pending = 2,
        .frames_captured = 100,
        .frames_encoded = 98,
        .frames_dropped = 2,
        .bytes_sent = 123456789012ULL,
        .uptime = 12.5,
    };
    return r;
}

TEST(report_json_has_exactly_the_keys)
{
    struct mjd_report r = sample();
    char buf[1024];
    int n = mjd_report_json(&r, buf, sizeof(buf));
    ASSERT_CMP_INT(n, >, 0);
    ASSERT_EQ_INT(strlen(buf), n);
    ASSERT_EQ_STR(buf, "{\"source\":\"test\",\"width\":1280,\"height\":720,\"fps\":29.50,"
                       "\"target_fps\":30,\"quality\":75,\"clients\":3,\"clients_total\":7,"
                       "\"frames_captured\":100,\"frames_encoded\":98,\"frames_dropped\":2,"
                       "\"uptime\":12.500}\n");
}

TEST(report_json_escapes_the_source)
{
    struct mjd_report r = sample();
    r.source = "file:/a \"b\"\\c\n";
    char buf[1024];
    ASSERT_CMP_INT(mjd_report_json(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NOT_NULL(strstr(buf, "\"source\":\"file:/a \\\"b\\\"\\\\c\\u000a\""));
}

TEST(report_json_too_small_buffer)
{
    struct mjd_report r = sample();
    char buf[20];
    ASSERT_EQ_INT(mjd_report_json(&r, buf, sizeof(buf)), -ENOSPC);
    ASSERT_EQ_STR(buf, "");
}

TEST(report_metrics_have_help_and_type)
{
    struct mjd_report r = sample();
    char buf[4096];
    int n = mjd_report_metrics(&r, buf, sizeof(buf));
    ASSERT_CMP_INT(n, >, 0);
    const char *names[] = { "mjpegd_clients",
                            "mjpegd_clients_total",
                            "mjpegd_frames_captured_total",
                            "mjpegd_frames_encoded_total",
                            "mjpegd_frames_dropped_total",
                            "mjpegd_bytes_sent_total",
                            "mjpegd_uptime_seconds" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "# HELP %s ", names[i]);
        ASSERT_NOT_NULL(strstr(buf, want));
        snprintf(want, sizeof(want), "# TYPE %s ", names[i]);
        ASSERT_NOT_NULL(strstr(buf, want));
        snprintf(want, sizeof(want), "\n%s ", names[i]);
        ASSERT_NOT_NULL(strstr(buf, want));
    }
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_bytes_sent_total 123456789012\n"));
    ASSERT_NOT_NULL(strstr(buf, "# TYPE mjpegd_clients gauge\n"));
    ASSERT_NOT_NULL(strstr(buf, "# TYPE mjpegd_clients_total counter\n"));
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_uptime_seconds 12.500\n"));
    ASSERT_EQ_INT(buf[n - 1], '\n');
}

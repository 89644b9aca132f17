// SPDX-License-Identifier: MIT
/* Unit tests for the /state JSON and /metrics writers. */
#include "../testlib.h"

#include <errno.h>

#include "mjpegd/report.h"

static struct mjd_report sample(void)
{
    struct mjd_report r = {
        .clients = 3,
        .clients_total = 7,
        .pending = 2,
        .bytes_sent = 123456789012ULL,
        .playbacks = 1,
        .playbacks_max = 8,
        .playbacks_refused = 4,
        .snapshots_waiting = 2,
        .snapshot_timeouts = 5,
        .uptime = 12.5,
        .version = "1.2.3",
        .nsources = 1,
    };
    r.send_path = "copy";
    r.send_stats.parts[MJD_SEND_COPY] = 40;
    r.sources[0] = (struct mjd_report_source){
        .kind = "test",
        .width = 1280,
        .height = 720,
        .fps = 29.5,
        .target_fps = 30,
        .quality = 75,
        .frames_captured = 100,
        .frames_published = 95,
        .frames_dropped = { [MJD_DROP_BUSY] = 2, [MJD_DROP_STALE] = 1, [MJD_DROP_ERROR] = 0 },
        .frames_in_flight = 2,
        .frames_skipped = 4,
        .last_frame_age = 0.0331,
        .up = true,
    };
    return r;
}

TEST(report_json_has_exactly_the_keys)
{
    struct mjd_report r = sample();
    char buf[2048];
    int n = mjd_report_json(&r, buf, sizeof(buf));
    ASSERT_CMP_INT(n, >, 0);
    ASSERT_EQ_INT(strlen(buf), n);
    ASSERT_EQ_STR(
            buf,
            "{\"version\":\"1.2.3\",\"source\":\"test\",\"width\":1280,\"height\":720,"
            "\"fps\":29.50,\"target_fps\":30,\"quality\":75,\"flip\":\"none\","
            "\"frames_captured\":100,"
            "\"frames_published\":95,\"frames_dropped\":3,"
            "\"frames_dropped_by\":{\"busy\":2,\"stale\":1,\"error\":0,\"same\":0,\"invalid\":0},"
            "\"frames_in_flight\":2,\"frames_skipped\":4,\"status\":\"ok\","
            "\"last_error\":null,\"restarts\":0,\"last_frame_age\":0.033,"
            "\"clients\":3,\"clients_total\":7,\"pending\":2,"
            "\"bytes_sent\":123456789012,\"send_path\":\"copy\","
            "\"send_parts\":{\"splice\":0,\"sendfile\":0,\"copy\":40},"
            "\"uptime\":12.500,"
            "\"playbacks\":{\"active\":1,\"max\":8,\"refused\":4},"
            "\"snapshots\":{\"waiting\":2,\"timeouts\":5}}\n");
    // Before the first frame there is no age.
    r.sources[0].last_frame_age = -1;
    ASSERT_CMP_INT(mjd_report_json(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NOT_NULL(strstr(buf, ",\"last_frame_age\":null,"));
    // --flip done in software (a camera without HFLIP/VFLIP, or any other source).
    r.sources[0].flip = "software";
    ASSERT_CMP_INT(mjd_report_json(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NOT_NULL(strstr(buf, ",\"quality\":75,\"flip\":\"software\",\"frames_captured\":"));
}

TEST(report_json_lists_every_source_when_there_are_several)
{
    struct mjd_report r = sample();
    r.nsources = 2;
    r.sources[1] = r.sources[0];
    r.sources[1].kind = "cam";
    r.sources[1].spec = "cam:/dev/x";
    r.sources[1].status = "idle";
    r.sources[1].clients = 5;
    char buf[4096];
    ASSERT_CMP_INT(mjd_report_json(&r, buf, sizeof(buf)), >, 0);
    ASSERT_TRUE(strncmp(buf, "{\"version\":\"1.2.3\",\"source\":\"test\",", 35) == 0);
    ASSERT_NOT_NULL(
            strstr(buf, ",\"sources\":[{\"index\":0,\"source\":\"test\",\"kind\":\"test\","));
    ASSERT_NOT_NULL(strstr(buf, "},{\"index\":1,\"source\":\"cam:/dev/x\",\"kind\":\"cam\","));
    ASSERT_NOT_NULL(strstr(buf, "\"stream\":\"/stream\",\"snapshot\":\"/snapshot\""));
    ASSERT_NOT_NULL(strstr(buf, "\"status\":\"idle\""));
    ASSERT_NOT_NULL(strstr(buf, "\"stream\":\"/1/stream\",\"snapshot\":\"/1/snapshot\","
                                "\"clients\":5}"));
    ASSERT_NOT_NULL(strstr(buf, "\"status\":\"idle\",\"last_error\":null,\"restarts\":0,"));
}

TEST(report_json_says_a_source_is_retrying_and_why)
{
    struct mjd_report r = sample();
    r.nsources = 2;
    r.sources[1] = r.sources[0];
    r.sources[1].status = "retrying";
    r.sources[1].last_error = "Connection refused";
    r.sources[1].restarts = 3;
    r.sources[1].up = false;
    char buf[4096];
    ASSERT_CMP_INT(mjd_report_json(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NOT_NULL(strstr(buf, "\"status\":\"retrying\",\"last_error\":\"Connection refused\","
                                "\"restarts\":3,"));
    char m[16384];
    ASSERT_CMP_INT(mjd_report_metrics(&r, m, sizeof(m)), >, 0);
    ASSERT_NOT_NULL(strstr(m, "# TYPE mjpegd_source_up gauge\n"));
    ASSERT_NOT_NULL(strstr(m, "\nmjpegd_source_up{source=\"0\"} 1\n"));
    ASSERT_NOT_NULL(strstr(m, "\nmjpegd_source_up{source=\"1\"} 0\n"));
    ASSERT_NOT_NULL(strstr(m, "# TYPE mjpegd_source_restarts_total counter\n"));
    ASSERT_NOT_NULL(strstr(m, "\nmjpegd_source_restarts_total{source=\"1\"} 3\n"));
}

TEST(report_json_escapes_the_source)
{
    struct mjd_report r = sample();
    r.sources[0].kind = "file:/a \"b\"\\c\n";
    char buf[2048];
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
    char buf[8192];
    int n = mjd_report_metrics(&r, buf, sizeof(buf));
    ASSERT_CMP_INT(n, >, 0);
    const char *names[] = { "mjpegd_clients",
                            "mjpegd_streams_started_total",
                            "mjpegd_frames_captured_total",
                            "mjpegd_frames_published_total",
                            "mjpegd_frames_dropped_total",
                            "mjpegd_bytes_sent_total",
                            "mjpegd_playbacks_active",
                            "mjpegd_playbacks_refused_total",
                            "mjpegd_snapshots_waiting",
                            "mjpegd_snapshot_timeouts_total",
                            "mjpegd_uptime_seconds" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "# HELP %s ", names[i]);
        ASSERT_NOT_NULL(strstr(buf, want));
        snprintf(want, sizeof(want), "# TYPE %s ", names[i]);
        ASSERT_NOT_NULL(strstr(buf, want));
    }
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_bytes_sent_total 123456789012\n"));
    ASSERT_NOT_NULL(strstr(buf, "# TYPE mjpegd_clients gauge\n"));
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_streams_started_total 7\n"));
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_frames_dropped_total{reason=\"busy\"} 2\n"));
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_frames_dropped_total{reason=\"stale\"} 1\n"));
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_uptime_seconds 12.500\n"));
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_last_frame_age_seconds 0.033\n"));
    ASSERT_NOT_NULL(
            strstr(buf, "# TYPE mjpegd_playbacks_active gauge\nmjpegd_playbacks_active 1\n"));
    ASSERT_NOT_NULL(strstr(buf, "# TYPE mjpegd_playbacks_refused_total counter\n"
                                "mjpegd_playbacks_refused_total 4\n"));
    ASSERT_NOT_NULL(
            strstr(buf, "# TYPE mjpegd_snapshots_waiting gauge\nmjpegd_snapshots_waiting 2\n"));
    ASSERT_NOT_NULL(strstr(buf, "# TYPE mjpegd_snapshot_timeouts_total counter\n"
                                "mjpegd_snapshot_timeouts_total 5\n"));
    // No family is another's name plus _total (one family under OpenMetrics).
    ASSERT_NULL(strstr(buf, "mjpegd_clients_total"));
    ASSERT_EQ_INT(buf[n - 1], '\n');
}

TEST(report_metrics_label_each_source_when_there_are_several)
{
    struct mjd_report r = sample();
    r.nsources = 2;
    r.sources[1] = r.sources[0];
    r.sources[1].frames_captured = 55;
    char buf[16384];
    ASSERT_CMP_INT(mjd_report_metrics(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_frames_captured_total{source=\"0\"} 100\n"));
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_frames_captured_total{source=\"1\"} 55\n"));
    ASSERT_NOT_NULL(strstr(buf, "\nmjpegd_frames_dropped_total{source=\"1\",reason=\"busy\"} 2\n"));
    // One HELP/TYPE per family, however many sources.
    const char *first = strstr(buf, "# TYPE mjpegd_frames_captured_total");
    ASSERT_NOT_NULL(first);
    ASSERT_NULL(strstr(first + 1, "# TYPE mjpegd_frames_captured_total"));
}

TEST(report_recording_fields_in_state_and_metrics)
{
    struct mjd_report r = sample();
    struct mjd_report_source *s = &r.sources[0];
    s->recorded = true;
    s->rec = (struct mjd_recorder_stats){ .dir = "/var/rec",
                                          .segments = 4,
                                          .bytes = 4096,
                                          .frames = 120,
                                          .bytes_written = 5000,
                                          .dropped_queue = 2,
                                          .dropped_error = 3,
                                          .deleted = 1,
                                          .errors = 1 };
    snprintf(s->rec.segment, sizeof(s->rec.segment), "20261203T101500Z-9.tar");
    char buf[16384];
    ASSERT_CMP_INT(mjd_report_json(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NOT_NULL(strstr(buf, "\"recording\":{\"dir\":\"/var/rec\",\"segment\":"
                                "\"20261203T101500Z-9.tar\",\"segments\":4,\"bytes\":4096,"
                                "\"dropped\":5,\"frames\":120,\"deleted\":1,\"error\":null}"));
    snprintf(s->rec.error, sizeof(s->rec.error), "disk \"full\"");
    s->rec.segment[0] = '\0';
    ASSERT_CMP_INT(mjd_report_json(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NOT_NULL(strstr(buf, "\"segment\":null"));
    ASSERT_NOT_NULL(strstr(buf, "\"error\":\"disk \\\"full\\\"\"}"));
    ASSERT_CMP_INT(mjd_report_metrics(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NOT_NULL(strstr(buf, "mjpegd_record_dropped_total{source=\"0\",reason=\"queue\"} 2\n"));
    ASSERT_NOT_NULL(strstr(buf, "mjpegd_record_dropped_total{source=\"0\",reason=\"error\"} 3\n"));
    ASSERT_NOT_NULL(strstr(buf, "mjpegd_record_up{source=\"0\"} 0\n"));
    ASSERT_NOT_NULL(strstr(buf, "mjpegd_record_frames_total{source=\"0\"} 120\n"));
    // Not recorded: no recording key, no mjpegd_record_* family.
    s->recorded = false;
    ASSERT_CMP_INT(mjd_report_metrics(&r, buf, sizeof(buf)), >, 0);
    ASSERT_NULL(strstr(buf, "mjpegd_record_"));
}

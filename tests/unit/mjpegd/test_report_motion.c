// SPDX-License-Identifier: MIT
/* Unit tests for the motion keys of /state and /metrics (report.c). */
#include "../testlib.h"

#include "mjpegd/report.h"

/* One recorded source; motion detection on with a score of 12.25 (active) when `on`. */
static struct mjd_report two_sources(bool on)
{
    struct mjd_report r = { .uptime = 1.0, .version = "1", .nsources = 2 };
    for (size_t i = 0; i < 2; i++) {
        r.sources[i] = (struct mjd_report_source){
            .kind = "test", .width = 640, .height = 480, .fps = 20, .target_fps = 20, .up = true
        };
    }
    struct mjd_report_source *s = &r.sources[1];
    s->recorded = true;
    s->rec = (struct mjd_recorder_stats){ .dir = "/rec", .motion = on };
    if (on) {
        s->rec.motion_score = 12.25;
        s->rec.motion_active = true;
    }
    return r;
}

TEST(report_motion_score_in_state_and_metrics)
{
    struct mjd_report r = two_sources(true);
    char buf[32768];
    ASSERT_TRUE(mjd_report_json(&r, buf, sizeof(buf)) > 0);
    ASSERT_TRUE(strstr(buf, "\"motion\":{\"score\":12.25,\"active\":true}") != NULL);
    // Only the source that detects motion has the key.
    const char *first = strstr(buf, "\"motion\":");
    ASSERT_TRUE(first != NULL && strstr(first + 1, "\"motion\":") == NULL);
    ASSERT_TRUE(mjd_report_metrics(&r, buf, sizeof(buf)) > 0);
    ASSERT_TRUE(strstr(buf, "# TYPE mjpegd_motion_score gauge\n") != NULL);
    ASSERT_TRUE(strstr(buf, "mjpegd_motion_score{source=\"1\"} 12.250\n") != NULL);
    ASSERT_TRUE(strstr(buf, "mjpegd_motion_active{source=\"1\"} 1\n") != NULL);
    ASSERT_TRUE(strstr(buf, "mjpegd_motion_score{source=\"0\"}") == NULL);

    // Recorded without motion detection: neither the key nor the families.
    r = two_sources(false);
    ASSERT_TRUE(mjd_report_json(&r, buf, sizeof(buf)) > 0);
    ASSERT_TRUE(strstr(buf, "\"motion\"") == NULL);
    ASSERT_TRUE(mjd_report_metrics(&r, buf, sizeof(buf)) > 0);
    ASSERT_TRUE(strstr(buf, "mjpegd_motion_") == NULL);
}

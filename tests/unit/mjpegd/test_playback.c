// SPDX-License-Identifier: MIT
/* Unit tests for playback's parsers: ?at= times, segment names, routes, segment indexes. */
#include "../testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mjpegd/playback_index.h"
#include "mjpegd/playback_time.h"
#include "mjpegd/recordings.h"
#include "mjpegd/route.h"

static int at(const char *s, int64_t *us)
{
    return mjd_playback_parse_time(s, strlen(s), us);
}

TEST(playback_time_unix_seconds)
{
    int64_t us = 0;
    ASSERT_EQ_INT(at("1764754567", &us), 0);
    ASSERT_TRUE(us == 1764754567000000LL);
    ASSERT_EQ_INT(at("1764754567.25", &us), 0);
    ASSERT_TRUE(us == 1764754567250000LL);
    ASSERT_EQ_INT(at("1764754567.1234567", &us), 0); // truncated to microseconds
    ASSERT_TRUE(us == 1764754567123456LL);
    ASSERT_EQ_INT(at("0", &us), 0);
    ASSERT_TRUE(us == 0);
    ASSERT_EQ_INT(at("", &us), -EINVAL);
    ASSERT_EQ_INT(at("12.", &us), -EINVAL);
    ASSERT_EQ_INT(at("-5", &us), -EINVAL);
    ASSERT_EQ_INT(at("12x", &us), -EINVAL);
    ASSERT_EQ_INT(at("1e9", &us), -EINVAL);
    ASSERT_EQ_INT(at("9999999999999", &us), -EINVAL);
}

TEST(playback_time_iso8601)
{
    int64_t us = 0;
    ASSERT_EQ_INT(at("2025-12-03T09:36:07Z", &us), 0);
    ASSERT_TRUE(us == 1764754567000000LL);
    ASSERT_EQ_INT(at("2025-12-03T09:36:07.5Z", &us), 0);
    ASSERT_TRUE(us == 1764754567500000LL);
    ASSERT_EQ_INT(at("2025-12-03T09:36:07,5Z", &us), 0);
    ASSERT_TRUE(us == 1764754567500000LL);
    ASSERT_EQ_INT(at("2025-12-03 09:36:07", &us), 0); // no zone: UTC
    ASSERT_TRUE(us == 1764754567000000LL);
    ASSERT_EQ_INT(at("2025-12-03T10:36:07+01:00", &us), 0);
    ASSERT_TRUE(us == 1764754567000000LL);
    ASSERT_EQ_INT(at("2025-12-03T10:36:07 01:00", &us), 0); // a query's decoded '+'
    ASSERT_TRUE(us == 1764754567000000LL);
    ASSERT_EQ_INT(at("2025-12-03T04:06:07-0530", &us), 0);
    ASSERT_TRUE(us == 1764754567000000LL);
    ASSERT_EQ_INT(at("2025-12-03T11:36:07+02", &us), 0);
    ASSERT_TRUE(us == 1764754567000000LL);
    ASSERT_EQ_INT(at("20251203T093607Z", &us), 0); // the segment names' basic form
    ASSERT_TRUE(us == 1764754567000000LL);
    ASSERT_EQ_INT(at("1970-01-01T00:00:00Z", &us), 0);
    ASSERT_TRUE(us == 0);
    ASSERT_EQ_INT(at("2024-02-29T00:00:00Z", &us), 0);
    ASSERT_TRUE(us == 1709164800000000LL);
    ASSERT_EQ_INT(at("2000-03-01T00:00:00Z", &us), 0);
    ASSERT_TRUE(us == 951868800000000LL);
}

TEST(playback_time_iso8601_rejects)
{
    int64_t us = 0;
    const char *bad[] = {
        "2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z",      "2025-13-01T00:00:00Z",
        "2025-00-01T00:00:00Z", "2025-12-32T00:00:00Z",      "2025-12-03T24:00:00Z",
        "2025-12-03T09:60:00Z", "2025-12-03T09:36:07ZZ",     "2025-12-03T09:36Z",
        "2025-12-03",           "2025-12-03T09:36:07+25:00", "2025-12-03T09:36:07+01:0",
        "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00", "2025-12-03T09:36:07.Z",
        "20251203T0936Z",       "2025-1-03T09:36:07Z",       "2025-12-03x09:36:07Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (at(bad[i], &us) != -EINVAL) {
            fprintf(stderr, "accepted %s\n", bad[i]);
            ASSERT_TRUE(false);
        }
    }
    // Not NUL-terminated: only len bytes are read.
    ASSERT_EQ_INT(mjd_playback_parse_time("12345xyz", 5, &us), 0);
    ASSERT_TRUE(us == 12345000000LL);
}

TEST(playback_segment_names)
{
    ASSERT_TRUE(mjd_recordings_name_ok("20251203T093607Z-1.tar", 22));
    ASSERT_TRUE(mjd_recordings_name_ok("cam_1-a.b", 9));
    ASSERT_FALSE(mjd_recordings_name_ok("", 0));
    ASSERT_FALSE(mjd_recordings_name_ok("..", 2));
    ASSERT_FALSE(mjd_recordings_name_ok(".tar", 4));
    ASSERT_FALSE(mjd_recordings_name_ok("a/b", 3));
    ASSERT_FALSE(mjd_recordings_name_ok("a b", 3));
    ASSERT_FALSE(mjd_recordings_name_ok("a\\b", 3));
    ASSERT_FALSE(mjd_recordings_name_ok("a\0b", 3));
    char longname[MJD_RECORDINGS_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname));
    ASSERT_TRUE(mjd_recordings_name_ok(longname, MJD_RECORDINGS_NAME_MAX));
    ASSERT_FALSE(mjd_recordings_name_ok(longname, MJD_RECORDINGS_NAME_MAX + 1));
}

static int route(const char *t, struct mjd_route *r)
{
    return mjd_route_resolve(t, strlen(t), r);
}

TEST(playback_routes)
{
    struct mjd_route r;
    ASSERT_EQ_INT(route("/recordings", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_RECORDINGS);
    ASSERT_EQ_INT(route("/recordings/?x=1", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_RECORDINGS);
    ASSERT_EQ_INT(route("/recordings/20251203T093607Z-1.tar", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_RECORDING);
    ASSERT_EQ_STR(r.name, "20251203T093607Z-1.tar");
    ASSERT_FALSE(r.has_at);
    ASSERT_EQ_INT(route("/recordings/s.tar?at=2025-12-03T10:36:07%2B01:00&x", &r), 0);
    ASSERT_TRUE(r.has_at);
    ASSERT_TRUE(r.at_us == 1764754567000000LL);
    ASSERT_EQ_INT(route("/recordings/s.tar?at=soon", &r), 400);
    ASSERT_EQ_INT(route("/recordings/s.tar?at=", &r), 400);
    ASSERT_EQ_INT(route("/recordings/a/b.tar", &r), 400);
    ASSERT_EQ_INT(route("/recordings/.x", &r), 400);
    ASSERT_EQ_INT(route("/recordings/%2e%2e%2f%2e%2e%2fetc", &r), 400);
    ASSERT_EQ_INT(route("/recordings/../state", &r), 0); // normalised: /state
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_STATE);
    ASSERT_EQ_INT(route("/recordingsx", &r), 0);
    ASSERT_EQ_INT(r.kind, MJD_ROUTE_NOT_FOUND);
}

TEST(playback_index_parse)
{
    struct mjd_play_index ix;
    const char ok[] = "100\t512\t10\n200\t1536\t20\n\0\0\0";
    ASSERT_EQ_INT(mjd_playback_index_parse(ok, sizeof(ok) - 1, 4096, &ix), 0);
    ASSERT_EQ_INT((int)ix.n, 2);
    ASSERT_TRUE(ix.frames[1].wall_us == 200 && ix.frames[1].off == 1536 && ix.frames[1].len == 20);
    ASSERT_EQ_INT((int)mjd_playback_index_seek(&ix, 0), 0);
    ASSERT_EQ_INT((int)mjd_playback_index_seek(&ix, 150), 1);
    ASSERT_EQ_INT((int)mjd_playback_index_seek(&ix, 200), 1);
    ASSERT_EQ_INT((int)mjd_playback_index_seek(&ix, 201), 2);
    mjd_playback_index_release(&ix);
    const char *bad[] = {
        "",                /* no frame */
        "100\t512\t10",    /* no newline */
        "100\t512\n",      /* two fields */
        "100\t4090\t10\n", /* past the end of the file */
        "100\t512\t0\n",   /* empty frame */
        "x\t512\t10\n",    /* not a number */
        "100\t-1\t10\n",   /* negative */
        "100 512 10\n",    /* spaces */
        "99999999999999999999\t1\t1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ_INT(mjd_playback_index_parse(bad[i], strlen(bad[i]), 4096, &ix), -EINVAL);
        ASSERT_NULL(ix.frames);
    }
    const char big[] = "1\t0\t40000000\n";
    ASSERT_EQ_INT(mjd_playback_index_parse(big, sizeof(big) - 1, 1u << 30, &ix), -EFBIG);
}

/* A ustar header for a member of size bytes. */
static void header(unsigned char h[512], const char *name, size_t size)
{
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 124, 12, "%011zo", size);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
}

TEST(playback_index_load_walks_the_tar)
{
    char path[] = "/tmp/mjd_playback_XXXXXX";
    int fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    unlink(path);
    unsigned char h[512];
    unsigned char data[512] = { 0xff, 0xd8, 0xff, 0xd9 };
    // Two frames, then an index member, then the end blocks.
    header(h, "1000.jpg", 4);
    ASSERT_EQ_INT((int)write(fd, h, 512), 512);
    ASSERT_EQ_INT((int)write(fd, data, 512), 512);
    header(h, "2000.jpg", 3);
    ASSERT_EQ_INT((int)write(fd, h, 512), 512);
    ASSERT_EQ_INT((int)write(fd, data, 512), 512);
    const char idx[] = "1000\t512\t4\n2000\t1536\t3\n";
    header(h, "index.tsv", sizeof(idx) - 1);
    ASSERT_EQ_INT((int)write(fd, h, 512), 512);
    unsigned char blk[512] = { 0 };
    memcpy(blk, idx, sizeof(idx) - 1);
    ASSERT_EQ_INT((int)write(fd, blk, 512), 512);
    memset(blk, 0, sizeof(blk));
    ASSERT_EQ_INT((int)write(fd, blk, 512), 512);
    ASSERT_EQ_INT((int)write(fd, blk, 512), 512);
    uint64_t size = 6 * 512;
    struct mjd_play_index ix;
    // From the index member's header, from its data, and with no usable offset (the walk).
    int64_t offsets[] = { 2048, 2560, 0, 7, 100000 };
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        ASSERT_EQ_INT(mjd_playback_index_load(fd, size, offsets[i], &ix), 0);
        ASSERT_EQ_INT((int)ix.n, 2);
        ASSERT_TRUE(ix.frames[0].wall_us == 1000 && ix.frames[0].off == 512 &&
                    ix.frames[0].len == 4);
        ASSERT_TRUE(ix.frames[1].wall_us == 2000 && ix.frames[1].off == 1536 &&
                    ix.frames[1].len == 3);
        mjd_playback_index_release(&ix);
    }
    // A member that claims more bytes than the file has: the frames before it are kept.
    header(h, "3000.jpg", 1u << 20);
    ASSERT_EQ_INT((int)pwrite(fd, h, 512, 2048), 512);
    ASSERT_EQ_INT(mjd_playback_index_load(fd, size, 0, &ix), 0);
    ASSERT_EQ_INT((int)ix.n, 2);
    mjd_playback_index_release(&ix);
    // Not a tar at all.
    memset(h, 'x', 512);
    ASSERT_EQ_INT((int)pwrite(fd, h, 512, 0), 512);
    ASSERT_EQ_INT(mjd_playback_index_load(fd, size, 0, &ix), -EINVAL);
    close(fd);
}

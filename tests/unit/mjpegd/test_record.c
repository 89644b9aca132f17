// SPDX-License-Identifier: MIT
/* Unit tests for recording: options, the segment format, the catalog, recovery, retention. */
#include "../testlib.h"
#include "config_args.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mjpegd/config.h"
#include "mjpegd/record/catalog.h"
#include "mjpegd/record/recover.h"
#include "mjpegd/record/retention.h"
#include "mjpegd/record/segment.h"

static enum mjd_config_result parse(struct mjd_config *cfg, const char *const *args)
{
    return mjd_test_parse_args(cfg, args);
}

TEST(record_options_are_per_source)
{
    struct mjd_config cfg;
    const char *a[] = { "--segment", "2.5",         "--source", "test",        "--record",
                        "/tmp/r",    "--keep-size", "3M",       "--keep-days", "7",
                        "--source",  "test",        NULL };
    ASSERT_EQ_INT(parse(&cfg, a), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.nsources, 2);
    ASSERT_EQ_STR(cfg.sources[0].record_dir, "/tmp/r");
    ASSERT_EQ_U64(cfg.sources[0].keep_size, 3u << 20);
    ASSERT_EQ_INT(cfg.sources[0].keep_days, 7);
    ASSERT_EQ_U64(cfg.sources[0].segment_ns, 2500000000LL);
    ASSERT_EQ_INT(cfg.sources[0].record_on, MJD_RECORD_ALWAYS);
    ASSERT_EQ_STR(cfg.sources[1].record_dir, "");
    ASSERT_EQ_U64(cfg.sources[1].segment_ns, 2500000000LL);
    ASSERT_EQ_U64(cfg.sources[1].keep_size, 0);

    const char *b[] = { "--record-on", "motion", "--keep-size", "1000", NULL };
    ASSERT_EQ_INT(parse(&cfg, b), MJD_CONFIG_RUN);
    ASSERT_EQ_INT(cfg.sources[0].record_on, MJD_RECORD_MOTION);
    ASSERT_EQ_U64(cfg.sources[0].keep_size, 1000);
    ASSERT_EQ_U64(cfg.sources[0].segment_ns, 60000000000LL);

    const char *bad[][3] = { { "--keep-size", "1X", NULL },
                             { "--keep-size", "-1", NULL },
                             { "--keep-size", "99999999999T", NULL },
                             { "--record-on", "never", NULL },
                             { "--segment", "0", NULL },
                             { "--keep-days", "36501", NULL } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ_INT(parse(&cfg, bad[i]), MJD_CONFIG_USAGE);
    }
}

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", test_tmpdir(), name);
}

/* A fake JPEG of n bytes starting with SOI. */
static void fake_jpeg(unsigned char *buf, size_t n, unsigned char fill)
{
    memset(buf, fill, n);
    buf[0] = 0xff;
    buf[1] = 0xd8;
}

/* Writes a committed segment of frames frames into dir, starting at start_us. */
static void write_segment(const char *dir, int64_t start_us, uint64_t seq, unsigned frames,
                          struct mjd_rec_row *row)
{
    struct mjd_rec_segment s;
    memset(&s, 0, sizeof(s));
    char top[512];
    snprintf(top, sizeof(top), "%s", dir);
    *strrchr(top, '/') = '\0';
    ASSERT_OK(mjd_rec_segment_open(&s, top, dir, start_us, seq));
    unsigned char jpeg[1000];
    for (unsigned i = 0; i < frames; i++) {
        fake_jpeg(jpeg, 600 + i, (unsigned char)i);
        ASSERT_OK(mjd_rec_segment_add(&s, jpeg, 600 + i, start_us + (int64_t)i * 33333));
    }
    ASSERT_OK(mjd_rec_segment_commit(&s, row));
    mjd_rec_segment_release(&s);
}

TEST(record_segment_layout_and_read_back)
{
    char name[MJD_REC_NAME_MAX];
    mjd_rec_segment_name(name, 1764755696123456LL, 42);
    ASSERT_EQ_STR(name, "20251203T095456Z-000000000042.tar");
    // Zero-padded: names of one second sort by sequence, so by time.
    char later[MJD_REC_NAME_MAX];
    mjd_rec_segment_name(later, 1764755696923456LL, 113);
    ASSERT_CMP_INT(strcmp(name, later), <, 0);

    char dir[512];
    path_in(dir, sizeof(dir), "seg");
    ASSERT_OK(mkdir(dir, 0755));
    struct mjd_rec_row row;
    write_segment(dir, 1764755696000000LL, 7, 5, &row);
    ASSERT_EQ_STR(row.name, "20251203T095456Z-000000000007.tar");
    ASSERT_EQ_U64(row.frames, 5);
    ASSERT_EQ_U64(row.start_us, 1764755696000000LL);
    ASSERT_EQ_U64(row.end_us, 1764755696000000LL + 4LL * 33333);

    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, row.name);
    struct stat st;
    ASSERT_OK(stat(path, &st));
    ASSERT_EQ_U64(row.bytes, (uint64_t)st.st_size);
    // The first member's header is at 0, its data at 512, named by its capture time.
    int fd = open(path, O_RDONLY);
    ASSERT_CMP_INT(fd, >=, 0);
    char hdr[512];
    ASSERT_EQ_INT(pread(fd, hdr, sizeof(hdr), 0), 512);
    ASSERT_EQ_STR(hdr, "1764755696000000.jpg");
    unsigned char soi[2];
    ASSERT_EQ_INT(pread(fd, soi, 2, 512), 2);
    ASSERT_EQ_INT(soi[0], 0xff);
    ASSERT_EQ_INT(soi[1], 0xd8);
    // index.tsv's first line names the first frame, its offset and length.
    char idx[64];
    ASSERT_EQ_INT(pread(fd, idx, 22, (off_t)row.index_offset), 22);
    idx[22] = '\0';
    ASSERT_EQ_STR(idx, "1764755696000000\t512\t6");
    close(fd);

    struct mjd_rec_row back;
    memset(&back, 0, sizeof(back));
    ASSERT_OK(mjd_rec_read_segment(path, &back));
    ASSERT_EQ_U64(back.frames, 5);
    ASSERT_EQ_U64(back.start_us, row.start_us);
    ASSERT_EQ_U64(back.end_us, row.end_us);
    ASSERT_EQ_U64(back.index_offset, row.index_offset);
    ASSERT_EQ_U64(back.bytes, row.bytes);

    // The same first second and sequence (a restarted process): the next free number.
    struct mjd_rec_row again;
    write_segment(dir, 1764755696500000LL, 7, 1, &again);
    ASSERT_EQ_STR(again.name, "20251203T095456Z-000000000008.tar");
    // Another source recording into the same top directory: names stay unique in the catalog,
    // also against a segment still being written.
    char other[600];
    path_in(other, sizeof(other), "seg2");
    ASSERT_OK(mkdir(other, 0755));
    struct mjd_rec_segment open_one;
    memset(&open_one, 0, sizeof(open_one));
    ASSERT_OK(mjd_rec_segment_open(&open_one, test_tmpdir(), dir, 1764755696000000LL, 9));
    ASSERT_EQ_STR(open_one.name, "20251203T095456Z-000000000009.tar");
    struct mjd_rec_row third;
    write_segment(other, 1764755696700000LL, 7, 1, &third);
    ASSERT_EQ_STR(third.name, "20251203T095456Z-000000000010.tar");
    mjd_rec_segment_abort(&open_one);
    mjd_rec_segment_release(&open_one);
}

TEST(record_segment_capture_time_never_goes_back)
{
    char dir[512];
    path_in(dir, sizeof(dir), "back");
    ASSERT_OK(mkdir(dir, 0755));
    struct mjd_rec_segment s;
    memset(&s, 0, sizeof(s));
    ASSERT_OK(mjd_rec_segment_open(&s, test_tmpdir(), dir, 2000000, 1));
    unsigned char jpeg[16];
    fake_jpeg(jpeg, sizeof(jpeg), 1);
    ASSERT_OK(mjd_rec_segment_add(&s, jpeg, sizeof(jpeg), 2000000));
    ASSERT_OK(mjd_rec_segment_add(&s, jpeg, sizeof(jpeg), 1000000)); // the clock was set back
    struct mjd_rec_row row;
    ASSERT_OK(mjd_rec_segment_commit(&s, &row));
    mjd_rec_segment_release(&s);
    ASSERT_EQ_U64(row.end_us, 2000001);
}

TEST(record_catalog_recovery_and_retention)
{
    char top[512];
    path_in(top, sizeof(top), "rec");
    ASSERT_OK(mkdir(top, 0755));
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/0", top);
    ASSERT_OK(mkdir(dir, 0755));
    struct mjd_rec_catalog *cat = NULL;
    ASSERT_OK(mjd_rec_catalog_open(&cat, top));

    // Three committed segments, only the first listed (a crash before the others' inserts),
    // plus a temp file of one being written.
    struct mjd_rec_row rows[3];
    for (int i = 0; i < 3; i++) {
        write_segment(dir, 1000000000000LL + i * 10000000LL, (uint64_t)(1 + i * 10), 10, &rows[i]);
    }
    snprintf(rows[0].source, sizeof(rows[0].source), "0");
    snprintf(rows[0].reason, sizeof(rows[0].reason), "always");
    ASSERT_OK(mjd_rec_catalog_insert(cat, &rows[0]));
    char tmp[700];
    snprintf(tmp, sizeof(tmp), "%s/.20010909T014700Z-99.tar.tmp", dir);
    int fd = open(tmp, O_CREAT | O_WRONLY, 0644);
    ASSERT_CMP_INT(fd, >=, 0);
    ASSERT_EQ_INT(write(fd, "partial", 7), 7);
    close(fd);
    // And a row whose file was removed by hand.
    struct mjd_rec_row ghost = rows[0];
    snprintf(ghost.name, sizeof(ghost.name), "19700101T000000Z-1.tar");
    ASSERT_OK(mjd_rec_catalog_insert(cat, &ghost));

    struct mjd_rec_recovery rec;
    ASSERT_OK(mjd_rec_recover(cat, dir, "0", "always", &rec));
    ASSERT_EQ_INT(rec.temp_removed, 1);
    ASSERT_EQ_INT(rec.listed, 2);
    ASSERT_EQ_INT(rec.rows_dropped, 1);
    ASSERT_EQ_INT(access(tmp, F_OK), -1);
    uint64_t count = 0;
    uint64_t bytes = 0;
    ASSERT_OK(mjd_rec_catalog_totals(cat, "0", &count, &bytes));
    ASSERT_EQ_U64(count, 3);
    ASSERT_EQ_U64(bytes, rows[0].bytes + rows[1].bytes + rows[2].bytes);
    bool found = false;
    ASSERT_OK(mjd_rec_catalog_has(cat, rows[2].name, &found));
    ASSERT_TRUE(found);
    // A second pass has nothing to do.
    ASSERT_OK(mjd_rec_recover(cat, dir, "0", "always", &rec));
    ASSERT_EQ_INT(rec.temp_removed + rec.listed + rec.rows_dropped, 0);

    // A reader's connection sees the rows; it cannot write.
    struct mjd_rec_catalog *ro = NULL;
    ASSERT_OK(mjd_rec_catalog_open_readonly(&ro, top));
    struct mjd_rec_row got;
    ASSERT_OK(mjd_rec_catalog_find(ro, rows[1].name, &got, &found));
    ASSERT_TRUE(found);
    ASSERT_EQ_U64(got.frames, 10);
    ASSERT_EQ_U64(got.index_offset, rows[1].index_offset);
    ASSERT_EQ_STR(got.source, "0");
    ASSERT_EQ_STR(got.reason, "always");
    ASSERT_OK(mjd_rec_catalog_find(ro, "nope.tar", &got, &found));
    ASSERT_FALSE(found);
    ASSERT_CMP_INT(mjd_rec_catalog_delete(ro, rows[1].name), <, 0);
    mjd_rec_catalog_close(ro);

    // Retention by size: the oldest goes first, row and file.
    struct mjd_rec_retained del;
    ASSERT_OK(
            mjd_rec_retain(cat, dir, "0", rows[1].bytes + rows[2].bytes, 0, rows[2].end_us, &del));
    ASSERT_EQ_U64(del.deleted, 1);
    ASSERT_EQ_U64(del.freed, rows[0].bytes);
    char p[700];
    snprintf(p, sizeof(p), "%s/%s", dir, rows[0].name);
    ASSERT_EQ_INT(access(p, F_OK), -1);
    struct mjd_rec_row oldest;
    ASSERT_OK(mjd_rec_catalog_oldest(cat, "0", &oldest, &found));
    ASSERT_TRUE(found);
    ASSERT_EQ_STR(oldest.name, rows[1].name);
    // Another source's rows are not counted.
    ASSERT_OK(mjd_rec_catalog_totals(cat, "1", &count, &bytes));
    ASSERT_EQ_U64(count, 0);
    // Retention by age: a day after the newest ended, both remaining go.
    ASSERT_OK(mjd_rec_retain(cat, dir, "0", 0, 1, rows[2].end_us + 86400LL * 1000000 + 1, &del));
    ASSERT_EQ_U64(del.deleted, 2);
    ASSERT_OK(mjd_rec_catalog_totals(cat, "0", &count, &bytes));
    ASSERT_EQ_U64(count, 0);
    mjd_rec_catalog_close(cat);
}

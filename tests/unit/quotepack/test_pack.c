// SPDX-License-Identifier: MIT
/* Unit tests for archive writing: every format and level read back by libarchive. */
#include "../testlib.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <unistd.h>

#include "quotepack/pack.h"

static void round_trip(enum qp_format format, enum qp_level level)
{
    const char *names[] = { "A.xml", "EMPTY.xml", "BIG.xml" };
    size_t big_len = 3u << 20; // spans several 1 MiB libdeflate members
    char *big = malloc(big_len);
    ASSERT_NOT_NULL(big);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (char)("<Row>\t1.25</Row>\n"[i % 17] + (i / 4096) % 3);
    }
    const char *data[] = { "<?xml version=\"1.0\"?>\n<Data/>\n", "", big };
    size_t lens[] = { strlen(data[0]), 0, big_len };
    char name[64];
    snprintf(name, sizeof(name), "quotes-000000%s", qp_pack_ext(format));
    struct qp_pack *p = NULL;
    uint64_t bytes = 0;
    ASSERT_OK(qp_pack_create(&p, test_tmpdir(), name, format, level));
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(qp_pack_add(p, names[i], data[i], lens[i], 1700000000));
    }
    ASSERT_OK(qp_pack_commit(p, &bytes));
    qp_pack_destroy(p);

    char path[512];
    snprintf(path, sizeof(path), "%s/.%s.tmp", test_tmpdir(), name);
    ASSERT_TRUE(access(path, F_OK) != 0);
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
    struct archive *ar = archive_read_new();
    archive_read_support_filter_all(ar);
    archive_read_support_format_all(ar);
    ASSERT_EQ_INT(archive_read_open_filename(ar, path, 65536), ARCHIVE_OK);
    struct archive_entry *e;
    char *buf = malloc(big_len + 1);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_INT(archive_read_next_header(ar, &e), ARCHIVE_OK);
        ASSERT_EQ_STR(archive_entry_pathname(e), names[i]);
        ASSERT_EQ_INT(archive_entry_size(e), lens[i]);
        size_t got = 0;
        la_ssize_t n;
        while ((n = archive_read_data(ar, buf + got, big_len + 1 - got)) > 0) {
            got += (size_t)n;
        }
        ASSERT_EQ_INT(n, 0);
        ASSERT_EQ_INT(got, lens[i]);
        ASSERT_EQ_MEM(buf, data[i], lens[i]);
    }
    ASSERT_EQ_INT(archive_read_next_header(ar, &e), ARCHIVE_EOF);
    archive_read_free(ar);
    ASSERT_CMP_INT(bytes, <, big_len / 4); // it did compress
    free(buf);
    free(big);
}

TEST(tgz_fast_round_trip)
{
    round_trip(QP_FORMAT_TGZ, QP_LEVEL_FAST);
}

TEST(tgz_default_round_trip)
{
    round_trip(QP_FORMAT_TGZ, QP_LEVEL_DEFAULT);
}

TEST_WITH_TIMEOUT(tgz_best_round_trip, 30)
{
    round_trip(QP_FORMAT_TGZ, QP_LEVEL_BEST);
}

TEST(tzst_round_trip)
{
    round_trip(QP_FORMAT_TZST, QP_LEVEL_FAST);
}

TEST(destroy_without_commit_removes_the_temp_file)
{
    struct qp_pack *p = NULL;
    char path[512];
    ASSERT_OK(qp_pack_create(&p, test_tmpdir(), "quotes-000001.tgz", QP_FORMAT_TGZ, QP_LEVEL_FAST));
    ASSERT_OK(qp_pack_add(p, "X.xml", "abc", 3, 0));
    snprintf(path, sizeof(path), "%s/.quotes-000001.tgz.tmp", test_tmpdir());
    ASSERT_TRUE(access(path, F_OK) == 0);
    qp_pack_destroy(p);
    ASSERT_TRUE(access(path, F_OK) != 0);
    snprintf(path, sizeof(path), "%s/quotes-000001.tgz", test_tmpdir());
    ASSERT_TRUE(access(path, F_OK) != 0);
}

TEST(create_in_a_missing_directory_fails_cleanly)
{
    struct qp_pack *p = NULL;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/nope", test_tmpdir());
    ASSERT_EQ_INT(qp_pack_create(&p, dir, "x.tgz", QP_FORMAT_TGZ, QP_LEVEL_FAST), -ENOENT);
    ASSERT_NULL(p);
}

TEST(incompressible_member_round_trips)
{
    size_t len = 300000;
    unsigned char *data = malloc(len);
    ASSERT_NOT_NULL(data);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (unsigned char)x;
    }
    for (int level = 0; level < 3; level++) {
        struct qp_pack *p = NULL;
        uint64_t bytes = 0;
        ASSERT_OK(qp_pack_create(&p, test_tmpdir(), "r.tgz", QP_FORMAT_TGZ, (enum qp_level)level));
        ASSERT_OK(qp_pack_add(p, "R.xml", data, len, 0));
        ASSERT_OK(qp_pack_commit(p, &bytes));
        qp_pack_destroy(p);
        char path[512];
        snprintf(path, sizeof(path), "%s/r.tgz", test_tmpdir());
        struct archive *ar = archive_read_new();
        archive_read_support_filter_all(ar);
        archive_read_support_format_all(ar);
        ASSERT_EQ_INT(archive_read_open_filename(ar, path, 65536), ARCHIVE_OK);
        struct archive_entry *e;
        ASSERT_EQ_INT(archive_read_next_header(ar, &e), ARCHIVE_OK);
        unsigned char *back = malloc(len);
        size_t got = 0;
        la_ssize_t n;
        while (got < len && (n = archive_read_data(ar, back + got, len - got)) > 0) {
            got += (size_t)n;
        }
        ASSERT_EQ_INT(got, len);
        ASSERT_EQ_MEM(back, data, len);
        free(back);
        ASSERT_EQ_INT(archive_read_next_header(ar, &e), ARCHIVE_EOF);
        archive_read_free(ar);
    }
    free(data);
}

TEST(ustar_header_checksum_and_limits)
{
    unsigned char h[512];
    ASSERT_OK(qp_pack_ustar_header(h, "AAPL.xml", 1234, 1700000000));
    ASSERT_EQ_STR((const char *)h, "AAPL.xml");
    ASSERT_EQ_STR((const char *)h + 124, "00000002322");
    ASSERT_EQ_MEM(h + 257,
                  "ustar\0"
                  "00",
                  8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) {
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    }
    ASSERT_EQ_INT(strtoul((const char *)h + 148, NULL, 8), sum);
    char longname[120];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ASSERT_EQ_INT(qp_pack_ustar_header(h, longname, 1, 0), -ENAMETOOLONG);
    ASSERT_EQ_INT(qp_pack_ustar_header(h, "big", (uint64_t)1 << 33, 0), -EFBIG);
}

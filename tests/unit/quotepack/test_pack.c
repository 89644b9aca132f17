// SPDX-License-Identifier: MIT
/* Unit tests for archive writing: entries framed and compressed by member.c, spooled, packed. */
#include "../testlib.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <unistd.h>

#include "quotepack/member.h"
#include "quotepack/pack.h"
#include "quotepack/spool.h"

/* Spools each (name, data) as an entry, in pieces of `piece` bytes, then packs them all. */
static void make_archive(const char *name, enum qp_format format, enum qp_level level,
                         const char *const *names, const char *const *data, const size_t *lens,
                         size_t n, size_t piece, uint64_t *bytes)
{
    struct qp_spool *sp = NULL;
    struct qp_spool_writer *w = NULL;
    struct qp_member *m = NULL;
    struct qp_spool_rec *recs = calloc(n, sizeof(*recs));
    ASSERT_NOT_NULL(recs);
    ASSERT_OK(qp_spool_open(&sp, test_tmpdir()));
    ASSERT_OK(qp_spool_writer_create(sp, &w));
    ASSERT_OK(qp_member_create(&m, format, level));
    for (size_t i = 0; i < n; i++) {
        uint64_t seg = 0, off = 0;
        struct qp_member_info info;
        ASSERT_OK(qp_spool_writer_begin(w, &seg, &off));
        ASSERT_OK(qp_member_begin(m, names[i], 1700000000, qp_spool_writer_append, w));
        for (size_t o = 0; o < lens[i]; o += piece) {
            size_t k = lens[i] - o < piece ? lens[i] - o : piece;
            ASSERT_OK(qp_member_write(m, data[i] + o, k));
        }
        ASSERT_OK(qp_member_end(m, &info));
        ASSERT_EQ_U64(info.xml_len, lens[i]);
        // An entry of more than one piece has its header in a frame of its own.
        ASSERT_EQ_INT(info.hdr_len > 0, lens[i] > QP_MEMBER_PIECE);
        qp_spool_writer_commit(w, info.data_len, info.hdr_len, &recs[i]);
    }
    char *end = NULL;
    size_t end_len = 0;
    ASSERT_OK(qp_member_end_of_archive(format, level, &end, &end_len));
    struct qp_pack *p = NULL;
    ASSERT_OK(qp_pack_create(&p, test_tmpdir(), name));
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK(qp_pack_add_record(p, sp, &recs[i]));
    }
    ASSERT_OK(qp_pack_commit(p, end, end_len, bytes));
    qp_pack_destroy(p);
    for (size_t i = 0; i < n; i++) {
        qp_spool_release(sp, &recs[i]);
    }
    free(end);
    free(recs);
    qp_member_destroy(m);
    qp_spool_writer_destroy(w);
    size_t segs = 9, peak = 0;
    qp_spool_counts(sp, &segs, &peak);
    ASSERT_EQ_INT(segs, 0); // every segment went with its last record
    qp_spool_finish(sp);
    qp_spool_close(sp);
}

static void read_back(const char *name, const char *const *names, const char *const *data,
                      const size_t *lens, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/.%s.tmp", test_tmpdir(), name);
    ASSERT_TRUE(access(path, F_OK) != 0);
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
    struct archive *ar = archive_read_new();
    archive_read_support_filter_all(ar);
    archive_read_support_format_all(ar);
    ASSERT_EQ_INT(archive_read_open_filename(ar, path, 65536), ARCHIVE_OK);
    struct archive_entry *e;
    size_t big = 0;
    for (size_t i = 0; i < n; i++) {
        big = lens[i] > big ? lens[i] : big;
    }
    char *buf = malloc(big + 1);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ_INT(archive_read_next_header(ar, &e), ARCHIVE_OK);
        ASSERT_EQ_STR(archive_entry_pathname(e), names[i]);
        ASSERT_EQ_INT(archive_entry_size(e), lens[i]);
        ASSERT_EQ_INT(archive_entry_mtime(e), 1700000000);
        size_t got = 0;
        la_ssize_t k;
        while ((k = archive_read_data(ar, buf + got, big + 1 - got)) > 0) {
            got += (size_t)k;
        }
        ASSERT_EQ_INT(k, 0);
        ASSERT_EQ_INT(got, lens[i]);
        ASSERT_EQ_MEM(buf, data[i], lens[i]);
    }
    ASSERT_EQ_INT(archive_read_next_header(ar, &e), ARCHIVE_EOF);
    archive_read_free(ar);
    free(buf);
}

static void round_trip(enum qp_format format, enum qp_level level)
{
    size_t big_len = (5u << 20) / 2; // 2.5 pieces: header frame, three data frames
    char *big = malloc(big_len);
    ASSERT_NOT_NULL(big);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (char)("<Row>\t1.25</Row>\n"[i % 17] + (i / 4096) % 3);
    }
    static char exact[QP_MEMBER_PIECE]; // exactly one piece: still one frame
    memset(exact, 'e', sizeof(exact));
    const char *names[] = { "A.xml", "EMPTY.xml", "BIG.xml", "EXACT.xml" };
    const char *data[] = { "<?xml version=\"1.0\"?>\n<Data/>\n", "", big, exact };
    size_t lens[] = { strlen(data[0]), 0, big_len, sizeof(exact) };
    char name[64];
    qp_pack_name(name, sizeof(name), 0, format);
    uint64_t bytes = 0;
    make_archive(name, format, level, names, data, lens, 4, 100000, &bytes);
    read_back(name, names, data, lens, 4);
    ASSERT_CMP_INT(bytes, <, big_len / 4); // it did compress
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

TEST_WITH_TIMEOUT(tzst_best_round_trip, 30)
{
    round_trip(QP_FORMAT_TZST, QP_LEVEL_BEST);
}

TEST(destroy_without_commit_removes_the_temp_file)
{
    struct qp_pack *p = NULL;
    char path[512];
    ASSERT_OK(qp_pack_create(&p, test_tmpdir(), "quotes-000001.tgz"));
    ASSERT_OK(qp_pack_add_frames(p, "abc", 3));
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
    ASSERT_EQ_INT(qp_pack_create(&p, dir, "x.tgz"), -ENOENT);
    ASSERT_NULL(p);
}

TEST(incompressible_member_round_trips)
{
    size_t len = 300000;
    char *data = malloc(len);
    ASSERT_NOT_NULL(data);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (char)x;
    }
    const char *names[] = { "R.xml" };
    const char *d[] = { data };
    for (int f = 0; f < 2; f++) {
        for (int level = 0; level < 3; level++) {
            char name[64];
            uint64_t bytes = 0;
            qp_pack_name(name, sizeof(name), (uint64_t)(f * 3 + level), (enum qp_format)f);
            make_archive(name, (enum qp_format)f, (enum qp_level)level, names, d, &len, 1, len,
                         &bytes);
            read_back(name, names, d, &len, 1);
        }
    }
    free(data);
}

TEST(ustar_header_checksum_and_limits)
{
    unsigned char h[512];
    ASSERT_OK(qp_member_ustar_header(h, "AAPL.xml", 1234, 1700000000));
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
    ASSERT_EQ_INT(qp_member_ustar_header(h, longname, 1, 0), -ENAMETOOLONG);
    // 8 GiB and more: base-256 (what GNU tar writes), big-endian after a 0x80 byte.
    uint64_t huge = ((uint64_t)1 << 33) + 5;
    ASSERT_OK(qp_member_ustar_header(h, "big", huge, 0));
    ASSERT_EQ_INT(h[124], 0x80);
    uint64_t v = 0;
    for (int i = 1; i < 12; i++) {
        v = (v << 8) | h[124 + i];
    }
    ASSERT_EQ_U64(v, huge);
}

TEST(archive_names_are_matched_in_one_place)
{
    char n[64];
    qp_pack_name(n, sizeof(n), 42, QP_FORMAT_TGZ);
    ASSERT_EQ_STR(n, "quotes-000042.tgz");
    qp_pack_name(n, sizeof(n), 1234567, QP_FORMAT_TZST);
    ASSERT_EQ_STR(n, "quotes-1234567.tar.zst");
    ASSERT_EQ_INT(qp_pack_name_kind("quotes-000042.tgz"), QP_PACK_NAME_ARCHIVE);
    ASSERT_EQ_INT(qp_pack_name_kind("quotes-000042-2.tgz"), QP_PACK_NAME_ARCHIVE);
    ASSERT_EQ_INT(qp_pack_name_kind("quotes-000042.tar.zst"), QP_PACK_NAME_ARCHIVE);
    ASSERT_EQ_INT(qp_pack_name_kind(".quotes-000042.tgz.tmp"), QP_PACK_NAME_TEMP);
    ASSERT_EQ_INT(qp_pack_name_kind(".quotes-000042.tar.zst.tmp"), QP_PACK_NAME_TEMP);
    const char *other[] = { "quotes-.tgz",   "quotes-12a.tgz",  "quotes-1-.tgz", "quotes-1.tgz.bak",
                            "xquotes-1.tgz", "quotes-1.zip",    ".quotes-1.tgz", "catalog.sqlite",
                            ".spool",        "quotes-1--2.tgz", ".quotes-1.tmp" };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        if (qp_pack_name_kind(other[i]) != QP_PACK_NAME_OTHER) {
            test_fail(__FILE__, __LINE__, "%s matched", other[i]);
        }
    }
}

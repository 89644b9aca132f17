// SPDX-License-Identifier: MIT
/* Unit tests for the spool: segments, records, release, adoption after a restart, pruning. */
#include "../testlib.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quotepack/spool.h"

static void put(struct qp_spool_writer *w, const char *data, struct qp_spool_rec *rec)
{
    uint64_t seg = 0, off = 0;
    ASSERT_OK(qp_spool_writer_begin(w, &seg, &off));
    ASSERT_OK(qp_spool_writer_append(w, data, strlen(data)));
    qp_spool_writer_commit(w, strlen(data), 0, rec);
    ASSERT_EQ_U64(rec->seg, seg);
    ASSERT_EQ_U64(rec->off, off);
}

static size_t files_in(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    unsigned long n = 0;
    ASSERT_TRUE(fscanf(p, "%lu", &n) == 1);
    pclose(p);
    return n;
}

TEST(records_share_a_segment_and_it_goes_with_the_last_one)
{
    struct qp_spool *sp = NULL;
    struct qp_spool_writer *w = NULL;
    struct qp_spool_rec a, b, c;
    char dir[600], buf[16];
    snprintf(dir, sizeof(dir), "%s/%s", test_tmpdir(), QP_SPOOL_DIR);
    ASSERT_OK(qp_spool_open(&sp, test_tmpdir()));
    ASSERT_OK(qp_spool_writer_create(sp, &w));
    put(w, "alpha", &a);
    // An aborted record leaves nothing: the next one takes its place.
    uint64_t seg = 0, off = 0;
    ASSERT_OK(qp_spool_writer_begin(w, &seg, &off));
    ASSERT_OK(qp_spool_writer_append(w, "garbage", 7));
    qp_spool_writer_abort(w);
    put(w, "beta", &b);
    put(w, "gamma", &c);
    ASSERT_EQ_U64(a.seg, b.seg);
    ASSERT_EQ_U64(b.off, 5);
    ASSERT_EQ_U64(c.off, 9);
    ASSERT_EQ_INT(files_in(dir), 1); // three records, one file
    ASSERT_OK(qp_spool_pread(sp, b.seg, b.off, buf, 4));
    ASSERT_EQ_MEM(buf, "beta", 4);
    qp_spool_release(sp, &a);
    qp_spool_release(sp, &b);
    qp_spool_writer_destroy(w); // the writer leaves; c still holds the segment
    ASSERT_EQ_INT(files_in(dir), 1);
    qp_spool_release(sp, &c);
    ASSERT_EQ_INT(files_in(dir), 0);
    qp_spool_finish(sp);
    struct stat st;
    ASSERT_TRUE(stat(dir, &st) != 0);
    qp_spool_close(sp);
}

TEST(a_restart_adopts_what_the_catalog_keeps_and_prunes_the_rest)
{
    struct qp_spool *sp = NULL;
    struct qp_spool_writer *w1 = NULL, *w2 = NULL;
    struct qp_spool_rec keep, drop, other;
    char dir[600], buf[8], junk[700];
    snprintf(dir, sizeof(dir), "%s/%s", test_tmpdir(), QP_SPOOL_DIR);
    ASSERT_OK(qp_spool_open(&sp, test_tmpdir()));
    ASSERT_OK(qp_spool_writer_create(sp, &w1));
    ASSERT_OK(qp_spool_writer_create(sp, &w2));
    put(w1, "keepme", &keep);
    put(w1, "dropme", &drop);
    put(w2, "other", &other);
    ASSERT_NE_INT(keep.seg, other.seg); // one segment per writer
    // A crash: nothing is released, files stay. Plus a stray body file.
    snprintf(junk, sizeof(junk), "%s/body-1-2.csv", dir);
    FILE *f = fopen(junk, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    // The run ends without releasing anything (as if killed): the files stay.
    qp_spool_writer_destroy(w1);
    qp_spool_writer_destroy(w2);
    qp_spool_close(sp);
    ASSERT_EQ_INT(files_in(dir), 3);

    ASSERT_OK(qp_spool_open(&sp, test_tmpdir()));
    ASSERT_OK(qp_spool_adopt(sp, &keep));
    struct qp_spool_rec too_long = keep;
    too_long.data_len = 1000;
    ASSERT_EQ_INT(qp_spool_adopt(sp, &too_long), -ENOENT);
    ASSERT_OK(qp_spool_prune(sp));
    ASSERT_EQ_INT(files_in(dir), 1); // keep's segment; other's and the body file are gone
    ASSERT_OK(qp_spool_pread(sp, keep.seg, keep.off, buf, 6));
    ASSERT_EQ_MEM(buf, "keepme", 6);
    // New segments are numbered after the old ones.
    struct qp_spool_writer *w = NULL;
    struct qp_spool_rec n;
    ASSERT_OK(qp_spool_writer_create(sp, &w));
    put(w, "new", &n);
    ASSERT_CMP_INT(n.seg, >, other.seg);
    qp_spool_writer_destroy(w);
    qp_spool_release(sp, &n);
    qp_spool_release(sp, &keep);
    ASSERT_EQ_INT(files_in(dir), 0);
    qp_spool_close(sp);
}

// SPDX-License-Identifier: MIT
/* Unit tests for the shared archive writer: commit, abort, faults, and a libarchive read-back. */
#include "../testlib.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/tar.h"
#include "archive/writer.h"

static void path_of(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", test_tmpdir(), name);
}

static int exists(const char *name)
{
    char p[512];
    path_of(p, sizeof(p), name);
    return access(p, F_OK) == 0;
}

/* Reads DIR/name with libarchive; every entry's name and data must match. */
static void read_back(const char *name, const char *const *names, const char *const *data,
                      const size_t *lens, size_t n)
{
    char path[512];
    path_of(path, sizeof(path), name);
    struct archive *ar = archive_read_new();
    archive_read_support_filter_all(ar);
    archive_read_support_format_all(ar);
    ASSERT_EQ_INT(archive_read_open_filename(ar, path, 65536), ARCHIVE_OK);
    struct archive_entry *e;
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ_INT(archive_read_next_header(ar, &e), ARCHIVE_OK);
        ASSERT_EQ_STR(archive_entry_pathname(e), names[i]);
        ASSERT_EQ_U64((uint64_t)archive_entry_size(e), lens[i]);
        char *got = malloc(lens[i] + 1);
        ASSERT_NOT_NULL(got);
        la_ssize_t r = archive_read_data(ar, got, lens[i] + 1);
        ASSERT_EQ_U64((uint64_t)r, lens[i]);
        ASSERT_EQ_MEM(got, data[i], lens[i]);
        free(got);
    }
    ASSERT_EQ_INT(archive_read_next_header(ar, &e), ARCHIVE_EOF);
    archive_read_free(ar);
}

TEST(archive_members_from_memory_and_in_pieces_read_back_with_libarchive)
{
    size_t big_len = 3 * 100000 + 17; // not a multiple of a block
    char *big = malloc(big_len);
    ASSERT_NOT_NULL(big);
    for (size_t i = 0; i < big_len; i++) {
        big[i] = (char)('a' + i % 23);
    }
    const char *names[] = { "small.txt", "empty", "pieces.bin", "block" };
    char block[512];
    memset(block, 'x', sizeof(block));
    const char *data[] = { "hello\n", "", big, block };
    const size_t lens[] = { 6, 0, big_len, sizeof(block) };

    struct arc_writer *w = NULL;
    ASSERT_OK(arc_writer_open(&w, test_tmpdir(), "seg.tar"));
    ASSERT_TRUE(exists(".seg.tar.tmp"));
    ASSERT_FALSE(exists("seg.tar"));
    ASSERT_OK(arc_tar_add(w, names[0], data[0], lens[0], 1700000000));
    ASSERT_OK(arc_tar_add(w, names[1], data[1], lens[1], 1700000000));
    struct arc_tar_member m;
    ASSERT_OK(arc_tar_begin(w, &m, names[2], 1700000001));
    for (size_t o = 0; o < big_len; o += 100000) {
        size_t k = big_len - o < 100000 ? big_len - o : 100000;
        ASSERT_OK(arc_tar_data(w, &m, big + o, k));
    }
    ASSERT_OK(arc_tar_end(w, &m));
    ASSERT_OK(arc_tar_add(w, names[3], data[3], lens[3], 0));
    ASSERT_OK(arc_tar_finish(w));
    ASSERT_EQ_U64(arc_writer_bytes(w) % 512, 0);
    ASSERT_OK(arc_writer_commit(w));
    ASSERT_FALSE(exists(".seg.tar.tmp"));
    ASSERT_TRUE(exists("seg.tar"));
    struct stat st;
    char p[512];
    path_of(p, sizeof(p), "seg.tar");
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ_U64((uint64_t)st.st_size, arc_writer_bytes(w));
    arc_writer_close(w); // committed: stays
    ASSERT_TRUE(exists("seg.tar"));
    read_back("seg.tar", names, data, lens, 4);
    free(big);
}

TEST(archive_close_without_commit_unlinks_the_temp_file)
{
    struct arc_writer *w = NULL;
    ASSERT_OK(arc_writer_open(&w, test_tmpdir(), "a.tar"));
    ASSERT_OK(arc_tar_add(w, "x", "abc", 3, 0));
    arc_writer_close(w);
    ASSERT_FALSE(exists(".a.tar.tmp"));
    ASSERT_FALSE(exists("a.tar"));
    arc_writer_close(NULL);
}

TEST(archive_open_replaces_a_stale_temp_file)
{
    char p[512];
    path_of(p, sizeof(p), ".b.tar.tmp");
    FILE *f = fopen(p, "w");
    ASSERT_NOT_NULL(f);
    fputs("stale bytes from a crashed run", f);
    fclose(f);
    struct arc_writer *w = NULL;
    ASSERT_OK(arc_writer_open(&w, test_tmpdir(), "b.tar"));
    ASSERT_OK(arc_tar_finish(w));
    ASSERT_OK(arc_writer_commit(w));
    arc_writer_close(w);
    path_of(p, sizeof(p), "b.tar");
    struct stat st;
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ_U64((uint64_t)st.st_size, 1024);
}

TEST(archive_a_failed_rename_leaves_nothing_under_the_final_name)
{
    // The final name is a non-empty directory, so rename() fails: commit reports it and the
    // abort removes the temp file, leaving the directory as it was.
    char p[512];
    path_of(p, sizeof(p), "c.tar");
    ASSERT_OK(mkdir(p, 0755));
    path_of(p, sizeof(p), "c.tar/keep");
    FILE *f = fopen(p, "w");
    ASSERT_NOT_NULL(f);
    fclose(f);
    struct arc_writer *w = NULL;
    ASSERT_OK(arc_writer_open(&w, test_tmpdir(), "c.tar"));
    ASSERT_OK(arc_tar_add(w, "x", "abc", 3, 0));
    int rc = arc_writer_commit(w);
    ASSERT_TRUE(rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST);
    ASSERT_TRUE(exists(".c.tar.tmp"));      // still there until the abort
    ASSERT_NE_INT(arc_writer_commit(w), 0); // no second try on a closed file
    arc_writer_close(w);
    ASSERT_FALSE(exists(".c.tar.tmp"));
    ASSERT_TRUE(exists("c.tar/keep"));
}

TEST(archive_a_temp_file_unlinked_under_the_writer_fails_the_commit)
{
    // Someone (a cleanup, an operator) removes the temp file while it is written: the data
    // goes to an unlinked inode, the rename finds no file, and nothing appears as final.
    struct arc_writer *w = NULL;
    ASSERT_OK(arc_writer_open(&w, test_tmpdir(), "d.tar"));
    char p[512];
    path_of(p, sizeof(p), ".d.tar.tmp");
    ASSERT_OK(unlink(p));
    ASSERT_OK(arc_tar_add(w, "x", "abc", 3, 0));
    ASSERT_EQ_INT(arc_writer_commit(w), -ENOENT);
    arc_writer_close(w); // unlinking a missing file is harmless
    ASSERT_FALSE(exists("d.tar"));
    ASSERT_FALSE(exists(".d.tar.tmp"));
}

TEST(archive_open_fails_cleanly)
{
    struct arc_writer *w = (struct arc_writer *)1;
    char p[512];
    path_of(p, sizeof(p), "no/such/dir");
    ASSERT_EQ_INT(arc_writer_open(&w, p, "e.tar"), -ENOENT);
    ASSERT_NULL(w);
    w = (struct arc_writer *)1;
    ASSERT_EQ_INT(arc_writer_open(&w, test_tmpdir(), "a/b"), -EINVAL);
    ASSERT_NULL(w);
    ASSERT_EQ_INT(arc_writer_open(&w, test_tmpdir(), ""), -EINVAL);
    ASSERT_EQ_INT(arc_fsync_dir(p), -ENOENT);
    ASSERT_OK(arc_fsync_dir(test_tmpdir()));
}

TEST(archive_tar_names_and_pwrite_bounds)
{
    unsigned char hdr[ARC_TAR_BLOCK];
    char long_name[101];
    memset(long_name, 'n', 100);
    long_name[100] = '\0';
    ASSERT_EQ_INT(arc_tar_header(hdr, long_name, 1, 0), -ENAMETOOLONG);
    ASSERT_EQ_INT(arc_tar_header(hdr, "", 1, 0), -ENAMETOOLONG);
    long_name[99] = '\0';
    ASSERT_OK(arc_tar_header(hdr, long_name, (uint64_t)1 << 34, 0));
    ASSERT_EQ_INT(hdr[124], 0x80); // base-256 size
    struct arc_writer *w = NULL;
    ASSERT_OK(arc_writer_open(&w, test_tmpdir(), "f.tar"));
    struct arc_tar_member m;
    ASSERT_EQ_INT(arc_tar_begin(w, &m, "", 0), -ENAMETOOLONG);
    ASSERT_OK(arc_writer_write(w, "0123", 4));
    ASSERT_EQ_INT(arc_writer_pwrite(w, "ab", 2, 3), -EINVAL); // past what is written
    ASSERT_OK(arc_writer_pwrite(w, "ab", 2, 2));
    arc_writer_close(w);
    ASSERT_FALSE(exists(".f.tar.tmp"));
}

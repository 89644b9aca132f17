// SPDX-License-Identifier: MIT
/* Unit tests for stream parts: bytes, segments, seals, references, the no-memfd fallback. */
#include "../testlib.h"

#include <errno.h>
#include <fcntl.h>

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mjpegd/part.h"

#define WALL_NS  1700000000123456789LL
#define TAIL_STR "\r\n--" MJD_PART_BOUNDARY "\r\n"

static struct core_buf *jpeg_buf(size_t len)
{
    struct core_buf *b = NULL;
    if (core_buf_create(&b, len) != 0) {
        test_fail(__FILE__, __LINE__, "core_buf_create");
    }
    for (size_t i = 0; i < len; i++) {
        b->data[i] = (unsigned char)(i * 7 + i / 251);
    }
    b->data[0] = 0xff;
    b->data[1] = 0xd8;
    return b;
}

/* The bytes a part of jpeg must hold, built independently of part.c; the caller frees. */
static unsigned char *expected_bytes(const struct core_buf *jpeg, size_t *len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n"
                     "X-Timestamp: 1700000000.123456\r\n\r\n",
                     jpeg->len);
    size_t tail = strlen(TAIL_STR);
    *len = (size_t)n + jpeg->len + tail;
    unsigned char *e = malloc(*len);
    ASSERT_NOT_NULL(e);
    memcpy(e, head, (size_t)n);
    memcpy(e + n, jpeg->data, jpeg->len);
    memcpy(e + (size_t)n + jpeg->len, TAIL_STR, tail);
    return e;
}

static struct mjd_part *make_part(struct core_buf *jpeg, unsigned flags)
{
    struct mjd_part *p = NULL;
    ASSERT_OK(mjd_part_create(&p, jpeg, WALL_NS, flags));
    ASSERT_NOT_NULL(p);
    return p;
}

TEST(part_holds_head_jpeg_and_the_next_boundary)
{
    struct core_buf *jpeg = jpeg_buf(5000);
    struct mjd_part *p = make_part(jpeg, 0);
    size_t elen;
    unsigned char *e = expected_bytes(jpeg, &elen);
    ASSERT_EQ_U64(mjd_part_len(p), elen);
    ASSERT_TRUE(mjd_part_jpeg(p) == jpeg);
    // The memfd holds exactly the part's bytes, and so do the in-memory segments.
    int fd = mjd_part_fd(p);
    ASSERT_CMP_INT(fd, >=, 0);
    unsigned char *got = malloc(elen + 1);
    ASSERT_NOT_NULL(got);
    ASSERT_EQ_INT(pread(fd, got, elen + 1, 0), elen);
    ASSERT_EQ_MEM(got, e, elen);
    size_t blen;
    ASSERT_EQ_STR(mjd_part_first_boundary(&blen), "--" MJD_PART_BOUNDARY "\r\n");
    ASSERT_EQ_U64(blen, strlen("--" MJD_PART_BOUNDARY "\r\n"));
    free(got);
    free(e);
    mjd_part_unref(p);
    core_buf_unref(jpeg);
}

TEST(part_segments_from_every_offset_are_the_rest_of_the_part)
{
    struct core_buf *jpeg = jpeg_buf(300);
    struct mjd_part *p = make_part(jpeg, MJD_PART_NO_MEMFD);
    size_t elen;
    unsigned char *e = expected_bytes(jpeg, &elen);
    for (size_t off = 0; off <= elen; off++) {
        struct iovec iov[3];
        int n = mjd_part_iov(p, off, iov);
        ASSERT_CMP_INT(n, <=, 3);
        ASSERT_EQ_INT(n == 0, off == elen);
        size_t at = off;
        for (int i = 0; i < n; i++) {
            ASSERT_CMP_INT(iov[i].iov_len, >, 0);
            ASSERT_CMP_INT(at + iov[i].iov_len, <=, elen);
            ASSERT_EQ_MEM(iov[i].iov_base, e + at, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        ASSERT_EQ_U64(at, elen);
    }
    free(e);
    mjd_part_unref(p);
    core_buf_unref(jpeg);
}

TEST(part_memfd_is_sealed_against_any_rewrite)
{
    struct core_buf *jpeg = jpeg_buf(5000);
    struct mjd_part *p = make_part(jpeg, 0);
    int fd = mjd_part_fd(p);
    ASSERT_CMP_INT(fd, >=, 0);
    int seals = fcntl(fd, F_GET_SEALS);
    int want = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    ASSERT_EQ_INT(seals & want, want);
    // Pages a socket may still hold can be neither written, resized nor mapped writable.
    ASSERT_EQ_INT(pwrite(fd, "x", 1, 10), -1);
    ASSERT_EQ_INT(errno, EPERM);
    ASSERT_EQ_INT(ftruncate(fd, 10), -1);
    ASSERT_EQ_INT(errno, EPERM);
    ASSERT_EQ_INT(ftruncate(fd, 1 << 20), -1);
    ASSERT_EQ_INT(errno, EPERM);
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ASSERT_TRUE(m == MAP_FAILED);
    ASSERT_EQ_INT(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
    ASSERT_EQ_INT(errno, EPERM);
    mjd_part_unref(p);
    core_buf_unref(jpeg);
}

TEST(part_last_reference_closes_the_memfd_and_releases_the_jpeg)
{
    struct core_buf *jpeg = jpeg_buf(1000);
    struct mjd_part *p = make_part(jpeg, 0);
    ASSERT_EQ_INT(core_buf_refcount(jpeg), 2);
    int fd = mjd_part_fd(p);
    ASSERT_CMP_INT(fd, >=, 0);
    ASSERT_TRUE(mjd_part_ref(p) == p);
    mjd_part_unref(p);
    ASSERT_CMP_INT(fcntl(fd, F_GETFD), >=, 0);
    ASSERT_EQ_INT(core_buf_refcount(jpeg), 2);
    mjd_part_unref(p);
    ASSERT_EQ_INT(fcntl(fd, F_GETFD), -1);
    ASSERT_EQ_INT(errno, EBADF);
    ASSERT_EQ_INT(core_buf_refcount(jpeg), 1);
    mjd_part_unref(NULL);
    core_buf_unref(jpeg);
}

TEST(part_rejects_an_empty_jpeg)
{
    struct core_buf *jpeg = NULL;
    ASSERT_OK(core_buf_create(&jpeg, 0));
    struct mjd_part *p = (struct mjd_part *)1;
    ASSERT_EQ_INT(mjd_part_create(&p, jpeg, WALL_NS, 0), -EINVAL);
    ASSERT_NULL(p);
    ASSERT_EQ_INT(core_buf_refcount(jpeg), 1);
    core_buf_unref(jpeg);
}

TEST(part_falls_back_to_copy_when_memfd_is_refused)
{
    // No fd left for memfd_create: the part is still made, copy-only.
    struct rlimit old;
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
    struct rlimit low = { 64, old.rlim_max };
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low));
    int fds[64];
    int nfds = 0;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            ASSERT_EQ_INT(errno, EMFILE);
            break;
        }
        ASSERT_CMP_INT(nfds, <, 64);
        fds[nfds++] = fd;
    }
    struct core_buf *jpeg = jpeg_buf(1000);
    struct mjd_part *p = make_part(jpeg, 0);
    ASSERT_EQ_INT(mjd_part_fd(p), -1);
    for (int i = 0; i < nfds; i++) {
        close(fds[i]);
    }
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old));
    // The in-memory segments still hold the whole part.
    size_t elen;
    unsigned char *e = expected_bytes(jpeg, &elen);
    ASSERT_EQ_U64(mjd_part_len(p), elen);
    struct iovec iov[3];
    size_t at = 0;
    int n = mjd_part_iov(p, 0, iov);
    for (int i = 0; i < n; i++) {
        ASSERT_EQ_MEM(iov[i].iov_base, e + at, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    ASSERT_EQ_U64(at, elen);
    free(e);
    mjd_part_unref(p);
    core_buf_unref(jpeg);
}

struct churn {
    struct mjd_part *p;
    int rounds;
};

static void *churn_refs(void *arg)
{
    struct churn *c = arg;
    for (int i = 0; i < c->rounds; i++) {
        struct mjd_part *mine = mjd_part_ref(c->p);
        struct iovec iov[3];
        (void)mjd_part_iov(mine, (size_t)i % mjd_part_len(mine), iov);
        mjd_part_unref(mine);
    }
    return NULL;
}

TEST(part_references_are_shared_across_threads)
{
    struct core_buf *jpeg = jpeg_buf(1000);
    struct mjd_part *p = make_part(jpeg, 0);
    pthread_t t[4];
    struct churn c = { p, 20000 };
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ_INT(pthread_create(&t[i], NULL, churn_refs, &c), 0);
    }
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ_INT(pthread_join(t[i], NULL), 0);
    }
    ASSERT_EQ_INT(core_buf_refcount(jpeg), 2);
    mjd_part_unref(p);
    ASSERT_EQ_INT(core_buf_refcount(jpeg), 1);
    core_buf_unref(jpeg);
}

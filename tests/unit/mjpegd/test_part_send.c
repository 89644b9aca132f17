// SPDX-License-Identifier: MIT
/* Unit tests for part senders: splice, sendfile and copy paths, partial sends, fallbacks. */
#include "../testlib.h"

#include <errno.h>
#include <fcntl.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "mjpegd/part_send.h"

#define WALL_NS 1700000000123456789LL

static struct core_buf *jpeg_buf(size_t len, unsigned seed)
{
    struct core_buf *b = NULL;
    if (core_buf_create(&b, len) != 0) {
        test_fail(__FILE__, __LINE__, "core_buf_create");
    }
    for (size_t i = 0; i < len; i++) {
        b->data[i] = (unsigned char)(i * 7 + i / 251 + seed);
    }
    return b;
}

static struct mjd_part *make_part(struct core_buf *jpeg, unsigned flags)
{
    struct mjd_part *p = NULL;
    ASSERT_OK(mjd_part_create(&p, jpeg, WALL_NS, flags));
    return p;
}

/* The part's bytes, from its in-memory segments (part.c's own tests check those). */
static unsigned char *part_bytes(const struct mjd_part *p)
{
    size_t len = mjd_part_len(p);
    unsigned char *b = malloc(len);
    ASSERT_NOT_NULL(b);
    struct iovec iov[3];
    int n = mjd_part_iov(p, 0, iov);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        memcpy(b + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    ASSERT_EQ_U64(at, len);
    return b;
}

/* A connected TCP pair on 127.0.0.1: *snd non-blocking; bufsize 0 keeps the default buffers. */
static void tcp_pair(int *snd, int *rcv, int bufsize)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_CMP_INT(l, >=, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (bufsize > 0) { // the listener's receive buffer is inherited by the accepted socket
        ASSERT_OK(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize)));
    }
    ASSERT_OK(bind(l, (struct sockaddr *)&a, sizeof(a)));
    ASSERT_OK(listen(l, 1));
    ASSERT_OK(getsockname(l, (struct sockaddr *)&a, &al));
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_CMP_INT(s, >=, 0);
    if (bufsize > 0) {
        ASSERT_OK(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize)));
    }
    ASSERT_OK(connect(s, (struct sockaddr *)&a, sizeof(a)));
    int r = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    ASSERT_CMP_INT(r, >=, 0);
    close(l);
    ASSERT_OK(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK));
    *snd = s;
    *rcv = r;
}

struct run {
    int blocked;             /* sends that stopped on a full socket */
    enum mjd_send_path path; /* the socket's best path at the end */
};

/*
 * Sends p through the sender over a fresh TCP pair (bufsize as tcp_pair), reading whenever the
 * socket is full, and checks that exactly the part's bytes arrive. With append_after > 0, sets
 * O_APPEND on the sending socket (splice and sendfile then refuse it with EINVAL; sendmsg does
 * not mind) once that many bytes are sent.
 */
static struct run send_and_check(struct mjd_part_sender *s, struct mjd_part *p, int bufsize,
                                 size_t append_after)
{
    int snd;
    int rcv;
    tcp_pair(&snd, &rcv, bufsize);
    size_t len = mjd_part_len(p);
    unsigned char *want = part_bytes(p);
    unsigned char *got = malloc(len);
    ASSERT_NOT_NULL(got);
    struct run run = { 0, MJD_SEND_SPLICE };
    size_t off = 0;
    size_t have = 0;
    bool appended = false;
    for (;;) {
        if (append_after > 0 && !appended && off >= append_after) {
            ASSERT_OK(fcntl(snd, F_SETFL, fcntl(snd, F_GETFL) | O_APPEND));
            appended = true;
        }
        int rc = mjd_part_send(s, p, snd, &off, &run.path);
        ASSERT_CMP_INT(rc, >=, 0);
        ASSERT_CMP_INT(off, <=, len);
        if (rc == 1) {
            ASSERT_EQ_U64(off, len);
            break;
        }
        run.blocked++;
        ssize_t n = recv(rcv, got + have, len - have, 0);
        ASSERT_CMP_INT(n, >, 0);
        have += (size_t)n;
    }
    while (have < len) {
        ssize_t n = recv(rcv, got + have, len - have, 0);
        ASSERT_CMP_INT(n, >, 0);
        have += (size_t)n;
    }
    ASSERT_EQ_U64(have, len);
    ASSERT_EQ_MEM(got, want, len);
    free(got);
    free(want);
    close(snd);
    close(rcv);
    return run;
}

static struct mjd_part_send_stats stats_of(const struct mjd_part_sender *s)
{
    struct mjd_part_send_stats st = { 0 };
    mjd_part_sender_stats(s, &st);
    return st;
}

static struct mjd_part_sender *make_sender(unsigned flags)
{
    struct mjd_part_sender *s = NULL;
    ASSERT_OK(mjd_part_sender_create(&s, flags));
    ASSERT_NOT_NULL(s);
    return s;
}

TEST(sender_splices_a_whole_part_in_one_call)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    ASSERT_TRUE(mjd_part_sender_can_splice(s));
    struct core_buf *jpeg = jpeg_buf(20000, 1);
    struct mjd_part *p = make_part(jpeg, 0);
    struct run r = send_and_check(s, p, 0, 0);
    ASSERT_EQ_INT(r.blocked, 0);
    ASSERT_TRUE(r.path == MJD_SEND_SPLICE);
    struct mjd_part_send_stats st = stats_of(s);
    ASSERT_EQ_U64(st.calls[MJD_SEND_SPLICE], 1);
    ASSERT_EQ_U64(st.bytes[MJD_SEND_SPLICE], mjd_part_len(p));
    ASSERT_EQ_U64(st.bytes[MJD_SEND_SENDFILE] + st.bytes[MJD_SEND_COPY], 0);
    mjd_part_unref(p);
    core_buf_unref(jpeg);
    mjd_part_sender_destroy(s);
}

TEST(sender_serves_many_sockets_and_newer_parts_from_its_pipe)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    // A partial splice of one part leaves nothing behind for the next socket or the next part.
    struct core_buf *ja = jpeg_buf(150000, 2);
    struct core_buf *jb = jpeg_buf(90000, 3);
    struct mjd_part *a = make_part(ja, 0);
    struct mjd_part *b = make_part(jb, 0);
    ASSERT_CMP_INT(send_and_check(s, a, 4096, 0).blocked, >, 0);
    ASSERT_EQ_INT(send_and_check(s, a, 0, 0).blocked, 0);
    ASSERT_CMP_INT(send_and_check(s, b, 4096, 0).blocked, >, 0);
    ASSERT_EQ_INT(send_and_check(s, b, 0, 0).blocked, 0);
    ASSERT_EQ_INT(send_and_check(s, a, 0, 0).blocked, 0);
    struct mjd_part_send_stats st = stats_of(s);
    ASSERT_CMP_INT(st.calls[MJD_SEND_SPLICE], >=, 5);
    // What the small sockets did not take went on by sendfile from the right offsets.
    ASSERT_CMP_INT(st.bytes[MJD_SEND_SENDFILE], >, 0);
    ASSERT_EQ_U64(st.bytes[MJD_SEND_COPY], 0);
    ASSERT_EQ_U64(st.bytes[MJD_SEND_SPLICE] + st.bytes[MJD_SEND_SENDFILE],
                  3 * mjd_part_len(a) + 2 * mjd_part_len(b));
    mjd_part_unref(a);
    mjd_part_unref(b);
    core_buf_unref(ja);
    core_buf_unref(jb);
    mjd_part_sender_destroy(s);
}

TEST(sender_keeps_the_loaded_part_until_it_loads_another)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    struct core_buf *ja = jpeg_buf(10000, 4);
    struct core_buf *jb = jpeg_buf(10000, 5);
    struct mjd_part *a = make_part(ja, 0);
    struct mjd_part *b = make_part(jb, 0);
    (void)send_and_check(s, a, 0, 0);
    mjd_part_unref(a);
    // The sender's pipe still holds a's pages, and the sender a reference to a.
    ASSERT_EQ_INT(core_buf_refcount(ja), 2);
    (void)send_and_check(s, b, 0, 0);
    ASSERT_EQ_INT(core_buf_refcount(ja), 1);
    ASSERT_EQ_INT(core_buf_refcount(jb), 2);
    mjd_part_sender_destroy(s);
    ASSERT_EQ_INT(core_buf_refcount(jb), 2);
    mjd_part_unref(b);
    ASSERT_EQ_INT(core_buf_refcount(jb), 1);
    core_buf_unref(ja);
    core_buf_unref(jb);
}

TEST(sender_without_pipes_uses_sendfile_and_resumes_by_offset)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(MJD_SENDER_NO_SPLICE);
    ASSERT_FALSE(mjd_part_sender_can_splice(s));
    struct core_buf *jpeg = jpeg_buf(200000, 6);
    struct mjd_part *p = make_part(jpeg, 0);
    struct run r = send_and_check(s, p, 4096, 0);
    ASSERT_CMP_INT(r.blocked, >, 0);
    // No pipe is no refusal by the socket: the best path stays, sendfile stands in.
    ASSERT_TRUE(r.path == MJD_SEND_SPLICE);
    struct mjd_part_send_stats st = stats_of(s);
    ASSERT_EQ_U64(st.bytes[MJD_SEND_SENDFILE], mjd_part_len(p));
    ASSERT_CMP_INT(st.calls[MJD_SEND_SENDFILE], >, 1);
    mjd_part_unref(p);
    core_buf_unref(jpeg);
    mjd_part_sender_destroy(s);
}

TEST(sender_copies_a_part_without_memfd)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    struct core_buf *jpeg = jpeg_buf(200000, 7);
    struct mjd_part *p = make_part(jpeg, MJD_PART_NO_MEMFD);
    ASSERT_EQ_INT(mjd_part_fd(p), -1);
    struct run r = send_and_check(s, p, 4096, 0);
    ASSERT_CMP_INT(r.blocked, >, 0);
    struct mjd_part_send_stats st = stats_of(s);
    ASSERT_EQ_U64(st.bytes[MJD_SEND_COPY], mjd_part_len(p));
    mjd_part_unref(p);
    core_buf_unref(jpeg);
    mjd_part_sender_destroy(s);
}

TEST(sender_sends_a_part_bigger_than_its_pipe_by_sendfile)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    struct core_buf *jpeg = jpeg_buf((size_t)3 << 20, 8);
    struct mjd_part *p = make_part(jpeg, 0);
    struct run r = send_and_check(s, p, 0, 0);
    ASSERT_TRUE(r.path == MJD_SEND_SPLICE);
    struct mjd_part_send_stats st = stats_of(s);
    ASSERT_EQ_U64(st.calls[MJD_SEND_SPLICE], 0);
    ASSERT_EQ_U64(st.bytes[MJD_SEND_SENDFILE], mjd_part_len(p));
    mjd_part_unref(p);
    core_buf_unref(jpeg);
    mjd_part_sender_destroy(s);
}

TEST(sender_falls_back_to_copy_when_the_socket_refuses_spliced_pages)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    struct core_buf *jpeg = jpeg_buf(100000, 9);
    struct mjd_part *p = make_part(jpeg, 0);
    // O_APPEND from the start: splice, then sendfile refuse; the whole part goes by copy.
    struct mjd_part_send_stats before = stats_of(s);
    int snd;
    int rcv;
    tcp_pair(&snd, &rcv, 0);
    ASSERT_OK(fcntl(snd, F_SETFL, fcntl(snd, F_GETFL) | O_APPEND));
    size_t off = 0;
    enum mjd_send_path path = MJD_SEND_SPLICE;
    ASSERT_EQ_INT(mjd_part_send(s, p, snd, &off, &path), 1);
    ASSERT_TRUE(path == MJD_SEND_COPY);
    struct mjd_part_send_stats after = stats_of(s);
    ASSERT_EQ_U64(after.bytes[MJD_SEND_COPY] - before.bytes[MJD_SEND_COPY], mjd_part_len(p));
    close(snd);
    close(rcv);
    mjd_part_unref(p);
    core_buf_unref(jpeg);
    mjd_part_sender_destroy(s);
}

/* Reads exactly len bytes from the blocking socket fd into buf. */
static void recv_all(int fd, unsigned char *buf, size_t len)
{
    size_t have = 0;
    while (have < len) {
        ssize_t n = recv(fd, buf + have, len - have, 0);
        ASSERT_CMP_INT(n, >, 0);
        have += (size_t)n;
    }
}

TEST(sender_leaves_nothing_in_its_scratch_pipe_when_a_full_socket_takes_nothing)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    ASSERT_TRUE(mjd_part_sender_can_splice(s));
    struct core_buf *ja = jpeg_buf(30000, 12);
    struct core_buf *jb = jpeg_buf(20000, 13);
    struct mjd_part *a = make_part(ja, 0);
    struct mjd_part *b = make_part(jb, 0);
    // A socket already full of other bytes: the tee into the scratch pipe succeeds, the splice
    // to the socket takes nothing (EAGAIN) or only a little. What it did not take must not stay
    // in the scratch pipe, or the next socket would get those bytes ahead of its own part.
    int snd;
    int rcv;
    tcp_pair(&snd, &rcv, 4096);
    static unsigned char junk[4096];
    memset(junk, 'j', sizeof(junk));
    size_t junk_len = 0;
    for (;;) {
        ssize_t n = send(snd, junk, sizeof(junk), MSG_DONTWAIT);
        if (n < 0) {
            ASSERT_EQ_INT(errno, EAGAIN);
            break;
        }
        junk_len += (size_t)n;
    }
    struct mjd_part_send_stats before = stats_of(s);
    size_t off = 0;
    enum mjd_send_path path = MJD_SEND_SPLICE;
    int rc = mjd_part_send(s, a, snd, &off, &path);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_TRUE(path == MJD_SEND_SPLICE);
    struct mjd_part_send_stats mid = stats_of(s);
    // The one call was a tee + splice (nothing falls back on EAGAIN).
    ASSERT_EQ_U64(mid.bytes[MJD_SEND_COPY] - before.bytes[MJD_SEND_COPY], 0);
    // Another socket, another part, then the same part again: exactly their bytes.
    ASSERT_EQ_INT(send_and_check(s, b, 0, 0).blocked, 0);
    ASSERT_EQ_INT(send_and_check(s, a, 0, 0).blocked, 0);
    // The full socket, once read, gets its junk and then the whole of a, resumed at off.
    size_t len = mjd_part_len(a);
    unsigned char *got = malloc(junk_len + len);
    ASSERT_NOT_NULL(got);
    size_t have = 0;
    while (rc == 0) {
        ssize_t n = recv(rcv, got + have, junk_len + len - have, 0);
        ASSERT_CMP_INT(n, >, 0);
        have += (size_t)n;
        rc = mjd_part_send(s, a, snd, &off, &path);
        ASSERT_CMP_INT(rc, >=, 0);
    }
    ASSERT_EQ_U64(off, len);
    recv_all(rcv, got + have, junk_len + len - have);
    for (size_t i = 0; i < junk_len; i++) {
        ASSERT_EQ_INT(got[i], 'j');
    }
    unsigned char *want = part_bytes(a);
    ASSERT_EQ_MEM(got + junk_len, want, len);
    free(want);
    free(got);
    close(snd);
    close(rcv);
    mjd_part_unref(a);
    mjd_part_unref(b);
    core_buf_unref(ja);
    core_buf_unref(jb);
    mjd_part_sender_destroy(s);
}

TEST(bytes_queued_in_a_socket_outlive_their_part_memfd_and_sender)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    struct core_buf *jpeg = jpeg_buf(40000, 14);
    struct mjd_part *p = make_part(jpeg, 0);
    size_t len = mjd_part_len(p);
    unsigned char *want = part_bytes(p);
    int snd;
    int rcv;
    tcp_pair(&snd, &rcv, 0);
    size_t off = 0;
    enum mjd_send_path path = MJD_SEND_SPLICE;
    ASSERT_EQ_INT(mjd_part_send(s, p, snd, &off, &path), 1);
    // Unread: the socket holds references to the memfd's pages. Drop every other holder (the
    // part and its memfd, the sender and its pipes), then make and send more parts, so that
    // freed pages would be reused: what the socket holds must not change.
    mjd_part_unref(p);
    core_buf_unref(jpeg);
    mjd_part_sender_destroy(s);
    s = make_sender(0);
    for (unsigned k = 0; k < 8; k++) {
        struct core_buf *j2 = jpeg_buf(40000, 100 + k);
        struct mjd_part *p2 = make_part(j2, 0);
        (void)send_and_check(s, p2, 0, 0);
        mjd_part_unref(p2);
        core_buf_unref(j2);
    }
    unsigned char *got = malloc(len);
    ASSERT_NOT_NULL(got);
    recv_all(rcv, got, len);
    ASSERT_EQ_MEM(got, want, len);
    free(got);
    free(want);
    close(snd);
    close(rcv);
    mjd_part_sender_destroy(s);
}

TEST(sender_switches_to_copy_mid_part_and_keeps_the_bytes_in_order)
{
    signal(SIGPIPE, SIG_IGN);
    struct mjd_part_sender *s = make_sender(0);
    struct core_buf *jpeg = jpeg_buf(200000, 10);
    struct mjd_part *p = make_part(jpeg, 0);
    struct run r = send_and_check(s, p, 4096, 50000);
    ASSERT_TRUE(r.path == MJD_SEND_COPY);
    struct mjd_part_send_stats st = stats_of(s);
    ASSERT_CMP_INT(st.bytes[MJD_SEND_COPY], >, 0);
    ASSERT_CMP_INT(st.bytes[MJD_SEND_COPY], <, mjd_part_len(p));
    mjd_part_unref(p);
    core_buf_unref(jpeg);
    mjd_part_sender_destroy(s);
}

TEST(sender_reports_a_closed_peer_on_every_path)
{
    signal(SIGPIPE, SIG_IGN); // splice and sendfile have no MSG_NOSIGNAL; mjpegd ignores it too
    struct mjd_part_sender *s = make_sender(0);
    struct core_buf *jpeg = jpeg_buf(200000, 11);
    struct mjd_part *p = make_part(jpeg, 0);
    const enum mjd_send_path paths[] = { MJD_SEND_SPLICE, MJD_SEND_SENDFILE, MJD_SEND_COPY };
    for (size_t k = 0; k < 3; k++) {
        int snd;
        int rcv;
        tcp_pair(&snd, &rcv, 4096);
        close(rcv);
        int rc = 0;
        for (int i = 0; i < 1000 && rc >= 0; i++) {
            size_t off = 0;
            enum mjd_send_path path = paths[k];
            rc = mjd_part_send(s, p, snd, &off, &path);
            if (rc == 0) {
                usleep(1000); // the reset is on its way
            }
        }
        ASSERT_TRUE(rc == -EPIPE || rc == -ECONNRESET);
        close(snd);
    }
    mjd_part_unref(p);
    core_buf_unref(jpeg);
    mjd_part_sender_destroy(s);
}

TEST(send_path_names)
{
    ASSERT_EQ_STR(mjd_send_path_name(MJD_SEND_SPLICE), "splice");
    ASSERT_EQ_STR(mjd_send_path_name(MJD_SEND_SENDFILE), "sendfile");
    ASSERT_EQ_STR(mjd_send_path_name(MJD_SEND_COPY), "copy");
}

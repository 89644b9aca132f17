// SPDX-License-Identifier: MIT
/* Unit tests for the multipart/x-mixed-replace parser of the http relay source, and for how the
 * relay words the end of a transfer. */
#include "../testlib.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "mjpegd/sources/http.h"
#include "mjpegd/sources/multipart.h"

#define MAXP 16

struct got {
    size_t n;
    size_t len[MAXP];
    unsigned char first[MAXP];
};

static void feed_all(struct mjd_multipart *mp, const char *buf, size_t len, size_t step,
                     struct got *g)
{
    memset(g, 0, sizeof(*g));
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off < step ? len - off : step;
        size_t used = 0;
        bool done;
        do {
            used += mjd_multipart_feed(mp, (const unsigned char *)buf + off + used, chunk - used,
                                       &done);
            if (done && g->n < MAXP) {
                g->len[g->n] = mp->frame_len;
                g->first[g->n] = mp->frame_len > 0 ? mp->frame[0] : 0;
                g->n++;
            }
        } while (done || used < chunk);
        off += chunk;
    }
}

TEST(multipart_boundary_forms)
{
    struct mjd_multipart mp;
    ASSERT_OK(mjd_multipart_init(&mp, "multipart/x-mixed-replace; boundary=frame", 1000));
    ASSERT_EQ_STR(mp.delim, "--frame");
    mjd_multipart_free(&mp);
    ASSERT_OK(mjd_multipart_init(&mp, "multipart/x-mixed-replace;boundary=--frame", 1000));
    ASSERT_EQ_STR(mp.delim, "--frame");
    mjd_multipart_free(&mp);
    ASSERT_OK(mjd_multipart_init(&mp, "multipart/x-mixed-replace; boundary=\"a b\"; x=1", 1000));
    ASSERT_EQ_STR(mp.delim, "--a b");
    mjd_multipart_free(&mp);
    ASSERT_EQ_INT(mjd_multipart_init(&mp, "multipart/x-mixed-replace", 1000), -EINVAL);
    ASSERT_EQ_INT(mjd_multipart_init(&mp, "multipart/x-mixed-replace; boundary=", 1000), -EINVAL);
}

/* Three framings of the same two parts "AAAA" and "BBBBBB". */
static const char *const streams[] = {
    // Content-Length, standard CRLFs.
    "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\nAAAA\r\n"
    "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 6\r\n\r\nBBBBBB\r\n--frame\r\n",
    // No Content-Length: the body runs to the next delimiter.
    "preamble\r\n--frame\r\nContent-Type: image/jpeg\r\n\r\nAAAA\r\n"
    "--frame\r\nContent-Type: image/jpeg\r\n\r\nBBBBBB\r\n--frame--\r\n",
    // ESP32 style: extra CRLFs around delimiters, lowercase header, LF-only lines.
    "\r\n--frame\r\ncontent-length: 4\r\n\r\nAAAA\r\n\r\n\r\n"
    "--frame\ncontent-type: image/jpeg\ncontent-length:6\n\nBBBBBB\r\n\r\n--frame\r\n",
};

TEST(multipart_every_framing_and_split_point)
{
    for (size_t s = 0; s < sizeof(streams) / sizeof(streams[0]); s++) {
        size_t len = strlen(streams[s]);
        for (size_t step = 1; step <= len; step++) {
            struct mjd_multipart mp;
            ASSERT_OK(mjd_multipart_init(&mp, "multipart/x-mixed-replace; boundary=frame", 100));
            struct got g;
            feed_all(&mp, streams[s], len, step, &g);
            ASSERT_EQ_INT((int)g.n, 2);
            ASSERT_EQ_INT((int)g.len[0], 4);
            ASSERT_EQ_INT(g.first[0], 'A');
            ASSERT_EQ_INT((int)g.len[1], 6);
            ASSERT_EQ_INT(g.first[1], 'B');
            mjd_multipart_free(&mp);
        }
    }
}

TEST(multipart_truncated_and_oversized_parts_are_dropped)
{
    static const char s[] =
            // Announces 15 bytes, sends 4, then the next part: truncated.
            "--frame\r\nContent-Length: 15\r\n\r\nXXXX\r\n"
            "--frame\r\nContent-Length: 4\r\n\r\nAAAA\r\n"
            // Over the cap with a length, then without one.
            "--frame\r\nContent-Length: 30\r\n\r\n012345678901234567890123456789\r\n"
            "--frame\r\n\r\n012345678901234567890123456789\r\n"
            "--frame\r\nContent-Length: 6\r\n\r\nBBBBBB\r\n--frame\r\n";
    for (size_t step = 1; step <= sizeof(s) - 1; step += 3) {
        struct mjd_multipart mp;
        ASSERT_OK(mjd_multipart_init(&mp, "multipart/x-mixed-replace; boundary=frame", 20));
        struct got g;
        feed_all(&mp, s, sizeof(s) - 1, step, &g);
        ASSERT_EQ_INT((int)g.n, 2);
        ASSERT_EQ_INT(g.first[0], 'A');
        ASSERT_EQ_INT(g.first[1], 'B');
        ASSERT_EQ_U64(mp.truncated, 1);
        ASSERT_EQ_U64(mp.oversized, 2);
        mjd_multipart_free(&mp);
    }
}

TEST(multipart_headers_too_long_resync)
{
    static char s[2 * MJD_MULTIPART_MAX_HEADERS];
    size_t n = (size_t)snprintf(s, sizeof(s), "--frame\r\nX: ");
    memset(s + n, 'h', MJD_MULTIPART_MAX_HEADERS + 10);
    n += MJD_MULTIPART_MAX_HEADERS + 10;
    n += (size_t)snprintf(s + n, sizeof(s) - n,
                          "\r\n\r\nJUNK\r\n--frame\r\nContent-Length: 4\r\n\r\nAAAA");
    struct mjd_multipart mp;
    ASSERT_OK(mjd_multipart_init(&mp, "multipart/x-mixed-replace; boundary=frame", 100));
    struct got g;
    feed_all(&mp, s, n, 512, &g);
    ASSERT_EQ_INT((int)g.n, 1);
    ASSERT_EQ_INT(g.first[0], 'A');
    ASSERT_EQ_U64(mp.oversized, 1);
    mjd_multipart_free(&mp);
}

/* Regression (fuzzer, stop 17): a verdict must not depend on how the bytes were chunked. */
static void same_parts_whole_and_bytewise(const char *s, size_t len, size_t cap, struct got *whole)
{
    struct mjd_multipart a, b;
    ASSERT_OK(mjd_multipart_init(&a, "multipart/x-mixed-replace; boundary=frame", cap));
    ASSERT_OK(mjd_multipart_init(&b, "multipart/x-mixed-replace; boundary=frame", cap));
    struct got bytewise;
    feed_all(&a, s, len, len, whole);
    feed_all(&b, s, len, 1, &bytewise);
    ASSERT_EQ_INT((int)whole->n, (int)bytewise.n);
    for (size_t i = 0; i < whole->n && i < MAXP; i++) {
        ASSERT_EQ_INT((int)whole->len[i], (int)bytewise.len[i]);
        ASSERT_EQ_INT(whole->first[i], bytewise.first[i]);
    }
    ASSERT_EQ_U64(a.oversized, b.oversized);
    mjd_multipart_free(&a);
    mjd_multipart_free(&b);
}

TEST(multipart_delimiter_line_window_is_fixed)
{
    // "--frame" followed by 300 bytes without an LF is not a delimiter line, however much of
    // the stream is buffered when it is seen; the LF that finally comes must not make it one.
    static char s[1024];
    size_t n = (size_t)snprintf(s, sizeof(s), "--frame");
    memset(s + n, '_', 300);
    n += 300;
    n += (size_t)snprintf(s + n, sizeof(s) - n,
                          "\r\nContent-Length: 4\r\n\r\nXXXX\r\n"
                          "--frame\r\nContent-Length: 4\r\n\r\nAAAA\r\n--frame\r\n");
    struct got g;
    same_parts_whole_and_bytewise(s, n, 100, &g);
    ASSERT_EQ_INT((int)g.n, 1);
    ASSERT_EQ_INT(g.first[0], 'A');
}

TEST(multipart_body_cap_counts_trailing_crlfs_the_same_way)
{
    // Bodies without Content-Length right at the cap, followed by 0..6 line ends.
    for (int crlfs = 0; crlfs <= 6; crlfs++) {
        static char s[1024];
        size_t n = (size_t)snprintf(s, sizeof(s), "--frame\r\n\r\n");
        memset(s + n, 'A', 20);
        n += 20;
        for (int i = 0; i < crlfs; i++) {
            s[n++] = '\r';
            s[n++] = '\n';
        }
        n += (size_t)snprintf(s + n, sizeof(s) - n, "--frame\r\n\r\nBB\r\n--frame\r\n");
        struct got g;
        same_parts_whole_and_bytewise(s, n, 20, &g);
        // Up to one CRLF of slack past the cap: the 20-byte part is kept; more is oversized.
        ASSERT_EQ_INT((int)g.n, crlfs <= 1 ? 2 : 1);
        ASSERT_EQ_INT(g.first[g.n - 1], 'B');
    }
}

TEST(http_end_errno_says_why_the_upstream_is_unusable)
{
    // A wrong USER:PASS is "Permission denied" in /state, not "Connection reset by peer".
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_HTTP_RETURNED_ERROR, 401, false), -EACCES);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_HTTP_RETURNED_ERROR, 403, false), -EACCES);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_HTTP_RETURNED_ERROR, 404, false), -ENOENT);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_HTTP_RETURNED_ERROR, 500, false), -EPROTO);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_COULDNT_CONNECT, 0, false), -ECONNREFUSED);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_COULDNT_RESOLVE_HOST, 0, false), -EHOSTUNREACH);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_OPERATION_TIMEDOUT, 0, false), -ETIMEDOUT);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_WRITE_ERROR, 0, true), -EPROTO);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_OK, 0, false), -ECONNRESET);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_OK, 200, false), -ECONNRESET);
    // A redirect (not followed) is "Protocol error", not "Connection reset by peer".
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_OK, 302, false), -EPROTO);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_OK, 301, false), -EPROTO);
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_WRITE_ERROR, 307, true), -EPROTO); // with a body
    ASSERT_EQ_INT(mjd_http_end_errno(CURLE_RECV_ERROR, 0, false), -ECONNRESET);
}

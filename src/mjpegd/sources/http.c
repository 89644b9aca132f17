// SPDX-License-Identifier: MIT
/* http://HOST[:PORT]/PATH: relays another MJPEG server or IP camera (libcurl multi, one thread).
 * A lost upstream is a failed read: the capture thread closes the source, shows no signal and
 * reopens it with backoff (capture.c), so /state says "retrying" instead of a frozen "ok". */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/log.h"
#include "mjpegd/sources/http.h"
#include "mjpegd/sources/jpeg.h"
#include "mjpegd/sources/jpeg_split.h"
#include "mjpegd/sources/multipart.h"
#include "mjpegd/sources/source_impl.h"

#define HTTP_MAX_FRAME         MJD_SOURCE_MAX_JPEG
#define HTTP_CONNECT_TIMEOUT_S 5L
#define HTTP_LOW_SPEED_TIME_S  10L /* less than a byte a second for this long: a dead upstream */
#define HTTP_FIRST_FRAME_NS    (5 * CORE_NS_PER_SEC)

/* Everything is owned by the thread that reads the source (the capture thread). */
struct http_source {
    struct mjd_source base; /* first: the generic part */
    CURL *easy;
    CURLM *multi;
    char url[1024];
    char shown[1024]; /* url as the log shows it: its password as "***" */
    struct mjd_multipart mp;
    bool mp_ready;
    bool failed;          /* the write callback refused the body (not multipart) */
    unsigned char *frame; /* the newest complete part not yet read, HTTP_MAX_FRAME bytes */
    size_t frame_len;
    bool have_frame;
    uint64_t not_jpeg; /* parts dropped: not one complete JPEG (no SOI, cut short, no EOI) */
    int end_error;     /* the transfer ended (negative errno why): every read fails */
};

/* A part the parser returned: kept if it is one complete JPEG (the newest part wins), else
 * dropped and counted. A part without Content-Length that the upstream cut short is only seen
 * here: the parser cannot tell it from a whole one. */
static void take_part(struct http_source *s)
{
    size_t n = s->mp.frame_len;
    // Line ends after EOI are not data (a Content-Length that counts the part's CRLF).
    while (n > 0 && (s->mp.frame[n - 1] == '\n' || s->mp.frame[n - 1] == '\r')) {
        n--;
    }
    struct mjd_jpeg_info ji;
    if (mjd_jpeg_check(s->mp.frame, n, &ji) != 0) {
        s->not_jpeg++;
        if ((s->not_jpeg & (s->not_jpeg - 1)) == 0) { // the 1st, 2nd, 4th, 8th...
            LOG_WARN("http source %s: a part that is not one complete JPEG dropped (%llu so far)",
                     s->shown, (unsigned long long)s->not_jpeg);
        }
        return;
    }
    memcpy(s->frame, s->mp.frame, ji.len); // up to EOI: zero padding after it is dropped
    s->frame_len = ji.len;
    s->have_frame = true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct http_source *s = ctx;
    size_t n = size * nmemb;
    if (!s->mp_ready) {
        char *ct = NULL;
        if (curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK || ct == NULL ||
            strncasecmp(ct, "multipart/", 10) != 0 ||
            mjd_multipart_init(&s->mp, ct, HTTP_MAX_FRAME) != 0) {
            long status = 0;
            (void)curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
            if (status < 300 || status >= 400) { // a redirect's body: pump() says why
                LOG_WARN("http source %s: not a multipart stream (Content-Type %s)", s->shown,
                         ct != NULL ? ct : "none");
            }
            s->failed = true;
            return 0; // aborts the transfer
        }
        s->mp_ready = true;
    }
    size_t used = 0;
    bool done;
    do {
        used += mjd_multipart_feed(&s->mp, (const unsigned char *)data + used, n - used, &done);
        if (done) {
            take_part(s);
        }
    } while (done || used < n);
    return n;
}

static void http_destroy(struct mjd_source *src)
{
    struct http_source *s = (struct http_source *)src;
    if (s == NULL) {
        return;
    }
    if (s->multi != NULL && s->easy != NULL) {
        curl_multi_remove_handle(s->multi, s->easy);
    }
    if (s->easy != NULL) {
        curl_easy_cleanup(s->easy);
    }
    if (s->multi != NULL) {
        curl_multi_cleanup(s->multi);
    }
    if (s->mp_ready) {
        mjd_multipart_free(&s->mp);
    }
    free(s->frame);
    free(s);
}

int mjd_http_end_errno(int curl_code, long http_status, bool not_multipart)
{
    if (curl_code == CURLE_HTTP_RETURNED_ERROR) {
        return http_status == 401 || http_status == 403 ? -EACCES
               : http_status == 404                     ? -ENOENT
                                                        : -EPROTO;
    }
    if (http_status >= 300 && http_status < 400) {
        return -EPROTO; // a redirect, not followed: the body is not the stream
    }
    return curl_code == CURLE_COULDNT_CONNECT        ? -ECONNREFUSED
           : curl_code == CURLE_COULDNT_RESOLVE_HOST ? -EHOSTUNREACH
           : curl_code == CURLE_OPERATION_TIMEDOUT   ? -ETIMEDOUT
           : not_multipart                           ? -EPROTO
                                                     : -ECONNRESET;
}

/* Runs the transfer until a part arrived (0), the deadline (-EAGAIN), or it ended (-ECONNRESET...).
 */
static int pump(struct http_source *s, int64_t deadline_ns)
{
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(s->multi, &running);
        if (mc != CURLM_OK) {
            return -EIO;
        }
        if (s->have_frame) {
            return 0;
        }
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE) {
                CURLcode cc = msg->data.result;
                long status = 0;
                (void)curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
                if (cc == CURLE_HTTP_RETURNED_ERROR) {
                    LOG_WARN("http source %s: the upstream answered HTTP %ld%s", s->shown, status,
                             status == 401 ? " (wrong or missing USER:PASS in the URL)" : "");
                } else if (status >= 300 && status < 400) {
                    // Its Location is not logged: a relative one would carry the URL's password.
                    LOG_WARN("http source %s: the upstream answered HTTP %ld, a redirect; "
                             "redirects are not followed: give the URL it points to",
                             s->shown, status);
                } else if (s->failed && cc == CURLE_WRITE_ERROR) {
                    // Said already (not a multipart stream): curl's "Failed writing received
                    // data to disk/application" would only confuse.
                } else {
                    LOG_WARN("http source %s: transfer ended: %s", s->shown,
                             cc == CURLE_OK ? "upstream closed the stream"
                                            : curl_easy_strerror(cc));
                }
                s->end_error = mjd_http_end_errno(cc, status, s->failed);
                return s->end_error;
            }
        }
        int64_t rem = deadline_ns - core_now_ns();
        if (rem <= 0) {
            return -EAGAIN;
        }
        int ms = (int)((rem + CORE_NS_PER_MS - 1) / CORE_NS_PER_MS);
        if (curl_multi_poll(s->multi, NULL, 0, ms > 1000 ? 1000 : ms, NULL) != CURLM_OK) {
            return -EIO;
        }
    }
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc; /* written once under curl_once */

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int http_create(struct mjd_source **out, const char *arg, const struct mjd_source_params *p)
{
    *out = NULL;
    if (strncmp(arg, "//", 2) != 0) {
        return -EINVAL;
    }
    // Once per process: --on-demand opens sources from several capture threads at once.
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK) {
        return -EIO;
    }
    struct http_source *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    int rc = -ENOMEM;
    int n = snprintf(s->url, sizeof(s->url), "http:%s", arg);
    if (n < 0 || (size_t)n >= sizeof(s->url)) {
        rc = -EINVAL;
        goto fail;
    }
    mjd_source_spec_shown(s->url, s->shown, sizeof(s->shown));
    s->frame = malloc(HTTP_MAX_FRAME);
    s->easy = curl_easy_init();
    s->multi = curl_multi_init();
    if (s->frame == NULL || s->easy == NULL || s->multi == NULL) {
        goto fail;
    }
    // user:password in the URL is sent as Basic auth by libcurl.
    curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT_S);
    curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_TIME, HTTP_LOW_SPEED_TIME_S);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "mjpegd-relay");
    if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) {
        rc = -EIO;
        goto fail;
    }
    // The first part gives the frame size.
    rc = pump(s, core_now_ns() + HTTP_FIRST_FRAME_NS);
    unsigned w = p->width, h = p->height;
    if (rc == 0 && mjd_jpeg_size(s->frame, s->frame_len, &w, &h) != 0) {
        w = p->width;
        h = p->height;
    }
    if (rc != 0) {
        LOG_ERROR("http source %s: no frame: %s", s->shown, strerror(-rc));
        goto fail;
    }
    s->base.info.kind = "http";
    s->base.info.width = w;
    s->base.info.height = h;
    s->base.info.format = MJD_PIX_JPEG;
    s->base.info.self_paced = true;
    s->base.info.max_frame_bytes = HTTP_MAX_FRAME;
    *out = &s->base;
    return 0;
fail:
    http_destroy(&s->base);
    return rc;
}

static int http_read(struct mjd_source *src, struct mjd_raw_frame *frame, int64_t deadline_ns)
{
    struct http_source *s = (struct http_source *)src;
    if (!s->have_frame) {
        if (s->end_error != 0) {
            return s->end_error; // the capture thread closes and reopens the source
        }
        int rc = pump(s, deadline_ns);
        if (rc != 0) {
            return rc; // -EAGAIN, or why the transfer ended
        }
    }
    s->have_frame = false;
    if (s->frame_len > frame->cap) {
        return -ENOBUFS;
    }
    unsigned w, h;
    if (mjd_jpeg_size(s->frame, s->frame_len, &w, &h) != 0) {
        w = s->base.info.width;
        h = s->base.info.height;
    }
    memcpy(frame->data, s->frame, s->frame_len);
    frame->len = s->frame_len;
    frame->width = w;
    frame->height = h;
    frame->format = MJD_PIX_JPEG;
    return 0;
}

static uint64_t http_rejected(const struct mjd_source *src)
{
    const struct http_source *s = (const struct http_source *)src;
    uint64_t n = s->not_jpeg;
    if (s->mp_ready) {
        n += s->mp.oversized + s->mp.truncated;
    }
    return n;
}

const struct mjd_source_ops mjd_source_http_ops = {
    .kind = "http",
    .create = http_create,
    .destroy = http_destroy,
    .read = http_read,
    .rejected = http_rejected,
};

// SPDX-License-Identifier: MIT
/* libFuzzer target: the HTTP request parser, whole and split, plus routing and auth on its output.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/auth.h"
#include "mjpegd/http_parse.h"
#include "mjpegd/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses buf fed in chunks of `step` bytes; returns the result and the head length. */
static enum mjd_http_result parse_split(struct mjd_http_parser *p, const char *buf, size_t len,
                                        size_t step, size_t *used)
{
    mjd_http_parser_init(p);
    enum mjd_http_result r = MJD_HTTP_NEED_MORE;
    size_t have = 0;
    *used = 0;
    while (r == MJD_HTTP_NEED_MORE && have < len) {
        have = have + step < len ? have + step : len;
        r = mjd_http_parse(p, buf, have, used);
    }
    return r;
}

static void check_request(const char *buf, size_t len, const struct mjd_http_parser *p, size_t used)
{
    const struct mjd_http_request *req = &p->req;
    if (used == 0 || used > len || req->target.off + req->target.len > used ||
        req->host.off + req->host.len > used ||
        req->authorization.off + req->authorization.len > used ||
        req->target.len > MJD_HTTP_MAX_REQUEST_LINE || req->content_length != 0) {
        abort();
    }
    struct mjd_route route;
    int status = mjd_route_resolve(buf + req->target.off, req->target.len, &route);
    if (status != 0 && status != 400 && status != 414) {
        abort();
    }
    if (req->has_authorization) {
        (void)mjd_auth_check_basic(buf + req->authorization.off, req->authorization.len,
                                   "user:pass");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    // The first byte picks the chunk size for the split parse; the rest is the stream.
    size_t step = (size_t)(data[0] % 17) + 1;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    size_t off = 0;
    // Pipelined requests: parse one head after another, as a keep-alive connection does.
    for (int n = 0; n < 64 && off < len; n++) {
        struct mjd_http_parser whole;
        struct mjd_http_parser split;
        size_t uw = 0;
        size_t us = 0;
        mjd_http_parser_init(&whole);
        enum mjd_http_result rw = mjd_http_parse(&whole, buf + off, len - off, &uw);
        enum mjd_http_result rs = parse_split(&split, buf + off, len - off, step, &us);
        // Feeding in pieces must give the same verdict as feeding everything at once.
        if (rw != rs || (rw == MJD_HTTP_OK && uw != us) ||
            (rw == MJD_HTTP_ERROR && whole.status != split.status)) {
            abort();
        }
        if (rw == MJD_HTTP_ERROR) {
            int s = whole.status;
            if (s != 400 && s != 405 && s != 413 && s != 414 && s != 431 && s != 501 && s != 505) {
                abort();
            }
            break;
        }
        if (rw == MJD_HTTP_NEED_MORE) {
            // An unfinished head never grows past what a verdict needs.
            if (len - off > MJD_HTTP_MAX_HEAD) {
                abort();
            }
            break;
        }
        check_request(buf + off, len - off, &whole, uw);
        off += uw;
    }
    return 0;
}

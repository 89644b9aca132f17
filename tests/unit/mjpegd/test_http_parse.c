// SPDX-License-Identifier: MIT
/* Unit tests for the incremental HTTP request parser: valid, malformed, pipelined, split. */
#include "../testlib.h"

#include <errno.h>

#include "mjpegd/http_parse.h"

/* Parses a whole buffer at once; returns the result and fills *p. */
static enum mjd_http_result parse_all(struct mjd_http_parser *p, const char *buf, size_t len,
                                      size_t *used)
{
    mjd_http_parser_init(p);
    return mjd_http_parse(p, buf, len, used);
}

/* Expects buf to be rejected with status. */
static void expect_status(const char *buf, size_t len, int status)
{
    struct mjd_http_parser p;
    size_t used = 0;
    enum mjd_http_result r = parse_all(&p, buf, len, &used);
    if (r != MJD_HTTP_ERROR || p.status != status) {
        test_fail(__FILE__, __LINE__, "request %.60s...: result %d status %d, expected status %d",
                  buf, (int)r, p.status, status);
    }
}

static void expect_ok(const char *buf)
{
    struct mjd_http_parser p;
    size_t used = 0;
    enum mjd_http_result r = parse_all(&p, buf, strlen(buf), &used);
    if (r != MJD_HTTP_OK) {
        test_fail(__FILE__, __LINE__, "request %.60s: result %d status %d", buf, (int)r, p.status);
    }
}

struct bad_case {
    const char *req;
    int status;
};

static const struct bad_case bad_cases[] = {
    { "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505 },
    { "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505 },
    { "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505 },
    { "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505 },
    { "GET / HTTP/1\r\nHost: x\r\n\r\n", 400 },
    { "GET / HTTP/1.1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET / http/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET / FOO/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /\r\nHost: x\r\n\r\n", 400 },
    { "GET\r\n\r\n", 400 },
    { "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400 },
    { "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /% HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n continued\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tcontinued\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nX-\x01: 1\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x0b\r\n\r\n", 400 },
    { "GET / HTTP/1.1\rHost: x\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413 },
    { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413 },
    { "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", 400 },
    { "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 405 },
    { "PUT /x HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
    { "DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
    { "PATCH / HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
    { "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
    { "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 405 },
    { "BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501 },
    { "get / HTTP/1.1\r\nHost: x\r\n\r\n", 501 },
    { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505 },
};

TEST(http_malformed_requests_get_their_status)
{
    ASSERT_CMP_INT(sizeof(bad_cases) / sizeof(bad_cases[0]), >=, 30);
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        expect_status(bad_cases[i].req, strlen(bad_cases[i].req), bad_cases[i].status);
    }
}

TEST(http_nul_in_header_is_400)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
    expect_status(req, sizeof(req) - 1, 400);
    static const char req2[] = "GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_status(req2, sizeof(req2) - 1, 400);
}

TEST(http_request_line_over_8k_is_414)
{
    size_t n = MJD_HTTP_MAX_REQUEST_LINE + 100;
    char *req = malloc(n + 64);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', n);
    strcpy(req + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_status(req, strlen(req), 414);
    // Without a line end yet: the verdict must not wait for one.
    expect_status(req, 5 + n, 414);
    free(req);
}

TEST(http_request_line_just_under_8k_is_accepted)
{
    size_t n = MJD_HTTP_MAX_REQUEST_LINE - 20;
    char *req = malloc(n + 64);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', n);
    strcpy(req + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok(req);
    free(req);
}

TEST(http_headers_over_16k_are_431)
{
    size_t n = MJD_HTTP_MAX_HEADER_BYTES + 10;
    char *req = malloc(n + 128);
    strcpy(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    size_t off = strlen(req);
    memset(req + off, 'b', n);
    strcpy(req + off + n, "\r\n\r\n");
    expect_status(req, strlen(req), 431);
    expect_status(req, off + n, 431);
    free(req);
}

TEST(http_more_than_100_header_lines_is_431)
{
    char *req = malloc(64 * 1024);
    strcpy(req, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 100; i++) {
        sprintf(req + strlen(req), "X-%d: v\r\n", i);
    }
    strcat(req, "\r\n");
    expect_status(req, strlen(req), 431);
    free(req);
}

TEST(http_100_header_lines_are_accepted)
{
    char *req = malloc(64 * 1024);
    strcpy(req, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 99; i++) {
        sprintf(req + strlen(req), "X-%d: v\r\n", i);
    }
    strcat(req, "\r\n");
    expect_ok(req);
    free(req);
}

TEST(http_valid_requests)
{
    expect_ok("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok("GET / HTTP/1.0\r\n\r\n");
    expect_ok("HEAD /snapshot HTTP/1.1\r\nHost: localhost:8080\r\n\r\n");
    expect_ok("GET /?action=stream HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
    expect_ok("GET /stream?fps=5 HTTP/1.1\r\nHost: x\r\nUser-Agent: t/1 (x; y)\r\n\r\n");
    expect_ok("GET / HTTP/1.1\nHost: x\n\n");
    expect_ok("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    expect_ok("GET / HTTP/1.1\r\nHost:\r\n\r\n");
    expect_ok("GET / HTTP/1.1\r\nhOsT: x\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n");
    expect_ok("GET /a%20b HTTP/1.1\r\nHost: x\r\nRange: bytes=0-10\r\n\r\n");
    expect_ok("GET http://example.com/state HTTP/1.1\r\nHost: example.com\r\n\r\n");
    expect_ok("GET / HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xe9\r\n\r\n");
}

TEST(http_fields_are_reported)
{
    static const char req[] = "HEAD /stream?fps=5 HTTP/1.1\r\nHost:  cam.local \r\n"
                              "Authorization: Basic dXNlcjpwYXNz\r\n\r\n";
    struct mjd_http_parser p;
    size_t used = 0;
    ASSERT_EQ_INT(parse_all(&p, req, strlen(req), &used), MJD_HTTP_OK);
    ASSERT_EQ_INT(used, strlen(req));
    ASSERT_EQ_INT(p.req.method, MJD_HTTP_HEAD);
    ASSERT_EQ_INT(p.req.version_minor, 1);
    ASSERT_TRUE(p.req.keep_alive);
    ASSERT_TRUE(p.req.has_host);
    ASSERT_EQ_INT(p.req.target.len, strlen("/stream?fps=5"));
    ASSERT_EQ_MEM(req + p.req.target.off, "/stream?fps=5", p.req.target.len);
    ASSERT_EQ_INT(p.req.host.len, strlen("cam.local"));
    ASSERT_EQ_MEM(req + p.req.host.off, "cam.local", p.req.host.len);
    ASSERT_TRUE(p.req.has_authorization);
    ASSERT_EQ_MEM(req + p.req.authorization.off, "Basic dXNlcjpwYXNz", p.req.authorization.len);
}

TEST(http_absolute_form_keeps_the_path)
{
    static const char req[] = "GET http://h:1/snapshot?x=1 HTTP/1.1\r\nHost: h:1\r\n\r\n";
    struct mjd_http_parser p;
    size_t used = 0;
    ASSERT_EQ_INT(parse_all(&p, req, strlen(req), &used), MJD_HTTP_OK);
    ASSERT_EQ_MEM(req + p.req.target.off, "/snapshot?x=1", p.req.target.len);
}

TEST(http_keep_alive_rules)
{
    struct {
        const char *req;
        bool keep_alive;
    } cases[] = {
        { "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true },
        { "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false },
        { "GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false },
        { "GET / HTTP/1.0\r\n\r\n", false },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
        { "GET / HTTP/1.0\r\nConnection: foo,keep-alive\r\n\r\n", true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mjd_http_parser p;
        size_t used = 0;
        ASSERT_EQ_INT(parse_all(&p, cases[i].req, strlen(cases[i].req), &used), MJD_HTTP_OK);
        ASSERT_EQ_INT(p.req.keep_alive, cases[i].keep_alive);
    }
}

TEST(http_incomplete_heads_need_more)
{
    static const char *parts[] = { "",
                                   "G",
                                   "GET / HTTP/1.1",
                                   "GET / HTTP/1.1\r",
                                   "GET / HTTP/1.1\r\n",
                                   "GET / HTTP/1.1\r\nHost: x",
                                   "GET / HTTP/1.1\r\nHost: x\r\n",
                                   "GET / HTTP/1.1\r\nHost: x\r\n\r" };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        struct mjd_http_parser p;
        size_t used = 99;
        ASSERT_EQ_INT(parse_all(&p, parts[i], strlen(parts[i]), &used), MJD_HTTP_NEED_MORE);
        ASSERT_EQ_INT(used, 0);
    }
}

/* Feeds req one byte at a time; returns the final result. */
static enum mjd_http_result feed_bytewise(struct mjd_http_parser *p, const char *req, size_t len,
                                          size_t *used, size_t *fed)
{
    mjd_http_parser_init(p);
    enum mjd_http_result r = MJD_HTTP_NEED_MORE;
    for (size_t n = 1; n <= len; n++) {
        r = mjd_http_parse(p, req, n, used);
        *fed = n;
        if (r != MJD_HTTP_NEED_MORE) {
            break;
        }
    }
    return r;
}

TEST(http_byte_by_byte_equals_whole)
{
    static const char *reqs[] = { "GET /stream?fps=5 HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\r\n",
                                  "GET / HTTP/1.0\nConnection: keep-alive\n\n",
                                  "\r\nHEAD / HTTP/1.1\r\nHost: y\r\n\r\n" };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        struct mjd_http_parser a;
        struct mjd_http_parser b;
        size_t ua = 0;
        size_t ub = 0;
        size_t fed = 0;
        ASSERT_EQ_INT(parse_all(&a, reqs[i], strlen(reqs[i]), &ua), MJD_HTTP_OK);
        ASSERT_EQ_INT(feed_bytewise(&b, reqs[i], strlen(reqs[i]), &ub, &fed), MJD_HTTP_OK);
        ASSERT_EQ_INT(ua, ub);
        ASSERT_EQ_INT(fed, strlen(reqs[i]));
        ASSERT_EQ_INT(a.req.method, b.req.method);
        ASSERT_EQ_INT(a.req.target.off, b.req.target.off);
        ASSERT_EQ_INT(a.req.target.len, b.req.target.len);
        ASSERT_EQ_INT(a.req.keep_alive, b.req.keep_alive);
    }
}

TEST(http_byte_by_byte_errors_match)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct mjd_http_parser p;
        size_t used = 0;
        size_t fed = 0;
        enum mjd_http_result r =
                feed_bytewise(&p, bad_cases[i].req, strlen(bad_cases[i].req), &used, &fed);
        if (r != MJD_HTTP_ERROR || p.status != bad_cases[i].status) {
            test_fail(__FILE__, __LINE__, "case %zu bytewise: result %d status %d, expected %d", i,
                      (int)r, p.status, bad_cases[i].status);
        }
    }
}

TEST(http_bare_cr_split_across_reads)
{
    // The CR arrives alone first: no verdict until the next byte shows it is bare.
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\rY\r\n\r\n";
    struct mjd_http_parser p;
    size_t used = 0;
    mjd_http_parser_init(&p);
    size_t cr = strlen("GET / HTTP/1.1\r\nHost: x\r");
    ASSERT_EQ_INT(mjd_http_parse(&p, req, cr, &used), MJD_HTTP_NEED_MORE);
    ASSERT_EQ_INT(mjd_http_parse(&p, req, cr + 1, &used), MJD_HTTP_ERROR);
    ASSERT_EQ_INT(p.status, 400);
}

TEST(http_pipelined_requests)
{
    static const char reqs[] = "GET /state HTTP/1.1\r\nHost: x\r\n\r\n"
                               "HEAD /snapshot HTTP/1.1\r\nHost: x\r\n\r\n"
                               "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const char *expect[] = { "/state", "/snapshot", "/metrics" };
    size_t off = 0;
    size_t len = strlen(reqs);
    for (int i = 0; i < 3; i++) {
        struct mjd_http_parser p;
        size_t used = 0;
        mjd_http_parser_init(&p);
        ASSERT_EQ_INT(mjd_http_parse(&p, reqs + off, len - off, &used), MJD_HTTP_OK);
        ASSERT_EQ_INT(p.req.target.len, strlen(expect[i]));
        ASSERT_EQ_MEM(reqs + off + p.req.target.off, expect[i], p.req.target.len);
        ASSERT_EQ_INT(p.req.keep_alive, i < 2);
        off += used;
    }
    ASSERT_EQ_INT(off, len);
}

TEST(http_error_is_sticky)
{
    struct mjd_http_parser p;
    size_t used = 0;
    static const char req[] = "BREW / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ_INT(parse_all(&p, req, strlen(req), &used), MJD_HTTP_ERROR);
    ASSERT_EQ_INT(mjd_http_parse(&p, req, strlen(req), &used), MJD_HTTP_ERROR);
    ASSERT_EQ_INT(p.status, 501);
}

TEST(http_reason_phrases)
{
    ASSERT_EQ_STR(mjd_http_reason(404), "Not Found");
    ASSERT_EQ_STR(mjd_http_reason(431), "Request Header Fields Too Large");
    ASSERT_EQ_STR(mjd_http_reason(799), "Unknown");
}

TEST(http_head_is_known_before_an_error)
{
    // Errors found after the method (bad target, no Host, a body, a line too long) still
    // know it was HEAD, so that the error goes without a body.
    static char longline[MJD_HTTP_MAX_REQUEST_LINE + 64];
    memset(longline, 'a', sizeof(longline) - 1);
    memcpy(longline, "HEAD /", 6);
    const char *heads[] = { "HEAD / HTTP/1.1\r\n\r\n", "HEAD /%zz HTTP/1.1\r\nHost: t\r\n\r\n",
                            "HEAD / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n", longline };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        struct mjd_http_parser p;
        mjd_http_parser_init(&p);
        size_t used = 0;
        ASSERT_EQ_INT(mjd_http_parse(&p, heads[i], strlen(heads[i]), &used), MJD_HTTP_ERROR);
        ASSERT_TRUE(p.is_head);
    }
    struct mjd_http_parser p;
    mjd_http_parser_init(&p);
    size_t used = 0;
    const char *get = "GET / HTTP/1.1\r\n\r\n";
    ASSERT_EQ_INT(mjd_http_parse(&p, get, strlen(get), &used), MJD_HTTP_ERROR);
    ASSERT_FALSE(p.is_head);
}

TEST(http_options_is_parsed_for_cors_preflights)
{
    const char *req = "OPTIONS /stream HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\n"
                      "Access-Control-Request-Method: GET\r\n"
                      "Access-Control-Request-Headers: authorization, x-y\r\n\r\n";
    struct mjd_http_parser p;
    mjd_http_parser_init(&p);
    size_t used = 0;
    ASSERT_EQ_INT(mjd_http_parse(&p, req, strlen(req), &used), MJD_HTTP_OK);
    ASSERT_EQ_INT(p.req.method, MJD_HTTP_OPTIONS);
    ASSERT_TRUE(strncmp(req + p.req.acr_headers.off, "authorization, x-y", p.req.acr_headers.len) ==
                0);
    ASSERT_EQ_INT(p.req.acr_headers.len, strlen("authorization, x-y"));
    const char *star = "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n";
    mjd_http_parser_init(&p);
    ASSERT_EQ_INT(mjd_http_parse(&p, star, strlen(star), &used), MJD_HTTP_OK);
    const char *bad =
            "OPTIONS / HTTP/1.1\r\nHost: x\r\nAccess-Control-Request-Headers: a;b\r\n\r\n";
    mjd_http_parser_init(&p);
    ASSERT_EQ_INT(mjd_http_parse(&p, bad, strlen(bad), &used), MJD_HTTP_ERROR);
    // "*" is OPTIONS-only.
    const char *getstar = "GET * HTTP/1.1\r\nHost: x\r\n\r\n";
    mjd_http_parser_init(&p);
    ASSERT_EQ_INT(mjd_http_parse(&p, getstar, strlen(getstar), &used), MJD_HTTP_ERROR);
}

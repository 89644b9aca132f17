// SPDX-License-Identifier: MIT
/* An incremental HTTP/1.x request-head parser with hard size limits and strict syntax checks. */
#include "mjpegd/http_parse.h"

#include <string.h>
#include <strings.h>

enum {
    ST_REQUEST_LINE,
    ST_HEADERS,
    ST_DONE,
    ST_ERROR,
};

void mjd_http_parser_init(struct mjd_http_parser *p)
{
    memset(p, 0, sizeof(*p));
    p->state_ = ST_REQUEST_LINE;
}

static bool is_tchar(unsigned char c)
{
    // RFC 9110 token characters.
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static enum mjd_http_result fail(struct mjd_http_parser *p, int status)
{
    p->state_ = ST_ERROR;
    p->status = status;
    return MJD_HTTP_ERROR;
}

static bool span_eq(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(s, lit, n) == 0;
}

static bool span_ieq(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && strncasecmp(s, lit, n) == 0;
}

/* Methods we know but do not allow: answered 405 with Allow: GET, HEAD (OPTIONS is parsed). */
static bool known_method(const char *m, size_t len)
{
    static const char *const known[] = { "POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT" };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (span_eq(m, len, known[i])) {
            return true;
        }
    }
    return false;
}

/* Validates an origin-form target: '/' then visible ASCII, no '#', well-formed %XX escapes. */
static bool valid_target(const char *t, size_t len)
{
    if (len == 0 || t[0] != '/') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f || c == '#') {
            return false;
        }
        if (c == '%') {
            if (i + 2 >= len || !is_hex((unsigned char)t[i + 1]) ||
                !is_hex((unsigned char)t[i + 2])) {
                return false;
            }
            i += 2;
        }
    }
    return true;
}

/* Parses the request line buf[s..e) (without its line ending). */
static enum mjd_http_result parse_request_line(struct mjd_http_parser *p, const char *buf, size_t s,
                                               size_t e)
{
    const char *line = buf + s;
    size_t len = e - s;
    if (len > MJD_HTTP_MAX_REQUEST_LINE) {
        return fail(p, 414);
    }
    const char *sp1 = memchr(line, ' ', len);
    if (sp1 == NULL) {
        return fail(p, 400);
    }
    const char *rest = sp1 + 1;
    size_t rest_len = len - (size_t)(rest - line);
    const char *sp2 = memchr(rest, ' ', rest_len);
    if (sp2 == NULL) {
        return fail(p, 400);
    }
    const char *ver = sp2 + 1;
    size_t ver_len = len - (size_t)(ver - line);
    size_t mlen = (size_t)(sp1 - line);
    size_t tlen = (size_t)(sp2 - rest);
    if (mlen == 0 || tlen == 0 || memchr(ver, ' ', ver_len) != NULL) {
        return fail(p, 400);
    }
    for (size_t i = 0; i < mlen; i++) {
        if (!is_tchar((unsigned char)line[i])) {
            return fail(p, 400);
        }
    }
    // HTTP-version = "HTTP/" DIGIT "." DIGIT
    if (ver_len != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[5] < '0' || ver[5] > '9' ||
        ver[6] != '.' || ver[7] < '0' || ver[7] > '9') {
        return fail(p, 400);
    }
    if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1')) {
        return fail(p, 505);
    }
    p->req.version_minor = ver[7] - '0';
    if (span_eq(line, mlen, "GET")) {
        p->req.method = MJD_HTTP_GET;
    } else if (span_eq(line, mlen, "HEAD")) {
        p->req.method = MJD_HTTP_HEAD;
    } else if (span_eq(line, mlen, "OPTIONS")) {
        p->req.method = MJD_HTTP_OPTIONS;
    } else if (known_method(line, mlen)) {
        return fail(p, 405);
    } else {
        return fail(p, 501);
    }
    size_t toff = (size_t)(rest - buf);
    // absolute-form (RFC 9112 3.2.2): keep only the path and query.
    if (tlen > 7 && strncasecmp(rest, "http://", 7) == 0) {
        const char *path = memchr(rest + 7, '/', tlen - 7);
        if (path == NULL) {
            return fail(p, 400);
        }
        tlen -= (size_t)(path - rest);
        toff = (size_t)(path - buf);
    }
    // The asterisk-form "OPTIONS *" (RFC 9112 3.2.4) asks about the server as a whole.
    bool asterisk = p->req.method == MJD_HTTP_OPTIONS && tlen == 1 && buf[toff] == '*';
    if (!asterisk && !valid_target(buf + toff, tlen)) {
        return fail(p, 400);
    }
    p->req.target.off = toff;
    p->req.target.len = tlen;
    return MJD_HTTP_NEED_MORE;
}

/* Parses a Content-Length value: digits only; saturates instead of overflowing. */
static bool parse_content_length(const char *v, size_t len, uint64_t *out)
{
    if (len == 0) {
        return false;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return false;
        }
        if (n > (UINT64_MAX - 9) / 10) {
            n = UINT64_MAX;
        } else {
            n = n * 10 + (uint64_t)(v[i] - '0');
        }
    }
    *out = n;
    return true;
}

static bool valid_host(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c != 0 && strchr("-._~!$&'()*+,;=:[]%", c) != NULL);
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Reads the comma-separated Connection options. */
static void parse_connection(struct mjd_http_parser *p, const char *v, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        size_t s = i;
        while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t') {
            i++;
        }
        if (span_ieq(v + s, i - s, "close")) {
            p->conn_close_ = true;
        } else if (span_ieq(v + s, i - s, "keep-alive")) {
            p->conn_keep_alive_ = true;
        }
    }
}

/* Parses one header line buf[s..e) (without its line ending). */
static enum mjd_http_result parse_header_line(struct mjd_http_parser *p, const char *buf, size_t s,
                                              size_t e)
{
    const char *line = buf + s;
    size_t len = e - s;
    if (line[0] == ' ' || line[0] == '\t') {
        return fail(p, 400); // obs-fold
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line) {
        return fail(p, 400);
    }
    size_t nlen = (size_t)(colon - line);
    for (size_t i = 0; i < nlen; i++) {
        if (!is_tchar((unsigned char)line[i])) {
            return fail(p, 400); // includes whitespace before the colon
        }
    }
    size_t vs = nlen + 1;
    size_t ve = len;
    while (vs < ve && (line[vs] == ' ' || line[vs] == '\t')) {
        vs++;
    }
    while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t')) {
        ve--;
    }
    const char *v = line + vs;
    size_t vlen = ve - vs;
    if (span_ieq(line, nlen, "Host")) {
        if (p->req.has_host || !valid_host(v, vlen)) {
            return fail(p, 400);
        }
        p->req.has_host = true;
        p->req.host.off = s + vs;
        p->req.host.len = vlen;
    } else if (span_ieq(line, nlen, "Content-Length")) {
        uint64_t n = 0;
        if (!parse_content_length(v, vlen, &n)) {
            return fail(p, 400);
        }
        if (p->has_cl_ && n != p->req.content_length) {
            return fail(p, 400);
        }
        p->has_cl_ = true;
        p->req.content_length = n;
    } else if (span_ieq(line, nlen, "Transfer-Encoding")) {
        p->has_te_ = true;
    } else if (span_ieq(line, nlen, "Connection")) {
        parse_connection(p, v, vlen);
    } else if (span_ieq(line, nlen, "Access-Control-Request-Headers")) {
        // Echoed back in a preflight answer: a list of tokens only.
        for (size_t i = 0; i < vlen; i++) {
            if (!is_tchar((unsigned char)v[i]) && v[i] != ',' && v[i] != ' ') {
                return fail(p, 400);
            }
        }
        p->req.acr_headers.off = s + vs;
        p->req.acr_headers.len = vlen;
    } else if (span_ieq(line, nlen, "Authorization")) {
        if (p->req.has_authorization) {
            return fail(p, 400);
        }
        p->req.has_authorization = true;
        p->req.authorization.off = s + vs;
        p->req.authorization.len = vlen;
    }
    return MJD_HTTP_NEED_MORE;
}

static enum mjd_http_result finish(struct mjd_http_parser *p)
{
    if (p->req.version_minor == 1 && !p->req.has_host) {
        return fail(p, 400);
    }
    if (p->has_te_) {
        return fail(p, 400);
    }
    if (p->req.content_length > 0) {
        return fail(p, 413);
    }
    if (p->req.version_minor == 1) {
        p->req.keep_alive = !p->conn_close_;
    } else {
        p->req.keep_alive = p->conn_keep_alive_ && !p->conn_close_;
    }
    p->state_ = ST_DONE;
    return MJD_HTTP_OK;
}

enum mjd_http_result mjd_http_parse(struct mjd_http_parser *p, const char *buf, size_t len,
                                    size_t *consumed)
{
    *consumed = 0;
    if (p->state_ == ST_ERROR) {
        return MJD_HTTP_ERROR;
    }
    if (p->state_ == ST_DONE) {
        *consumed = p->pos_;
        return MJD_HTTP_OK;
    }
    size_t i = p->pos_;
    while (i < len) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n') {
            size_t e = i;
            if (e > p->line_start_ && buf[e - 1] == '\r') {
                e--;
            }
            size_t s = p->line_start_;
            i++;
            p->line_start_ = i;
            p->pos_ = i;
            enum mjd_http_result r;
            if (p->state_ == ST_REQUEST_LINE) {
                if (e == s) {
                    // Leading blank lines before a request are ignored (RFC 9112 2.2).
                    if (i > MJD_HTTP_MAX_REQUEST_LINE) {
                        return fail(p, 400);
                    }
                    continue;
                }
                r = parse_request_line(p, buf, s, e);
                if (r != MJD_HTTP_ERROR) {
                    p->state_ = ST_HEADERS;
                }
            } else {
                p->hdr_bytes_ += i - s;
                if (p->hdr_bytes_ > MJD_HTTP_MAX_HEADER_BYTES) {
                    return fail(p, 431);
                }
                if (e == s) {
                    r = finish(p);
                    if (r == MJD_HTTP_OK) {
                        *consumed = i;
                    }
                    return r;
                }
                if (++p->hdr_lines_ > MJD_HTTP_MAX_HEADER_LINES) {
                    return fail(p, 431);
                }
                r = parse_header_line(p, buf, s, e);
            }
            if (r == MJD_HTTP_ERROR) {
                return r;
            }
            continue;
        }
        if (c == '\r') {
            // A CR must end the line: anything but LF after it is a bare CR.
            if (i + 1 < len && buf[i + 1] != '\n') {
                return fail(p, 400);
            }
        } else if (c == 0 || c == 0x7f ||
                   (c < 0x20 && (c != '\t' || p->state_ == ST_REQUEST_LINE))) {
            // NUL, DEL and control bytes; a tab is whitespace in a header only.
            return fail(p, 400);
        } else if (c == ' ' && p->state_ == ST_REQUEST_LINE && !p->method_read_) {
            // The method is known before the line ends (or is found too long).
            p->method_read_ = true;
            p->is_head = span_eq(buf + p->line_start_, i - p->line_start_, "HEAD");
        }
        i++;
        // Size limits apply to incomplete lines too, so a client cannot make us wait forever.
        size_t line_len = i - p->line_start_;
        if (p->state_ == ST_REQUEST_LINE && line_len > MJD_HTTP_MAX_REQUEST_LINE + 1) {
            return fail(p, 414);
        }
        if (p->state_ == ST_HEADERS && p->hdr_bytes_ + line_len > MJD_HTTP_MAX_HEADER_BYTES) {
            return fail(p, 431);
        }
    }
    // Keep a trailing CR unscanned: whether it is bare depends on the next byte.
    if (i > p->line_start_ && buf[i - 1] == '\r') {
        p->pos_ = i - 1;
    } else {
        p->pos_ = i;
    }
    return MJD_HTTP_NEED_MORE;
}

const char *mjd_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Range Not Satisfiable";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

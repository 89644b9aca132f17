// SPDX-License-Identifier: MIT
/* An incremental HTTP/1.x request-head parser with hard size limits and strict syntax checks. */
#ifndef MJD_HTTP_PARSE_H
#define MJD_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits from the contract: request line, header block and header line count. */
#define MJD_HTTP_MAX_REQUEST_LINE 8192
#define MJD_HTTP_MAX_HEADER_BYTES 16384
#define MJD_HTTP_MAX_HEADER_LINES 100
/* A buffer this large always holds enough of a head for the parser to reach a verdict. */
#define MJD_HTTP_MAX_HEAD \
    (MJD_HTTP_MAX_REQUEST_LINE + MJD_HTTP_MAX_HEADER_BYTES + 2 * MJD_HTTP_MAX_HEADER_LINES + 64)

enum mjd_http_result {
    MJD_HTTP_OK,        /* a full head was parsed; see mjd_http_parser.req */
    MJD_HTTP_NEED_MORE, /* the head is incomplete: feed more bytes */
    MJD_HTTP_ERROR,     /* bad request: answer mjd_http_parser.status, then close */
};

enum mjd_http_method {
    MJD_HTTP_GET,
    MJD_HTTP_HEAD,
    MJD_HTTP_OPTIONS, /* the server answers it only as a CORS preflight (--allow-origin) */
};

/** A byte range inside the caller's buffer (offsets, so the buffer may move). */
struct mjd_http_span {
    size_t off;
    size_t len;
};

/** The parsed head. Spans point into the buffer given to mjd_http_parse. */
struct mjd_http_request {
    enum mjd_http_method method;
    int version_minor;                  /* 0 or 1 (HTTP/1.0 or HTTP/1.1) */
    struct mjd_http_span target;        /* raw request target: path and query, still encoded */
    struct mjd_http_span host;          /* Host value (empty if absent) */
    struct mjd_http_span authorization; /* Authorization value, len 0 if absent */
    struct mjd_http_span acr_headers;   /* Access-Control-Request-Headers, len 0 if absent */
    bool has_host;
    bool has_authorization;
    bool keep_alive;         /* from the version and any Connection header */
    uint64_t content_length; /* always 0 on OK: a body is refused */
};

/**
 * Parser state; all fields are private except status and req. Not thread-safe: one parser per
 * connection, used by the thread that owns the connection.
 */
struct mjd_http_parser {
    int status;                  /* HTTP status to answer when ERROR was returned */
    bool is_head;                /* the method is HEAD: known as soon as it is read, so that an
                                    error answered to it has no body either */
    struct mjd_http_request req; /* valid after OK */
    /* private: */
    int state_;
    bool method_read_;
    size_t pos_;        /* bytes of the buffer already scanned */
    size_t line_start_; /* start of the line being scanned */
    size_t hdr_bytes_;  /* bytes of header lines so far */
    unsigned hdr_lines_;
    bool has_cl_;
    bool has_te_;
    bool conn_close_;
    bool conn_keep_alive_;
};

/** Resets the parser for a new request. */
void mjd_http_parser_init(struct mjd_http_parser *p);

/**
 * Parses the head found at the start of buf[0..len). Call again with the same bytes plus any
 * new ones after NEED_MORE: scanning resumes where it stopped, so feeding byte by byte costs
 * linear time. On OK, *consumed is the length of the head (bytes after it belong to the next,
 * pipelined request: call mjd_http_parser_init and parse again from there). Borrows buf.
 */
enum mjd_http_result mjd_http_parse(struct mjd_http_parser *p, const char *buf, size_t len,
                                    size_t *consumed);

/** The reason phrase for a status code ("Not Found"), or "Unknown". */
const char *mjd_http_reason(int status);

#endif

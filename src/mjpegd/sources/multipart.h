// SPDX-License-Identifier: MIT
/* An incremental multipart/x-mixed-replace parser for relayed MJPEG streams. */
#ifndef MJD_MULTIPART_H
#define MJD_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

#define MJD_MULTIPART_MAX_BOUNDARY 70 /* RFC 2046 */
#define MJD_MULTIPART_MAX_HEADERS  4096

/*
 * Copes with what cameras send: a boundary with or without the leading "--" in Content-Type,
 * quoted or not; parts with Content-Length (checked: a boundary inside the announced length
 * means a truncated part, dropped) or without (the body runs to the next boundary); extra
 * CRLFs before or after boundaries (ESP32 firmware). Parts over the frame cap or with headers
 * over MJD_MULTIPART_MAX_HEADERS are dropped and counted. Owned by one thread.
 */
struct mjd_multipart {
    char delim[MJD_MULTIPART_MAX_BOUNDARY + 3]; /* "--" + boundary */
    size_t dlen;
    unsigned char *acc; /* bytes received and not yet consumed, acc[0..len) */
    size_t cap;         /* frame_cap + headers + delimiter */
    size_t len;
    size_t frame_cap;
    size_t consumed;            /* private: bytes of acc to drop at the next feed */
    int state;                  /* private */
    long long content_len;      /* private: of the current part, -1 if none */
    unsigned long long skip;    /* private: body bytes of an oversized part still to skip */
    const unsigned char *frame; /* the last part's body (into acc), valid until the next feed */
    size_t frame_len;
    uint64_t parts;     /* parts returned */
    uint64_t oversized; /* parts dropped: body over frame_cap, or headers too long */
    uint64_t truncated; /* parts dropped: the next boundary came inside Content-Length */
};

/**
 * Takes the boundary from a Content-Type value ("multipart/x-mixed-replace; boundary=...").
 * Returns 0, or -EINVAL when there is none or it is too long, -ENOMEM.
 */
int mjd_multipart_init(struct mjd_multipart *mp, const char *content_type,
                       size_t frame_cap) CORE_MUST_CHECK;
void mjd_multipart_free(struct mjd_multipart *mp);

/**
 * Consumes bytes from data[0..n); returns how many were taken. *done is true when mp->frame /
 * frame_len hold a part; then call again with the rest (even when nothing is left: buffered
 * bytes may hold another part) until it returns with *done false and everything taken.
 */
size_t mjd_multipart_feed(struct mjd_multipart *mp, const unsigned char *data, size_t n,
                          bool *done);

#endif

// SPDX-License-Identifier: MIT
/* A downloaded body: in memory while small, in a spill file past a threshold; read in pieces. */
#ifndef QP_BODY_H
#define QP_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * The fetch thread appends what curl receives; past spill_at bytes the body moves to a file
 * in the spool directory (DIR/.spool/body-<pid>-<n>.csv, pruned at startup if a run dies), so
 * a body of any size costs at most spill_at bytes of memory. The converter then reads it in
 * pieces (qp_body_read, a qp_convert_read_fn), or an isolated worker process opens the file by
 * its path. One thread at a time: the fetch thread fills it, then hands it over.
 */
struct qp_body {
    char *data; /* in memory: len bytes (NULL when empty or spilled) */
    size_t len;
    size_t cap;
    uint64_t size;    /* bytes received in all */
    int fd;           /* spilled: the file, else -1 */
    char path[4096];  /* spilled: its path */
    const char *dir;  /* borrowed: where a spill file goes */
    size_t spill_at;  /* bytes kept in memory at most */
    uint64_t max;     /* a body over this is -EFBIG */
    uint64_t read_at; /* qp_body_read: the next byte */
    char *piece;      /* qp_body_read: the buffer for a spilled body */
    bool borrowed;    /* data or the file belong to someone else: release leaves them */
    /* A download's validators (fetch.c sets them, "" when none): the ETag and Last-Modified
     * response headers and the hex SHA-256 of the body, for conditional requests (issue 15). */
    char etag[192];
    char last_modified[64];
    char sha256[65];
    bool not_modified; /* a 304 answer to a conditional request: no body at all */
};

/** Prepares an empty body (no allocation). dir is borrowed. */
void qp_body_init(struct qp_body *b, const char *dir, size_t spill_at, uint64_t max);
/** Appends n bytes: 0, -EFBIG past max, -ENOMEM, or a write error of the spill file. */
int qp_body_append(struct qp_body *b, const void *data, size_t n) CORE_MUST_CHECK;
/** Empties it for another try (a retry), keeping nothing. */
void qp_body_reset(struct qp_body *b);
/** Frees the memory, closes and deletes the spill file. Accepts a zeroed or released body. */
void qp_body_release(struct qp_body *b);
/** Whether the body is in a file (then path names it). */
bool qp_body_spilled(const struct qp_body *b);

/**
 * Makes b read another's body: data (len bytes, borrowed) when path is NULL, else the file at
 * path (opened read-only; never deleted by release). 0 or -errno. For a worker process.
 */
int qp_body_borrow(struct qp_body *b, const char *data, size_t len,
                   const char *path) CORE_MUST_CHECK;

/** Rewinds qp_body_read to the first byte. */
void qp_body_rewind(struct qp_body *b);
/**
 * The next piece: the whole in-memory body at once, or up to 1 MiB of the file; *len == 0 at
 * the end. A qp_convert_read_fn (ctx is the body). 0 or -errno.
 */
int qp_body_read(void *b, const char **data, size_t *len) CORE_MUST_CHECK;

#endif

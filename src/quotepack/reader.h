// SPDX-License-Identifier: MIT
/* Reading archives back (libarchive): entries, their data and CRC-32; a spooled entry too. */
#ifndef QP_READER_H
#define QP_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/compiler.h"

struct qp_spool;
struct qp_spool_rec;

/*
 * verify, cat and the startup check of spooled entries all read through here, so there is one
 * way to read what quotepack wrote. Not thread-safe: one thread per reader.
 */
struct qp_reader;

/** Opens an archive file (.tgz or .tar.zst). *out NULL on failure; err says why. */
int qp_reader_open_file(struct qp_reader **out, const char *path, char *err,
                        size_t errlen) CORE_MUST_CHECK;
/** Opens a spooled entry (borrowed spool and record) as a one-entry archive. */
int qp_reader_open_record(struct qp_reader **out, struct qp_spool *sp,
                          const struct qp_spool_rec *rec) CORE_MUST_CHECK;
/** Closes. Accepts NULL. */
void qp_reader_close(struct qp_reader *r);

/**
 * Moves to the next entry: 1 with *name (valid until the next call) and *size, 0 at the end,
 * -EIO when the archive is damaged (qp_reader_error says how).
 */
int qp_reader_next(struct qp_reader *r, const char **name, int64_t *size) CORE_MUST_CHECK;

/**
 * Reads the current entry's data to its end, writing it to out when out is not NULL, and
 * gives its length and CRC-32. 0, -EIO (damaged; see qp_reader_error) or a write error.
 */
int qp_reader_data(struct qp_reader *r, FILE *out, uint64_t *size, uint32_t *crc) CORE_MUST_CHECK;

/** Takes the next piece of an entry's data (borrowed for the call): 0 or a negative errno. */
typedef int (*qp_reader_piece_fn)(void *ctx, const void *data, size_t len);

/**
 * As qp_reader_data, handing each piece to fn(ctx) instead of a file (verify hashes and checks
 * them, the packer reads a spooled entry's manifest facts back). fn's error stops it.
 */
int qp_reader_data_each(struct qp_reader *r, qp_reader_piece_fn fn, void *ctx, uint64_t *size,
                        uint32_t *crc) CORE_MUST_CHECK;

/** The current entry's modification time (Unix seconds; compaction keeps it). */
int64_t qp_reader_mtime(const struct qp_reader *r);

/** libarchive's last message. */
const char *qp_reader_error(struct qp_reader *r);

#endif

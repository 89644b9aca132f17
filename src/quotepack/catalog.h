// SPDX-License-Identifier: MIT
/* The SQLite catalog in the output directory: every symbol's state, sizes, checksum, archive. */
#ifndef QP_CATALOG_H
#define QP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

#define QP_CATALOG_FILE "catalog.sqlite"

/*
 * States of a symbol (see docs/quotepack.md for the crash-safety argument):
 *   pending -> fetched -> converted -> archived      (archived is final)
 *   any non-final state -> failed; failed -> pending (a rerun tries again);
 *   converted -> pending (its spooled XML was missing or damaged at startup).
 */
enum qp_state {
    QP_STATE_PENDING = 0,
    QP_STATE_FETCHED,
    QP_STATE_CONVERTED,
    QP_STATE_ARCHIVED,
    QP_STATE_FAILED,
};

/** "pending", "fetched", ... Pure. */
const char *qp_state_name(enum qp_state s);
/** Parses a state name: 0 or -EINVAL. Pure. */
int qp_state_parse(const char *name, enum qp_state *out);
/** Whether the catalog accepts a move from one state to the other. Pure. */
bool qp_state_transition_ok(enum qp_state from, enum qp_state to);

struct qp_catalog_row {
    char symbol[72];
    int64_t batch;
    enum qp_state state;
    uint64_t rows;
    uint64_t csv_bytes;
    uint64_t xml_bytes;
    uint32_t crc32; /* CRC-32 (the gzip/zlib polynomial) of the XML document */
    char archive[128];
    char error[256];
};

struct qp_catalog_archive {
    char name[128];
    int64_t batch;
    int part;
    uint64_t members;
    uint64_t bytes;
};

/*
 * One connection. Not thread-safe: one thread at a time uses it (the pipeline hands it from
 * the main thread to the packer thread and back, with thread start/join in between).
 * Fallible calls return 0 or a negative errno: -ENOSPC for a full disk, -EBUSY when locked,
 * -ENOENT for a missing row, -EIO for anything else (logged with SQLite's message).
 */
struct qp_catalog;

/**
 * Opens or creates DIR/catalog.sqlite (WAL, synchronous=NORMAL). readonly: open an existing
 * catalog for verify only (-ENOENT if there is none). *out is NULL on failure.
 */
int qp_catalog_open(struct qp_catalog **out, const char *dir, bool readonly) CORE_MUST_CHECK;
/** Closes the connection. Accepts NULL. */
void qp_catalog_close(struct qp_catalog *cat);

int qp_catalog_begin(struct qp_catalog *cat) CORE_MUST_CHECK;
int qp_catalog_commit(struct qp_catalog *cat) CORE_MUST_CHECK;
/** Rolls back the open transaction, if any. */
void qp_catalog_rollback(struct qp_catalog *cat);

/**
 * Records the symbols (borrowed strings) that the catalog does not know yet as pending, in
 * input order, in new batches of batch_size numbered after the highest batch so far, all in
 * one transaction. Known symbols keep their batch. Returns 0 or -errno.
 */
int qp_catalog_assign(struct qp_catalog *cat, const char *const *symbols, size_t n,
                      size_t batch_size) CORE_MUST_CHECK;

/** Fills *row for symbol: 0 or -ENOENT. */
int qp_catalog_get(struct qp_catalog *cat, const char *symbol,
                   struct qp_catalog_row *row) CORE_MUST_CHECK;

/**
 * Stores row's state and fields for row->symbol. Refuses (-EPERM) a transition
 * qp_state_transition_ok rejects, in particular any change to an archived symbol.
 */
int qp_catalog_update(struct qp_catalog *cat, const struct qp_catalog_row *row) CORE_MUST_CHECK;

/** Records an archive that has been renamed into place. -EEXIST if the name is known. */
int qp_catalog_add_archive(struct qp_catalog *cat,
                           const struct qp_catalog_archive *a) CORE_MUST_CHECK;
/** The number of archives already recorded for batch. */
int qp_catalog_count_archives(struct qp_catalog *cat, int64_t batch, int *count) CORE_MUST_CHECK;
/** Whether an archive of that name is recorded: 1, 0 or -errno. */
int qp_catalog_has_archive(struct qp_catalog *cat, const char *name) CORE_MUST_CHECK;

typedef int (*qp_catalog_row_fn)(void *ctx, const struct qp_catalog_row *row);
typedef int (*qp_catalog_archive_fn)(void *ctx, const struct qp_catalog_archive *a);
/** Calls fn for every symbol (ordered by batch, then symbol); a non-zero return stops it. */
int qp_catalog_foreach(struct qp_catalog *cat, qp_catalog_row_fn fn, void *ctx);
/** Calls fn for every archive (ordered by name); a non-zero return stops it. */
int qp_catalog_foreach_archive(struct qp_catalog *cat, qp_catalog_archive_fn fn, void *ctx);

#endif

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
 * The schema version (PRAGMA user_version). 1 is the layout of the first releases (user_version
 * 0 on disk: batches fixed at first sight), 2 adds archives formed at pack time, spool
 * records, failure kinds and the settings table, 3 adds each symbol's validators for conditional
 * requests (etag, last_modified, body_sha256; issue 15), 4 the generations table (a symbol's
 * earlier archive members, replaced by a refresh: issue 15), 5 generation numbers and order
 * (row-level generations: a refresh packs only the rows not archived yet). Opening a catalog
 * read-write migrates it (catalog.c, one step per version, in one transaction); a catalog from a
 * newer quotepack is refused. A read-only open (verify) also reads versions 2 to 4, without
 * validators (2), generations (none before 4) and generation numbers (0 before 5), and changes
 * nothing. docs/quotepack.md has the tables.
 */
#define QP_CATALOG_VERSION 5

/*
 * States of a symbol (see docs/quotepack.md for the crash-safety argument):
 *   pending -> converted -> archived      (archived is final)
 *   any non-final state -> failed; failed -> pending (a rerun or `retry` tries again);
 *   converted -> pending (its spooled entry was missing or damaged at startup).
 * fetched is only in catalogs of version 1 (the body was in memory; it means pending).
 */
enum qp_state {
    QP_STATE_PENDING = 0,
    QP_STATE_FETCHED,
    QP_STATE_CONVERTED,
    QP_STATE_ARCHIVED,
    QP_STATE_FAILED,
};

/* Why a failed symbol failed: a rerun tries transient failures again, permanent ones only
 * when asked (`quotepack retry DIR`, --retry-failed). */
enum qp_failure {
    QP_FAILURE_NONE = 0,
    QP_FAILURE_TRANSIENT, /* timeouts, 5xx and 429 after the retries, an unreachable host */
    QP_FAILURE_PERMANENT, /* 404 and other 4xx, a missing file, a body that is not valid CSV */
};

/** "pending", "fetched", ... Pure. */
const char *qp_state_name(enum qp_state s);
/** Parses a state name: 0 or -EINVAL. Pure. */
int qp_state_parse(const char *name, enum qp_state *out);
/** Whether the catalog accepts a move from one state to the other. Pure. */
bool qp_state_transition_ok(enum qp_state from, enum qp_state to);
/** "", "transient" or "permanent". Pure. */
const char *qp_failure_name(enum qp_failure f);

struct qp_catalog_row {
    char symbol[72];
    enum qp_state state;
    uint64_t rows;
    uint64_t csv_bytes;
    uint64_t xml_bytes;
    uint32_t crc32; /* CRC-32 (the gzip/zlib polynomial) of the XML document */
    char archive[128];
    char error[256];
    enum qp_failure failure; /* failed only */
    /* converted only: where its compressed entry waits in the spool (spool.h). spool_format is
     * the archive format + 1 (the entry fits only archives of that format), 0 for none. */
    int spool_format;
    uint64_t spool_seg;
    uint64_t spool_off;
    uint64_t spool_len; /* data frames */
    uint32_t spool_hdr; /* header frame after them, 0 when inline */
    /* Validators of the body last converted (conditional requests, issue 15); "" for none.
     * body_sha256 is the hex SHA-256 of the fetched body, for servers that send no validator. */
    char etag[192];
    char last_modified[64];
    char body_sha256[65];
    /* archived: the current member's generation number (0 the first) and whether its rows
     * come before the earlier generations' (a newest-first source; catalog version 5) */
    uint64_t gen;
    bool at_top;
    /* the first field (the date) of the current member's first and last rows, "" unknown */
    char first_row[64];
    char last_row[64];
};

/* An earlier archive member of a symbol (the generations table). */
struct qp_catalog_generation {
    char symbol[72];
    char archive[128];
    uint64_t rows;
    uint64_t xml_bytes;
    uint32_t crc32;
    bool replaced; /* every row of it is in a later member */
    uint64_t gen;  /* its generation number; at_top, first_row, last_row as in qp_catalog_row */
    bool at_top;
    char first_row[64];
    char last_row[64];
};

struct qp_catalog_archive {
    char name[128];
    uint64_t seq; /* the archive's number: quotes-<seq>.<ext>; old batch numbers for version 1 */
    uint64_t members;
    uint64_t bytes;
};

/*
 * One connection. Not thread-safe: one thread at a time uses it (the pipeline hands it from
 * the main thread to the packer thread and back, with thread start/join in between).
 * Fallible calls return 0 or a negative errno: -ENOSPC for a full disk, -EBUSY when locked,
 * -ENOENT for a missing row, -EPROTO for a catalog written by a newer quotepack (or, read-only,
 * by one older than the previous version), -EIO for anything else (logged with SQLite's message).
 */
struct qp_catalog;

/**
 * Opens or creates DIR/catalog.sqlite (WAL, synchronous=NORMAL) and migrates it to
 * QP_CATALOG_VERSION. readonly: open an existing catalog for reading only (-ENOENT if there
 * is none). *out is NULL on failure.
 */
int qp_catalog_open(struct qp_catalog **out, const char *dir, bool readonly) CORE_MUST_CHECK;
/** Closes the connection. Accepts NULL. */
void qp_catalog_close(struct qp_catalog *cat);

/** A write transaction (BEGIN IMMEDIATE). */
int qp_catalog_begin(struct qp_catalog *cat) CORE_MUST_CHECK;
/** A read transaction: every read until commit/rollback sees one snapshot (WAL). */
int qp_catalog_begin_read(struct qp_catalog *cat) CORE_MUST_CHECK;
int qp_catalog_commit(struct qp_catalog *cat) CORE_MUST_CHECK;
/** Rolls back the open transaction, if any. */
void qp_catalog_rollback(struct qp_catalog *cat);

/** Records the symbols (borrowed) the catalog does not know yet as pending, in one transaction. */
int qp_catalog_add_symbols(struct qp_catalog *cat, const char *const *symbols,
                           size_t n) CORE_MUST_CHECK;

/** Fills *row for symbol: 0 or -ENOENT. */
int qp_catalog_get(struct qp_catalog *cat, const char *symbol,
                   struct qp_catalog_row *row) CORE_MUST_CHECK;

/**
 * Stores row's state and fields for row->symbol. Refuses (-EPERM) a transition
 * qp_state_transition_ok rejects, in particular any change to an archived symbol.
 */
int qp_catalog_update(struct qp_catalog *cat, const struct qp_catalog_row *row) CORE_MUST_CHECK;

/**
 * A refresh packed an archived symbol again, into row->archive: records its current member as
 * an earlier generation and stores row (state archived, the new archive, sizes, checksum,
 * validators) as generation cur.gen + 1. keep: the new member holds only the rows not archived
 * yet (row-level generation; row->at_top says where they go), so the earlier member stays part
 * of the history; else the new member is the whole body and every earlier generation becomes
 * replaced. -EPERM unless the symbol is archived elsewhere. Inside the transaction that records
 * the new archive.
 */
int qp_catalog_rearchive(struct qp_catalog *cat, const struct qp_catalog_row *row,
                         bool keep) CORE_MUST_CHECK;

/* Compaction (compact.c), inside one transaction: */
/** Forgets the earlier generation of symbol in archive. */
int qp_catalog_drop_generation(struct qp_catalog *cat, const char *symbol,
                               const char *archive) CORE_MUST_CHECK;
/** Every archived symbol and generation recorded in archive from now in archive to. */
int qp_catalog_move_archive(struct qp_catalog *cat, const char *from,
                            const char *to) CORE_MUST_CHECK;
/** Forgets archive name: -EPERM while a symbol or a generation is still recorded in it. */
int qp_catalog_delete_archive(struct qp_catalog *cat, const char *name) CORE_MUST_CHECK;

/** Records an archive that has been renamed into place. -EEXIST if the name is known. */
int qp_catalog_add_archive(struct qp_catalog *cat,
                           const struct qp_catalog_archive *a) CORE_MUST_CHECK;
/** The number the next archive gets: one more than any recorded (0 for the first). */
int qp_catalog_next_archive_seq(struct qp_catalog *cat, uint64_t *seq) CORE_MUST_CHECK;
/** Whether an archive of that name is recorded: 1, 0 or -errno. */
int qp_catalog_has_archive(struct qp_catalog *cat, const char *name) CORE_MUST_CHECK;

/** A stored setting (the run's source, format...): 0, -ENOENT, or -errno. */
int qp_catalog_get_setting(struct qp_catalog *cat, const char *key, char *value,
                           size_t size) CORE_MUST_CHECK;
/** Stores a setting (inside or outside a transaction). */
int qp_catalog_set_setting(struct qp_catalog *cat, const char *key,
                           const char *value) CORE_MUST_CHECK;

typedef int (*qp_catalog_row_fn)(void *ctx, const struct qp_catalog_row *row);
typedef int (*qp_catalog_archive_fn)(void *ctx, const struct qp_catalog_archive *a);
/** Calls fn for every symbol (ordered by symbol); a non-zero return stops it. */
int qp_catalog_foreach(struct qp_catalog *cat, qp_catalog_row_fn fn, void *ctx);
typedef int (*qp_catalog_generation_fn)(void *ctx, const struct qp_catalog_generation *g);
/** Calls fn for every earlier generation (ordered by symbol, archive); none in version 3. */
int qp_catalog_foreach_generation(struct qp_catalog *cat, qp_catalog_generation_fn fn, void *ctx);
/** Calls fn for every archive (ordered by name); a non-zero return stops it. */
int qp_catalog_foreach_archive(struct qp_catalog *cat, qp_catalog_archive_fn fn, void *ctx);

#endif

// SPDX-License-Identifier: MIT
/* The manifest member every archive carries: what each member is, written and parsed here. */
#ifndef QP_MANIFEST_H
#define QP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

/*
 * An archive's first member is QP_MANIFEST_NAME, a small tab-separated text file a person can
 * read (docs/quotepack.md, "Archive manifest"): the archive-level fields (manifest version,
 * the quotepack that wrote it, when), then one line per member: its name, symbol, rows, size,
 * SHA-256 of its bytes, first and last date, fetch time and source URL. It is what lets an
 * archive copied away from its catalog be verified and listed (verify --no-catalog, ls FILE).
 * Archives from before it have no manifest and verify against their catalog as before.
 *
 * Pure functions on caller-owned objects: no I/O, no globals, any thread.
 */
#define QP_MANIFEST_NAME    "MANIFEST.tsv"
#define QP_MANIFEST_VERSION 1
/* Bytes a manifest may have: far more than 100,000 members need; past it parse refuses. */
#define QP_MANIFEST_MAX ((size_t)64 << 20)
/* Room for a date field (first, last) and a time stamp (created, fetched), NUL included. */
#define QP_MANIFEST_DATE 32
/* Room for a source URL, NUL included. */
#define QP_MANIFEST_URL 2048

struct qp_manifest_entry {
    char name[100];                 /* the member's name in the archive: "<symbol>.xml" */
    char symbol[72];                /* the symbol */
    uint64_t rows;                  /* data rows in its XML */
    uint64_t bytes;                 /* size of the member's data */
    char sha256[65];                /* lower-case hex SHA-256 of the member's data */
    char first[QP_MANIFEST_DATE];   /* first column of the first data row ("" if unknown) */
    char last[QP_MANIFEST_DATE];    /* first column of the last data row ("" if unknown) */
    char fetched[QP_MANIFEST_DATE]; /* when its body was downloaded, UTC ("" if unknown) */
    char source[QP_MANIFEST_URL];   /* the URL it was fetched from ("" if unknown) */
};

struct qp_manifest {
    unsigned version;                  /* QP_MANIFEST_VERSION when written */
    char quotepack[32];                /* the writer's version */
    char created[QP_MANIFEST_DATE];    /* when the archive was written, UTC */
    struct qp_manifest_entry *entries; /* owned */
    size_t n, cap;
};

/** An empty manifest of this version, written by this quotepack at created (borrowed). */
void qp_manifest_init(struct qp_manifest *m, const char *created);
/** Frees the entries. Accepts a zeroed manifest. */
void qp_manifest_release(struct qp_manifest *m);
/** Appends a zeroed entry and returns it (valid until the next add). */
struct qp_manifest_entry *qp_manifest_add(struct qp_manifest *m);

/** "2026-12-03T09:30:00Z" for a Unix time (UTC), or "" for t <= 0. */
void qp_manifest_time(int64_t t, char out[QP_MANIFEST_DATE]);

/** The manifest as text (malloc'd, NUL-terminated, *len bytes without the NUL). */
char *qp_manifest_format(const struct qp_manifest *m, size_t *len);

/**
 * Parses text (len bytes, borrowed, need not be NUL-terminated) into m (initialised here;
 * release it whatever the result). 0, or -EINVAL with a sentence in err naming the line and
 * what is wrong with it (-EPROTO for a manifest of a newer version than this reader knows).
 */
int qp_manifest_parse(const char *text, size_t len, struct qp_manifest *m, char *err,
                      size_t errlen) CORE_MUST_CHECK;

/** A manifest member's text as it is read from an archive (malloc'd p, len bytes; free p). */
struct qp_manifest_text {
    char *p;
    size_t len, cap;
};

/**
 * A reader.h data callback: appends len bytes to the qp_manifest_text ctx; -E2BIG once the
 * text would pass QP_MANIFEST_MAX.
 */
int qp_manifest_text_piece(void *ctx, const void *data, size_t len);

/** The entry named name, or NULL. Linear: callers index it themselves when it matters. */
const struct qp_manifest_entry *qp_manifest_find(const struct qp_manifest *m, const char *name);

#endif

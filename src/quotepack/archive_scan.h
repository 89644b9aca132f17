// SPDX-License-Identifier: MIT
/* One archive read back whole: every member's size, CRC-32, SHA-256, rows; and its manifest. */
#ifndef QP_ARCHIVE_SCAN_H
#define QP_ARCHIVE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "quotepack/manifest.h"

/*
 * What verify (with and without a catalog) and `ls FILE` learn from an archive file: the
 * members in archive order with what was computed from their bytes, and the manifest member
 * (manifest.h) parsed. qp_archive_check_manifest() compares the two and reports each
 * difference through a callback, so both verify modes word them the same way.
 * Not thread-safe: one scan per thread.
 */
struct qp_scanned_member {
    char name[100];
    uint64_t size;
    uint32_t crc32;
    char sha256[65];
    uint64_t rows;       /* the XML's rows (qp_xml_scan), members named *.xml only */
    bool read_ok;        /* its data was read to the end */
    char xml_error[160]; /* "" or what is wrong with its XML, and where */
};

struct qp_scanned_archive {
    bool opened;  /* false: open_error says why */
    bool damaged; /* reading stopped on an error: damage says it */
    char open_error[256];
    char damage[256];
    bool has_manifest; /* a member named QP_MANIFEST_NAME was found */
    bool manifest_ok;  /* and it parsed (manifest is valid); else manifest_error */
    bool manifest_dup; /* more than one manifest member */
    char manifest_error[256];
    struct qp_manifest manifest;
    struct qp_scanned_member *members; /* every member but the manifest, in archive order */
    size_t n, cap;
};

/** Reads path to its end (or its first error) into *a (release it whatever happens). */
void qp_archive_scan(const char *path, struct qp_scanned_archive *a);
/** Frees. Accepts a zeroed scan. */
void qp_archive_scan_release(struct qp_scanned_archive *a);

/** Receives one difference, a sentence without the archive's name. */
typedef void (*qp_archive_diff_fn)(void *ctx, const char *sentence);

/**
 * Compares the members with the manifest (a->manifest_ok must hold): each member listed once
 * with its size, SHA-256 and rows; every listed member present; every member's XML well
 * formed. Calls diff for each difference and returns how many there were.
 */
unsigned long qp_archive_check_manifest(const struct qp_scanned_archive *a, qp_archive_diff_fn diff,
                                        void *ctx);

#endif

// SPDX-License-Identifier: MIT
/* A symbol's history across its row-level generations, read back as one document (cat). */
#ifndef QP_HISTORY_H
#define QP_HISTORY_H

#include <stdio.h>

#include "core/compiler.h"
#include "quotepack/catalog.h"

/*
 * A symbol's history is its unreplaced earlier generations (catalog generations table,
 * replaced = 0) and its current member, each `<symbol>.xml` in its own archive. In generation
 * order, each member's rows go after the earlier ones', or before them when it is at_top (a
 * newest-first source), so the document is the conversion of the whole history at once.
 */

/**
 * Collects the history of row (an archived symbol) from cat (inside the caller's read
 * transaction). *n_out is the number of members (1 when there is no row-level generation);
 * *out (malloc'd, caller frees) holds them in document order, each as a generation record
 * (the current member with its row's archive, sizes and checksum). 0 or -errno.
 */
int qp_history_members(struct qp_catalog *cat, const struct qp_catalog_row *row,
                       struct qp_catalog_generation **out, size_t *n_out) CORE_MUST_CHECK;

/**
 * Reads every member (each checked against its recorded size and CRC-32, all read into
 * memory first) and writes the rows in [from, to] (NULL: no bound) to out as one document.
 * Errors are printed to stderr prefixed with cmd. 0, or -1 after printing.
 */
int qp_history_write(const char *cmd, const char *dir, const struct qp_catalog_generation *m,
                     size_t n, const char *from, const char *to, FILE *out) CORE_MUST_CHECK;

#endif

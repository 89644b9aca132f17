// SPDX-License-Identifier: MIT
/* quotepack ls ARCHIVE...: what an archive's manifest says, without its catalog. */
#ifndef QP_MANIFEST_CMD_H
#define QP_MANIFEST_CMD_H

#include <stddef.h>
#include <stdio.h>

/**
 * Prints each archive's manifest (manifest.h) to out: a line on the archive, then one per
 * member (symbol, rows, first and last date, bytes, fetch time, SHA-256, source). Reads only up
 * to the manifest, which quotepack writes first. 0, or 1 when an archive cannot be read or has
 * no (valid) manifest (said on stderr). Main thread.
 */
int qp_cmd_ls_archives(char *const *paths, size_t n, FILE *out);

#endif

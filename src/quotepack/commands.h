// SPDX-License-Identifier: MIT
/* The operator's subcommands that read a finished directory: ls and cat. */
#ifndef QP_COMMANDS_H
#define QP_COMMANDS_H

#include <stdio.h>

/**
 * quotepack ls DIR [SYMBOL...]: one line per symbol (all of them, or those named), with its
 * state, rows, archive and error, read in one snapshot of the catalog. Returns 0, 1 when a
 * named symbol is not in the catalog, 2 on a usage error. Main thread.
 */
int qp_cmd_ls(int argc, char **argv, FILE *out);

/**
 * quotepack cat DIR SYMBOL: the symbol's XML, read back from its archive, on out. Returns 0,
 * 1 when the symbol is not archived or its archive cannot be read, 2 on a usage error.
 */
int qp_cmd_cat(int argc, char **argv, FILE *out);

#endif

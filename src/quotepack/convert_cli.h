// SPDX-License-Identifier: MIT
/* The `quotepack convert [OPTIONS] FILE.csv|-` subcommand: one CSV file to XML on stdout. */
#ifndef QP_CONVERT_CLI_H
#define QP_CONVERT_CLI_H

/**
 * Runs the subcommand; argv[0] is "convert" (or any name), options and the file follow.
 * Streams the XML to stdout (the first 8 MiB are held back until the conversion succeeded, so
 * a small file that fails writes nothing) and returns 0; on a conversion or I/O error prints
 * "quotepack: FILE:LINE:COL: <status-name>: <message>" (or "quotepack: FILE: <message>")
 * to stderr and returns 1; on a usage error returns 2. Main thread only (writes stdout).
 */
int qp_convert_cli(int argc, char **argv);

#endif

// SPDX-License-Identifier: MIT
/* quotepack verify DIR: every archive read back and checked against the catalog. */
#ifndef QP_VERIFY_H
#define QP_VERIFY_H

#include <stddef.h>
#include <stdio.h>

/**
 * Reads every archive the catalog of dir records and checks: each member is <symbol>.xml of
 * an archived symbol recorded in that archive, with the recorded size, CRC-32 and rows, and
 * well-formed XML; when the archive has a manifest (manifest.h), every member matches it; every
 * archived symbol appears in exactly one archive; the member counts match; no archive or temp
 * file lies in dir without a catalog record. Prints each difference and a summary to report.
 * Returns 0 when everything matches, 1 on any difference, or a negative errno when the
 * catalog cannot be read. Main thread.
 */
int qp_verify(const char *dir, FILE *report);

/**
 * verify --no-catalog: checks each archive file (an archive copied away from its catalog)
 * against the manifest it carries: it reads to its end; every member is listed there once, with
 * the listed size, SHA-256 and rows; every listed member is there; every member's XML is well
 * formed (xml_scan.h). An archive without a manifest is a difference (nothing to check it
 * against). Prints each difference and a summary per file to report; 0 when all match, 1
 * otherwise. Main thread.
 */
int qp_verify_files(char *const *paths, size_t n, FILE *report);

#endif

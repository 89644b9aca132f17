// SPDX-License-Identifier: MIT
/* quotepack verify DIR: every archive read back and checked against the catalog. */
#ifndef QP_VERIFY_H
#define QP_VERIFY_H

#include <stdio.h>

/**
 * Reads every archive the catalog of dir records and checks: each member is <symbol>.xml of
 * an archived symbol recorded in that archive, with the recorded size and CRC-32; every
 * archived symbol appears in exactly one archive; the member counts match; no archive or temp
 * file lies in dir without a catalog record. Prints each difference and a summary to report.
 * Returns 0 when everything matches, 1 on any difference, or a negative errno when the
 * catalog cannot be read. Main thread.
 */
int qp_verify(const char *dir, FILE *report);

#endif

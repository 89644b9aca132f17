// SPDX-License-Identifier: MIT
/* The progress line on a terminal: symbols done/failed, MB/s, ETA. */
#include "quotepack/progress.h"

#include <stdio.h>
#include <string.h>

void qp_progress_format(char *buf, size_t size, uint64_t done, uint64_t failed, uint64_t total,
                        uint64_t bytes, double seconds)
{
    double mbs = seconds > 0 ? (double)bytes / 1e6 / seconds : 0.0;
    char eta[32];
    if (done == 0 || seconds <= 0) {
        snprintf(eta, sizeof(eta), "?");
    } else {
        double left = (double)(total > done ? total - done : 0) * seconds / (double)done;
        unsigned long s = (unsigned long)(left + 0.5);
        snprintf(eta, sizeof(eta), "%lu:%02lu", s / 60, s % 60);
    }
    snprintf(buf, size, "%llu/%llu done, %llu failed, %.1f MB/s, ETA %s", (unsigned long long)done,
             (unsigned long long)total, (unsigned long long)failed, mbs, eta);
}

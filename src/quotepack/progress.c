// SPDX-License-Identifier: MIT
/* The progress line on a terminal: symbols done/failed, MB/s, ETA. */
#include "quotepack/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

void qp_progress_show(const char *line)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "\r\033[Kquotepack: %s", line);
    if (n > 0) {
        write_all(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    }
}

void qp_progress_clear(void)
{
    write_all("\r\033[K", 4);
}

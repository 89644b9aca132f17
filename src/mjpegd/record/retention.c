// SPDX-License-Identifier: MIT
/* Retention: the oldest recorded segments are deleted past --keep-size or --keep-days. */
#include "mjpegd/record/retention.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define US_PER_DAY (86400LL * 1000000LL)

int mjd_rec_retain(struct mjd_rec_catalog *cat, const char *srcdir, const char *source,
                   uint64_t keep_size, unsigned keep_days, int64_t now_us,
                   struct mjd_rec_retained *out)
{
    memset(out, 0, sizeof(*out));
    if (keep_size == 0 && keep_days == 0) {
        return 0;
    }
    for (;;) {
        uint64_t count = 0;
        uint64_t bytes = 0;
        int rc = mjd_rec_catalog_totals(cat, source, &count, &bytes);
        if (rc != 0 || count == 0) {
            return rc;
        }
        struct mjd_rec_row oldest;
        bool found = false;
        rc = mjd_rec_catalog_oldest(cat, source, &oldest, &found);
        if (rc != 0 || !found) {
            return rc;
        }
        bool too_big = keep_size > 0 && bytes > keep_size;
        bool too_old = keep_days > 0 && oldest.end_us < now_us - (int64_t)keep_days * US_PER_DAY;
        if (!too_big && !too_old) {
            return 0;
        }
        rc = mjd_rec_catalog_delete(cat, oldest.name);
        if (rc != 0) {
            return rc;
        }
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", srcdir, oldest.name);
        if (unlink(path) != 0 && errno != ENOENT) {
            LOG_WARN("retention: cannot delete %s: %s", path, strerror(errno));
        }
        LOG_DEBUG("retention: deleted %s (%llu bytes, %s)", path, (unsigned long long)oldest.bytes,
                  too_big ? "--keep-size" : "--keep-days");
        out->deleted++;
        out->freed += oldest.bytes;
    }
}

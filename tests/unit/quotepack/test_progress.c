// SPDX-License-Identifier: MIT
/* Unit tests for the progress line. */
#include "../testlib.h"

#include "quotepack/progress.h"

TEST(progress_line_shows_counts_rate_and_eta)
{
    char buf[128];
    qp_progress_format(buf, sizeof(buf), 0, 0, 100, 0, 0.0);
    ASSERT_EQ_STR(buf, "0/100 done, 0 failed, 0.0 MB/s, ETA ?");
    qp_progress_format(buf, sizeof(buf), 25, 2, 100, 50000000, 10.0);
    ASSERT_EQ_STR(buf, "25/100 done, 2 failed, 5.0 MB/s, ETA 0:30");
    qp_progress_format(buf, sizeof(buf), 1, 0, 1000, 1000000, 1.0);
    ASSERT_EQ_STR(buf, "1/1000 done, 0 failed, 1.0 MB/s, ETA 16:39");
}

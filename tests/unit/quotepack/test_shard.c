// SPDX-License-Identifier: MIT
/* Unit tests for --shard K/N: parsing, stability, a complete and disjoint partition. */
#include "../testlib.h"

#include <errno.h>

#include "quotepack/shard.h"

TEST(shard_parse_accepts_k_below_n_only)
{
    unsigned k = 99;
    unsigned n = 99;
    ASSERT_OK(qp_shard_parse("0/1", &k, &n));
    ASSERT_EQ_INT(k, 0);
    ASSERT_EQ_INT(n, 1);
    ASSERT_OK(qp_shard_parse("6/7", &k, &n));
    ASSERT_EQ_INT(k, 6);
    ASSERT_EQ_INT(n, 7);
    const char *bad[] = { "7/7", "1/0",  "-1/3", "1/-3", "a/3",     "1/",
                          "/3",  "1/3x", "1",    "",     "1/70000", "+1/3" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ_INT(qp_shard_parse(bad[i], &k, &n), -EINVAL);
    }
}

TEST(shard_partition_is_complete_disjoint_and_balanced)
{
    enum {
        N = 7,
        COUNT = 10000
    };
    unsigned counts[N] = { 0 };
    char sym[32];
    for (int i = 0; i < COUNT; i++) {
        snprintf(sym, sizeof(sym), "%06d.SZ", i);
        int owners = 0;
        for (unsigned k = 0; k < N; k++) {
            if (qp_shard_selects(sym, k, N)) {
                owners++;
                counts[k]++;
            }
        }
        ASSERT_EQ_INT(owners, 1);
    }
    for (unsigned k = 0; k < N; k++) {
        // Each shard within 10% of COUNT / N.
        ASSERT_CMP_INT(counts[k], >, COUNT / N * 9 / 10);
        ASSERT_CMP_INT(counts[k], <, COUNT / N * 11 / 10);
    }
}

TEST(shard_depends_on_the_symbol_only)
{
    ASSERT_EQ_U64(qp_shard_hash("AAPL"), qp_shard_hash("AAPL"));
    ASSERT_TRUE(qp_shard_hash("AAPL") != qp_shard_hash("AAPM"));
    ASSERT_TRUE(qp_shard_selects("anything", 0, 1));
    ASSERT_TRUE(qp_shard_selects("anything", 0, 0));
}

// SPDX-License-Identifier: MIT
/* Unit tests for the SQLite catalog: the state machine, batch assignment, archives. */
#include "../testlib.h"

#include <errno.h>

#include "quotepack/catalog.h"

static int count_rows(void *ctx, const struct qp_catalog_row *row)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

TEST(state_machine_allows_only_the_documented_moves)
{
    enum qp_state P = QP_STATE_PENDING, F = QP_STATE_FETCHED, C = QP_STATE_CONVERTED,
                  A = QP_STATE_ARCHIVED, X = QP_STATE_FAILED;
    ASSERT_TRUE(qp_state_transition_ok(P, F));
    ASSERT_TRUE(qp_state_transition_ok(F, C));
    ASSERT_TRUE(qp_state_transition_ok(C, A));
    ASSERT_TRUE(qp_state_transition_ok(P, X));
    ASSERT_TRUE(qp_state_transition_ok(F, X));
    ASSERT_TRUE(qp_state_transition_ok(X, P));
    ASSERT_TRUE(qp_state_transition_ok(C, P));
    ASSERT_FALSE(qp_state_transition_ok(P, A));
    ASSERT_FALSE(qp_state_transition_ok(F, A));
    ASSERT_FALSE(qp_state_transition_ok(X, A));
    for (int to = 0; to < 5; to++) {
        ASSERT_FALSE(qp_state_transition_ok(A, (enum qp_state)to));
    }
    enum qp_state s;
    for (int i = 0; i < 5; i++) {
        ASSERT_OK(qp_state_parse(qp_state_name((enum qp_state)i), &s));
        ASSERT_EQ_INT(s, i);
    }
    ASSERT_EQ_INT(qp_state_parse("done", &s), -EINVAL);
}

TEST(assign_is_deterministic_and_keeps_known_batches)
{
    struct qp_catalog *cat = NULL;
    const char *first[] = { "A", "B", "C", "D", "E" };
    const char *second[] = { "F", "C", "G", "A" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_assign(cat, first, 5, 2));
    const int64_t want1[] = { 0, 0, 1, 1, 2 };
    for (int i = 0; i < 5; i++) {
        ASSERT_OK(qp_catalog_get(cat, first[i], &row));
        ASSERT_EQ_INT(row.batch, want1[i]);
        ASSERT_EQ_INT(row.state, QP_STATE_PENDING);
    }
    // A rerun with a different list: known symbols keep their batch, new ones start batch 3.
    ASSERT_OK(qp_catalog_assign(cat, second, 4, 2));
    ASSERT_OK(qp_catalog_get(cat, "F", &row));
    ASSERT_EQ_INT(row.batch, 3);
    ASSERT_OK(qp_catalog_get(cat, "G", &row));
    ASSERT_EQ_INT(row.batch, 3);
    ASSERT_OK(qp_catalog_get(cat, "C", &row));
    ASSERT_EQ_INT(row.batch, 1);
    ASSERT_EQ_INT(qp_catalog_get(cat, "Z", &row), -ENOENT);
    int n = 0;
    ASSERT_OK(qp_catalog_foreach(cat, count_rows, &n));
    ASSERT_EQ_INT(n, 7);
    qp_catalog_close(cat);
}

TEST(archived_is_final_and_survives_reopen)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "X" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_assign(cat, syms, 1, 100));
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    row.state = QP_STATE_ARCHIVED; // pending -> archived is refused
    ASSERT_EQ_INT(qp_catalog_update(cat, &row), -EPERM);
    row.state = QP_STATE_FETCHED;
    row.csv_bytes = 10;
    ASSERT_OK(qp_catalog_update(cat, &row));
    row.state = QP_STATE_CONVERTED;
    row.rows = 3;
    row.xml_bytes = 99;
    row.crc32 = 0xdeadbeef;
    ASSERT_OK(qp_catalog_update(cat, &row));
    ASSERT_OK(qp_catalog_begin(cat));
    row.state = QP_STATE_ARCHIVED;
    snprintf(row.archive, sizeof(row.archive), "quotes-000000.tgz");
    ASSERT_OK(qp_catalog_update(cat, &row));
    struct qp_catalog_archive a = { "quotes-000000.tgz", 0, 1, 1, 1234 };
    ASSERT_OK(qp_catalog_add_archive(cat, &a));
    ASSERT_OK(qp_catalog_commit(cat));
    ASSERT_EQ_INT(qp_catalog_add_archive(cat, &a), -EEXIST);
    row.state = QP_STATE_PENDING;
    ASSERT_EQ_INT(qp_catalog_update(cat, &row), -EPERM);
    qp_catalog_close(cat);

    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), true));
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_ARCHIVED);
    ASSERT_EQ_U64(row.crc32, 0xdeadbeefu);
    ASSERT_EQ_U64(row.xml_bytes, 99);
    ASSERT_EQ_STR(row.archive, "quotes-000000.tgz");
    int count = -1;
    ASSERT_OK(qp_catalog_count_archives(cat, 0, &count));
    ASSERT_EQ_INT(count, 1);
    ASSERT_EQ_INT(qp_catalog_has_archive(cat, "quotes-000000.tgz"), 1);
    ASSERT_EQ_INT(qp_catalog_has_archive(cat, "quotes-000001.tgz"), 0);
    qp_catalog_close(cat);
}

TEST(rollback_discards_a_transaction)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "R" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_assign(cat, syms, 1, 1));
    ASSERT_OK(qp_catalog_get(cat, "R", &row));
    ASSERT_OK(qp_catalog_begin(cat));
    row.state = QP_STATE_FAILED;
    snprintf(row.error, sizeof(row.error), "HTTP 404");
    ASSERT_OK(qp_catalog_update(cat, &row));
    qp_catalog_rollback(cat);
    ASSERT_OK(qp_catalog_get(cat, "R", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_PENDING);
    ASSERT_EQ_STR(row.error, "");
    qp_catalog_close(cat);
}

TEST(readonly_open_of_a_missing_catalog_fails)
{
    struct qp_catalog *cat = NULL;
    ASSERT_TRUE(qp_catalog_open(&cat, test_tmpdir(), true) < 0);
    ASSERT_NULL(cat);
}

// SPDX-License-Identifier: MIT
/* Unit tests for the SQLite catalog: the state machine, symbols, archives, migrations. */
#include "../testlib.h"

#include <errno.h>

#include <sqlite3.h>

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

TEST(add_symbols_keeps_known_ones_as_they_are)
{
    struct qp_catalog *cat = NULL;
    const char *first[] = { "A", "B", "C" };
    const char *second[] = { "D", "C", "A" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, first, 3));
    ASSERT_OK(qp_catalog_get(cat, "C", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_PENDING);
    row.state = QP_STATE_FAILED;
    row.failure = QP_FAILURE_PERMANENT;
    snprintf(row.error, sizeof(row.error), "HTTP 404");
    ASSERT_OK(qp_catalog_update(cat, &row));
    ASSERT_OK(qp_catalog_add_symbols(cat, second, 3));
    ASSERT_OK(qp_catalog_get(cat, "C", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_FAILED);
    ASSERT_EQ_INT(row.failure, QP_FAILURE_PERMANENT);
    ASSERT_EQ_STR(row.error, "HTTP 404");
    ASSERT_OK(qp_catalog_get(cat, "D", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_PENDING);
    ASSERT_EQ_INT(qp_catalog_get(cat, "Z", &row), -ENOENT);
    int n = 0;
    ASSERT_OK(qp_catalog_foreach(cat, count_rows, &n));
    ASSERT_EQ_INT(n, 4);
    qp_catalog_close(cat);
}

TEST(spool_fields_and_settings_round_trip)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "S" };
    struct qp_catalog_row row;
    char v[64];
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
    ASSERT_OK(qp_catalog_get(cat, "S", &row));
    row.state = QP_STATE_CONVERTED;
    row.spool_format = 2;
    row.spool_seg = 7;
    row.spool_off = (uint64_t)5 << 32;
    row.spool_len = 12345;
    row.spool_hdr = 99;
    ASSERT_OK(qp_catalog_update(cat, &row));
    ASSERT_OK(qp_catalog_get(cat, "S", &row));
    ASSERT_EQ_INT(row.spool_format, 2);
    ASSERT_EQ_U64(row.spool_seg, 7);
    ASSERT_EQ_U64(row.spool_off, (uint64_t)5 << 32);
    ASSERT_EQ_U64(row.spool_len, 12345);
    ASSERT_EQ_U64(row.spool_hdr, 99);
    ASSERT_EQ_INT(qp_catalog_get_setting(cat, "source", v, sizeof(v)), -ENOENT);
    ASSERT_OK(qp_catalog_set_setting(cat, "source", "http://h/{symbol}"));
    ASSERT_OK(qp_catalog_set_setting(cat, "source", "file:///x/{symbol}.csv"));
    ASSERT_OK(qp_catalog_get_setting(cat, "source", v, sizeof(v)));
    ASSERT_EQ_STR(v, "file:///x/{symbol}.csv");
    uint64_t seq = 99;
    ASSERT_OK(qp_catalog_next_archive_seq(cat, &seq));
    ASSERT_EQ_U64(seq, 0);
    qp_catalog_close(cat);
}

/* The layout of the first releases (user_version 0), as they created it. */
static const char v1_schema[] =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE symbols (symbol TEXT PRIMARY KEY, batch INTEGER NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN"
        "  ('pending','fetched','converted','archived','failed')),"
        " rows INTEGER NOT NULL DEFAULT 0, csv_bytes INTEGER NOT NULL DEFAULT 0,"
        " xml_bytes INTEGER NOT NULL DEFAULT 0, crc32 INTEGER NOT NULL DEFAULT 0,"
        " archive TEXT, error TEXT, updated INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX symbols_batch ON symbols(batch);"
        "CREATE TABLE archives (name TEXT PRIMARY KEY, batch INTEGER NOT NULL,"
        " part INTEGER NOT NULL, members INTEGER NOT NULL, bytes INTEGER NOT NULL,"
        " created INTEGER NOT NULL);"
        "INSERT INTO symbols VALUES ('OLD', 3, 'archived', 5, 100, 900, 77,"
        " 'quotes-000003.tgz', NULL, 1);"
        "INSERT INTO symbols VALUES ('CONV', 4, 'converted', 5, 100, 900, 77, NULL, NULL, 1);"
        "INSERT INTO symbols VALUES ('BAD', 4, 'failed', 0, 0, 0, 0, NULL, 'HTTP 500', 1);"
        "INSERT INTO archives VALUES ('quotes-000003.tgz', 3, 1, 1, 1000, 1);"
        "INSERT INTO archives VALUES ('quotes-000003-2.tgz', 3, 2, 0, 1000, 1);";

static int count_archives(void *ctx, const struct qp_catalog_archive *a)
{
    (void)a;
    (*(int *)ctx)++;
    return 0;
}

TEST(a_version_1_catalog_is_migrated_and_keeps_its_archives)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), QP_CATALOG_FILE);
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct qp_catalog *cat = NULL;
    // Read-only, an old catalog is refused (only a run migrates it).
    ASSERT_EQ_INT(qp_catalog_open(&cat, test_tmpdir(), true), -EPROTO);
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_get(cat, "OLD", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_ARCHIVED);
    ASSERT_EQ_STR(row.archive, "quotes-000003.tgz");
    ASSERT_EQ_U64(row.crc32, 77);
    ASSERT_OK(qp_catalog_get(cat, "CONV", &row)); // its old-style spool file is not read
    ASSERT_EQ_INT(row.state, QP_STATE_PENDING);
    ASSERT_OK(qp_catalog_get(cat, "BAD", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_FAILED);
    ASSERT_EQ_INT(row.failure, QP_FAILURE_TRANSIENT);
    ASSERT_EQ_INT(qp_catalog_has_archive(cat, "quotes-000003-2.tgz"), 1);
    uint64_t seq = 0;
    ASSERT_OK(qp_catalog_next_archive_seq(cat, &seq));
    ASSERT_EQ_U64(seq, 4); // after the old batches: no new name meets an old one
    int n = 0;
    ASSERT_OK(qp_catalog_foreach_archive(cat, count_archives, &n));
    ASSERT_EQ_INT(n, 2);
    qp_catalog_close(cat);
    // Now current: read-only works, and a second read-write open changes nothing.
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), true));
    qp_catalog_close(cat);
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_get(cat, "OLD", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_ARCHIVED);
    qp_catalog_close(cat);
}

TEST(a_catalog_from_a_newer_quotepack_is_refused)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), QP_CATALOG_FILE);
    struct qp_catalog *cat = NULL;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    qp_catalog_close(cat);
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ_INT(qp_catalog_open(&cat, test_tmpdir(), false), -EPROTO);
    ASSERT_NULL(cat);
    ASSERT_EQ_INT(qp_catalog_open(&cat, test_tmpdir(), true), -EPROTO);
}

TEST(archived_is_final_and_survives_reopen)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "X" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    row.state = QP_STATE_ARCHIVED; // pending -> archived is refused
    ASSERT_EQ_INT(qp_catalog_update(cat, &row), -EPERM);
    row.csv_bytes = 10;
    row.state = QP_STATE_CONVERTED;
    row.rows = 3;
    row.xml_bytes = 99;
    row.crc32 = 0xdeadbeef;
    ASSERT_OK(qp_catalog_update(cat, &row));
    ASSERT_OK(qp_catalog_begin(cat));
    row.state = QP_STATE_ARCHIVED;
    snprintf(row.archive, sizeof(row.archive), "quotes-000000.tgz");
    ASSERT_OK(qp_catalog_update(cat, &row));
    struct qp_catalog_archive a = { "quotes-000000.tgz", 0, 1, 1234 };
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
    uint64_t seq = 0;
    ASSERT_OK(qp_catalog_next_archive_seq(cat, &seq));
    ASSERT_EQ_U64(seq, 1);
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
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
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

/* Turns the current catalog in the test dir back into a version 2 one (no validators). */
static void downgrade_to_v2(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), QP_CATALOG_FILE);
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db,
                               "DROP TABLE generations;"
                               "ALTER TABLE symbols DROP COLUMN etag;"
                               "ALTER TABLE symbols DROP COLUMN last_modified;"
                               "ALTER TABLE symbols DROP COLUMN body_sha256;"
                               "ALTER TABLE symbols DROP COLUMN gen;"
                               "ALTER TABLE symbols DROP COLUMN at_top;"
                               "ALTER TABLE symbols DROP COLUMN first_row;"
                               "ALTER TABLE symbols DROP COLUMN last_row;"
                               "PRAGMA user_version = 2;",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    sqlite3_close(db);
}

TEST(validators_round_trip_and_empty_ones_read_back_empty)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "A", "B" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 2));
    ASSERT_OK(qp_catalog_get(cat, "A", &row));
    ASSERT_EQ_STR(row.etag, "");
    row.state = QP_STATE_CONVERTED;
    snprintf(row.etag, sizeof(row.etag), "\"v1-abc\"");
    snprintf(row.last_modified, sizeof(row.last_modified), "Tue, 01 Jul 2025 00:00:00 GMT");
    snprintf(row.body_sha256, sizeof(row.body_sha256), "%064d", 7);
    ASSERT_OK(qp_catalog_update(cat, &row));
    qp_catalog_close(cat);
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), true));
    ASSERT_OK(qp_catalog_get(cat, "A", &row));
    ASSERT_EQ_STR(row.etag, "\"v1-abc\"");
    ASSERT_EQ_STR(row.last_modified, "Tue, 01 Jul 2025 00:00:00 GMT");
    ASSERT_EQ_INT((int)strlen(row.body_sha256), 64);
    ASSERT_OK(qp_catalog_get(cat, "B", &row));
    ASSERT_EQ_STR(row.etag, "");
    ASSERT_EQ_STR(row.last_modified, "");
    ASSERT_EQ_STR(row.body_sha256, "");
    qp_catalog_close(cat);
}

TEST(a_version_2_catalog_reads_read_only_unchanged_and_a_run_migrates_it)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "OLD" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
    ASSERT_OK(qp_catalog_get(cat, "OLD", &row));
    row.state = QP_STATE_CONVERTED;
    row.rows = 5;
    ASSERT_OK(qp_catalog_update(cat, &row));
    qp_catalog_close(cat);
    downgrade_to_v2();

    // verify's read-only open accepts the previous version and reads no validators.
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), true));
    ASSERT_OK(qp_catalog_get(cat, "OLD", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_CONVERTED);
    ASSERT_EQ_U64(row.rows, 5);
    ASSERT_EQ_STR(row.etag, "");
    int n = 0;
    ASSERT_OK(qp_catalog_foreach(cat, count_rows, &n));
    ASSERT_EQ_INT(n, 1);
    qp_catalog_close(cat);

    // It left the file at version 2; a read-write open upgrades it and keeps the row.
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), QP_CATALOG_FILE);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ_INT(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    sqlite3_close(db);

    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_get(cat, "OLD", &row));
    ASSERT_EQ_U64(row.rows, 5);
    snprintf(row.etag, sizeof(row.etag), "\"e\"");
    ASSERT_OK(qp_catalog_update(cat, &row));
    qp_catalog_close(cat);
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), true));
    ASSERT_OK(qp_catalog_get(cat, "OLD", &row));
    ASSERT_EQ_STR(row.etag, "\"e\"");
    qp_catalog_close(cat);
}

static int collect_generation(void *ctx, const struct qp_catalog_generation *g)
{
    *(struct qp_catalog_generation *)ctx = *g;
    return 0;
}

static int count_generations(void *ctx, const struct qp_catalog_generation *g)
{
    (void)g;
    (*(int *)ctx)++;
    return 0;
}

/* Archives X (converted, then archived in name) in one transaction. */
static void archive_x(struct qp_catalog *cat, const char *name, uint64_t seq, uint32_t crc)
{
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    row.state = QP_STATE_CONVERTED;
    row.rows = 3;
    row.xml_bytes = 100;
    row.crc32 = crc;
    ASSERT_OK(qp_catalog_update(cat, &row));
    ASSERT_OK(qp_catalog_begin(cat));
    row.state = QP_STATE_ARCHIVED;
    snprintf(row.archive, sizeof(row.archive), "%s", name);
    ASSERT_OK(qp_catalog_update(cat, &row));
    struct qp_catalog_archive a = { "", seq, 1, 1000 };
    snprintf(a.name, sizeof(a.name), "%s", name);
    ASSERT_OK(qp_catalog_add_archive(cat, &a));
    ASSERT_OK(qp_catalog_commit(cat));
}

static int unreplaced_generations(void *ctx, const struct qp_catalog_generation *g)
{
    if (!g->replaced) {
        (*(int *)ctx)++;
    }
    return 0;
}

TEST(a_row_level_generation_keeps_the_earlier_member_in_the_history)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "X" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
    archive_x(cat, "quotes-000000.tgz", 0, 11);
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_U64(row.gen, 0);
    for (int i = 1; i <= 2; i++) {
        ASSERT_OK(qp_catalog_begin(cat));
        snprintf(row.archive, sizeof(row.archive), "quotes-00000%d.tgz", i);
        row.rows = 1;
        row.at_top = true;
        snprintf(row.first_row, sizeof(row.first_row), "2025-01-0%d", i);
        snprintf(row.last_row, sizeof(row.last_row), "2025-01-0%d", i);
        ASSERT_OK(qp_catalog_rearchive(cat, &row, true));
        ASSERT_OK(qp_catalog_commit(cat));
        ASSERT_OK(qp_catalog_get(cat, "X", &row));
        ASSERT_EQ_U64(row.gen, (uint64_t)i);
        ASSERT_TRUE(row.at_top);
    }
    struct qp_catalog_generation g;
    int n = 0;
    ASSERT_OK(qp_catalog_foreach_generation(cat, unreplaced_generations, &n));
    ASSERT_EQ_INT(n, 2);
    ASSERT_OK(qp_catalog_foreach_generation(cat, collect_generation, &g)); // the last, gen 1
    ASSERT_EQ_U64(g.gen, 1);
    ASSERT_TRUE(g.at_top);
    ASSERT_EQ_STR(g.first_row, "2025-01-01");
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_STR(row.last_row, "2025-01-02");
    ASSERT_FALSE(g.replaced);
    // A changed archived part: the whole body again replaces every earlier generation.
    ASSERT_OK(qp_catalog_begin(cat));
    snprintf(row.archive, sizeof(row.archive), "quotes-000003.tgz");
    ASSERT_OK(qp_catalog_rearchive(cat, &row, false));
    ASSERT_OK(qp_catalog_commit(cat));
    n = 0;
    ASSERT_OK(qp_catalog_foreach_generation(cat, unreplaced_generations, &n));
    ASSERT_EQ_INT(n, 0);
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_U64(row.gen, 3);
    ASSERT_FALSE(row.at_top);
    qp_catalog_close(cat);
}

TEST(a_version_4_catalog_reads_read_only_and_a_run_adds_the_generation_columns)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "X" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
    archive_x(cat, "quotes-000000.tgz", 0, 11);
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_OK(qp_catalog_begin(cat));
    snprintf(row.archive, sizeof(row.archive), "quotes-000001.tgz");
    ASSERT_OK(qp_catalog_rearchive(cat, &row, false));
    ASSERT_OK(qp_catalog_commit(cat));
    qp_catalog_close(cat);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), QP_CATALOG_FILE);
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db,
                               "ALTER TABLE generations DROP COLUMN gen;"
                               "ALTER TABLE generations DROP COLUMN at_top;"
                               "ALTER TABLE generations DROP COLUMN first_row;"
                               "ALTER TABLE generations DROP COLUMN last_row;"
                               "ALTER TABLE symbols DROP COLUMN gen;"
                               "ALTER TABLE symbols DROP COLUMN at_top;"
                               "ALTER TABLE symbols DROP COLUMN first_row;"
                               "ALTER TABLE symbols DROP COLUMN last_row;"
                               "PRAGMA user_version = 4;",
                               NULL, NULL, NULL),
                  SQLITE_OK);
    sqlite3_close(db);

    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), true));
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_STR(row.archive, "quotes-000001.tgz");
    ASSERT_EQ_U64(row.gen, 0);
    struct qp_catalog_generation g;
    memset(&g, 0, sizeof(g));
    ASSERT_OK(qp_catalog_foreach_generation(cat, collect_generation, &g));
    ASSERT_EQ_STR(g.archive, "quotes-000000.tgz");
    ASSERT_TRUE(g.replaced);
    qp_catalog_close(cat);

    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false)); // migrates to 5
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_U64(row.gen, 0);
    ASSERT_EQ_STR(row.first_row, "");
    qp_catalog_close(cat);
}

TEST(rearchive_records_the_replaced_member_as_a_generation)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "X" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
    archive_x(cat, "quotes-000000.tgz", 0, 11);
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    // Into the same archive, or for a symbol that is not archived: refused.
    ASSERT_EQ_INT(qp_catalog_rearchive(cat, &row, false), -EPERM);
    ASSERT_OK(qp_catalog_begin(cat));
    snprintf(row.archive, sizeof(row.archive), "quotes-000001.tgz");
    row.rows = 4;
    row.xml_bytes = 130;
    row.crc32 = 22;
    snprintf(row.etag, sizeof(row.etag), "\"v2\"");
    ASSERT_OK(qp_catalog_rearchive(cat, &row, false));
    ASSERT_OK(qp_catalog_commit(cat));
    qp_catalog_close(cat);

    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), true));
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_INT(row.state, QP_STATE_ARCHIVED);
    ASSERT_EQ_STR(row.archive, "quotes-000001.tgz");
    ASSERT_EQ_U64(row.rows, 4);
    ASSERT_EQ_U64(row.crc32, 22);
    ASSERT_EQ_STR(row.etag, "\"v2\"");
    struct qp_catalog_generation g;
    memset(&g, 0, sizeof(g));
    int n = 0;
    ASSERT_OK(qp_catalog_foreach_generation(cat, count_generations, &n));
    ASSERT_EQ_INT(n, 1);
    ASSERT_OK(qp_catalog_foreach_generation(cat, collect_generation, &g));
    ASSERT_EQ_STR(g.symbol, "X");
    ASSERT_EQ_STR(g.archive, "quotes-000000.tgz");
    ASSERT_EQ_U64(g.rows, 3);
    ASSERT_EQ_U64(g.xml_bytes, 100);
    ASSERT_EQ_U64(g.crc32, 11);
    ASSERT_TRUE(g.replaced);
    qp_catalog_close(cat);
}

TEST(a_version_3_catalog_reads_read_only_and_a_run_adds_the_generations_table)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "X" };
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
    archive_x(cat, "quotes-000000.tgz", 0, 11);
    qp_catalog_close(cat);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), QP_CATALOG_FILE);
    sqlite3 *db = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ_INT(
            sqlite3_exec(db,
                         "DROP TABLE generations; ALTER TABLE symbols DROP COLUMN gen;"
                         " ALTER TABLE symbols DROP COLUMN at_top;"
                         " ALTER TABLE symbols DROP COLUMN first_row;"
                         " ALTER TABLE symbols DROP COLUMN last_row; PRAGMA user_version = 3;",
                         NULL, NULL, NULL),
            SQLITE_OK);
    sqlite3_close(db);

    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), true));
    int n = 0;
    ASSERT_OK(qp_catalog_foreach_generation(cat, count_generations, &n));
    ASSERT_EQ_INT(n, 0);
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_STR(row.archive, "quotes-000000.tgz");
    qp_catalog_close(cat);

    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false)); // migrates to 5
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_OK(qp_catalog_begin(cat));
    snprintf(row.archive, sizeof(row.archive), "quotes-000001.tgz");
    ASSERT_OK(qp_catalog_rearchive(cat, &row, false));
    ASSERT_OK(qp_catalog_commit(cat));
    n = 0;
    ASSERT_OK(qp_catalog_foreach_generation(cat, count_generations, &n));
    ASSERT_EQ_INT(n, 1);
    qp_catalog_close(cat);
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ_INT(sqlite3_column_int(st, 0), 5);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(compaction_moves_members_and_forgets_an_archive_only_when_empty)
{
    struct qp_catalog *cat = NULL;
    const char *syms[] = { "X" };
    struct qp_catalog_row row;
    ASSERT_OK(qp_catalog_open(&cat, test_tmpdir(), false));
    ASSERT_OK(qp_catalog_add_symbols(cat, syms, 1));
    archive_x(cat, "quotes-000000.tgz", 0, 11);
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_OK(qp_catalog_begin(cat));
    snprintf(row.archive, sizeof(row.archive), "quotes-000001.tgz");
    ASSERT_OK(qp_catalog_rearchive(cat, &row, false));
    struct qp_catalog_archive a = { "quotes-000001.tgz", 1, 1, 500 };
    ASSERT_OK(qp_catalog_add_archive(cat, &a));
    ASSERT_OK(qp_catalog_commit(cat));

    // 000000 still holds X's earlier generation, 000001 its current member.
    ASSERT_EQ_INT(qp_catalog_delete_archive(cat, "quotes-000000.tgz"), -EPERM);
    ASSERT_EQ_INT(qp_catalog_delete_archive(cat, "quotes-000001.tgz"), -EPERM);
    ASSERT_OK(qp_catalog_begin(cat));
    ASSERT_OK(qp_catalog_drop_generation(cat, "X", "quotes-000000.tgz"));
    ASSERT_OK(qp_catalog_delete_archive(cat, "quotes-000000.tgz"));
    struct qp_catalog_archive b = { "quotes-000002.tgz", 2, 1, 400 };
    ASSERT_OK(qp_catalog_add_archive(cat, &b));
    ASSERT_OK(qp_catalog_move_archive(cat, "quotes-000001.tgz", "quotes-000002.tgz"));
    ASSERT_OK(qp_catalog_delete_archive(cat, "quotes-000001.tgz"));
    ASSERT_OK(qp_catalog_commit(cat));
    ASSERT_OK(qp_catalog_get(cat, "X", &row));
    ASSERT_EQ_STR(row.archive, "quotes-000002.tgz");
    ASSERT_EQ_INT(qp_catalog_has_archive(cat, "quotes-000000.tgz"), 0);
    ASSERT_EQ_INT(qp_catalog_has_archive(cat, "quotes-000001.tgz"), 0);
    int n = 0;
    ASSERT_OK(qp_catalog_foreach_generation(cat, count_generations, &n));
    ASSERT_EQ_INT(n, 0);
    uint64_t seq = 0;
    ASSERT_OK(qp_catalog_next_archive_seq(cat, &seq));
    ASSERT_EQ_U64(seq, 3);
    qp_catalog_close(cat);
}

// SPDX-License-Identifier: MIT
/* The SQLite catalog in the output directory: every symbol's state, sizes, checksum, archive. */
#include "quotepack/catalog.h"
#include "quotepack/catalog_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "core/alloc.h"
#include "core/log.h"
#include "quotepack/console.h"
#include "quotepack/failpoint.h"

static const char *const state_names[] = { "pending", "fetched", "converted", "archived",
                                           "failed" };

const char *qp_state_name(enum qp_state s)
{
    return (unsigned)s < 5 ? state_names[s] : "unknown";
}

int qp_state_parse(const char *name, enum qp_state *out)
{
    for (unsigned i = 0; i < 5; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum qp_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool qp_state_transition_ok(enum qp_state from, enum qp_state to)
{
    if (from == to) {
        return from != QP_STATE_ARCHIVED;
    }
    switch (from) {
    case QP_STATE_PENDING:
        return to == QP_STATE_FETCHED || to == QP_STATE_CONVERTED || to == QP_STATE_FAILED;
    case QP_STATE_FETCHED:
        return to == QP_STATE_CONVERTED || to == QP_STATE_FAILED || to == QP_STATE_PENDING;
    case QP_STATE_CONVERTED:
        return to == QP_STATE_ARCHIVED || to == QP_STATE_FAILED || to == QP_STATE_PENDING;
    case QP_STATE_FAILED:
        return to == QP_STATE_PENDING || to == QP_STATE_FETCHED || to == QP_STATE_CONVERTED;
    case QP_STATE_ARCHIVED:
        return false;
    }
    return false;
}

const char *qp_failure_name(enum qp_failure f)
{
    return f == QP_FAILURE_TRANSIENT ? "transient" : f == QP_FAILURE_PERMANENT ? "permanent" : "";
}

int qp_cat_map_err(struct qp_catalog *cat, int rc, const char *what)
{
    qp_console_log(CORE_LOG_ERROR, "catalog: %s: %s", what, sqlite3_errmsg(cat->db));
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_READONLY:
        return -EROFS;
    default:
        return -EIO;
    }
}

int qp_cat_exec(struct qp_catalog *cat, const char *sql)
{
    int rc = sqlite3_exec(cat->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : qp_cat_map_err(cat, rc, sql);
}

int qp_cat_prepare(struct qp_catalog *cat, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(cat->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : qp_cat_map_err(cat, rc, sql);
}

/* One integer from a query (0 when it returns no row). */
int qp_cat_query_int(struct qp_catalog *cat, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(cat, sql, &st);
    if (rc != 0) {
        return rc;
    }
    int src = sqlite3_step(st);
    *out = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = qp_cat_map_err(cat, src, sql);
    }
    sqlite3_finalize(st);
    return rc;
}

/*
 * A symbol's earlier archive members (version 4, issue 15): when a refresh repacks a changed
 * body, the member it replaces stays in its archive (archives are never rewritten in place)
 * and is recorded here, in the transaction that records the new one, so that verify knows
 * it. replaced = 1: every row of it is in a later member (the whole body was packed again).
 */
#define GENERATIONS_TABLE                    \
    "CREATE TABLE generations ("             \
    " symbol TEXT NOT NULL,"                 \
    " archive TEXT NOT NULL,"                \
    " rows INTEGER NOT NULL DEFAULT 0,"      \
    " xml_bytes INTEGER NOT NULL DEFAULT 0," \
    " crc32 INTEGER NOT NULL DEFAULT 0,"     \
    " replaced INTEGER NOT NULL DEFAULT 1,"  \
    " created INTEGER NOT NULL DEFAULT 0,"   \
    " PRIMARY KEY (symbol, archive));"

/* The current version, created in an empty file. */
static const char schema_v4[] =
        "CREATE TABLE symbols ("
        " symbol TEXT PRIMARY KEY,"
        " state TEXT NOT NULL CHECK (state IN"
        "  ('pending','fetched','converted','archived','failed')),"
        " rows INTEGER NOT NULL DEFAULT 0,"
        " csv_bytes INTEGER NOT NULL DEFAULT 0,"
        " xml_bytes INTEGER NOT NULL DEFAULT 0,"
        " crc32 INTEGER NOT NULL DEFAULT 0,"
        " archive TEXT,"
        " error TEXT,"
        " updated INTEGER NOT NULL DEFAULT 0,"
        " failure TEXT CHECK (failure IN ('transient','permanent')),"
        " spool_format INTEGER NOT NULL DEFAULT 0,"
        " spool_seg INTEGER NOT NULL DEFAULT 0,"
        " spool_off INTEGER NOT NULL DEFAULT 0,"
        " spool_len INTEGER NOT NULL DEFAULT 0,"
        " spool_hdr INTEGER NOT NULL DEFAULT 0,"
        " etag TEXT,"
        " last_modified TEXT,"
        " body_sha256 TEXT);"
        "CREATE TABLE archives ("
        " name TEXT PRIMARY KEY,"
        " members INTEGER NOT NULL,"
        " bytes INTEGER NOT NULL,"
        " created INTEGER NOT NULL,"
        " seq INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);" GENERATIONS_TABLE
        "PRAGMA user_version = 4;";

/*
 * Version 1 -> 2. Batches are gone (an archive is formed at pack time and numbered by seq; an
 * old archive keeps its name, its batch becomes its seq). fetched meant "pending" already; a
 * converted symbol's XML sat in an old-style spool file that version 2 does not read, so it is
 * converted again; old failures count as transient (tried again by the next run, as before).
 */
static const char migrate_v1_v2[] =
        "DROP INDEX IF EXISTS symbols_batch;"
        "ALTER TABLE symbols DROP COLUMN batch;"
        "ALTER TABLE symbols ADD COLUMN failure TEXT CHECK (failure IN ('transient','permanent'));"
        "ALTER TABLE symbols ADD COLUMN spool_format INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE symbols ADD COLUMN spool_seg INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE symbols ADD COLUMN spool_off INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE symbols ADD COLUMN spool_len INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE symbols ADD COLUMN spool_hdr INTEGER NOT NULL DEFAULT 0;"
        "UPDATE symbols SET state = 'pending' WHERE state IN ('fetched', 'converted');"
        "UPDATE symbols SET failure = 'transient' WHERE state = 'failed';"
        "ALTER TABLE archives ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
        "UPDATE archives SET seq = batch;"
        "ALTER TABLE archives DROP COLUMN batch;"
        "ALTER TABLE archives DROP COLUMN part;"
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "PRAGMA user_version = 2;";

/*
 * Version 2 -> 3: each symbol's validators for conditional requests (issue 15): the ETag and
 * Last-Modified its server sent with the archived body, and the body's SHA-256 (hex) for a
 * server that sends neither. NULL until a run records them.
 */
static const char migrate_v2_v3[] = "ALTER TABLE symbols ADD COLUMN etag TEXT;"
                                    "ALTER TABLE symbols ADD COLUMN last_modified TEXT;"
                                    "ALTER TABLE symbols ADD COLUMN body_sha256 TEXT;"
                                    "PRAGMA user_version = 3;";

/* Version 3 -> 4: the generations table (no symbol has an earlier member yet). */
static const char migrate_v3_v4[] = GENERATIONS_TABLE "PRAGMA user_version = 4;";

/*
 * Version 4 -> 5: row-level generations (issue 15). gen numbers a symbol's members in the
 * order they were archived (0 the first); first_row and last_row are the first field (the
 * date) of the member's first and last rows, in source order (for {from}); at_top says the member's
 * rows come before the earlier members' (a newest-first source), else after. An earlier member with
 * replaced = 0 holds rows no later member holds: `cat` joins the symbol's unreplaced generations
 * and its current member in gen order. The current version is created as version 4, then this.
 */
static const char migrate_v4_v5[] =
        "ALTER TABLE generations ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE generations ADD COLUMN at_top INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE symbols ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE symbols ADD COLUMN at_top INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE generations ADD COLUMN first_row TEXT;"
        "ALTER TABLE generations ADD COLUMN last_row TEXT;"
        "ALTER TABLE symbols ADD COLUMN first_row TEXT;"
        "ALTER TABLE symbols ADD COLUMN last_row TEXT;"
        "PRAGMA user_version = 5;";

/* The version on disk: 0 for an empty file, 1 for the first layout, else user_version. */
static int disk_version(struct qp_catalog *cat, int64_t *version)
{
    int rc = qp_cat_query_int(cat, "PRAGMA user_version", version);
    if (rc == 0 && *version == 0) {
        int64_t tables = 0;
        rc = qp_cat_query_int(cat, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'symbols'",
                              &tables);
        *version = tables > 0 ? 1 : 0;
    }
    return rc;
}

/* Brings the schema to QP_CATALOG_VERSION in one transaction. */
static int migrate(struct qp_catalog *cat)
{
    int rc = qp_cat_exec(cat, "BEGIN IMMEDIATE");
    if (rc != 0) {
        return rc;
    }
    int64_t v = 0;
    rc = disk_version(cat, &v);
    if (rc == 0 && v > QP_CATALOG_VERSION) {
        qp_console_log(CORE_LOG_ERROR,
                       "catalog: version %lld was written by a newer quotepack (this one reads %d)",
                       (long long)v, QP_CATALOG_VERSION);
        rc = -EPROTO;
    }
    if (rc == 0 && v == 0) {
        rc = qp_cat_exec(cat, schema_v4);
        rc = rc == 0 ? qp_cat_exec(cat, migrate_v4_v5) : rc;
    } else if (rc == 0 && v > 0 && v < QP_CATALOG_VERSION) {
        qp_console_log(CORE_LOG_INFO, "catalog: upgrading from version %lld to %d", (long long)v,
                       QP_CATALOG_VERSION);
        if (v == 1) {
            rc = qp_cat_exec(cat, migrate_v1_v2);
        }
        if (rc == 0 && v <= 2) {
            rc = qp_cat_exec(cat, migrate_v2_v3);
        }
        if (rc == 0 && v <= 3) {
            rc = qp_cat_exec(cat, migrate_v3_v4);
        }
        if (rc == 0) {
            rc = qp_cat_exec(cat, migrate_v4_v5);
        }
    }
    if (rc == 0) {
        qp_failpoint("catalog-commit");
        return qp_cat_exec(cat, "COMMIT");
    }
    sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

#define ROW_COLUMNS_V2                                                                         \
    "symbol, state, rows, csv_bytes, xml_bytes, crc32, archive, error, failure, spool_format," \
    " spool_seg, spool_off, spool_len, spool_hdr"
#define ROW_COLUMNS_V3 ROW_COLUMNS_V2 ", etag, last_modified, body_sha256"
#define ROW_COLUMNS    ROW_COLUMNS_V3 ", gen, at_top, first_row, last_row"
/* Read-only opens of older versions: no generation numbers (5), no validators (3). */
#define ROW_COLUMNS_V34 ROW_COLUMNS_V3 ", 0, 0, NULL, NULL"
#define ROW_COLUMNS_OLD ROW_COLUMNS_V2 ", NULL, NULL, NULL, 0, 0, NULL, NULL"

static const char *row_select(const struct qp_catalog *cat, bool all)
{
    if (cat->version >= 5) {
        return all ? "SELECT " ROW_COLUMNS " FROM symbols ORDER BY symbol"
                   : "SELECT " ROW_COLUMNS " FROM symbols WHERE symbol = ?1";
    }
    if (cat->version >= 3) {
        return all ? "SELECT " ROW_COLUMNS_V34 " FROM symbols ORDER BY symbol"
                   : "SELECT " ROW_COLUMNS_V34 " FROM symbols WHERE symbol = ?1";
    }
    return all ? "SELECT " ROW_COLUMNS_OLD " FROM symbols ORDER BY symbol"
               : "SELECT " ROW_COLUMNS_OLD " FROM symbols WHERE symbol = ?1";
}

int qp_catalog_open(struct qp_catalog **out, const char *dir, bool readonly)
{
    struct qp_catalog *cat = core_xcalloc(1, sizeof(*cat));
    size_t n = strlen(dir) + sizeof(QP_CATALOG_FILE) + 2;
    char *path = core_xmalloc(n);
    int rc = 0;
    snprintf(path, n, "%s/%s", dir, QP_CATALOG_FILE);
    *out = NULL;
    int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int src = sqlite3_open_v2(path, &cat->db, flags, NULL);
    if (src != SQLITE_OK) {
        if (cat->db == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        rc = qp_cat_map_err(cat, src, path);
        goto fail;
    }
    sqlite3_busy_timeout(cat->db, 5000);
    if (!readonly) {
        // WAL, so readers (verify) never block the writer. synchronous=NORMAL: a commit is
        // not fsynced until the next checkpoint, so a power loss (never a process crash) may
        // roll back the last transactions. The design tolerates that: every archive is fsynced
        // and renamed before the commit that records it, and an archive the catalog does not
        // record is deleted at startup and its symbols done again (docs/quotepack.md).
        rc = qp_cat_exec(cat, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        if (rc == 0) {
            rc = migrate(cat);
        }
        if (rc != 0) {
            goto fail;
        }
        cat->version = QP_CATALOG_VERSION;
    } else {
        int64_t v = 0;
        rc = disk_version(cat, &v);
        cat->version = v;
        if (rc == 0 && v == 0) {
            rc = -ENOENT; // no schema (yet): a run may be creating it; the caller says so
        } else if (rc == 0 && v >= 2 && v < QP_CATALOG_VERSION) {
            // Versions 2 and 3 read the same but without validators (version 2: NULL) and
            // without generations (none): verify works on a directory no run has upgraded
            // yet, and leaves it as it is.
        } else if (rc == 0 && v != QP_CATALOG_VERSION) {
            qp_console_log(CORE_LOG_ERROR,
                           "catalog: %s is version %lld and this quotepack reads %d%s", path,
                           (long long)v, QP_CATALOG_VERSION,
                           v < QP_CATALOG_VERSION ? "; any run in the directory upgrades it" : "");
            rc = -EPROTO;
        }
        if (rc != 0) {
            goto fail;
        }
    }
    rc = qp_cat_prepare(cat, row_select(cat, false), &cat->get);
    if (rc != 0) {
        goto fail;
    }
    if (!readonly) {
        rc = qp_cat_prepare(
                cat,
                "UPDATE symbols SET state = ?2, rows = ?3, csv_bytes = ?4, xml_bytes = ?5,"
                " crc32 = ?6, archive = ?7, error = ?8, updated = ?9, failure = ?10,"
                " spool_format = ?11, spool_seg = ?12, spool_off = ?13, spool_len = ?14,"
                " spool_hdr = ?15, etag = ?16, last_modified = ?17, body_sha256 = ?18,"
                " first_row = ?19, last_row = ?20 WHERE symbol = ?1 AND state != 'archived'",
                &cat->update);
        if (rc != 0) {
            goto fail;
        }
        rc = qp_cat_prepare(
                cat,
                "UPDATE symbols SET rows = ?2, csv_bytes = ?3, xml_bytes = ?4, crc32 = ?5,"
                " archive = ?6, updated = ?7, etag = ?8, last_modified = ?9,"
                " body_sha256 = ?10, error = NULL, gen = ?11, at_top = ?12,"
                " first_row = ?13, last_row = ?14"
                " WHERE symbol = ?1 AND state = 'archived'",
                &cat->rearchive);
        if (rc != 0) {
            goto fail;
        }
        rc = qp_cat_prepare(cat,
                            "INSERT OR IGNORE INTO symbols (symbol, state, updated)"
                            " VALUES (?1, 'pending', ?2)",
                            &cat->insert);
        if (rc != 0) {
            goto fail;
        }
    }
    free(path);
    *out = cat;
    return 0;
fail:
    free(path);
    qp_catalog_close(cat);
    return rc;
}

void qp_catalog_close(struct qp_catalog *cat)
{
    if (cat == NULL) {
        return;
    }
    if (cat->in_txn) {
        qp_catalog_rollback(cat);
    }
    sqlite3_finalize(cat->get);
    sqlite3_finalize(cat->update);
    sqlite3_finalize(cat->insert);
    sqlite3_finalize(cat->rearchive);
    sqlite3_close(cat->db);
    free(cat);
}

int qp_catalog_begin(struct qp_catalog *cat)
{
    int rc = qp_cat_exec(cat, "BEGIN IMMEDIATE");
    if (rc == 0) {
        cat->in_txn = true;
    }
    return rc;
}

int qp_catalog_begin_read(struct qp_catalog *cat)
{
    int rc = qp_cat_exec(cat, "BEGIN DEFERRED");
    if (rc == 0) {
        cat->in_txn = true;
        // A deferred transaction takes its snapshot at the first read: take it now.
        int64_t v = 0;
        rc = qp_cat_query_int(cat, "SELECT COUNT(*) FROM archives", &v);
    }
    return rc;
}

int qp_catalog_commit(struct qp_catalog *cat)
{
    qp_failpoint("catalog-commit");
    int rc = qp_cat_exec(cat, "COMMIT");
    if (rc == 0) {
        cat->in_txn = false;
    }
    return rc;
}

void qp_catalog_rollback(struct qp_catalog *cat)
{
    if (sqlite3_get_autocommit(cat->db) == 0) {
        sqlite3_exec(cat->db, "ROLLBACK", NULL, NULL, NULL);
    }
    cat->in_txn = false;
}

int64_t qp_cat_now_s(void)
{
    return (int64_t)time(NULL);
}

int qp_catalog_add_symbols(struct qp_catalog *cat, const char *const *symbols, size_t n)
{
    int rc = qp_catalog_begin(cat);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(cat->insert);
        sqlite3_bind_text(cat->insert, 1, symbols[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(cat->insert, 2, qp_cat_now_s());
        int src = sqlite3_step(cat->insert);
        if (src != SQLITE_DONE) {
            rc = qp_cat_map_err(cat, src, "insert symbol");
            qp_catalog_rollback(cat);
            return rc;
        }
    }
    sqlite3_reset(cat->insert);
    return qp_catalog_commit(cat);
}

void qp_cat_copy_text(char *dst, size_t size, const unsigned char *src)
{
    snprintf(dst, size, "%s", src != NULL ? (const char *)src : "");
}

static void fill_row(sqlite3_stmt *st, struct qp_catalog_row *row)
{
    memset(row, 0, sizeof(*row));
    qp_cat_copy_text(row->symbol, sizeof(row->symbol), sqlite3_column_text(st, 0));
    const unsigned char *s = sqlite3_column_text(st, 1);
    if (s == NULL || qp_state_parse((const char *)s, &row->state) != 0) {
        row->state = QP_STATE_PENDING;
    }
    row->rows = (uint64_t)sqlite3_column_int64(st, 2);
    row->csv_bytes = (uint64_t)sqlite3_column_int64(st, 3);
    row->xml_bytes = (uint64_t)sqlite3_column_int64(st, 4);
    row->crc32 = (uint32_t)sqlite3_column_int64(st, 5);
    qp_cat_copy_text(row->archive, sizeof(row->archive), sqlite3_column_text(st, 6));
    qp_cat_copy_text(row->error, sizeof(row->error), sqlite3_column_text(st, 7));
    const unsigned char *f = sqlite3_column_text(st, 8);
    row->failure = f == NULL                                   ? QP_FAILURE_NONE
                   : strcmp((const char *)f, "permanent") == 0 ? QP_FAILURE_PERMANENT
                                                               : QP_FAILURE_TRANSIENT;
    row->spool_format = sqlite3_column_int(st, 9);
    row->spool_seg = (uint64_t)sqlite3_column_int64(st, 10);
    row->spool_off = (uint64_t)sqlite3_column_int64(st, 11);
    row->spool_len = (uint64_t)sqlite3_column_int64(st, 12);
    row->spool_hdr = (uint32_t)sqlite3_column_int64(st, 13);
    qp_cat_copy_text(row->etag, sizeof(row->etag), sqlite3_column_text(st, 14));
    qp_cat_copy_text(row->last_modified, sizeof(row->last_modified), sqlite3_column_text(st, 15));
    qp_cat_copy_text(row->body_sha256, sizeof(row->body_sha256), sqlite3_column_text(st, 16));
    row->gen = (uint64_t)sqlite3_column_int64(st, 17);
    row->at_top = sqlite3_column_int(st, 18) != 0;
    qp_cat_copy_text(row->first_row, sizeof(row->first_row), sqlite3_column_text(st, 19));
    qp_cat_copy_text(row->last_row, sizeof(row->last_row), sqlite3_column_text(st, 20));
}

/* Binds text, or NULL for an empty string. */
void qp_cat_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s[0] != '\0') {
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, i);
    }
}

int qp_catalog_get(struct qp_catalog *cat, const char *symbol, struct qp_catalog_row *row)
{
    sqlite3_reset(cat->get);
    sqlite3_bind_text(cat->get, 1, symbol, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(cat->get);
    if (src == SQLITE_ROW) {
        fill_row(cat->get, row);
        sqlite3_reset(cat->get);
        return 0;
    }
    sqlite3_reset(cat->get);
    return src == SQLITE_DONE ? -ENOENT : qp_cat_map_err(cat, src, "get symbol");
}

int qp_catalog_update(struct qp_catalog *cat, const struct qp_catalog_row *row)
{
    struct qp_catalog_row cur;
    int rc = qp_catalog_get(cat, row->symbol, &cur);
    if (rc != 0) {
        return rc;
    }
    if (!qp_state_transition_ok(cur.state, row->state)) {
        qp_console_log(CORE_LOG_ERROR, "catalog: refusing %s -> %s for %s",
                       qp_state_name(cur.state), qp_state_name(row->state), row->symbol);
        return -EPERM;
    }
    sqlite3_stmt *st = cat->update;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, row->symbol, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, qp_state_name(row->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)row->rows);
    sqlite3_bind_int64(st, 4, (int64_t)row->csv_bytes);
    sqlite3_bind_int64(st, 5, (int64_t)row->xml_bytes);
    sqlite3_bind_int64(st, 6, (int64_t)row->crc32);
    if (row->archive[0] != '\0') {
        sqlite3_bind_text(st, 7, row->archive, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, 7);
    }
    if (row->error[0] != '\0') {
        sqlite3_bind_text(st, 8, row->error, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, 8);
    }
    sqlite3_bind_int64(st, 9, qp_cat_now_s());
    if (row->state == QP_STATE_FAILED && row->failure != QP_FAILURE_NONE) {
        sqlite3_bind_text(st, 10, qp_failure_name(row->failure), -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 10);
    }
    bool spooled = row->state == QP_STATE_CONVERTED && row->spool_format != 0;
    sqlite3_bind_int(st, 11, spooled ? row->spool_format : 0);
    sqlite3_bind_int64(st, 12, spooled ? (int64_t)row->spool_seg : 0);
    sqlite3_bind_int64(st, 13, spooled ? (int64_t)row->spool_off : 0);
    sqlite3_bind_int64(st, 14, spooled ? (int64_t)row->spool_len : 0);
    sqlite3_bind_int64(st, 15, spooled ? (int64_t)row->spool_hdr : 0);
    qp_cat_bind_text_or_null(st, 16, row->etag);
    qp_cat_bind_text_or_null(st, 17, row->last_modified);
    qp_cat_bind_text_or_null(st, 18, row->body_sha256);
    qp_cat_bind_text_or_null(st, 19, row->first_row);
    qp_cat_bind_text_or_null(st, 20, row->last_row);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        return qp_cat_map_err(cat, src, "update symbol");
    }
    return sqlite3_changes(cat->db) == 1 ? 0 : -EPERM;
}

int qp_catalog_foreach(struct qp_catalog *cat, qp_catalog_row_fn fn, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(cat, row_select(cat, true), &st);
    if (rc != 0) {
        return rc;
    }
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct qp_catalog_row row;
        fill_row(st, &row);
        rc = fn(ctx, &row);
        if (rc != 0) {
            break;
        }
    }
    if (rc == 0 && src != SQLITE_DONE) {
        rc = qp_cat_map_err(cat, src, "list symbols");
    }
    sqlite3_finalize(st);
    return rc;
}

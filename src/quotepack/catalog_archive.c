// SPDX-License-Identifier: MIT
/* The catalog's archives, a symbol's earlier generations and the recorded run settings. */
#include "quotepack/catalog.h"
#include "quotepack/catalog_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"
#include "quotepack/console.h"

/* Runs one statement with up to two text parameters. */
static int exec2(struct qp_catalog *cat, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(cat, sql, &st);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b != NULL) {
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    }
    int src = sqlite3_step(st);
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? 0 : qp_cat_map_err(cat, src, sql);
}

int qp_catalog_rearchive(struct qp_catalog *cat, const struct qp_catalog_row *row, bool keep)
{
    struct qp_catalog_row cur;
    int rc = qp_catalog_get(cat, row->symbol, &cur);
    if (rc != 0) {
        return rc;
    }
    if (cur.state != QP_STATE_ARCHIVED || row->state != QP_STATE_ARCHIVED ||
        row->archive[0] == '\0' || strcmp(cur.archive, row->archive) == 0) {
        qp_console_log(CORE_LOG_ERROR, "catalog: refusing to move %s (%s in %s) to %s", row->symbol,
                       qp_state_name(cur.state), cur.archive, row->archive);
        return -EPERM;
    }
    if (!keep) {
        // The whole body again: every earlier generation's rows are in the new member.
        rc = exec2(cat, "UPDATE generations SET replaced = 1 WHERE symbol = ?1", row->symbol, NULL);
        if (rc != 0) {
            return rc;
        }
    }
    sqlite3_stmt *st = NULL;
    rc = qp_cat_prepare(
            cat,
            "INSERT INTO generations (symbol, archive, rows, xml_bytes, crc32, replaced,"
            " created, gen, at_top, first_row, last_row)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            &st);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_text(st, 1, cur.symbol, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, cur.archive, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (int64_t)cur.rows);
    sqlite3_bind_int64(st, 4, (int64_t)cur.xml_bytes);
    sqlite3_bind_int64(st, 5, (int64_t)cur.crc32);
    sqlite3_bind_int(st, 6, keep ? 0 : 1);
    sqlite3_bind_int64(st, 7, qp_cat_now_s());
    sqlite3_bind_int64(st, 8, (int64_t)cur.gen);
    sqlite3_bind_int(st, 9, cur.at_top ? 1 : 0);
    qp_cat_bind_text_or_null(st, 10, cur.first_row);
    qp_cat_bind_text_or_null(st, 11, cur.last_row);
    int src = sqlite3_step(st);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE) {
        return qp_cat_map_err(cat, src, "insert generation");
    }
    st = cat->rearchive;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, row->symbol, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (int64_t)row->rows);
    sqlite3_bind_int64(st, 3, (int64_t)row->csv_bytes);
    sqlite3_bind_int64(st, 4, (int64_t)row->xml_bytes);
    sqlite3_bind_int64(st, 5, (int64_t)row->crc32);
    sqlite3_bind_text(st, 6, row->archive, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, qp_cat_now_s());
    qp_cat_bind_text_or_null(st, 8, row->etag);
    qp_cat_bind_text_or_null(st, 9, row->last_modified);
    qp_cat_bind_text_or_null(st, 10, row->body_sha256);
    sqlite3_bind_int64(st, 11, (int64_t)cur.gen + 1);
    sqlite3_bind_int(st, 12, keep && row->at_top ? 1 : 0);
    qp_cat_bind_text_or_null(st, 13, row->first_row);
    qp_cat_bind_text_or_null(st, 14, row->last_row);
    src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        return qp_cat_map_err(cat, src, "re-archive symbol");
    }
    return sqlite3_changes(cat->db) == 1 ? 0 : -EPERM;
}

int qp_catalog_foreach_generation(struct qp_catalog *cat, qp_catalog_generation_fn fn, void *ctx)
{
    if (cat->version < 4) {
        return 0; // a version 3 catalog opened read-only: no earlier members
    }
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(
            cat,
            cat->version >= 5 ? "SELECT symbol, archive, rows, xml_bytes, crc32, replaced, gen,"
                                " at_top, first_row, last_row FROM generations"
                                " ORDER BY symbol, gen, archive"
                              : "SELECT symbol, archive, rows, xml_bytes, crc32, replaced, 0, 0,"
                                " NULL, NULL FROM generations ORDER BY symbol, archive",
            &st);
    if (rc != 0) {
        return rc;
    }
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct qp_catalog_generation g;
        memset(&g, 0, sizeof(g));
        qp_cat_copy_text(g.symbol, sizeof(g.symbol), sqlite3_column_text(st, 0));
        qp_cat_copy_text(g.archive, sizeof(g.archive), sqlite3_column_text(st, 1));
        g.rows = (uint64_t)sqlite3_column_int64(st, 2);
        g.xml_bytes = (uint64_t)sqlite3_column_int64(st, 3);
        g.crc32 = (uint32_t)sqlite3_column_int64(st, 4);
        g.replaced = sqlite3_column_int(st, 5) != 0;
        g.gen = (uint64_t)sqlite3_column_int64(st, 6);
        g.at_top = sqlite3_column_int(st, 7) != 0;
        qp_cat_copy_text(g.first_row, sizeof(g.first_row), sqlite3_column_text(st, 8));
        qp_cat_copy_text(g.last_row, sizeof(g.last_row), sqlite3_column_text(st, 9));
        rc = fn(ctx, &g);
        if (rc != 0) {
            break;
        }
    }
    if (rc == 0 && src != SQLITE_DONE) {
        rc = qp_cat_map_err(cat, src, "list generations");
    }
    sqlite3_finalize(st);
    return rc;
}

int qp_catalog_drop_generation(struct qp_catalog *cat, const char *symbol, const char *archive)
{
    return exec2(cat, "DELETE FROM generations WHERE symbol = ?1 AND archive = ?2", symbol,
                 archive);
}

int qp_catalog_move_archive(struct qp_catalog *cat, const char *from, const char *to)
{
    int rc = exec2(cat, "UPDATE symbols SET archive = ?2 WHERE archive = ?1 AND state = 'archived'",
                   from, to);
    if (rc == 0) {
        rc = exec2(cat, "UPDATE generations SET archive = ?2 WHERE archive = ?1", from, to);
    }
    return rc;
}

int qp_catalog_delete_archive(struct qp_catalog *cat, const char *name)
{
    int64_t left = 0;
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(
            cat,
            "SELECT (SELECT COUNT(*) FROM symbols WHERE archive = ?1 AND state = 'archived')"
            " + (SELECT COUNT(*) FROM generations WHERE archive = ?1)",
            &st);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(st);
    left = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (src != SQLITE_ROW) {
        return qp_cat_map_err(cat, src, "count archive members");
    }
    if (left != 0) {
        qp_console_log(CORE_LOG_ERROR, "catalog: %s still holds %lld recorded members", name,
                       (long long)left);
        return -EPERM;
    }
    return exec2(cat, "DELETE FROM archives WHERE name = ?1", name, NULL);
}

int qp_catalog_add_archive(struct qp_catalog *cat, const struct qp_catalog_archive *a)
{
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(cat,
                            "INSERT INTO archives (name, seq, members, bytes, created)"
                            " VALUES (?1, ?2, ?3, ?4, ?5)",
                            &st);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_text(st, 1, a->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (int64_t)a->seq);
    sqlite3_bind_int64(st, 3, (int64_t)a->members);
    sqlite3_bind_int64(st, 4, (int64_t)a->bytes);
    sqlite3_bind_int64(st, 5, qp_cat_now_s());
    int src = sqlite3_step(st);
    if ((src & 0xff) == SQLITE_CONSTRAINT) {
        rc = -EEXIST;
    } else if (src != SQLITE_DONE) {
        rc = qp_cat_map_err(cat, src, "insert archive");
    }
    sqlite3_finalize(st);
    return rc;
}

int qp_catalog_next_archive_seq(struct qp_catalog *cat, uint64_t *seq)
{
    int64_t v = 0;
    int rc = qp_cat_query_int(cat, "SELECT COALESCE(MAX(seq) + 1, 0) FROM archives", &v);
    *seq = rc == 0 && v > 0 ? (uint64_t)v : 0;
    return rc;
}

int qp_catalog_has_archive(struct qp_catalog *cat, const char *name)
{
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(cat, "SELECT 1 FROM archives WHERE name = ?1", &st);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        rc = 1;
    } else if (src == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = qp_cat_map_err(cat, src, "find archive");
    }
    sqlite3_finalize(st);
    return rc;
}

int qp_catalog_get_setting(struct qp_catalog *cat, const char *key, char *value, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(cat, "SELECT value FROM settings WHERE key = ?1", &st);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        qp_cat_copy_text(value, size, sqlite3_column_text(st, 0));
    } else {
        rc = src == SQLITE_DONE ? -ENOENT : qp_cat_map_err(cat, src, "get setting");
    }
    sqlite3_finalize(st);
    return rc;
}

int qp_catalog_set_setting(struct qp_catalog *cat, const char *key, const char *value)
{
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(cat, "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                            &st);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE) {
        rc = qp_cat_map_err(cat, src, "set setting");
    }
    sqlite3_finalize(st);
    return rc;
}

int qp_catalog_foreach_archive(struct qp_catalog *cat, qp_catalog_archive_fn fn, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc = qp_cat_prepare(cat, "SELECT name, seq, members, bytes FROM archives ORDER BY name",
                            &st);
    if (rc != 0) {
        return rc;
    }
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct qp_catalog_archive a;
        memset(&a, 0, sizeof(a));
        qp_cat_copy_text(a.name, sizeof(a.name), sqlite3_column_text(st, 0));
        a.seq = (uint64_t)sqlite3_column_int64(st, 1);
        a.members = (uint64_t)sqlite3_column_int64(st, 2);
        a.bytes = (uint64_t)sqlite3_column_int64(st, 3);
        rc = fn(ctx, &a);
        if (rc != 0) {
            break;
        }
    }
    if (rc == 0 && src != SQLITE_DONE) {
        rc = qp_cat_map_err(cat, src, "list archives");
    }
    sqlite3_finalize(st);
    return rc;
}

// SPDX-License-Identifier: MIT
/* The recordings catalog: DIR/recordings.sqlite, one row per committed segment archive. */
#include "mjpegd/record/catalog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"

/* The writer thread of the source that opened it owns the connection and its statements. */
struct mjd_rec_catalog {
    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_stmt *del;
    sqlite3_stmt *has;
    sqlite3_stmt *totals;
    sqlite3_stmt *oldest;
    sqlite3_stmt *each;
    sqlite3_stmt *find;
};

static const char schema[] = "CREATE TABLE IF NOT EXISTS segments("
                             "name TEXT PRIMARY KEY, source TEXT NOT NULL,"
                             " start_us INTEGER NOT NULL, end_us INTEGER NOT NULL,"
                             " frames INTEGER NOT NULL, bytes INTEGER NOT NULL,"
                             " index_offset INTEGER NOT NULL, reason TEXT NOT NULL);"
                             "CREATE INDEX IF NOT EXISTS segments_by_start"
                             " ON segments(source, start_us);";

static int map_err(struct mjd_rec_catalog *cat, int rc, const char *what)
{
    LOG_ERROR("recordings catalog: %s: %s", what, sqlite3_errmsg(cat->db));
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
    case SQLITE_PERM:
        return -EACCES;
    default:
        return -EIO;
    }
}

static int prepare(struct mjd_rec_catalog *cat, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(cat->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : map_err(cat, rc, sql);
}

static int open_catalog(struct mjd_rec_catalog **out, const char *dir, bool readonly)
{
    *out = NULL;
    struct mjd_rec_catalog *cat = calloc(1, sizeof(*cat));
    if (cat == NULL) {
        return -ENOMEM;
    }
    char path[1024];
    if ((size_t)snprintf(path, sizeof(path), "%s/recordings.sqlite", dir) >= sizeof(path)) {
        free(cat);
        return -ENAMETOOLONG;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &cat->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int err = cat->db != NULL ? map_err(cat, rc, path) : -ENOMEM;
        mjd_rec_catalog_close(cat);
        return err;
    }
    sqlite3_busy_timeout(cat->db, 5000);
    // WAL: playback opens the file read-only while this connection writes. synchronous=FULL:
    // a row that is in the catalog survives a power loss, as its archive does.
    static const char *const setup[] = { "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                                         schema };
    for (size_t i = 0; !readonly && i < sizeof(setup) / sizeof(setup[0]); i++) {
        rc = sqlite3_exec(cat->db, setup[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            int err = map_err(cat, rc, setup[i]);
            mjd_rec_catalog_close(cat);
            return err;
        }
    }
    int err = prepare(cat,
                      "INSERT OR REPLACE INTO segments(name, source, start_us, end_us, frames,"
                      " bytes, index_offset, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                      &cat->insert);
    if (err == 0) {
        err = prepare(cat, "DELETE FROM segments WHERE name = ?1", &cat->del);
    }
    if (err == 0) {
        err = prepare(cat, "SELECT 1 FROM segments WHERE name = ?1", &cat->has);
    }
    if (err == 0) {
        err = prepare(cat,
                      "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM segments WHERE source = ?1",
                      &cat->totals);
    }
    static const char cols[] =
            "SELECT name, source, start_us, end_us, frames, bytes, index_offset, reason FROM "
            "segments WHERE source = ?1 ORDER BY start_us, name";
    if (err == 0) {
        char sql[256];
        snprintf(sql, sizeof(sql), "%s LIMIT 1", cols);
        err = prepare(cat, sql, &cat->oldest);
    }
    if (err == 0) {
        err = prepare(cat, cols, &cat->each);
    }
    if (err == 0) {
        err = prepare(cat,
                      "SELECT name, source, start_us, end_us, frames, bytes, index_offset, reason"
                      " FROM segments WHERE name = ?1",
                      &cat->find);
    }
    if (err != 0) {
        mjd_rec_catalog_close(cat);
        return err;
    }
    *out = cat;
    return 0;
}

int mjd_rec_catalog_open(struct mjd_rec_catalog **out, const char *dir)
{
    return open_catalog(out, dir, false);
}

int mjd_rec_catalog_open_readonly(struct mjd_rec_catalog **out, const char *dir)
{
    return open_catalog(out, dir, true);
}

void mjd_rec_catalog_close(struct mjd_rec_catalog *cat)
{
    if (cat == NULL) {
        return;
    }
    sqlite3_finalize(cat->insert);
    sqlite3_finalize(cat->del);
    sqlite3_finalize(cat->has);
    sqlite3_finalize(cat->totals);
    sqlite3_finalize(cat->oldest);
    sqlite3_finalize(cat->each);
    sqlite3_finalize(cat->find);
    sqlite3_close(cat->db);
    free(cat);
}

/* Steps a statement that returns no row, then resets it. */
static int run(struct mjd_rec_catalog *cat, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_DONE ? 0 : map_err(cat, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

int mjd_rec_catalog_insert(struct mjd_rec_catalog *cat, const struct mjd_rec_row *row)
{
    sqlite3_stmt *st = cat->insert;
    sqlite3_bind_text(st, 1, row->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, row->start_us);
    sqlite3_bind_int64(st, 4, row->end_us);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)row->frames);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)row->bytes);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)row->index_offset);
    sqlite3_bind_text(st, 8, row->reason, -1, SQLITE_STATIC);
    return run(cat, st, "insert a segment");
}

int mjd_rec_catalog_delete(struct mjd_rec_catalog *cat, const char *name)
{
    sqlite3_bind_text(cat->del, 1, name, -1, SQLITE_STATIC);
    return run(cat, cat->del, "delete a segment");
}

int mjd_rec_catalog_has(struct mjd_rec_catalog *cat, const char *name, bool *found)
{
    sqlite3_stmt *st = cat->has;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    int err = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : map_err(cat, rc, "look a segment up");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

int mjd_rec_catalog_totals(struct mjd_rec_catalog *cat, const char *source, uint64_t *count,
                           uint64_t *bytes)
{
    sqlite3_stmt *st = cat->totals;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *count = 0;
    *bytes = 0;
    int err = 0;
    if (rc == SQLITE_ROW) {
        *count = (uint64_t)sqlite3_column_int64(st, 0);
        *bytes = (uint64_t)sqlite3_column_int64(st, 1);
    } else {
        err = map_err(cat, rc, "sum the segments");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

static void copy_text(char *dst, size_t cap, const unsigned char *s)
{
    snprintf(dst, cap, "%s", s != NULL ? (const char *)s : "");
}

static void read_row(sqlite3_stmt *st, struct mjd_rec_row *out)
{
    memset(out, 0, sizeof(*out));
    copy_text(out->name, sizeof(out->name), sqlite3_column_text(st, 0));
    copy_text(out->source, sizeof(out->source), sqlite3_column_text(st, 1));
    out->start_us = sqlite3_column_int64(st, 2);
    out->end_us = sqlite3_column_int64(st, 3);
    out->frames = (uint64_t)sqlite3_column_int64(st, 4);
    out->bytes = (uint64_t)sqlite3_column_int64(st, 5);
    out->index_offset = (uint64_t)sqlite3_column_int64(st, 6);
    copy_text(out->reason, sizeof(out->reason), sqlite3_column_text(st, 7));
}

int mjd_rec_catalog_oldest(struct mjd_rec_catalog *cat, const char *source, struct mjd_rec_row *out,
                           bool *found)
{
    sqlite3_stmt *st = cat->oldest;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    int err = 0;
    if (rc == SQLITE_ROW) {
        read_row(st, out);
    } else if (rc != SQLITE_DONE) {
        err = map_err(cat, rc, "find the oldest segment");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

int mjd_rec_catalog_each(struct mjd_rec_catalog *cat, const char *source, mjd_rec_row_fn fn,
                         void *ctx)
{
    sqlite3_stmt *st = cat->each;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    int err = 0;
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            err = map_err(cat, rc, "list the segments");
            break;
        }
        struct mjd_rec_row row;
        read_row(st, &row);
        if (fn(ctx, &row) != 0) {
            break;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

int mjd_rec_catalog_find(struct mjd_rec_catalog *cat, const char *name, struct mjd_rec_row *out,
                         bool *found)
{
    sqlite3_stmt *st = cat->find;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    int err = 0;
    if (rc == SQLITE_ROW) {
        read_row(st, out);
    } else if (rc != SQLITE_DONE) {
        err = map_err(cat, rc, "find a segment");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return err;
}

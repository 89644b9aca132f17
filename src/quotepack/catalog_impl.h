// SPDX-License-Identifier: MIT
/* Inside the catalog: its handle and the SQLite helpers that catalog*.c share (not an API). */
#ifndef QP_CATALOG_IMPL_H
#define QP_CATALOG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "quotepack/catalog.h"

/* One owner thread at a time, as catalog.h says; the statements are the handle's. */
struct qp_catalog {
    sqlite3 *db;
    bool in_txn;
    sqlite3_stmt *get;
    sqlite3_stmt *update;
    sqlite3_stmt *insert;
    sqlite3_stmt *rearchive;
    int64_t version; /* the schema version on disk once open: 3 or 4 (read-only), 4 */
};

/* An SQLite error as a negative errno (logged with what failed). */
int qp_cat_map_err(struct qp_catalog *cat, int rc, const char *what);
/* Runs sql (no parameters). 0 or -errno. */
int qp_cat_exec(struct qp_catalog *cat, const char *sql);
/* Prepares sql into *st. 0 or -errno. */
int qp_cat_prepare(struct qp_catalog *cat, const char *sql, sqlite3_stmt **st);
/* One integer from a query (0 when it returns no row). */
int qp_cat_query_int(struct qp_catalog *cat, const char *sql, int64_t *out);
/* The Unix time now, for the catalog's created/updated columns. */
int64_t qp_cat_now_s(void);
/* Binds s as text, or NULL when s is empty. */
void qp_cat_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);
/* Copies a column's text (NULL as "") into dst, truncated to size. */
void qp_cat_copy_text(char *dst, size_t size, const unsigned char *src);

#endif

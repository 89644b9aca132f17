// SPDX-License-Identifier: MIT
/* The recordings catalogs (DIR/recordings.sqlite, REC_FORMAT in docs/RECORDING.md), read-only. */
#include "mjpegd/recordings.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"

#define BUSY_TIMEOUT_MS 2000

bool mjd_recordings_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > MJD_RECORDINGS_NAME_MAX || name[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Opens dir's catalog read-only: NULL when it has none or it cannot be opened (logged). */
static sqlite3 *open_catalog(const char *dir)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/recordings.sqlite", dir);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return NULL;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (rc != SQLITE_CANTOPEN) {
            LOG_WARN("recordings: cannot open %s: %s", path, db != NULL ? sqlite3_errmsg(db) : "");
        }
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    return db;
}

static const char *col_text(sqlite3_stmt *st, int i, size_t *len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    *len = t != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
    return t != NULL ? (const char *)t : "";
}

int mjd_recordings_lookup(const char *const *dirs, size_t ndirs, const char *name,
                          struct mjd_recordings_segment *out)
{
    for (size_t d = 0; d < ndirs; d++) {
        sqlite3 *db = open_catalog(dirs[d]);
        if (db == NULL) {
            continue;
        }
        sqlite3_stmt *st = NULL;
        int found = -ENOENT;
        if (sqlite3_prepare_v2(db,
                               "SELECT source, start_us, end_us, index_offset, frames FROM "
                               "segments WHERE name = ?1",
                               -1, &st, NULL) != SQLITE_OK ||
            sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
            LOG_WARN("recordings: %s: %s", dirs[d], sqlite3_errmsg(db));
        } else if (sqlite3_step(st) == SQLITE_ROW) {
            size_t slen = 0;
            const char *source = col_text(st, 0, &slen);
            int n = snprintf(out->path, sizeof(out->path), "%s/%.*s/%s", dirs[d], (int)slen, source,
                             name);
            if (!mjd_recordings_name_ok(source, slen) || memchr(source, '\0', slen) != NULL ||
                n < 0 || (size_t)n >= sizeof(out->path)) {
                LOG_WARN("recordings: %s: segment %s names an impossible source", dirs[d], name);
            } else {
                out->start_us = sqlite3_column_int64(st, 1);
                out->end_us = sqlite3_column_int64(st, 2);
                out->index_offset = sqlite3_column_int64(st, 3);
                out->frames = sqlite3_column_int64(st, 4);
                found = 0;
            }
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        if (found == 0) {
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- /recordings -------------------------------------------------------------------------- */

struct row {
    char *source;
    char *name;
    int64_t start_us;
    int64_t end_us;
    int64_t frames;
    int64_t bytes;
    char reason[16]; /* "always" or "motion" (truncated if longer) */
};

struct rows {
    struct row *v;
    size_t n;
    size_t cap;
};

struct text {
    char *s;
    size_t len;
    size_t cap;
    bool failed;
};

/* Makes room for at least n more bytes and the NUL; false (and failed set) when out of memory. */
static bool grow(struct text *t, size_t n)
{
    size_t ncap = t->cap * 2 + n + 1;
    char *ns = realloc(t->s, ncap);
    if (ns == NULL) {
        t->failed = true;
        return false;
    }
    t->s = ns;
    t->cap = ncap;
    return true;
}

static void put(struct text *t, const char *fmt, ...) CORE_PRINTF(2, 3);
static void put(struct text *t, const char *fmt, ...)
{
    for (;;) {
        if (t->failed) {
            return;
        }
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        if (!grow(t, (size_t)n)) {
            return;
        }
    }
}

/* Appends n bytes as they are. */
static void put_bytes(struct text *t, const char *s, size_t n)
{
    if (t->failed) {
        return;
    }
    if (t->cap - t->len <= n && !grow(t, n)) {
        return;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

/*
 * A JSON string (names are checked, but a catalog's source is whatever the recorder wrote).
 * Runs that need no escape are copied whole: a listing of 100000 segments is millions of bytes.
 */
static void put_string(struct text *t, const char *s)
{
    put_bytes(t, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\' || *p < 0x20) {
            put_bytes(t, run, (size_t)((const char *)p - run));
            if (*p < 0x20) {
                put(t, "\\u%04x", *p);
            } else {
                put(t, "\\%c", *p);
            }
            run = (const char *)p + 1;
        }
    }
    put_bytes(t, run, strlen(run));
    put_bytes(t, "\"", 1);
}

/* Microseconds as seconds with 6 decimals; a negative time (a catalog's, whatever wrote it) too. */
static void put_seconds(struct text *t, int64_t us)
{
    uint64_t mag = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    put(t, "%s%llu.%06llu", us < 0 ? "-" : "", (unsigned long long)(mag / 1000000),
        (unsigned long long)(mag % 1000000));
}

static int cmp_rows(const void *a, const void *b)
{
    const struct row *x = a;
    const struct row *y = b;
    int c = strcmp(x->source, y->source);
    if (c != 0) {
        return c;
    }
    return x->start_us < y->start_us   ? -1
           : x->start_us > y->start_us ? 1
                                       : strcmp(x->name, y->name);
}

static int read_rows(sqlite3 *db, const char *dir, struct rows *rows)
{
    sqlite3_stmt *st = NULL;
    // The newest first, so that past MJD_RECORDINGS_LIST_MAX the oldest are the ones left out.
    if (sqlite3_prepare_v2(
                db,
                "SELECT source, name, start_us, end_us, frames, bytes, reason FROM segments "
                "ORDER BY start_us DESC",
                -1, &st, NULL) != SQLITE_OK) {
        LOG_WARN("recordings: %s: %s", dir, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return 0;
    }
    int rc = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (rows->n >= MJD_RECORDINGS_LIST_MAX) {
            LOG_WARN("recordings: more than %d segments: the oldest are not listed",
                     MJD_RECORDINGS_LIST_MAX);
            break;
        }
        if (rows->n == rows->cap) {
            size_t ncap = rows->cap ? rows->cap * 2 : 64;
            struct row *nv = realloc(rows->v, ncap * sizeof(*nv));
            if (nv == NULL) {
                rc = -ENOMEM;
                break;
            }
            rows->v = nv;
            rows->cap = ncap;
        }
        size_t slen = 0;
        size_t nlen = 0;
        const char *source = col_text(st, 0, &slen);
        const char *name = col_text(st, 1, &nlen);
        struct row *r = &rows->v[rows->n];
        r->source = strndup(source, slen);
        r->name = strndup(name, nlen);
        if (r->source == NULL || r->name == NULL) {
            free(r->source);
            free(r->name);
            rc = -ENOMEM;
            break;
        }
        r->start_us = sqlite3_column_int64(st, 2);
        r->end_us = sqlite3_column_int64(st, 3);
        r->frames = sqlite3_column_int64(st, 4);
        r->bytes = sqlite3_column_int64(st, 5);
        size_t rlen = 0;
        const char *reason = col_text(st, 6, &rlen);
        snprintf(r->reason, sizeof(r->reason), "%.*s", (int)rlen, reason);
        rows->n++;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE) {
        LOG_WARN("recordings: %s: %s", dir, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}

int mjd_recordings_list_json(const char *const *dirs, size_t ndirs, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    struct rows rows = { 0 };
    int rc = 0;
    for (size_t d = 0; d < ndirs && rc == 0; d++) {
        sqlite3 *db = open_catalog(dirs[d]);
        if (db != NULL) {
            rc = read_rows(db, dirs[d], &rows);
            sqlite3_close(db);
        }
    }
    struct text t = { .s = malloc(256), .cap = 256 };
    t.failed = t.s == NULL;
    if (rc == 0) {
        if (rows.n > 0) {
            qsort(rows.v, rows.n, sizeof(*rows.v), cmp_rows);
        }
        put(&t, "{\"sources\":[");
        for (size_t i = 0; i < rows.n; i++) {
            const struct row *r = &rows.v[i];
            bool first = i == 0 || strcmp(rows.v[i - 1].source, r->source) != 0;
            if (first) {
                put(&t, "%s{\"name\":", i > 0 ? "]}," : "");
                put_string(&t, r->source);
                put(&t, ",\"segments\":[");
            } else {
                put(&t, ",");
            }
            put(&t, "{\"name\":");
            put_string(&t, r->name);
            put(&t, ",\"start\":");
            put_seconds(&t, r->start_us);
            put(&t, ",\"end\":");
            put_seconds(&t, r->end_us);
            put(&t, ",\"frames\":%lld,\"bytes\":%lld,\"reason\":", (long long)r->frames,
                (long long)r->bytes);
            put_string(&t, r->reason);
            put(&t, "}");
        }
        put(&t, "%s]}\n", rows.n > 0 ? "]}" : "");
    }
    for (size_t i = 0; i < rows.n; i++) {
        free(rows.v[i].source);
        free(rows.v[i].name);
    }
    free(rows.v);
    if (rc == 0 && t.failed) {
        rc = -ENOMEM;
    }
    if (rc != 0) {
        free(t.s);
        return rc;
    }
    *out = t.s;
    *out_len = t.len;
    return 0;
}

// SPDX-License-Identifier: MIT
/* Levelled, thread-safe logging to stderr. */
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = CORE_LOG_INFO;
static const char *_Atomic log_ident = "core";
static atomic_int log_format = CORE_LOG_FORMAT_TEXT;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void core_log_set_level(enum core_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum core_log_level core_log_get_level(void)
{
    return (enum core_log_level)atomic_load(&log_level);
}

int core_log_parse_level(const char *name, enum core_log_level *out)
{
    for (size_t i = 0; i < CORE_ARRAY_SIZE(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum core_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void core_log_set_ident(const char *ident)
{
    atomic_store(&log_ident, ident);
}

void core_log_set_format(enum core_log_format format)
{
    atomic_store(&log_format, (int)format);
}

int core_log_parse_format(const char *name, enum core_log_format *out)
{
    if (strcmp(name, "text") == 0) {
        *out = CORE_LOG_FORMAT_TEXT;
        return 0;
    }
    if (strcmp(name, "json") == 0) {
        *out = CORE_LOG_FORMAT_JSON;
        return 0;
    }
    return -EINVAL;
}

/* Appends s to out[*n..cap) as the body of a JSON string; stops before an escape that does
 * not fit, so the result is always valid JSON. */
static void json_escape(char *out, size_t cap, size_t *n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
        char esc[7];
        size_t len = 0;
        if (*c == '"' || *c == '\\') {
            esc[len++] = '\\';
            esc[len++] = (char)*c;
        } else if (*c == '\n') {
            esc[len++] = '\\';
            esc[len++] = 'n';
        } else if (*c < 0x20 || *c == 0x7f) {
            esc[len++] = '\\';
            esc[len++] = 'u';
            esc[len++] = '0';
            esc[len++] = '0';
            esc[len++] = hex[*c >> 4];
            esc[len++] = hex[*c & 15];
        } else {
            esc[len++] = (char)*c;
        }
        if (*n + len >= cap) {
            return;
        }
        memcpy(out + *n, esc, len);
        *n += len;
    }
}

/* Appends the literal s (the caller has checked that it fits). */
static void put_raw(char *out, size_t *n, const char *s)
{
    for (const char *c = s; *c != '\0'; c++) {
        out[(*n)++] = *c;
    }
}

/* One JSON object per line: time (UTC, ms), level, ident, thread, msg. The escapes stop 16
 * bytes (ident, thread) or 4 bytes (msg) short of cap, which leaves room for what follows. */
static size_t format_json(char *out, size_t cap, const char *level, const char *tname,
                          const char *msg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(out, cap, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"ident\":\"", when,
                     ts.tv_nsec / 1000000L, level);
    size_t n = m > 0 && (size_t)m < cap - 64 ? (size_t)m : 0;
    json_escape(out, cap - 16, &n, atomic_load(&log_ident));
    put_raw(out, &n, "\",\"thread\":\"");
    json_escape(out, cap - 16, &n, tname);
    put_raw(out, &n, "\",\"msg\":\"");
    json_escape(out, cap - 4, &n, msg);
    put_raw(out, &n, "\"}");
    return n;
}

static void write_all(const char *p, size_t left)
{
    while (left > 0) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        p += w;
        left -= (size_t)w;
    }
}

void core_log(enum core_log_level level, const char *fmt, ...)
{
    int saved = errno;
    if ((int)level > atomic_load(&log_level)) {
        return;
    }
    char line[1024];
    char tname[16] = "?";
    pthread_getname_np(pthread_self(), tname, sizeof(tname));
    int lvl = (int)level;
    if (lvl < 0 || lvl >= (int)CORE_ARRAY_SIZE(level_names)) {
        lvl = CORE_LOG_ERROR;
    }
    if (atomic_load(&log_format) == CORE_LOG_FORMAT_JSON) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        char json[2048];
        size_t len = format_json(json, sizeof(json) - 1, level_names[lvl], tname, line);
        json[len++] = '\n';
        write_all(json, len);
        errno = saved;
        return;
    }
    int n = snprintf(line, sizeof(line), "%s: %s: %s: ", atomic_load(&log_ident), level_names[lvl],
                     tname);
    if (n < 0) {
        n = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    if ((size_t)n < sizeof(line)) {
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        if (m > 0) {
            n += m;
        }
    }
    va_end(ap);
    if ((size_t)n >= sizeof(line) - 1) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    write_all(line, (size_t)n);
    errno = saved;
}

void core_bug(const char *file, int line, const char *msg)
{
    core_log(CORE_LOG_ERROR, "BUG at %s:%d: %s", file, line, msg);
    abort();
}

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
#include <unistd.h>

static atomic_int log_level = CORE_LOG_INFO;
static const char *_Atomic log_ident = "core";

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
    const char *p = line;
    size_t left = (size_t)n;
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
    errno = saved;
}

void core_bug(const char *file, int line, const char *msg)
{
    core_log(CORE_LOG_ERROR, "BUG at %s:%d: %s", file, line, msg);
    abort();
}

// SPDX-License-Identifier: MIT
/* Levelled, thread-safe logging to stderr, one write(2) per line. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include "core/compiler.h"

enum core_log_level {
    CORE_LOG_ERROR = 0,
    CORE_LOG_WARN = 1,
    CORE_LOG_INFO = 2,
    CORE_LOG_DEBUG = 3,
};

/** How each line is written: plain text (the default) or one JSON object per line. */
enum core_log_format {
    CORE_LOG_FORMAT_TEXT = 0,
    CORE_LOG_FORMAT_JSON = 1,
};

/** Sets the most verbose level printed (default INFO). Any thread. */
void core_log_set_level(enum core_log_level level);
/** Returns the current level. Any thread. */
enum core_log_level core_log_get_level(void);
/** Parses "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int core_log_parse_level(const char *name, enum core_log_level *out);
/** Sets the program name printed at the start of each line (borrowed, must outlive logging). */
void core_log_set_ident(const char *ident);

/**
 * Sets the line format (default text). JSON lines are
 * {"time":"2024-05-01T12:00:00.123Z","level":"info","ident":"mjpegd","thread":"net/0","msg":"..."}
 * with the message escaped as a JSON string (bytes >= 0x80 are passed through as they are).
 * Any thread.
 */
void core_log_set_format(enum core_log_format format);
/** Parses "text" or "json"; returns 0 or -EINVAL. */
int core_log_parse_format(const char *name, enum core_log_format *out);

/**
 * Formats one line "<ident>: <level>: <thread>: <message>\n" (or its JSON form, see
 * core_log_set_format) and writes it with a single write(2), so lines from different threads
 * never interleave. Keeps errno. Any thread.
 */
void core_log(enum core_log_level level, const char *fmt, ...) CORE_PRINTF(2, 3);

/** Logs file:line and the message at ERROR, then aborts. For states that cannot happen. */
CORE_NORETURN void core_bug(const char *file, int line, const char *msg);

#define CORE_BUG(msg) core_bug(__FILE__, __LINE__, (msg))

#define LOG_ERROR(...) core_log(CORE_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...)  core_log(CORE_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...)  core_log(CORE_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...)                                \
    do {                                              \
        if (core_log_get_level() >= CORE_LOG_DEBUG) { \
            core_log(CORE_LOG_DEBUG, __VA_ARGS__);    \
        }                                             \
    } while (0)

#endif

// SPDX-License-Identifier: MIT
/* stderr during a run: messages from any thread, never printed onto the progress line. */
#include "quotepack/console.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool shown; /* guarded by mu: the progress line is on the terminal */

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void erase_locked(void)
{
    if (shown) {
        write_all("\r\033[K", 4);
        shown = false;
    }
}

void qp_console_log(enum core_log_level level, const char *fmt, ...)
{
    if (level > core_log_get_level()) {
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&mu);
    erase_locked();
    core_log(level, "%s", buf);
    pthread_mutex_unlock(&mu);
}

void qp_console_print(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    pthread_mutex_lock(&mu);
    erase_locked();
    write_all(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    pthread_mutex_unlock(&mu);
}

void qp_console_progress(const char *line)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "\r\033[Kquotepack: %s", line);
    if (n <= 0) {
        return;
    }
    pthread_mutex_lock(&mu);
    write_all(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    shown = true;
    pthread_mutex_unlock(&mu);
}

void qp_console_clear(void)
{
    pthread_mutex_lock(&mu);
    erase_locked();
    pthread_mutex_unlock(&mu);
}

// SPDX-License-Identifier: MIT
/* Failpoints: the process dies at a chosen durable step, for the crash-recovery walk. */
#include "quotepack/failpoint.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/writer.h"

bool qp_failpoint_enabled;

static const char *const kinds[] = { "spool-write", "archive-write",  "fsync",         "rename",
                                     "unlink",      "catalog-commit", "archive-commit" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Written by qp_failpoint_init() before any thread; read-only after. */
static pid_t owner;       /* the process that counts */
static int target_kind;   /* -1: every kind */
static uint64_t target_n; /* 0: count only */
/* Any thread. */
static atomic_uint_fast64_t counts[NKINDS];
static atomic_uint_fast64_t total;

static int kind_index(const char *kind, size_t len)
{
    for (size_t i = 0; i < NKINDS; i++) {
        if (strlen(kinds[i]) == len && strncmp(kinds[i], kind, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* stderr without stdio (any thread, also on the way to dying). */
static void say(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

static void print_counts(void)
{
    if (getpid() != owner) {
        return;
    }
    char line[512];
    int off = snprintf(line, sizeof(line), "quotepack: failpoint steps: total=%llu",
                       (unsigned long long)atomic_load(&total));
    for (size_t i = 0; i < NKINDS && off > 0 && (size_t)off < sizeof(line); i++) {
        off += snprintf(line + off, sizeof(line) - (size_t)off, " %s=%llu", kinds[i],
                        (unsigned long long)atomic_load(&counts[i]));
    }
    say(line);
    say(target_n > 0 ? " (the chosen step was not reached)\n" : "\n");
}

static void archive_step(const char *kind)
{
    qp_failpoint(kind);
}

int qp_failpoint_init(void)
{
    const char *v = getenv("QUOTEPACK_FAILPOINT");
    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    target_kind = -1;
    target_n = 0;
    if (strcmp(v, "count") != 0) {
        const char *num = v;
        const char *colon = strchr(v, ':');
        if (colon != NULL) {
            target_kind = kind_index(v, (size_t)(colon - v));
            num = colon + 1;
        }
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(num, &end, 10);
        if ((colon != NULL && target_kind < 0) || end == num || *end != '\0' || errno != 0 ||
            n == 0 || num[0] == '-') {
            fprintf(stderr,
                    "quotepack: QUOTEPACK_FAILPOINT=%s: expected N, KIND:N (N >= 1) or count; "
                    "kinds: spool-write, archive-write, fsync, rename, unlink, catalog-commit, "
                    "archive-commit\n",
                    v);
            return -1;
        }
        target_n = n;
    }
    owner = getpid();
    qp_failpoint_enabled = true;
    arc_set_step_hook(archive_step);
    atexit(print_counts);
    return 0;
}

void qp_failpoint_hit(const char *kind)
{
    if (getpid() != owner) {
        return; // an --isolate worker: its steps are the parent's business
    }
    int k = kind_index(kind, strlen(kind));
    if (k < 0) {
        return;
    }
    uint64_t nk = atomic_fetch_add(&counts[k], 1) + 1;
    uint64_t n = atomic_fetch_add(&total, 1) + 1;
    bool hit = target_kind < 0 ? n == target_n : (k == target_kind && nk == target_n);
    if (target_n == 0 || !hit) {
        return;
    }
    char line[160];
    snprintf(line, sizeof(line), "quotepack: failpoint: dying before step %llu (%s #%llu)\n",
             (unsigned long long)n, kind, (unsigned long long)nk);
    say(line);
    raise(SIGKILL);
}
